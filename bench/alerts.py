"""Alert manager costs, next to a bare journal append measured in the same run.

Run: python bench/alerts.py [--n 5000]
Prints microseconds per call for: a bare AlertEvent append (baseline), add_alert of a new
condition, add_alert of a repeat (dedup under the lock), resolve with nothing open (the hot
path: no I/O), get_alerts(limit=20), get_alert_stats, check_escalations, and the time to
rebuild state from the journal in a fresh manager, and to start from its checkpoint.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.alerts import checkpoint as alert_checkpoint
from core.alerts.manager import AlertManager
from core.journal.store import Journal
from core.records import AlertEvent


def per_call_us(fn: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    n = parser.parse_args().n
    logging.getLogger("werkpilot.alerts").setLevel(logging.CRITICAL + 1)  # console channel
    now = [datetime(2026, 11, 26, 12, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        journal = Journal(root / "baseline")
        t0 = int(now[0].timestamp() * 1000)
        baseline = per_call_us(
            lambda i: journal.append(
                "alerts",
                AlertEvent(
                    timestamp=t0,
                    event="repeated",
                    alert_id="alert_x",
                    message=f"rate {i}",
                    data={"agent": "a", "errorRate": i / n},
                ),
            ),
            n,
        )
        m = AlertManager(root / "data", clock=clock, channels=[], default_rules=False)
        new = per_call_us(
            lambda i: m.add_alert("warning", "error_rate", f"rate {i}", {"agent": f"a{i}"}), n
        )
        repeat = per_call_us(
            lambda i: m.add_alert("warning", "error_rate", f"rate {i}", {"agent": "a0"}), n
        )
        noop = per_call_us(lambda i: m.resolve("response_time", agent="a0"), n)
        query = per_call_us(lambda i: m.get_alerts(limit=20), 200)
        stats = per_call_us(lambda i: m.get_alert_stats("24h"), 200)
        now[0] += timedelta(hours=2)
        start = time.perf_counter()
        escalated = len(m.check_escalations())
        escalate_s = time.perf_counter() - start
        m.close()  # saves a checkpoint: drop it to time a rebuild from the journal
        (root / "data" / alert_checkpoint.PATH).unlink()
        start = time.perf_counter()
        fresh = AlertManager(root / "data", clock=clock, channels=[], default_rules=False)
        rebuild_s = time.perf_counter() - start  # includes writing the checkpoint
        assert not fresh.loaded_checkpoint
        events = sum(1 for _ in fresh.journal.day_files("alerts"))
        fresh.close()
        start = time.perf_counter()
        restored = AlertManager(root / "data", clock=clock, channels=[], default_rules=False)
        restore_s = time.perf_counter() - start
        assert restored.loaded_checkpoint
        restored.close()

    print(f"n={n}")
    print(f"baseline journal.append(AlertEvent)   {baseline:8.1f} us/call")
    print(f"add_alert, new condition             {new:8.1f} us/call  ({new / baseline:.1f}x)")
    print(f"add_alert, repeat (dedup)            {repeat:8.1f} us/call  ({repeat / baseline:.1f}x)")
    print(f"resolve, nothing open of the type    {noop:8.2f} us/call")
    print(f"get_alerts(limit=20) over {n} alerts {query:8.1f} us/call")
    print(f"get_alert_stats('24h')               {stats:8.1f} us/call")
    print(f"check_escalations: {escalated} escalated in {escalate_s * 1000:.0f} ms")
    total = 2 * n + 2 * escalated
    print(f"rebuild from {total} events in {events} file(s): {rebuild_s * 1000:.0f} ms")
    print(f"start from the checkpoint of {2 * n} alerts: {restore_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
