"""Every theme draws the borders of panes without focus in a colour that shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_support import app_for, loaded, seed

from werkpilot_tui.console.themes import HIGH_CONTRAST_THEME


@pytest.mark.parametrize("theme", [HIGH_CONTRAST_THEME, "werkpilot-dark", "werkpilot-light"])
async def test_unfocused_pane_borders_differ_from_the_background(
    theme: str, data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock, theme=theme).run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        pane = app.screen.query_one("#budgets-pane")
        assert not pane.has_focus_within
        _, border = pane.styles.border_top
        _, background = pane.background_colors
        assert border.a == 1  # not transparent
        assert (border.ansi, border.rgb) != (background.ansi, background.rgb)
