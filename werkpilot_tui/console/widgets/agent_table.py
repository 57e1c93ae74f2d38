"""``#agents``: one row per agent for the selected window, sortable and filterable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from werkpilot_tui.console.view_models import AgentRow, ThresholdsView
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.keyed_table import KeyedTable
from werkpilot_tui.console.widgets.palette import LEVEL_SYMBOL, Palette
from werkpilot_tui.console.widgets.text import TextCell, cell


@dataclass(frozen=True)
class SortOrder:
    """A way to order agents: a column and its direction."""

    column: str
    label: str
    key: Callable[[AgentRow, str], object]
    descending: bool = True


SORTS: tuple[SortOrder, ...] = (
    SortOrder("cost", "cost", lambda a, w: a.cost_in(w)),
    SortOrder("runs", "runs", lambda a, w: a.window(w).count),
    SortOrder("errors", "error rate", lambda a, w: a.window(w).error_rate),
    SortOrder("avg", "avg duration", lambda a, w: a.window(w).avg_duration),
    SortOrder("last", "last run", lambda a, w: a.last_execution_ms or 0),
    SortOrder("agent", "name", lambda a, w: a.name.casefold(), descending=False),
)

#: (key, label, width) on wide terminals; cells have one column of padding on each side.
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
HOST_COLUMN = ("host", "Host", 12)
#: Narrow terminals: (label, width) without padding, room for the sort arrow included.
COMPACT: dict[str, tuple[str, int]] = {
    "runs": ("Runs", 5),
    "errors": ("Errors", 10),
    "avg": ("Avg", 6),
    "tokens": ("Tokens", 6),
    "cost": ("Cost", 7),
    "last": ("Last", 5),
}
AGENT_MIN, AGENT_MAX, HOST_MAX = 8, 32, 24
#: Before a paused agent's name (and its name in the warning colour): readable without colour.
PAUSED_MARK = "⏸"


@dataclass(frozen=True)
class AgentLayout:
    """Column labels and widths for one table width. Compact columns have no padding: their
    text stops one cell short of the width (the gap to the next column), and the first one
    starts one cell in (the margin to the border)."""

    compact: bool
    labels: dict[str, str]
    widths: dict[str, int]

    @property
    def padding(self) -> int:
        return 0 if self.compact else 1

    def text_width(self, key: str) -> int:
        if not self.compact:
            return self.widths[key]
        return self.widths[key] - (2 if key == "agent" else 1)


def agent_layout(room: int, departments: Sequence[str] = (), fleet: bool = False) -> AgentLayout:
    """The columns for ``room`` cells (0: not known yet); all of them fit from about 76.

    Wide tables keep the roomy widths and give what is left to the agent name (and host);
    narrower ones switch to compact widths and figures, the name taking what remains.
    """
    wide = list(COLUMNS) + ([HOST_COLUMN] if fleet else [])
    spare = room - sum(w + 2 for _, _, w in wide)
    if room <= 0 or spare >= 0:
        widths = {key: w for key, _, w in wide}
        spare = max(0, spare)
        widths["agent"] += min(spare, AGENT_MAX - widths["agent"])
        if fleet:
            widths["host"] += min(max(0, spare - (AGENT_MAX - 22)), HOST_MAX - widths["host"])
        return AgentLayout(False, {key: label for key, label, _ in wide}, widths)
    dept = max((len(d) for d in departments), default=4)
    labels = {"agent": "Agent", "dept": "Dept", **{k: lab for k, (lab, _) in COMPACT.items()}}
    widths = {"dept": min(max(dept, 4), 10) + 1, **{k: w + 1 for k, (_, w) in COMPACT.items()}}
    free = room - sum(widths.values())
    if fleet:
        labels["host"] = "Host"
        widths["host"] = min(13, max(7, free // 3))
        free -= widths["host"]
    widths["agent"] = min(AGENT_MAX + 2, max(AGENT_MIN + 2, free))
    return AgentLayout(True, labels, widths)


class AgentTable(KeyedTable):
    """Agents with their window figures; error rate and slowness flagged by symbol too.

    Column widths follow the table's width (compact under about 100 columns), applied to the
    existing rows: a resize rewrites only the cells whose text changes.
    """

    #: DataTable's own (hidden) enter binding would shadow the dashboard's "Detail" key in the
    #: footer; the row it selects opens the agent's detail screen.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Detail")]
    pin_top = True  # Enter opens the agent at the top until the operator moves the cursor
    DEFAULT_CSS = """
    AgentTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.column_layout = agent_layout(0)
        self._shown: tuple[object, ...] | None = None

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)  # type: ignore[arg-type]

    def show(
        self,
        agents: Sequence[AgentRow],
        window: str,
        thresholds: ThresholdsView,
        now_ms: int,
        palette: Palette,
        sort: SortOrder = SORTS[0],
        filter_text: str = "",
    ) -> None:
        self._shown = (agents, window, thresholds, now_ms, palette, sort, filter_text)
        needle = filter_text.casefold().strip()
        shown = [a for a in agents if not needle or _matches(a, needle)]
        shown.sort(key=lambda a: a.name)  # stable tie-break
        shown.sort(key=lambda a: sort.key(a, window), reverse=sort.descending)  # type: ignore[arg-type, return-value]
        fleet = any(a.host for a in agents)
        if fleet and "host" not in self.columns:  # fleet mode
            self.add_column(HOST_COLUMN[1], key="host", width=HOST_COLUMN[2])
        layout = agent_layout(self.room(len(shown)), [a.department or "—" for a in agents], fleet)
        self._apply(layout, sort)
        keys = [key for key, _, _ in COLUMNS] + (["host"] if fleet else [])
        self.sync(
            [(a.name, agent_cells(a, window, thresholds, now_ms, palette, layout)) for a in shown],
            keys,
        )

    def _apply(self, layout: AgentLayout, sort: SortOrder) -> None:
        self.set_widths(layout.widths, layout.padding)
        arrow = "▼" if sort.descending else "▲"
        for key, column in self.columns.items():
            label = layout.labels.get(str(key.value), str(column.label))
            if layout.compact and key == "agent":
                label = f" {label}"
            wanted = Text(f"{label}{arrow}" if key == sort.column else label)
            if column.label != wanted:
                column.label = wanted
                self.refresh()
        self.column_layout = layout


