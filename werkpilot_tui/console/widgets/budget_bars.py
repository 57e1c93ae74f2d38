"""``#budgets``: one bar per department, month spend against budget, the last hour's burn
rate and the forecast."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from werkpilot_tui.console.view_models import BudgetRow
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.keyed_table import KeyedTable
from werkpilot_tui.console.widgets.palette import Palette
from werkpilot_tui.console.widgets.text import TextCell, cell

BAR_WIDTH = 8
#: A mark per level (computed in core, carried by the row) so it reads without colour.
LEVEL_MARK = {"info": "●", "warning": "▲", "critical": "✖"}

#: (key, label): department, bar + percent + spent/budget, burn rate over the last hour,
#: month-end projection, run-out date.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("dept", "Department"),
    ("month", "Month: spent/budget"),
    ("burn", "Burn 1h"),
    ("forecast", "Month-end"),
    ("runout", "Runs out"),
)
#: What to give up, in order, while the columns do not fit: (bar width, columns shown).
FALLBACKS: tuple[tuple[int, int], ...] = (
    (8, 5), (6, 5), (8, 4), (6, 4), (8, 3), (6, 3), (8, 2), (6, 2), (4, 2)
)  # fmt: skip
#: Burn rates at which the cell gets a level's mark: over budget pace (the ticket's
#: threshold) and at the fastest page's (core.costs.burn.PAIRS).
BURN_MARKS: tuple[tuple[float, str], ...] = ((14.4, "critical"), (1.0, "warning"))


@dataclass(frozen=True)
class BudgetLayout:
    """The bar width and the columns shown (key, label, width) for one table width."""

    bar: int
    columns: tuple[tuple[str, str, int], ...]

    @property
    def dept_width(self) -> int:
        return self.columns[0][2]


def bar(used_pct: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(used_pct / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def month_text(b: BudgetRow, bar_width: int = BAR_WIDTH) -> str:
    mark = LEVEL_MARK.get(b.level or "", " ")
    return (
        f"{bar(b.used_pct, bar_width)} {b.used_pct:3.0f}%{mark} "
        f"{fmt.money_short(b.spent)}/{fmt.money_short(b.budget)}"
    )


def burn_level(b: BudgetRow) -> str | None:
    rate = b.burn_rate
    return next((level for at, level in BURN_MARKS if rate is not None and rate >= at), None)


def burn_text(b: BudgetRow) -> str:
    """``2.1× ▲``: the last hour's burn rate, marked from 1× (over pace); ``–`` unknown."""
    if b.burn_rate is None:
        return "–"
    level = burn_level(b)
    return f"{fmt.burn(b.burn_rate)} {LEVEL_MARK[level] if level else ''}".rstrip()


def forecast_text(b: BudgetRow) -> str:
    level = b.projected_level
    return f"{fmt.money_short(b.projected)} {LEVEL_MARK[level] if level else ''}".rstrip()


def budget_layout(room: int, budgets: Sequence[BudgetRow]) -> BudgetLayout:
    """The widest arrangement that fits ``room`` cells (0: not known yet): all columns from
    about 68, department and month (bar, percent and mark, spent/budget) from about 36, the
    burn rate before the forecast columns."""
    dept = min(max([4, *(len(b.department) for b in budgets)]), 12)
    dept_label = "Department" if dept >= 10 else "Dept"
    forecast = max([9, *(len(forecast_text(b)) for b in budgets)])
    burn = max([7, *(len(burn_text(b)) for b in budgets)])
    chosen = BudgetLayout(BAR_WIDTH, ())
    for bar_width, shown in FALLBACKS:
        month = max([12, *(len(month_text(b, bar_width)) for b in budgets)])
        month_label = "Month: spent/budget" if month >= 19 else "Spent/budget"
        columns = (
            ("dept", dept_label, dept),
            ("month", month_label, month),
            ("burn", "Burn 1h", burn),
            ("forecast", "Month-end", forecast),
            ("runout", "Runs out", 8),
        )[:shown]
        chosen = BudgetLayout(bar_width, columns)
        if room <= 0 or sum(w + 2 for _, _, w in columns) <= room:
            break
    return chosen


class BudgetBars(KeyedTable):
    """Departments in name order; the cursor row is the one ``b`` edits.

    The bar narrows and the forecast columns go, in that order, when the pane is narrow.
    """

    DEFAULT_CSS = """
    BudgetBars { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.column_layout = budget_layout(0, ())
        self._shown: tuple[Sequence[BudgetRow], Palette] | None = None

    def on_mount(self) -> None:
        self.set_columns(self.column_layout.columns)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, budgets: Sequence[BudgetRow], palette: Palette) -> None:
        self._shown = (budgets, palette)
        layout = budget_layout(self.room(len(budgets)), budgets)
        self.set_columns(layout.columns)
        self.set_widths({key: width for key, _, width in layout.columns})
        for key, label, _ in layout.columns:
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is not None and column.label.plain != label:
                column.label = Text(label)
                self.refresh()
        self.column_layout = layout
        rows = sorted(budgets, key=lambda b: b.department.casefold())
        self.sync(
            [(b.department, budget_cells(b, palette, layout)) for b in rows],
            [key for key, _ in COLUMNS],
        )


def budget_cells(
    b: BudgetRow, palette: Palette, layout: BudgetLayout | None = None
) -> list[TextCell]:
    layout = layout or budget_layout(0, (b,))
    projected_level = b.projected_level
    return [
        cell(b.department, "", b.department.casefold(), width=layout.dept_width),
        cell(month_text(b, layout.bar), palette.budget(b.level), b.used_pct),
        cell(
            burn_text(b),
            palette.level(level) if (level := burn_level(b)) else palette.muted,
            b.burn_rate if b.burn_rate is not None else -1.0,
        ),
        cell(
            forecast_text(b),
            palette.level(projected_level) if projected_level else palette.muted,
            b.projected,
        ),
        cell(
            fmt.short_date(b.run_out_date),
            palette.warning if b.run_out_date else palette.muted,
            b.run_out_date.toordinal() if b.run_out_date else 0,
        ),
    ]
