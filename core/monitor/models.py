"""Result models of the performance monitor: the JSON shape of docs/SPEC.md (camelCase keys).

``model_dump(by_alias=True, mode="json")`` gives exactly the keys of SPEC "Shapes"; values are
unrounded (rounding is for display).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from core.monitor.health import SystemHealth
from core.monitor.windows import ExecutionTotals, Sums


class _Shape(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class WindowStats(_Shape):
    count: int
    errors: int
    error_rate: float
    avg_duration: float  # ms
    total_cost: float  # USD
    total_tokens: int

    @classmethod
    def of(cls, s: Sums) -> WindowStats:
        return cls(
            count=s.count,
            errors=s.errors,
            error_rate=s.error_rate,
            avg_duration=s.avg_duration_ms,
            total_cost=s.cost,
            total_tokens=s.tokens,
        )


class AgentMetrics(_Shape):
    name: str
    executions: int
    errors: int
    error_rate: float
    avg_duration: float  # ms, since the beginning
    total_tokens: int
    total_cost: float
    total_cpu_time: float  # ms
    total_memory_delta: int  # bytes
    total_api_calls: int
    last_execution: int | None  # epoch ms
    windows: dict[str, WindowStats]
    refused: int = 0  # runs the guard refused: in no other figure (not executions, errors)

    @classmethod
    def of(cls, name: str, t: ExecutionTotals, windows: dict[str, WindowStats]) -> AgentMetrics:
        n = t.executions
        return cls(
            name=name,
            executions=n,
            errors=t.errors,
            error_rate=t.errors / n if n else 0.0,
            avg_duration=t.duration_us / n / 1000.0 if n else 0.0,
            total_tokens=t.tokens,
            total_cost=t.cost_nano / 1e9,
            total_cpu_time=t.cpu_us / 1000.0,
            total_memory_delta=t.memory,
            total_api_calls=t.api_calls,
            last_execution=t.last_ts,
            windows=windows,
            refused=t.refused,
        )


class SystemMetrics(_Shape):
    uptime: int  # ms since this monitor started
    total_executions: int
    total_errors: int
    error_rate: float
    total_cost: float
    executions_per_hour: int  # executions in the last hour
    avg_response_time: float  # ms, last hour
    agent_count: int
    windows: dict[str, WindowStats]
    system_health: SystemHealth


class AgentSeries(_Shape):
    """An agent's figures in equal time slices of a window, oldest first (for sparklines)."""

    executions: list[int]
    avg_duration: list[float]
    cost: list[float]


class ThresholdBreach(_Shape):
    """A threshold found breached by ``check_thresholds``."""

    type: Literal["error_rate", "response_time", "daily_budget"]
    level: Literal["info", "warning", "critical"]
    agent: str | None
    value: float
    threshold: float
