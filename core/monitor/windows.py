"""Rolling window aggregates over executions, exact to the millisecond (pure, no I/O).

A window of width ``w`` at query time ``now`` holds the executions with
``now - w < timestamp <= now``. Being exact at an arbitrary millisecond edge needs every
timestamp inside the longest window, so instead of minute/hour buckets with a fuzzy edge each
agent keeps its timestamps sorted beside running (prefix) sums of the summed fields: any window
is two bisections and one subtraction, whatever the history size (O(log n), ~20 steps at 1M).
Appending in time order is O(1); an out-of-order (backfilled) record waits in a small pending
list merged on the next query. Records older than the retention horizon can be trimmed; totals
since the beginning are kept apart and never trimmed.

Units are integers so sums never drift and equal a brute-force recount exactly: cost in
nano-dollars (:func:`to_nano`), durations and CPU time in microseconds (:func:`to_micro`),
memory in whole bytes.

Batches (a cold rebuild adds a million records ~8k at a time) are grouped, summed and
prefix-summed with numpy in 64-bit integers; wherever a sum could leave that range the same
figures are computed with Python integers instead, so numpy never wraps silently.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from operator import itemgetter
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from core.costs.pricing import usd_to_nanos

MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
#: The windows every query reports, by their exported names.
WINDOWS: dict[str, int] = {"1h": MS_PER_HOUR, "24h": 24 * MS_PER_HOUR, "7d": 7 * MS_PER_DAY}
NANO = 1_000_000_000
#: The ``err`` code of a refused execution (core/guards): counted per agent in
#: ``ExecutionTotals.refused`` only, never in a window (it neither ran nor failed).
REFUSED = 2
_I64_MAX = 2**63 - 1
#: From this many stored records after the oldest out-of-order one, settle with numpy.
_NUMPY_TAIL = 64
#: At most this many executions wait to be summed into the totals (``RollingWindows.add``).
_UNFOLDED_MAX = 4096
#: A column of integers: a list (records one by one) or an int64 array (parsed batches).
Ints: TypeAlias = Sequence[int] | npt.NDArray[np.int64]


#: USD as integer nano-dollars: core's one rounding (``core.costs.pricing.usd_to_nanos``).
to_nano = usd_to_nanos


def to_micro(ms: float) -> int:
    """Milliseconds as integer microseconds (the unit durations are summed in)."""
    return round(ms * 1000.0)


class Sums(NamedTuple):
    """Summed figures of a set of executions (integer units, see module doc)."""

    count: int = 0  # type: ignore[assignment]  # shadows tuple.count: the exported key is count
    errors: int = 0
    duration_us: int = 0
    cost_nano: int = 0
    tokens: int = 0

    def plus(self, other: Sums) -> Sums:
        return Sums(*(a + b for a, b in zip(self, other, strict=True)))

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    @property
    def avg_duration_ms(self) -> float:
        return self.duration_us / self.count / 1000.0 if self.count else 0.0

    @property
    def cost(self) -> float:
        return self.cost_nano / NANO


EMPTY = Sums()


class PrefixSeries:
    """One key's timestamps, sorted, with prefix sums of errors, duration, cost and tokens.

    ``pre_*[i]`` is the sum over the first ``i`` stored records (offset by whatever was
    trimmed away, which cancels out in differences).
    """

    __slots__ = ("hints", "pending", "pre_cost", "pre_dur", "pre_err", "pre_tok", "ts")

    def __init__(self) -> None:
        self.ts = array("q")
        # int64 arrays; Python lists once a sum leaves int64 (see _widen)
        self.pre_err: array[int] | list[int] = array("q", [0])
        self.pre_dur: array[int] | list[int] = array("q", [0])
        self.pre_cost: array[int] | list[int] = array("q", [0])
        self.pre_tok: array[int] | list[int] = array("q", [0])
        self.pending: list[tuple[int, int, int, int, int]] = []
        self.hints = (0, 0)  # recent_figures' last window starts: where to look first

    def __len__(self) -> int:
        return len(self.ts) + len(self.pending)

    def add(self, ts: int, err: int, dur: int, cost: int, tok: int) -> None:
        """Add one record: O(1) when not older than the newest stored one."""
        t = self.ts
        if t and ts < t[-1]:
            self.pending.append((ts, err, dur, cost, tok))
            return
        e, d, c, k = self.pre_err, self.pre_dur, self.pre_cost, self.pre_tok
        try:  # an int64 array refuses a sum outside its range: no compare per record
            e.append(e[-1] + err)
            d.append(d[-1] + dur)
            c.append(c[-1] + cost)
            k.append(k[-1] + tok)
        except OverflowError:  # only adversarial values get here (each is capped)
            n = len(t) + 1
            for pre in (e, d, c, k):
                del pre[n:]  # undo the sums appended before the one refused
            self._widen()  # lists from now on: the retry cannot overflow
            self.add(ts, err, dur, cost, tok)
            return
        t.append(ts)

    def _widen(self) -> None:
        """Keep the prefix sums as Python integers from now on: a sum left int64 (only
        adversarial values do that: each is capped, see core/records.py)."""
        for name in ("pre_err", "pre_dur", "pre_cost", "pre_tok"):
            column = getattr(self, name)
            if isinstance(column, array):
                setattr(self, name, column.tolist())

    def extend(
        self,
        ts: Ints,
        err: Ints,
        dur: Ints,
        cost: Ints,
        tok: Ints,
        in_order: bool | None = None,
    ) -> None:
        """Add many records at C speed when they are in order and newer than what is stored.

        ``in_order``: whether ``ts`` is known to be non-decreasing (None: check).
        """
        if not len(ts):
            return
        if not (is_sorted(ts) if in_order is None else in_order):
            rows = sorted(zip(*map(_py, (ts, err, dur, cost, tok)), strict=True), key=itemgetter(0))
            ts, err, dur, cost, tok = (list(c) for c in zip(*rows, strict=True))
        if self.ts and ts[0] < self.ts[-1]:
            self.pending.extend(zip(*map(_py, (ts, err, dur, cost, tok)), strict=True))
            return
        self.append_sorted(ts, err, dur, cost, tok)

    def append_sorted(self, ts: Ints, err: Ints, dur: Ints, cost: Ints, tok: Ints) -> None:
        """Append records in order and not older than the newest stored (no checks)."""
        append_ints(self.ts, ts)
        for name, values in (
            ("pre_err", err),
            ("pre_dur", dur),
            ("pre_cost", cost),
            ("pre_tok", tok),
        ):
            if not _append_prefix_sums(getattr(self, name), values):
                self._widen()
                _append_prefix_sums(getattr(self, name), values)

    def settle(self) -> None:
        """Merge pending out-of-order records; costs the stored tail they land in."""
        pending = self.pending
        if not pending:
            return
        self.pending = []
        pending.sort(key=itemgetter(0))
        t = self.ts
        i = bisect_right(t, pending[0][0])
        if len(t) - i >= _NUMPY_TAIL and self._settle_numpy(i, pending):
            return
        tail: list[tuple[int, int, int, int, int]] = [
            (
                t[k],
                self.pre_err[k + 1] - self.pre_err[k],
                self.pre_dur[k + 1] - self.pre_dur[k],
                self.pre_cost[k + 1] - self.pre_cost[k],
                self.pre_tok[k + 1] - self.pre_tok[k],
            )
            for k in range(i, len(t))
        ]
        tail.extend(pending)
        tail.sort(key=itemgetter(0))  # stable: stored records stay ahead of equal newcomers
        del t[i:]
        for pre in (self.pre_err, self.pre_dur, self.pre_cost, self.pre_tok):
            del pre[i + 1 :]
        cols = list(zip(*tail, strict=True))
        self.append_sorted(*cols)

    def _settle_numpy(self, i: int, pending: list[tuple[int, int, int, int, int]]) -> bool:
        """``settle`` for a long stored tail (a batch older than much of what is stored:
        late or retried deliveries) at C speed; False, changing nothing, when a column is
        not int64 (widened sums) so the Python path must do it."""
        pres: list[array[int]] = []
        for column in (self.pre_err, self.pre_dur, self.pre_cost, self.pre_tok):
            if not isinstance(column, array):
                return False
            pres.append(column)
        try:
            new = np.array(pending, dtype=np.int64)
        except OverflowError:
            return False
        if pending[-1][0] < self.ts[i] and self._prepend(i, new, pres):
            return True
        # Copies (not views): the arrays are cut below, which a live buffer view forbids.
        ts = np.concatenate([np.frombuffer(self.ts, np.int64)[i:], new[:, 0]])
        parts = []
        for k, column in enumerate(pres):
            sums = np.frombuffer(column, np.int64)[i:]
            parts.append(np.concatenate([sums[1:] - sums[:-1], new[:, k + 1]]))
        del sums  # a view: release it before the arrays are cut
        order = np.argsort(ts, kind="stable")  # stored records stay ahead of equal newcomers
        del self.ts[i:]
        for pre in pres:
            del pre[i + 1 :]
        self.append_sorted(ts[order], *(c[order] for c in parts))
        return True

    def _prepend(self, i: int, new: npt.NDArray[np.int64], pres: list[array[int]]) -> bool:
        """``_settle_numpy`` when every pending record (``new``, sorted) is older than the
        whole stored tail: it goes in front, whose running sums just grow by its totals.
        False, changing nothing, when a sum could leave int64 or a value is negative."""
        totals = new[:, 1:].sum(axis=0, dtype=object).tolist()  # Python integers: exact
        if new[:, 1:].min() < 0:
            return False
        ts = np.concatenate([new[:, 0], np.frombuffer(self.ts, np.int64)[i:]])
        columns = []
        for k, column in enumerate(pres):
            sums = np.frombuffer(column, np.int64)[i:]
            if int(sums.max()) + totals[k] > _I64_MAX:  # the new values are not negative
                return False
            head = np.cumsum(new[:, k + 1])
            head += sums[0]
            columns.append(np.concatenate([head, sums[1:] + totals[k]]))
        del sums  # a view: released before the arrays are cut below
        del self.ts[i:]
        self.ts.frombytes(ts.tobytes())
        for column, values in zip(pres, columns, strict=True):
            del column[i + 1 :]
            column.frombytes(values.tobytes())
        return True

    def sums(self, lo: int, hi: int) -> Sums:
        """Records with ``lo < timestamp <= hi``."""
        if self.pending:
            self.settle()
        t = self.ts
        i = bisect_right(t, lo)
        j = bisect_right(t, hi)
        if j <= i:
            return EMPTY
        return Sums(
            j - i,
            self.pre_err[j] - self.pre_err[i],
            self.pre_dur[j] - self.pre_dur[i],
            self.pre_cost[j] - self.pre_cost[i],
            self.pre_tok[j] - self.pre_tok[i],
        )

    def recent_figures(self, now: int, long_ms: int, short_ms: int) -> tuple[int, int, int, int]:
        """(count, errors) over ``long_ms`` and (count, duration_us) over ``short_ms``.

        The same as two :meth:`sums` calls but sharing a bisection: the thresholds ask this
        after every recorded execution.
        """
        if self.pending:
            self.settle()
        t = self.ts
        j = len(t)
        if j and t[-1] > now:
            j = bisect_right(t, now)
        # Each start is checked at the last call's first (the window moved by few or no
        # records since): two reads instead of a bisection of the whole series.
        i, k = self.hints
        lo = now - long_ms
        if not (i < j and t[i] > lo and (i == 0 or t[i - 1] <= lo)):
            i = j if i == j and (i == 0 or t[i - 1] <= lo) else bisect_right(t, lo, 0, j)
        if short_ms > long_ms:
            k = 0
        else:
            lo = now - short_ms
            if not (i <= k < j and t[k] > lo and (k == i or t[k - 1] <= lo)):
                k = j if i <= k == j and (k == i or t[k - 1] <= lo) else bisect_right(t, lo, i, j)
        self.hints = (i, k)
        return j - i, self.pre_err[j] - self.pre_err[i], j - k, self.pre_dur[j] - self.pre_dur[k]

    def trim(self, before: int) -> int:
        """Forget records older than ``before``; returns how many were dropped."""
        self.settle()
        k = bisect_left(self.ts, before)
        if k:
            del self.ts[:k]
            for pre in (self.pre_err, self.pre_dur, self.pre_cost, self.pre_tok):
                del pre[:k]
        return k

    def arrays(self) -> list[array[int] | list[int]]:
        self.settle()
        return [self.ts, self.pre_err, self.pre_dur, self.pre_cost, self.pre_tok]

    @classmethod
    def from_arrays(cls, arrays: Sequence[array[int]]) -> PrefixSeries:
        ts, err, dur, cost, tok = arrays
        if not (len(err) == len(dur) == len(cost) == len(tok) == len(ts) + 1):
            raise ValueError("series arrays of inconsistent lengths")
        s = cls()
        s.ts, s.pre_err, s.pre_dur, s.pre_cost, s.pre_tok = ts, err, dur, cost, tok
        return s


@dataclass(slots=True)
class ExecutionTotals:
    """One agent's figures since the beginning (integer units, see module doc)."""

    executions: int = 0
    errors: int = 0
    duration_us: int = 0
    cost_nano: int = 0
    tokens: int = 0
    cpu_us: int = 0
    memory: int = 0
    api_calls: int = 0
    last_ts: int | None = None
    department: str | None = None  # of the newest execution that named one
    department_ts: int = -1
    refused: int = 0  # executions the guard refused (not counted in ``executions``)

    def add(
        self,
        executions: int,
        errors: int,
        duration_us: int,
        cost_nano: int,
        tokens: int,
        cpu_us: int,
        memory: int,
        api_calls: int,
    ) -> None:
        self.executions += executions
        self.errors += errors
        self.duration_us += duration_us
        self.cost_nano += cost_nano
        self.tokens += tokens
        self.cpu_us += cpu_us
        self.memory += memory
        self.api_calls += api_calls

    def merge(self, other: ExecutionTotals) -> None:
        self.executions += other.executions
        self.errors += other.errors
        self.duration_us += other.duration_us
        self.cost_nano += other.cost_nano
        self.tokens += other.tokens
        self.cpu_us += other.cpu_us
        self.memory += other.memory
        self.api_calls += other.api_calls
        self.refused += other.refused
        if other.last_ts is not None and (self.last_ts is None or other.last_ts > self.last_ts):
            self.last_ts = other.last_ts

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


