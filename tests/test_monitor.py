"""PerformanceMonitor: the seed's example, thresholds at their boundaries, sliding windows,
checkpoints, snapshots, export shape and the console seams — all with an injected clock."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.config import Config, RetentionConfig, ThresholdsConfig
from core.monitor import checkpoint
from core.monitor.performance import PerformanceMonitor
from core.records import Execution
from tests.conftest import FakeClock

WINDOW_KEYS = {"count", "errors", "errorRate", "avgDuration", "totalCost", "totalTokens"}
AGENT_KEYS = {
    "name",
    "executions",
    "errors",
    "errorRate",
    "avgDuration",
    "totalTokens",
    "totalCost",
    "totalCpuTime",
    "totalMemoryDelta",
    "totalApiCalls",
    "lastExecution",
    "windows",
    "refused",
}
SYSTEM_KEYS = {
    "uptime",
    "totalExecutions",
    "totalErrors",
    "errorRate",
    "totalCost",
    "executionsPerHour",
    "avgResponseTime",
    "agentCount",
    "windows",
    "systemHealth",
}


class RecordingAlerts:
    """Stands in for the AlertManager: records what the monitor asks of it."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str, dict[str, Any]]] = []
        self.resolved: list[tuple[str, dict[str, Any]]] = []

    def add_alert(self, level: str, type: str, message: str, data: Any = None) -> None:
        self.added.append((level, type, dict(data or {})))

    def resolve(self, type: str, **subject: Any) -> int:
        self.resolved.append((type, subject))
        return 0


@pytest.fixture
def alerts() -> RecordingAlerts:
    return RecordingAlerts()


@pytest.fixture
def monitor(data_dir: Path, clock: FakeClock, alerts: RecordingAlerts) -> PerformanceMonitor:
    return PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)


def _seed_example(monitor: PerformanceMonitor) -> None:
    monitor.track_execution(
        "agent-name",
        duration=1500,
        status="completed",
        tokens_used=1000,
        model="haiku",
        cost=0.001,
        cpu_time=500,
        memory_delta=1024,
        api_calls=2,
    )


