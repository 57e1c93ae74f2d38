"""View models of the agent detail and costs screens, built from core off the event loop.

The builders are plain functions over the core components (call them on the console's core
thread); the screens only map the frozen results to cells, labels and sparklines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import TYPE_CHECKING, Any

from core import Clock, budget_level, now_ms, projected_level, system_clock
from werkpilot_tui.console.conversions import thresholds_view, window_figures
from werkpilot_tui.console.view_models import (
    WINDOWS,
    AgentRow,
    BudgetRow,
    ThresholdsView,
    WindowFigures,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core import BudgetForecast, CostTracker, PerformanceMonitor

RECENT_LIMIT = 50
#: Sparkline resolution per window: 5-minute, hourly and 6-hourly buckets.
SERIES_POINTS: dict[str, int] = {"1h": 12, "24h": 24, "7d": 28}


def _clock(component: Any) -> Clock:
    """The component's injected clock (so view models agree with core's idea of now)."""
    clock = getattr(component, "clock", None)
    return clock if callable(clock) else system_clock


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


# ------------------------------------------------------------------ agent detail
@dataclass(frozen=True, slots=True)
class ModelUsageRow:
    model: str
    executions: int
    cost: float
    share_pct: float  # of the agent's all-time cost


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    timestamp_ms: int
    status: str
    duration_ms: float
    tokens: int
    cost: float
    model: str | None
    error: str | None

    @property
    def is_error(self) -> bool:
        return self.status in ("error", "failed")


@dataclass(frozen=True, slots=True)
class SeriesView:
    """One agent's trends over a window, oldest point first."""

    window: str
    executions: tuple[float, ...] = ()
    avg_duration: tuple[float, ...] = ()
    cost: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentDetailView:
    """Everything the agent detail screen shows at one moment."""

    name: str
    built_at_ms: int
    found: bool = False
    department: str | None = None
    executions: int = 0
    errors: int = 0
    avg_duration: float = 0.0
    total_tokens: int = 0
    total_cost: float = 0.0  # the monitor's stream (executions' cost)
    last_execution_ms: int | None = None
    ledger_cost: float = 0.0  # the ledger's stream (cost entries)
    month_ledger_cost: float = 0.0  # the ledger's stream this month (what budgets count)
    input_tokens: int = 0
    output_tokens: int = 0
    windows: tuple[tuple[str, WindowFigures], ...] = ()
    models: tuple[ModelUsageRow, ...] = ()
    recent: tuple[ExecutionRow, ...] = ()
    series: SeriesView = SeriesView("24h")
    thresholds: ThresholdsView = field(default_factory=ThresholdsView)
    #: Fleet mode: the host whose data directory holds what Prometheus does not carry.
    fleet_host: str | None = None
    refused: int = 0  # runs the guard refused (core.Refused), all time


def _agent_cost(tracker: CostTracker, name: str) -> Any:
    try:
        return tracker.get_agent_cost(name)
    except (KeyError, ValueError):
        return None


def agent_detail_from_row(
    row: AgentRow | None, name: str, thresholds: ThresholdsView, built_at_ms: int
) -> AgentDetailView:
    """Fleet mode: what the dashboard row of Prometheus figures holds (totals and windows).

    Per-model usage, trends and recent executions stay in the host's own data directory.
    """
    if row is None:
        return AgentDetailView(name=name, built_at_ms=built_at_ms)
    windows = tuple((w, row.window(w)) for w in WINDOWS)
    longest = row.window(WINDOWS[-1])
    return AgentDetailView(
        name=name,
        built_at_ms=built_at_ms,
        found=True,
        department=row.department,
        executions=row.executions,
        errors=row.errors,
        avg_duration=longest.avg_duration,
        total_tokens=row.total_tokens,
        total_cost=row.total_cost,
        last_execution_ms=row.last_execution_ms,
        windows=windows,
        thresholds=thresholds,
        fleet_host=row.host or "?",
    )


