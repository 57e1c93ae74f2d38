"""The monitor's per-record shortcuts pinned to the slow paths they replace: totals summed
when read, prefix sums widened on overflow, the thresholds' gate after a record, and
``record_plain_run``'s own folding (same figures, lines and alerts as ``track_execution``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Config, ThresholdsConfig
from core.monitor import windows as windows_module
from core.monitor.performance import _HOST, PerformanceMonitor
from core.monitor.thresholds import ThresholdWatch
from core.monitor.windows import (
    MS_PER_HOUR,
    REFUSED,
    Batch,
    ExecutionTotals,
    PrefixSeries,
    RollingWindows,
)
from core.record_rows import CostOut
from core.records import remember_valid
from tests.conftest import FakeClock

T0 = 1_764_158_400_000
AGENTS = ["a", "b", "c"]

record_st = st.tuples(
    st.sampled_from(AGENTS),
    st.integers(T0, T0 + 3 * MS_PER_HOUR),
    st.sampled_from([0, 0, 1, REFUSED]),
    st.integers(0, 10**6),  # dur
    st.integers(0, 10**4),  # cost
    st.integers(0, 100),  # tok
    st.integers(0, 10**4),  # cpu
    st.integers(-(10**4), 10**4),  # mem
    st.integers(0, 3),  # api
    st.sampled_from([None, "x", "y"]),
)


def _eager(totals: dict[str, ExecutionTotals], row: tuple[Any, ...]) -> None:
    """What ``RollingWindows.add`` did to the totals before they were summed when read."""
    agent, ts, err, dur, cost, tok, cpu, mem, api, dept = row
    t = totals.setdefault(agent, ExecutionTotals())
    if err == REFUSED:
        t.refused += 1
        return
    t.add(1, err, dur, cost, tok, cpu, mem, api)
    if t.last_ts is None or ts >= t.last_ts:
        t.last_ts = ts
    if dept is not None and ts >= t.department_ts:
        t.department, t.department_ts = dept, ts


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.one_of(record_st, st.just("read"), st.lists(record_st, max_size=5))),
    cap=st.integers(1, 8),
)
def test_totals_summed_when_read_are_those_added_one_by_one(steps: list[Any], cap: int) -> None:
    """Reads, batches and the cap on rows kept aside, in any order: the same totals as
    updating them on every ``add``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(windows_module, "_UNFOLDED_MAX", cap)
        _check_totals(steps)


def _check_totals(steps: list[Any]) -> None:
    w, expected = RollingWindows(), dict[str, ExecutionTotals]()
    for step in steps:
        if step == "read":
            assert {a: t.to_dict() for a, t in w.totals.items()} == {
                a: t.to_dict() for a, t in expected.items()
            }
        elif isinstance(step, list):
            rows = [r for r in step if r[2] != REFUSED]
            if not rows:
                continue
            agent, ts, err, dur, cost, tok, cpu, mem, api, dept = map(list, zip(*rows, strict=True))
            w.add_batch(
                Batch(ts, agent, err, dur, cost, tok, cpu, mem, api, dept, [None] * len(rows))
            )
            # add_batch keeps the newest department of the batch, as adding each in turn
            for row in rows:
                _eager(expected, row)
        else:
            w.add(*step)
            _eager(expected, step)
    assert {a: t.to_dict() for a, t in w.totals.items()} == {
        a: t.to_dict() for a, t in expected.items()
    }
    assert w.system_totals().to_dict() == _merged(expected.values()).to_dict()


def _merged(totals: Any) -> ExecutionTotals:
    out = ExecutionTotals()
    for t in totals:
        out.merge(t)
    return out


@pytest.mark.parametrize("column", range(4))
def test_a_prefix_sum_leaving_int64_in_any_column_goes_on_exactly(column: int) -> None:
    """The array refusing a sum (no compare per record) leaves every column as it was, then
    the sums go on as Python integers."""
    s = PrefixSeries()
    big = [0, 0, 0, 0]
    big[column] = 2**62
    for i in range(3):
        s.add(T0 + i, *big)
    assert s.sums(T0 - 1, T0 + 3)[1:] == tuple(3 * v for v in big)
    assert len(s.ts) == 3 and all(len(p) == 4 for p in s.arrays()[1:])
    s.add(T0 + 1, 1, 1, 1, 1)  # out of order after widening
    assert s.sums(T0 - 1, T0 + 3)[1:] == tuple(3 * v + 1 for v in big)


