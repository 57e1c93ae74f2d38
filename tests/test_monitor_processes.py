"""Real processes: agents writing at once are all seen, exactly, by a fresh reader."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from core.monitor.performance import PerformanceMonitor

WRITERS = 4
PER_WRITER = 400

_WRITER = """
import sys
from core.monitor.performance import PerformanceMonitor
data_dir, w, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m = PerformanceMonitor(data_dir)
for i in range(n):
    m.track_execution(
        f"agent-{w}-{i % 3}",
        duration=float(i % 50),
        status="error" if i % 29 == 0 else "completed",
        cost=(i % 17) * 0.00123 + w * 0.0001,
        tokens_used=i,
    )
    if i % 50 == 0:
        m.get_system_metrics()  # catch up on the others mid-stream
m.close()
"""


def _cost(w: int, i: int) -> float:
    return (i % 17) * 0.00123 + w * 0.0001


@pytest.mark.slow
def test_concurrent_writers_exact_counts_and_cost(data_dir: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(data_dir), str(w), str(PER_WRITER)], cwd=root
        )
        for w in range(WRITERS)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * WRITERS
    costs = [_cost(w, i) for w in range(WRITERS) for i in range(PER_WRITER)]
    # each record's cost counts to the nano-dollar, half to even (see core.monitor.windows.to_nano)
    expected_nano = sum(round(Decimal(repr(c)) * 10**9) for c in costs)
    expected_cents = round(sum(Decimal(repr(c)) for c in costs), 2)
    errors = WRITERS * len([i for i in range(PER_WRITER) if i % 29 == 0])

    for checkpointed in (True, False):
        if not checkpointed:
            (data_dir / "metrics" / ".checkpoint-executions.bin").unlink()
        fresh = PerformanceMonitor(data_dir)
        s = fresh.get_system_metrics()
        assert s.total_executions == WRITERS * PER_WRITER
        assert s.total_errors == errors
        assert fresh._windows.system_totals().cost_nano == expected_nano
        assert s.total_cost == expected_nano / 1e9
        assert round(Decimal(repr(s.total_cost)), 2) == expected_cents
        assert s.agent_count == WRITERS * 3
        assert sum(a.executions for a in fresh.get_all_agent_metrics()) == WRITERS * PER_WRITER
        assert fresh.journal.problem_count == 0
