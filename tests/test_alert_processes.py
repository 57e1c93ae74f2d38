"""Alert decisions across real processes: acknowledge-once, escalate-once, dedup-once."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.alerts.manager import AlertManager
from core.clock import from_ms, to_ms
from core.journal.store import Journal
from core.records import AlertEvent
from tests.conftest import FakeClock

pytestmark = pytest.mark.slow
WORKERS = 2
ROUNDS = 5


def _acknowledge_and_escalate(
    data_dir: str, now_ms: int, ack_ids: list[str], barrier: Any, results: Any
) -> None:
    manager = AlertManager(data_dir, clock=lambda: from_ms(now_ms))
    barrier.wait(30)
    created: list[str] = []
    for _ in range(ROUNDS):
        for alert_id in ack_ids:
            assert manager.acknowledge_alert(alert_id)
        created += [a.escalated_from or "" for a in manager.check_escalations()]
    acked = [manager.get_alert(alert_id).acknowledged for alert_id in ack_ids]
    results.put((created, acked))
    manager.close()


def _repeat(data_dir: str, now_ms: int, worker: int, barrier: Any, results: Any) -> None:
    manager = AlertManager(data_dir, clock=lambda: from_ms(now_ms))
    barrier.wait(30)
    new = 0
    for i in range(50):
        data = {"agent": "shared", "errorRate": 0.2 + i / 1000, "worker": worker}
        if manager.add_alert("warning", "error_rate", f"rate {i}", data) is not None:
            new += 1
    results.put(new)
    manager.close()


def _run(target: Any, args_for: Any) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(*args_for(i), barrier, results)) for i in range(WORKERS)
    ]
    for p in procs:
        p.start()
    out = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return out


def _events(data_dir: Path) -> list[AlertEvent]:
    return Journal(data_dir).reader("alerts", AlertEvent.model_validate_json).poll()


def test_two_processes_acknowledge_and_escalate_concurrently(
    data_dir: Path, clock: FakeClock
) -> None:
    manager = AlertManager(data_dir, clock=clock)
    to_escalate = [
        manager.add_alert("warning", "error_rate", "e", {"agent": f"e{i}"}).id for i in range(3)
    ]
    to_ack = [
        manager.add_alert("warning", "error_rate", "a", {"agent": f"a{i}"}).id for i in range(3)
    ]
    later = to_ms(clock() + timedelta(hours=2))

    out = _run(_acknowledge_and_escalate, lambda i: (str(data_dir), later, to_ack))

    escalated_from = [src for created, _ in out for src in created]
    assert sorted(escalated_from) == sorted(to_escalate)  # exactly one each, none for acked
    assert all(all(acked) for _, acked in out)  # both processes see every acknowledgement
    kinds = Counter((e.event, e.alert_id) for e in _events(data_dir))
    assert all(kinds[("acknowledged", a)] == 1 for a in to_ack)
    assert all(kinds[("escalated", w)] == 1 for w in to_escalate)
    clock.advance(hours=2)
    manager.refresh()
    assert len(manager.get_alerts(level="critical")) == 3
    assert all(manager.get_alert(a).acknowledged for a in to_ack)
    manager.close()


def test_two_processes_raising_one_condition_open_one_alert(
    data_dir: Path, clock: FakeClock
) -> None:
    now = to_ms(clock())
    out = _run(_repeat, lambda i: (str(data_dir), now, i))
    assert sum(out) == 1
    manager = AlertManager(data_dir, clock=clock)
    (alert,) = manager.get_alerts()
    assert alert.count == 100
    manager.close()