def build_agent_detail(
    monitor: PerformanceMonitor,
    tracker: CostTracker,
    name: str,
    window: str = "24h",
    points: int | None = None,
) -> AgentDetailView:
    """One agent's windows, per-model usage, recent executions and trends."""
    metrics = monitor.get_agent_metrics(name)
    cost = _agent_cost(tracker, name)
    built = now_ms(_clock(monitor))
    if metrics is None and cost is None:
        return AgentDetailView(name=name, built_at_ms=built)
    departments = monitor.get_agent_departments()
    department = departments.get(name) or (cost.department if cost is not None else None)
    windows: tuple[tuple[str, WindowFigures], ...] = ()
    if metrics is not None:
        t = monitor.config.thresholds
        windows = tuple((w, window_figures(metrics.windows.get(w), t)) for w in WINDOWS)
    models: list[ModelUsageRow] = []
    ledger_total = float(cost.total_cost) if cost is not None else 0.0
    month = next((c for c in tracker.get_agent_month_costs() if c.name == name), None)
    if cost is not None:
        for model, usage in cost.model_usage.items():
            c = float(_get(usage, "cost", 0.0))
            share = c / ledger_total * 100 if ledger_total > 0 else 0.0
            models.append(ModelUsageRow(model, int(_get(usage, "executions", 0)), c, share))
        models.sort(key=lambda m: (-m.cost, -m.executions, m.model))
    recent = tuple(
        ExecutionRow(
            timestamp_ms=e.timestamp,
            status=e.status,
            duration_ms=float(e.duration),
            tokens=int(e.tokens_used),
            cost=float(e.cost),
            model=e.model,
            error=e.error,
        )
        for e in monitor.get_recent_executions(name, RECENT_LIMIT)
    )
    raw = monitor.get_agent_series(name, window, points or SERIES_POINTS.get(window, 24))
    series = SeriesView(
        window=window,
        executions=tuple(float(v) for v in raw.executions),
        avg_duration=tuple(float(v) for v in raw.avg_duration),
        cost=tuple(float(v) for v in raw.cost),
    )
    return AgentDetailView(
        name=name,
        built_at_ms=built,
        found=True,
        department=department,
        executions=int(metrics.executions) if metrics else 0,
        errors=int(metrics.errors) if metrics else 0,
        refused=int(metrics.refused) if metrics else 0,
        avg_duration=float(metrics.avg_duration) if metrics else 0.0,
        total_tokens=int(metrics.total_tokens) if metrics else 0,
        total_cost=float(metrics.total_cost) if metrics else 0.0,
        last_execution_ms=metrics.last_execution if metrics else None,
        ledger_cost=ledger_total,
        month_ledger_cost=float(month.total_cost) if month is not None else 0.0,
        input_tokens=int(cost.total_input_tokens) if cost is not None else 0,
        output_tokens=int(cost.total_output_tokens) if cost is not None else 0,
        windows=windows,
        models=tuple(models),
        recent=recent,
        series=series,
        thresholds=thresholds_view(monitor.config.thresholds),
    )


# ------------------------------------------------------------------ costs
@dataclass(frozen=True, slots=True)
class NamedAmount:
    name: str
    cost: float


@dataclass(frozen=True, slots=True)
class DayTotal:
    day: date
    cost: float
    executions: int


#: A department's month on the costs screen: the dashboard's budget row (one shape).
DepartmentMonth = BudgetRow


@dataclass(frozen=True, slots=True)
class OptimizationRow:
    agent: str
    current_model: str
    suggested_model: str
    current_cost: float
    potential_savings: float
    executions: int
    message: str


@dataclass(frozen=True, slots=True)
class CostsView:
    """The daily, weekly and monthly reports, the forecast and the optimizations."""

    built_at_ms: int
    day: date  # the day shown; its ISO week and month are shown too
    today: date | None = None
    day_cost: float = 0.0
    day_executions: int = 0
    yesterday_cost: float = 0.0
    top_agents: tuple[NamedAmount, ...] = ()
    day_departments: tuple[NamedAmount, ...] = ()
    week: str = ""
    week_cost: float = 0.0
    week_executions: int = 0
    week_days: tuple[DayTotal, ...] = ()
    month: str = ""
    month_cost: float = 0.0
    month_executions: int = 0
    departments: tuple[DepartmentMonth, ...] = ()
    optimizations: tuple[OptimizationRow, ...] = ()

    @property
    def avg_cost_per_execution(self) -> float:
        return self.day_cost / self.day_executions if self.day_executions else 0.0

    @property
    def change_from_yesterday(self) -> float:
        return self.day_cost - self.yesterday_cost

    @property
    def change_pct(self) -> float | None:
        """Percent change against yesterday; None when yesterday cost nothing."""
        if self.yesterday_cost <= 0:
            return None
        return self.change_from_yesterday / self.yesterday_cost * 100

    @property
    def potential_savings(self) -> float:
        return sum(o.potential_savings for o in self.optimizations)