def _matches(agent: AgentRow, needle: str) -> bool:
    return (
        needle in agent.name.casefold()
        or needle in (agent.department or "").casefold()
        or needle in (agent.host or "").casefold()
    )


def agent_cells(
    a: AgentRow,
    window: str,
    t: ThresholdsView,
    now_ms: int,
    palette: Palette,
    layout: AgentLayout | None = None,
) -> list[TextCell]:
    """One agent's cells, clipped to ``layout`` (compact figures when it is compact)."""
    layout = layout or agent_layout(0)
    compact = layout.compact
    width = layout.text_width
    w = a.window(window)
    level = w.error_level  # core's alert rule, computed when the row was built
    mark = LEVEL_SYMBOL[level] if level else (" " if w.errors else "✔")
    rate = fmt.percent_short(w.error_rate) if compact else fmt.percent(w.error_rate)
    errors = f"{fmt.count(w.errors)} {rate} {mark}" if w.count else "—"
    runs, tokens, last = fmt.count(w.count), fmt.count(w.total_tokens), a.last_execution_ms
    ago = fmt.ago(last, now_ms).removesuffix(" ago")
    if a.ledger_only:  # no executions: the Cost column holds its month's ledger spend
        errors = "ledger/mo" if compact else "ledger/month"
        runs = tokens = ago = "—"
    if a.refused:  # the guard refused some of its runs (all time): the detail says how many
        runs += "⊘"
    slow = w.count > 0 and w.avg_duration > t.response_time_warning_ms
    slow_mark = ("▲" if compact else " ▲") if slow else ""
    avg = fmt.duration_ms(w.avg_duration) + slow_mark if w.count else "—"
    quiet = palette.muted if not w.count else ""
    if a.paused:
        name = cell(f"{PAUSED_MARK} {a.name}", palette.warning, a.name.casefold(), width("agent"))
    else:
        name = cell(a.name, quiet, a.name.casefold(), width("agent"))
    if compact:  # the margin to the border that padding gives wide tables
        name = TextCell(f" {name.plain}", name.style, name.sort_value)
    return [
        name,
        cell(a.department or "—", palette.muted, a.department or "", width("dept")),
        cell(runs, quiet, w.count, width("runs")),
        cell(errors, palette.level(level) if level else quiet, w.error_rate, width("errors")),
        cell(avg, palette.warning if slow else quiet, w.avg_duration, width("avg")),
        cell(tokens, quiet, w.total_tokens, width("tokens")),
        cell(
            fmt.money(a.cost_in(window), width("cost")),
            "" if a.ledger_only else quiet,
            a.cost_in(window),
            width("cost"),
        ),
        cell(ago, palette.muted, last or 0, width("last")),
    ] + (
        [cell(a.host or "—", palette.muted, (a.host or "").casefold(), width("host"))]
        if "host" in layout.widths
        else []
    )
