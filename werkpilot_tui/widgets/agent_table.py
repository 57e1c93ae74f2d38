"""``#agents``: one row per agent for the selected window, sortable and filterable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text

from werkpilot_tui.view_models import AgentRow, Thresholds
from werkpilot_tui.widgets import format as fmt
from werkpilot_tui.widgets.keyed_table import KeyedTable
from werkpilot_tui.widgets.palette import LEVEL_SYMBOL, Palette
from werkpilot_tui.widgets.text import Cell, cell


@dataclass(frozen=True)
class SortOrder:
    """A way to order agents: a column and its direction."""

    column: str
    label: str
    key: Callable[[AgentRow, str], object]
    descending: bool = True


SORTS: tuple[SortOrder, ...] = (
    SortOrder("cost", "cost", lambda a, w: a.window(w).total_cost),
    SortOrder("runs", "runs", lambda a, w: a.window(w).count),
    SortOrder("errors", "error rate", lambda a, w: a.window(w).error_rate),
    SortOrder("avg", "avg duration", lambda a, w: a.window(w).avg_duration),
    SortOrder("last", "last run", lambda a, w: a.last_execution_ms or 0),
    SortOrder("agent", "name", lambda a, w: a.name.casefold(), descending=False),
)

#: (key, label, width)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("agent", "Agent", 22),
    ("dept", "Dept", 11),
    ("runs", "Runs", 6),
    ("errors", "Errors", 13),
    ("avg", "Avg", 7),
    ("tokens", "Tokens", 7),
    ("cost", "Cost", 9),
    ("last", "Last run", 9),
)


class AgentTable(KeyedTable):
    """Agents with their window figures; error rate and slowness flagged by symbol too."""

    DEFAULT_CSS = """
    AgentTable { height: 1fr; }
    """

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(
        self,
        agents: Sequence[AgentRow],
        window: str,
        thresholds: Thresholds,
        now_ms: int,
        palette: Palette,
        sort: SortOrder = SORTS[0],
        filter_text: str = "",
    ) -> None:
        needle = filter_text.casefold().strip()
        shown = [a for a in agents if not needle or _matches(a, needle)]
        shown.sort(key=lambda a: a.name)  # stable tie-break
        shown.sort(key=lambda a: sort.key(a, window), reverse=sort.descending)  # type: ignore[arg-type, return-value]
        if any(a.host for a in shown) and "host" not in self.columns:  # fleet mode
            self.add_column("Host", key="host", width=12)
        self.sync([(a.name, agent_cells(a, window, thresholds, now_ms, palette)) for a in shown])
        self._label_sorted(sort)

    def _label_sorted(self, sort: SortOrder) -> None:
        arrow = "▼" if sort.descending else "▲"
        for key, label, _ in COLUMNS:
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is None:
                continue
            wanted = Text(f"{label}{arrow}" if key == sort.column else label)
            if column.label != wanted:
                column.label = wanted
                self.refresh()


def _matches(agent: AgentRow, needle: str) -> bool:
    return (
        needle in agent.name.casefold()
        or needle in (agent.department or "").casefold()
        or needle in (agent.host or "").casefold()
    )


def error_level(figures_count: int, rate: float, t: Thresholds) -> str | None:
    """The seed's rule: judged only with more than ``min_executions`` runs."""
    if figures_count <= t.min_executions:
        return None
    if rate > t.error_rate_critical:
        return "critical"
    if rate > t.error_rate_warning:
        return "warning"
    return None


def agent_cells(
    a: AgentRow, window: str, t: Thresholds, now_ms: int, palette: Palette
) -> list[Cell]:
    w = a.window(window)
    level = error_level(w.count, w.error_rate, t)
    mark = LEVEL_SYMBOL[level] if level else (" " if w.errors else "✔")
    errors = f"{w.errors} {fmt.percent(w.error_rate)} {mark}" if w.count else "—"
    slow = w.count > 0 and w.avg_duration > t.response_time_warning_ms
    avg = (fmt.duration_ms(w.avg_duration) + (" ▲" if slow else "")) if w.count else "—"
    quiet = palette.muted if not w.count else ""
    return [
        cell(a.name, quiet, a.name.casefold()),
        cell(a.department or "—", palette.muted, a.department or ""),
        cell(fmt.count(w.count), quiet, w.count),
        cell(errors, palette.level(level) if level else quiet, w.error_rate),
        cell(avg, palette.warning if slow else quiet, w.avg_duration),
        cell(fmt.count(w.total_tokens), quiet, w.total_tokens),
        cell(fmt.money(w.total_cost), quiet, w.total_cost),
        cell(
            fmt.ago(a.last_execution_ms, now_ms).removesuffix(" ago"),
            palette.muted,
            a.last_execution_ms or 0,
        ),
    ] + ([cell(a.host, palette.muted, a.host.casefold())] if a.host else [])
