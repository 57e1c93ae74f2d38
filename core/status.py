"""The status line's facts, gathered without pydantic: each department's month spend against
its budget with its level and last hour's burn rate, the open critical alerts and the paused
agents.

``werkpilot-tui status`` prints them within 100 ms of process start, so nothing here imports
pydantic, the journal's store or the components (see core/journal/peek.py). Sources,
cheapest first: the ledger's checkpoint (the month's day cells, the recent minutes and the
offsets they cover) plus the lines appended since; without a usable one, a fold of the month's
day files and the 3 days before. The alert manager's checkpoint plus the events since (else a
fold of the alert files). Paused agents by core.control's rule (core/control/book.py: an
agent's newest ``paused`` audit event not followed by a ``resumed`` one) over the audit
journal. Budgets as core.config resolves them: built-in defaults, ``[budgets]``
of werkpilot.toml, ``<DEPT>_BUDGET``, then ``data/budgets.toml``. What core would refuse
(a malformed file, a budget over the ceiling) is skipped here instead of reported: a status
line never fails; ``werkpilot-tui check`` says what is wrong.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from core.clock import EPOCH_DAY, MS_PER_DAY
from core.costs.burn import SHOWN_WINDOW, WINDOWS, burn_rate, month_ms
from core.costs.nanos import NANOS_PER_USD, usd_to_nanos
from core.costs.recent import MS_PER_MINUTE, RecentSpend
from core.journal import peek, sealed

#: The checkpoints read (core/costs/checkpoint.py, core/alerts/checkpoint.py; tests check).
LEDGER_CHECKPOINT = ("costs/.checkpoint-ledger.json", "ledger", 3)
ALERTS_CHECKPOINT = ("alerts/.checkpoint-alerts.json", "alerts", 2)
#: core.config's built-in budgets and budget levels (tests check they agree).
DEFAULT_BUDGETS: dict[str, float] = {
    "sales": 500.0,
    "marketing": 300.0,
    "operations": 200.0,
    "support": 150.0,
    "default": 100.0,
}
DEFAULT_LEVELS: tuple[float, float, float] = (0.75, 0.90, 1.00)
LEVELS = ("info", "warning", "critical")
_DEPT_BUDGET_ENV = re.compile(r"^([A-Z][A-Z0-9_]*)_BUDGET$")
_MIN_BUDGET, _MAX_BUDGET = 0.01, 1e12  # core.config's floor; the largest ceiling it allows


class DepartmentStatus(NamedTuple):
    department: str
    spent: float  # USD this UTC month
    budget: float
    used_pct: float
    level: str | None  # "info" / "warning" / "critical" at [thresholds] budget_levels
    burn_rate: float  # over the last hour (core.costs.burn)

    @property
    def rank(self) -> tuple[int, float, float]:
        """Worse first when sorted in reverse: level, then burn rate, then share used."""
        return (LEVELS.index(self.level) + 1 if self.level else 0, self.burn_rate, self.used_pct)


class StatusFacts(NamedTuple):
    departments: tuple[DepartmentStatus, ...]  # worst first
    critical: int  # open critical alerts: neither acknowledged nor resolved
    warning: int
    paused: int | None = None  # paused agents (core.control); None: not known
    from_checkpoint: bool = False  # the ledger's figures started from its checkpoint
    data_dir_found: bool = True

    @property
    def worst(self) -> DepartmentStatus | None:
        return self.departments[0] if self.departments else None


# ------------------------------------------------------------------ budgets
def _budget(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if _MIN_BUDGET <= value <= _MAX_BUDGET else None


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def _toml(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    import tomllib  # only when there is a file: a few ms of the status line's budget

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def status_data_dir(data_dir: Path | None, env: Mapping[str, str]) -> Path:
    """As ``core.resolve_data_dir``: ``--data-dir``, else ``$WERKPILOT_DATA_DIR``, else ./data."""
    return data_dir if data_dir is not None else Path(env.get("WERKPILOT_DATA_DIR") or "data")


def config_path(config: Path | None, env: Mapping[str, str]) -> Path | None:
    """As ``core.config``: ``--config``, else ``$WERKPILOT_CONFIG``, else ./werkpilot.toml."""
    if config is not None:
        return config
    if env.get("WERKPILOT_CONFIG"):
        return Path(env["WERKPILOT_CONFIG"])
    return Path("werkpilot.toml")


class Budgets(NamedTuple):
    configured: dict[str, float]  # werkpilot.toml and <DEPT>_BUDGET
    edits: dict[str, float]  # data/budgets.toml
    levels: tuple[float, ...]

    def budget_for(self, dept: str) -> float:
        """``RuntimeBudgets.budget_for``'s precedence."""
        if dept in self.edits:
            return self.edits[dept]
        if dept not in self.configured and dept not in DEFAULT_BUDGETS and "default" in self.edits:
            return self.edits["default"]
        if dept in self.configured:
            return self.configured[dept]
        if dept in DEFAULT_BUDGETS:
            return DEFAULT_BUDGETS[dept]
        return self.configured.get("default", DEFAULT_BUDGETS["default"])

    def known(self) -> set[str]:
        return (set(DEFAULT_BUDGETS) | set(self.configured) | set(self.edits)) - {"default"}


