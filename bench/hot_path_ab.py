"""A/B of the agents' hot path: ``track_execution``, ``track_cost`` and ``core.track`` p50, this
tree vs another.

Run: ``python bench/hot_path_ab.py OTHER_ROOT`` where OTHER_ROOT is a checkout of the commit to
compare against (e.g. ``git worktree add --detach /tmp/base HEAD~5``).

Each round starts one fresh process per tree (alternating which goes first), fills a data
directory with the same small history, then times ``--calls`` calls of each method. The
figure per tree is the median of its rounds' p50s, so a neighbour's burst on this shared
machine hits both trees alike. Exits 1 when this tree is more than ``--limit`` slower.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, statistics, sys, tempfile, time
from pathlib import Path
try:  # the public face; a checkout from before it had the modules at the top of core
    from core import CostTracker, PerformanceMonitor
except ImportError:
    from core.ledger import CostTracker
    from core.monitor import PerformanceMonitor

calls = int(sys.argv[1])
data = Path(tempfile.mkdtemp(prefix="wp-ab-"))
monitor = PerformanceMonitor(data)
tracker = CostTracker(data)
for i in range(1000):  # a small history, the same in both trees
    monitor.track_execution(f"agent-{i % 20:02d}", duration=1500.0, tokens_used=1000,
                            model="haiku", cost=0.0001, api_calls=1)
    tracker.track_cost(f"agent-{i % 20:02d}", "sales", model="claude-sonnet-4-5",
                       input_tokens=500, output_tokens=300)
import core
ex, co, tr = [], [], []
for i in range(calls):
    agent = f"agent-{i % 20:02d}"
    t0 = time.perf_counter_ns()
    monitor.track_execution(agent, duration=1500.0 + i % 97, tokens_used=1000, model="haiku",
                            cost=0.0001, api_calls=1)
    t1 = time.perf_counter_ns()
    tracker.track_cost(agent, "sales", model="claude-sonnet-4-5", input_tokens=500,
                       output_tokens=300)
    t2 = time.perf_counter_ns()
    with core.track(agent, department="sales", model="claude-sonnet-4-5", monitor=monitor,
                    tracker=tracker) as run:
        run.record_usage(input_tokens=500, output_tokens=300)
    t3 = time.perf_counter_ns()
    ex.append((t1 - t0) / 1000)
    co.append((t2 - t1) / 1000)
    tr.append((t3 - t2) / 1000)
monitor.close()
tracker.close()
print(json.dumps({"track_execution": statistics.median(ex), "track_cost": statistics.median(co),
                  "core.track run": statistics.median(tr)}))
"""


def run(root: Path, calls: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(calls)],
            env=env,
            cwd=cwd,
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="checkout of the commit to compare against")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=1.05, help="allowed ratio this/other")
    args = parser.parse_args()
    trees = {"this": ROOT, "other": args.other.resolve()}
    p50s: dict[str, dict[str, list[float]]] = {t: {} for t in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for name in order:
            for method, value in run(trees[name], args.calls).items():
                p50s[name].setdefault(method, []).append(value)
    failed = False
    print(f"{'method':<16} {'this p50 µs':>12} {'other p50 µs':>13} {'ratio':>7}")
    for method in p50s["this"]:
        this = statistics.median(p50s["this"][method])
        other = statistics.median(p50s["other"][method])
        ratio = this / other
        failed |= ratio > args.limit
        print(f"{method:<16} {this:>12.2f} {other:>13.2f} {ratio:>7.3f}")
    print(f"({args.rounds} rounds × {args.calls} calls; limit {args.limit:.2f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
