"""Agent detail: window stats, trends, per-model usage and cost, recent executions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, Sparkline, Static

from werkpilot_tui.console.detail_models import (
    RECENT_LIMIT,
    AgentDetailView,
    ExecutionRow,
)
from werkpilot_tui.console.screens.loading import LoadingScreen, call_session, session_of
from werkpilot_tui.console.view_models import WINDOWS, AgentRow, ThresholdsView, WindowFigures
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.keyed_table import KeyedTable
from werkpilot_tui.console.widgets.palette import Palette
from werkpilot_tui.console.widgets.text import TextCell, cell, neutralise, safe_text

#: Loads the view for a window ("1h", "24h", "7d").
DetailLoader = Callable[[str], Awaitable[AgentDetailView]]
#: Shown when the two cost streams differ, so neither figure looks wrong.
COST_NOTE = (
    "cost: what the executions recorded (track_execution); ledger: cost entries (track_cost), "
    "which the budgets count — {month} this month"
)
STATUS_MARK = {"completed": "✔", "error": "✖", "failed": "✖", "refused": "⊘"}


class TrendLabel(Label):
    """A trend's title: the longest of its forms that fits the width the column gives it
    (about 23 cells at 80 columns), chosen when painted, so a resize picks again."""

    DEFAULT_CSS = "TrendLabel { width: 1fr; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.forms: tuple[str, ...] = ("",)

    def set_forms(self, *forms: str) -> None:
        if forms != self.forms:
            self.forms = forms
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        return Text(next((f for f in self.forms if not width or len(f) <= width), self.forms[-1]))


class AgentDetailScreen(LoadingScreen[AgentDetailView]):
    """One agent in depth; ``w`` changes the trend window, Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("w", "cycle_window", "Trend window"),
        Binding("r", "reload", "Reload", show=False),
    ]
    DEFAULT_CSS = """
    AgentDetailScreen { layout: vertical; }
    AgentDetailScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    AgentDetailScreen #summary { height: auto; padding: 0 1; color: $text-muted; }
    AgentDetailScreen #top { height: auto; }
    AgentDetailScreen #windows { width: auto; height: auto; }
    AgentDetailScreen #trends { width: 1fr; min-width: 20; height: auto; padding: 0 1; }
    AgentDetailScreen .trend-label { height: 1; color: $text-muted; }
    AgentDetailScreen Sparkline { height: 1; margin-bottom: 1; }
    AgentDetailScreen .section { height: 1; padding: 0 1; text-style: bold; color: $primary; }
    AgentDetailScreen #models { height: auto; max-height: 8; }
    AgentDetailScreen #recent { height: 1fr; min-height: 5; }
    """

    def __init__(
        self,
        agent: str | AgentRow,
        loader: DetailLoader | None = None,
        *,
        window: str = "24h",
        refresh_s: float | None = None,
    ) -> None:
        self.agent = agent if isinstance(agent, str) else agent.name
        self.window = window
        self._load_window = loader or self._from_app
        super().__init__(
            lambda: self._load_window(self.window),
            refresh_s=refresh_s,
            # without a loader: built on the core thread with each snapshot too
            builder=None if loader else self._build_here,
        )

    def _build_here(self) -> AgentDetailView:
        return session_of(self.app).agent_detail(self.agent, self.window)

    async def _from_app(self, window: str) -> AgentDetailView:
        agent = self.agent
        return await call_session(self.app, lambda s: s.agent_detail(agent, window))

    def compose(self) -> ComposeResult:
        yield Static(safe_text(f"Agent {self.agent}"), id="title")
        yield Static("Loading…", id="summary")
        with Horizontal(id="top"):
            yield KeyedTable(id="windows")
            with Vertical(id="trends"):
                for key in ("executions", "duration", "cost"):
                    yield TrendLabel(id=f"label-{key}", classes="trend-label")
                    yield Sparkline([], id=f"spark-{key}", summary_function=max)
        yield Static("Models", classes="section")
        yield KeyedTable(id="models")
        yield Static(f"Recent executions (newest first, up to {RECENT_LIMIT})", classes="section")
        yield KeyedTable(id="recent")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#windows", KeyedTable).cursor_type = "none"
        for table_id, columns in (
            ("windows", ("Window", "Runs", "Errors", "Err %", "Avg", "Cost", "Tokens")),
            ("models", ("Model", "Runs", "Cost", "Share")),
            ("recent", ("Time", "Status", "Duration", "Tokens", "Cost", "Model", "Error")),
        ):
            table = self.query_one(f"#{table_id}", KeyedTable)
            for label in columns:
                table.add_column(label, key=label.lower())
        super().on_mount()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_cycle_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self.reload()

    # ------------------------------------------------------------------ rendering
    def show(self, view: AgentDetailView) -> None:
        palette = self.palette
        summary = self.query_one("#summary", Static)
        if not view.found:
            summary.update(safe_text(f"No executions recorded for {view.name} yet."))
            return
        summary.update(_summary(view, self._now_ms(view)))
        self.query_one("#windows", KeyedTable).sync(
            [(w, _window_cells(w, f, palette, view.thresholds)) for w, f in view.windows]
        )
        series = view.series
        # Short titles: the trends column is ~30 cells wide at 80 columns.
        self._trend("executions", series.executions, f"Runs {series.window}")
        self._trend("duration", series.avg_duration, "Avg", fmt.duration_ms)
        self._trend("cost", series.cost, "Cost", fmt.money)
        self.query_one("#models", KeyedTable).sync(
            [
                (
                    m.model,
                    [
                        cell(m.model, width=40),
                        cell(fmt.count(m.executions), sort_value=m.executions),
                        cell(fmt.money(m.cost), sort_value=m.cost),
                        cell(f"{m.share_pct:.0f}%", palette.muted, m.share_pct),
                    ],
                )
                for m in view.models
            ]
        )
        seen: dict[str, int] = {}
        rows = []
        for r in view.recent:
            # Keys stay put as newer executions arrive, so only new rows are added.
            base = f"{r.timestamp_ms}:{r.status}:{r.duration_ms}:{r.model}"
            seen[base] = seen.get(base, 0) + 1
            rows.append((f"{base}:{seen[base]}", _execution_cells(r, view.built_at_ms, palette)))
        self.query_one("#recent", KeyedTable).sync(rows)

    def show_clock(self, view: AgentDetailView) -> None:
        if view.found:
            self.query_one("#summary", Static).update(_summary(view, self._now_ms(view)))

    def _now_ms(self, view: AgentDetailView) -> int:
        now = getattr(self.app, "now_ms", None)  # the console's clock; a bare host has none
        return int(now()) if callable(now) else view.built_at_ms

    def _trend(
        self,
        key: str,
        values: tuple[float, ...],
        title: str,
        unit: Callable[[float], str] = lambda v: f"{v:.0f}",
    ) -> None:
        spark = self.query_one(f"#spark-{key}", Sparkline)
        spark.data = list(values)
        peak = max(values, default=0.0)
        last = values[-1] if values else 0.0
        self.query_one(f"#label-{key}", TrendLabel).set_forms(
            f"{title} now {unit(last)} · peak {unit(peak)}", f"{title} now {unit(last)}"
        )


