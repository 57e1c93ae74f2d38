"""Budget levels and the month-end forecast (pure: spend, budget and a time in, figures out).

Run rate: the month's spend so far divided by the time elapsed since the month began, with
the elapsed time floored at one day so that the first hours of a month (a few calls, a tiny
elapsed time) do not project absurd figures. Projected month-end spend = spend so far + run
rate x time left in the month. The run-out date is the UTC day on which spend reaches the
budget at that rate: today when it already has, None when that falls after the month's end
or nothing has been spent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from core.clock import from_ms, to_ms
from core.costs.models import BudgetForecast, BudgetLevel
from core.costs.pricing import NANOS_PER_USD, nanos_to_usd

LEVELS: tuple[tuple[BudgetLevel, str], ...] = (
    ("info", "budget_info"),
    ("warning", "budget_warning"),
    ("critical", "budget_exceeded"),
)
MIN_ELAPSED_MS = 86_400_000  # one day
#: ``[thresholds] budget_levels``' default: info, warning and critical at 75/90/100 % of budget.
DEFAULT_LEVELS: tuple[float, float, float] = (0.75, 0.90, 1.00)


def month_bounds_ms(now: datetime) -> tuple[int, int]:
    """Epoch ms of the start of ``now``'s UTC month and of the next month."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    nxt = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return to_ms(start), to_ms(nxt)


def budget_nanos(budget: float) -> Decimal:
    return Decimal(repr(float(budget))) * NANOS_PER_USD


def level_bars(budget: float, levels: Sequence[float]) -> list[int]:
    """The whole nano-dollars at which each level of LEVELS is reached: spend is whole
    nano-dollars, so ``spent >= budget x level`` exactly when ``spent >= ceil(that)``."""
    whole = budget_nanos(budget)
    return [math.ceil(whole * Decimal(repr(float(x)))) for x in levels[: len(LEVELS)]]


def level_of(spent_nanos: int, bars: Sequence[int]) -> int:
    """``level_index`` from ``level_bars``: integer comparisons only."""
    for i in range(len(bars) - 1, -1, -1):
        if spent_nanos >= bars[i]:
            return i
    return -1


def level_index(spent_nanos: int, budget: float, levels: Sequence[float]) -> int:
    """Index into LEVELS of the highest level reached (-1: none), compared exactly."""
    whole = budget_nanos(budget)
    for i in range(min(len(levels), len(LEVELS)) - 1, -1, -1):
        if spent_nanos >= whole * Decimal(repr(float(levels[i]))):
            return i
    return -1


def _bound(level: float) -> float:
    """A level as a percentage, without float noise (0.9 x 100 is 90.00000000000001)."""
    return round(float(level) * 100, 9)


def budget_level(used_pct: float, levels: Sequence[float] = DEFAULT_LEVELS) -> BudgetLevel | None:
    """The level a month's spend has reached, from its percentage of the budget (the figure
    a view has; ``forecast`` compares exact nano-dollars where it has them)."""
    for i in range(min(len(levels), len(LEVELS)) - 1, -1, -1):
        if used_pct >= _bound(levels[i]):
            return LEVELS[i][0]
    return None


def projected_level(
    projected_pct: float, levels: Sequence[float] = DEFAULT_LEVELS
) -> BudgetLevel | None:
    """The month-end projection's level: critical at the budget level, warning at the warning
    level; never info (a projection is not spend yet, and a mild one is not news)."""
    level = budget_level(projected_pct, levels)
    return None if level == "info" else level


def percent(spent_nanos: int, budget: float) -> float:
    return spent_nanos / NANOS_PER_USD / budget * 100 if budget > 0 else 0.0


def forecast(
    department: str,
    spent_nanos: int,
    budget: float,
    now: datetime,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> BudgetForecast:
    """One department's month so far and where its run rate takes it by month end."""
    start_ms, end_ms = month_bounds_ms(now)
    now_ms = min(max(to_ms(now), start_ms), end_ms)
    elapsed = max(now_ms - start_ms, MIN_ELAPSED_MS)
    left = end_ms - now_ms
    # Integer arithmetic: rate = spent / elapsed (nano-dollars per ms).
    projected_nanos = spent_nanos + (spent_nanos * left + elapsed // 2) // elapsed
    whole = budget_nanos(budget)
    run_out = None
    if spent_nanos > 0:
        if spent_nanos >= whole:
            run_out = now.astimezone(UTC).date()
        else:
            # ceil((budget - spent) / rate) ms from now
            wait = -(-int((whole - spent_nanos) * elapsed) // spent_nanos)
            if now_ms + wait < end_ms:
                run_out = from_ms(now_ms + wait).date()
    idx = level_index(spent_nanos, budget, levels)
    return BudgetForecast(
        department=department,
        spent=nanos_to_usd(spent_nanos),
        budget=budget,
        budget_used=percent(spent_nanos, budget),
        projected=nanos_to_usd(projected_nanos),
        projected_used=percent(projected_nanos, budget),
        run_out_date=run_out,
        level=LEVELS[idx][0] if idx >= 0 else None,
    )


__all__ = [
    "DEFAULT_LEVELS",
    "LEVELS",
    "budget_level",
    "budget_nanos",
    "forecast",
    "level_index",
    "month_bounds_ms",
    "percent",
    "projected_level",
]
