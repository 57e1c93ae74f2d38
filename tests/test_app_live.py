"""Live behaviour: writes by other processes appear unprompted, rows update in place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from app_support import app_for, loaded, seed, wait_for

from core.alerts.manager import AlertManager
from core.journal.store import Journal
from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.palette_commands import WerkpilotCommands
from werkpilot_tui.console.widgets.agent_table import AgentTable
from werkpilot_tui.console.widgets.alert_feed import AlertFeed

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


def _write_from_another_process(data_dir: Path, agent: str, runs: int = 1, at: Any = None) -> None:
    """Record executions through core in a separate Python process (at ``at``, else now)."""
    code = (
        "import sys, core\n"
        "core.configure(data_dir=sys.argv[1])\n"
        "m = core.get_performance_monitor()\n"
        "ts = int(sys.argv[3]) if sys.argv[3] else None\n"
        f"for _ in range({runs}):\n"
        "    m.track_execution(sys.argv[2], duration=1200, department='research', cost=0.01,\n"
        "                      timestamp=ts)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    stamp = str(int(at.timestamp() * 1000)) if at is not None else ""
    subprocess.run([sys.executable, "-c", code, str(data_dir), agent, stamp], check=True, env=env)


async def test_agent_written_by_another_process_appears_without_a_key(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock, watch=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        agents.focus()
        agents.select_key("lead-scorer")
        _write_from_another_process(data_dir, "new-[b]agent[/b]", runs=2)
        await wait_for(pilot, lambda: "new-[b]agent[/b]" in agents.row_keys)
        assert agents.get_row("new-[b]agent[/b]")[0].plain == "new-[b]agent[/b]"
        assert agents.selected_key == "lead-scorer"  # the cursor stayed on its agent


async def test_missing_data_dir_waits_then_shows_data(tmp_path: Path, clock: Any) -> None:
    data_dir = tmp_path / "not" / "yet" / "data"
    async with app_for(data_dir, clock, watch=True).run_test(size=SIZE) as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: app.latest is not None)
        await pilot.pause()
        waiting = app.screen.query_one("#waiting")  # the dashboard, after the start-up screen
        assert waiting.display
        assert f"No executions yet — waiting for {data_dir}…" in str(waiting.render())
        assert not data_dir.exists()  # watching does not create anything
        _write_from_another_process(data_dir, "first-agent")
        agents = app.screen.query_one("#agents", AgentTable)
        await wait_for(pilot, lambda: agents.row_keys == ["first-agent"])
        assert not waiting.display


async def test_malformed_lines_are_counted_in_the_header(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    path = Journal(data_dir).path_for("executions", clock().date())
    with open(path, "ab") as fh:
        fh.write(b'this is not json\n{"timestamp": 5, "agent": ""}\n')
    PerformanceMonitor(data_dir, clock=clock).track_execution("after-bad", duration=5)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        assert "after-bad" in app.screen.query_one("#agents", AgentTable).row_keys
        assert "malformed lines ▲ 2" in app.screen.query_one("#health").text


async def test_updates_rewrite_only_changed_cells(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        agents.focus()
        agents.select_key("email-writer")
        keys_before = list(agents.row_keys)
        updates_before = agents.cell_updates
        PerformanceMonitor(data_dir, clock=clock).track_execution(
            "invoice-bot", duration=5200, model="claude-opus-4-1", department="operations"
        )
        app.refresh_data()
        await wait_for(pilot, lambda: agents.get_row("invoice-bot")[2].plain == "7")
        # runs and last-run of one agent changed (cost and tokens did not: no cost given)
        assert 1 <= agents.cell_updates - updates_before <= 4
        assert agents.row_keys == keys_before
        assert agents.selected_key == "email-writer"


async def test_console_runs_escalations_through_core(data_dir: Path, clock: Any) -> None:
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    warning = alerts.add_alert(
        level="warning", type="queue", message="Queue deep", data={"agent": "a"}
    )
    assert warning is not None
    PerformanceMonitor(data_dir, clock=clock).track_execution("a", duration=5)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        clock.advance(minutes=61)
        await app.run_checks()
        await wait_for(pilot, lambda: feed.row_count == 2)
        newest = feed.get_row(feed.row_keys[0])
        assert newest[3].plain.startswith("[ESCALATED] Queue deep")
        assert "CRIT" in newest[1].plain
        assert "⇧" in feed.get_row(warning.id)[2].plain
    fresh = AlertManager(data_dir, clock=clock, channels=[])
    assert [a.escalated_from for a in fresh.get_alerts(level="critical")] == [warning.id]


async def test_command_palette_has_namespaced_commands(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        provider = WerkpilotCommands(app.screen)
        titles = [title for title, _, _ in provider._commands()]
        for expected in (
            "view: costs",
            "window: 24h",
            "alert: acknowledge",
            "budget: edit",
            "theme: werkpilot-high-contrast",
            "sort: by cost",
            "app: quit",
        ):
            assert expected in titles
        app.set_window("1h")
        await pilot.pause()
        assert app.dashboard_screen.window == "1h"


async def test_switching_theme_recolours_cells_and_keeps_symbols(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock, theme="werkpilot-dark").run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        before = agents.get_row("ticket-triage")[3]
        app.theme = "werkpilot-high-contrast"
        await wait_for(pilot, lambda: agents.get_row("ticket-triage")[3].style != before.style)
        after = agents.get_row("ticket-triage")[3]
        assert after.plain == before.plain and "✖" in after.plain  # the symbol stays
        assert after.style.color.type.name == "STANDARD"  # 16-colour ANSI in high contrast


async def test_without_a_watcher_the_size_check_still_catches_appends(
    data_dir: Path, clock: Any
) -> None:
    """The fallback for file systems where watching misses appends (polling, NFS)."""
    seed(data_dir, clock)
    async with app_for(data_dir, clock, watch=False, tick_s=0.05).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        _write_from_another_process(data_dir, "late-agent", at=clock())
        await wait_for(pilot, lambda: "late-agent" in agents.row_keys)


async def test_a_broken_budgets_file_is_reported_and_the_data_stays(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        rows = list(agents.row_keys)
        (data_dir / "budgets.toml").write_text("[budgets]\nsales = 'lots'\n")
        app.refresh_data()
        header = app.screen.query_one("#health")
        await wait_for(pilot, lambda: "error ✖" in header.text)
        assert "budgets.sales" in header.text
        assert agents.row_keys == rows  # last good figures stay on screen
        (data_dir / "budgets.toml").write_text("[budgets]\nsales = 900\n")
        app.refresh_data()
        await wait_for(pilot, lambda: "error" not in header.text)


#: 26 characters: clipped in the compact agent column at 80 columns, whole at 120.
LONG_NAME = "invoice-dispute-summariser"


def _fits(table: Any) -> bool:
    """Every column on screen: no horizontal scrolling."""
    return table.virtual_size.width <= table.scrollable_content_region.width


async def test_agents_and_budgets_fit_a_narrow_terminal_and_follow_a_resize_in_place(
    data_dir: Path, clock: Any
) -> None:
    from app_support import FLEET

    from werkpilot_tui.console.widgets.budget_bars import BudgetBars

    seed(data_dir, clock, fleet=(*FLEET, (LONG_NAME, "finance", "haiku", 3, 0, 800.0, 0.001)))
    async with app_for(data_dir, clock).run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        budgets = app.screen.query_one("#budgets", BudgetBars)
        assert not agents.column_layout.compact and _fits(agents)
        assert agents.get_row(LONG_NAME)[0].plain == LONG_NAME
        # the last hour's burn rate before the forecast columns: the run-out date goes first
        assert budgets.column_keys == ["dept", "month", "burn", "forecast"] and _fits(budgets)
        assert all(
            re.fullmatch(r"\d+\.\d×( [▲✖])?", row[2].plain)
            for row in map(budgets.get_row, budgets.row_keys)
        )
        for key in budgets.row_keys:  # bar, percent + mark, spent/budget, burn, projection
            for column, value in zip(budgets.columns.values(), budgets.get_row(key), strict=True):
                assert len(value.plain) <= column.width, value.plain
        agents.focus()
        agents.select_key("email-writer")
        order = agents.row_keys
        added: list[object] = []
        add_row = agents.add_row
        agents.add_row = lambda *a, **k: added.append(k.get("key")) or add_row(*a, **k)  # type: ignore[method-assign]
        updates = agents.cell_updates

        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: agents.column_layout.compact and _fits(agents))
        labels = [column.label.plain.strip().rstrip("▼▲") for column in agents.columns.values()]
        assert labels == ["Agent", "Dept", "Runs", "Errors", "Avg", "Tokens", "Cost", "Last"]
        clipped = agents.get_row(LONG_NAME)[0].plain
        assert clipped.startswith(" ") and clipped.endswith("…")  # margin, then the name
        assert LONG_NAME.startswith(clipped[1:-1])
        assert "%" in agents.get_row("email-writer")[3].plain  # count, rate and symbol
        # Same rows, same order, cursor kept: only the cells whose text changed were rewritten.
        assert added == [] and agents.row_keys == order
        assert agents.selected_key == "email-writer" and agents.cell_updates > updates
        assert budgets.column_keys[:2] == ["dept", "month"] and _fits(budgets)
        for key in budgets.row_keys:
            month = budgets.get_row(key)[1].plain
            assert re.fullmatch(r"[█░]+ +\d+%[●▲✖ ] \$[\d,.k]+/\$[\d,.k]+", month), month
            assert len(month) <= budgets.columns["month"].width  # type: ignore[index]

        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: not agents.column_layout.compact)
        assert agents.get_row(LONG_NAME)[0].plain == LONG_NAME and added == []
        assert budgets.column_keys == ["dept", "month", "burn", "forecast"]
