"""Incremental aggregates of cost entries (pure: entries in, sums out).

Each entry updates a handful of counters in O(1): a cell per UTC day and per UTC month x
(agent, department, model), running totals per day and per month (overall and per
department), all-time totals per agent, and each department's spend per minute over the
last days (``core.costs.recent``, for burn rates). Reports read a day's, a week's or a
month's cells and never touch history again. Money is integer nano-dollars, so sums are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from core.clock import EPOCH_DAY, MS_PER_DAY
from core.costs.pricing import usd_to_nanos
from core.costs.recent import MS_PER_MINUTE, MinuteSeries, RecentSpend
from core.record_rows import CostRecord

#: (agent, department, model); departments are folded to lower case like budgets.
Key = tuple[str, str, str]
Month = tuple[int, int]


@dataclass(slots=True)
class CostCell:
    """Sums over a set of entries."""

    nanos: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    executions: int = 0
    last_used: int = 0  # epoch ms of the newest entry

    def add(self, e: CostRecord, nanos: int) -> None:
        self.nanos += nanos
        self.input_tokens += e.input_tokens
        self.output_tokens += e.output_tokens
        self.cache_read_tokens += e.cache_read_tokens
        self.cache_write_tokens += e.cache_write_tokens
        self.executions += 1
        if e.timestamp > self.last_used:
            self.last_used = e.timestamp

    def merge(self, other: CostCell) -> None:
        self.nanos += other.nanos
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.executions += other.executions
        self.last_used = max(self.last_used, other.last_used)


@dataclass(slots=True)
class AgentTotals:
    """An agent's all-time sums, per model, and the department of its newest entry."""

    total: CostCell = field(default_factory=CostCell)
    models: dict[str, CostCell] = field(default_factory=dict)
    department: str = ""


@dataclass(slots=True)
class CostTotals:
    nanos: int = 0
    executions: int = 0


class Slot:
    """Where the entries of one (day, agent, department as written, model) land — the four
    cells, the day's and the month's totals, the month's spend per department, the
    department's minutes — and the sums of those entries not yet folded into the cells (nor
    counted in the totals' executions).

    ``LedgerAggregates.add`` sums an entry here once instead of into four cells (seven
    fields each: a big-int allocation per field); the cells get the sums when anything
    reads them (``LedgerAggregates.flush``). Cells are never replaced nor removed, so what
    a slot holds stays the cells of the tables."""

    __slots__ = (
        "agent",
        "cache_read_tokens",
        "cache_write_tokens",
        "cells",
        "day_total",
        "depts",
        "executions",
        "input_tokens",
        "last_used",
        "lower",
        "month_total",
        "nanos",
        "output_tokens",
        "series",
        "total",
    )

    def __init__(
        self,
        agent: AgentTotals,
        cells: tuple[CostCell, ...],
        day_total: CostTotals,
        month_total: CostTotals,
        depts: dict[str, int],
        lower: str,
        series: MinuteSeries,
    ) -> None:
        self.agent, self.cells, self.lower, self.series = agent, cells, lower, series
        self.total = agent.total
        self.day_total, self.month_total, self.depts = day_total, month_total, depts
        self.nanos = self.input_tokens = self.output_tokens = 0
        self.cache_read_tokens = self.cache_write_tokens = 0
        self.executions = self.last_used = 0

    def fold(self) -> None:
        """Add the pending sums to the slot's four cells and start again from zero."""
        n, inp, out = self.nanos, self.input_tokens, self.output_tokens
        read, write, count, ts = (
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.executions,
            self.last_used,
        )
        for cell in self.cells:
            cell.nanos += n
            cell.input_tokens += inp
            cell.output_tokens += out
            cell.cache_read_tokens += read
            cell.cache_write_tokens += write
            cell.executions += count
            if ts > cell.last_used:
                cell.last_used = ts
        self.day_total.executions += count
        self.month_total.executions += count
        self.nanos = self.input_tokens = self.output_tokens = 0
        self.cache_read_tokens = self.cache_write_tokens = 0
        self.executions = self.last_used = 0


