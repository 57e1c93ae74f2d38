"""Journal throughput against its physical baselines, measured in one run on one machine.

(a) ``os.write`` of pre-serialised 250-byte lines to an ``O_APPEND`` file;
(b) validated appends through the public API (``Execution(**kwargs)`` + ``Journal.append``);
(c) reading and validating N lines through ``JournalReader``;
(d) a plain ``for line in file: json.loads(line)`` loop over the same file.

Prints each rate and the ratios (b)/(a) (target >= 0.15) and (c)/(d) (target >= 1.5); exits
1 when a target is missed. Rates are per CPU second of this process (user + system), best of
``--repeat`` interleaved rounds, so other load on a shared machine disturbs them less.
Run: ``python bench/journal.py`` (``--lines 1000000 --appends 200000 --repeat 3`` by default).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.clock import day_of_ms
from core.journal.store import Journal
from core.records import Execution

T0 = 1_764_158_400_000  # 2025-11-26T12:00Z
LINE_BYTES = 250


def _kwargs(i: int) -> dict[str, object]:
    """Keyword arguments of a typical execution whose JSON line is about 250 bytes."""
    return {
        "timestamp": T0 + i % 1000,
        "agent": f"lead-scorer-{i % 50}",
        "status": "completed" if i % 10 else "error",
        "duration": 1500.0 + i % 997,
        "tokens_used": 1000 + i % 13,
        "input_tokens": 600,
        "output_tokens": 400,
        "model": "claude-sonnet-4-5",
        "department": "sales",
        "cost": 0.0078,
        "cpu_time": 12.5,
        "api_calls": 1,
        "host": "agent-host-1",
        "pid": 4242,
    }


def _line(i: int) -> bytes:
    return Execution(**_kwargs(i)).to_json_line()  # type: ignore[arg-type]


def _timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    """Count, CPU seconds (user + system) and wall seconds of one run."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    n = fn()
    return n, time.process_time() - cpu, time.perf_counter() - wall


def bench_os_write(path: Path, n: int) -> int:
    lines = [_line(i) for i in range(1000)]
    pad = [line[:-1].ljust(LINE_BYTES - 1) + b"\n" for line in lines]  # exactly 250 bytes
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        write = os.write
        for i in range(n):
            write(fd, pad[i % 1000])
    finally:
        os.close(fd)
    return n


def bench_append(root: Path, n: int) -> int:
    journal = Journal(root)
    kwargs = [_kwargs(i) for i in range(1000)]
    append = journal.append
    for i in range(n):
        append("executions", Execution(**kwargs[i % 1000]))  # type: ignore[arg-type]
    journal.close()
    return n


def write_lines(path: Path, n: int) -> None:
    lines = [_line(i) for i in range(1000)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        block = b"".join(lines)
        for _ in range(n // 1000):
            fh.write(block)
        fh.write(b"".join(lines[: n % 1000]))


def bench_reader(root: Path) -> int:
    reader = Journal(root).reader("executions", Execution.model_validate_json)
    return sum(len(batch) for batch in reader.poll_batches())


def bench_json_loads(path: Path) -> int:
    n = 0
    loads = json.loads
    with path.open("rb") as fh:
        for line in fh:
            loads(line)
            n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines read in (c) and (d)")
    parser.add_argument("--appends", type=int, default=200_000, help="appends in (a) and (b)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()

    line_len = len(_line(1))
    print(f"record line: {line_len} bytes (validated), baseline line {LINE_BYTES} bytes")
    with tempfile.TemporaryDirectory(prefix="wp-bench-") as tmp:
        root = Path(tmp)
        best: dict[str, float] = {}

        def run(label: str, fn: Callable[[], int], round_no: int) -> None:
            n, cpu, wall = _timed(fn)
            best[label] = max(best.get(label, 0.0), n / cpu)
            print(
                f"  round {round_no}: {label}: {n:,} in {cpu:.3f} s CPU ({wall:.3f} s wall)",
                file=sys.stderr,
            )

        def run_write() -> int:
            path = root / "raw.jsonl"
            path.unlink(missing_ok=True)
            return bench_os_write(path, args.appends)

        def run_append() -> int:
            data = root / "append"
            for p in data.rglob("*.jsonl"):
                p.unlink()
            return bench_append(data, args.appends)

        read_root = root / "read"
        read_file = Journal(read_root).path_for("executions", day_of_ms(T0))
        write_lines(read_file, args.lines)

        # Interleaved rounds, best of each, on CPU time: other load on the machine shifts
        # all four alike instead of whichever happened to run during a busy spell.
        for r in range(1, args.repeat + 1):
            run("(a) os.write, O_APPEND", run_write, r)
            run("(b) Execution + Journal.append", run_append, r)
            run("(c) JournalReader validate", lambda: bench_reader(read_root), r)
            run("(d) json.loads per line", lambda: bench_json_loads(read_file), r)

    for label, rate in best.items():
        print(f"{label:34s} {rate:>12,.0f} lines/s  ({1e6 / rate:6.2f} us CPU/line)")
    ab = best["(b) Execution + Journal.append"] / best["(a) os.write, O_APPEND"]
    cd = best["(c) JournalReader validate"] / best["(d) json.loads per line"]
    ok_ab, ok_cd = ab >= 0.15, cd >= 1.5
    print(f"(b)/(a) = {ab:.3f}  (target >= 0.15: {'met' if ok_ab else 'MISSED'})")
    print(f"(c)/(d) = {cd:.3f}  (target >= 1.5: {'met' if ok_cd else 'MISSED'})")
    return 0 if ok_ab and ok_cd else 1


if __name__ == "__main__":
    raise SystemExit(main())
