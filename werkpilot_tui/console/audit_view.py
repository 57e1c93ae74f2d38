"""The audit screen's view model: operator actions newest first, each change said in words.

Pure: built from core's ``AuditEvent`` records on the console's core thread; the screen
only maps the rows to (neutralised) cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Rows the audit screen shows (the newest; older ones stay in the journal and the export).
AUDIT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One operator action as the screen lists it (text not yet neutralised)."""

    key: str  # unique within the view: the table's row key
    timestamp_ms: int
    action: str
    actor: str
    subject: str
    change: str  # "before → after" in words
    reason: str


@dataclass(frozen=True, slots=True)
class AuditView:
    """The newest actions, newest first."""

    rows: tuple[AuditRow, ...] = ()


def _utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def value_text(value: Any) -> str:
    """A before/after value in words: ack states, budgets in USD, a silence's end."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "paused" if value else "running"
    if isinstance(value, int | float):
        return f"${value:,.2f}"
    if isinstance(value, dict):
        until = value.get("until")
        if "acknowledged" in value:
            if not value.get("acknowledged"):
                return "open"
            return f"acked until {_utc(until)}" if until is not None else "acked"
        if "until" in value:
            return f"until {_utc(until)}"
    return str(value)


def change_text(before: Any, after: Any) -> str:
    """``$500.00 → $800.00``, ``open → acked``, ``until 2026-01-01 12:00 UTC``."""
    if before is None:
        return value_text(after)
    return f"{value_text(before)} → {value_text(after)}"


def audit_rows(events: Iterable[Any]) -> AuditView:
    """Rows from audit events given newest first (core's ``Control.events``)."""
    rows = []
    seen: dict[str, int] = {}
    for e in events:
        # Stable across refreshes (a new action does not rename every row below it).
        key = f"{e.timestamp}:{e.host}:{e.pid}:{e.action}:{e.subject}"
        seen[key] = seen.get(key, 0) + 1
        rows.append(
            AuditRow(
                key=f"{key}:{seen[key]}",
                timestamp_ms=int(e.timestamp),
                action=str(e.action),
                actor=str(e.actor),
                subject=str(e.subject),
                change=change_text(e.before, e.after),
                reason=str(e.reason or ""),
            )
        )
    return AuditView(tuple(rows))
