"""An agent's threads sharing one tracker and monitor lose and double nothing, and a child
forked while one of them records can record (core/serial.py): runs recorded by four threads
while a fifth reads, hammered with a thread switch every microsecond."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from core.costs.ledger import CostTracker
from core.monitor.performance import PerformanceMonitor

WRITERS, CALLS = 4, 1500


@pytest.fixture(autouse=True)
def _switch_often() -> object:
    """Thread switches every few microseconds, so one thread's catch-up lands inside
    another's append and claim."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _hammer(write: object, read: object) -> None:
    stop = threading.Event()
    failed: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                read()  # type: ignore[operator]
            except BaseException as exc:
                failed.append(exc)
                raise

    def writer(n: int) -> None:
        for i in range(CALLS):
            write(n, i)  # type: ignore[operator]

    r = threading.Thread(target=reader)
    r.start()
    ws = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    stop.set()
    r.join()
    assert not failed


def test_a_shared_tracker_and_monitor_count_every_threads_record(tmp_path: Path) -> None:
    """``core.track`` from 4 threads on one tracker and monitor while a fifth reads: every
    run is counted once, as a cold start from the files counts them. Before each public
    method held the component's lock, a catch-up racing another thread's claim counted lines
    twice (6,002 to 539,006 executions for these 6,000)."""
    import core

    monitor, tracker = PerformanceMonitor(tmp_path), CostTracker(tmp_path)
    agents = [f"agent-{n}" for n in range(WRITERS)]

    def write(n: int, i: int) -> None:
        with core.track(
            agents[n], department="sales", model="claude-sonnet-4-5", monitor=monitor,
            tracker=tracker,
        ) as run:  # fmt: skip
            run.record_usage(input_tokens=10, output_tokens=5)

    def read() -> None:
        tracker.get_monthly_cost_report()
        for name in agents:
            tracker.get_agent_cost(name)
        monitor.get_all_agent_metrics()

    _hammer(write, read)
    total = WRITERS * CALLS
    assert sum(m.executions for m in monitor.get_all_agent_metrics()) == total
    costs = [tracker.get_agent_cost(name) for name in agents]
    assert sum(a.executions for a in costs if a is not None) == total
    cold_monitor, cold = PerformanceMonitor(tmp_path), CostTracker(tmp_path)
    assert [cold.get_agent_cost(name) for name in agents] == costs
    assert cold.get_monthly_cost_report() == tracker.get_monthly_cost_report()
    assert [m.executions for m in cold_monitor.get_all_agent_metrics()] == [
        m.executions for m in monitor.get_all_agent_metrics()
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_child_forked_while_another_thread_holds_the_locks_can_record(tmp_path: Path) -> None:
    """A thread is inside the monitor, the tracker and the journals' appends when the agent
    forks: the child (where that thread does not exist) still records."""
    import core

    monitor, tracker = PerformanceMonitor(tmp_path), CostTracker(tmp_path)
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with (
            monitor._serial,
            tracker._serial,
            tracker.journal._append_lock,
            monitor.journal._append_lock,
        ):
            inside.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: record, then leave without running the parent's cleanup
        code = 1
        try:
            with core.track("child", department="sales", model="claude-sonnet-4-5",
                            monitor=monitor, tracker=tracker) as run:  # fmt: skip
                run.record_usage(input_tokens=10, output_tokens=5)
            code = 0 if run.recording_error is None else 2
        finally:
            os._exit(code)
    leave.set()
    holder.join()
    _reap(pid)
    fresh = PerformanceMonitor(tmp_path)
    assert fresh.get_agent_metrics("child") is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_child_forked_while_a_thread_holds_the_shared_cores_locks_can_record(
    tmp_path: Path,
) -> None:
    """The same with the process-wide core (``core.track`` without its own monitor and
    tracker): a thread holds core's lock, the shared ``Core``'s, its components' and the
    alert manager's delivery lock when the agent forks."""
    import core

    core.configure(data_dir=tmp_path)
    try:
        shared = core._core()
        monitor, tracker, alerts = shared.monitor, shared.tracker, shared.alerts
        inside, leave = threading.Event(), threading.Event()

        def hold() -> None:
            with core._lock, shared._lock, alerts._delivery_lock:
                with monitor._serial, tracker._serial, tracker.journal._append_lock:
                    inside.set()
                    leave.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        assert inside.wait(10)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with core.track("child", department="sales", model="claude-sonnet-4-5") as run:
                    run.record_usage(input_tokens=10, output_tokens=5)
                code = 0 if run.recording_error is None else 2
            finally:
                os._exit(code)
        leave.set()
        holder.join()
        _reap(pid)
        assert PerformanceMonitor(tmp_path).get_agent_metrics("child") is not None
    finally:
        core.configure()


def _reap(pid: int, limit_s: float = 20.0) -> None:
    """Wait for a forked child to exit 0; kill it and fail if it hangs."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung on a lock held by a thread it does not have")
