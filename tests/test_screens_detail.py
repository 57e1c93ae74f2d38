"""Agent detail, costs, theme picker and help screens: the figures they show for seeded data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Sparkline, Static

from core.alerts.manager import AlertManager
from core.costs.ledger import CostTracker
from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.detail_models import build_agent_detail, build_costs
from werkpilot_tui.console.messages import DataChanged
from werkpilot_tui.console.screens.agent_detail import AgentDetailScreen
from werkpilot_tui.console.screens.costs import CostsScreen
from werkpilot_tui.console.screens.help import HelpScreen, help_entries
from werkpilot_tui.console.screens.theme_picker import ThemePicker
from werkpilot_tui.console.settings import load_settings
from werkpilot_tui.console.themes import HIGH_CONTRAST_THEME, load_themes
from werkpilot_tui.console.view_models import Dashboard
from werkpilot_tui.console.widgets.format import duration_ms, money
from werkpilot_tui.console.widgets.keyed_table import KeyedTable

SIZE = (120, 40)
AGENT = "pricing-bot"
#: (minutes ago, model, duration ms, status) for AGENT; sonnet 1000/200 tokens = $0.006,
#: haiku 1000/200 tokens = $0.0005.
RUNS = (
    (50, "claude-sonnet-4-5", 1000.0, "completed"),
    (40, "claude-sonnet-4-5", 2000.0, "error"),
    (30, "haiku", 3000.0, "completed"),
    (20, "claude-sonnet-4-5", 4000.0, "completed"),
    (10, "haiku", 5000.0, "completed"),
)


class Components:
    def __init__(self, data_dir: Path, clock: Any) -> None:
        self.alerts = AlertManager(data_dir, clock=clock, channels=[])
        kw: dict[str, Any] = {"clock": clock, "alert_manager": self.alerts}
        self.monitor = PerformanceMonitor(data_dir, **kw)
        self.tracker = CostTracker(data_dir, **kw)

    def close(self) -> None:
        for c in (self.monitor, self.tracker, self.alerts):
            c.close()


@pytest.fixture
def core(data_dir: Path, clock: Any) -> Components:
    c = Components(data_dir, clock)
    now = clock()
    for minutes, model, duration, status in RUNS:
        ts = now - timedelta(minutes=minutes)
        cost = c.tracker.calculate_cost(model, input_tokens=1000, output_tokens=200)
        c.monitor.track_execution(
            AGENT,
            duration=duration,
            status=status,
            tokens_used=1200,
            model=model,
            department="sales",
            cost=cost,
            timestamp=ts,
            error="RateLimitError: [bold]429[/]" if status == "error" else None,
        )
        c.tracker.track_cost(
            AGENT, "sales", model=model, input_tokens=1000, output_tokens=200, timestamp=ts
        )
    yesterday = now - timedelta(days=1)
    c.tracker.track_cost(
        AGENT, "sales", model="claude-sonnet-4-5", input_tokens=1000, output_tokens=200,
        timestamp=yesterday,
    )  # fmt: skip
    two_hours_ago = now - timedelta(hours=2)
    # sales: 20M in + 1M out on opus = $375 of 500 (75 %); support: $180 of 150 (120 %).
    c.tracker.track_cost(
        "sales-batch", "sales", model="claude-opus-4-1", input_tokens=20_000_000,
        output_tokens=1_000_000, timestamp=two_hours_ago,
    )  # fmt: skip
    c.tracker.track_cost(
        "support-batch", "support", model="claude-opus-4-1", input_tokens=2_000_000,
        output_tokens=2_000_000, timestamp=two_hours_ago,
    )  # fmt: skip
    for i in range(101):  # > 100 opus calls: the seed's opus -> sonnet suggestion
        c.tracker.track_cost(
            "opus-heavy", "research", model="claude-opus-4-1", input_tokens=100,
            output_tokens=100, timestamp=now - timedelta(minutes=i % 50),
        )  # fmt: skip
    yield c
    c.close()


class Host(App[None]):
    """A bare app that opens one screen (so the screens are tested without the dashboard)."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        themes, _ = load_themes()
        for theme in themes:
            self.register_theme(theme)

    def on_mount(self) -> None:
        self.theme = "werkpilot-dark"
        self.push_screen(self.make())


