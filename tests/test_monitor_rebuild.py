"""A rebuild on two cores (core.monitor.rebuild: a forked worker takes pieces from the back) gives
exactly what a sequential rebuild gives: every window, total, nano-dollar, recent execution,
department, malformed line and reader offset. The parallel path is forced with a tiny
threshold and small chunks, so the data directory is cut into pieces inside day files, and
this process is slowed down so the worker takes several of them."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import day_of_ms
from core.journal.store import Journal
from core.monitor import checkpoint, rebuild
from core.monitor.performance import PerformanceMonitor
from core.monitor.reader import as_execution
from core.monitor.windows import WINDOWS, RollingWindows, to_micro, to_nano
from core.records import Execution
from tests.conftest import FakeClock
from tests.test_windows import T0, Row, _batch, rows_st

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AGENTS = ["alpha", "beta", "gamma", "delta", "eps"]
DEPTS = [None, None, "sales", "ops", "support"]


class QuietAlerts:
    def add_alert(self, *args: Any, **kwargs: Any) -> None:
        pass

    def resolve(self, *args: Any, **kwargs: Any) -> int:
        return 0


def _line(rnd: random.Random, ts: int, agent: str | None = None) -> bytes:
    rec = Execution(
        timestamp=ts,
        agent=agent or rnd.choice(AGENTS),
        status=rnd.choice(["completed"] * 8 + ["error", "failed"]),
        duration=rnd.choice([0.0, round(rnd.uniform(1, 5000), 3), rnd.uniform(0, 9)]),
        tokens_used=rnd.randint(0, 5000),
        model=rnd.choice([None, "claude-sonnet-4-5", "haiku"]),
        department=rnd.choice(DEPTS),
        # awkward amounts: half-nano ties, long fractions, zero
        cost=rnd.choice([0.0, 0.0000000005, 0.0000000015, rnd.uniform(0, 0.01), 0.1, 0.3]),
        cpu_time=rnd.uniform(0, 50),
        memory_delta=rnd.choice([-1.5, 0.0, float(rnd.randint(-4096, 65536)), 2.5]),
        api_calls=rnd.randint(0, 3),
        host="h",
        pid=rnd.randint(1, 99),
    )
    return rec.to_json_line()


def _seed(data_dir: Path, seed: int = 7, days: int = 5, per_day: int = 700) -> None:
    """Several days with backfilled records, equal timestamps and malformed lines."""
    rnd = random.Random(seed)
    journal = Journal(data_dir)
    end = int(NOW.timestamp() * 1000)
    for d in range(days, -1, -1):
        day_start = (end // 86_400_000 - d) * 86_400_000
        stop = min(day_start + 86_400_000, end)
        step = (stop - day_start) // per_day
        path = journal.path_for("executions", day_of_ms(day_start))
        path.parent.mkdir(parents=True, exist_ok=True)
        lines: list[bytes] = []
        for i in range(per_day):
            ts = day_start + i * step + rnd.randint(0, step // 2)
            lines.append(_line(rnd, ts))
            r = rnd.random()
            if r < 0.05:  # backfilled: earlier in the same day, appended later
                lines.append(_line(rnd, rnd.randint(day_start, ts)))
            elif r < 0.08:  # the same millisecond again, same agent
                lines.append(_line(rnd, ts, orjson.loads(lines[-1])["agent"]))
            elif r < 0.09:
                lines.append(
                    rnd.choice(
                        [
                            b"not json\n",
                            b"\n",
                            b'{"timestamp": 5, "agent": ""}\n',
                            b'{"timestamp":' + str(ts).encode() + b',"agent":"a","duration":-1}\n',
                            b'{"timestamp":1,"age' + _line(rnd, ts),  # torn, then a valid one
                            orjson.dumps({"timestamp": ts, "agent": "alpha", "tokens_used": 3})
                            + b"\n",  # snake_case: valid, but only the per-line path reads it
                            orjson.dumps({"timestamp": ts, "agent": "beta"}) + b"\n",  # defaults
                        ]
                    )
                )
        path.write_bytes(b"".join(lines))


def _state(m: PerformanceMonitor) -> dict[str, Any]:
    """Everything a rebuild determines, as plain values."""
    w: RollingWindows = m._windows
    sys = m.get_system_metrics()
    series = {}
    for agent, s in w.series.items():
        ts, err, dur, cost, tok = (a.tolist() for a in s.arrays())
        records = sorted(
            (ts[i], err[i + 1] - err[i], dur[i + 1] - dur[i], cost[i + 1] - cost[i],
             tok[i + 1] - tok[i])
            for i in range(len(ts))
        )  # fmt: skip
        # the prefix sums at the end of each run of equal timestamps: what any window sees
        ends = [i + 1 for i in range(len(ts)) if i + 1 == len(ts) or ts[i + 1] != ts[i]]
        series[agent] = (ts, records, [tuple(p[i] for p in (err, dur, cost, tok)) for i in ends])
    agents = m.list_agents()
    return {
        "system": sys.model_dump(exclude={"uptime", "system_health"}),
        "agents": [m.get_agent_metrics(a).model_dump() for a in agents],  # type: ignore[union-attr]
        "series": series,
        "slices": {
            a: [m.get_agent_series(a, win, 17).model_dump() for win in WINDOWS] for a in agents
        },
        "totals": {a: t.to_dict() for a, t in w.totals.items()},
        "day_cost": w.day_cost,
        "cost_today": m.get_cost_today(),
        "departments": m.get_agent_departments(),
        "recent": {
            a: [(ts, seq, as_execution(p).model_dump()) for ts, seq, p in items]
            for a, items in m._recent.items.items()
        },
        "recent_seq": m._recent._seq,
        "offsets": m._reader.state(),
        "problems": [(p.path, p.line, p.error) for p in m.journal.problems],
        "problem_count": m.journal.problem_count,
        "read": m._unsaved,
        "arrays": {a: [x.tolist() for x in s.arrays()] for a, s in w.series.items()},
    }


def _build(data_dir: Path, threshold: int, blob: bytes | None = None) -> PerformanceMonitor:
    """A fresh monitor (new journal, as a new process) from ``blob`` or no checkpoint."""
    cp = data_dir / checkpoint.PATH
    cp.unlink(missing_ok=True)
    if blob is not None:
        cp.write_bytes(blob)
    m = PerformanceMonitor(
        data_dir,
        clock=FakeClock(NOW),
        alert_manager=QuietAlerts(),  # type: ignore[arg-type]
        parallel_rebuild_bytes=threshold,
    )
    if m._checkpoint_writer is not None:
        m._checkpoint_writer.join()  # its cold-rebuild checkpoint must not feed the next one
    return m


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Small chunks and groups (many pieces), this process slowed down (the worker takes
    several pieces), and a record of each parallel rebuild."""
    monkeypatch.setattr(rebuild, "CHUNK", 4096)
    monkeypatch.setattr(rebuild, "GROUP", 3)
    seen: dict[str, list[Any]] = {"plans": [], "absorbed": [], "here": []}
    plan, absorb, read_here = rebuild.plan, rebuild.absorb, rebuild._read_here

    def planning(*args: Any) -> Any:
        pieces = plan(*args)
        seen["plans"].append(pieces)
        return pieces

    def absorbing(windows: RollingWindows, other: RollingWindows) -> None:
        seen["absorbed"].append(sum(len(s.ts) + len(s.pending) for s in other.series.values()))
        absorb(windows, other)

    def reading_here(*args: Any, **kwargs: Any) -> int:
        seen["here"].append(args[-1])
        n = read_here(*args, **kwargs)
        time.sleep(0.02)  # this process only: the worker is not slowed
        return n

    monkeypatch.setattr(rebuild, "plan", planning)
    monkeypatch.setattr(rebuild, "absorb", absorbing)
    monkeypatch.setattr(rebuild, "_read_here", reading_here)
    return seen


