"""Cost ledger costs with 1k / 100k / 1M entries already in the ledger, next to a naive recount.

Run: python bench/ledger.py [--sizes 1000,100000,1000000] [--calls 2000] [--queries 20]

For each size, a data directory is filled with that many cost entries over 30 days (20
agents, 5 departments, 4 models), then:
- cold start: a new CostTracker's first full catch-up, rebuilding from the files and
  (after a checkpoint was saved) starting from the checkpoint;
- track_cost: per-call p50 / p95 (validated durable append + aggregates + budget check);
- get_all_costs: per-query p50 (agents, departments, daily/weekly/monthly, optimizations);
and the same two operations done naively over the same entries held in memory (the seed's
way: after each append, and for each query, re-filter every entry). Budgets are set high so
no budget alert is raised (alert costs are measured in bench/alerts.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from core.clock import MS_PER_DAY, day_of_ms
from core.config import Config
from core.costs.ledger import CostTracker
from core.journal.store import Journal

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
AGENTS = [f"agent-{i:02d}" for i in range(20)]
DEPTS = ["sales", "marketing", "operations", "support", "research"]
MODELS = ["claude-sonnet-4-5", "claude-3-5-haiku-20241022", "opus", "claude-opus-4-1"]
PRICES = {  # nano-dollars per input / output token
    "claude-sonnet-4-5": (3000, 15000),
    "claude-3-5-haiku-20241022": (800, 4000),
    "opus": (15000, 75000),
    "claude-opus-4-1": (15000, 75000),
}
Row = tuple[int, str, str, str, float]


def fill(root: Path, n: int) -> None:
    """Write ``n`` entries over the 30 days before NOW (20 agents, 5 departments, 4 models)."""
    t_end = int(NOW.timestamp() * 1000)
    write_entries(root, n, t_end - 30 * MS_PER_DAY, t_end)


def write_entries(root: Path, n: int, t_start: int, t_end: int) -> None:
    """``n`` entries spread evenly from ``t_start`` to ``t_end`` (epoch ms), appended to the
    day files in bulk (bench/hot_path.py fills its history with it too)."""
    journal = Journal(root)
    step = max(t_end - t_start, 1) / n
    by_day: dict[int, list[bytes]] = defaultdict(list)
    for i in range(n):
        ts = t_start + int(i * step)
        agent = AGENTS[i % 20]
        dept = DEPTS[i % 20 % 5]
        model = MODELS[(i // 20) % 4]
        inp, out = 200 + i % 800, 50 + i % 300
        pin, pout = PRICES[model]
        cost = (inp * pin + out * pout) / 1e9
        by_day[ts // MS_PER_DAY].append(
            (
                f'{{"timestamp":{ts},"agent":"{agent}","department":"{dept}","model":"{model}",'
                f'"inputTokens":{inp},"outputTokens":{out},"cacheReadTokens":0,'
                f'"cacheWriteTokens":0,"cost":{cost!r},"pricing":"exact","host":"bench","pid":1}}\n'
            ).encode()
        )
    for day, lines in by_day.items():
        path = journal.path_for("ledger", day_of_ms(day * MS_PER_DAY))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as fh:
            fh.write(b"".join(lines))


def read_rows(root: Path) -> list[Row]:
    """Every entry of the ledger as a tuple (the naive side's in-memory history)."""
    rows: list[Row] = []
    for path in sorted((root / "costs").glob("ledger-*.jsonl")):
        for line in path.read_bytes().splitlines():
            d = orjson.loads(line)
            rows.append((d["timestamp"], d["agent"], d["department"], d["model"], d["cost"]))
    return rows


def naive_totals(rows: list[Row], today: date, dept: str) -> tuple[float, float, float]:
    """The seed's way after each track: re-filter every entry for today, month, department."""
    day = month = dep = 0.0
    for ts, _a, d, _m, cost in rows:
        when = day_of_ms(ts)
        if when == today:
            day += cost
        if (when.year, when.month) == (today.year, today.month):
            month += cost
            if d == dept:
                dep += cost
    return day, month, dep


def naive_all_costs(rows: list[Row], today: date) -> int:
    """get_all_costs by a full recount: agents, departments, day, week, month, models."""
    agents: dict[str, float] = defaultdict(float)
    models: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    depts: dict[str, float] = defaultdict(float)
    week_start = today - timedelta(days=today.weekday())
    day = week = month = 0.0
    for ts, a, d, m, cost in rows:
        when = day_of_ms(ts)
        agents[a] += cost
        mu = models[(a, m)]
        mu[0] += cost
        mu[1] += 1
        if (when.year, when.month) == (today.year, today.month):
            month += cost
            depts[d] += cost
        if when >= week_start:
            week += cost
        if when == today:
            day += cost
    return len(agents) + len(depts) + len(models)


def percentiles_us(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        fn(i)
        times.append(time.perf_counter_ns() - t0)
    times.sort()
    return times[len(times) // 2] / 1000, times[int(len(times) * 0.95)] / 1000


def run(size: int, calls: int, queries: int) -> dict[str, float]:
    config = Config(budgets={d: 1e12 for d in [*DEPTS, "default"]})
    clock = lambda: NOW  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fill(root, size)
        t0 = time.perf_counter()
        tracker = CostTracker(root, config=config, clock=clock, checkpoint_every=10**12)
        loaded = tracker.refresh()
        cold = time.perf_counter() - t0
        assert loaded == size, (loaded, size)
        tracker.save_checkpoint()
        t0 = time.perf_counter()
        restarted = CostTracker(root, config=config, clock=clock)
        restarted.refresh()
        warm = time.perf_counter() - t0
        assert restarted.entries == size

        def track(i: int) -> None:
            tracker.track_cost(
                AGENTS[i % 20], DEPTS[i % 5], model="claude-sonnet-4-5", input_tokens=500
            )

        p50, p95 = percentiles_us(track, calls)
        q50, _ = percentiles_us(lambda i: tracker.get_all_costs(), queries)
        assert tracker.entries == size + calls
        today = NOW.date()
        # The naive side holds every entry in memory; built only now so the tracker's figures
        # above are not disturbed by a million extra objects.
        naive_rows = read_rows(root)

        def naive_track(i: int) -> None:
            naive_rows.append((int(NOW.timestamp() * 1000), AGENTS[i % 20], DEPTS[i % 5], "s", 0.0))
            naive_totals(naive_rows, today, DEPTS[i % 5])

        naive_calls = max(3, min(calls, 2_000_000 // max(size, 1)))
        n50, _ = percentiles_us(naive_track, naive_calls)
        nq, _ = percentiles_us(
            lambda i: naive_all_costs(naive_rows, today), max(3, min(queries, 5))
        )
        tracker.close()
    return {
        "cold_s": cold,
        "warm_s": warm,
        "track_p50": p50,
        "track_p95": p95,
        "naive_track_p50": n50,
        "query_p50": q50,
        "naive_query_p50": nq,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("core").setLevel(logging.ERROR)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'entries':>9} {'rebuild':>8} {'checkpoint':>10} {'track p50':>10} {'p95':>8} "
        f"{'naive':>10} {'get_all p50':>12} {'naive':>10}"
    )
    results = {}
    for size in sizes:
        r = results[size] = run(size, args.calls, args.queries)
        print(
            f"{size:>9,} {r['cold_s']:>7.2f}s {r['warm_s']:>9.3f}s {r['track_p50']:>8.1f}us "
            f"{r['track_p95']:>6.1f}us {r['naive_track_p50']:>8.0f}us "
            f"{r['query_p50'] / 1000:>10.2f}ms {r['naive_query_p50'] / 1000:>8.1f}ms"
        )
    if len(sizes) > 1:
        lo, hi = results[sizes[0]], results[sizes[-1]]
        print(
            f"track_cost p50 at {sizes[-1]:,} / at {sizes[0]:,}: "
            f"{hi['track_p50'] / lo['track_p50']:.2f}x; "
            f"get_all_costs: {hi['query_p50'] / lo['query_p50']:.2f}x "
            f"(naive: {hi['naive_query_p50'] / lo['naive_query_p50']:.0f}x)"
        )


if __name__ == "__main__":
    main()
