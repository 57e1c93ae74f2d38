"""The demo fleet: valid records written through core, alerts, budgets near their limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.alerts.manager import AlertManager
from core.costs.ledger import CostTracker
from core.journal.store import Journal
from core.monitor.performance import PerformanceMonitor
from core.records import CostEntry, Execution
from werkpilot_tui.demo import BUDGET_TARGETS, FLEET, DemoFleet, running_fleet, start_demo

REPO = Path(__file__).resolve().parent.parent


def _read_all(data_dir: Path, kind: str, model: Any) -> list[Any]:
    journal = Journal(data_dir)
    records = journal.reader(kind, model.model_validate_json).poll()
    assert journal.problem_count == 0, journal.problems
    journal.close()
    return records


@pytest.fixture
def backfilled(data_dir: Path, clock: Any) -> DemoFleet:
    fleet = DemoFleet(data_dir, seed=7, clock=clock, backfill_days=2, quiet=True)
    fleet.backfill()
    clock.advance(seconds=30)
    fleet.step(40)
    fleet.close()
    return fleet


def test_demo_writes_valid_executions_and_costs_through_core(
    backfilled: DemoFleet, data_dir: Path, clock: Any
) -> None:
    executions = _read_all(data_dir, "executions", Execution)
    costs = _read_all(data_dir, "ledger", CostEntry)
    assert len(executions) == backfilled.written > 100
    assert {e.agent for e in executions} == {a.name for a in FLEET}
    assert {e.department for e in executions} == set(BUDGET_TARGETS)
    assert {e.model for e in executions} >= {
        "claude-3-5-haiku-20241022",
        "claude-sonnet-4-5",
        "claude-opus-4-1",
        "haiku",
        "sonnet",
    }
    assert any(e.is_error for e in executions) and any(e.duration > 30_000 for e in executions)
    now_ms = int(clock().timestamp() * 1000)
    assert all(e.timestamp <= now_ms for e in executions)
    assert min(e.timestamp for e in executions) < now_ms - 24 * 3_600_000  # history
    # Every execution has its cost entry with the same amount (as core.track writes them).
    assert sum(e.cost for e in executions) == pytest.approx(
        sum(c.cost for c in costs if not c.agent.endswith("-nightly-batch"))
    )
    monitor = PerformanceMonitor(data_dir, clock=clock)
    assert monitor.get_system_metrics().total_executions == len(executions)
    assert monitor.get_agent_departments()["ticket-triage"] == "support"
    monitor.close()


def test_demo_raises_alerts_and_puts_departments_near_their_budgets(
    backfilled: DemoFleet, data_dir: Path, clock: Any
) -> None:
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    tracker = CostTracker(data_dir, clock=clock, alert_manager=alerts)
    raised = alerts.get_alerts(limit=500)
    types = {a.type for a in raised}
    assert "error_rate" in types  # ticket-triage fails often
    assert types & {"budget_info", "budget_warning", "budget_exceeded"}
    used = {f.department: f.budget_used for f in tracker.get_budget_forecast()}
    assert set(used) >= set(BUDGET_TARGETS)
    assert any(u >= 75 for u in used.values())
    for dept, target in BUDGET_TARGETS.items():
        assert target * 100 <= used[dept] <= target * 100 + 15, (dept, used[dept])
    tracker.close()
    alerts.close()


def test_same_seed_same_fleet(data_dir: Path, tmp_path: Path, clock: Any) -> None:
    def run(path: Path) -> list[tuple[str, float, str]]:
        fleet = DemoFleet(path, seed=3, clock=clock, backfill_days=1)
        fleet.step(25)
        fleet.close()
        return [(e.agent, e.duration, e.status) for e in _read_all(path, "executions", Execution)]

    assert run(data_dir) == run(tmp_path / "again")


def test_started_fleet_writes_in_the_background_and_stops_cleanly(data_dir: Path) -> None:
    fleet = DemoFleet(data_dir, seed=1, rate=2000.0)
    fleet.start(backfill=False)
    assert fleet.wait_written(30, timeout=20)
    thread = fleet._thread
    fleet.stop()
    assert thread is not None and not thread.is_alive()
    assert fleet.error is None
    written = fleet.written
    assert len(_read_all(data_dir, "executions", Execution)) == written


def test_running_fleet_backfills_a_temporary_dir_and_removes_it() -> None:
    with running_fleet(rate=50.0, seed=2, backfill_days=1) as data_dir:
        monitor = PerformanceMonitor(data_dir)
        # The history is written in the background (the console paints meanwhile).
        deadline = time.monotonic() + 30
        while len(monitor.list_agents()) < len(FLEET) and time.monotonic() < deadline:
            time.sleep(0.05)
            monitor.refresh()
        assert len(monitor.list_agents()) == len(FLEET)
        assert (data_dir / "metrics").is_dir() and (data_dir / "costs").is_dir()
        monitor.close()
    assert not data_dir.exists()


def test_start_demo_skips_the_backfill_on_a_dir_with_history(data_dir: Path, clock: Any) -> None:
    first = start_demo(data_dir, seed=5, clock=clock, rate=0.001, backfill_days=1, quiet=True)
    first.stop()
    before = first.written
    second = start_demo(data_dir, seed=5, clock=clock, rate=0.001, backfill_days=1)
    second.stop()
    assert before > 0 and second.written == 0


def test_rate_must_be_positive(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="rate"):
        DemoFleet(data_dir, rate=0)


def test_module_runs_alone_until_interrupted(data_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "werkpilot_tui.demo", str(data_dir), "--rate", "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert "demo fleet writing into" in proc.stdout.readline()  # after the backfill
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "wrote" in out
    assert len(_read_all(data_dir, "executions", Execution)) > 100


def test_running_fleet_cleans_up_when_the_fleet_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from core.config import ConfigError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ConfigError), running_fleet(config=tmp_path / "missing.toml"):
        pass
    assert not list(tmp_path.glob("werkpilot-demo-*"))


def test_stopping_during_a_background_backfill_ends_it(data_dir: Path) -> None:
    fleet = DemoFleet(data_dir, seed=4, rate=0.001, quiet=True)
    fleet.start(background=True)
    assert fleet.wait_written(5, timeout=20)
    thread = fleet._thread
    fleet.stop()
    assert thread is not None and not thread.is_alive() and fleet.error is None
    assert fleet.written < 1000  # a full week is about 1,200 executions