@dataclass(slots=True)
class Batch:
    """Executions in columns (integer units), as the journal reader hands them over."""

    ts: Ints = field(default_factory=list)
    agent: list[str] = field(default_factory=list)
    err: Ints = field(default_factory=list)
    dur: Ints = field(default_factory=list)
    cost: Ints = field(default_factory=list)
    tok: Ints = field(default_factory=list)
    cpu: Ints = field(default_factory=list)
    mem: Ints = field(default_factory=list)
    api: Ints = field(default_factory=list)
    dept: list[str | None] = field(default_factory=list)
    payload: list[Any] = field(default_factory=list)  # the record itself (dict or model)

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def join(cls, parts: Sequence[Batch]) -> Batch:
        """One batch of ``parts`` one after the other (numeric columns as int64 arrays)."""
        if len(parts) == 1:
            return parts[0]
        columns: list[Any] = []
        for name in cls.__slots__:  # type: ignore[attr-defined]
            if name in _LIST_COLUMNS:
                column: list[Any] = []
                for p in parts:
                    column += getattr(p, name)  # list.extend from a list: a C copy
                columns.append(column)
            else:
                columns.append(np.concatenate([_int64(getattr(p, name)) for p in parts]))
        return cls(*columns)


_LIST_COLUMNS = frozenset({"agent", "dept", "payload"})


