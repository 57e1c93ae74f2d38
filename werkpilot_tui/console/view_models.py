"""Small immutable snapshots of what the dashboard shows, built off the event loop.

Widgets only map these to cells and labels; every figure is computed by ``core``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

WINDOWS: tuple[str, ...] = ("1h", "24h", "7d")
LEVELS: tuple[str, ...] = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class ThresholdsView:
    """The limits the dashboard colours against (from the configuration)."""

    error_rate_warning: float = 0.10
    error_rate_critical: float = 0.25
    min_executions: int = 10
    response_time_warning_ms: float = 30_000.0
    daily_budget: float = 100.0


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """One agent's (or the system's) figures over one rolling window."""

    count: int = 0
    errors: int = 0
    error_rate: float = 0.0
    avg_duration: float = 0.0
    total_cost: float = 0.0
    total_tokens: int = 0
    #: The error-rate level by core's alert rule (None below ``min_executions`` runs).
    error_level: str | None = None


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent: all-time totals plus its figures per window."""

    name: str
    department: str | None
    executions: int
    errors: int
    total_tokens: int
    total_cost: float
    last_execution_ms: int | None
    windows: Mapping[str, WindowFigures] = field(default_factory=dict)
    host: str | None = None  # fleet mode: the host the agent runs on
    #: The ledger's spend this month (``track_cost`` entries), which may differ from the
    #: executions' own cost (``total_cost`` and the windows: ``track_execution(cost=...)``).
    month_ledger_cost: float = 0.0
    #: Cost entries this month and no execution ever: a row so every spend has one.
    ledger_only: bool = False
    #: Runs the guard refused (all time; in no other figure): marked ``⊘`` in Runs.
    refused: int = 0
    #: Paused by an operator (core.control): its guard refuses every call until resumed.
    paused: bool = False

    def window(self, name: str) -> WindowFigures:
        return self.windows.get(name) or WindowFigures()

    def cost_in(self, window: str) -> float:
        """What the Cost column shows: the window's execution cost, or for a ledger-only
        agent its month's ledger spend (it has no executions to cost)."""
        return self.month_ledger_cost if self.ledger_only else self.window(window).total_cost


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One department's month: spend against budget and the month-end forecast."""

    department: str
    spent: float
    budget: float
    used_pct: float
    projected: float
    projected_pct: float
    run_out_date: date | None
    level: str | None  # None, "info", "warning" or "critical" ([thresholds] budget_levels)
    #: The month-end projection's level (core.costs.forecast.projected_level: never "info").
    projected_level: str | None = None
    #: The burn rate over the last hour (core.costs.burn: 1 = on pace to spend the budget by
    #: the month's end); None where it is not known (fleet mode, past months).
    burn_rate: float | None = None


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert in the feed."""

    id: str
    timestamp_ms: int
    level: str
    type: str
    message: str
    acknowledged: bool
    escalated: bool
    escalated_from: str | None
    count: int
    resolved: bool
    last_seen_ms: int | None = None
    #: The alert's data (agent, department, value, ...) as text, for the detail screen.
    details: tuple[tuple[str, str], ...] = ()
    #: Snoozed: acknowledged until this time (it needs attention again afterwards).
    acknowledged_until_ms: int | None = None
    silenced: bool = False  # its condition is silenced (recorded, not delivered)
    fingerprint: str = ""  # its condition (what ``S`` silences); empty in fleet mode

    def field(self, key: str) -> str | None:
        """One of the alert's data fields as text (``agent``, ``department``, ...)."""
        return next((v for k, v in self.details if k == key), None)


def alert_details(data: object, limit: int = 12) -> tuple[tuple[str, str], ...]:
    """An alert's ``data`` as (key, text) pairs: scalars only, at most ``limit``."""
    if not isinstance(data, dict):
        return ()
    out = [
        (str(k), "—" if v is None else str(v))
        for k, v in data.items()
        if v is None or isinstance(v, str | int | float | bool)
    ]
    return tuple(out[:limit])


@dataclass(frozen=True, slots=True)
class Health:
    """The header's system-wide figures."""

    executions_per_hour: int = 0
    error_rate: float = 0.0  # last hour
    avg_response_ms: float = 0.0  # last hour
    cost_today: float = 0.0
    daily_budget: float = 100.0
    uptime_ms: int = 0
    total_executions: int = 0
    agent_count: int = 0
    unacknowledged: int = 0
    #: Open (unacknowledged, unresolved) alerts per level, for the worst level and counts.
    open_alerts: Mapping[str, int] = field(default_factory=dict)
    #: The error-rate level by core's alert rule (None below ``min_executions`` runs).
    error_level: str | None = None
    #: Today's cost against the daily budget (core.monitor.thresholds.daily_budget_level).
    cost_level: str | None = None
    #: The last hour's average response time against its limit (core.monitor.thresholds).
    slow_level: str | None = None

    @property
    def worst_open_level(self) -> str | None:
        return next((lv for lv in reversed(LEVELS) if self.open_alerts.get(lv)), None)


@dataclass(frozen=True, slots=True)
class HostHealth:
    """The host the console runs on (injectable so snapshots are stable)."""

    cpu_percent: float | None = None  # None until the sampler's first interval is complete
    memory_used: int = 0
    memory_total: int = 0


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard screen shows at one moment."""

    data_dir: str
    built_at_ms: int
    health: Health = Health()
    host: HostHealth = HostHealth()
    agents: tuple[AgentRow, ...] = ()
    budgets: tuple[BudgetRow, ...] = ()
    alerts: tuple[AlertRow, ...] = ()
    thresholds: ThresholdsView = ThresholdsView()
    last_change_ms: int | None = None
    problem_count: int = 0
    error: str | None = None  # why the last refresh failed, if it did

    @property
    def has_data(self) -> bool:
        return bool(self.agents or self.budgets or self.alerts)

    def agent(self, name: str) -> AgentRow | None:
        return next((a for a in self.agents if a.name == name), None)

    def budget(self, department: str) -> BudgetRow | None:
        return next((b for b in self.budgets if b.department == department), None)

    def alert(self, alert_id: str) -> AlertRow | None:
        return next((a for a in self.alerts if a.id == alert_id), None)
