"""Cost reports built from the ledger aggregates (pure: aggregates and budgets in, models out).

Also the parsing of the inputs the reports take: token counts, ISO weeks and months.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from core.clock import Clock, parse_day
from core.costs.aggregates import CostCell, LedgerAggregates, Month
from core.costs.forecast import percent
from core.costs.models import (
    AgentCost,
    DailyCostReport,
    DailySummary,
    DepartmentCost,
    GeneratedDailyReport,
    ModelUsage,
    MonthlyCostReport,
    MonthlyDepartment,
    NamedCost,
    Optimization,
    WeeklyCostReport,
)
from core.costs.pricing import Usage, family_of, nanos_to_usd, split_tokens_used
from core.records import MAX_EXECUTION_TOKENS, refusal

BudgetFor = Callable[[str], float]

#: The optimization rules: more than this many opus executions -> sonnet, saving
#: this share of the opus cost; sonnet averaging under this USD per execution -> haiku.
OPUS_MIN_EXECUTIONS = 100
OPUS_SAVINGS = 0.80
SONNET_MAX_AVG_NANOS = 1_000_000  # $0.001
SONNET_SAVINGS = 0.70
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ------------------------------------------------------------------ inputs
def _tokens(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise refusal(name, value, f"expected a non-negative integer, got {value!r}")
    if value > MAX_EXECUTION_TOKENS:
        raise refusal(name, value, f"at most {MAX_EXECUTION_TOKENS:,} tokens per entry")
    return value


def make_usage(
    input_tokens: int = 0,
    output_tokens: int = 0,
    tokens_used: int | None = None,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> Usage:
    """Validated token counts; a bare ``tokens_used`` is split 50/50 (half input, half output)."""
    usage = Usage(
        _tokens("input_tokens", input_tokens),
        _tokens("output_tokens", output_tokens),
        _tokens("cache_read_tokens", cache_read_tokens),
        _tokens("cache_write_tokens", cache_write_tokens),
    )
    if tokens_used is None:
        return usage
    _tokens("tokens_used", tokens_used)
    if usage.total == 0:
        return split_tokens_used(tokens_used)
    if usage.total != tokens_used:
        raise refusal(
            "tokens_used",
            tokens_used,
            f"{tokens_used} does not equal the sum of the token counts given "
            f"({usage.total}); pass one or the other",
        )
    return usage


def parse_week(week: str | date | datetime | None, clock: Clock) -> tuple[str, date]:
    """ISO week label ``YYYY-Www`` and its Monday; a date gives its week, None this week."""
    if week is None or isinstance(week, date):
        y, w, _ = parse_day(week, clock).isocalendar()
    else:
        m = _WEEK.match(week) if isinstance(week, str) else None
        if not m:
            raise ValueError(f"week: expected ISO week YYYY-Www, got {week!r}")
        y, w = int(m[1]), int(m[2])
    try:
        monday = date.fromisocalendar(y, w, 1)
    except ValueError:
        raise ValueError(f"week: {y}-W{w:02d} does not exist") from None
    return f"{y:04d}-W{w:02d}", monday


def parse_month(month: str | date | datetime | None, clock: Clock) -> Month:
    """(year, month) from ``YYYY-MM``, a date, or this month when None."""
    if month is None or isinstance(month, date):
        day = parse_day(month, clock)
        return day.year, day.month
    m = _MONTH.match(month) if isinstance(month, str) else None
    if not m or not 1 <= int(m[2]) <= 12:
        raise ValueError(f"month: expected YYYY-MM, got {month!r}")
    return int(m[1]), int(m[2])


def month_days(month: Month) -> tuple[date, date]:
    """First and last day of a month."""
    first = date(month[0], month[1], 1)
    nxt = date(month[0] + month[1] // 12, month[1] % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def departments_of(agg: LedgerAggregates, month: Month, known: Iterable[str]) -> list[str]:
    """Departments with a budget or with spend in the month, sorted."""
    return sorted(set(known) | set(agg.month_departments.get(month, {})))


_USAGE_KEYS = {
    "model": "model",
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "tokensUsed": "tokens_used",
    "cacheReadTokens": "cache_read_tokens",
    "cacheWriteTokens": "cache_write_tokens",
    "cost": "cost",
    "timestamp": "timestamp",
}


def usage_kwargs(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments from a usage mapping (camelCase keys); unknown keys are an error."""
    if not isinstance(usage, Mapping):
        raise TypeError(f"track_cost: usage must be a mapping, got {type(usage).__name__}")
    allowed = set(_USAGE_KEYS) | set(_USAGE_KEYS.values())
    unknown = sorted(str(k) for k in usage if k not in allowed)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key in the usage mapping")
    return {_USAGE_KEYS.get(k, k): v for k, v in usage.items()}