def _named(items: Any, limit: int = 10) -> tuple[NamedAmount, ...]:
    return tuple(NamedAmount(_get(i, "name"), float(_get(i, "cost", 0.0))) for i in items[:limit])


def build_costs(tracker: CostTracker, day: date | None = None) -> CostsView:
    """The costs screen's figures for ``day`` (today, UTC, by default) and its week and month."""
    clock = _clock(tracker)
    day = day or clock().astimezone(UTC).date()
    daily = tracker.get_daily_cost_report(day)
    yesterday = tracker.get_daily_cost_report(day - timedelta(days=1))
    iso = day.isocalendar()
    week_name = f"{iso.year}-W{iso.week:02d}"
    weekly = tracker.get_weekly_cost_report(week_name)
    monday = day - timedelta(days=day.weekday())
    week_days = []
    for i in range(7):
        d = monday + timedelta(days=i)
        report = daily if d == day else tracker.get_daily_cost_report(d)
        week_days.append(DayTotal(d, float(report.total_cost), int(report.executions)))
    monthly = tracker.get_monthly_cost_report(f"{day.year}-{day.month:02d}")
    today = clock().astimezone(UTC).date()
    current = (day.year, day.month) == (today.year, today.month)
    # The forecast is about the running month; a past month is shown as it ended.
    forecasts = {f.department: f for f in tracker.get_budget_forecast()} if current else {}
    levels = tracker.config.thresholds.budget_levels
    departments: list[DepartmentMonth] = []
    for dept in monthly.departments:
        f = forecasts.pop(dept.name, None)
        row = _department(dept.name, dept.cost, dept.budget, dept.budget_used, f, levels)
        departments.append(row)
    for name, f in forecasts.items():  # a budget but no spend yet this month
        departments.append(_department(name, f.spent, f.budget, f.budget_used, f, levels))
    departments.sort(key=lambda d: (-d.used_pct, d.department))
    optimizations = tuple(
        OptimizationRow(
            agent=o.agent,
            current_model=o.current_model,
            suggested_model=o.suggested_model,
            current_cost=float(o.current_cost),
            potential_savings=float(o.potential_savings),
            executions=int(o.executions),
            message=o.message,
        )
        for o in tracker.get_cost_optimizations()
    )
    return CostsView(
        built_at_ms=now_ms(clock),
        day=day,
        today=today,
        day_cost=float(daily.total_cost),
        day_executions=int(daily.executions),
        yesterday_cost=float(yesterday.total_cost),
        top_agents=_named(daily.agents),
        day_departments=_named(daily.departments, limit=50),
        week=str(weekly.week),
        week_cost=float(weekly.total_cost),
        week_executions=int(weekly.executions),
        week_days=tuple(week_days),
        month=str(monthly.month),
        month_cost=float(monthly.total_cost),
        month_executions=int(monthly.executions),
        departments=tuple(departments),
        optimizations=optimizations,
    )


def _department(
    name: str,
    spent: float,
    budget: float,
    used: float,
    f: BudgetForecast | None,
    levels: Sequence[float],
) -> DepartmentMonth:
    """The month report's spend with the running month's forecast (a past month: as it
    ended, its level by core's rule on the spend)."""
    projected_pct = float(f.projected_used) if f is not None else float(used)
    return BudgetRow(
        department=name,
        spent=float(spent),
        budget=float(budget),
        used_pct=float(used),
        projected=float(f.projected) if f is not None else float(spent),
        projected_pct=projected_pct,
        run_out_date=f.run_out_date if f is not None else None,
        level=f.level if f is not None else budget_level(float(used), levels),
        projected_level=projected_level(projected_pct, levels),
    )
