"""Rolling windows: exact against a brute-force recount, to the execution and the nano-dollar."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.monitor import rebuild
from core.monitor.windows import (
    MS_PER_DAY,
    WINDOWS,
    Batch,
    PrefixSeries,
    RollingWindows,
    Sums,
    to_micro,
    to_nano,
)

T0 = 1_764_158_400_000  # 2025-11-26T12:00Z
SPAN = 9 * MS_PER_DAY

Row = tuple[str, int, int, float, float, int]  # agent, ts, err, duration ms, cost USD, tokens

rows_st = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(T0, T0 + SPAN),
        st.integers(0, 1),
        st.floats(0, 100_000, allow_nan=False),
        st.one_of(st.just(0.0), st.floats(0, 5, allow_nan=False), st.sampled_from([0.1, 0.2, 0.3])),
        st.integers(0, 10_000),
    ),
    max_size=200,
)


def _decimal_nano(cost: float) -> int:
    return int(Decimal(repr(cost)).scaleb(9).to_integral_value(ROUND_HALF_EVEN))


def _brute(rows: list[Row], agent: str | None, lo: int, hi: int) -> Sums:
    sel = [r for r in rows if (agent is None or r[0] == agent) and lo < r[1] <= hi]
    return Sums(
        len(sel),
        sum(r[2] for r in sel),
        sum(to_micro(r[3]) for r in sel),
        sum(_decimal_nano(r[4]) for r in sel),
        sum(r[5] for r in sel),
    )


def _load(rows: list[Row], split: int) -> RollingWindows:
    """Half the rows one by one, the rest as a batch (in the order given: unsorted)."""
    w = RollingWindows()
    for agent, ts, err, dur, cost, tok in rows[:split]:
        w.add(agent, ts, err, to_micro(dur), to_nano(cost), tok)
    b = Batch()
    for agent, ts, err, dur, cost, tok in rows[split:]:
        b.agent.append(agent)
        b.ts.append(ts)
        b.err.append(err)
        b.dur.append(to_micro(dur))
        b.cost.append(to_nano(cost))
        b.tok.append(tok)
        b.cpu.append(0)
        b.mem.append(0)
        b.api.append(0)
        b.dept.append(None)
        b.payload.append(None)
    w.add_batch(b)
    return w


@settings(max_examples=150, deadline=None)
@given(
    rows=rows_st,
    split=st.integers(0, 200),
    queries=st.lists(st.integers(T0 - MS_PER_DAY, T0 + SPAN + MS_PER_DAY), min_size=1),
    late=rows_st,
)
def test_windows_equal_brute_force_recount(
    rows: list[Row], split: int, queries: list[int], late: list[Row]
) -> None:
    w = _load(rows, split)
    every = list(rows)
    for step, now in enumerate(queries):
        if step == 1:  # backfilled records arrive after the first queries
            for agent, ts, err, dur, cost, tok in late:
                w.add(agent, ts, err, to_micro(dur), to_nano(cost), tok)
            every += late
        # query edges exactly on record timestamps too
        for q in [now, *(r[1] for r in every[:3])]:
            for width in WINDOWS.values():
                assert w.system_window(q - width, q) == _brute(every, None, q - width, q)
                for agent in ("a", "b", "c"):
                    assert w.window(agent, q - width, q) == _brute(every, agent, q - width, q)
            for agent, series in w.series.items():
                day = _brute(every, agent, q - WINDOWS["24h"], q)
                hour = _brute(every, agent, q - WINDOWS["1h"], q)
                assert series.recent_figures(q, WINDOWS["24h"], WINDOWS["1h"]) == (
                    day.count,
                    day.errors,
                    hour.count,
                    hour.duration_us,
                )
    for agent in ("a", "b", "c"):
        mine = [r for r in every if r[0] == agent]
        t = w.totals.get(agent)
        assert (t.executions if t else 0) == len(mine)
        assert (t.cost_nano if t else 0) == sum(_decimal_nano(r[4]) for r in mine)
    by_day: dict[int, int] = {}
    for r in every:
        by_day[r[1] // MS_PER_DAY] = by_day.get(r[1] // MS_PER_DAY, 0) + _decimal_nano(r[4])
    for day, nano in by_day.items():
        assert w.cost_on_day(day) == nano


@given(st.floats(0, 1e7, allow_nan=False))
def test_to_nano_equals_decimal_conversion(cost: float) -> None:
    assert to_nano(cost) == _decimal_nano(cost)


def test_half_nano_ties_round_to_even() -> None:
    assert to_nano(2.5e-9) == 2
    assert to_nano(1.5e-9) == 2
    assert to_nano(0.1) + to_nano(0.2) == to_nano(0.3)  # no float drift in sums


def test_window_boundary_is_open_below_and_closed_above() -> None:
    s = PrefixSeries()
    for ts in (100, 200, 300):
        s.add(ts, 0, 0, 0, 1)
    assert s.sums(100, 300).count == 2  # 200 and 300: 100 is not after 100
    assert s.sums(99, 299).count == 2  # 100 and 200
    assert s.sums(300, 400).count == 0


def test_trim_keeps_windows_after_the_horizon_and_totals() -> None:
    w = RollingWindows()
    for i in range(100):
        w.add("a", T0 + i * 1000, i % 2, 1000, 1000, 1)
    before = w.window("a", T0 + 49_999, T0 + 200_000)
    assert w.trim(T0 + 50_000) == 50
    assert w.window("a", T0 + 49_999, T0 + 200_000) == before
    assert w.totals["a"].executions == 100
    assert len(w.series["a"]) == 50


def test_out_of_order_records_are_merged_on_query() -> None:
    s = PrefixSeries()
    for ts in (10, 20, 30, 40):
        s.add(ts, 0, 1, 1, 1)
    s.add(15, 1, 1, 1, 1)
    s.extend([5, 35], [1, 0], [1, 1], [1, 1], [1, 1])
    assert s.sums(0, 100) == Sums(7, 2, 7, 7, 7)
    assert s.sums(12, 35) == Sums(4, 1, 4, 4, 4)
    assert list(s.ts) == [5, 10, 15, 20, 30, 35, 40]


def test_newest_keeps_the_latest_by_timestamp_whatever_the_arrival_order() -> None:
    from core.monitor.recent import Newest

    one_by_one, batched = Newest(3), Newest(3)
    rows = [(5, "e"), (1, "a"), (9, "i"), (7, "g"), (3, "c"), (8, "h")]
    for ts, p in rows:
        one_by_one.add("k", ts, p)
    ts_col = [t for t, _ in rows]
    for cut in (2, 4, 6):  # batches: unsorted, then sorted and newer
        part = list(range(cut - 2, cut))
        batched.add_groups({"k": part}, ts_col, [p for _, p in rows])
    assert one_by_one.newest("k") == batched.newest("k") == ["i", "h", "g"]


def _batch(rows: list[Row], depts: list[str | None]) -> Batch:
    b = Batch()
    for (agent, ts, err, dur, cost, tok), dept in zip(rows, depts, strict=True):
        for col, v in zip(
            (b.agent, b.ts, b.err, b.dur, b.cost, b.tok, b.cpu, b.mem, b.api, b.dept, b.payload),
            (agent, ts, err, to_micro(dur), to_nano(cost), tok, tok % 7, -tok, 1, dept, ts),
            strict=True,
        ):
            col.append(v)
    return b


def test_batch_sums_beyond_64_bits_stay_exact() -> None:
    """Per-batch sums are taken in int64 only when they cannot leave it."""
    n = 20_000
    b = Batch(
        ts=list(range(T0, T0 + n)),
        agent=["a", "b"] * (n // 2),
        err=[0] * n,
        dur=[10**13] * n,  # the duration cap in µs
        cost=[1] * n,
        tok=[1] * n,
        cpu=[10**13] * n,
        mem=[10**15, -(10**15) + 1] * (n // 2),  # memory sums way beyond int64 per agent...
        api=[1] * n,
        dept=[None] * n,
        payload=[None] * n,
    )
    b.mem[0] = 10**15 - 1
    w = RollingWindows()
    w.add_batch(b)
    assert w.totals["a"].memory == 10**15 * (n // 2) - 1 > 2**63  # ...exactly
    assert w.totals["b"].memory == (-(10**15) + 1) * (n // 2)
    assert w.totals["a"].duration_us == 10**13 * (n // 2)
    assert w.system_window(T0 - 1, T0 + n).duration_us == 10**13 * n


@settings(max_examples=60, deadline=None)
@given(
    costs=st.lists(st.integers(0, 2**62), min_size=1, max_size=40),
    order=st.randoms(use_true_random=False),
    split=st.integers(0, 40),
    part_at=st.integers(0, 40),
)
def test_sums_beyond_int64_stay_exact(
    costs: list[int], order: object, split: int, part_at: int
) -> None:
    """Capped values can still add up past int64 (issue 11): the sums go on exactly, one by
    one, in numpy batches, out of order and through a rebuild part, and survive a trim."""
    rows = [(T0 + i * 1000, c) for i, c in enumerate(costs)]
    order.shuffle(rows)  # type: ignore[attr-defined]
    w = RollingWindows()
    for ts, c in rows[:split]:
        w.add("a", ts, 0, c, c, c)
    middle, tail = rows[split:part_at], rows[max(split, part_at) :]
    if middle:
        w.add_batch(
            Batch(
                ts=[t for t, _ in middle], agent=["a"] * len(middle), err=[0] * len(middle),
                dur=[c for _, c in middle], cost=[c for _, c in middle], tok=[c for _, c in middle],
                cpu=[0] * len(middle), mem=[0] * len(middle), api=[0] * len(middle),
                dept=[None] * len(middle), payload=[None] * len(middle),
            )
        )  # fmt: skip
    part = rebuild.part_windows()
    for ts, c in tail:
        part.add("a", ts, 0, c, c, c)
    rebuild.absorb(w, part)
    total = sum(costs)
    s = w.window("a", T0 - 1, T0 + 10**6)
    assert (s.count, s.cost_nano, s.duration_us, s.tokens) == (len(costs), total, total, total)
    assert w.totals["a"].cost_nano == total
    cut = T0 + 1000 * (len(costs) // 2)
    w.trim(cut)
    s = w.window("a", T0 - 1, T0 + 10**6)
    assert s.cost_nano == sum(c for ts, c in rows if ts >= cut)


@settings(max_examples=40, deadline=None)
@given(
    stored=st.lists(st.integers(0, 5_000), min_size=70, max_size=400),
    late=st.lists(
        st.tuples(
            st.integers(0, 5_000),
            st.integers(0, 1),
            st.one_of(st.integers(0, 10**13), st.just(2**61)),  # 2**61: sums leave int64
        ),
        min_size=1,
        max_size=300,
    ),
    older=st.booleans(),
)
def test_a_late_batch_under_a_long_tail_settles_as_record_by_record(
    stored: list[int], late: list[tuple[int, int, int]], older: bool
) -> None:
    """Records older than a long stored tail (a late or retried delivery) are merged with
    numpy; the arrays equal the Python merge's, equal timestamps in arrival order.
    ``older``: the whole late batch is older than everything stored (it goes in front)."""
    import core.monitor.windows as windows

    def build() -> PrefixSeries:
        s = PrefixSeries()
        for n, ts in enumerate(sorted(stored)):
            s.add(ts, n % 2, n * 7, n * 11, n)
        for ts, err, big in late:
            s.add(ts - 10_000 if older else ts, err, big, big + 1, big // 3)
        return s

    fast = build()
    fast.settle()
    old, windows._NUMPY_TAIL = windows._NUMPY_TAIL, 10**9
    try:
        slow = build()
        slow.settle()
    finally:
        windows._NUMPY_TAIL = old
    assert [list(a) for a in fast.arrays()] == [list(a) for a in slow.arrays()]
    assert not fast.pending
