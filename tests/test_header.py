"""Pilot tests of the health header: worst alert level, fixed widths, the error-rate rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_support import FROZEN_HOST, app_for, loaded, seed, wait_for
from rich.cells import cell_len
from rich.text import Text

from core.alerts.manager import AlertManager
from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.view_models import HostHealth
from werkpilot_tui.console.widgets.health_header import HealthHeader


def _style_at(text: Text, needle: str) -> Any:
    start = text.plain.index(needle)
    styles = [s.style for s in text.spans if s.start <= start < s.end]
    return styles[-1] if styles else None


async def test_open_alerts_show_the_worst_level_first_with_counts(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    for i in range(3):
        alerts.add_alert(level="warning", type=f"custom_{i}", message="more", data={"n": i})
    alerts.close()
    async with app_for(data_dir, clock).run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        latest = app.latest
        assert latest is not None
        crit = latest.health.open_alerts["critical"]
        warn = latest.health.open_alerts["warning"]
        assert crit >= 1 and warn >= 4
        header = app.screen.query_one(HealthHeader)
        text = header.render()
        assert f"open alerts ✖ {crit} crit ▲ {warn} warn" in header.text
        assert _style_at(text, f"✖ {crit} crit") == app.palette.critical
        assert _style_at(text, f"▲ {warn} warn") == app.palette.warning


async def test_header_keeps_one_line_per_row_at_80x24_whatever_the_cpu(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    host = [FROZEN_HOST]
    async with app_for(data_dir, clock, health=lambda: host[0]).run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        header = app.screen.query_one(HealthHeader)
        agents_top = app.screen.query_one("#agents-pane").region.y
        widths = set()
        for cpu in (0.0, 5.0, 100.0, None):
            host[0] = HostHealth(cpu, FROZEN_HOST.memory_used, FROZEN_HOST.memory_total)
            app.refresh_data()
            want = "CPU —" if cpu is None else f"CPU {cpu:.0f}%"
            await wait_for(pilot, lambda want=want: want in header.text)  # type: ignore[misc]
            await pilot.pause()
            lines = header.text.split("\n")
            assert len(lines) == 2 and header.size.height == 2
            assert all(cell_len(line) <= header.content_size.width for line in lines)
            assert app.screen.query_one("#agents-pane").region.y == agents_top
            widths.add(lines[1].index("mem"))
        assert len(widths) == 1  # the figures after CPU never move


async def test_error_rate_is_not_alarming_below_min_executions(data_dir: Path, clock: Any) -> None:
    monitor = PerformanceMonitor(data_dir, clock=clock)
    for status in ("error", "completed", "completed"):  # 33 % of 3 runs: no alert can fire
        monitor.track_execution("few-runs", duration=100, status=status)
    monitor.close()
    async with app_for(data_dir, clock).run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        header = app.screen.query_one(HealthHeader)
        assert "err 1h 33.3%" in header.text
        assert _style_at(header.render(), "33.3%") != app.palette.critical
        monitor = PerformanceMonitor(data_dir, clock=clock)
        for _ in range(9):  # 10 errors of 12 runs: above min_executions, above critical
            monitor.track_execution("few-runs", duration=100, status="error")
        monitor.close()
        app.refresh_data()
        await wait_for(pilot, lambda: "err 1h ✖ 83.3%" in header.text)
        assert _style_at(header.render(), "✖ 83.3%") == app.palette.critical
