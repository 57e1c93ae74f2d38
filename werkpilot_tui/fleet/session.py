"""The console's session in fleet mode (``werkpilot-tui --prometheus URL``).

``FleetSession`` implements the console's ``Session`` protocol (``session.py``), as the local
``CoreSession`` does, so the app and its live feed run unchanged: figures
come from Prometheus through ``FleetSource``; the alert feed, acknowledgements and budget
edits go to each host's own ``werkpilot-tui serve`` endpoint (the address Prometheus scrapes).
"""

from __future__ import annotations

import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from core import Clock, Config, ErrorRateLimits, load_config, now_ms, system_clock
from werkpilot_tui.console.audit_view import AuditView
from werkpilot_tui.console.conversions import (
    budget_row_of_spend,
    figures,
    levelled,
    thresholds_view,
)
from werkpilot_tui.console.detail_models import AgentDetailView, CostsView, agent_detail_from_row
from werkpilot_tui.console.session import Capability, NotAvailableHere, Session, StartupStep
from werkpilot_tui.console.view_models import (
    AgentRow,
    AlertRow,
    BudgetRow,
    Dashboard,
    Health,
    HostHealth,
    WindowFigures,
    alert_details,
)
from werkpilot_tui.fleet.source import (
    ALL,
    WINDOWS,
    BudgetUpdate,
    FleetActionError,
    FleetHost,
    FleetSnapshot,
    FleetSource,
    Stats,
)

ALERTS_PER_HOST = 50


def _figures(s: Stats, limits: ErrorRateLimits) -> WindowFigures:
    return figures(
        count=round(s.count),
        errors=round(s.errors),
        error_rate=s.error_rate,
        avg_duration=s.avg_duration_ms,
        total_cost=s.cost,
        total_tokens=round(s.tokens),
        limits=limits,
    )