def test_seed_usage_example(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    _seed_example(monitor)
    monitor.track_execution(
        "agent-name", {"duration": 2500, "status": "error", "tokensUsed": 3000, "cost": 0.002}
    )
    m = monitor.get_agent_metrics("agent-name")
    assert m is not None
    assert (m.executions, m.errors, m.error_rate) == (2, 1, 0.5)
    assert m.avg_duration == 2000.0
    assert m.total_tokens == 4000
    assert m.total_cost == 0.003  # not 0.0030000000000000005
    assert (m.total_cpu_time, m.total_memory_delta, m.total_api_calls) == (500.0, 1024, 2)
    assert m.last_execution == int(clock.now.timestamp() * 1000)
    assert m.windows["1h"].count == 2 and m.windows["7d"].total_cost == 0.003
    s = monitor.get_system_metrics()
    assert (s.total_executions, s.total_errors, s.agent_count) == (2, 1, 1)
    assert (s.executions_per_hour, s.avg_response_time) == (2, 2000.0)
    assert s.system_health.memory.total > 0
    assert monitor.get_agent_metrics("nobody") is None


def test_shapes_and_export(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    _seed_example(monitor)
    clock.advance(minutes=5)
    agent = monitor.get_agent_metrics("agent-name")
    assert agent is not None
    dumped = agent.model_dump(by_alias=True, mode="json")
    assert set(dumped) == AGENT_KEYS
    assert set(dumped["windows"]) == {"1h", "24h", "7d"}
    assert set(dumped["windows"]["1h"]) == WINDOW_KEYS
    system = monitor.get_system_metrics().model_dump(by_alias=True, mode="json")
    assert set(system) == SYSTEM_KEYS
    assert system["uptime"] == 5 * 60_000
    assert set(system["systemHealth"]) == {"cpu", "memory", "uptime"}
    assert set(system["systemHealth"]["cpu"]) == {"usage", "loadAvg"}
    assert set(system["systemHealth"]["memory"]) == {"total", "free", "used", "processUsage"}
    doc = json.loads(monitor.export_metrics())
    assert set(doc) == {"system", "agents", "timestamp"}
    assert doc["timestamp"] == int(clock.now.timestamp() * 1000)
    assert [set(a) for a in doc["agents"]] == [AGENT_KEYS]
    assert doc["agents"][0]["totalCost"] == 0.001


def test_bad_input_names_the_field_and_writes_nothing(
    monitor: PerformanceMonitor, data_dir: Path
) -> None:
    for kwargs, field in [
        ({"duration": -1}, "duration"),
        ({"status": "weird"}, "status"),
        ({"cost": float("nan")}, "cost"),
        ({"tokens_used": 1.5}, "tokens_used"),
        ({"colour": "red"}, "colour"),
        ({"duration": 1e300}, "duration"),  # beyond what the 64-bit window sums can hold
        ({"cost": 2e6}, "cost"),
    ]:
        with pytest.raises(ValidationError, match=field):
            monitor.track_execution("a", **kwargs)
    with pytest.raises(ValueError, match="agent"):
        monitor.track_execution("bad\x1bname")
    with pytest.raises(ValueError, match="timezone"):
        monitor.track_execution("a", timestamp=datetime(2026, 1, 1))
    assert not list(data_dir.glob("metrics/executions-*.jsonl"))
    assert monitor.list_agents() == []


def test_backfilled_timestamps_land_in_their_windows_and_days(
    monitor: PerformanceMonitor, clock: FakeClock, data_dir: Path
) -> None:
    now = clock.now
    monitor.track_execution("a", cost=1.0, timestamp=now - timedelta(days=3))
    monitor.track_execution(
        "a", cost=2.0, timestamp=int((now - timedelta(hours=2)).timestamp() * 1000)
    )
    monitor.track_execution("a", cost=4.0)
    m = monitor.get_agent_metrics("a")
    assert m is not None
    assert [m.windows[k].count for k in ("1h", "24h", "7d")] == [1, 2, 3]
    assert m.windows["24h"].total_cost == 6.0
    assert monitor.get_cost_today() == 6.0
    files = sorted(p.name for p in data_dir.glob("metrics/executions-*.jsonl"))
    assert files == ["executions-2026-11-23.jsonl", "executions-2026-11-26.jsonl"]


def test_windows_slide_with_injected_time(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    monitor.track_execution("a", duration=100)
    clock.advance(minutes=30)
    monitor.track_execution("a", duration=300)
    clock.advance(minutes=30)  # the first is exactly an hour old: out (now - 1h < ts is false)
    m = monitor.get_agent_metrics("a")
    assert m is not None
    assert (m.windows["1h"].count, m.windows["1h"].avg_duration) == (1, 300.0)
    assert m.windows["24h"].count == 2
    clock.advance(minutes=30)
    assert monitor.get_system_metrics().executions_per_hour == 0
    clock.advance(days=7)
    m = monitor.get_agent_metrics("a")
    assert m is not None
    assert [m.windows[k].count for k in ("1h", "24h", "7d")] == [0, 0, 0]
    assert m.executions == 2  # totals since the beginning stay


def _run(monitor: PerformanceMonitor, agent: str, ok: int, failed: int, **kw: Any) -> None:
    for _ in range(ok):
        monitor.track_execution(agent, **kw)
    for _ in range(failed):
        monitor.track_execution(agent, status="failed", **kw)


def _levels(alerts: RecordingAlerts, type_: str) -> list[str]:
    return [level for level, t, _ in alerts.added if t == type_]


def test_error_rate_needs_more_than_ten_executions(
    monitor: PerformanceMonitor, alerts: RecordingAlerts
) -> None:
    _run(monitor, "a", ok=0, failed=10)  # 100% errors but only 10 executions
    assert _levels(alerts, "error_rate") == []
    _run(monitor, "a", ok=1, failed=0)  # 11 executions, 10 errors: critical
    assert _levels(alerts, "error_rate") == ["critical"]
    _, _, data = alerts.added[0]
    assert data["agent"] == "a" and data["value"] == 10 / 11 and data["threshold"] == 0.25


def test_error_rate_boundaries_ten_percent_and_a_quarter(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    monitor = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    _run(monitor, "ten", ok=900, failed=100)  # exactly 10.0%: fine
    assert _levels(alerts, "error_rate") == []
    _run(monitor, "ten", ok=0, failed=1)  # 101/1001 = 10.09%
    assert _levels(alerts, "error_rate") == ["warning"]
    _run(monitor, "quarter", ok=30, failed=10)  # exactly 25%: a warning, not critical
    assert _levels(alerts, "error_rate") == ["warning", "warning"]
    _run(monitor, "quarter", ok=0, failed=1)  # 11/41 = 26.8%: critical; the warning resolved
    assert _levels(alerts, "error_rate") == ["warning", "warning", "critical"]
    assert ("error_rate", {"agent": "quarter"}) in alerts.resolved


def test_error_rate_alert_resolves_when_it_clears(
    monitor: PerformanceMonitor, alerts: RecordingAlerts, clock: FakeClock
) -> None:
    _run(monitor, "a", ok=9, failed=2)  # 2/11 = 18%: warning
    assert _levels(alerts, "error_rate") == ["warning"]
    _run(monitor, "a", ok=5, failed=0)  # 2/16 = 12.5%: still; not repeated within a minute
    assert _levels(alerts, "error_rate") == ["warning"]
    clock.advance(minutes=2)
    _run(monitor, "a", ok=1, failed=0)  # 2/17 = 11.8%: repeated (the manager dedups it)
    assert _levels(alerts, "error_rate") == ["warning", "warning"]
    _run(monitor, "a", ok=4, failed=0)  # 2/21 = 9.5%: under 10 % but not clearly (hysteresis)
    assert alerts.resolved == []
    _run(monitor, "a", ok=2, failed=0)  # 2/23 = 8.7%: more than 10 % under the threshold
    assert alerts.resolved == [("error_rate", {"agent": "a"})]


def test_a_response_time_at_the_threshold_does_not_flap(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    """Averages either side of 30 s for ten minutes: one alert, held, not six raise/resolve
    pairs; it resolves once the average is clearly (10 %) below the threshold."""
    monitor = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    for i in range(40):
        monitor.track_execution("edge", duration=30_400 if i % 2 == 0 else 29_600)
        clock.advance(seconds=15)
    assert alerts.resolved == []
    assert set(_levels(alerts, "response_time")) == {"warning"}
    for _ in range(10):
        monitor.track_execution("edge", duration=26_000)  # average 29.3 s: still held
    assert alerts.resolved == []
    for _ in range(60):
        monitor.track_execution("edge", duration=20_000)  # average ~24 s: clearly below 27 s
    assert alerts.resolved == [("response_time", {"agent": "edge"})]


def test_hysteresis_is_configurable_and_zero_means_none(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    cfg = Config(thresholds=ThresholdsConfig(hysteresis=0))
    monitor = PerformanceMonitor(data_dir, config=cfg, clock=clock, alert_manager=alerts)
    for i in range(4):
        monitor.track_execution("edge", duration=30_400 if i % 2 == 0 else 29_400)
    assert len(alerts.resolved) == 2  # the flapping the default margin prevents
    with pytest.raises(ValidationError):
        ThresholdsConfig(hysteresis=1)


def test_a_fresh_checker_keeps_an_alert_whose_value_is_inside_the_margin(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    """``check`` from cron knows no earlier breach: a value just under the threshold is
    not clearly clear, so it leaves another process's alert open."""
    writer = PerformanceMonitor(data_dir, clock=clock, alert_manager=RecordingAlerts())
    _run(writer, "band", ok=181, failed=19)  # 9.5 %: between 9 % and 10 %
    _run(writer, "clear", ok=189, failed=11)  # 5.5 %: clearly below
    checker = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    assert checker.check_thresholds() == []
    assert ("error_rate", {"agent": "band"}) not in alerts.resolved
    assert ("error_rate", {"agent": "clear"}) in alerts.resolved


def test_response_time_warning_above_thirty_seconds(
    monitor: PerformanceMonitor, alerts: RecordingAlerts, clock: FakeClock
) -> None:
    monitor.track_execution("slow", duration=30_000)  # exactly 30 s: fine
    assert _levels(alerts, "response_time") == []
    monitor.track_execution("slow", duration=30_002)  # average 30.001 s
    assert _levels(alerts, "response_time") == ["warning"]
    assert alerts.added[-1][2]["value"] == 30_001.0
    clock.advance(hours=1)  # the 1h window slides past both
    monitor.track_execution("slow", duration=10)
    assert alerts.resolved == [("response_time", {"agent": "slow"})]


def test_daily_budget_is_critical_above_the_budget(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    cfg = Config(thresholds=ThresholdsConfig(daily_budget=1.0))
    monitor = PerformanceMonitor(data_dir, config=cfg, clock=clock, alert_manager=alerts)
    for _ in range(10):
        monitor.track_execution("a", cost=0.1)  # exactly $1.00 (no float drift): fine
    assert _levels(alerts, "daily_budget") == []
    monitor.track_execution("b", cost=0.000000001)  # one nano-dollar over
    assert _levels(alerts, "daily_budget") == ["critical"]
    assert alerts.added[-1][2]["threshold"] == 1.0
    clock.advance(days=1)  # a new UTC day
    monitor.track_execution("a", cost=0.1)
    assert ("daily_budget", {}) in alerts.resolved


def test_check_thresholds_evaluates_every_agent_once(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    writer = PerformanceMonitor(data_dir, clock=clock, alert_manager=RecordingAlerts())
    _run(writer, "bad", ok=5, failed=10)
    _run(writer, "good", ok=20, failed=0)
    checker = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    breaches = checker.check_thresholds()
    assert [(b.type, b.level, b.agent) for b in breaches] == [("error_rate", "critical", "bad")]
    assert ("error_rate", {"agent": "good"}) in alerts.resolved  # clears others' alerts too
    assert ("daily_budget", {}) in alerts.resolved
    checker.check_thresholds()  # a second run re-asserts the open breach
    assert _levels(alerts, "error_rate") == ["critical", "critical"]


def test_with_the_real_alert_manager(data_dir: Path, clock: FakeClock) -> None:
    from core.alerts.manager import AlertManager

    manager = AlertManager(data_dir, clock=clock, channels=[])
    monitor = PerformanceMonitor(data_dir, clock=clock, alert_manager=manager)
    _run(monitor, "a", ok=8, failed=4)
    open_alerts = manager.get_alerts(type="error_rate")
    assert [(a.level, a.data["agent"]) for a in open_alerts] == [("critical", "a")]
    _run(monitor, "a", ok=40, failed=0)
    assert manager.get_alerts(type="error_rate")[0].resolved
    manager.close()


def test_an_acknowledged_critical_stays_acknowledged_while_the_condition_continues(
    data_dir: Path, clock: FakeClock
) -> None:
    """The monitor repeats a breach every minute; before, the first repeat after an
    acknowledgement opened a new critical (issue 12, item 8)."""
    from core.alerts.manager import AlertManager

    manager = AlertManager(data_dir, clock=clock, channels=[])
    monitor = PerformanceMonitor(data_dir, clock=clock, alert_manager=manager)
    _run(monitor, "a", ok=8, failed=4)
    [alert] = manager.get_alerts(type="error_rate")
    assert alert.level == "critical" and manager.acknowledge_alert(alert.id)
    for _ in range(10):
        clock.advance(minutes=1)
        _run(monitor, "a", ok=0, failed=1)
        monitor.check_thresholds()
    [still] = manager.get_alerts(type="error_rate")
    assert still.id == alert.id and still.acknowledged and still.count > 10
    assert manager.get_alert_stats("1h").unacknowledged == 0
    _run(monitor, "a", ok=200, failed=0)  # clearly clear: resolved
    assert manager.get_alert(alert.id).resolved
    _run(monitor, "a", ok=0, failed=100)  # a new breach needs a human again
    fresh = [a for a in manager.get_alerts(type="error_rate") if not a.resolved]
    assert len(fresh) == 1 and fresh[0].id != alert.id and not fresh[0].acknowledged
    manager.close()


def test_other_processes_records_are_seen_and_never_double_counted(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    a = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    b = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    a.track_execution("x", cost=0.1)
    b.track_execution("y", cost=0.2)  # b's reader has not seen a's line: catches up
    a.track_execution("x", cost=0.1)  # a's reader has not seen b's line: catches up
    for _ in range(3):
        a.track_execution("x", cost=0.1)  # nobody in between: offset advanced in memory
    for m in (a, b):
        s = m.get_system_metrics()
        assert (s.total_executions, s.total_cost) == (6, 0.7)
        assert m.list_agents() == ["x", "y"]


def _figures(m: PerformanceMonitor) -> Any:
    return (
        m.get_system_metrics().model_dump(exclude={"system_health", "uptime"}),
        [a.model_dump() for a in m.get_all_agent_metrics()],
        m.get_cost_today(),
        m.get_agent_departments(),
        [e.model_dump() for e in m.get_recent_executions("a", limit=5)],
    )


def _history(m: PerformanceMonitor, clock: FakeClock) -> None:
    for i in range(300):
        m.track_execution(
            "a" if i % 3 else "b",
            duration=10.0 * i,
            status="error" if i % 7 == 0 else "completed",
            cost=0.0001 * i,
            tokens_used=i,
            department="sales" if i % 2 else "support",
            timestamp=clock.now - timedelta(minutes=30 * i),
        )


def test_restart_from_checkpoint_equals_rebuild(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    first = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    _history(first, clock)
    expected = _figures(first)
    first.save_checkpoint()
    cp = data_dir / checkpoint.PATH
    assert cp.is_file()
    assert checkpoint.load(first.journal) is not None
    assert _figures(PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)) == expected
    cp.write_bytes(cp.read_bytes()[:-7])  # corrupt (truncated)
    assert checkpoint.load(first.journal) is None
    assert not cp.exists()  # discarded, so the next process does not trip over it again
    cp.write_bytes(b"\x00damaged")
    rebuilt = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    assert _figures(rebuilt) == expected
    rebuilt.close()  # waits for the background write of the rebuilt checkpoint
    assert checkpoint.load(first.journal) is not None
    cp.unlink()
    fresh = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    assert _figures(fresh) == expected
    fresh.close()  # waits for the background write
    assert cp.is_file()  # a cold rebuild leaves a checkpoint for the next process


def test_checkpoint_then_new_lines_are_tailed(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    first = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    _history(first, clock)
    first.save_checkpoint()
    other = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    other.track_execution("a", cost=1.0, department="ops")
    expected = _figures(other)
    again = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    assert _figures(again) == expected


def test_stale_checkpoint_is_ignored(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    first = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    _history(first, clock)
    first.save_checkpoint()
    expected = _figures(first)
    # rewrite a day file in place with the same content: a new inode the checkpoint never saw
    day_file = sorted(data_dir.glob("metrics/executions-*.jsonl"))[-1]
    copy = day_file.with_name("copy.tmp")
    copy.write_bytes(day_file.read_bytes())  # allocated while the old inode is alive
    copy.replace(day_file)
    assert checkpoint.load(first.journal) is None
    assert _figures(PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)) == expected


def test_snapshots_hourly_and_pruned(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    cfg = Config(retention=RetentionConfig(snapshots=168))
    monitor = PerformanceMonitor(data_dir, config=cfg, clock=clock, alert_manager=alerts)
    monitor.track_execution("a")
    assert list(data_dir.glob("metrics/snapshot-*.json")) == []  # first one due after an hour
    clock.advance(minutes=59)
    assert monitor.maybe_save_snapshot() is None
    clock.advance(minutes=1)
    monitor.track_execution("a")  # the hot path saves when due
    snaps = sorted(data_dir.glob("metrics/snapshot-*.json"))
    assert [p.name for p in snaps] == ["snapshot-2026-11-26T13-00-00.json"]
    doc = json.loads(snaps[0].read_text())
    assert doc["system"]["totalExecutions"] == 2
    other = PerformanceMonitor(data_dir, config=cfg, clock=clock, alert_manager=alerts)
    clock.advance(minutes=30)
    assert other.maybe_save_snapshot() is None  # another process's snapshot counts
    for _ in range(170):
        clock.advance(hours=1)
        assert monitor.maybe_save_snapshot() is not None
    snaps = sorted(data_dir.glob("metrics/snapshot-*.json"))
    assert len(snaps) == 168
    assert snaps[-1].name == f"snapshot-{clock.now:%Y-%m-%dT%H-%M-%S}.json"


def test_console_seams(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    start = clock.now
    for i in range(6):
        monitor.track_execution(
            "a", duration=100.0 * (i + 1), cost=0.5, department="sales" if i < 5 else "ops"
        )
        clock.advance(hours=1)
    monitor.track_execution("b", timestamp=start - timedelta(days=1))  # backfilled
    assert monitor.list_agents() == ["a", "b"]
    assert monitor.get_agent_departments() == {"a": "ops"}
    recent = monitor.get_recent_executions("a", limit=2)
    assert [e.duration for e in recent] == [600.0, 500.0]
    assert all(isinstance(e, Execution) for e in recent)
    series = monitor.get_agent_series("a", window="24h", points=24)
    # slices are (lo, hi]: the run at now - 6h closes the slice ending then
    assert series.executions == [0] * 17 + [1] * 6 + [0]
    assert series.avg_duration[-7:] == [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 0.0]
    assert sum(series.cost) == 3.0
    with pytest.raises(ValueError, match="window"):
        monitor.get_agent_series("a", window="2h")


def test_timestamps_are_epoch_ms(monitor: PerformanceMonitor) -> None:
    when = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    rec = monitor.track_execution("a", timestamp=when)
    assert rec.timestamp == int(when.timestamp() * 1000)
    assert rec.host and rec.pid


def test_track_execution_does_not_read_its_own_line_back(
    monitor: PerformanceMonitor, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monitor.track_execution("a")  # a new day file: read once to learn its offset
    past = time.time_ns() - 10**9  # as if the file had been created a second ago
    os.utime(data_dir / "metrics", ns=(past, past))
    monitor.refresh()
    calls: list[int] = []
    original = monitor._reader.files  # every catch-up starts by listing the day files

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(monitor._reader, "files", counting)
    for _ in range(5):
        monitor.track_execution("a", cost=0.5)
    m = monitor.get_agent_metrics("a")  # nothing new on disk: only a few stat calls
    assert calls == []
    assert m is not None and (m.executions, m.total_cost) == (6, 2.5)
    monitor.journal.append("executions", Execution(timestamp=m.last_execution or 0, agent="b"))
    assert monitor.list_agents() == ["a", "b"]  # someone else's line: caught up
    assert calls == [1]


def test_host_health_is_sampled_at_most_once_a_second(clock: FakeClock) -> None:
    from core.monitor.health import HealthCache

    cache = HealthCache(clock)
    first = cache.get()
    clock.advance(milliseconds=999)
    assert cache.get() is first
    clock.advance(milliseconds=1)
    second = cache.get()
    assert second is not first
    assert second.memory.total == second.memory.used + second.memory.free
    assert len(second.cpu.load_avg) == 3 and second.uptime > 0


def test_malformed_lines_stay_known_across_a_checkpoint(
    data_dir: Path, clock: FakeClock, alerts: RecordingAlerts
) -> None:
    first = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    first.track_execution("a")
    path = next(data_dir.glob("metrics/executions-*.jsonl"))
    with path.open("ab") as fh:
        fh.write(b'not json\n{"timestamp": 5, "agent": ""}\n')
    first.track_execution("a")
    assert [p.line for p in first.journal.problems] == [2, 3]
    first.save_checkpoint()
    fresh = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
    assert fresh.get_agent_metrics("a").executions == 2  # type: ignore[union-attr]
    assert [(p.path.name, p.line) for p in fresh.journal.problems] == [
        (path.name, 2),
        (path.name, 3),
    ]
