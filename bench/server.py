"""Benchmark of the exposition and the HTTP endpoint; prints figures, compares to baselines.

    python bench/server.py [--executions 200000] [--requests 2000]

1. Exposition cold start: folding N journal lines into the counters, against a plain
   ``json.loads`` loop over the same files (baseline measured in the same run); then a
   restart from the checkpoint that fold wrote.
2. One incremental scrape after 1,000 new lines, and rendering the text (50 agents).
3. ``werkpilot-tui serve`` as a real process: requests/s and p50/p95 latency from 8 client
   threads for a cached ``/api/metrics`` and for ``/metrics``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.exposition import Exposition  # noqa: E402
from core.journal.store import Journal  # noqa: E402
from core.records import CostEntry, Execution  # noqa: E402

MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1")
DEPTS = ("sales", "marketing", "operations", "support")


def seed(journal: Journal, n: int, start_ms: int, agents: int = 50) -> None:
    """N executions and N cost entries spread over the last 7 days (pre-serialised)."""
    step = max(1, 7 * 86_400_000 // max(n, 1))
    for kind in ("executions", "ledger"):
        batch: list[bytes] = []
        day = None
        for i in range(n):
            ts = start_ms + i * step
            a = i % agents
            if kind == "executions":
                rec = Execution(
                    timestamp=ts,
                    agent=f"agent-{a:02d}",
                    status="error" if i % 17 == 0 else "completed",
                    duration=float(50 + (i * 37) % 60_000),
                    model=MODELS[a % 3],
                    department=DEPTS[a % 4],
                    cost=0.0012,
                )
            else:
                rec = CostEntry(
                    timestamp=ts,
                    agent=f"agent-{a:02d}",
                    department=DEPTS[a % 4],
                    model=MODELS[a % 3],
                    input_tokens=500,
                    output_tokens=300,
                    cost=0.0012,
                )
            d = ts // 86_400_000
            if day is not None and d != day:
                _flush(journal, kind, batch)
            day = d
            batch.append(rec.to_json_line())
        _flush(journal, kind, batch)


def _flush(journal: Journal, kind: str, batch: list[bytes]) -> None:
    if batch:
        first = json.loads(batch[0])["timestamp"]
        journal.append_line(kind, first, b"".join(batch))
        batch.clear()


def bench_exposition(data_dir: Path, n: int) -> None:
    journal = Journal(data_dir)
    t0 = time.perf_counter()
    lines = 0
    for kind in ("executions", "ledger"):
        for _, path in journal.day_files(kind):
            with path.open("rb") as fh:
                for line in fh:
                    json.loads(line)
                    lines += 1
    baseline = time.perf_counter() - t0
    expo = Exposition(journal)
    t0 = time.perf_counter()
    folded = expo.collect()
    cold = time.perf_counter() - t0
    assert folded == lines == 2 * n, (folded, lines)
    print(
        f"exposition cold fold: {lines:,} lines in {cold:.2f} s ({cold / lines * 1e6:.2f} µs/line)"
    )
    print(
        f"  baseline json.loads loop: {baseline:.2f} s ({baseline / lines * 1e6:.2f} µs/line); "
        f"ratio fold/baseline = {cold / baseline:.2f}"
    )
    t0 = time.perf_counter()
    restarted = Exposition(Journal(data_dir))
    restarted.collect()
    warm = time.perf_counter() - t0
    assert restarted.restored and restarted.executions == expo.executions
    print(f"restart from the checkpoint: {warm * 1e3:.0f} ms (vs {cold:.2f} s cold)")
    now = int(time.time() * 1000)
    extra = Journal(data_dir)
    for i in range(1000):
        extra.append("executions", Execution(timestamp=now + i, agent=f"agent-{i % 50:02d}"))
    t0 = time.perf_counter()
    assert expo.collect() == 1000
    incr = time.perf_counter() - t0
    t0 = time.perf_counter()
    text = expo.render()
    render = time.perf_counter() - t0
    print(f"incremental scrape of 1,000 new lines: {incr * 1e3:.1f} ms")
    print(f"render: {render * 1e3:.1f} ms for {text.count(chr(10)):,} lines, {len(text):,} bytes")


def bench_http(data_dir: Path, requests: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "werkpilot_tui",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        m = re.search(r":(\d+)/api/metrics", proc.stdout.readline())
        assert m
        port = int(m[1])
        for path in ("/api/metrics", "/metrics"):
            t0 = time.perf_counter()
            _get(port, path)  # the first answer fills the cache / folds the journal
            first = time.perf_counter() - t0
            lat, wall = _load(port, path, requests)
            print(
                f"{path}: first {first * 1e3:.0f} ms; {requests} requests from 8 threads: "
                f"{requests / wall:,.0f} req/s, p50 {statistics.median(lat) * 1e3:.1f} ms, "
                f"p95 {statistics.quantiles(lat, n=20)[-1] * 1e3:.1f} ms"
            )
    finally:
        proc.terminate()
        proc.wait(10)


def _get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> None:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    if own:
        conn.close()


def _load(port: int, path: str, total: int) -> tuple[list[float], float]:
    lat: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for _ in range(count):
            t0 = time.perf_counter()
            _get(port, path, conn)
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(total // 8,)) for _ in range(8)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        start = int(time.time() * 1000) - 7 * 86_400_000
        t0 = time.perf_counter()
        seed(Journal(data_dir), args.executions, start)
        took = time.perf_counter() - t0
        print(f"seeded {args.executions:,} executions + cost entries in {took:.1f} s")
        bench_exposition(data_dir, args.executions)
        bench_http(data_dir, args.requests)


if __name__ == "__main__":
    main()