async def _until(pilot: Any, condition: Callable[[], bool], tries: int = 200) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not met while the app ran")


def _cells(table: KeyedTable, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


# ------------------------------------------------------------------ view models
def test_agent_detail_view_has_per_model_usage_windows_recent_and_series(core: Components) -> None:
    view = build_agent_detail(core.monitor, core.tracker, AGENT, "24h")
    assert view.found and view.department == "sales"
    assert (view.executions, view.errors) == (5, 1)
    assert [(m.model, m.executions) for m in view.models] == [
        ("claude-sonnet-4-5", 4),  # three today and one yesterday
        ("haiku", 2),
    ]
    assert view.models[0].cost == pytest.approx(0.024)
    assert view.models[1].cost == pytest.approx(0.001)
    assert view.ledger_cost == pytest.approx(0.025)
    assert view.total_cost == pytest.approx(0.019)  # the monitor's stream: five runs
    assert dict(view.windows)["1h"].count == 5
    assert dict(view.windows)["1h"].errors == 1
    assert [r.duration_ms for r in view.recent] == [5000.0, 4000.0, 3000.0, 2000.0, 1000.0]
    assert view.series.window == "24h" and len(view.series.executions) == 24
    assert sum(view.series.executions) == 5
    assert sum(view.series.cost) == pytest.approx(0.019)


def test_unknown_agent_is_an_empty_view(core: Components) -> None:
    view = build_agent_detail(core.monitor, core.tracker, "nobody")
    assert not view.found and view.recent == () and view.models == ()


def test_costs_view_reports_day_week_month_forecast_and_optimizations(
    core: Components, clock: Any
) -> None:
    view = build_costs(core.tracker)
    today = clock().date()
    assert view.day == today
    assert view.day_cost == pytest.approx(0.019 + 375 + 180 + 101 * 0.009)
    assert view.yesterday_cost == pytest.approx(0.006)
    assert view.change_from_yesterday == pytest.approx(view.day_cost - 0.006)
    assert [a.name for a in view.top_agents][:2] == ["sales-batch", "support-batch"]
    assert view.week == "2026-W48" and view.month == "2026-11"
    assert view.week_cost == pytest.approx(view.day_cost + 0.006)
    assert view.week_days[0].day == date(2026, 11, 23)  # the Monday
    assert sum(d.cost for d in view.week_days) == pytest.approx(view.week_cost)
    depts = {d.department: d for d in view.departments}
    assert depts["support"].used_pct == pytest.approx(120.0)
    assert depts["support"].level == "critical"
    assert depts["sales"].level == "info" and depts["sales"].budget == 500
    assert view.departments[0].department == "support"  # fullest first
    assert [o.agent for o in view.optimizations] == ["opus-heavy"]
    assert view.optimizations[0].potential_savings == pytest.approx(0.8 * 101 * 0.009)


# ------------------------------------------------------------------ screens
async def test_agent_detail_screen_shows_the_figures_and_follows_new_data(
    core: Components, clock: Any
) -> None:
    async def load(window: str):
        return build_agent_detail(core.monitor, core.tracker, AGENT, window)

    app = Host(lambda: AgentDetailScreen(AGENT, load, refresh_s=None))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, AgentDetailScreen)
        await _until(pilot, lambda: screen.loads >= 1)
        summary = str(screen.query_one("#summary", Static).render())
        assert "department sales" in summary and "5 runs" in summary
        assert "1 error (20.0%)" in summary
        models = screen.query_one("#models", KeyedTable)
        assert models.row_keys == ["claude-sonnet-4-5", "haiku"]
        assert _cells(models, "claude-sonnet-4-5") == [
            "claude-sonnet-4-5",
            "4",
            money(0.024),
            "96%",
        ]
        assert _cells(models, "haiku") == ["haiku", "2", money(0.001), "4%"]
        windows = screen.query_one("#windows", KeyedTable)
        assert _cells(windows, "1h")[:4] == ["1h", "5", "1", "20.0%"]  # 5 runs: not judged
        recent = screen.query_one("#recent", KeyedTable)
        assert recent.row_count == 5
        first = [str(c) for c in recent.get_row_at(0)]
        assert first[1] == "✔ completed" and first[2] == duration_ms(5000) and first[5] == "haiku"
        error_row = [str(c) for c in recent.get_row_at(3)]
        assert error_row[1] == "✖ error"
        assert error_row[6] == "RateLimitError: [bold]429[/]"  # literal, not markup
        spark = screen.query_one("#spark-executions", Sparkline)
        assert len(spark.data or []) == 24 and sum(spark.data or []) == 5

        await pilot.press("w")  # trend window 24h -> 7d
        await _until(pilot, lambda: len(screen.query_one("#spark-cost", Sparkline).data) == 28)
        assert screen.window == "7d"

        core.monitor.track_execution(AGENT, duration=700.0, model="haiku", department="sales")
        screen.post_message(DataChanged(Dashboard(data_dir="", built_at_ms=0)))
        await _until(pilot, lambda: recent.row_count == 6)
        assert [str(c) for c in recent.get_row_at(0)][2] == duration_ms(700)

        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, AgentDetailScreen))


