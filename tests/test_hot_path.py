"""The agent's hot path writes what the pydantic models would have written (issue 15, item 6).

``track_cost`` serialises a plainly valid entry through a msgspec mirror (``CostOut``) instead
of building a ``CostEntry``; budget levels are compared as integer bars; ``core.track`` reads
RSS from /proc/self/statm itself. Each shortcut is checked here against the slow path it
replaces: the same bytes, the same levels, the same figure, the same refusals.
"""

from __future__ import annotations

import math
import os
import struct
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import core
from core.costs.forecast import level_bars, level_index, level_of
from core.costs.ledger import CostTracker
from core.monitor.performance import PerformanceMonitor
from core.record_rows import CostOut, cost_out_line
from core.records import MAX_ENTRY_COST, MAX_EPOCH_MS, CostEntry, Execution
from core.tracking import _rss
from tests.conftest import FakeClock

NOW_MS = 1_764_158_400_000  # FakeClock's 2026-11-26 12:00 UTC

# Names the name rule accepts, awkward ones for a JSON encoder included.
names = st.sampled_from(
    ["a", "lead scorer", "Sales", "é😀 x", 'q"uote', "back\\slash", "\u2028sep", "<>&", "x" * 200]
)
any_floats = st.floats(0, MAX_ENTRY_COST, allow_nan=False) | st.builds(
    lambda bits: abs(struct.unpack("d", struct.pack("Q", bits))[0]),
    st.integers(0, 2**64 - 1),
).filter(lambda x: math.isfinite(x) and x <= MAX_ENTRY_COST)
tokens = st.integers(0, 10**12)


@settings(max_examples=400, deadline=None)
@given(
    ts=st.integers(0, MAX_EPOCH_MS),
    agent=names,
    department=names,
    model=names,
    counts=st.tuples(tokens, tokens, tokens, tokens),
    cost=any_floats,
    pricing=st.sampled_from(["exact", "family", "caller", "reported", "unpriced"]),
    host=st.sampled_from(["", "bench", "host.example", "é"]),
    pid=st.integers(0, 2**32 - 1),
    source_id=st.none() | st.text(min_size=1, max_size=120),
)
def test_the_msgspec_mirror_writes_the_models_bytes(
    ts: int,
    agent: str,
    department: str,
    model: str,
    counts: tuple[int, int, int, int],
    cost: float,
    pricing: str,
    host: str,
    pid: int,
    source_id: str | None,
) -> None:
    fields: dict[str, Any] = dict(
        timestamp=ts, agent=agent, department=department, model=model,
        input_tokens=counts[0], output_tokens=counts[1], cache_read_tokens=counts[2],
        cache_write_tokens=counts[3], cost=cost, pricing=pricing, host=host, pid=pid,
        source_id=source_id,
    )  # fmt: skip
    assert cost_out_line(CostOut(**fields)) == CostEntry(**fields).to_json_line()


