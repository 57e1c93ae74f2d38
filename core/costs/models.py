"""Pydantic result models of the cost ledger: the JSON shapes of docs/SPEC.md, camelCase keys.

``model_dump(by_alias=True, mode="json")`` gives exactly the keys of SPEC "Shapes". Money is
USD as an unrounded float (exact sums are kept in nano-dollars before this edge).
"""

from __future__ import annotations

from datetime import date as Date
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

BudgetLevel = Literal["info", "warning", "critical"]


class _Result(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CostResult(_Result):
    """What ``track_cost`` returns: the entry's cost and the totals it now belongs to."""

    cost: float
    total_cost_today: float
    total_cost_this_month: float
    department_cost: float  # this month
    department_budget: float


class ModelUsage(_Result):
    cost: float
    executions: int


class AgentCost(_Result):
    """An agent's spend; all-time from ``get_agent_cost``, this month inside a department."""

    name: str
    department: str
    total_cost: float
    total_input_tokens: int
    total_output_tokens: int
    executions: int
    model_usage: dict[str, ModelUsage]
    last_used: int | None  # epoch ms


class DepartmentCost(_Result):
    """A department's month: spend, budget, percent used, and its agents (this month)."""

    name: str
    total_cost: float
    budget: float
    budget_used: float  # percent
    agents: list[AgentCost]


class NamedCost(_Result):
    name: str
    cost: float


class DailyCostReport(_Result):
    date: Date
    total_cost: float
    executions: int
    agents: list[NamedCost]
    departments: list[NamedCost]


class WeeklyCostReport(_Result):
    week: str  # ISO week, "YYYY-Www"
    total_cost: float
    executions: int


class MonthlyDepartment(_Result):
    name: str
    cost: float
    budget: float
    budget_used: float  # percent


class MonthlyCostReport(_Result):
    month: str  # "YYYY-MM"
    total_cost: float
    executions: int
    departments: list[MonthlyDepartment]


class Optimization(_Result):
    """A suggestion to move an agent to a cheaper model family."""

    agent: str
    type: Literal["model_downgrade"] = "model_downgrade"
    message: str
    current_model: str
    suggested_model: str
    current_cost: float
    potential_savings: float
    executions: int


class AllCosts(_Result):
    agents: list[AgentCost]
    departments: list[DepartmentCost]
    daily: DailyCostReport
    weekly: WeeklyCostReport
    monthly: MonthlyCostReport
    optimizations: list[Optimization]


class DailySummary(_Result):
    total_cost: float
    executions: int
    avg_cost_per_execution: float
    change_from_yesterday: float
    change_percentage: float  # 0 when yesterday cost nothing (no division by zero)


class GeneratedDailyReport(_Result):
    """The document written to ``costs/daily-cost-YYYY-MM-DD.json``."""

    date: Date
    summary: DailySummary
    top_agents: list[NamedCost]
    departments: list[NamedCost]
    optimizations: list[Optimization]


class BudgetForecast(_Result):
    """A department's month so far and where the current run rate takes it."""

    department: str
    spent: float
    budget: float
    budget_used: float  # percent of budget spent so far
    projected: float  # month-end spend at the current run rate
    projected_used: float  # percent
    run_out_date: Date | None  # the day spend reaches the budget; None: not this month
    level: BudgetLevel | None  # by spend so far: 75/90/100 % of budget


class BurnRates(_Result):
    """A department's burn rates: spend over each window against the pace that spends the
    monthly budget exactly by the month's end (1.0); see ``core.costs.burn``."""

    department: str
    budget: float
    rates: dict[str, float]  # window ("5m", "30m", "1h", "6h", "3d") -> burn rate

    @property
    def shown(self) -> float:
        """The rate the console and the status line show: the last hour's."""
        return self.rates.get("1h", 0.0)


__all__ = [
    "AgentCost",
    "AllCosts",
    "BudgetForecast",
    "BudgetLevel",
    "BurnRates",
    "CostResult",
    "DailyCostReport",
    "DailySummary",
    "DepartmentCost",
    "GeneratedDailyReport",
    "ModelUsage",
    "MonthlyCostReport",
    "MonthlyDepartment",
    "NamedCost",
    "Optimization",
    "WeeklyCostReport",
]