async def test_costs_screen_shows_reports_forecast_and_optimizations(core: Components) -> None:
    view = build_costs(core.tracker)

    async def load(day: date | None):
        return build_costs(core.tracker, day)

    app = Host(lambda: CostsScreen(load, refresh_s=None))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, CostsScreen)
        await _until(pilot, lambda: screen.loads >= 1)
        day = str(screen.query_one("#day-summary", Static).render())
        assert day.startswith(f"2026-11-26 (today): {money(view.day_cost)} over 108 priced calls")
        assert f"vs yesterday +{money(view.day_cost - 0.006)}" in day
        agents = screen.query_one("#day-agents", KeyedTable)
        assert agents.row_keys[:2] == ["sales-batch", "support-batch"]
        assert _cells(agents, "sales-batch") == ["sales-batch", money(375.0)]

        await pilot.press("2")
        week = str(screen.query_one("#week-summary", Static).render())
        assert week.startswith(f"Week 2026-W48: {money(view.week_cost)}")
        days = screen.query_one("#week-days", KeyedTable)
        assert days.row_count == 7
        assert _cells(days, "2026-11-25")[1:] == [money(0.006), "1"]

        await pilot.press("3")
        depts = screen.query_one("#departments", KeyedTable)
        assert depts.row_keys[0] == "support"
        support = _cells(depts, "support")
        assert support[:4] == ["support", money(180.0), money(150.0), "120% ✖ OVER"]
        assert _cells(depts, "sales")[3] == "75% ● 75%+"
        month = str(screen.query_one("#month-summary", Static).render())
        assert "Month 2026-11" in month and "1 department(s) over budget" in month

        await pilot.press("4")
        opts = screen.query_one("#optimizations", KeyedTable)
        assert opts.row_keys == ["opus-heavy"]
        row = _cells(opts, "opus-heavy")
        assert row[4] == money(0.8 * 101 * 0.009) and row[5] == "101"

        await pilot.press("1", "left_square_bracket")  # the day before: its own figures
        await _until(pilot, lambda: screen.view is not None and screen.view.day.day == 25)
        day = str(screen.query_one("#day-summary", Static).render())
        assert day.startswith(f"2026-11-25: {money(0.006)} over 1 priced call ")
        assert "vs the day before" in day
        assert screen.query_one("#day-agents", KeyedTable).row_keys == [AGENT]
        assert _cells(days, "2026-11-25")[0].endswith("(shown)")
        assert _cells(days, "2026-11-26")[0].endswith("(today)")
        await pilot.press("right_square_bracket")  # never past today
        await pilot.press("right_square_bracket")
        await _until(pilot, lambda: screen.view is not None and screen.view.day.day == 26)
        assert screen.day is None

        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, CostsScreen))