@pytest.mark.parametrize("group", [3, 1_000_000], ids=["cut-inside-files", "cut-between-files"])
def test_parallel_rebuild_equals_sequential(
    data_dir: Path, spy: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch, group: int
) -> None:
    monkeypatch.setattr(rebuild, "GROUP", group)
    _seed(data_dir)
    sequential = _state(_build(data_dir, threshold=0))
    assert spy["plans"] == [] and sequential["problem_count"] >= 10
    assert sequential["series"] and any(r for r in sequential["recent"].values())

    parallel = _state(_build(data_dir, threshold=1))
    pieces = spy["plans"][0]
    assert pieces is not None
    here, there = len(spy["here"]), len(spy["absorbed"])
    assert here >= 1 and there >= 2 and here + there == len(pieces)
    assert spy["here"] == pieces[:here]  # this process: from the front, in order
    if group == 3:
        assert any(p.lines is None for p in pieces[here:])  # worker pieces inside a file
    else:
        assert all(p.start == 0 and p.end is None for p in pieces)  # whole files
    assert parallel == sequential


def test_parallel_catch_up_after_a_checkpoint_equals_sequential(
    data_dir: Path, spy: dict[str, list[Any]]
) -> None:
    _seed(data_dir, seed=3, days=2)
    first = _build(data_dir, threshold=0)
    first.save_checkpoint()
    blob = (data_dir / checkpoint.PATH).read_bytes()
    # more history arrives: new lines in the checkpointed files and new day files
    rnd = random.Random(11)
    end = int(NOW.timestamp() * 1000)
    journal = Journal(data_dir)
    for k in range(3000):
        ts = end - rnd.randint(0, 5 * 86_400_000)
        path = journal.path_for("executions", day_of_ms(ts))
        with path.open("ab") as fh:
            fh.write(_line(rnd, ts) if k % 500 else b"garbage\n")
    sequential = _state(_build(data_dir, threshold=0, blob=blob))
    parallel = _state(_build(data_dir, threshold=1, blob=blob))
    assert spy["absorbed"]
    assert parallel == sequential


