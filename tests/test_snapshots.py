"""Snapshots of the dashboard: fixed size, frozen clock and host figures, seeded data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_support import app_for, loaded, seed, wait_for

from werkpilot_tui.console.screens.budget_modal import BudgetModal


@pytest.fixture
def seeded(data_dir: Path, clock: Any) -> tuple[Path, Any]:
    seed(data_dir, clock)
    return data_dir, clock


async def _ready(pilot: Any) -> None:
    await loaded(pilot)
    await pilot.pause()


def test_dashboard_dark_120x40(snap_compare: Any, seeded: tuple[Path, Any]) -> None:
    app = app_for(*seeded, theme="werkpilot-dark")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_ready)


def test_dashboard_high_contrast_120x40(snap_compare: Any, seeded: tuple[Path, Any]) -> None:
    app = app_for(*seeded, theme="werkpilot-high-contrast")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_ready)


def test_dashboard_dark_80x24(snap_compare: Any, seeded: tuple[Path, Any]) -> None:
    app = app_for(*seeded, theme="werkpilot-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready)


def test_budget_modal_with_inline_error(snap_compare: Any, seeded: tuple[Path, Any]) -> None:
    app = app_for(*seeded, theme="werkpilot-high-contrast")

    async def open_modal(pilot: Any) -> None:
        await _ready(pilot)
        app.screen.query_one("#budgets").focus()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        app.screen.query_one("#budget-input").value = "-20"
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_modal)