class RollingWindows:
    """Per-agent series and totals, system-wide figures as their sum, and cost per UTC day.

    Not thread-safe by itself (a read of ``totals`` sums what ``add`` left): its
    ``PerformanceMonitor`` holds its lock around every use (core/serial.py)."""

    def __init__(self, *, series_type: type[PrefixSeries] | None = None) -> None:
        self.series: dict[str, PrefixSeries] = {}
        self._totals: dict[str, ExecutionTotals] = {}
        # Executions added one by one whose totals are not summed in yet (see ``totals``).
        self._unfolded: list[tuple[Any, ...]] = []
        self.day_cost: dict[int, int] = {}  # UTC day number -> nano-dollars, every agent
        # ``series_type``: a rebuild worker's series (core.monitor.rebuild.Part) keeps plain values.
        self._new_series: type[PrefixSeries] = series_type or PrefixSeries

    # ----------------------------------------------------------------- input
    def add(
        self,
        agent: str,
        ts: int,
        err: int,
        dur: int,
        cost: int,
        tok: int,
        cpu: int = 0,
        mem: int = 0,
        api: int = 0,
        department: str | None = None,
    ) -> None:
        """Add one execution in O(1) (amortised); a refused one (``err == REFUSED``) is
        only counted.

        The series (which the thresholds read after every record) and the day's cost are
        brought up to date here; the totals are summed when next read (:attr:`totals`), a
        column at a time, instead of eight attribute updates per record."""
        try:
            s = self.series[agent]
        except KeyError:
            s = self.series[agent] = self._new_series()
            self._totals[agent] = ExecutionTotals()
        if err == REFUSED:
            self._totals[agent].refused += 1
            return
        s.add(ts, err, dur, cost, tok)
        unfolded = self._unfolded
        unfolded.append((agent, ts, err, dur, cost, tok, cpu, mem, api, department))
        if len(unfolded) >= _UNFOLDED_MAX:
            self._fold_totals()
        if cost:
            day = ts // MS_PER_DAY
            day_cost = self.day_cost
            day_cost[day] = day_cost.get(day, 0) + cost

    @property
    def totals(self) -> dict[str, ExecutionTotals]:
        """Each agent's figures since the beginning (what ``add`` left unsummed, summed)."""
        if self._unfolded:
            self._fold_totals()
        return self._totals

    def _fold_totals(self) -> None:
        """Sum the executions ``add`` kept aside into their agents' totals: the figures of
        adding them one by one in the order added (newest timestamp and department win)."""
        rows, self._unfolded = self._unfolded, []
        self._fold_rows(rows)

    def _fold_rows(self, rows: list[tuple[Any, ...]]) -> None:
        groups: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:  # each agent's rows in the order they were added
            group = groups.get(row[0])
            if group is None:
                groups[row[0]] = [row]
            else:
                group.append(row)
        for agent, group in groups.items():
            _, ts, err, dur, cost, tok, cpu, mem, api, dept = zip(*group, strict=True)
            t = self._totals[agent]
            t.add(len(ts), sum(err), sum(dur), sum(cost), sum(tok), sum(cpu), sum(mem), sum(api))
            last = max(ts)
            if t.last_ts is None or last >= t.last_ts:
                t.last_ts = last
            self._department(t, ts, dept, range(len(ts)), is_sorted(ts))

    def add_batch(self, b: Batch) -> dict[str, list[int]]:
        """Add a batch, grouped by agent with numpy; returns the groups (indices per agent)."""
        n = len(b.ts)
        if n == 0:
            return {}
        if REFUSED in b.err:
            return self._add_with_refused(b)
        agents = list(dict.fromkeys(b.agent))  # in order of first appearance
        cols = [_int64(c) for c in (b.ts, b.err, b.dur, b.cost, b.tok, b.cpu, b.mem, b.api)]
        if len(agents) == 1:
            order: npt.NDArray[np.intp] | None = None
            bounds = [0, n]
        else:
            code = {a: i for i, a in enumerate(agents)}
            codes = np.fromiter(map(code.__getitem__, b.agent), np.intp, n)
            order = np.argsort(codes, kind="stable")  # grouped, each group in batch order
            bounds = [0, *np.cumsum(np.bincount(codes, minlength=len(agents))).tolist()]
            cols = [c[order] for c in cols]
        ts, err, dur, cost, tok, cpu, mem, api = cols
        starts = bounds[:-1]
        sums = [_group_sums(c, starts, bounds) for c in (err, dur, cost, tok, cpu, mem, api)]
        series, totals = self.series, self.totals
        groups: dict[str, list[int]] = {}
        for g, agent in enumerate(agents):
            lo, hi = bounds[g], bounds[g + 1]
            idx = list(range(lo, hi)) if order is None else order[lo:hi].tolist()
            groups[agent] = idx
            ts_g = ts[lo:hi]
            in_order = is_sorted(ts_g)
            s = series.get(agent)
            if s is None:
                s = series[agent] = self._new_series()
                totals[agent] = ExecutionTotals()
            s.extend(ts_g, err[lo:hi], dur[lo:hi], cost[lo:hi], tok[lo:hi], in_order)
            t = totals[agent]
            group = [col[g] for col in sums]  # errors, duration_us, cost_nano, tokens, ...
            t.add(hi - lo, *group)
            cost_nano = group[2]
            first, last = (
                (int(ts_g[0]), int(ts_g[-1])) if in_order else (int(ts_g.min()), int(ts_g.max()))
            )
            if t.last_ts is None or last >= t.last_ts:
                t.last_ts = last
            self._department(t, b.ts, b.dept, idx, in_order)
            if first // MS_PER_DAY == last // MS_PER_DAY:
                if cost_nano:
                    day = first // MS_PER_DAY
                    self.day_cost[day] = self.day_cost.get(day, 0) + cost_nano
            else:
                self._add_day_costs(ts_g.tolist(), cost[lo:hi].tolist())
        return groups

    def _add_with_refused(self, b: Batch) -> dict[str, list[int]]:
        """``add_batch`` of a batch holding refused executions: those are counted, the
        others added; the groups index the whole batch (refused ones included)."""
        err = _int64(b.err)
        refused = err == REFUSED
        keep = np.flatnonzero(~refused)
        columns: list[Any] = [
            [getattr(b, name)[i] for i in keep.tolist()]
            if name in _LIST_COLUMNS
            else _int64(getattr(b, name))[keep]
            for name in Batch.__slots__  # type: ignore[attr-defined]
        ]
        rest = Batch(*columns)
        groups = {a: [int(keep[i]) for i in idx] for a, idx in self.add_batch(rest).items()}
        for i in np.flatnonzero(refused).tolist():
            agent = b.agent[i]
            if agent not in self.series:
                self.series[agent] = self._new_series()
                self.totals[agent] = ExecutionTotals()
            self.totals[agent].refused += 1
            groups.setdefault(agent, []).append(i)
        for idx in groups.values():
            idx.sort()
        return groups

    @staticmethod
    def _department(
        t: ExecutionTotals, ts: Ints, dept: Sequence[str | None], idx: Sequence[int], in_order: bool
    ) -> None:
        """The department of the newest execution naming one (usually the last one)."""
        if in_order:
            for i in reversed(idx):
                if dept[i] is not None:
                    when = int(ts[i])
                    if when >= t.department_ts:
                        t.department, t.department_ts = dept[i], when
                    return
            return
        for i in idx:
            d = dept[i]
            if d is not None and ts[i] >= t.department_ts:
                t.department, t.department_ts = d, int(ts[i])

    def _add_day_costs(self, ts: list[int], cost: list[int]) -> None:
        day_cost = self.day_cost
        for t, c in zip(ts, cost, strict=True):
            if c:
                day = t // MS_PER_DAY
                day_cost[day] = day_cost.get(day, 0) + c

    # --------------------------------------------------------------- queries
    def agents(self) -> list[str]:
        return sorted(self.series)

    def window(self, agent: str, lo: int, hi: int) -> Sums:
        """One agent's executions with ``lo < timestamp <= hi``."""
        s = self.series.get(agent)
        return s.sums(lo, hi) if s is not None else EMPTY

    def system_window(self, lo: int, hi: int) -> Sums:
        """Every agent's executions with ``lo < timestamp <= hi``."""
        count = errors = dur = cost = tok = 0
        for s in self.series.values():
            w = s.sums(lo, hi)
            count += w.count
            errors += w.errors
            dur += w.duration_us
            cost += w.cost_nano
            tok += w.tokens
        return Sums(count, errors, dur, cost, tok)

    def system_totals(self) -> ExecutionTotals:
        out = ExecutionTotals()
        for t in self.totals.values():
            out.merge(t)
        return out

    def cost_on_day(self, day: int) -> int:
        """Nano-dollars of every execution on UTC day number ``day``."""
        return self.day_cost.get(day, 0)

    def trim(self, before: int) -> int:
        """Forget per-record detail older than ``before`` (totals are kept)."""
        dropped = sum(s.trim(before) for s in self.series.values())
        horizon_day = before // MS_PER_DAY - 1
        for day in [d for d in self.day_cost if d < horizon_day]:
            del self.day_cost[day]
        return dropped