def _lines(data_dir: Path, kind: str) -> list[bytes]:
    sub = {"ledger": "costs", "executions": "metrics"}[kind]
    out: list[bytes] = []
    for path in sorted((data_dir / sub).glob(f"{kind}-*.jsonl")):
        out.extend(path.read_bytes().splitlines(keepends=True))
    return out


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    agent=names,
    department=st.sampled_from(["sales", "Sales", "ops", "é dept"]),
    model=st.sampled_from(["sonnet", "claude-3-5-haiku-20241022", "gpt-x", "opus"]),
    counts=st.tuples(*[st.integers(0, 5000) | st.just(10**11)] * 4),
    cost=st.none() | st.floats(0, 1000, allow_nan=False),
    reported=st.booleans(),
    back_ms=st.sampled_from([0, 3_600_000, 3 * 86_400_000]),
    host=st.sampled_from([None, "", "ingest-host"]),
    source_id=st.sampled_from([None, "otlp:abc:def"]),
)
def test_track_cost_writes_what_a_cost_entry_writes(
    data_dir: Path,
    clock: FakeClock,
    agent: str,
    department: str,
    model: str,
    counts: tuple[int, int, int, int],
    cost: float | None,
    reported: bool,
    back_ms: int,
    host: str | None,
    source_id: str | None,
) -> None:
    """Twice each: a name's first call goes through the model, later ones take the mirror."""
    tracker = CostTracker(data_dir, clock=clock)
    try:
        for _ in range(2):
            before = Counter(_lines(data_dir, "ledger"))
            result = tracker.track_cost(
                agent, department, model=model, input_tokens=counts[0],
                output_tokens=counts[1], cache_read_tokens=counts[2],
                cache_write_tokens=counts[3], cost=cost, timestamp=NOW_MS - back_ms,
                host=host, source_id=source_id, reported=reported,
            )  # fmt: skip
            (line,) = (Counter(_lines(data_dir, "ledger")) - before).elements()
            written = CostEntry.model_validate_json(line)
            assert written.to_json_line() == line  # exactly the model's bytes
            _, pricing = tracker.prices.resolve(model)
            expected = CostEntry(
                timestamp=NOW_MS - back_ms, agent=agent, department=department, model=model,
                input_tokens=counts[0], output_tokens=counts[1], cache_read_tokens=counts[2],
                cache_write_tokens=counts[3], cost=result.cost,
                pricing=("reported" if reported else "caller") if cost is not None else pricing,
                host=tracker._host if host is None else host, pid=os.getpid(),
                source_id=source_id,
            )  # fmt: skip
            assert line == expected.to_json_line()
            if cost is not None:
                assert result.cost == cost
    finally:
        tracker.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agent", "bad\x1bname"),
        ("agent", ""),
        ("department", " "),
        ("department", 7),
        ("host", "two\nlines"),
        ("host", "h" * 256),
        ("source_id", ""),
        ("source_id", "s" * 121),
        ("source_id", 5),
    ],
)
def test_refusals_after_the_names_are_known_are_the_models(
    data_dir: Path, clock: FakeClock, field: str, value: object
) -> None:
    """With every good name already remembered, a bad field still gets the model's error
    and the data directory stays as it was."""
    tracker = CostTracker(data_dir, clock=clock)
    good: dict[str, Any] = {"agent": "a", "department": "sales", "host": None, "source_id": None}
    tracker.track_cost(good["agent"], good["department"], model="sonnet", input_tokens=5)
    before = _lines(data_dir, "ledger")
    bad = {**good, field: value}
    with pytest.raises(ValidationError) as refused:
        tracker.track_cost(
            bad["agent"], bad["department"], model="sonnet", input_tokens=5,
            host=bad["host"], source_id=bad["source_id"],
        )  # fmt: skip
    with pytest.raises(ValidationError) as model_says:
        CostEntry(
            timestamp=NOW_MS, agent=bad["agent"], department=bad["department"], model="sonnet",
            input_tokens=5, cost=1.5e-05, pricing="family", host=bad["host"] or "", pid=1,
            source_id=bad["source_id"],
        )  # fmt: skip
    assert refused.value.errors(
        include_url=False, include_context=False
    ) == model_says.value.errors(include_url=False, include_context=False)
    assert _lines(data_dir, "ledger") == before
    tracker.close()


def test_a_price_beyond_an_entrys_bound_is_refused_as_before(
    data_dir: Path, clock: FakeClock
) -> None:
    from core.config import Config, Price

    config = Config(pricing={"pricey": Price(input=10_000, output=10_000)})
    tracker = CostTracker(data_dir, clock=clock, config=config)
    tracker.track_cost("a", "sales", model="pricey", input_tokens=5)
    before = _lines(data_dir, "ledger")
    with pytest.raises(ValidationError) as refused:  # 10^12 tokens at $10,000/M: $10^10
        tracker.track_cost("a", "sales", model="pricey", input_tokens=10**12)
    assert refused.value.errors()[0]["loc"] == ("cost",)
    assert _lines(data_dir, "ledger") == before
    tracker.close()


@settings(max_examples=500, deadline=None)
@given(
    budget=st.floats(0.01, 1e9) | st.sampled_from([0.01, 1.0, 100.0, 0.3, 1e9]),
    levels=st.sampled_from([(0.75, 0.9, 1.0), (0.5, 0.8, 1.0), (0.1, 0.3333333333, 0.99)]),
    offset=st.integers(-3, 3),
    level=st.integers(0, 2),
    scale=st.floats(0, 2),
)
def test_integer_bars_give_the_exact_decimal_level(
    budget: float, levels: tuple[float, ...], offset: int, level: int, scale: float
) -> None:
    bars = level_bars(budget, levels)
    for spent in (bars[level] + offset, int(budget * 1e9 * scale)):
        spent = max(spent, 0)
        assert level_of(spent, bars) == level_index(spent, budget, levels)


