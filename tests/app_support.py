"""Helpers for the console tests: seeded data directories and bounded waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.alerts.manager import AlertManager
from core.costs.ledger import CostTracker
from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.app import WerkpilotApp, make_app
from werkpilot_tui.console.view_models import HostHealth

FROZEN_HOST = HostHealth(cpu_percent=12.0, memory_used=3 * 2**30, memory_total=8 * 2**30)

#: (agent, department, model, runs, errors, duration ms, cost per run)
FLEET: tuple[tuple[str, str, str, int, int, float, float], ...] = (
    ("lead-scorer", "sales", "claude-sonnet-4-5", 24, 1, 1800.0, 0.012),
    ("email-writer", "marketing", "claude-haiku-4-5", 40, 8, 950.0, 0.002),
    ("ticket-triage", "support", "claude-3-5-haiku", 14, 5, 41_000.0, 0.004),
    ("invoice-bot", "operations", "claude-opus-4-1", 6, 0, 5200.0, 0.090),
)

#: (department, input tokens, output tokens) on claude-opus-4-1 ($15 / $75 per 1M)
BIG_SPENDS = (
    ("sales", 10_000_000, 2_000_000),  # $300 of 500
    ("marketing", 8_000_000, 2_000_000),  # $270 of 300
    ("support", 4_000_000, 1_200_000),  # $150 of 150
    ("operations", 6_000_000, 800_000),  # $150 of 200
)


def seed(data_dir: Path, clock: Any, fleet: tuple[tuple[Any, ...], ...] = FLEET) -> dict[str, Any]:
    """Write a small fleet through core: executions, cost entries, one alert per level."""
    start = clock()
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    monitor = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    tracker = CostTracker(data_dir, clock=clock, alert_manager=alerts)
    for agent, dept, model, runs, errors, duration, cost in fleet:
        for i in range(runs):
            ts = start - timedelta(minutes=5 + (i * 90) // runs)  # spread over ~1.5 h
            monitor.track_execution(
                agent,
                duration=duration,
                status="error" if i < errors else "completed",
                tokens_used=1000,
                model=model,
                department=dept,
                cost=cost,
                timestamp=ts,
            )
            tracker.track_cost(
                agent, dept, model=model, input_tokens=600, output_tokens=400, timestamp=ts
            )
    for dept, tokens_in, tokens_out in BIG_SPENDS:  # month spend at 60/90/100/75 % of budget
        tracker.track_cost(
            f"{dept}-batch",
            dept,
            model="claude-opus-4-1",
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            timestamp=start - timedelta(hours=2),
        )
    warning = alerts.add_alert(
        level="warning",
        type="custom_check",
        message="Queue depth above 100",
        data={"agent": "lead-scorer", "value": 130},
    )
    critical = alerts.add_alert(
        level="critical",
        type="custom_outage",
        message="Provider returned 529 overloaded",
        data={"model": "claude-opus-4-1"},
    )
    ids = {
        "warning": warning.id if warning else None,
        "critical": critical.id if critical else None,
    }
    for c in (monitor, tracker, alerts):
        c.close()
    return ids


def app_for(data_dir: Path, clock: Any, **kwargs: Any) -> WerkpilotApp:
    kwargs.setdefault("watch", False)
    kwargs.setdefault("health", lambda: FROZEN_HOST)
    return make_app(data_dir=data_dir, clock=clock, **kwargs)


async def wait_for(pilot: Any, condition: Callable[[], bool], tries: int = 750) -> None:
    """Let the app run until ``condition()`` holds (bounded: fails after ``tries`` pauses)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not met while the app ran")


async def loaded(pilot: Any) -> WerkpilotApp:
    app: WerkpilotApp = pilot.app
    await wait_for(pilot, lambda: app.latest is not None and bool(app.latest.agents))
    await wait_for(pilot, lambda: app.screen is app.dashboard_screen)  # start-up screen gone
    await pilot.pause()
    return app
