"""Pilot tests: ``a``, ``b``, ``u``, ``A`` and ``S`` act only on what the operator sees
selected, say what they touched, and show their effect in the feed (issue 12, 2/3/8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_support import app_for, loaded, seed, wait_for
from textual.widgets import DataTable

from core.alerts.manager import AlertManager
from core.clock import to_ms
from werkpilot_tui.console.screens.alert_detail import AlertDetailScreen
from werkpilot_tui.console.screens.budget_modal import BudgetModal
from werkpilot_tui.console.screens.duration_picker import DurationPicker
from werkpilot_tui.console.widgets.agent_table import AgentTable
from werkpilot_tui.console.widgets.alert_feed import AlertFeed
from werkpilot_tui.console.widgets.budget_bars import BudgetBars

SIZE = (120, 40)


def _state(feed: DataTable[Any], key: str) -> str:
    return str(feed.get_row(key)[2])


def _notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


def _manager(data_dir: Path, clock: Any) -> AlertManager:
    return AlertManager(data_dir, clock=clock, channels=[])


async def test_a_with_the_agents_table_focused_acknowledges_nothing(
    data_dir: Path, clock: Any
) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.select_key(ids["critical"])  # the hidden cursor of a table without focus
        app.screen.query_one("#agents", AgentTable).focus()
        await pilot.press("a")
        await wait_for(pilot, lambda: any("Select an alert first" in n for n in _notes(app)))
        assert app.screen.focused is feed  # the operator now sees which alert is selected
        await pilot.pause(0.3)
    fresh = _manager(data_dir, clock)
    assert not fresh.get_alert(ids["critical"]).acknowledged
    assert not fresh.get_alert(ids["warning"]).acknowledged
    fresh.close()


async def test_a_names_the_alert_and_u_undoes_it_within_seconds(data_dir: Path, clock: Any) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["critical"])
        await pilot.press("a")
        await wait_for(pilot, lambda: "ack" in _state(feed, ids["critical"]))
        await wait_for(pilot, lambda: any(n.startswith("Acknowledged") for n in _notes(app)))
        [note] = [n for n in _notes(app) if n.startswith("Acknowledged")]
        for part in ("critical", "custom_outage", "model claude-opus-4-1", "Provider returned"):
            assert part in note
        assert "u undoes" in note
        await pilot.press("u")
        await wait_for(pilot, lambda: "NEW" in _state(feed, ids["critical"]))
        await wait_for(
            pilot, lambda: any(n.startswith("Acknowledgement undone") for n in _notes(app))
        )
        await pilot.press("u")  # once only
        await wait_for(pilot, lambda: any("Nothing to undo" in n for n in _notes(app)))
    fresh = _manager(data_dir, clock)
    assert not fresh.get_alert(ids["critical"]).acknowledged
    fresh.close()


async def test_u_after_the_undo_window_changes_nothing(
    data_dir: Path, clock: Any, monkeypatch: Any
) -> None:
    import werkpilot_tui.console.screens.dashboard as dashboard

    monkeypatch.setattr(dashboard, "UNDO_S", 0.0)
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["warning"])
        await pilot.press("a")
        await wait_for(pilot, lambda: "ack" in _state(feed, ids["warning"]))
        await pilot.pause(0.05)
        await pilot.press("u")
        await wait_for(pilot, lambda: any("Nothing to undo" in n for n in _notes(app)))
    fresh = _manager(data_dir, clock)
    assert fresh.get_alert(ids["warning"]).acknowledged
    fresh.close()


async def test_b_edits_the_department_of_what_is_selected(data_dir: Path, clock: Any) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        bars = app.screen.query_one("#budgets", BudgetBars)
        bars.select_key("marketing")  # the budgets table's hidden cursor
        agents = app.screen.query_one("#agents", AgentTable)
        agents.focus()
        agents.select_key("lead-scorer")  # sales
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        assert app.screen.department == "sales"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        # On the alerts table: the alert's department (here through its agent) ...
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["warning"])  # about lead-scorer
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        assert app.screen.department == "sales"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        # ... and an alert about a model names no department: ask for one.
        feed.select_key(ids["critical"])
        await pilot.press("b")
        await wait_for(pilot, lambda: any("Select a department first" in n for n in _notes(app)))
        assert app.screen is app.dashboard_screen and app.screen.focused is bars
        # On the budgets table: the highlighted one.
        bars.select_key("support")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        assert app.screen.department == "support"
        await pilot.press("escape")
    assert not (data_dir / "budgets.toml").exists()


async def test_shift_a_snoozes_for_the_chosen_time_and_the_feed_says_so(
    data_dir: Path, clock: Any
) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["warning"])
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("2")  # 1 h
        await wait_for(pilot, lambda: "snz" in _state(feed, ids["warning"]))
        snoozed = "Snoozed 1 h: ▲ warning custom_check"
        await wait_for(pilot, lambda: any(n.startswith(snoozed) for n in _notes(app)))
        await pilot.press("enter")  # the detail says until when
        await wait_for(pilot, lambda: isinstance(app.screen, AlertDetailScreen))
        fields = app.screen.query_one("#fields", DataTable)
        rows = {
            str(fields.get_row_at(i)[0]): str(fields.get_row_at(i)[1])
            for i in range(fields.row_count)
        }
        assert rows["Snoozed until"] == "2026-11-26 13:00:00 UTC (in 1h00m)", rows
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        # From the alert detail: snooze the critical until it resolves.
        feed.select_key(ids["critical"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertDetailScreen))
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("4")
        await wait_for(pilot, lambda: "ack" in _state(feed, ids["critical"]))
    fresh = _manager(data_dir, clock)
    warning = fresh.get_alert(ids["warning"])
    assert warning.acknowledged and warning.acknowledged_until == to_ms(clock()) + 3_600_000
    critical = fresh.get_alert(ids["critical"])
    assert critical.acknowledged and critical.acknowledged_until is None
    fresh.close()


async def test_shift_s_silences_the_condition_and_the_feed_says_so(
    data_dir: Path, clock: Any
) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["critical"])
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("enter")  # the first choice: 1 h
        await wait_for(pilot, lambda: _state(feed, ids["critical"]) == "⊘")  # compact: symbol
        silenced = "Silenced for 1 h: ✖ critical"
        await wait_for(pilot, lambda: any(n.startswith(silenced) for n in _notes(app)))
        await pilot.press("escape")  # nothing else open: harmless
    fresh = _manager(data_dir, clock)
    critical = fresh.get_alert(ids["critical"])
    assert critical.silenced and not critical.acknowledged
    clock.advance(minutes=61)
    assert not fresh.get_alert(ids["critical"]).silenced
    fresh.close()


async def test_escape_in_the_picker_changes_nothing(data_dir: Path, clock: Any) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        app.screen.query_one("#agents", AgentTable).focus()
        await pilot.press("A")  # not on the feed: asks for an alert, moves focus there
        await wait_for(pilot, lambda: app.screen.focused is feed)
        assert not isinstance(app.screen, DurationPicker)
        feed.select_key(ids["warning"])
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
    fresh = _manager(data_dir, clock)
    warning = fresh.get_alert(ids["warning"])
    assert not warning.silenced and not warning.acknowledged
    fresh.close()


async def test_a_filter_matching_no_agent_says_so(data_dir: Path, clock: Any) -> None:
    from textual.widgets import Static

    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        waiting = app.screen.query_one("#waiting", Static)
        rows = agents.row_count
        await pilot.press("slash", *"zzq[b]")
        await wait_for(pilot, lambda: agents.row_count == 0 and waiting.display)
        assert str(waiting.render()) == "No agent matches “zzq[b]” (Esc clears the filter)"
        await pilot.press("escape")
        await wait_for(pilot, lambda: agents.row_count == rows > 0 and not waiting.display)


async def test_help_lists_costs_and_alert_keys_and_every_symbol(data_dir: Path, clock: Any) -> None:
    from werkpilot_tui.console.screens.help import SYMBOLS, HelpScreen
    from werkpilot_tui.console.widgets.alert_feed import STATE_SYMBOL
    from werkpilot_tui.console.widgets.budget_bars import LEVEL_MARK
    from werkpilot_tui.console.widgets.palette import LEVEL_SYMBOL

    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        entries = {(e.key, e.scope) for e in help_screen.entries}
        for key in ("u", "A", "S", "a", "b"):
            assert (key, "dashboard") in entries
        for key in ("1", "2", "3", "4", "[", "]", "0"):
            assert (key, "costs") in entries
        assert ("A", "alert detail") in entries and ("S", "alert detail") in entries
        table = help_screen.query_one("#symbols", DataTable)
        shown = " ".join(str(table.get_row_at(i)[0]) for i in range(table.row_count))
        glyphs = {*LEVEL_SYMBOL.values(), *STATE_SYMBOL.values(), *LEVEL_MARK.values(), "⇧"}
        assert glyphs <= set(shown)
        assert table.row_count == len(SYMBOLS)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)


async def test_palette_commands_snooze_and_silence_the_selected_alert(
    data_dir: Path, clock: Any
) -> None:
    from werkpilot_tui.console.palette_commands import WerkpilotCommands

    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        commands = {t: run for t, run, _ in WerkpilotCommands(app.screen)._commands()}
        assert {"alert: undo acknowledgement", "alert: snooze…", "alert: silence…"} <= set(commands)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["warning"])
        commands["alert: snooze…"]()
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("1")
        await wait_for(pilot, lambda: "snz" in _state(feed, ids["warning"]))
        commands["alert: silence…"]()
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("3")  # 24 h
        await wait_for(pilot, lambda: "mute" in _state(feed, ids["warning"]))
    fresh = _manager(data_dir, clock)
    warning = fresh.get_alert(ids["warning"])
    assert warning.acknowledged_until == to_ms(clock()) + 15 * 60_000 and warning.silenced
    clock.advance(hours=23)
    assert fresh.get_alert(ids["warning"]).silenced
    fresh.close()