def test_a_failed_worker_falls_back_to_reading_here(
    data_dir: Path, spy: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(data_dir, days=3)
    sequential = _state(_build(data_dir, threshold=0))

    def crash(*args: Any) -> Any:
        raise RuntimeError("worker died")

    monkeypatch.setattr(rebuild, "read_part", crash)  # runs in the forked child only
    parallel = _state(_build(data_dir, threshold=1))
    assert spy["plans"][0] is not None and spy["absorbed"] == []
    assert parallel == sequential


def test_a_stuck_worker_is_given_up(
    data_dir: Path, spy: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(data_dir, days=2)
    sequential = _state(_build(data_dir, threshold=0))

    def stuck(*args: Any) -> Any:
        time.sleep(60)

    monkeypatch.setattr(rebuild, "read_part", stuck)  # runs in the forked child only
    monkeypatch.setattr(rebuild, "_TIMEOUT_MIN_S", 0.3)
    started = time.monotonic()
    parallel = _state(_build(data_dir, threshold=1))
    assert time.monotonic() - started < 30  # killed, not waited for
    assert spy["plans"][0] is not None and spy["absorbed"] == []
    assert parallel == sequential


def test_small_catch_ups_never_fork(
    data_dir: Path, spy: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork() -> int:
        raise AssertionError("forked")

    monkeypatch.setattr(rebuild, "_fork", no_fork)
    _seed(data_dir, days=2)
    m = _build(data_dir, threshold=rebuild.PARALLEL_BYTES)  # default: far more than this
    m.track_execution("alpha", duration=5)
    assert m.get_agent_metrics("alpha") is not None
    assert spy["plans"] and set(spy["plans"]) == {None} and spy["absorbed"] == []
    assert _build(data_dir, threshold=0)._windows.system_totals() == m._windows.system_totals()


def test_plan_cuts_files_into_pieces_at_group_boundaries(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rebuild, "CHUNK", 4096)
    monkeypatch.setattr(rebuild, "GROUP", 2)
    _seed(data_dir, days=1)
    m = _build(data_dir, threshold=0)
    m._reader.tails.clear()
    files = m._reader.files()
    unread = sum(f.stat().st_size for f in files)
    pieces = rebuild.plan(m._reader, files, 1, 8)
    assert pieces is not None and len(pieces) >= 6
    for path in files:  # each file read whole, piece after piece
        mine = [p for p in pieces if p.path == path]
        assert mine[0].start == 0 and mine[0].lines == 0 and mine[-1].end is None
        assert [p.end for p in mine[:-1]] == [p.start for p in mine[1:]]
        assert all(p.lines is None for p in mine[1:])
        # the sequential reader's groups from the start of the file pass through every cut
        ends = []
        for _ in m._reader.read_file(path, 4096):
            ends.append(m._reader.tails[path].offset)
        assert {p.start for p in mine[1:]} <= set(ends[1::2])
        assert all(unread / 8 <= p.end - p.start < unread / 8 + 2 * 2 * 4096 for p in mine[:-1])


_APPENDER = """
import sys, time
from core.monitor.performance import PerformanceMonitor
m = PerformanceMonitor(sys.argv[1], parallel_rebuild_bytes=0)
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    m.track_execution(f"live-{i % 3}", duration=float(i % 40), cost=0.00125, tokens_used=i)
    if i % 25 == 0:
        time.sleep(0.002)
m.close()
"""


def test_a_parallel_rebuild_while_an_agent_appends_misses_nothing(
    data_dir: Path, spy: dict[str, list[Any]]
) -> None:
    """Another process appends to today's file while the pieces are read; after a refresh the
    monitor equals a sequential rebuild of the final files, to the record and the nano."""
    import subprocess
    import sys

    _seed(data_dir, days=3)
    root = Path(__file__).resolve().parent.parent
    writer = subprocess.Popen(
        [sys.executable, "-c", _APPENDER, str(data_dir), "1500"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    m = PerformanceMonitor(
        data_dir,
        alert_manager=QuietAlerts(),
        parallel_rebuild_bytes=1,  # type: ignore[arg-type]
    )
    assert spy["plans"][0] is not None and spy["absorbed"]  # a parallel rebuild happened
    assert writer.wait(timeout=120) == 0
    m.refresh()
    if m._checkpoint_writer is not None:
        m._checkpoint_writer.join()
    fresh = PerformanceMonitor(
        data_dir,
        alert_manager=QuietAlerts(),
        parallel_rebuild_bytes=0,  # type: ignore[arg-type]
    )
    assert m._windows.system_totals().to_dict() == fresh._windows.system_totals().to_dict()
    assert m._reader.state() == fresh._reader.state()
    live = {a: t.executions for a, t in m._windows.totals.items() if a.startswith("live-")}
    assert sum(live.values()) == 1500


# --------------------------------------------------------- absorbing a part (the merge)
@settings(max_examples=300, deadline=None)
@given(
    rows=rows_st,
    base=st.integers(0, 200),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=12),
    cut=st.integers(0, 12),
    depts=st.lists(st.sampled_from([None, "x", "y"]), min_size=200, max_size=200),
    small=st.booleans(),
)
def test_absorbing_a_part_equals_adding_its_batches_here(
    rows: list[Row], base: int, sizes: list[int], cut: int, depts: list[str | None], small: bool
) -> None:
    """A rebuild split in two (core.monitor.rebuild) gives exactly the sequential aggregates."""
    from core.monitor.recent import Newest

    # many equal timestamps and backfills: timestamps from a small range
    if small:
        rows = [(a, T0 + ts % 50, e, d, c, k) for a, ts, e, d, c, k in rows]
    head, rest = rows[:base], rows[base:]
    batches, k = [], 0
    for n in [*sizes, len(rest)]:
        some = rest[k : k + n]
        batches.append((some, depts[k : k + len(some)]))
        k += len(some)
    cut = min(cut, len(batches))

    def start() -> tuple[RollingWindows, Newest]:
        w, recent = RollingWindows(), Newest(4)
        for agent, ts, err, dur, cost, tok in head:  # a restored or in-process base
            w.add(agent, ts, err, to_micro(dur), to_nano(cost), tok, department="x")
            recent.add(agent, ts, ts)
        return w, recent

    seq, seq_recent = start()
    for b_rows, b_depts in batches:
        b = _batch(b_rows, b_depts)
        seq_recent.add_groups(seq.add_batch(b), b.ts, b.payload)

    par, par_recent = start()
    for b_rows, b_depts in batches[:cut]:
        b = _batch(b_rows, b_depts)
        par_recent.add_groups(par.add_batch(b), b.ts, b.payload)
    part, part_recent = rebuild.part_windows(), Newest(4)
    for b_rows, b_depts in batches[cut:]:
        b = _batch(b_rows, b_depts)
        part_recent.add_groups(part.add_batch(b), b.ts, b.payload)
    rebuild.absorb(par, part)
    par_recent.absorb(part_recent)

    assert list(par.series) == list(seq.series)
    for agent, s in seq.series.items():
        p = par.series[agent]
        assert p.pending == s.pending  # not merged yet: the very same waiting records
        assert p.arrays() == s.arrays()
    assert {a: t.to_dict() for a, t in par.totals.items()} == {
        a: t.to_dict() for a, t in seq.totals.items()
    }
    assert list(par.day_cost.items()) == list(seq.day_cost.items())
    assert par_recent.items == seq_recent.items and par_recent._seq == seq_recent._seq
