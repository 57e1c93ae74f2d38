"""Costs: a day (today by default), its ISO week and month (departments, forecast), savings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static, TabbedContent, TabPane

from werkpilot_tui.console.detail_models import CostsView, DepartmentMonth
from werkpilot_tui.console.screens.loading import LoadingScreen, call_session, session_of
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.keyed_table import KeyedTable
from werkpilot_tui.console.widgets.palette import Palette
from werkpilot_tui.console.widgets.text import TextCell, cell, safe_text

if TYPE_CHECKING:
    pass

#: Builds the view for a day (None: today).
DayLoader = Callable[[date | None], Awaitable[CostsView]]
LEVEL_MARK = {"info": "●", "warning": "▲", "critical": "✖"}
LEVEL_WORD = {"info": "75%+", "warning": "90%+", "critical": "OVER"}
TABLES: dict[str, tuple[str, ...]] = {
    "day-agents": ("Agent", "Cost"),
    "day-departments": ("Department", "Cost"),
    "week-days": ("Day", "Cost", "Runs"),
    "departments": ("Department", "Spent", "Budget", "Used", "Month-end", "Runs out"),
    "optimizations": ("Agent", "Model", "Suggest", "Cost", "Savings", "Runs"),
}


class CostsScreen(LoadingScreen[CostsView]):
    """The ledger's reports; ``1``-``4`` switch tabs, ``[``/``]`` change the day, Escape back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("1", "tab('daily')", "Day tab", show=False),
        Binding("2", "tab('weekly')", "Week tab", show=False),
        Binding("3", "tab('monthly')", "Month tab", show=False),
        Binding("4", "tab('optimizations')", "Optimizations tab", show=False),
        Binding("left_square_bracket", "step(-1)", "Day -1", key_display="["),
        Binding("right_square_bracket", "step(1)", "Day +1", key_display="]"),
        Binding("0", "step(0)", "Today", show=False),
        Binding("r", "reload", "Reload", show=False),
    ]
    DEFAULT_CSS = """
    CostsScreen .summary { height: auto; padding: 0 1; }
    CostsScreen .section { height: 1; padding: 0 1; text-style: bold; color: $primary; }
    CostsScreen KeyedTable { height: auto; max-height: 14; }
    CostsScreen #optimizations, CostsScreen #departments { height: 1fr; max-height: 100%; }
    """

    def __init__(self, loader: DayLoader | None = None, *, refresh_s: float | None = None) -> None:
        self.day: date | None = None  # None: today (follows midnight)
        self._load_day = loader or self._from_app
        super().__init__(
            lambda: self._load_day(self.day),
            refresh_s=refresh_s,
            # without a loader: built on the core thread with each snapshot too
            builder=None if loader else self._build_here,
        )

    def _build_here(self) -> CostsView:
        return session_of(self.app).costs(self.day)

    async def _from_app(self, day: date | None) -> CostsView:
        return await call_session(self.app, lambda s: s.costs(day))

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="daily"):
            with TabPane("1 Day", id="daily"):
                yield Static("Loading…", id="day-summary", classes="summary")
                yield Static("Top agents", classes="section")
                yield KeyedTable(id="day-agents")
                yield Static("Departments", classes="section")
                yield KeyedTable(id="day-departments")
            with TabPane("2 Week", id="weekly"):
                yield Static("", id="week-summary", classes="summary")
                yield KeyedTable(id="week-days")
            with TabPane("3 Month", id="monthly"):
                yield Static("", id="month-summary", classes="summary")
                yield KeyedTable(id="departments")
            with TabPane("4 Optimizations", id="optimizations-tab"):
                yield Static("", id="opt-summary", classes="summary")
                yield KeyedTable(id="optimizations")
        yield Footer()

    def on_mount(self) -> None:
        for table_id, columns in TABLES.items():
            table = self.query_one(f"#{table_id}", KeyedTable)
            for label in columns:
                table.add_column(label, key=label.lower().replace(" ", "-"))
        super().on_mount()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_step(self, days: int) -> None:
        """Show the day before/after (its week and month too); 0 goes back to today."""
        view = self.view
        if days == 0 or view is None:
            self.day = None
        else:
            today = view.today or view.day
            target = view.day + timedelta(days=days)
            self.day = None if target >= today else target
        self.reload()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = (
            "optimizations-tab" if tab == "optimizations" else tab
        )

    # ------------------------------------------------------------------ rendering
    def show(self, view: CostsView) -> None:
        palette = self.palette
        self.query_one("#day-summary", Static).update(_day_summary(view))
        self._sync("day-agents", [(a.name, _named(a.name, a.cost)) for a in view.top_agents])
        self._sync(
            "day-departments", [(d.name, _named(d.name, d.cost)) for d in view.day_departments]
        )
        self.query_one("#week-summary", Static).update(
            Text(
                f"Week {view.week}: {fmt.money(view.week_cost)} over {_calls(view.week_executions)}"
            )
        )
        self._sync(
            "week-days",
            [
                (
                    d.day.isoformat(),
                    [
                        cell(d.day.strftime("%a %d %b") + _day_note(d.day, view)),
                        cell(fmt.money(d.cost), sort_value=d.cost),
                        cell(fmt.count(d.executions), sort_value=d.executions),
                    ],
                )
                for d in view.week_days
            ],
        )
        over = sum(1 for d in view.departments if d.level == "critical")
        self.query_one("#month-summary", Static).update(
            Text(
                f"Month {view.month}: {fmt.money(view.month_cost)} over "
                f"{_calls(view.month_executions)}"
                + (f" · {over} department(s) over budget ✖" if over else "")
            )
        )
        self._sync(
            "departments",
            [(d.department, _department_cells(d, palette)) for d in view.departments],
        )
        self.query_one("#opt-summary", Static).update(
            Text(
                f"{len(view.optimizations)} suggestion(s), potential savings "
                f"{fmt.money(view.potential_savings)} (opus → sonnet saves 80%; "
                "cheap sonnet calls → haiku save 70%)"
                if view.optimizations
                else "No optimizations: no agent meets the downgrade rules."
            )
        )
        self._sync(
            "optimizations",
            [
                (
                    o.agent,
                    [
                        cell(o.agent, width=30),
                        cell(o.current_model, width=24),
                        cell(o.suggested_model, palette.ok, width=24),
                        cell(fmt.money(o.current_cost), sort_value=o.current_cost),
                        cell(fmt.money(o.potential_savings), palette.ok, o.potential_savings),
                        cell(fmt.count(o.executions), sort_value=o.executions),
                    ],
                )
                for o in view.optimizations
            ],
        )

    def _sync(self, table_id: str, rows: list[tuple[str, list[TextCell]]]) -> None:
        self.query_one(f"#{table_id}", KeyedTable).sync(rows)


