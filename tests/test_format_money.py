"""Amounts on screen: abbreviated ($1.2M), never cut to digits that read as another amount."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from werkpilot_tui.console.view_models import BudgetRow
from werkpilot_tui.console.widgets.budget_bars import budget_cells, budget_layout, month_text
from werkpilot_tui.console.widgets.format import MONEY_SHORT_WIDTH, money, money_short
from werkpilot_tui.console.widgets.palette import Palette

_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_AMOUNT = re.compile(r"^(-?)\$(\d[\d,]*(?:\.\d+)?)(?:e(\d+))?([kMBT]?)$")
amounts = st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False)


def _read(text: str) -> tuple[float, float]:
    """What an operator reads: the amount the text stands for, and its last digit's unit."""
    match = _AMOUNT.match(text)
    assert match, f"not an amount: {text!r}"
    sign, digits, exponent, unit = match.groups()
    scale = _SCALE[unit] * (10 ** int(exponent or 0))
    decimals = len(digits.partition(".")[2])
    value = float(digits.replace(",", "")) * scale
    return (-value if sign else value), scale / 10**decimals


def _close(text: str, usd: float) -> bool:
    """``text`` is ``usd`` rounded to its last digit (never cut, which would be further off)."""
    shown, unit = _read(text)
    return abs(shown - usd) <= unit / 2 * (1 + 1e-9) + 1e-12


@given(amounts, st.integers(min_value=6, max_value=12))
def test_money_fits_its_width_and_reads_as_the_amount(usd: float, width: int) -> None:
    text = money(usd, width)
    assert len(text) <= width
    assert _close(text, usd), (usd, width, text)


@given(st.floats(min_value=0, max_value=1e15, exclude_max=True))
def test_five_cells_hold_any_amount_below_a_thousand_trillion(usd: float) -> None:
    text = money(usd, 5)
    assert len(text) <= 5
    assert _close(text, usd), (usd, text)


@given(amounts)
def test_money_short_never_exceeds_its_width_nor_drops_digits(usd: float) -> None:
    text = money_short(usd)
    assert len(text) <= MONEY_SHORT_WIDTH
    assert _close(text, usd), (usd, text)


def test_examples() -> None:
    assert [money(v) for v in (0, 0.0012, 12.345, 1234.5, 12_345, 1.2e6, 4.5e9, 1e15)] == [
        "$0.00",
        "$0.0012",
        "$12.35",
        "$1,234",
        "$12.3k",
        "$1.2M",
        "$4.5B",
        "$1.0e15",
    ]
    assert money(1234.5, 5) == "$1.2k" and money(-529.3) == "-$529"
    assert money(math.inf) == "$∞" and money(math.nan) == "—"
    assert [money_short(v) for v in (9.5, 86.4, 1234, 12_345, 99_999_999_999_999.99)] == [
        "$9.50",
        "$86",
        "$1,234",
        "$12.3k",
        "$100.0T",
    ]


def test_a_budget_cell_never_reads_as_a_smaller_amount() -> None:
    """The issue's `$405/$99,999,99`: a huge budget cut by the column until it looked small."""
    row = BudgetRow("sales", 405.0, 99_999_999_999_999.99, 0.0, 405.0, 0.0, None, None)
    layout = budget_layout(36, [row])
    text = budget_cells(row, Palette(), layout)[1].plain
    assert text == month_text(row, layout.bar)
    assert text.endswith("$405/$100.0T")
    width = dict((key, w) for key, _, w in layout.columns)["month"]
    assert len(text) <= width


def test_the_compact_cost_cell_abbreviates_instead_of_cutting() -> None:
    from werkpilot_tui.console.view_models import AgentRow, ThresholdsView
    from werkpilot_tui.console.widgets.agent_table import agent_cells, agent_layout

    layout = agent_layout(76, ["sales"])
    assert layout.compact
    row = AgentRow(
        "big", "sales", 0, 0, 0, 0.0, None, month_ledger_cost=12_000_000.0, ledger_only=True
    )
    cost = agent_cells(row, "24h", ThresholdsView(), 0, Palette(), layout)[6].plain
    assert cost == "$12.0M"  # was "$12,00…": read as $12
