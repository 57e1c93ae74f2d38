"""Secondary views benchmark: theme loading, demo backfill, agent-detail and costs builds.

Run: ``python bench/secondary.py [--executions 200000]``. Prints figures and compares the
detail/costs builds at N executions with the same builds at N/100 measured in the same run
(the builds run on the console's core thread every few seconds, so they must not grow with
history). History is written with the journal directly (fast); the views read it through core.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.alerts.manager import AlertManager  # noqa: E402
from core.costs.ledger import CostTracker  # noqa: E402
from core.journal.store import Journal  # noqa: E402
from core.monitor.performance import PerformanceMonitor  # noqa: E402
from core.records import CostEntry, Execution  # noqa: E402
from werkpilot_tui.console.detail_models import build_agent_detail, build_costs  # noqa: E402
from werkpilot_tui.console.themes import load_themes  # noqa: E402
from werkpilot_tui.demo import DemoFleet  # noqa: E402

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def timed(fn: Callable[[], object], repeat: int = 20) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def write_history(data_dir: Path, n: int, agents: int = 50) -> None:
    journal = Journal(data_dir)
    rng = random.Random(1)
    start = NOW - timedelta(days=7)
    span_ms = 7 * 86_400_000
    t0 = int(start.timestamp() * 1000)
    for i in range(n):
        ts = t0 + i * span_ms // n
        agent = f"agent-{i % agents:03d}"
        model = ("claude-sonnet-4-5", "haiku", "claude-opus-4-1")[i % 3]
        cost = rng.uniform(0.001, 0.05)
        journal.append(
            "executions",
            Execution(
                timestamp=ts, agent=agent, duration=rng.uniform(200, 9000), model=model,
                department=f"dept-{i % 5}", tokens_used=1200, cost=cost,
            ),
        )  # fmt: skip
        journal.append(
            "ledger",
            CostEntry(
                timestamp=ts, agent=agent, department=f"dept-{i % 5}", model=model,
                input_tokens=1000, output_tokens=200, cost=cost, pricing="caller",
            ),
        )  # fmt: skip
    journal.close()


def measure_views(n: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        write_history(data_dir, n)
        t = time.perf_counter()
        alerts = AlertManager(data_dir, clock=clock, channels=[])
        monitor = PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts)
        tracker = CostTracker(data_dir, clock=clock, alert_manager=alerts)
        open_ms = (time.perf_counter() - t) * 1000
        out = {
            "open components": (open_ms, open_ms),
            "agent detail 24h": timed(
                lambda: build_agent_detail(monitor, tracker, "agent-007", "24h")
            ),
            "agent detail 7d": timed(
                lambda: build_agent_detail(monitor, tracker, "agent-007", "7d")
            ),
            "costs": timed(lambda: build_costs(tracker), repeat=10),
        }
        for c in (monitor, tracker, alerts):
            c.close()
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=200_000)
    args = parser.parse_args()

    median, p95 = timed(lambda: load_themes(user_dir=Path("/nonexistent")), repeat=20)
    print(f"load_themes (3 built-in files): median {median:.2f} ms, p95 {p95:.2f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        fleet = DemoFleet(Path(tmp) / "data", seed=1, clock=clock, quiet=True)
        t = time.perf_counter()
        count = fleet.backfill()
        elapsed = time.perf_counter() - t
        fleet.close()
        print(f"demo backfill: {count} executions + costs + batches in {elapsed:.2f} s")

    small_n = max(1, args.executions // 100)
    small = measure_views(small_n)
    big = measure_views(args.executions)
    print(f"\n{'view build (ms)':<20}{small_n:>12,} execs{args.executions:>14,} execs   ratio")
    for name in big:
        s, b = small[name][0], big[name][0]
        print(f"{name:<20}{s:>15.2f}{b:>19.2f}   {b / s if s else float('nan'):5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