def _cell(table: dict[Any, dict[Key, CostCell]], period: Any, key: Key) -> CostCell:
    """The cell of ``key`` in ``period`` of ``table``, created empty on first use."""
    cells = table.get(period)
    if cells is None:
        cells = table[period] = {}
    cell = cells.get(key)
    if cell is None:
        cell = cells[key] = CostCell()
    return cell


def _count(totals: dict[Any, CostTotals], period: Any, nanos: int) -> None:
    t = totals.get(period)
    if t is None:
        t = totals[period] = CostTotals()
    t.nanos += nanos
    t.executions += 1


def _merge_totals(totals: dict[Any, CostTotals], period: Any, cell: CostCell) -> None:
    t = totals.get(period)
    if t is None:
        t = totals[period] = CostTotals()
    t.nanos += cell.nanos
    t.executions += cell.executions


class LedgerAggregates:
    """Every cost entry seen, folded into day, month and agent sums.

    ``days``, ``months``, ``agents``, ``day_totals`` and ``month_totals`` are read through
    properties that first fold in the sums ``add`` left pending in its slots (``flush``);
    the totals' nano-dollars (``day_sums``, ``month_sums``), the month spend per department,
    ``recent``, ``entries`` and each agent's newest timestamp and department are kept
    current on every entry (the budget and burn-rate checks and ``track_cost`` read them
    each call). Not thread-safe by itself (a read folds): its ``CostTracker`` holds its lock
    around every use (core/serial.py).
    """

    def __init__(self) -> None:
        self._days: dict[int, dict[Key, CostCell]] = {}
        self._months: dict[Month, dict[Key, CostCell]] = {}
        #: ``day_totals`` and ``month_totals`` as they are: nano-dollars current, counts of
        #: executions perhaps pending (``track_cost`` reads the nano-dollars every call).
        self.day_sums: dict[int, CostTotals] = {}
        self.month_sums: dict[Month, CostTotals] = {}
        self.month_departments: dict[Month, dict[str, int]] = {}
        self._agents: dict[str, AgentTotals] = {}
        self.recent = RecentSpend()
        self.entries = 0
        self._month_of: dict[int, Month] = {}
        self._slots: dict[tuple[int, str, str, str], Slot] = {}  # see ``add``
        self._dirty: list[Slot] = []  # slots with pending sums

    @property
    def days(self) -> dict[int, dict[Key, CostCell]]:
        """Day -> key -> cell (pending sums folded in first)."""
        if self._dirty:
            self.flush()
        return self._days

    @property
    def months(self) -> dict[Month, dict[Key, CostCell]]:
        """Month -> key -> cell (pending sums folded in first)."""
        if self._dirty:
            self.flush()
        return self._months

    @property
    def agents(self) -> dict[str, AgentTotals]:
        """Agent -> its all-time sums (pending sums folded in first)."""
        if self._dirty:
            self.flush()
        return self._agents

    @property
    def day_totals(self) -> dict[int, CostTotals]:
        """Day -> its totals (pending counts folded in first)."""
        if self._dirty:
            self.flush()
        return self.day_sums

    @property
    def month_totals(self) -> dict[Month, CostTotals]:
        """Month -> its totals (pending counts folded in first)."""
        if self._dirty:
            self.flush()
        return self.month_sums

    def flush(self) -> None:
        """Fold every slot's pending sums into its cells."""
        dirty = self._dirty
        for slot in dirty:
            slot.fold()
        dirty.clear()

    def month_of_day(self, day: int) -> Month:
        month = self._month_of.get(day)
        if month is None:
            d = EPOCH_DAY + timedelta(days=day)
            month = self._month_of[day] = (d.year, d.month)
        return month

    def add(self, e: CostRecord, nanos: int = -1) -> Slot:
        """Fold one entry in (``nanos``: its ``usd_to_nanos(cost)`` when known, else -1);
        the slot it landed in (its ``depts[lower]``: the department's spend in the month of
        the entry, now).

        Called for every entry (each ``track_cost``): the slot is found with one lookup of
        (day, agent, department as written, model) and the entry summed into it once; the
        four cells get the sums on the next read (see ``Slot``)."""
        if nanos < 0:
            nanos = usd_to_nanos(e.cost)
        ts = e.timestamp
        slot = self._slots.get((ts // MS_PER_DAY, e.agent, e.department, e.model))
        if slot is None:
            slot = self._slot(ts // MS_PER_DAY, e.agent, e.department, e.model)
        if not slot.executions:
            self._dirty.append(slot)
        slot.nanos += nanos
        slot.input_tokens += e.input_tokens
        slot.output_tokens += e.output_tokens
        slot.cache_read_tokens += e.cache_read_tokens
        slot.cache_write_tokens += e.cache_write_tokens
        slot.executions += 1
        if ts > slot.last_used:
            slot.last_used = ts
        total = slot.total
        if ts >= total.last_used:  # the department of the agent's newest entry (kept current)
            total.last_used = ts
            slot.agent.department = slot.lower
        slot.day_total.nanos += nanos  # their executions: counted in the slot
        slot.month_total.nanos += nanos
        slot.depts[slot.lower] += nanos
        series = slot.series
        minute = ts // MS_PER_MINUTE
        minutes = series.minutes
        if minutes and minutes[-1] == minute:  # ``series.add``'s common case, without the call
            series.total += nanos
            series.prefix[-1] += nanos
        else:
            series.add(minute, nanos)
        self.entries += 1
        return slot

    def _slot(self, day: int, name: str, dept: str, model_name: str) -> Slot:
        """The slot of an entry of ``day`` and (name, dept, model), created (with its cells)
        as needed."""
        lower = dept.lower()
        key = (name, lower, model_name)
        month = self.month_of_day(day)
        agent = self._agents.get(name)
        if agent is None:
            agent = self._agents[name] = AgentTotals()
        model = agent.models.get(model_name)
        if model is None:
            model = agent.models[model_name] = CostCell()
        cells = (_cell(self._days, day, key), _cell(self._months, month, key), agent.total, model)
        day_total = self.day_sums.get(day)
        if day_total is None:
            day_total = self.day_sums[day] = CostTotals()
        month_total = self.month_sums.get(month)
        if month_total is None:
            month_total = self.month_sums[month] = CostTotals()
        depts = self.month_departments.get(month)
        if depts is None:
            depts = self.month_departments[month] = {}
        if lower not in depts:
            depts[lower] = 0
        if len(self._slots) >= 10_000:
            self.flush()
            self._slots.clear()
        slot = self._slots[day, name, dept, model_name] = Slot(
            agent, cells, day_total, month_total, depts, lower, self.recent.series(lower)
        )
        return slot

    def add_many(self, entries: Sequence[CostRecord], nanos: Sequence[int]) -> None:
        """``add`` of each entry in turn (``nanos``: each one's ``usd_to_nanos(cost)``),
        summed per day and key first: the same sums, a quarter of the dictionary work."""
        groups: dict[tuple[int, Key], CostCell] = {}
        newest: dict[str, list[Any]] = {}  # agent -> [newest timestamp, its department]
        agents = self._agents
        recent = self.recent
        for e, n in zip(entries, nanos, strict=True):
            ts = e.timestamp
            dept = e.department.lower()
            recent.add(dept, ts, n)  # the burn rates' minutes, as ``add`` keeps them
            key = (e.agent, dept, e.model)
            gk = (ts // MS_PER_DAY, key)
            cell = groups.get(gk)
            if cell is None:
                cell = groups[gk] = CostCell()
            cell.add(e, n)
            state = newest.get(e.agent)
            if state is None:
                known = agents.get(e.agent)
                state = newest[e.agent] = [known.total.last_used if known else 0, None]
            if ts >= state[0]:  # ``add``'s rule: the department of the newest entry
                state[0], state[1] = ts, dept
        for (day, key), cell in groups.items():
            month = self.month_of_day(day)
            _cell(self._days, day, key).merge(cell)
            _cell(self._months, month, key).merge(cell)
            _merge_totals(self.day_sums, day, cell)
            _merge_totals(self.month_sums, month, cell)
            depts = self.month_departments.get(month)
            if depts is None:
                depts = self.month_departments[month] = {}
            depts[key[1]] = depts.get(key[1], 0) + cell.nanos
            agent = agents.get(key[0])
            if agent is None:
                agent = agents[key[0]] = AgentTotals()
            agent.total.merge(cell)
            model = agent.models.get(key[2])
            if model is None:
                model = agent.models[key[2]] = CostCell()
            model.merge(cell)
        for name, (_, dept) in newest.items():
            if dept is not None:
                agents[name].department = dept
        self.entries += len(entries)

    def add_cell(self, day: int, key: Key, cell: CostCell) -> None:
        """Fold in a whole day cell (from a checkpoint) exactly as its entries would be,
        except for the minutes of ``recent``: those come with the cell (``fold_days``) or
        from the checkpoint's own rows."""
        cells = self._days.setdefault(day, {})
        cells.setdefault(key, CostCell()).merge(cell)
        t = self.day_sums.setdefault(day, CostTotals())
        t.nanos += cell.nanos
        t.executions += cell.executions
        month = self.month_of_day(day)
        t = self.month_sums.setdefault(month, CostTotals())
        t.nanos += cell.nanos
        t.executions += cell.executions
        self._months.setdefault(month, {}).setdefault(key, CostCell()).merge(cell)
        depts = self.month_departments.setdefault(month, {})
        depts[key[1]] = depts.get(key[1], 0) + cell.nanos
        agent = self._agents.setdefault(key[0], AgentTotals())
        if cell.last_used >= agent.total.last_used:
            agent.department = key[1]
        agent.total.merge(cell)
        agent.models.setdefault(key[2], CostCell()).merge(cell)
        self.entries += cell.executions

    def add_all(self, entries: Iterable[CostRecord]) -> int:
        n = 0
        for e in entries:
            self.add(e)
            n += 1
        return n

    # ---------------------------------------------------------------- queries
    def day_total(self, day: date) -> CostTotals:
        return self.day_totals.get((day - EPOCH_DAY).days, CostTotals())

    def month_total(self, month: Month) -> CostTotals:
        return self.month_totals.get(month, CostTotals())

    def department_month_nanos(self, department: str, month: Month) -> int:
        return self.month_departments.get(month, {}).get(department.lower(), 0)

    def cells(self, first: date, last: date) -> Iterator[tuple[Key, CostCell]]:
        """Every (key, cell) of the days from ``first`` to ``last`` inclusive."""
        lo, hi = (first - EPOCH_DAY).days, (last - EPOCH_DAY).days
        if hi - lo + 1 <= len(self.days):
            for day in range(lo, hi + 1):
                cells = self.days.get(day)
                if cells:
                    yield from cells.items()
        else:
            for day, cells in self.days.items():
                if lo <= day <= hi:
                    yield from cells.items()

    def rollup(self, first: date, last: date, by: int) -> dict[str, CostCell]:
        """Cells of a day range summed by one part of the key (0 agent, 1 department, 2 model)."""
        out: dict[str, CostCell] = {}
        for key, cell in self.cells(first, last):
            name = key[by]
            acc = out.get(name)
            if acc is None:
                acc = out[name] = CostCell()
            acc.merge(cell)
        return out


def fold_days(
    entries: Iterable[CostRecord], days: dict[int, dict[Key, CostCell]], recent: RecentSpend
) -> int:
    """Fold entries into day cells and ``recent``'s minutes only: the bulk path of a cold
    start.

    ``LedgerAggregates.add_cell`` then derives every other sum from the cells, which is
    about half the work of adding each entry to all of them.
    """
    n = 0
    minutes = recent.add
    for e in entries:
        day = e.timestamp // MS_PER_DAY
        cells = days.get(day)
        if cells is None:
            cells = days[day] = {}
        dept = e.department.lower()
        key = (e.agent, dept, e.model)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = CostCell()
        nanos = usd_to_nanos(e.cost)
        cell.add(e, nanos)
        minutes(dept, e.timestamp, nanos)
        n += 1
    return n


__all__ = ["AgentTotals", "CostCell", "CostTotals", "Key", "LedgerAggregates", "Month", "fold_days"]
