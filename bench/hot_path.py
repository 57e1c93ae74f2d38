"""The agent's hot path at 1k and 1M records of history, beside what any durable record costs.

Run: ``python bench/hot_path.py`` (1k and 1M records; ``--quick`` for 1k and 100k, fewer calls).

For each size a data directory is filled in bulk with that many cost entries (over the current
month so far: the month ``track_cost`` folds for budgets) and that many executions (over the
last 7 days: the monitor's windows). Then, in rounds that alternate the order of the sizes, a
fresh process per size lets a ``PerformanceMonitor`` and a ``CostTracker`` load the history
(rebuilt from the files in the first round, from their checkpoints afterwards; the small
history is a fresh copy each round) and times, interleaved so a neighbour's burst on this
shared machine hits every row alike:
- one ``core.track`` run (``with core.track(...) as run: run.record_usage(...)``: wall, CPU and
  RSS readings at each end, a cost entry and an execution written and folded);
- ``track_cost`` alone and ``track_execution`` alone;
- the floor: one ``os.write`` of a line of the same size to an ``O_APPEND`` file, and a
  ``prometheus_client`` Counter ``inc()`` + Histogram ``observe()`` pair (in memory only).
It prints the median over the rounds of p50, p99 and the mean per size (the mean shows work a
call leaves for later, e.g. sums folded when read), the growth from the smallest to
the largest size, and the targets of issue 15 (a run <= 30 µs, ``track_cost`` <= 15 µs,
growth <= 1.3x); exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"track run": 30.0, "track_cost": 15.0}
GROWTH = 1.3
AGENTS = [f"agent-{i:02d}" for i in range(20)]
DEPTS = ["sales", "marketing", "operations", "support", "research"]
ROWS = ["track run", "track_cost", "track_execution", "os.write", "prometheus pair"]


def fill_ledger(root: Path, n: int, now_ms: int) -> None:
    """``n`` cost entries spread over this UTC month so far, written to the day files in bulk."""
    from ledger import write_entries  # bench/ledger.py's bulk writer of cost entries

    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    start = int(datetime(now.year, now.month, 1, tzinfo=UTC).timestamp() * 1000)
    write_entries(root, n, start, now_ms - 60_000)


def fill(data: Path, size: int) -> None:
    """``size`` executions and ``size`` cost entries of history, written in bulk."""
    from monitor import generate  # bench/monitor.py's bulk writer of executions

    now = time.time_ns() // 1_000_000
    generate(data, size, now)
    fill_ledger(data, size, now)


def measure(data: Path, size: int, calls: int) -> dict[str, list[float]]:
    """One size, in this process: the per-call times in µs of every row."""
    import prometheus_client

    import core
    from core.config import Config

    logging.getLogger("core").setLevel(logging.ERROR)
    logging.getLogger("werkpilot").setLevel(logging.ERROR)
    # Budgets so high that no alert is raised (alert costs are bench/alerts.py's).
    config = Config(
        budgets={d: 1e12 for d in [*DEPTS, "default"]}, thresholds={"daily_budget": 1e12}
    )
    monitor = core.PerformanceMonitor(data, config=config)
    tracker = core.CostTracker(data, config=config, checkpoint_every=10**12)
    tracker.refresh()
    assert tracker.entries >= size, (tracker.entries, size)
    # The monitor writes a checkpoint of a big rebuild in a background thread: let it finish
    # (and settle the collector) before timing, or its work lands in the first calls' p99.
    monitor.save_checkpoint()
    tracker.save_checkpoint()  # the next round's process starts from both
    gc.collect()
    cost_line = len(
        next(iter((data / "costs").glob("ledger-*.jsonl"))).read_bytes().split(b"\n", 1)[0]
    )

    fd = os.open(data / "floor.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    line = b"x" * cost_line + b"\n"
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter("bench_calls", "calls", registry=registry)
    histogram = prometheus_client.Histogram("bench_seconds", "duration", registry=registry)

    def run(i: int) -> None:
        with core.track(
            AGENTS[i % 20], department=DEPTS[i % 5], model="claude-sonnet-4-5",
            monitor=monitor, tracker=tracker,
        ) as r:  # fmt: skip
            r.record_usage(input_tokens=500, output_tokens=300)

    def cost(i: int) -> None:
        tracker.track_cost(
            AGENTS[i % 20], DEPTS[i % 5], model="claude-sonnet-4-5", input_tokens=500,
            output_tokens=300,
        )  # fmt: skip

    def execution(i: int) -> None:
        monitor.track_execution(
            AGENTS[i % 20], duration=1500.0 + i % 97, tokens_used=800, model="claude-sonnet-4-5",
            department=DEPTS[i % 5], cost=0.0069, api_calls=1,
        )  # fmt: skip

    def write(i: int) -> None:
        os.write(fd, line)

    def pair(i: int) -> None:
        counter.inc()
        histogram.observe(0.0015)

    ops: dict[str, Callable[[int], None]] = dict(
        zip(ROWS, [run, cost, execution, write, pair], strict=True)
    )
    times: dict[str, list[float]] = {name: [] for name in ops}
    clock = time.perf_counter_ns
    for op in ops.values():  # warm up: first calls load the month, open files
        for i in range(50):
            op(i)
    batch = 100
    for start in range(0, calls, batch):  # interleaved batches: the same load on every row
        for name, op in ops.items():
            out = times[name]
            for i in range(start, start + batch):
                t0 = clock()
                op(i)
                out.append((clock() - t0) / 1000)
    os.close(fd)
    monitor.close()
    tracker.close()
    return times


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def one(data: Path, size: int, calls: int) -> dict[str, tuple[float, float, float]]:
    """``measure`` in a fresh process: no size inherits another's memory or warm caches."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(size), "--dir", str(data), "--calls", str(calls)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return {name: (p50, p99, mean) for name, (p50, p99, mean) in got.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 100k, 2,000 calls, 2 rounds")
    parser.add_argument("--sizes", help="comma-separated history sizes (default 1000,1000000)")
    parser.add_argument("--calls", type=int, help="timed calls per row, size and round (10,000)")
    parser.add_argument("--rounds", type=int, help="processes per size, alternating (default 3)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    calls = args.calls or (2_000 if args.quick else 10_000)
    if args.one is not None:
        times = measure(args.dir, args.one, calls)
        print(
            json.dumps(
                {k: (pct(v, 0.5), pct(v, 0.99), statistics.fmean(v)) for k, v in times.items()}
            )
        )
        return 0
    default = "1000,100000" if args.quick else "1000,1000000"
    sizes = [int(s) for s in (args.sizes or default).split(",")]
    rounds = args.rounds or (2 if args.quick else 3)
    sys.path.insert(0, str(ROOT / "bench"))
    runs: dict[int, list[dict[str, tuple[float, float, float]]]] = {s: [] for s in sizes}
    with tempfile.TemporaryDirectory(prefix="wp-hot-") as tmp:
        templates = {s: Path(tmp) / f"history-{s}" for s in sizes}
        for size, data in templates.items():
            fill(data, size)
        for r in range(rounds):  # alternate the order: a neighbour's burst hits every size
            for size in sizes if r % 2 == 0 else sizes[::-1]:
                data = templates[size]
                if size <= 100_000:  # a fresh copy: the small history stays small
                    data = Path(tmp) / f"round-{r}-{size}"
                    shutil.copytree(templates[size], data)
                runs[size].append(one(data, size, calls))
    results = {
        s: {
            name: tuple(statistics.median(run[name][k] for run in runs[s]) for k in range(3))
            for name in ROWS
        }
        for s in sizes
    }
    lo, hi = sizes[0], sizes[-1]
    header = "".join(f" {f'{s:,} p50':>11} {'p99':>7} {'mean':>7}" for s in sizes)
    print(f"{'µs per call':<16}{header} {'growth':>7}  target")
    failed = False
    for name in ROWS:
        cells = "".join(
            f" {results[s][name][0]:>11.2f} {results[s][name][1]:>7.1f} {results[s][name][2]:>7.2f}"
            for s in sizes
        )
        growth = results[hi][name][0] / results[lo][name][0]
        target = ""
        if name in TARGETS or name == "track_execution":
            limit = TARGETS.get(name)
            ok = (limit is None or results[hi][name][0] <= limit) and growth <= GROWTH
            failed |= not ok
            bound = f"p50 <= {limit:g} µs, " if limit is not None else ""
            target = f"{bound}growth <= {GROWTH}x: {'ok' if ok else 'MISSED'}"
        print(f"{name:<16}{cells} {growth:>6.2f}x  {target}")
    print(
        f"(median of {rounds} rounds; per round and size a new process timing {calls:,} calls "
        "per row, interleaved in batches of 100)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