class _Sink:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def add_alert(self, level: str, type: str, message: str, data: Any = None) -> None:
        self.events.append(("add", level, type, message, data))

    def resolve(self, type: str, **subject: Any) -> int:
        self.events.append(("resolve", type, subject))
        return 1


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(
        st.tuples(
            st.sampled_from(AGENTS),
            st.integers(0, 90_000),  # ms after the previous record
            st.booleans(),  # an error
            st.integers(0, 60_000_000),  # duration µs
            st.integers(0, 3 * 10**9),  # cost nano
        ),
        max_size=80,
    ),
    min_executions=st.integers(0, 4),
    budget=st.sampled_from([1.0, 5.0, 50.0]),
)
def test_after_record_raises_and_resolves_as_checking_every_time(
    records: list[tuple[str, int, bool, int, int]], min_executions: int, budget: float
) -> None:
    """The gate after a record against ``check_agent`` and ``check_budget`` called every
    time: the same alerts raised and resolved, in the same order, the same held state."""
    t = ThresholdsConfig(
        min_executions=min_executions,
        error_rate_warning=0.2,
        error_rate_critical=0.5,
        response_time_warning_ms=20_000,
        daily_budget=budget,
    )
    gated, every = _Sink(), _Sink()
    watch, reference = ThresholdWatch(t, lambda: gated), ThresholdWatch(t, lambda: every)
    w, now = RollingWindows(), T0
    for agent, step, err, dur, cost in records:
        now += step
        w.add(agent, now, int(err), dur, cost, 1)
        watch.after_record(w, agent, now)
        reference.check_agent(w, agent, now)
        reference.check_budget(w, now)
        assert gated.events == every.events
        assert watch.raised == reference.raised


RUN_FIELDS = {
    "status": st.sampled_from(["completed", "error", "failed", "refused"]),
    "duration": st.floats(0, 120_000, allow_nan=False),
    "cpu_time": st.floats(0, 5_000, allow_nan=False),
    "memory_delta": st.floats(-1e9, 1e9, allow_nan=False),
    "api_calls": st.integers(0, 5),
    "error": st.none() | st.sampled_from(["boom", "RuntimeError: x"]),
}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    runs=st.lists(
        st.tuples(
            st.sampled_from(AGENTS),
            st.fixed_dictionaries(RUN_FIELDS),
            st.integers(0, 2000),  # input tokens
            st.floats(0, 2.0, allow_nan=False),  # cost
            st.integers(0, 90),  # seconds later
        ),
        min_size=1,
        max_size=25,
    )
)
def test_record_plain_run_folds_what_track_execution_folds(
    tmp_path_factory: pytest.TempPathFactory, runs: list[Any]
) -> None:
    """The same lines, windows, totals, newest list and alerts as ``track_execution`` given
    the same fields (``record_plain_run`` folds the fields it checked, not a model)."""
    root = tmp_path_factory.mktemp("plain")
    clock_a, clock_b = FakeClock(), FakeClock()
    sinks = _Sink(), _Sink()
    config = Config(thresholds={"daily_budget": 3.0, "min_executions": 2})
    plain = PerformanceMonitor(root / "a", clock=clock_a, config=config)
    model = PerformanceMonitor(root / "b", clock=clock_b, config=config)
    plain._alert_manager, model._alert_manager = sinks  # type: ignore[assignment]
    remember_valid(("sales", "sonnet", *AGENTS), _HOST)
    try:
        for agent, fields, tokens, cost, later in runs:
            clock_a.advance(seconds=later)
            clock_b.advance(seconds=later)
            ts = int(clock_a().timestamp() * 1000)
            entry = CostOut(
                ts, agent, "sales", "sonnet", tokens, 7, 0, 0, cost, "caller", _HOST, os.getpid()
            )
            assert plain.record_plain_run(entry, **fields)
            model.track_execution(
                agent, timestamp=ts, model="sonnet", department="sales", cost=cost,
                input_tokens=tokens, output_tokens=7, cache_read_tokens=0, cache_write_tokens=0,
                **fields,
            )  # fmt: skip
            assert sinks[0].events == sinks[1].events
        assert _lines(root / "a") == _lines(root / "b")
        wa, wb = plain._windows, model._windows
        assert {a: t.to_dict() for a, t in wa.totals.items()} == {
            a: t.to_dict() for a, t in wb.totals.items()
        }
        assert wa.day_cost == wb.day_cost
        for agent in wa.series:
            assert [list(c) for c in wa.series[agent].arrays()] == [
                list(c) for c in wb.series[agent].arrays()
            ]
            assert plain.get_recent_executions(agent) == model.get_recent_executions(agent)
    finally:
        plain.close()
        model.close()


def _lines(data: Path) -> list[bytes]:
    out: list[bytes] = []
    for path in sorted(data.rglob("executions-*.jsonl")):
        out += path.read_bytes().splitlines()
    return out
