"""Pilot tests: every dashboard key, checked on the widgets and on what core reads back."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from app_support import app_for, loaded, seed, wait_for
from textual.widgets import DataTable, Input

from core.alerts.manager import AlertManager
from core.costs.ledger import CostTracker
from werkpilot_tui.console.screens.alert_detail import AlertDetailScreen
from werkpilot_tui.console.screens.budget_modal import BudgetModal
from werkpilot_tui.console.widgets.agent_table import SORTS, AgentTable
from werkpilot_tui.console.widgets.alert_feed import AlertFeed
from werkpilot_tui.console.widgets.budget_bars import BudgetBars

SIZE = (120, 40)


def _row_text(table: DataTable[Any], key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def test_dashboard_shows_agents_budgets_alerts_and_header(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        assert set(agents.row_keys) == {
            "lead-scorer",
            "email-writer",
            "ticket-triage",
            "invoice-bot",
            # track_cost only (issue 12 item 6): a "ledger only" row with the month's spend
            *(f"{dept}-batch" for dept in ("sales", "marketing", "support", "operations")),
        }
        email = _row_text(agents, "email-writer")
        assert email[1] == "marketing" and email[2] == "40"
        assert "20.0%" in email[3] and "▲" in email[3]  # warning: symbol as well as colour
        assert "35.7%" in _row_text(agents, "ticket-triage")[3]
        assert "✖" in _row_text(agents, "ticket-triage")[3]  # critical
        assert "▲" in _row_text(agents, "ticket-triage")[4]  # 41 s average: slow
        budgets = app.screen.query_one("#budgets", BudgetBars)
        assert {"sales", "marketing", "support", "operations"} <= set(budgets.row_keys)
        assert "100%✖" in _row_text(budgets, "support")[1]
        assert "▲" in _row_text(budgets, "marketing")[1]
        alerts = app.screen.query_one("#alerts", AlertFeed)
        assert alerts.row_count >= 2
        header = app.screen.query_one("#health").text
        assert "exec/h 53" in header and "CPU 12%" in header and "malformed" not in header


async def test_a_acknowledges_the_selected_alert_for_every_process(
    data_dir: Path, clock: Any
) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["warning"])
        await pilot.press("a")
        await wait_for(pilot, lambda: "ack" in _row_text(feed, ids["warning"])[2])
        assert feed.selected_key == ids["warning"]  # cursor kept on the row
    fresh = AlertManager(data_dir, clock=clock, channels=[])
    assert fresh.get_alert(ids["warning"]).acknowledged
    assert not fresh.get_alert(ids["critical"]).acknowledged


async def test_b_saves_the_budget_to_budgets_toml(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        bars = app.screen.query_one("#budgets", BudgetBars)
        bars.focus()
        bars.select_key("sales")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        box = app.screen.query_one(Input)
        box.value = ""
        await pilot.press(*"750", "enter")
        await wait_for(pilot, lambda: "/$750" in _row_text(bars, "sales")[1])
        assert not isinstance(app.screen, BudgetModal)
    saved = tomllib.loads((data_dir / "budgets.toml").read_text())
    assert saved["budgets"]["sales"] == 750
    fresh = CostTracker(data_dir, clock=clock)
    assert fresh.get_department_cost("sales").budget == 750


async def test_b_escape_cancels_and_writes_nothing(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        app.screen.query_one("#budgets", BudgetBars).focus()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        await pilot.press("9", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, BudgetModal))
    assert not (data_dir / "budgets.toml").exists()


async def test_b_rejects_a_bad_amount_inline(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        app.screen.query_one("#budgets", BudgetBars).focus()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        modal = app.screen
        for typed, expected in (("-5", "positive"), ("abc", "Not a number"), ("", "Enter an")):
            modal.query_one(Input).value = typed
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, BudgetModal)
            assert expected in modal.error_text
        await pilot.press("escape")
    assert not (data_dir / "budgets.toml").exists()


async def test_w_cycles_the_window(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        runs = {}
        for _ in range(3):
            runs[app.screen.window] = _row_text(agents, "email-writer")[2]
            await pilot.press("w")
            await pilot.pause()
        assert app.screen.window == "24h"
        assert runs["24h"] == runs["7d"] == "40"
        assert int(runs["1h"]) < 40  # runs from 65-95 min ago left the hour
        assert "window 24h" in str(app.screen.query_one("#agents-pane").border_title)


async def test_s_cycles_the_sort_column(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        agents.focus()
        agents.select_key("ticket-triage")
        runs = [k for k in agents.row_keys if not k.endswith("-batch")]  # not ledger-only
        assert agents.row_keys[0] == "sales-batch"  # by cost: its month's $300 (ledger only)
        assert runs[0] == "invoice-bot"  # by cost: 6 x $0.09
        await pilot.press("s")  # by runs
        await pilot.pause()
        assert SORTS[app.screen.sort_index].column == "runs"
        assert agents.row_keys[:4] == [
            "email-writer",
            "lead-scorer",
            "ticket-triage",
            "invoice-bot",
        ]
        await pilot.press("s")  # by error rate
        await pilot.pause()
        assert agents.row_keys[0] == "ticket-triage"
        assert agents.selected_key == "ticket-triage"  # the cursor follows its row
        labels = {str(k.value): str(c.label) for k, c in agents.columns.items()}
        assert labels["errors"] == "Errors▼" and labels["cost"] == "Cost"


async def test_slash_filters_agents(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        await pilot.press("slash")
        await pilot.press(*"mark")  # department "marketing"
        marketing = ["email-writer", "marketing-batch"]  # the batch: ledger only
        await wait_for(pilot, lambda: sorted(agents.row_keys) == marketing)
        await pilot.press("enter")
        assert app.focused is agents
        assert sorted(agents.row_keys) == marketing
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: len(agents.row_keys) == 8)


async def test_enter_opens_the_agent_detail(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        agents.focus()
        agents.select_key("lead-scorer")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not app.dashboard_screen)
        assert type(app.screen).__name__ == "AgentDetailScreen"
        assert app.screen.agent == "lead-scorer"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)


async def test_c_t_question_open_their_screens_and_q_quits(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    app = app_for(data_dir, clock)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for key in ("c", "question_mark"):
            await pilot.press(key)
            await wait_for(pilot, lambda: app.screen is not app.dashboard_screen)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code in (0, None)


async def test_t_opens_the_theme_picker_and_tab_moves_focus(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    app = app_for(data_dir, clock)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.focused is not None and app.focused.id == "agents"
        await pilot.press("tab")
        assert app.focused.id == "budgets"
        await pilot.press("tab")
        assert app.focused.id == "alerts"
        await pilot.press("down")  # the cursor moves within the focused table
        assert app.screen.query_one("#alerts", AlertFeed).cursor_row == 1
        await pilot.press("t")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ThemePicker")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)


def test_a_data_dir_that_is_a_file_exits_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from werkpilot_tui.cli import main

    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("oops")
    assert main(["--data-dir", str(not_a_dir)]) == 2
    assert "is not a directory" in capsys.readouterr().err


async def test_enter_detail_is_in_the_footer_and_help_while_the_agents_table_has_focus(
    data_dir: Path, clock: Any
) -> None:
    from textual.widgets._footer import FooterKey

    from werkpilot_tui.console.screens.help import help_entries

    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        app.screen.query_one("#agents", AgentTable).focus()
        await pilot.pause()
        enter = app.screen.active_bindings["enter"].binding
        assert enter.description == "Detail" and enter.show
        await wait_for(
            pilot, lambda: "Detail" in [k.description for k in app.screen.query(FooterKey)]
        )
        assert "Detail" in [e.description for e in help_entries(app, app.screen)]


async def test_enter_on_the_feed_shows_the_whole_alert_and_a_acknowledges_it(
    data_dir: Path, clock: Any
) -> None:
    """At 80 columns the feed has room for a dozen characters of a message: Enter shows it
    all, literally, with the alert's fields; ``a`` there acknowledges it for every process."""
    seed(data_dir, clock)
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    message = "[bold red]Queue[/] for lead-scorer is 4,000 deep \x1b[31m and growing " * 3
    long = alerts.add_alert(
        level="warning", type="queue_depth", message=message, data={"agent": "lead-scorer"}
    )
    assert long is not None
    alerts.close()
    async with app_for(data_dir, clock).run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        await wait_for(pilot, lambda: long.id in feed.row_keys)
        feed.focus()
        feed.select_key(long.id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertDetailScreen))
        detail = app.screen
        assert isinstance(detail, AlertDetailScreen)
        shown = detail.message_text
        assert "[bold red]Queue[/]" in shown and "\x1b" not in shown and "␛[31m" in shown
        assert shown.replace("\n", " ").count("and growing") == 3  # all of it, wrapped
        fields = detail.query_one("#fields", DataTable)
        values = {
            str(fields.get_row_at(i)[0]): str(fields.get_row_at(i)[1])
            for i in range(fields.row_count)
        }
        assert values["Type"] == "queue_depth" and values["agent"] == "lead-scorer"
        assert values["Id"] == long.id and "UTC" in values["Raised"]
        await pilot.press("a")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        assert feed.compact  # 80 columns: level and state as symbols
        await wait_for(pilot, lambda: _row_text(feed, long.id)[2] == "✔")
        await pilot.press("enter")  # again: acknowledged now, so a only says so
        await wait_for(pilot, lambda: isinstance(app.screen, AlertDetailScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
    assert AlertManager(data_dir, clock=clock, channels=[]).get_alert(long.id).acknowledged
