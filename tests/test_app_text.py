"""Text from data is shown literally: no markup, no terminal escapes, bounded cells."""

from __future__ import annotations

from rich.console import Console
from textual.app import App, ComposeResult

from werkpilot_tui.console.view_models import AgentRow, AlertRow, Dashboard, WindowFigures
from werkpilot_tui.console.widgets.agent_table import AgentTable
from werkpilot_tui.console.widgets.alert_feed import AlertFeed
from werkpilot_tui.console.widgets.health_header import HealthHeader
from werkpilot_tui.console.widgets.palette import Palette
from werkpilot_tui.console.widgets.text import cell, neutralise, safe_text

NASTY = "[bold red]x[/] \x1b[31mred\x1b[0m\x07\r\n\u202eevil\x85"


def test_neutralise_replaces_every_control_character() -> None:
    out = neutralise(NASTY)
    assert out.startswith("[bold red]x[/] ␛[31mred␛[0m")
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\n" not in out
    assert "\u202e" not in out and "\x85" not in out
    assert all(c.isprintable() for c in out)
    assert neutralise("plain name-1") == "plain name-1"


def test_cells_render_brackets_literally() -> None:
    console = Console(width=80, color_system=None, force_terminal=False)
    for text in (cell(NASTY), safe_text(NASTY)):
        with console.capture() as cap:
            console.print(text)
        printed = cap.get()
        assert "[bold red]x[/]" in printed
        assert "\x1b" not in printed


def test_cells_are_clipped() -> None:
    assert cell("a" * 500, width=20).plain == "a" * 19 + "…"


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield HealthHeader(id="health")
        yield AgentTable(id="agents")
        yield AlertFeed(id="alerts")


async def test_widgets_show_markup_and_escapes_literally() -> None:
    name = "[bold red]x[/]\x1b[2J"
    d = Dashboard(
        data_dir="/tmp/[red]dir[/]",
        built_at_ms=1_000_000,
        agents=(
            AgentRow(name, "[i]dept[/i]", 3, 0, 10, 0.5, 999_000, {"24h": WindowFigures(count=3)}),
        ),
        alerts=(
            AlertRow(
                "al_1",
                999_000,
                "critical",
                "t",
                "[blink]boom[/] \x1b]0;title\x07",
                False,
                False,
                None,
                3,
                False,
            ),
        ),
        error="[red]oops[/]",
    )
    app = _Host()
    async with app.run_test(size=(120, 20)) as pilot:
        palette = Palette()
        app.query_one(HealthHeader).show(d, 1_000_000, palette)
        app.query_one(AgentTable).show(d.agents, "24h", d.thresholds, 1_000_000, palette)
        app.query_one(AlertFeed).show(d.alerts, 1_000_000, palette)
        await pilot.pause()
        agents = app.query_one(AgentTable)
        row = [c.plain for c in agents.get_row(name)]
        assert row[0] == "[bold red]x[/]␛[2J" and row[1] == "[i]dept[/i]"
        message = app.query_one(AlertFeed).get_row("al_1")[3].plain
        assert message == "×3 [blink]boom[/] ␛]0;title␇"
        assert "[red]oops[/]" in app.query_one(HealthHeader).text
        svg = app.export_screenshot()
        assert "[bold\xa0red]x[/]" in svg.replace("&#160;", "\xa0") or "[bold red]x[/]" in svg
