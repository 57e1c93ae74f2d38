"""Domain rules live once, in core: local and fleet mode give the same levels and forecast.

The same figures go through the local conversion (core's ledger forecast, exact nano-dollars)
and fleet mode's (a USD sum from Prometheus) and must come out the same, for the default
budget levels and for configured ones; the widgets only map the carried level to a mark.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import load_config
from core.costs.forecast import budget_level, forecast, projected_level
from core.costs.pricing import usd_to_nanos
from core.monitor.thresholds import daily_budget_level, error_rate_level
from werkpilot_tui.console.conversions import budget_row, budget_row_of_spend, figures, levelled
from werkpilot_tui.console.view_models import Health, WindowFigures
from werkpilot_tui.console.widgets.budget_bars import LEVEL_MARK, forecast_text

EARLY = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # five hours into the month
MID = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("now", [EARLY, MID])
@pytest.mark.parametrize("levels", [(0.75, 0.90, 1.00), (0.5, 0.8, 1.2)])
@pytest.mark.parametrize("spent", [0.0, 3.3, 40.0, 61.0, 85.0, 125.0])
def test_local_and_fleet_rows_agree(
    spent: float, levels: tuple[float, float, float], now: datetime
) -> None:
    budget = 100.0
    local = budget_row(forecast("sales", usd_to_nanos(spent), budget, now, levels), levels)
    fleet = budget_row_of_spend("sales", spent, budget, now, levels)
    assert fleet == local
    assert local.level == budget_level(local.used_pct, levels)
    assert local.projected_level == projected_level(local.projected_pct, levels)


def test_early_in_the_month_the_fleet_forecast_floors_elapsed_time_at_one_day() -> None:
    """The fleet used to floor at one hour in floats: $3.30 five hours into March projected
    ~$495; core's rule (one day) projects 3.30 + 3.30 x (31 days - 5 h) / 1 day."""
    row = budget_row_of_spend("sales", 3.3, 100.0, EARLY)
    assert row.projected == pytest.approx(3.3 + 3.3 * (31 * 24 - 5) / 24, abs=1e-6)


def test_configured_budget_levels_are_honoured_everywhere() -> None:
    levels = (0.5, 0.8, 1.2)
    assert budget_level(55.0, levels) == "info"
    assert budget_level(85.0, levels) == "warning"
    assert budget_level(110.0, levels) == "warning"  # 100 % is not critical here
    assert budget_level(120.0, levels) == "critical"
    assert budget_level(90.0) == "warning" and budget_level(89.99) == "info"  # defaults
    row = budget_row_of_spend("ops", 61.0, 100.0, MID, levels)
    assert row.level == "info" and row.projected_level == "critical"  # ~$135 by month end
    # the widget shows the carried level, whatever the percentages
    assert forecast_text(row).endswith(LEVEL_MARK["critical"])


def test_header_levels_come_from_core_rules_and_honour_min_executions() -> None:
    t = load_config(None, env={}).thresholds
    few = figures(
        count=5, errors=4, error_rate=0.8, avg_duration=0, total_cost=0, total_tokens=0, limits=t
    )
    assert few.error_level is None  # at most min_executions runs: no level
    many = figures(
        count=50, errors=20, error_rate=0.4, avg_duration=0, total_cost=0, total_tokens=0, limits=t
    )
    assert many.error_level == error_rate_level(50, 20, t) == "critical"
    h = levelled(Health(cost_today=95.0, daily_budget=100.0, avg_response_ms=1e9), few, t)
    assert (h.error_level, h.cost_level, h.slow_level) == (None, "warning", "warning")
    assert daily_budget_level(101.0, 100.0) == "critical"
    assert levelled(Health(), WindowFigures(), t).cost_level is None


def test_one_usd_to_nano_rounding() -> None:
    """The ledger, the monitor's windows and the exposition share core.costs.pricing.usd_to_nanos:
    exact half-to-even of the decimal the float prints as, for small and huge amounts."""
    from decimal import ROUND_HALF_EVEN, Decimal

    from core.monitor import windows

    assert windows.to_nano is usd_to_nanos
    for cost in (
        0.0,
        1e-9,
        5e-10,
        1.5e-9,
        2.5e-9,
        0.1,
        0.3,
        1234.5678901235,
        2e6 + 0.0000000005,
        9_999_999.999999999,
        1e15,
        -0.25,
    ):
        exact = int(Decimal(repr(cost)).scaleb(9).to_integral_value(ROUND_HALF_EVEN))
        assert usd_to_nanos(cost) == exact, cost
    exposition = (REPO / "core" / "exposition.py").read_text(encoding="utf-8")
    assert "usd_to_nanos(" in exposition and "* _NANO)" not in exposition
