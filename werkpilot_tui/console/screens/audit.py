"""The audit trail: every operator action (acknowledge, snooze, silence, budget, pause,
resume), newest first, with who, when, what changed and why. Follows the live feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from werkpilot_tui.console.audit_view import AUDIT_LIMIT, AuditView
from werkpilot_tui.console.screens.loading import LoadingScreen, call_session, session_of
from werkpilot_tui.console.widgets.keyed_table import KeyedTable
from werkpilot_tui.console.widgets.text import cell

#: (key, label, width of the text); the reason takes the rest of the row.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("time", "Time (UTC)", 19),
    ("action", "Action", 14),
    ("actor", "Who", 20),
    ("subject", "Subject", 22),
    ("change", "Change", 34),
    ("reason", "Reason", 60),
)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


class AuditScreen(LoadingScreen[AuditView]):
    """Operator actions, newest first; reloads with every snapshot (``audit/`` is watched)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "reload", "Reload", show=False),
    ]
    DEFAULT_CSS = """
    AuditScreen #audit-summary { height: 1; padding: 0 1; color: $text-muted; }
    AuditScreen KeyedTable { height: 1fr; }
    """

    def __init__(self, *, limit: int = AUDIT_LIMIT) -> None:
        self.limit = limit
        super().__init__(self._load_view, builder=self._build_here, id="audit")

    def _build_here(self) -> AuditView:
        return session_of(self.app).audit(self.limit)

    async def _load_view(self) -> AuditView:
        return await call_session(self.app, lambda s: s.audit(self.limit))

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="audit-summary")
        yield KeyedTable(id="audit-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", KeyedTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        table.focus()
        super().on_mount()

    def show(self, view: AuditView) -> None:
        rows = view.rows
        summary = (
            f"Audit trail · {len(rows)} operator action(s), newest first"
            + (f" (the newest {self.limit})" if len(rows) >= self.limit else "")
            + " · export: werkpilot-tui export --type audit"
            if rows
            else "Audit trail · no operator action recorded yet"
        )
        self.query_one("#audit-summary", Static).update(Text(summary))
        table = self.query_one("#audit-table", KeyedTable)
        widths = {key: width for key, _, width in COLUMNS}
        table.sync(
            [
                (
                    r.key,
                    [
                        cell(_when(r.timestamp_ms), "", r.timestamp_ms, widths["time"]),
                        cell(r.action, "bold", r.action, widths["action"]),
                        cell(r.actor, "", r.actor, widths["actor"]),
                        cell(r.subject, "", r.subject, widths["subject"]),
                        cell(r.change, "", r.change, widths["change"]),
                        cell(r.reason or "—", "", r.reason, widths["reason"]),
                    ],
                )
                for r in rows
            ],
            [key for key, _, _ in COLUMNS],
        )

    @property
    def shown_rows(self) -> list[list[str]]:
        """The table's cells as plain text, top to bottom (for tests)."""
        table = self.query_one("#audit-table", KeyedTable)
        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()
