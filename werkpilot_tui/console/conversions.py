"""Core results to the console's view models, written once (typed; mypy strict).

The local session (``live.py``), the detail views (``detail_models.py``) and fleet mode
(``fleet_view.py``) all convert through here, so a view model carries the level core's rules
computed (``core.monitor.thresholds``, ``core.costs.forecast``) and widgets only map it to a style
and a symbol. The frozen ``Dashboard`` stays the seam between sources and widgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from core import (
    DEFAULT_LEVELS,
    BudgetForecast,
    ErrorRateLimits,
    WindowStats,
    daily_budget_level,
    error_rate_level,
    forecast,
    projected_level,
    response_time_level,
    usd_to_nanos,
)
from core import config as core_config
from werkpilot_tui.console.view_models import BudgetRow, Health, ThresholdsView, WindowFigures


def thresholds_view(t: core_config.ThresholdsConfig | None) -> ThresholdsView:
    """The limits the console colours against (the defaults when there is no config)."""
    if t is None:
        return ThresholdsView()
    return ThresholdsView(
        error_rate_warning=t.error_rate_warning,
        error_rate_critical=t.error_rate_critical,
        min_executions=t.min_executions,
        response_time_warning_ms=t.response_time_warning_ms,
        daily_budget=t.daily_budget,
    )


def window_figures(stats: WindowStats | None, limits: ErrorRateLimits) -> WindowFigures:
    """One window of core's figures, with the error-rate level by the alert rule."""
    if stats is None:
        return WindowFigures()
    return figures(
        count=int(stats.count),
        errors=int(stats.errors),
        error_rate=float(stats.error_rate),
        avg_duration=float(stats.avg_duration),
        total_cost=float(stats.total_cost),
        total_tokens=int(stats.total_tokens),
        limits=limits,
    )


def figures(
    *,
    count: int,
    errors: int,
    error_rate: float,
    avg_duration: float,
    total_cost: float,
    total_tokens: int,
    limits: ErrorRateLimits,
) -> WindowFigures:
    """A window's figures from any source (fleet mode: Prometheus estimates, rounded)."""
    return WindowFigures(
        count=count,
        errors=errors,
        error_rate=error_rate,
        avg_duration=avg_duration,
        total_cost=total_cost,
        total_tokens=total_tokens,
        error_level=error_rate_level(count, errors, limits),
    )


def budget_row(
    f: BudgetForecast, levels: Sequence[float] = DEFAULT_LEVELS, burn_rate: float | None = None
) -> BudgetRow:
    """A department's month as the budget bars and the costs screen show it (``burn_rate``:
    the 1 h window's, from ``CostTracker.get_burn_rates``)."""
    return BudgetRow(
        department=f.department,
        spent=float(f.spent),
        budget=float(f.budget),
        used_pct=float(f.budget_used),
        projected=float(f.projected),
        projected_pct=float(f.projected_used),
        run_out_date=f.run_out_date,
        level=f.level,
        projected_level=projected_level(float(f.projected_used), levels),
        burn_rate=burn_rate,
    )


def budget_row_of_spend(
    department: str,
    spent_usd: float,
    budget: float,
    now: datetime,
    levels: Sequence[float] = DEFAULT_LEVELS,
    burn_rate: float | None = None,
) -> BudgetRow:
    """A department's month from its spend in USD (fleet mode: summed from Prometheus), by
    core's own forecast, so fleet and local bars agree on the level and the projection."""
    nanos = usd_to_nanos(max(0.0, float(spent_usd)))
    row = budget_row(forecast(department, nanos, budget, now, levels), levels, burn_rate)
    if budget <= 0:  # spend reported without a budget: nothing to be at a level of
        row = replace(row, used_pct=0.0, projected_pct=0.0, run_out_date=None, level=None)
        row = replace(row, projected_level=None)
    return row


def levelled(h: Health, hour: WindowFigures, t: core_config.ThresholdsConfig) -> Health:
    """The header's figures with the levels core's rules give them (error rate by the alert
    rule over ``hour``, today's cost against the daily budget, the response-time limit)."""
    return replace(
        h,
        error_level=hour.error_level,
        cost_level=daily_budget_level(h.cost_today, h.daily_budget),
        slow_level=response_time_level(h.avg_response_ms, t),
    )


__all__ = [
    "budget_row",
    "budget_row_of_spend",
    "figures",
    "levelled",
    "thresholds_view",
    "window_figures",
]