def _named(name: str, cost: float) -> list[TextCell]:
    return [cell(name, width=40), cell(fmt.money(cost), sort_value=cost)]


def _day_summary(view: CostsView) -> Text:
    change = view.change_from_yesterday
    sign = "+" if change >= 0 else "-"
    pct = view.change_pct
    pct_text = f" ({sign}{abs(pct):.1f}%)" if pct is not None else ""
    today = view.today in (None, view.day)
    return safe_text(
        f"{view.day.isoformat()}{' (today)' if today else ''}: {fmt.money(view.day_cost)} "
        f"over {_calls(view.day_executions)} · avg "
        f"{fmt.money(view.avg_cost_per_execution)} per call · "
        f"vs {'yesterday' if today else 'the day before'} "
        f"{sign}{fmt.money(abs(change))}{pct_text}"
        + ("" if today else " · [ ] step days, 0 back to today")
    )


def _calls(n: int) -> str:
    return f"{fmt.count(n)} priced call{'' if n == 1 else 's'}"


def _day_note(day: date, view: CostsView) -> str:
    if day == view.today:
        return " (today)"
    return " (shown)" if day == view.day else ""


def _department_cells(d: DepartmentMonth, palette: Palette) -> list[TextCell]:
    style = palette.budget(d.level)
    mark = f" {LEVEL_MARK[d.level]} {LEVEL_WORD[d.level]}" if d.level else ""
    projected_over = d.projected_pct >= 100
    return [
        cell(d.department, width=24),
        cell(fmt.money(d.spent), style, d.spent),
        cell(fmt.money(d.budget), sort_value=d.budget),
        cell(f"{d.used_pct:.0f}%{mark}", style, d.used_pct),
        cell(
            f"{fmt.money(d.projected)} {d.projected_pct:.0f}%" + (" ✖" if projected_over else ""),
            palette.critical if projected_over else palette.muted,
            d.projected,
        ),
        cell(
            fmt.short_date(d.run_out_date),
            palette.warning if d.run_out_date else palette.muted,
            d.run_out_date.toordinal() if d.run_out_date else 0,
        ),
    ]
