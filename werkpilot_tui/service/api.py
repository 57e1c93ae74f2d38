"""The ``/api/metrics`` payloads (the JSON shape of docs/SPEC.md), built from the core components.

Shared by ``werkpilot-tui export`` and ``werkpilot-tui serve`` so both print the same JSON;
``MetricsService`` adds the server's cache and the lock core objects need across threads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from core import Clock, Exposition, Operator, gauges_from, now_ms

if TYPE_CHECKING:
    from core import AlertManager, Core

#: ``?type=`` value -> key of the part in the full payload.
PARTS: dict[str, str] = {
    "agent": "agents",
    "system": "system",
    "costs": "costs",
    "alerts": "alerts",
}
ALERT_WINDOWS = ("1h", "24h", "7d")
RECENT_ALERTS = 50
UNACKNOWLEDGED_ALERTS = 20


def to_jsonable(value: Any) -> Any:
    """Pydantic results as camelCase JSON values; containers recursively."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def system_part(c: Core) -> Any:
    return to_jsonable(c.monitor.get_system_metrics())


def agents_part(c: Core) -> list[Any]:
    agents = (c.monitor.get_agent_metrics(name) for name in c.monitor.list_agents())
    return [to_jsonable(a) for a in agents if a is not None]


def costs_part(c: Core) -> Any:
    return to_jsonable(c.tracker.get_all_costs())


def alerts_part(c: Core) -> dict[str, Any]:
    return {
        "recent": to_jsonable(c.alerts.get_alerts(limit=RECENT_ALERTS)),
        "stats": {w: to_jsonable(c.alerts.get_alert_stats(w)) for w in ALERT_WINDOWS},
        "unacknowledged": to_jsonable(
            c.alerts.get_alerts(limit=UNACKNOWLEDGED_ALERTS, acknowledged=False)
        ),
    }


_BUILDERS: dict[str, Callable[[Core], Any]] = {
    "agent": agents_part,
    "system": system_part,
    "costs": costs_part,
    "alerts": alerts_part,
}


def build_metrics(c: Core, part: str | None = None) -> dict[str, Any]:
    """``{timestamp, system, agents, costs, alerts}``, or ``timestamp`` and one part."""
    payload: dict[str, Any] = {"timestamp": now_ms(c.clock)}
    if part is None:
        for name, build in _BUILDERS.items():
            payload[PARTS[name]] = build(c)
        return payload
    if part not in _BUILDERS:
        raise ValueError(f"unknown type {part!r}; expected one of: {', '.join(PARTS)}")
    payload[PARTS[part]] = _BUILDERS[part](c)
    return payload


def open_alerts(alerts: AlertManager, history: int = 500) -> list[Any]:
    """Alerts neither acknowledged nor resolved, newest first (within the kept history)."""
    return alerts.get_alerts(limit=history, acknowledged=False, resolved=False)


class MetricsService:
    """What the handlers call: cached JSON payloads, acknowledgement, budget edits,
    exposition text."""

    def __init__(self, components: Core, *, cache_ttl_s: float, clock: Clock | None = None):
        self.components = components
        self.cache_ttl_s = cache_ttl_s
        self.clock = clock or components.clock
        self.exposition = Exposition(components.journal)
        self._core_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: dict[str | None, tuple[datetime, bytes]] = {}

    def _cached(self, part: str | None) -> tuple[bytes, float] | None:
        with self._cache_lock:
            hit = self._cache.get(part)
        if hit is None:
            return None
        age = (self.clock() - hit[0]).total_seconds()
        if 0 <= age < self.cache_ttl_s:  # a clock stepped backwards also invalidates
            return hit[1], age
        return None

    def metrics_json(self, part: str | None = None) -> tuple[bytes, float, bool]:
        """The payload for ``?type=part`` (None: all), its age in seconds, and cache hit."""
        if part is not None and part not in PARTS:
            raise ValueError(f"unknown type {part!r}; expected one of: {', '.join(PARTS)}")
        hit = self._cached(part)
        if hit is not None:
            return hit[0], hit[1], True
        with self._core_lock:
            hit = self._cached(part)  # another thread may have filled it meanwhile
            if hit is not None:
                return hit[0], hit[1], True
            body = json.dumps(build_metrics(self.components, part), ensure_ascii=False).encode()
            with self._cache_lock:
                self._cache[part] = (self.clock(), body)
        return body, 0.0, False

    def acknowledge(self, alert_id: str, *, actor: str, reason: str = "") -> bool:
        """Acknowledge through core (persisted for every process, and in the audit trail as
        ``actor``'s); drops cached payloads."""
        with self._core_lock:
            ok = Operator(self.components, actor).acknowledge(alert_id, reason=reason)
            if ok:
                self.invalidate()
        return ok

    def set_budget(
        self, department: str, amount: float, *, actor: str, reason: str = ""
    ) -> tuple[str, float]:
        """Set a department's monthly budget through core (``data/budgets.toml``, and the
        audit trail); drops cached payloads. Returns the department as stored and the budget
        now in force."""
        with self._core_lock:
            result = Operator(self.components, actor).set_budget(department, amount, reason=reason)
            self.invalidate()
            return result

    def set_paused(self, agent: str, paused: bool, *, actor: str, reason: str = "") -> bool:
        """Pause or resume an agent for every process on the data directory (the audit
        trail holds it); False when it already was."""
        with self._core_lock:
            operator = Operator(self.components, actor)
            changed = (operator.pause if paused else operator.resume)(agent, reason=reason)
            if changed:
                self.invalidate()
            return changed

    def pauses(self) -> list[dict[str, Any]]:
        """The pauses in force: ``[{agent, since, actor, reason}]`` by agent name."""
        with self._core_lock:
            found = self.components.control.pauses()
        return [
            {"agent": p.agent, "since": p.since, "actor": p.actor, "reason": p.reason}
            for _, p in sorted(found.items())
        ]

    def knows_agent(self, agent: str) -> bool:
        """Whether this host has heard of ``agent``: executions, cost entries this month,
        or a pause in force (so a paused agent that never ran can be resumed)."""
        c = self.components
        with self._core_lock:
            if agent in c.control.pauses() or c.monitor.get_agent_metrics(agent) is not None:
                return True
            return any(a.name == agent for a in c.tracker.get_agent_month_costs())

    @property
    def core_lock(self) -> threading.Lock:
        """The lock every core call of the server runs under (OTLP ingestion takes it too)."""
        return self._core_lock

    def invalidate(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def prometheus_text(self) -> bytes:
        c = self.components
        with self._core_lock:
            self.exposition.collect()
            gauges = gauges_from(c.tracker, open_alerts(c.alerts, c.config.alerts.history))
            return self.exposition.render(gauges).encode()

    def close(self) -> None:
        with self._core_lock:
            self.exposition.close()

    def warm(self) -> None:
        """Catch up once at start, so the first request on a large data directory is quick."""
        c = self.components
        for step in (
            c.alerts.refresh,
            c.tracker.refresh,
            c.monitor.refresh,
            self.exposition.collect,
        ):
            with self._core_lock:  # one step at a time: requests interleave
                step()