def test_budget_alerts_fire_on_the_fast_path_as_before(data_dir: Path, clock: FakeClock) -> None:
    """Levels crossed by single calls (the mirror's path) raise info, warning and critical."""
    from core.config import Config

    tracker = CostTracker(data_dir, clock=clock, config=Config(budgets={"sales": 1.0}))
    seen = []
    for _ in range(12):  # $0.10 each: 75 % at the 8th call, 90 % at the 9th, 100 % at the 10th
        tracker.track_cost("a", "sales", model="sonnet", cost=0.1)
        open_alerts = tracker.alert_manager.get_alerts(limit=500, resolved=False)
        # (burn-rate alerts fire too at this pace: not what this test is about)
        seen.append(sorted({a.type for a in open_alerts} - {"budget_burn_rate"}))
    assert seen[6] == []
    assert seen[7] == ["budget_info"]
    assert seen[8] == ["budget_info", "budget_warning"]
    assert seen[9] == seen[11] == ["budget_exceeded", "budget_info", "budget_warning"]
    tracker.close()


def test_a_tracked_run_writes_the_models_lines(data_dir: Path, clock: FakeClock) -> None:
    monitor = PerformanceMonitor(data_dir, clock=clock)
    tracker = CostTracker(data_dir, clock=clock)
    for i in range(3):
        with core.track(
            "lead scorer",
            department="Sales",
            model="sonnet",
            monitor=monitor,
            tracker=tracker,
            clock=clock,
        ) as run:
            run.record_usage(input_tokens=100 + i, output_tokens=50, cache_read_tokens=i)
    costs, executions = _lines(data_dir, "ledger"), _lines(data_dir, "executions")
    assert len(costs) == len(executions) == 3
    for cost_line, exec_line in zip(costs, executions, strict=True):
        entry = CostEntry.model_validate_json(cost_line)
        execution = Execution.model_validate_json(exec_line)
        assert entry.to_json_line() == cost_line
        assert execution.to_json_line() == exec_line
        assert execution.cost == entry.cost and execution.timestamp == entry.timestamp
    monitor.close()
    tracker.close()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="no /proc")
def test_rss_is_psutils_figure_and_follows_a_fork() -> None:
    import psutil

    proc = psutil.Process()
    held = bytearray(64 << 20)  # 64 MiB touched: both readings must see it
    for i in range(0, len(held), 4096):
        held[i] = 1
    ours, theirs = _rss(), proc.memory_info().rss
    assert abs(ours - theirs) < 4 << 20
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own figure, not the parent's (whose descriptor it inherited)
        try:
            more = bytearray(128 << 20)
            for i in range(0, len(more), 4096):
                more[i] = 1
            child = psutil.Process()
            os.write(write, f"{_rss()} {child.memory_info().rss}".encode())
        finally:
            os._exit(0)
    os.close(write)
    got = os.read(read, 100).decode().split()
    os.waitpid(pid, 0)
    child_ours, child_theirs = map(int, got)
    assert abs(child_ours - child_theirs) < 4 << 20
    assert sys.platform.startswith("linux")


_floats_ms = st.floats(0, 1e10) | st.sampled_from([0.0, 5e-324, 1e10, 1.5])
RUN_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from(["completed", "error", "failed"]),
    "duration": _floats_ms,
    "cpu_time": _floats_ms,
    "memory_delta": st.floats(-1e15, 1e15),
    "cost": st.floats(0, 1e6),
    "input_tokens": st.integers(0, 10**11),
    "output_tokens": st.integers(0, 10**11),
    "cache_read_tokens": st.integers(0, 10**11),
    "cache_write_tokens": st.integers(0, 10**11),
    "api_calls": st.integers(0, 10**12),
    "model": st.none() | names,
    "department": st.none() | names,
    "error": st.none() | st.text(max_size=50),
}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(agent=names, fields=st.fixed_dictionaries(RUN_FIELDS), back_ms=st.sampled_from([0, 5000]))
def test_record_run_writes_what_track_execution_writes(
    data_dir: Path, clock: FakeClock, agent: str, fields: dict[str, Any], back_ms: int
) -> None:
    """core.track's execution: twice each (the first call of new names takes the model)."""
    from core.monitor.performance import _HOST

    monitor = PerformanceMonitor(data_dir, clock=clock)
    try:
        for _ in range(2):
            before = Counter(_lines(data_dir, "executions"))
            monitor.record_run(agent, timestamp=NOW_MS - back_ms, **fields)
            (line,) = (Counter(_lines(data_dir, "executions")) - before).elements()
            parts = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
            expected = Execution(
                timestamp=NOW_MS - back_ms, agent=agent, host=_HOST, pid=os.getpid(),
                tokens_used=sum(fields[k] for k in parts), **fields,
            )  # fmt: skip
            assert line == expected.to_json_line()
        if back_ms == 0:  # the newest of the agent: the console reads the same record back
            assert monitor.get_recent_executions(agent)[0] == expected
    finally:
        monitor.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", math.nan),
        ("duration", -1.0),
        ("cpu_time", 1e11),
        ("memory_delta", math.inf),
        ("cost", 2e6),
        ("status", "weird"),
        ("status", None),
        ("error", "\ud800"),
        ("input_tokens", 10**12 + 1),
        ("api_calls", -1),
        ("output_tokens", 1.5),
        ("model", "bad\nmodel"),
        ("department", ""),
    ],
)
def test_record_run_refuses_as_track_execution_does(
    data_dir: Path, clock: FakeClock, field: str, value: object
) -> None:
    good: dict[str, Any] = dict(
        status="completed", duration=1.0, cpu_time=0.5, memory_delta=0.0, cost=0.1,
        input_tokens=5, output_tokens=6, cache_read_tokens=0, cache_write_tokens=0,
        api_calls=1, model="sonnet", department="sales", error=None,
    )  # fmt: skip
    monitor = PerformanceMonitor(data_dir, clock=clock)
    monitor.record_run("a", timestamp=NOW_MS, **good)
    monitor.record_run("a", timestamp=NOW_MS, **good)  # every name remembered now
    before = _lines(data_dir, "executions")
    bad = {**good, field: value}
    with pytest.raises(ValidationError) as refused:
        monitor.record_run("a", timestamp=NOW_MS, **bad)
    with pytest.raises(ValidationError) as tracked:
        used = {}
        if all(type(bad[k]) is int for k in ("input_tokens", "output_tokens")):
            used = {"tokens_used": bad["input_tokens"] + bad["output_tokens"]}
        monitor.track_execution("a", timestamp=NOW_MS, **bad, **used)
    assert refused.value.errors(include_url=False, include_context=False) == tracked.value.errors(
        include_url=False, include_context=False
    )
    assert _lines(data_dir, "executions") == before
    monitor.close()


