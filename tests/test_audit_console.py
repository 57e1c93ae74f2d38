"""Pilot tests: ``p`` pauses and resumes an agent after asking why, the audit screen (``L``)
lists operator actions newest first and follows other processes, and a read-only console
refuses every action key (issue 15, items 2 and 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app_support import app_for, loaded, seed, wait_for
from textual.widgets import Input

import core
from werkpilot_tui.console.screens.audit import AuditScreen
from werkpilot_tui.console.screens.budget_modal import BudgetModal
from werkpilot_tui.console.screens.duration_picker import DurationPicker
from werkpilot_tui.console.screens.reason_modal import ReasonModal
from werkpilot_tui.console.widgets.agent_table import PAUSED_MARK, AgentTable
from werkpilot_tui.console.widgets.alert_feed import AlertFeed
from werkpilot_tui.console.widgets.budget_bars import BudgetBars
from werkpilot_tui.console.widgets.health_header import HealthHeader

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


def _notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


def _events(data_dir: Path) -> list[Any]:
    with core.open(data_dir, lazy=True) as c:
        return c.control.events()


def _audit_files(data_dir: Path) -> list[Path]:
    audit = data_dir / "audit"
    return sorted(audit.iterdir()) if audit.is_dir() else []


def _name_cell(table: AgentTable, agent: str) -> str:
    return str(table.get_row(agent)[0])


async def _highlight_agent(pilot: Any, app: Any, agent: str) -> AgentTable:
    table = app.screen.query_one("#agents", AgentTable)
    table.focus()
    table.select_key(agent)
    await pilot.pause()
    return table


async def test_p_asks_why_then_pauses_and_marks_the_agent_and_p_again_resumes(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        table = await _highlight_agent(pilot, app, "lead-scorer")
        assert not _name_cell(table, "lead-scorer").startswith(PAUSED_MARK)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonModal))
        assert "lead-scorer" in str(app.screen.query_one("#reason-title").render())
        await pilot.press(*"loops on retries")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        await wait_for(pilot, lambda: _name_cell(table, "lead-scorer").startswith(PAUSED_MARK))
        assert any("Paused lead-scorer" in n for n in _notes(app))
        with core.open(data_dir, lazy=True) as c:
            pause = c.control.pause_of("lead-scorer")
        assert pause is not None and pause.reason == "loops on retries"
        assert pause.actor == core.default_actor()
        # p on a paused agent resumes it (again after asking why)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonModal))
        await pilot.press(*"fixed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not _name_cell(table, "lead-scorer").startswith(PAUSED_MARK))
    events = _events(data_dir)
    assert [(e.action, e.subject, e.reason) for e in events] == [
        ("resumed", "lead-scorer", "fixed"),
        ("paused", "lead-scorer", "loops on retries"),
    ]


async def test_escape_in_the_pause_confirmation_writes_nothing(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        table = await _highlight_agent(pilot, app, "email-writer")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonModal))
        await pilot.press(*"oops")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        await pilot.pause(0.3)
        assert not _name_cell(table, "email-writer").startswith(PAUSED_MARK)
    assert _audit_files(data_dir) == []


async def test_audit_screen_lists_actions_newest_first_literally_and_follows_other_processes(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    nasty = "[red]boom[/red] \x1b[31mred"
    with core.open(data_dir, clock=clock, lazy=True) as c:
        operator = core.Operator(c, "ana@ops")
        operator.set_budget("sales", 800.0, reason="Q4 push")
        clock.advance(seconds=1)
        operator.pause("invoice-bot", reason=nasty)
    async with app_for(data_dir, clock, watch=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await wait_for(pilot, lambda: len(screen.shown_rows) == 2)
        rows = screen.shown_rows
        assert [r[1] for r in rows] == ["paused", "budget_set"]  # newest first
        assert rows[1][2] == "ana@ops" and rows[1][3] == "sales"
        assert rows[1][4] == "$500.00 → $800.00" and rows[1][5] == "Q4 push"
        # the reason shown literally: markup as typed, the escape as a visible symbol
        assert rows[0][5] == "[red]boom[/red] ␛[31mred"
        # another process (the CLI) pauses an agent: the open screen shows it, newest first
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "werkpilot_tui",
                "pause",
                "email-writer",
                "--reason",
                "from the shell",
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: len(screen.shown_rows) == 3, tries=1500)
        top = screen.shown_rows[0]
        assert (top[1], top[3], top[5]) == ("paused", "email-writer", "from the shell")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        table = app.screen.query_one("#agents", AgentTable)
        await wait_for(pilot, lambda: _name_cell(table, "email-writer").startswith(PAUSED_MARK))


async def test_console_actions_are_recorded_with_who_and_before_after(
    data_dir: Path, clock: Any
) -> None:
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["critical"])
        await pilot.pause()
        await pilot.press("a")
        await wait_for(pilot, lambda: any("Acknowledged" in n for n in _notes(app)))
        await pilot.press("u")
        await wait_for(pilot, lambda: any("undone" in n for n in _notes(app)))
        feed.select_key(ids["warning"])
        await pilot.pause()
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, DurationPicker))
        await pilot.press("enter")  # 15 min
        await wait_for(pilot, lambda: any("Snoozed" in n for n in _notes(app)))
        bars = app.screen.query_one("#budgets", BudgetBars)
        bars.focus()
        bars.select_key("sales")
        await pilot.pause()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetModal))
        app.screen.query_one("#budget-input", Input).value = "900"
        app.screen.query_one("#budget-reason", Input).value = "Q4 [b]push"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("set to $900.00" in n for n in _notes(app)))
    events = list(reversed(_events(data_dir)))
    actor = core.default_actor()
    assert [(e.action, e.actor) for e in events] == [
        ("acknowledged", actor),
        ("unacknowledged", actor),
        ("snoozed", actor),
        ("budget_set", actor),
    ]
    ack, undo, snooze, budget = events
    assert ack.subject == ids["critical"] and ack.before == {"acknowledged": False, "until": None}
    assert ack.after == {"acknowledged": True, "until": None}
    assert undo.before == ack.after and undo.after == ack.before
    assert snooze.after["acknowledged"] and snooze.after["until"] == ack.timestamp + 15 * 60_000
    assert (budget.subject, budget.before, budget.after) == ("sales", 500.0, 900.0)
    assert budget.reason == "Q4 [b]push" and ack.reason == ""


async def test_read_only_console_refuses_every_action_key_and_writes_nothing(
    data_dir: Path, clock: Any
) -> None:
    ids = seed(data_dir, clock)
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    async with app_for(data_dir, clock, read_only=True).run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        assert "READ-ONLY" in app.screen.query_one(HealthHeader).text
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["critical"])
        await pilot.pause()
        for key in ("a", "A", "S", "u"):
            count = len(_notes(app))
            await pilot.press(key)
            await wait_for(pilot, lambda c=count: len(_notes(app)) > c)
            assert _notes(app)[-1].startswith("read-only console: "), key
            assert app.screen is app.dashboard_screen, key  # no picker opened
        bars = app.screen.query_one("#budgets", BudgetBars)
        bars.focus()
        bars.select_key("sales")
        await pilot.pause()
        count = len(_notes(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: len(_notes(app)) > count)
        assert _notes(app)[-1].startswith("read-only console: editing budgets")
        await _highlight_agent(pilot, app, "lead-scorer")
        count = len(_notes(app))
        await pilot.press("p")
        await wait_for(pilot, lambda: len(_notes(app)) > count)
        assert _notes(app)[-1].startswith("read-only console: pausing")
        assert app.screen is app.dashboard_screen
        # the alert detail screen's keys end up refused too
        feed.focus()
        feed.select_key(ids["critical"])
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not app.dashboard_screen)
        count = len(_notes(app))
        await pilot.press("a")
        await wait_for(pilot, lambda: len(_notes(app)) > count)
        assert _notes(app)[-1].startswith("read-only console: ")
        # the audit trail can still be read
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        await pilot.pause(0.3)
    after = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    changed = {p for p in after if before.get(p) != after[p]}
    assert _audit_files(data_dir) == []
    assert not any(
        p.parent.name in ("alerts", "audit") or p.name == "budgets.toml" for p in changed
    )


async def test_read_only_from_the_config_file(data_dir: Path, clock: Any, tmp_path: Path) -> None:
    seed(data_dir, clock)
    config = tmp_path / "werkpilot.toml"
    config.write_text("[ui]\nread_only = true\n")
    async with app_for(data_dir, clock, config=config).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        assert app.read_only
        await _highlight_agent(pilot, app, "lead-scorer")
        await pilot.press("p")
        await wait_for(pilot, lambda: any(n.startswith("read-only") for n in _notes(app)))
    assert _audit_files(data_dir) == []


def test_the_console_watches_the_audit_journal(tmp_path: Path) -> None:
    from werkpilot_tui.console.live import is_watched

    assert is_watched(tmp_path / "audit" / "audit-2026-01-01.jsonl", tmp_path)
    assert not is_watched(tmp_path / "audit" / "notes.txt", tmp_path)


async def test_help_lists_p_l_and_the_pause_mark(data_dir: Path, clock: Any) -> None:
    from werkpilot_tui.console.screens.help import SYMBOLS, HelpScreen

    seed(data_dir, clock)
    async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        entries = {(e.key, e.scope) for e in app.screen.entries}
        assert ("p", "dashboard") in entries and ("L", "everywhere") in entries
        assert ("esc", "audit") in entries  # the audit screen's keys, listed before it opens
    assert any(symbol == PAUSED_MARK for symbol, _, _ in SYMBOLS)