def read_budgets(root: Path, config: Path | None, env: Mapping[str, str]) -> Budgets:
    path = config_path(config, env)
    doc = _toml(peek.read_file(path)) if path is not None else {}
    configured = {
        str(k).lower(): v for k, raw in _table(doc, "budgets").items() if (v := _budget(raw))
    }
    for name, raw in env.items():
        m = _DEPT_BUDGET_ENV.match(name)
        if m and m[1] != "DAILY" and raw.strip():
            try:
                value = _budget(float(raw))
            except ValueError:
                value = None
            if value is not None:
                configured[m[1].lower()] = value
    levels = _table(doc, "thresholds").get("budget_levels", DEFAULT_LEVELS)
    if not (
        isinstance(levels, list | tuple)
        and len(levels) == 3
        and all(_budget(x) is not None for x in levels)
    ):
        levels = DEFAULT_LEVELS
    edits_doc = _toml(peek.read_document(root, "budgets.toml"))
    edits = {
        str(k).lower(): v for k, raw in _table(edits_doc, "budgets").items() if (v := _budget(raw))
    }
    return Budgets(configured, edits, tuple(float(x) for x in levels))


# ------------------------------------------------------------------- ledger
def _month_days(now: datetime) -> tuple[int, int]:
    """Epoch days of the first day of ``now``'s month and of the next month's."""
    first = date(now.year, now.month, 1)
    nxt = date(now.year + now.month // 12, now.month % 12 + 1, 1)
    return (first - EPOCH_DAY).days, (nxt - EPOCH_DAY).days


def _unsealed(root: Path, spec: tuple[str, str, int]) -> dict[str, Any] | None:
    blob = peek.read_document(root, spec[0])
    if blob is None:
        return None
    try:
        doc = _loads(sealed.unseal(blob, spec[1], spec[2]))
    except (ValueError, TypeError):  # damaged, another version: the fold will do
        return None
    return doc if isinstance(doc, dict) else None


def _loads(payload: bytes | memoryview) -> Any:
    """JSON by the standard library, already imported: orjson parses a 0.5 MB checkpoint in
    half the time but its import (dataclasses, inspect, uuid) costs more than that, measured
    as whole status-line processes side by side (median 97 vs 111 ms)."""
    return json.loads(bytes(payload))


def _lines(data: bytes) -> list[dict[str, Any]]:
    loads = json.loads
    out = []
    for line in data.splitlines():
        try:
            rec = loads(line)
        except ValueError:  # JSONDecodeError; UnicodeDecodeError
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _ledger(root: Path, now: datetime) -> tuple[dict[str, int], RecentSpend, bool]:
    """Month spend per department (nano-dollars) and the recent minutes."""
    lo, hi = _month_days(now)
    since = EPOCH_DAY + timedelta(days=lo) - timedelta(milliseconds=max(WINDOWS.values()))
    spend: dict[str, int] = {}
    recent = RecentSpend()
    offsets: dict[str, Any] = {}
    # Only the shown window's minutes matter here: folding the checkpoint's 3 days of them
    # (thousands of rows) was most of the status line's own time.
    first_ms = int(now.timestamp() * 1000) - WINDOWS[SHOWN_WINDOW] - MS_PER_MINUTE
    first_minute = first_ms // MS_PER_MINUTE
    doc = _unsealed(root, LEDGER_CHECKPOINT)
    try:
        if doc is not None:
            for row in doc["cells"]:
                if lo <= row[0] < hi:
                    spend[row[2]] = spend.get(row[2], 0) + int(row[4])
            for dept, minute, nanos in doc["minutes"]:
                if int(minute) >= first_minute:
                    recent.add_row(dept, int(minute), int(nanos))
            offsets = dict(doc["offsets"])
    except (KeyError, TypeError, ValueError, IndexError):
        spend, recent, offsets, doc = {}, RecentSpend(), {}, None
    for _, path in peek.day_files(root, "ledger", since):
        at = offsets.get(path.name)
        try:
            offset, ino = (int(at["offset"]), int(at["ino"])) if at else (0, None)
        except (KeyError, TypeError, ValueError):
            offset, ino = 0, None
        for rec in _lines(peek.read_from(path, offset, ino)):
            try:
                ts, dept = int(rec["timestamp"]), str(rec["department"]).lower()
                nanos = usd_to_nanos(float(rec["cost"]))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                continue
            if lo <= ts // MS_PER_DAY < hi:
                spend[dept] = spend.get(dept, 0) + nanos
            if ts >= first_ms:
                recent.add(dept, ts, nanos)
    return spend, recent, doc is not None


# ------------------------------------------------------------------- alerts
def _open_alerts(root: Path, now_ms: int) -> tuple[int, int]:
    """Open critical and warning alerts: neither acknowledged (now) nor resolved."""
    states: dict[str, dict[str, Any]] = {}
    offsets: dict[str, Any] = {}
    doc = _unsealed(root, ALERTS_CHECKPOINT)
    try:
        if doc is not None:
            for a in doc["alerts"]:
                states[str(a["id"])] = {
                    "level": a["level"],
                    "resolved": a["resolved_at"] is not None,
                    "ack": a["acknowledged_at"],
                    "until": a["acknowledged_until"],
                }
            offsets = dict(doc["offsets"])
    except (KeyError, TypeError, ValueError):
        states, offsets = {}, {}
    for _, path in peek.day_files(root, "alerts"):
        at = offsets.get(path.name)
        try:
            offset, ino = (int(at["offset"]), int(at["ino"])) if at else (0, None)
        except (KeyError, TypeError, ValueError):
            offset, ino = 0, None
        for ev in _lines(peek.read_from(path, offset, ino)):
            kind, alert_id = ev.get("event"), ev.get("alertId")
            if kind == "raised" and isinstance(alert_id, str) and alert_id not in states:
                states[alert_id] = {"level": ev.get("level"), "resolved": False, "ack": None}
                continue
            state = states.get(alert_id) if isinstance(alert_id, str) else None
            if state is None:
                continue
            if kind == "acknowledged":
                state["ack"], state["until"] = ev.get("timestamp"), ev.get("until")
            elif kind == "unacknowledged":
                state["ack"] = state["until"] = None
            elif kind == "resolved":
                state["resolved"] = True
    counts = {"critical": 0, "warning": 0}
    for s in states.values():
        acked = s["ack"] is not None and (s.get("until") is None or s["until"] > now_ms)
        if not s["resolved"] and not acked and s["level"] in counts:
            counts[s["level"]] += 1
    return counts["critical"], counts["warning"]


# ------------------------------------------------------------------- pauses
def _paused(root: Path) -> int:
    """Agents paused now: ``ControlBook``'s fold of the audit journal (no checkpoint: it
    holds operator actions, a few lines a day)."""
    paused: set[str] = set()
    for _, path in peek.day_files(root, "audit"):
        for ev in _lines(peek.read_from(path)):
            action, subject = ev.get("action"), ev.get("subject")
            if not isinstance(subject, str):
                continue
            if action == "paused":
                paused.add(subject)
            elif action == "resumed":
                paused.discard(subject)
    return len(paused)


# -------------------------------------------------------------------- facts
def _level(spent: int, budget: float, levels: tuple[float, ...]) -> str | None:
    """As ``core.costs.forecast.level_index``: compared exactly."""
    whole = Decimal(repr(float(budget))) * NANOS_PER_USD
    for name, share in reversed(list(zip(LEVELS, levels, strict=False))):
        if spent >= whole * Decimal(repr(float(share))):
            return name
    return None


def gather_status(
    data_dir: Path,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> StatusFacts:
    """Every department with a budget or spend this month, worst first, and open alerts."""
    env = os.environ if env is None else env
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if not peek.is_directory(data_dir):
        return StatusFacts((), 0, 0, None, False, data_dir_found=False)
    now_ms = int(now.timestamp() * 1000)
    budgets = read_budgets(data_dir, config, env)
    spend, recent, from_checkpoint = _ledger(data_dir, now)
    month = month_ms(now)
    rows = []
    for dept in sorted(budgets.known() | set(spend)):
        budget = budgets.budget_for(dept)
        spent = spend.get(dept, 0)
        hour = recent.spend(dept, now_ms, WINDOWS[SHOWN_WINDOW])
        rows.append(
            DepartmentStatus(
                department=dept,
                spent=spent / NANOS_PER_USD,
                budget=budget,
                used_pct=spent / NANOS_PER_USD / budget * 100 if budget > 0 else 0.0,
                level=_level(spent, budget, budgets.levels),
                burn_rate=burn_rate(hour, budget, WINDOWS[SHOWN_WINDOW], month),
            )
        )
    rows.sort(key=lambda r: r.rank, reverse=True)
    critical, warning = _open_alerts(data_dir, now_ms)
    return StatusFacts(tuple(rows), critical, warning, _paused(data_dir), from_checkpoint)


__all__ = [
    "ALERTS_CHECKPOINT",
    "DEFAULT_BUDGETS",
    "LEDGER_CHECKPOINT",
    "Budgets",
    "DepartmentStatus",
    "StatusFacts",
    "config_path",
    "gather_status",
    "read_budgets",
    "status_data_dir",
]