def _set_budget_elsewhere(data_dir: Path, department: str, amount: float) -> None:
    """``budgets set`` from another process, through the journal as every writer does."""
    import subprocess
    import textwrap

    root = Path(__file__).resolve().parent.parent
    script = """
        import sys
        from core.config import Config, RuntimeBudgets
        from core.journal.store import Journal
        RuntimeBudgets(Config(), Journal(sys.argv[1])).set(sys.argv[2], float(sys.argv[3]))
    """
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(data_dir), department, str(amount)],
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
        timeout=60,
    )


def test_a_budget_set_by_another_process_is_seen_by_the_next_track_cost(
    data_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The beacon, not the periodic ``stat``, tells of the edit: the recheck is an hour."""
    from core.config import BUDGETS_FILE, Config, RuntimeBudgets
    from core.journal.store import WATCHED_DOCUMENTS

    assert BUDGETS_FILE in WATCHED_DOCUMENTS
    monkeypatch.setattr(RuntimeBudgets, "RECHECK_NS", 3600 * 10**9)
    tracker = CostTracker(data_dir, clock=clock, config=Config(budgets={"sales": 100.0}))
    first = tracker.track_cost("a", "sales", model="sonnet", cost=0.1)
    assert first.department_budget == 100.0
    for amount in (5.0, 7.0):
        _set_budget_elsewhere(data_dir, "sales", amount)
        after = tracker.track_cost("a", "sales", model="sonnet", cost=0.1)
        assert after.department_budget == amount
    tracker.close()


def test_an_edit_by_hand_is_seen_within_the_recheck(data_dir: Path, clock: FakeClock) -> None:
    """A writer that bypasses the journal does not move the beacon: the ``stat`` fallback
    (at least every ``RuntimeBudgets.RECHECK_NS``) still finds its edit."""
    import time

    from core.config import Config, RuntimeBudgets

    assert RuntimeBudgets.RECHECK_NS <= 1_000_000_000
    tracker = CostTracker(data_dir, clock=clock, config=Config(budgets={"sales": 100.0}))
    assert tracker.track_cost("a", "sales", model="sonnet", cost=0.1).department_budget == 100.0
    (data_dir / "budgets.toml").write_text("[budgets]\nsales = 9.0\n")
    deadline = time.monotonic() + 10
    while tracker.track_cost("a", "sales", model="sonnet", cost=0.1).department_budget != 9.0:
        assert time.monotonic() < deadline, "the edit by hand was never seen"
        time.sleep(0.05)
    tracker.close()


def test_track_cost_makes_no_stat_nor_getpid_while_nothing_changed(
    data_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import Config, RuntimeBudgets

    monkeypatch.setattr(RuntimeBudgets, "RECHECK_NS", 3600 * 10**9)  # far from any alert:
    tracker = CostTracker(data_dir, clock=clock, config=Config(budgets={"sales": 1e6}))
    tracker.track_cost("a", "sales", model="sonnet", cost=0.0001)  # files opened, budgets read
    calls: Counter[str] = Counter()
    real_stat, real_fstat = os.stat, os.fstat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        calls["stat"] += 1
        return real_stat(path, *args, **kwargs)

    def fstat(fd: int) -> os.stat_result:
        calls["fstat"] += 1
        return real_fstat(fd)

    def getpid() -> int:
        calls["getpid"] += 1
        return pid

    pid = os.getpid()
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "fstat", fstat)
    monkeypatch.setattr(os, "getpid", getpid)
    for _ in range(200):
        tracker.track_cost("a", "sales", model="sonnet", cost=0.0001)
    monkeypatch.undo()
    assert calls["stat"] == calls["getpid"] == 0
    assert calls["fstat"] <= 10  # the day file's "still linked?" check, once a second
    tracker.close()


def test_a_forked_child_records_its_own_pid(data_dir: Path, clock: FakeClock) -> None:
    """The pid ``track_cost`` caches is the child's after a ``fork``."""
    tracker = CostTracker(data_dir, clock=clock)
    tracker.track_cost("a", "sales", model="sonnet", cost=0.0001)
    pid = os.fork()
    if pid == 0:
        try:
            tracker.track_cost("a", "sales", model="sonnet", cost=0.0001)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    tracker.track_cost("a", "sales", model="sonnet", cost=0.0001)
    pids = [CostEntry.model_validate_json(line).pid for line in _lines(data_dir, "ledger")]
    assert pids == [os.getpid(), pid, os.getpid()]
    tracker.close()


def test_a_budget_lookup_does_not_create_the_data_directory(tmp_path: Path) -> None:
    """Only a write creates it: a console watching a directory that is not there yet
    looks budgets up too."""
    from core.config import Config, RuntimeBudgets
    from core.journal.store import Journal

    data_dir = tmp_path / "not" / "yet"
    budgets = RuntimeBudgets(Config(budgets={"sales": 100.0}), Journal(data_dir))
    assert budgets.budget_for("sales") == 100.0
    assert not data_dir.exists()
    budgets.set("sales", 5.0)
    assert budgets.budget_for("sales") == 5.0


def test_a_forked_child_records_executions_with_its_own_pid(
    data_dir: Path, clock: FakeClock
) -> None:
    """A monitor built before a ``fork`` writes the child's pid in the child (the field
    names the writer), on the fast path and the model's."""
    monitor = PerformanceMonitor(data_dir, clock=clock)
    tracker = CostTracker(data_dir, clock=clock)

    def one_run() -> None:
        with core.track("a", model="sonnet", monitor=monitor, tracker=tracker, clock=clock) as r:
            r.record_usage(input_tokens=1)
        monitor.track_execution("a", duration=1.0, tokens_used=1)

    one_run()
    pid = os.fork()
    if pid == 0:
        try:
            one_run()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    pids = [Execution.model_validate_json(line).pid for line in _lines(data_dir, "executions")]
    assert pids == [os.getpid()] * 2 + [pid] * 2
    monitor.close()
    tracker.close()


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["add", "add", "add", "old", "trim", "ask"]),
            st.integers(0, 10_000),
        ),
        max_size=80,
    ),
    windows=st.tuples(st.integers(0, 5_000), st.integers(0, 5_000)),
)
def test_recent_figures_hinted_starts_are_the_bisections(
    steps: list[tuple[str, int]], windows: tuple[int, int]
) -> None:
    """The thresholds' figures start each window where the last call found it (two reads
    instead of a bisection): after adds, out-of-order adds, trims and any ``now``, they are
    what bisecting the whole series gives."""
    from bisect import bisect_right

    from core.monitor.windows import PrefixSeries

    long_ms, short_ms = windows
    s, now = PrefixSeries(), 0
    for op, value in steps:
        if op == "add":
            now += value % 300
            s.add(now, value % 2, value, 1, 1)
        elif op == "old":
            s.add(max(0, now - value), 1, value, 1, 1)
        elif op == "trim":
            s.trim(now - value)
        got = s.recent_figures(now + (value % 50) - 25 if op == "ask" else now, long_ms, short_ms)
        at = now + (value % 50) - 25 if op == "ask" else now
        t = s.ts
        j = bisect_right(t, at)
        i = bisect_right(t, at - long_ms, 0, j)
        k = bisect_right(t, at - short_ms, i, j) if short_ms <= long_ms else 0
        assert got == (j - i, s.pre_err[j] - s.pre_err[i], j - k, s.pre_dur[j] - s.pre_dur[k])