def test_a_past_month_has_no_forecast_and_levels_from_its_spend(core: Components) -> None:
    october = datetime(2026, 10, 14, 12, tzinfo=UTC)
    core.tracker.track_cost(  # 1.6M output tokens on opus: $120 of support's 150
        "old", "support", model="claude-opus-4-1", output_tokens=1_600_000, timestamp=october
    )
    view = build_costs(core.tracker, date(2026, 10, 20))
    assert view.month == "2026-10" and view.today == date(2026, 11, 26)
    support = next(d for d in view.departments if d.department == "support")
    assert support.spent == pytest.approx(120.0) and support.used_pct == pytest.approx(80.0)
    assert support.level == "info"
    assert support.projected == support.spent and support.run_out_date is None


async def test_theme_picker_previews_applies_and_remembers(tmp_path: Path) -> None:
    results: list[str | None] = []
    app = Host(lambda: Screen())
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ThemePicker(), results.append)
        await pilot.pause()
        await pilot.press("escape")  # cancel: nothing changes, nothing remembered
        await _until(pilot, lambda: results == [None])
        assert app.theme == "werkpilot-dark" and load_settings().theme is None

        app.push_screen(ThemePicker(), results.append)
        await pilot.pause()
        await pilot.press("down")  # ours first, sorted: dark, high-contrast, light
        await _until(pilot, lambda: app.theme == HIGH_CONTRAST_THEME)  # previewed
        await pilot.press("down")
        await pilot.press("escape")
        await _until(pilot, lambda: len(results) == 2)
        assert app.theme == "werkpilot-dark"  # the preview was undone

        app.push_screen(ThemePicker(), results.append)
        await pilot.pause()
        await pilot.press("down", "enter")
        await _until(pilot, lambda: len(results) == 3)
        assert results[-1] == HIGH_CONTRAST_THEME and app.theme == HIGH_CONTRAST_THEME
        assert load_settings(tmp_path / "settings.toml").theme == HIGH_CONTRAST_THEME


@pytest.mark.parametrize("theme", ["werkpilot-dark", "werkpilot-light", HIGH_CONTRAST_THEME])
async def test_every_builtin_theme_applies_to_a_running_app(theme: str) -> None:
    app = Host(lambda: HelpScreen())
    async with app.run_test(size=SIZE) as pilot:
        app.theme = theme
        await pilot.pause()
        assert app.theme == theme and app.current_theme.name == theme


class KeysScreen(Screen[None]):
    BINDINGS = [("x", "noop", "Do x"), ("y", "noop", ""), ("enter", "noop", "Open")]  # noqa: RUF012


class _KeysApp(Host):
    BINDINGS = [("c", "noop", "Costs"), ("x", "noop", "App x")]  # noqa: RUF012


async def test_help_lists_every_binding_of_the_screen_and_the_app_and_closes() -> None:
    app = _KeysApp(lambda: KeysScreen())
    async with app.run_test(size=SIZE) as pilot:
        keys_screen = app.screen
        app.push_screen(HelpScreen())
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        entries = {(e.key, e.description, e.scope) for e in help_screen.entries}
        assert ("x", "Do x", "keys") in entries  # the screen's x shadows the app's
        assert ("⏎", "Open", "keys") in entries
        assert ("c", "Costs", "everywhere") in entries
        assert not any(e[1] == "App x" for e in entries)
        assert not any(e[0] == "y" for e in entries)  # no description: internal
        table = help_screen.query_one("#keys")
        assert table.row_count == len(help_screen.entries)
        assert help_entries(app, keys_screen) == help_screen.entries
        for key in ("escape", "q", "question_mark"):
            if key != "escape":
                app.push_screen(HelpScreen())
                await pilot.pause()
            await pilot.press(key)
            await _until(pilot, lambda: app.screen is keys_screen)


