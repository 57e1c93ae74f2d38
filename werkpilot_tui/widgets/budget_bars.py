"""``#budgets``: one bar per department, month spend against budget, with the forecast."""

from __future__ import annotations

from collections.abc import Sequence

from werkpilot_tui.view_models import BudgetRow
from werkpilot_tui.widgets import format as fmt
from werkpilot_tui.widgets.keyed_table import KeyedTable
from werkpilot_tui.widgets.palette import Palette
from werkpilot_tui.widgets.text import Cell, cell

BAR_WIDTH = 8
#: Marks at 75/90/100 % so the level reads without colour.
LEVEL_MARK = {"info": "●", "warning": "▲", "critical": "✖"}

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("dept", "Department", 10),
    ("month", "Month: spent/budget", 24),
    ("forecast", "Month-end", 11),
    ("runout", "Runs out", 8),
)


def bar(used_pct: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(used_pct / 100 * width)))
    return "█" * filled + "░" * (width - filled)


class BudgetBars(KeyedTable):
    """Departments in name order; the cursor row is the one ``b`` edits."""

    DEFAULT_CSS = """
    BudgetBars { height: 1fr; }
    """

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(self, budgets: Sequence[BudgetRow], palette: Palette) -> None:
        rows = sorted(budgets, key=lambda b: b.department.casefold())
        self.sync([(b.department, budget_cells(b, palette)) for b in rows])


def budget_cells(b: BudgetRow, palette: Palette) -> list[Cell]:
    style = palette.budget(b.level)
    mark = LEVEL_MARK.get(b.level or "", " ")
    projected_level = (
        "critical" if b.projected_pct >= 100 else "warning" if b.projected_pct >= 90 else None
    )
    projected_mark = LEVEL_MARK[projected_level] if projected_level else ""
    return [
        cell(b.department, "", b.department.casefold(), width=10),
        cell(
            f"{bar(b.used_pct)} {b.used_pct:3.0f}%{mark} {fmt.money(b.spent)}/"
            f"{fmt.money(b.budget)}",
            style,
            b.used_pct,
        ),
        cell(
            f"{fmt.money(b.projected)} {projected_mark}".rstrip(),
            palette.level(projected_level) if projected_level else palette.muted,
            b.projected,
        ),
        cell(
            fmt.short_date(b.run_out_date),
            palette.warning if b.run_out_date else palette.muted,
            b.run_out_date.toordinal() if b.run_out_date else 0,
        ),
    ]