class FleetSession:
    """Dashboards for a whole fleet, built from Prometheus; use from one thread."""

    def __init__(
        self,
        prometheus_url: str,
        config: Config | str | None = None,
        clock: Clock | None = None,
        health: Any = None,
        *,
        source: FleetSource | None = None,
        token: str | None = None,
    ) -> None:
        self.config = load_config(config)
        self.clock = clock or system_clock
        self._own_source = source is None
        self.source = source or FleetSource(prometheus_url, clock=self.clock)
        self.label = f"Prometheus at {self.source.client.url}"
        self._last: Dashboard | None = None  # the last snapshot built (for agent details)
        self.health = health
        # The bearer token the hosts' endpoints expect ($WERKPILOT_API_TOKEN, as for serve).
        self.token = token or os.environ.get(self.config.server.token_env) or None
        self._alert_hosts: dict[str, str] = {}  # alert id -> owning host
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fleet-hosts")

    #: Alerts are acknowledged and budgets set through each host's endpoint; the rest
    #: acts on (or reads) one host's data directory.
    capabilities: frozenset[Capability] = frozenset(
        ("acknowledge", "set_budget", "agent_detail", "pause")
    )

    #: What the start-up screen says until Prometheus first answers.
    startup_step = StartupStep("Reading the data")

    @property
    def data_dir(self) -> Path | None:
        """No local data directory: nothing to watch or stat."""
        return None

    def open(self) -> None:
        """Nothing to open: every refresh asks Prometheus."""

    def close(self) -> None:
        if self._own_source:
            self.source.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def refresh(self) -> int:
        return len(self.source.refresh().agents)

    # ---------------------------------------------------------------- queries
    def build(self) -> Dashboard:
        # The hosts' alert feeds are fetched while Prometheus answers (hosts as last seen).
        known = self.source.last
        hosts = [h for h in known.hosts if h.up] if known else []
        pending = [(h, self._pool.submit(self._fetch_host, h)) for h in hosts]
        snap = self.source.refresh()
        if known is None:
            hosts = [h for h in snap.hosts if h.up]
            pending = [(h, self._pool.submit(self._fetch_host, h)) for h in hosts]
        found = [(h, f.result()) for h, f in pending]
        alerts = self._alert_rows([(h, items) for h, (items, _) in found])
        paused = {h.name: names for h, (_, names) in found}
        self._last = self.dashboard(snap, alerts, paused)
        return self._last

    def dashboard(
        self,
        snap: FleetSnapshot,
        alerts: tuple[AlertRow, ...] = (),
        paused: dict[str, frozenset[str]] | None = None,
    ) -> Dashboard:
        """``paused``: host name -> the agents paused there (from each host's endpoint)."""
        t = self.config.thresholds
        hour = snap.total("1h")
        hour_figures = _figures(hour, t)
        total = snap.total(ALL)
        open_alerts = snap.alerts_open
        return Dashboard(
            data_dir=self.label,
            built_at_ms=snap.at_ms,
            health=levelled(
                Health(
                    executions_per_hour=round(hour.count),
                    error_rate=hour.error_rate,
                    avg_response_ms=hour.avg_duration_ms,
                    cost_today=snap.cost_today,
                    daily_budget=t.daily_budget,
                    total_executions=round(total.count),
                    agent_count=len({a.agent for a in snap.agents}),
                    unacknowledged=round(sum(open_alerts.values())),
                    open_alerts={lv: round(n) for lv, n in open_alerts.items() if round(n)},
                ),
                hour_figures,
                t,
            ),
            host=self.health() if self.health else HostHealth(),
            agents=tuple(
                self._agent_row(a, t, a.agent in (paused or {}).get(a.host, ()))
                for a in snap.agents
            ),
            budgets=self._budgets(snap),
            alerts=alerts,
            thresholds=thresholds_view(t),
            last_change_ms=snap.at_ms if snap.prometheus_up else None,
            error=self.status(snap),
        )

    @staticmethod
    def status(snap: FleetSnapshot) -> str | None:
        """Why the figures may be incomplete: Prometheus down, or hosts whose scrape failed."""
        if not snap.prometheus_up:
            return f"Prometheus down, showing last known figures: {snap.error}"
        if snap.error:
            return f"Prometheus query failed, showing last known figures: {snap.error}"
        down = snap.hosts_down
        if down:
            names = ", ".join(f"{h.name} ({h.last_error})" for h in down)
            return f"scrape down on {len(down)} of {len(snap.hosts)} hosts: {names}"
        return None

    @staticmethod
    def _agent_row(a: Any, limits: ErrorRateLimits, paused: bool = False) -> AgentRow:
        total = a.span(ALL)
        return AgentRow(
            name=f"{a.agent}@{a.host}",  # unique across the fleet: the table's row key
            department=a.department,
            executions=round(total.count),
            errors=round(total.errors),
            total_tokens=round(total.tokens),
            total_cost=total.cost,
            last_execution_ms=None,  # counters do not carry it
            windows={w: _figures(a.span(w), limits) for w in WINDOWS},
            host=a.host,
            paused=paused,
        )

    def _budgets(self, snap: FleetSnapshot) -> tuple[BudgetRow, ...]:
        """Each department's month by core's forecast, as the local console shows it."""
        now, levels = self.clock(), self.config.thresholds.budget_levels
        return tuple(
            budget_row_of_spend(d.name, d.spent, d.budget, now, levels, d.burn_rate)
            for d in snap.departments
        )

    def _alert_rows(
        self, found: list[tuple[FleetHost, list[dict[str, Any]]]]
    ) -> tuple[AlertRow, ...]:
        """Recent alerts of every reachable host, newest first, each marked with its host."""
        rows: list[AlertRow] = []
        for host, items in found:
            for item in items:
                try:
                    rows.append(_alert_row(item, host.name))
                except (KeyError, TypeError, ValueError):
                    continue
                self._alert_hosts[item["id"]] = host.name
        rows.sort(key=lambda r: r.timestamp_ms, reverse=True)
        return tuple(rows[:100])

    def _fetch_host(self, host: FleetHost) -> tuple[list[dict[str, Any]], frozenset[str]]:
        """A host's recent alerts and the agents paused there (each empty when unreachable)."""
        return self._fetch_alerts(host), self._fetch_pauses(host)

    def _fetch_pauses(self, host: FleetHost) -> frozenset[str]:
        url = host.endpoint + "/api/pauses"
        try:
            with urllib.request.urlopen(url, timeout=self.source.timeout_s) as resp:
                doc = json.loads(resp.read())
            return frozenset(str(p["agent"]) for p in doc.get("pauses", []))
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            return frozenset()  # an older host without the endpoint: nothing shown paused

    def _fetch_alerts(self, host: FleetHost) -> list[dict[str, Any]]:
        url = host.endpoint + "/api/metrics?type=alerts"
        try:
            with urllib.request.urlopen(url, timeout=self.source.timeout_s) as resp:
                doc = json.loads(resp.read())
            return list(doc.get("alerts", {}).get("recent", []))[:ALERTS_PER_HOST]
        except (OSError, ValueError, AttributeError):
            return []

    # ---------------------------------------------------------------- actions
    def agent_detail(self, name: str, window: str) -> AgentDetailView:
        """What the last snapshot's row of Prometheus figures holds (``agent_detail_from_row``)."""
        last = self._last or Dashboard(data_dir=self.label, built_at_ms=0)
        return agent_detail_from_row(last.agent(name), name, last.thresholds, now_ms(self.clock))

    def costs(self, day: date | None) -> CostsView:
        raise NotAvailableHere(_ONE_HOST)

    def unacknowledge(self, alert_id: str) -> bool:
        raise NotAvailableHere(_ONLY_ACKNOWLEDGE)

    def snooze(self, alert_id: str, seconds: float | None) -> bool:
        raise NotAvailableHere(_ONLY_ACKNOWLEDGE)

    def silence(self, fingerprint: str, seconds: float) -> None:
        raise NotAvailableHere(_ONLY_ACKNOWLEDGE)

    def acknowledge(self, alert_id: str) -> bool:
        """Acknowledge on the owning host; raises FleetActionError saying why when it cannot."""
        host = self._alert_hosts.get(alert_id)
        if host is None:
            raise FleetActionError(f"alert {alert_id} belongs to no host known to this console")
        result = self.source.acknowledge(host, alert_id, self.token)
        return bool(result.get("success"))

    def set_budget(self, department: str, amount: float, reason: str = "") -> BudgetUpdate:
        """Set the budget on every host that reports the department, through each host's
        endpoint; raises FleetActionError saying why when no host could be updated."""
        return self.source.set_budget(department, amount, self.token, reason)

    def cannot_edit_budget(self, department: str) -> str | None:
        """Why the budget key cannot act now (checked before the editor opens), or None."""
        snap = self.source.last
        if snap is None:
            return f"budget for {department!r}: no fleet figures yet, so no host is known"
        if not snap.prometheus_up:
            return (
                f"budget for {department!r} cannot be edited: Prometheus is down ({snap.error}), "
                "so the hosts that report the department are unknown"
            )
        if snap.hosts and not any(h.up for h in snap.hosts):
            names = ", ".join(f"{h.name} ({h.last_error})" for h in snap.hosts)
            return f"budget for {department!r} cannot be edited: every host is down: {names}"
        return None

    def set_paused(self, agent: str, paused: bool, reason: str) -> str:
        """Pause or resume on every host that reports the agent, through each host's
        endpoint; raises FleetActionError saying why when no host could be reached."""
        return self.source.set_paused(agent, paused, reason, self.token).message

    def audit(self, limit: int) -> AuditView:
        raise NotAvailableHere(_ONE_HOST)

    def check(self) -> None:
        """Thresholds and escalations are each host's own (its console or cron ``check``)."""


_ONE_HOST = (
    "This view reads a local data directory; it is not available in fleet mode: open it "
    "with `werkpilot-tui --data-dir DIR` on the host that runs the agent."
)
_ONLY_ACKNOWLEDGE = (
    "Fleet mode can only acknowledge: snooze, silence and undo act on a host's "
    "data directory (`werkpilot-tui --data-dir DIR` on that host)."
)


def _conforms(session: FleetSession) -> Session:
    """mypy checks here that ``FleetSession`` implements the ``Session`` protocol."""
    return session


def _alert_row(item: dict[str, Any], host: str) -> AlertRow:
    return AlertRow(
        id=str(item["id"]),
        timestamp_ms=int(item["timestamp"]),
        level=str(item["level"]),
        type=str(item["type"]),
        message=f"[{host}] {item.get('message', '')}",
        acknowledged=bool(item.get("acknowledged")),
        escalated=bool(item.get("escalated")),
        escalated_from=item.get("escalatedFrom"),
        count=int(item.get("count") or 1),
        resolved=bool(item.get("resolved")),
        last_seen_ms=item.get("lastSeen"),
        details=(("host", host), *alert_details(item.get("data"))),
    )