def _summary(view: AgentDetailView, now_ms: int) -> Text:
    error_rate = view.errors / view.executions if view.executions else 0.0
    fleet = view.fleet_host is not None
    parts = [
        f"department {view.department or '—'}",
        f"{fmt.count(view.executions)} runs",
        f"{view.errors} error{'' if view.errors == 1 else 's'} ({fmt.percent(error_rate)})",
        *([f"{fmt.count(view.refused)} refused by the guard"] if view.refused else []),
        f"avg {fmt.duration_ms(view.avg_duration)}" + (" (7d)" if fleet else ""),
        f"{fmt.count(view.total_tokens)} tokens",
        f"cost {fmt.money(view.total_cost)}",
        *([] if fleet else [f"ledger {fmt.money(view.ledger_cost)}"]),
        f"last run {fmt.ago(view.last_execution_ms, max(now_ms, view.built_at_ms))}",
    ]
    if not fleet:
        if fmt.money(view.total_cost) == fmt.money(view.ledger_cost):
            return safe_text(" · ".join(parts))
        return Text(
            neutralise(" · ".join(parts))
            + "\n"
            + COST_NOTE.format(month=fmt.money(view.month_ledger_cost))
        )
    note = (
        "Fleet mode: figures from Prometheus. Models, trends and recent executions are in the "
        f"data directory of host {view.fleet_host}: run werkpilot-tui there."
    )
    return Text(neutralise(" · ".join(parts)) + "\n" + neutralise(note))  # wrapped, literal


def _window_cells(
    window: str, f: WindowFigures, palette: Palette, t: ThresholdsView
) -> list[TextCell]:
    slow = t.response_time_warning_ms
    level = f.error_level  # the alert rule itself (min_executions), computed in core
    mark = {"critical": " ✖", "warning": " ▲"}.get(level or "", "")
    slow_mark = " ▲" if f.avg_duration > slow else ""  # the monitor judges the 1h average
    return [
        cell(window),
        cell(fmt.count(f.count), sort_value=f.count),
        cell(str(f.errors), sort_value=f.errors),
        cell(fmt.percent(f.error_rate) + mark, palette.level(level), f.error_rate),
        cell(
            fmt.duration_ms(f.avg_duration) + slow_mark,
            palette.warning if slow_mark else "",
            f.avg_duration,
        ),
        cell(fmt.money(f.total_cost), sort_value=f.total_cost),
        cell(fmt.count(f.total_tokens), sort_value=f.total_tokens),
    ]


def _execution_cells(r: ExecutionRow, now_ms: int, palette: Palette) -> list[TextCell]:
    status_style = (
        palette.critical if r.is_error else palette.warning if r.status == "refused" else palette.ok
    )
    return [
        cell(fmt.clock_time(r.timestamp_ms, now_ms), sort_value=r.timestamp_ms),
        cell(f"{STATUS_MARK.get(r.status, '?')} {r.status}", status_style, r.status),
        cell(fmt.duration_ms(r.duration_ms), sort_value=r.duration_ms),
        cell(fmt.count(r.tokens), sort_value=r.tokens),
        cell(fmt.money(r.cost), sort_value=r.cost),
        cell(r.model or "—", width=28),
        cell(r.error or "", palette.critical if r.error else "", width=60),
    ]