# ------------------------------------------------------------------ builders
def by_cost(cells: dict[str, CostCell]) -> list[NamedCost]:
    ranked = sorted(cells.items(), key=lambda kv: (-kv[1].nanos, kv[0]))
    return [NamedCost(name=n, cost=nanos_to_usd(c.nanos)) for n, c in ranked]


def agent_cost(
    name: str, department: str, total: CostCell, models: dict[str, CostCell]
) -> AgentCost:
    return AgentCost(
        name=name,
        department=department,
        total_cost=nanos_to_usd(total.nanos),
        total_input_tokens=total.input_tokens,
        total_output_tokens=total.output_tokens,
        executions=total.executions,
        model_usage={
            m: ModelUsage(cost=nanos_to_usd(c.nanos), executions=c.executions)
            for m, c in sorted(models.items(), key=lambda kv: (-kv[1].nanos, kv[0]))
        },
        last_used=total.last_used or None,
    )


def agent_costs(agg: LedgerAggregates) -> list[AgentCost]:
    """Every agent's all-time spend, most expensive first."""
    out = [agent_cost(n, t.department, t.total, t.models) for n, t in agg.agents.items()]
    out.sort(key=lambda a: (-a.total_cost, a.name))
    return out


def agent_month_costs(agg: LedgerAggregates, month: Month) -> list[AgentCost]:
    """Every agent's spend in ``month`` (all its departments), most expensive first.

    Its department is the one it spent most in. Cost entries need no execution, so an agent
    seen only here (``track_cost`` alone, a nightly batch) still has its month's spend.
    """
    per: dict[str, tuple[CostCell, dict[str, CostCell], dict[str, int]]] = {}
    for (agent, dept, model), cell in agg.months.get(month, {}).items():
        if agent not in per:
            per[agent] = (CostCell(), {}, {})
        total, models, depts = per[agent]
        total.merge(cell)
        models.setdefault(model, CostCell()).merge(cell)
        depts[dept] = depts.get(dept, 0) + cell.nanos
    out = [agent_cost(a, max(sorted(d), key=lambda k: d[k]), t, m) for a, (t, m, d) in per.items()]
    out.sort(key=lambda a: (-a.total_cost, a.name))
    return out


def daily_report(agg: LedgerAggregates, day: date) -> DailyCostReport:
    t = agg.day_total(day)
    return DailyCostReport(
        date=day,
        total_cost=nanos_to_usd(t.nanos),
        executions=t.executions,
        agents=by_cost(agg.rollup(day, day, 0)),
        departments=by_cost(agg.rollup(day, day, 1)),
    )


def weekly_report(agg: LedgerAggregates, label: str, monday: date) -> WeeklyCostReport:
    nanos = execs = 0
    for i in range(7):
        t = agg.day_total(monday + timedelta(days=i))
        nanos += t.nanos
        execs += t.executions
    return WeeklyCostReport(week=label, total_cost=nanos_to_usd(nanos), executions=execs)


def monthly_report(
    agg: LedgerAggregates, month: Month, departments: list[str], budget_for: BudgetFor
) -> MonthlyCostReport:
    rows = []
    for d in departments:
        spent = agg.department_month_nanos(d, month)
        budget = budget_for(d)
        rows.append(
            MonthlyDepartment(
                name=d, cost=nanos_to_usd(spent), budget=budget, budget_used=percent(spent, budget)
            )
        )
    rows.sort(key=lambda m: (-m.cost, m.name))
    t = agg.month_total(month)
    return MonthlyCostReport(
        month=f"{month[0]:04d}-{month[1]:02d}",
        total_cost=nanos_to_usd(t.nanos),
        executions=t.executions,
        departments=rows,
    )


