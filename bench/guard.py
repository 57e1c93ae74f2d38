"""The guard before the call: what one check costs when nothing changed.

Run: ``python bench/guard.py [--calls N]``. Prints p50/p99 (µs) of ``Core.guard`` for an
agent with no caps, a paused agent (the refusal raised and caught, not recorded: the check
itself), a department with a hard cap and nothing new in the ledger (one ``stat`` of today's
day file), a loop check with a fingerprint, and a bare function call as the baseline, all in
the same process and run (interleaved, so a neighbour's burst hits every row alike).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core  # noqa: E402


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="checks per row")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="wp-guard-"))
    cfg = data / "werkpilot.toml"
    cfg.write_text(
        "[budgets.hard]\nresearch = 1000000.0\n[guard]\nloop_max = 1000000\n",
        encoding="utf-8",
    )
    c = core.open(data / "data", cfg)
    c.tracker.track_cost("capped", "research", model="m", cost=1.0)  # today's file exists
    c.control.pause("paused", reason="bench")
    guards = c.guards
    check = guards.check

    def bare() -> None:
        return None

    def paused() -> None:
        try:
            check("paused", "ops", record=False)
        except core.AgentPaused:
            pass

    rows: dict[str, Callable[[], None]] = {
        "bare function call": bare,
        "guard, no caps": lambda: check("free", "ops"),
        "guard, paused agent": paused,
        "guard, hard-capped department": lambda: check("capped", "research"),
        "guard, loop fingerprint": lambda: check("free", "ops", model="m", fingerprint="h"),
    }
    for fn in rows.values():  # warm every path (the pause book, the month, the day file)
        for _ in range(1000):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in rows}
    clock = time.perf_counter_ns
    batch = 100
    for _ in range(args.calls // batch):
        for name, fn in rows.items():
            t0 = clock()
            for _ in range(batch):
                fn()
            samples[name].append((clock() - t0) / batch / 1000)
    print(f"guard check cost, µs per call (batches of {batch}, {args.calls} calls per row)")
    print(f"{'':34} {'p50':>8} {'p99':>8}")
    for name, xs in samples.items():
        p50, p99 = _percentiles(xs)
        print(f"{name:34} {p50:8.3f} {p99:8.3f}")
    c.close()


if __name__ == "__main__":
    main()
