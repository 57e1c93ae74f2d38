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
from core.costs.recent import RecentSpend
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


#: Where an entry lands: its agent, its four cells (day, month, agent total, agent model),
#: the day's and the month's totals and the month's spend per department.
_Lands = tuple["AgentTotals", tuple["CostCell", ...], "CostTotals", "CostTotals", dict[str, int]]


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
    """Every cost entry seen, folded into day, month and agent sums."""

    def __init__(self) -> None:
        self.days: dict[int, dict[Key, CostCell]] = {}
        self.months: dict[Month, dict[Key, CostCell]] = {}
        self.day_totals: dict[int, CostTotals] = {}
        self.month_totals: dict[Month, CostTotals] = {}
        self.month_departments: dict[Month, dict[str, int]] = {}
        self.agents: dict[str, AgentTotals] = {}
        self.recent = RecentSpend()
        self.entries = 0
        self._months: dict[int, Month] = {}
        self._lower: dict[str, str] = {}  # department as written -> lower case
        self._lands: dict[tuple[int, str, str, str], _Lands] = {}  # see ``add``

    def month_of_day(self, day: int) -> Month:
        month = self._months.get(day)
        if month is None:
            d = EPOCH_DAY + timedelta(days=day)
            month = self._months[day] = (d.year, d.month)
        return month

    def add(self, e: CostRecord) -> None:
        # Called for every entry (each ``track_cost``): the cells an entry lands in are
        # found with one lookup of (day, agent, department, model) — ``_lands`` fills it —
        # then summed in one loop (``CostCell.add`` inlined). Cells are never replaced nor
        # removed, so what the lookup holds stays the cells of the tables.
        nanos = usd_to_nanos(e.cost)
        ts = e.timestamp
        name, dept, model_name = e.agent, e.department, e.model
        lower = self._lower.get(dept)
        if lower is None:
            lower = self._lower_case(dept)
        day = ts // MS_PER_DAY
        lands = self._lands.get((day, name, lower, model_name))
        if lands is None:
            lands = self._land(day, name, lower, model_name)
        agent, cells, day_total, month_total, depts = lands
        if ts >= agent.total.last_used:
            agent.department = lower
        inp, out = e.input_tokens, e.output_tokens
        read, write = e.cache_read_tokens, e.cache_write_tokens
        for cell in cells:  # the day's, the month's, the agent's total and its model's
            cell.nanos += nanos
            cell.input_tokens += inp
            cell.output_tokens += out
            cell.cache_read_tokens += read
            cell.cache_write_tokens += write
            cell.executions += 1
            if ts > cell.last_used:
                cell.last_used = ts
        day_total.nanos += nanos
        day_total.executions += 1
        month_total.nanos += nanos
        month_total.executions += 1
        depts[lower] = depts.get(lower, 0) + nanos
        self.recent.add(lower, ts, nanos)
        self.entries += 1

    def _lower_case(self, department: str) -> str:
        if len(self._lower) >= 10_000:
            self._lower.clear()
        lower = self._lower[department] = department.lower()
        return lower

    def _land(self, day: int, name: str, dept: str, model_name: str) -> _Lands:
        """Where an entry of ``day`` and (name, dept, model) lands, created empty as needed."""
        key = (name, dept, model_name)
        month = self.month_of_day(day)
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentTotals()
        model = agent.models.get(model_name)
        if model is None:
            model = agent.models[model_name] = CostCell()
        cells = (_cell(self.days, day, key), _cell(self.months, month, key), agent.total, model)
        day_total = self.day_totals.get(day)
        if day_total is None:
            day_total = self.day_totals[day] = CostTotals()
        month_total = self.month_totals.get(month)
        if month_total is None:
            month_total = self.month_totals[month] = CostTotals()
        depts = self.month_departments.get(month)
        if depts is None:
            depts = self.month_departments[month] = {}
        if len(self._lands) >= 10_000:
            self._lands.clear()
        lands = self._lands[day, name, dept, model_name] = (
            agent,
            cells,
            day_total,
            month_total,
            depts,
        )
        return lands

    def add_many(self, entries: Sequence[CostRecord], nanos: Sequence[int]) -> None:
        """``add`` of each entry in turn (``nanos``: each one's ``usd_to_nanos(cost)``),
        summed per day and key first: the same sums, a quarter of the dictionary work."""
        groups: dict[tuple[int, Key], CostCell] = {}
        newest: dict[str, list[Any]] = {}  # agent -> [newest timestamp, its department]
        agents = self.agents
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
            _cell(self.days, day, key).merge(cell)
            _cell(self.months, month, key).merge(cell)
            _merge_totals(self.day_totals, day, cell)
            _merge_totals(self.month_totals, month, cell)
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
        cells = self.days.setdefault(day, {})
        cells.setdefault(key, CostCell()).merge(cell)
        t = self.day_totals.setdefault(day, CostTotals())
        t.nanos += cell.nanos
        t.executions += cell.executions
        month = self.month_of_day(day)
        t = self.month_totals.setdefault(month, CostTotals())
        t.nanos += cell.nanos
        t.executions += cell.executions
        self.months.setdefault(month, {}).setdefault(key, CostCell()).merge(cell)
        depts = self.month_departments.setdefault(month, {})
        depts[key[1]] = depts.get(key[1], 0) + cell.nanos
        agent = self.agents.setdefault(key[0], AgentTotals())
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