def department_costs(
    agg: LedgerAggregates, month: Month, departments: list[str], budget_for: BudgetFor
) -> list[DepartmentCost]:
    """Each department's month: spend, budget, and its agents' month spend per model."""
    wanted = set(departments)
    per: dict[str, dict[str, tuple[CostCell, dict[str, CostCell]]]] = {}
    for (agent, dept, model), cell in agg.months.get(month, {}).items():
        if dept not in wanted:
            continue
        agents = per.setdefault(dept, {})
        if agent not in agents:
            agents[agent] = (CostCell(), {})
        total, models = agents[agent]
        total.merge(cell)
        models.setdefault(model, CostCell()).merge(cell)
    out = []
    for d in departments:
        members = [agent_cost(a, d, t, m) for a, (t, m) in per.get(d, {}).items()]
        members.sort(key=lambda a: (-a.total_cost, a.name))
        spent = agg.department_month_nanos(d, month)
        budget = budget_for(d)
        out.append(
            DepartmentCost(
                name=d,
                total_cost=nanos_to_usd(spent),
                budget=budget,
                budget_used=percent(spent, budget),
                agents=members,
            )
        )
    out.sort(key=lambda c: (-c.total_cost, c.name))
    return out


def optimizations(agg: LedgerAggregates) -> list[Optimization]:
    """Downgrades (opus -> sonnet, sonnet -> haiku) over each agent's all-time usage per family.

    An agent using several ids of one family is judged on their sum; ``currentModel`` is
    the id when there is one, else the family name.
    """
    out: list[Optimization] = []
    for agent, totals in agg.agents.items():
        families: dict[str, tuple[CostCell, list[str]]] = {}
        for model, cell in totals.models.items():
            family = family_of(model)
            if family in ("opus", "sonnet"):
                acc, ids = families.setdefault(family, (CostCell(), []))
                acc.merge(cell)
                ids.append(model)
        for family, (cell, ids) in sorted(families.items()):
            if family == "opus" and cell.executions > OPUS_MIN_EXECUTIONS:
                target, share = "sonnet", OPUS_SAVINGS
            elif (
                family == "sonnet"
                and cell.executions > 0
                and cell.nanos < SONNET_MAX_AVG_NANOS * cell.executions
            ):
                target, share = "haiku", SONNET_SAVINGS
            else:
                continue
            current = ids[0] if len(ids) == 1 else family
            cost = nanos_to_usd(cell.nanos)
            savings = cost * share
            out.append(
                Optimization(
                    agent=agent,
                    message=f"Consider {target} instead of {current} for {agent}: "
                    f"potential savings ${savings:.2f} of ${cost:.2f}",
                    current_model=current,
                    suggested_model=target,
                    current_cost=cost,
                    potential_savings=savings,
                    executions=cell.executions,
                )
            )
    out.sort(key=lambda o: (-o.potential_savings, o.agent, o.current_model))
    return out


def generated_report(agg: LedgerAggregates, day: date) -> GeneratedDailyReport:
    """The daily report document: summary with the change from yesterday, top 10 agents."""
    today = agg.day_total(day)
    yesterday = agg.day_total(day - timedelta(days=1))
    change = today.nanos - yesterday.nanos
    return GeneratedDailyReport(
        date=day,
        summary=DailySummary(
            total_cost=nanos_to_usd(today.nanos),
            executions=today.executions,
            avg_cost_per_execution=(
                nanos_to_usd(today.nanos) / today.executions if today.executions else 0.0
            ),
            change_from_yesterday=nanos_to_usd(change),
            change_percentage=change / yesterday.nanos * 100 if yesterday.nanos else 0.0,
        ),
        top_agents=by_cost(agg.rollup(day, day, 0))[:10],
        departments=by_cost(agg.rollup(day, day, 1)),
        optimizations=optimizations(agg),
    )


__all__ = [
    "agent_costs",
    "daily_report",
    "department_costs",
    "departments_of",
    "generated_report",
    "make_usage",
    "month_days",
    "monthly_report",
    "optimizations",
    "parse_month",
    "parse_week",
    "usage_kwargs",
    "weekly_report",
]