# ------------------------------------------------------------------ inside the console
async def test_console_loads_detail_and_costs_on_its_core_thread(
    data_dir: Path, clock: Any
) -> None:
    from app_support import app_for, loaded, seed, wait_for

    seed(data_dir, clock)
    app = app_for(data_dir, clock)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.open_agent_detail("lead-scorer")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AgentDetailScreen) and app.screen.loads >= 1
        )
        models = app.screen.query_one("#models", KeyedTable)
        assert models.row_keys == ["claude-sonnet-4-5"]
        assert _cells(models, "claude-sonnet-4-5")[1] == "24"
        assert app.screen.query_one("#recent", KeyedTable).row_count == 24
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CostsScreen) and app.screen.loads >= 1)
        await pilot.press("3")
        depts = app.screen.query_one("#departments", KeyedTable)
        assert _cells(depts, "support")[3] == "100% ✖ OVER"  # $150 of 150
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard_screen)


async def test_theme_given_on_the_command_line_or_palette_is_remembered(
    data_dir: Path, clock: Any, tmp_path: Path
) -> None:
    from app_support import app_for

    settings_file = tmp_path / "settings.toml"
    app = app_for(data_dir, clock, theme=HIGH_CONTRAST_THEME)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == HIGH_CONTRAST_THEME
        assert load_settings(settings_file).theme == HIGH_CONTRAST_THEME
        app.apply_theme("werkpilot-light")
        assert load_settings(settings_file).theme == "werkpilot-light"
    app = app_for(data_dir, clock)  # next start: the remembered theme
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "werkpilot-light"


async def test_views_say_why_they_cannot_load_without_local_core_components() -> None:
    """The loading screen's "unavailable" branch, with the real fleet session (which has
    no costs view: it raises ``NotAvailableHere`` on the core thread)."""
    from core.config import load_config
    from werkpilot_tui.console.live import LiveFeed
    from werkpilot_tui.fleet.session import FleetSession

    app = Host(lambda: CostsScreen(refresh_s=None))
    app.session = FleetSession("http://127.0.0.1:9", config=load_config(None, env={}))
    app.feed = LiveFeed(app.session, lambda _d: None)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: bool(app._notifications))
            (note,) = list(app._notifications)
            assert "not available in fleet mode" in note.message and note.severity == "error"
            assert note.title == "Could not load"
            assert isinstance(app.screen, CostsScreen)  # still there; Escape goes back
    finally:
        app.feed.executor.shutdown(wait=False)
        app.session.close()


# ------------------------------------------------------------------ snapshots
def test_agent_detail_snapshot_dark_80x24(snap_compare: Any, data_dir: Path, clock: Any) -> None:
    from app_support import app_for, loaded, seed, wait_for

    seed(data_dir, clock)
    app = app_for(data_dir, clock, theme="werkpilot-dark")

    async def open_detail(pilot: Any) -> None:
        await loaded(pilot)
        app.open_agent_detail("ticket-triage")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AgentDetailScreen) and app.screen.loads >= 1
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_detail)


def test_costs_month_snapshot_high_contrast_80x24(
    snap_compare: Any, data_dir: Path, clock: Any
) -> None:
    from app_support import app_for, loaded, seed, wait_for

    seed(data_dir, clock)
    app = app_for(data_dir, clock, theme=HIGH_CONTRAST_THEME)

    async def open_costs(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CostsScreen) and app.screen.loads >= 1)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_costs)


