"""Pilot tests of the budget editor's bounds: the same ceiling as core (``budget_problem``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_support import app_for, loaded, seed, wait_for
from textual.widgets import Input

from core.config import BudgetLimits, Config
from werkpilot_tui.console.screens.budget_modal import BudgetModal, parse_amount


async def _typed(pilot: Any, modal: BudgetModal, typed: str) -> str:
    modal.query_one(Input).value = typed
    await pilot.press("enter")
    await pilot.pause()
    return modal.error_text


@pytest.mark.parametrize(
    ("config", "ceiling"),
    [(None, "$10,000,000"), (Config(budget_limits=BudgetLimits(max_monthly_usd=1000)), "$1,000")],
)
async def test_editor_refuses_amounts_over_the_ceiling_and_names_it(
    data_dir: Path, clock: Any, config: Config | None, ceiling: str
) -> None:
    seed(data_dir, clock)
    saved: list[float | None] = []
    async with app_for(data_dir, clock, config=config).run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        modal = BudgetModal("sales", 500.0, 12.0)
        app.push_screen(modal, saved.append)
        await pilot.pause()
        too_large = f"Too large (max {ceiling})."
        for typed, expected in (
            ("1e309", too_large),
            ("inf", too_large),
            ("-inf", "positive"),
            ("99999999999999999999999", too_large),
            ("1e15", too_large),
            ("nan", "Not a number: 'nan'."),
            ("-5", "The budget must be a positive amount."),
            ("0", "The budget must be a positive amount."),
        ):
            assert expected in await _typed(pilot, modal, typed), typed
            assert app.screen is modal and saved == []
        modal.query_one(Input).value = ""
        await pilot.press(*"9" * 50)  # typed text is bounded too
        assert modal.query_one(Input).value == "9" * 40
        await pilot.press("enter")
        await pilot.pause()
        assert too_large in modal.error_text
        modal.query_one(Input).value = ceiling  # the ceiling itself is allowed
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not modal)
    assert saved == [1000.0 if config else 10_000_000.0]
    assert not (data_dir / "budgets.toml").exists()  # the editor itself saves nothing


def test_parse_amount_uses_the_given_ceiling() -> None:
    assert parse_amount("$1,200.50") == 1200.5
    assert parse_amount("20", max_usd=20) == 20
    with pytest.raises(ValueError, match=r"Too large \(max \$19\.50\)"):
        parse_amount("20", max_usd=19.5)
