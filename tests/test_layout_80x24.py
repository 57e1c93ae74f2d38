"""80x24: agent rows that fit, the cursor on the top row, footers and titles uncut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_support import app_for, loaded, seed, wait_for
from rich.cells import cell_len
from textual.widgets import Label
from textual.widgets._footer import FooterKey

from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.screens.agent_detail import AgentDetailScreen
from werkpilot_tui.console.screens.costs import CostsScreen
from werkpilot_tui.console.view_models import AlertRow
from werkpilot_tui.console.widgets.agent_table import AgentTable
from werkpilot_tui.console.widgets.alert_feed import alert_cells
from werkpilot_tui.console.widgets.palette import Palette

SMALL = (80, 24)
DEPARTMENTS = ("sales", "marketing", "support", "operations", "research")
#: Twelve agents in five departments, the cheapest last by name (so name and cost orders differ).
TWELVE = tuple(
    (f"agent-{chr(ord('a') + i)}", DEPARTMENTS[i % 5], "claude-haiku-4-5", 3, 0, 900.0, 0.001 * i)
    for i in range(12)
)


def _visible_rows(table: AgentTable) -> int:
    return table.scrollable_content_region.height - table.header_height


def _quit_uncut(app: Any) -> bool:
    keys = {k.description: k for k in app.screen.query(FooterKey)}
    quit_key, palette = keys.get("Quit"), keys.get("palette")
    if quit_key is None or palette is None:
        return False
    return quit_key.region.width >= cell_len(" q Quit") and (
        quit_key.region.right <= palette.region.x
    )


async def test_ten_of_twelve_agents_show_and_the_cursor_starts_on_the_top_row(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock, fleet=TWELVE)
    async with app_for(data_dir, clock).run_test(size=SMALL) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        await pilot.pause()
        assert agents.row_count >= 12
        assert _visible_rows(agents) >= 10
        assert agents.cursor_row == 0 and agents.scroll_y == 0
        top = agents.row_keys[0]
        assert agents.selected_key == top
        # A write re-sorts the rows: the cursor stays on the row the operator sees at the top.
        monitor = PerformanceMonitor(data_dir, clock=clock)
        monitor.track_execution("agent-a", duration=5, cost=5000.0, department="sales")
        monitor.close()
        app.refresh_data()
        await wait_for(pilot, lambda: agents.row_keys[0] == "agent-a")
        assert agents.cursor_row == 0 and agents.selected_key == "agent-a"
        # Once the operator moves it, the cursor follows its row as before.
        await pilot.press("down")
        chosen = agents.selected_key
        assert agents.cursor_row == 1 and chosen is not None
        monitor = PerformanceMonitor(data_dir, clock=clock)
        monitor.track_execution("agent-b", duration=5, cost=9000.0, department="sales")
        monitor.close()
        app.refresh_data()
        await wait_for(pilot, lambda: agents.row_keys[0] == "agent-b")
        assert agents.selected_key == chosen


async def test_footers_show_q_quit_uncut_and_detail_titles_fit(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SMALL) as pilot:
        app = await loaded(pilot)
        assert _quit_uncut(app)
        agents = app.screen.query_one("#agents", AgentTable)
        agents.select_key("ticket-triage")  # 41 s runs, marks in its table: the widest figures
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AgentDetailScreen) and app.screen.loads >= 1
        )
        await pilot.pause()
        assert _quit_uncut(app)
        labels = list(app.screen.query(".trend-label").results(Label))
        await wait_for(pilot, lambda: all("now" in str(label.render()) for label in labels))
        room = app.screen.query_one("#trends").content_size.width
        for label in labels:
            text = str(label.render())
            assert cell_len(text) <= room, text
        await pilot.press("escape", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CostsScreen))
        await pilot.pause()
        assert _quit_uncut(app)


def test_resolved_and_acknowledged_differ_by_more_than_the_glyph_in_the_narrow_feed() -> None:
    palette = Palette.from_variables(
        {"status-ok": "#00ff00", "data-muted": "#777777", "alert-warning": "#ffff00"}
    )

    def row(acknowledged: bool, resolved: bool) -> AlertRow:
        return AlertRow("a1", 0, "warning", "t", "m", acknowledged, False, None, 1, resolved)

    resolved = alert_cells(row(True, True), 0, palette, compact=True)[2]
    acknowledged = alert_cells(row(True, False), 0, palette, compact=True)[2]
    assert (resolved.plain, acknowledged.plain) == ("✓", "✔")
    assert resolved.style == palette.ok and acknowledged.style == palette.muted
    assert resolved.style != acknowledged.style
