"""The ledger's hot-path shortcuts pinned to the slow paths they replace (issue 15, item 6).

``LedgerAggregates.add`` sums an entry into one slot and folds the slots into the cells only
when something reads them; the plain lane hands the price's nano-dollars to the aggregates
instead of converting the written USD again. Here: reads interleaved with adds see what a
recount sees, and the nano-dollars passed on are the ones the conversion gives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import MS_PER_DAY
from core.costs.aggregates import LedgerAggregates
from core.costs.ledger import CostTracker
from core.costs.nanos import EXACT_NANOS, EXACT_USD, nanos_to_usd, usd_to_nanos
from core.record_rows import CostLine
from tests.conftest import FakeClock

_T0 = int(datetime(2026, 10, 30, tzinfo=UTC).timestamp() * 1000)


@settings(max_examples=2000, deadline=None)
@given(
    n=st.integers(0, EXACT_NANOS - 1)
    | st.integers(EXACT_NANOS - 10**6, EXACT_NANOS - 1)
    | st.integers(0, 10**7)
)
def test_nanos_below_the_bound_survive_the_round_trip(n: int) -> None:
    """What the plain lane passes on is what ``usd_to_nanos`` of the written cost gives."""
    usd = nanos_to_usd(n)
    assert usd < EXACT_USD
    assert usd_to_nanos(usd) == n


def test_the_bound_in_usd_is_the_bound_in_nanos() -> None:
    for n in (EXACT_NANOS - 2, EXACT_NANOS - 1):
        assert nanos_to_usd(n) < EXACT_USD
    for n in (EXACT_NANOS, EXACT_NANOS + 1, 2**53, 10**18):
        assert not nanos_to_usd(n) < EXACT_USD


_entry = st.tuples(
    st.integers(0, 40 * MS_PER_DAY),  # from 2026-10-30: two month ends
    st.sampled_from(["a", "b"]),
    st.sampled_from(["sales", "Sales", "ops"]),
    st.sampled_from(["opus", "sonnet"]),
    st.integers(0, 10**10),  # nano-dollars
    st.integers(0, 3000),
)
_step = st.one_of(
    st.tuples(st.just("add"), _entry),
    st.tuples(st.just("read"), st.sampled_from(["days", "months", "agents", "totals", "rollup"])),
)


def _tables(agg: LedgerAggregates) -> dict[str, Any]:
    return {
        "days": agg.days,
        "months": agg.months,
        "day_totals": agg.day_totals,
        "month_totals": agg.month_totals,
        "month_departments": agg.month_departments,
        "agents": agg.agents,
        "entries": agg.entries,
        "recent": agg.recent.rows(),
    }


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(_step, max_size=60))
def test_reads_between_adds_see_a_recount(steps: list[tuple[str, Any]]) -> None:
    """Every read, at any point, equals the same entries folded at once by ``add_many`` (the
    batch path) and the brute-force sums; the figures the alerts read each call are current
    after every add, without a read."""
    live = LedgerAggregates()
    rows: list[CostLine] = []
    for kind, arg in steps:
        if kind == "add":
            off, agent, dept, model, nanos, tok = arg
            row = CostLine(_T0 + off, agent, dept, model, tok, tok // 2, tok // 3, 1, nanos / 1e9)
            rows.append(row)
            slot = live.add(row, nanos if nanos % 2 else -1)  # given or worked out: the same
            day = row.timestamp // MS_PER_DAY
            month = live.month_of_day(day)
            same_month = [
                usd_to_nanos(r.cost)
                for r in rows
                if r.department.lower() == dept.lower()
                and live.month_of_day(r.timestamp // MS_PER_DAY) == month
            ]
            assert slot.lower == dept.lower()
            assert slot.depts[slot.lower] == sum(same_month)
            assert live.department_month_nanos(dept, month) == sum(same_month)
            on_day = [usd_to_nanos(r.cost) for r in rows if r.timestamp // MS_PER_DAY == day]
            assert live.day_sums[day].nanos == sum(on_day)
            continue
        recount = LedgerAggregates()
        recount.add_many(rows, [usd_to_nanos(r.cost) for r in rows])
        if arg == "totals":
            assert live.day_totals == recount.day_totals
            assert live.month_totals == recount.month_totals
        elif arg == "rollup":
            first, last = date(2026, 10, 30), date(2026, 12, 9)
            for by in (0, 1, 2):
                assert live.rollup(first, last, by) == recount.rollup(first, last, by)
        else:
            assert getattr(live, arg) == getattr(recount, arg)
    recount = LedgerAggregates()
    recount.add_many(rows, [usd_to_nanos(r.cost) for r in rows])
    assert _tables(live) == _tables(recount)
    for name, totals in live.agents.items():  # the department of the newest (later on ties)
        mine = [r for r in rows if r.agent == name]
        newest = max(r.timestamp for r in mine)
        last = [r for r in mine if r.timestamp == newest][-1]
        assert totals.department == last.department.lower()
        assert totals.total.executions == len(mine)
        assert totals.total.input_tokens == sum(r.input_tokens for r in mine)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["sales", "Ops"]),
            st.sampled_from(["sonnet", "claude-opus-4-5", "claude-3-5-haiku"]),
            st.tuples(*[st.integers(0, 10**6) | st.just(10**11)] * 4),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_a_live_tracker_equals_one_rebuilt_from_its_files(
    tmp_path_factory: Any, calls: list[tuple[str, str, str, tuple[int, ...], bool]]
) -> None:
    """Priced entries (nano-dollars passed on, or not beyond the bound) fold into the same
    sums as a cold start reading the lines back (``usd_to_nanos`` of each written cost)."""
    data_dir: Path = tmp_path_factory.mktemp("slots")
    clock = FakeClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    live = CostTracker(data_dir, clock=clock)
    for agent, dept, model, (i, o, r, w), run in calls:
        if run:
            ts = int(clock().timestamp() * 1000)
            live.record_run_cost(agent, dept, model, i, o, r, w, None, ts)
        else:
            live.track_cost(
                agent, dept, model=model, input_tokens=i, output_tokens=o,
                cache_read_tokens=r, cache_write_tokens=w,
            )  # fmt: skip
        clock.advance(seconds=7)
    cold = CostTracker(data_dir, clock=clock)
    cold.refresh()
    live.refresh()
    assert _tables(live._agg) == _tables(cold._agg)
    live.close()
    cold.close()