async def test_closing_the_detail_screen_at_once_leaves_no_load_behind(
    data_dir: Path, clock: Any
) -> None:
    import gc
    import warnings

    from app_support import app_for, loaded, seed, wait_for

    seed(data_dir, clock)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with app_for(data_dir, clock).run_test(size=SIZE) as pilot:
            app = await loaded(pilot)
            for _ in range(3):
                app.open_agent_detail("lead-scorer")
                screen = app.screen
                assert isinstance(screen, AgentDetailScreen)
                screen.reload()  # replaced by the next one before it starts
                screen.reload()
                await pilot.press("escape")
                await wait_for(pilot, lambda: app.screen is app.dashboard_screen)
                loads = screen.loads
                screen.reload()  # a timer tick or DataChanged racing with the close
                await pilot.pause()
                assert screen.loads == loads and not screen.is_open
            await pilot.pause()
            assert not [n for n in app._notifications if n.title == "Could not load"]
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_alert_detail_fields_and_details_are_plain_values() -> None:
    from werkpilot_tui.console.screens.alert_detail import alert_fields
    from werkpilot_tui.console.view_models import AlertRow, alert_details

    data = {"agent": "a", "value": 0.125, "nested": {"x": 1}, "none": None, "ok": True}
    assert alert_details(data) == (
        ("agent", "a"),
        ("value", "0.125"),
        ("none", "—"),
        ("ok", "True"),
    )
    assert alert_details({str(i): i for i in range(20)}, limit=3) == (
        ("0", "0"),
        ("1", "1"),
        ("2", "2"),
    )
    assert alert_details(["not", "a", "dict"]) == ()
    t0 = 1_764_158_400_000  # 2025-11-26 12:00:00 UTC
    row = AlertRow(
        id="alert_1",
        timestamp_ms=t0,
        level="warning",
        type="error_rate",
        message="m",
        acknowledged=False,
        escalated=True,
        escalated_from=None,
        count=3,
        resolved=False,
        last_seen_ms=t0 + 90_000,
        details=(("agent", "a"),),
    )
    fields = dict(alert_fields(row, t0 + 120_000))
    assert fields["Raised"] == "2025-11-26 12:00:00 UTC (2m ago)"
    assert fields["Repeated"] == "3 times, last 2025-11-26 12:01:30 UTC (30s ago)"
    assert fields["Escalated"].startswith("yes") and fields["agent"] == "a"
    assert list(fields)[-1] == "Id"


async def test_agent_detail_shows_runs_the_guard_refused(core: Components, clock: Any) -> None:
    """A refused run (core.Refused) is counted apart and listed with its reason."""
    core.monitor.track_execution(
        AGENT,
        status="refused",
        department="sales",
        error="budget_exhausted: department 'sales' reached its hard cap of $1.00 this month",
    )

    async def load(window: str):
        return build_agent_detail(core.monitor, core.tracker, AGENT, window)

    app = Host(lambda: AgentDetailScreen(AGENT, load, refresh_s=None))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, AgentDetailScreen)
        await _until(pilot, lambda: screen.loads >= 1)
        summary = str(screen.query_one("#summary", Static).render())
        assert "5 runs" in summary and "1 error (20.0%)" in summary  # not a run, not an error
        assert "1 refused by the guard" in summary
        recent = screen.query_one("#recent", KeyedTable)
        newest = [str(c) for c in recent.get_row_at(0)]
        assert newest[1] == "⊘ refused"
        assert newest[6].startswith("budget_exhausted: department 'sales' reached its hard cap")


def test_the_agents_table_marks_an_agent_with_refused_runs() -> None:
    from werkpilot_tui.console.view_models import AgentRow, ThresholdsView
    from werkpilot_tui.console.widgets.agent_table import agent_cells
    from werkpilot_tui.console.widgets.palette import Palette

    row = AgentRow("a", "sales", 3, 0, 10, 0.1, None, refused=2)
    assert agent_cells(row, "24h", ThresholdsView(), 0, Palette())[2].plain.endswith("⊘")
    plain = AgentRow("a", "sales", 3, 0, 10, 0.1, None)
    assert "⊘" not in agent_cells(plain, "24h", ThresholdsView(), 0, Palette())[2].plain