def _int64(values: Ints) -> npt.NDArray[np.int64]:
    """A column as an int64 array (no copy when it is one already, or an ``array('q')``)."""
    return np.asarray(values, dtype=np.int64)


def _py(values: Ints) -> Sequence[int]:
    """A column as Python integers (for the few records that take the slow paths)."""
    return values.tolist() if isinstance(values, np.ndarray) else values  # type: ignore[no-any-return]


def append_ints(column: array[int], values: Ints) -> None:
    """``column.extend(values)`` at C speed from an int64 array, an array or a list."""
    if isinstance(values, np.ndarray):
        column.frombytes(values.astype(np.int64, copy=False).tobytes())
    elif isinstance(values, array):
        column.extend(values)
    else:
        column.fromlist(values if type(values) is list else list(values))


def _fits(values: npt.NDArray[np.int64], base: int = 0) -> bool:
    """Whether every partial sum of ``values``, alone and plus ``base``, stays within int64."""
    n = len(values)
    hi, lo = max(int(values.max()), 0) * n, min(int(values.min()), 0) * n
    return max(hi, base + hi) <= _I64_MAX and min(lo, base + lo) >= -_I64_MAX


def _append_prefix_sums(pre: array[int] | list[int], values: Ints) -> bool:
    """Append the running sums of ``values``, continuing ``pre``; False (and nothing
    appended) when they leave int64 and ``pre`` is an int64 array."""
    if not len(values):
        return True
    base = pre[-1]
    if isinstance(pre, list):
        running = accumulate(_py(values), initial=base)
        next(running)  # the base itself
        pre.extend(running)
        return True
    if isinstance(values, np.ndarray | array) and len(values) >= 16:
        v = _int64(values)
        if _fits(v, base):
            sums = np.cumsum(v)
            sums += base
            pre.frombytes(sums.tobytes())
            return True
    sums_list = list(accumulate(_py(values), initial=base))
    del sums_list[0]
    if max(sums_list) > _I64_MAX or min(sums_list) < -_I64_MAX:
        return False
    pre.fromlist(sums_list)
    return True


def _group_sums(col: npt.NDArray[np.int64], starts: list[int], bounds: list[int]) -> list[int]:
    """The sum of each group ``col[bounds[g]:bounds[g + 1]]``, exactly."""
    if _fits(col):
        return np.add.reduceat(col, starts).tolist()  # type: ignore[no-any-return]
    return [sum(col[lo:hi].tolist()) for lo, hi in pairwise(bounds)]


def is_sorted(ts: Ints) -> bool:
    """Whether ``ts`` is non-decreasing (C speed for arrays and lists)."""
    if isinstance(ts, np.ndarray):
        return len(ts) < 2 or bool((ts[1:] >= ts[:-1]).all())
    return list(ts) == sorted(ts)


def picker(idx: list[int]) -> Any:
    """A function picking ``idx`` out of a list as a tuple, at C speed."""
    if len(idx) == 1:
        i = idx[0]
        return lambda seq: (seq[i],)
    return itemgetter(*idx)
