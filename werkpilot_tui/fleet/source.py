"""Fleet mode: the dashboard's figures for many hosts, computed by Prometheus.

Each host keeps its own data directory and runs ``werkpilot-tui serve``; Prometheus scrapes
them all. ``FleetSource`` turns one batch of PromQL answers into a ``FleetSnapshot`` (per
host and agent: executions, errors, duration, tokens, cost, all-time and per window;
fleet-wide department spend; open alerts; which targets are down) and that into the
console's ``Dashboard`` view model. When Prometheus is unreachable the last figures are kept
and the snapshot says so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from core import Clock, system_clock
from werkpilot_tui.console.session import NotAvailableHere
from werkpilot_tui.fleet import promql
from werkpilot_tui.fleet.promql import PromError, PrometheusClient, PrometheusUnavailable, Sample

WINDOWS = promql.WINDOWS
FAST_WINDOWS = ("1h",)
ALL = promql.ALL_TIME
LEVELS = ("info", "warning", "critical")
ERROR_STATUSES = frozenset({"error", "failed"})


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts and sums over one span (windowed counts are Prometheus estimates, so floats)."""

    count: float = 0.0
    errors: float = 0.0
    duration_s: float = 0.0  # summed duration, seconds
    duration_count: float = 0.0  # executions the duration histogram saw
    tokens: float = 0.0
    cost: float = 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count > 0 else 0.0

    @property
    def avg_duration_ms(self) -> float:
        return 1000 * self.duration_s / self.duration_count if self.duration_count > 0 else 0.0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.count + other.count,
            self.errors + other.errors,
            self.duration_s + other.duration_s,
            self.duration_count + other.duration_count,
            self.tokens + other.tokens,
            self.cost + other.cost,
        )


@dataclass(frozen=True, slots=True)
class FleetHost:
    """One scrape target: a host running ``werkpilot-tui serve``."""

    name: str
    instance: str
    up: bool
    last_error: str | None = None
    alerts_open: Mapping[str, int] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The host's own HTTP endpoint (the address Prometheus scrapes)."""
        return f"http://{self.instance}"


@dataclass(frozen=True, slots=True)
class FleetAgent:
    """One agent on one host."""

    host: str
    instance: str
    agent: str
    department: str | None
    spans: Mapping[str, Stats]  # "all", "1h", "24h", "7d"
    stale: bool = False  # its host's last scrape failed: the figures are the last known

    def span(self, name: str) -> Stats:
        return self.spans.get(name) or Stats()


@dataclass(frozen=True, slots=True)
class FleetDepartment:
    name: str
    spent: float  # this month, summed over every host
    budget: float
    burn_rate: float | None = None  # the last hour's, summed over every host

    @property
    def used_pct(self) -> float:
        return 100 * self.spent / self.budget if self.budget > 0 else 0.0


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """What one refresh learned about the fleet."""

    at_ms: int
    prometheus_url: str
    prometheus_up: bool
    error: str | None = None
    hosts: tuple[FleetHost, ...] = ()
    agents: tuple[FleetAgent, ...] = ()
    departments: tuple[FleetDepartment, ...] = ()
    cost_today: float = 0.0
    queries: int = 0  # PromQL queries this refresh sent

    @property
    def hosts_down(self) -> tuple[FleetHost, ...]:
        return tuple(h for h in self.hosts if not h.up)

    @property
    def alerts_open(self) -> dict[str, int]:
        out = dict.fromkeys(LEVELS, 0)
        for h in self.hosts:
            for level, n in h.alerts_open.items():
                out[level] = out.get(level, 0) + n
        return out

    def total(self, span: str = ALL, host: str | None = None) -> Stats:
        """Fleet-wide (or one host's) figures over ``span``."""
        out = Stats()
        for a in self.agents:
            if host is None or a.host == host:
                out = out + a.span(span)
        return out


class FleetActionError(NotAvailableHere):
    """A data-changing key cannot act on the owning host; the message says why (the
    console handles it as any session's ``NotAvailableHere``)."""


def _host_of(labels: Mapping[str, str]) -> tuple[str, str]:
    instance = labels.get("instance", "")
    return labels.get("host") or instance or "?", instance


class FleetSource:
    """Builds fleet snapshots from Prometheus with a fixed handful of queries per refresh."""

    def __init__(
        self,
        prometheus_url: str,
        *,
        clock: Clock = system_clock,
        job: str = "werkpilot",
        timeout_s: float = 2.0,
        lookback: str = "15m",
        slow_every_s: float = 60.0,
        client: PrometheusClient | None = None,
    ) -> None:
        self.client = client or PrometheusClient(prometheus_url, timeout_s=timeout_s)
        self.clock = clock
        self.job = job
        self.lookback = lookback
        self.timeout_s = timeout_s
        # 24h and 7d windows scan far more samples and barely move between refreshes:
        # recompute them at most this often (0: every refresh); 1h and all-time every time.
        self.slow_every_s = slow_every_s
        self._slow_at: float | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="promql")
        self.last: FleetSnapshot | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ----------------------------------------------------------------- refresh
    def refresh(self) -> FleetSnapshot:
        """Query Prometheus once; on failure keep the last figures and record why."""
        now = self.clock().astimezone(UTC)
        at = now.timestamp()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        slow = self._slow_at is None or at - self._slow_at >= self.slow_every_s
        windows = WINDOWS if slow else FAST_WINDOWS
        queries = promql.refresh_queries(
            self.job, int((now - midnight).total_seconds()), self.lookback, windows
        )
        before = self.client.queries
        futures = {
            name: self._pool.submit(self.client.query, expr, at) for name, expr in queries.items()
        }
        try:
            results = {name: f.result() for name, f in futures.items()}
        except PromError as exc:
            prev = self.last or FleetSnapshot(0, self.client.url, False)
            snap = replace(
                prev,
                at_ms=int(at * 1000),
                # Up but refusing (a bad or too costly query) is not the same as down.
                prometheus_up=not isinstance(exc, PrometheusUnavailable),
                error=str(exc),
                queries=self.client.queries - before,
            )
            self.last = snap
            return snap
        if slow:
            self._slow_at = at
        hosts = self._hosts(results["targets"], results["alerts"])
        snap = FleetSnapshot(
            at_ms=int(at * 1000),
            prometheus_url=self.client.url,
            prometheus_up=True,
            hosts=hosts,
            agents=self._agents(results, {h.instance for h in hosts if not h.up}, slow),
            departments=_departments(results["departments"]),
            cost_today=sum(s.value for s in results["cost_today"]),
            queries=self.client.queries - before,
        )
        self.last = snap
        return snap

    def _hosts(self, up: list[Sample], alerts: list[Sample]) -> tuple[FleetHost, ...]:
        open_by: dict[str, dict[str, int]] = defaultdict(dict)
        for s in alerts:
            _, instance = _host_of(s.labels)
            level = s.labels.get("level", "")
            open_by[instance][level] = open_by[instance].get(level, 0) + round(s.value)
        errors: dict[str, str] = {}
        if any(s.value < 1 for s in up):
            try:  # one extra call, only when something is down, to say why
                for t in self.client.targets():
                    if t.get("health") != "up":
                        inst = t.get("labels", {}).get("instance", "")
                        errors[inst] = t.get("lastError") or "scrape failed"
            except PromError:
                pass
        hosts = []
        for s in up:
            name, instance = _host_of(s.labels)
            ok = s.value >= 1
            hosts.append(
                FleetHost(
                    name,
                    instance,
                    ok,
                    None if ok else errors.get(instance, "scrape failed"),
                    open_by.get(instance, {}),
                )
            )
        return tuple(sorted(hosts, key=lambda h: h.name))

    def _agents(
        self, results: Mapping[str, list[Sample]], down: set[str], slow: bool
    ) -> tuple[FleetAgent, ...]:
        acc: dict[tuple[str, str, str], dict[str, dict[str, float]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(float))
        )
        depts: dict[tuple[str, str, str], str] = {}

        def key(labels: Mapping[str, str]) -> tuple[str, str, str]:
            host, instance = _host_of(labels)
            return host, instance, labels.get("agent", "")

        for s in results["executions"]:
            if s.labels.get("status") == "refused":  # stopped by the guard: never ran
                continue
            k, w = key(s.labels), s.labels.get("window", ALL)
            acc[k][w]["count"] += s.value
            if s.labels.get("status") in ERROR_STATUSES:
                acc[k][w]["errors"] += s.value
            if s.labels.get("department"):
                depts[k] = s.labels["department"]
        for name, field_ in (("tokens", "tokens"), ("cost", "cost")):
            for s in results[name]:
                k = key(s.labels)
                acc[k][s.labels.get("window", ALL)][field_] += s.value
                if name == "cost" and s.labels.get("department"):
                    depts.setdefault(k, s.labels["department"])
        for s in results["duration"]:
            part = "duration_s" if s.labels.get("part") == "sum" else "duration_count"
            acc[key(s.labels)][s.labels.get("window", ALL)][part] += s.value
        kept: dict[tuple[str, str, str], Mapping[str, Stats]] = {}
        if not slow and self.last is not None:  # carry the slow windows over
            kept = {(a.host, a.instance, a.agent): a.spans for a in self.last.agents}

        def spans_of(k: tuple[str, str, str], sums: dict[str, dict[str, float]]) -> dict:
            out = {w: Stats(**{f: max(v, 0.0) for f, v in d.items()}) for w, d in sums.items()}
            for w, stats in kept.get(k, {}).items():
                if w not in FAST_WINDOWS and w != ALL:
                    out.setdefault(w, stats)
            return out

        agents = [
            FleetAgent(
                host=k[0],
                instance=k[1],
                agent=k[2],
                department=depts.get(k),
                spans=spans_of(k, spans),
                stale=k[1] in down,
            )
            for k, spans in acc.items()
            if k[2]
        ]
        return tuple(sorted(agents, key=lambda a: (a.agent, a.host)))

    # ----------------------------------------------------------------- actions
    def host(self, name: str) -> FleetHost:
        snap = self.last
        for h in snap.hosts if snap else ():
            if h.name == name or h.instance == name:
                return h
        raise FleetActionError(f"host {name!r} is not a scrape target of Prometheus")

    def _post(
        self,
        h: FleetHost,
        path: str,
        doc: Mapping[str, Any],
        token: str | None,
        what: tuple[str, str],
    ) -> dict[str, Any]:
        """POST ``doc`` as JSON to a host's endpoint (bounded by ``timeout_s``)."""
        verb, noun = what
        if not h.up:
            raise FleetActionError(
                f"cannot {verb} on {h.name}: its endpoint is down ({h.last_error})"
            )
        req = urllib.request.Request(
            h.endpoint + path,
            data=json.dumps(doc).encode(),
            headers={"Content-Type": "application/json"},
        )
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            raise FleetActionError(f"{h.name} refused the {noun}: {detail}") from None
        except (OSError, ValueError) as exc:
            raise FleetActionError(f"cannot reach {h.name} at {h.endpoint}: {exc}") from None

    def acknowledge(self, host: str, alert_id: str, token: str | None = None) -> dict[str, Any]:
        """Acknowledge an alert on the host that owns it, through its HTTP endpoint."""
        return self._post(
            self.host(host),
            "/api/metrics/acknowledge",
            {"alertId": alert_id},
            token,
            ("acknowledge", "acknowledgement"),
        )

    def department_hosts(self, department: str) -> tuple[FleetHost, ...]:
        """The hosts whose ``/metrics`` state a budget or spend for ``department`` (one query)."""
        sel = f'{{job="{promql.escape(self.job)}", department="{promql.escape(department)}"}}'
        expr = (
            f"count by ({promql.TARGET}) ("
            f"last_over_time({promql.BUDGET}{sel}[{self.lookback}]) or "
            f"last_over_time({promql.SPEND}{sel}[{self.lookback}]))"
        )
        try:
            samples = self.client.query(expr)
        except PromError as exc:
            raise FleetActionError(
                f"cannot tell which hosts report {department!r}: {exc}"
            ) from None
        known = {h.instance: h for h in (self.last.hosts if self.last else ())}
        hosts = []
        for s in samples:
            name, instance = _host_of(s.labels)
            hosts.append(known.get(instance) or FleetHost(name, instance, True))
        return tuple(sorted(hosts, key=lambda h: h.name))

    def set_budget(
        self, department: str, amount: float, token: str | None = None, reason: str = ""
    ) -> BudgetUpdate:
        """Set the budget on every host that reports ``department``, through each host's
        endpoint, in parallel; the fleet's bar (the largest any host states) then shows it.

        Raises FleetActionError saying why when no host could be updated."""
        hosts = self.department_hosts(department)
        if not hosts:
            raise FleetActionError(
                f"no host reports department {department!r} to Prometheus: nothing to update"
            )
        doc = {"department": department, "amount": amount, "reason": reason}
        answers, failed = self._post_each(
            hosts, "/api/budgets", doc, token, ("set the budget", "budget edit")
        )
        updated = [name for name, _ in answers]
        result = BudgetUpdate(department, amount, tuple(updated), tuple(failed))
        if not updated:
            raise FleetActionError(result.message)
        return result

    def _post_each(
        self,
        hosts: tuple[FleetHost, ...],
        path: str,
        doc: dict[str, Any],
        token: str | None,
        what: tuple[str, str],
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
        """POST ``doc`` to ``path`` on every host in parallel: (host name, answer) of those
        that took it, (host name, why) of those that did not, in the hosts' order."""
        futures = [(h, self._pool.submit(self._post, h, path, doc, token, what)) for h in hosts]
        answers: list[tuple[str, dict[str, Any]]] = []
        failed: list[tuple[str, str]] = []
        for h, f in futures:
            try:
                answers.append((h.name, f.result()))
            except FleetActionError as exc:
                failed.append((h.name, str(exc)))
        return answers, failed

    def agent_hosts(self, agent: str) -> tuple[FleetHost, ...]:
        """The hosts whose figures (the last snapshot) report ``agent``."""
        snap = self.last
        if snap is None:
            return ()
        known = {h.instance: h for h in snap.hosts}
        instances = {a.instance for a in snap.agents if a.agent == agent}
        hosts = (known.get(i) or FleetHost(i, i, True) for i in instances)
        return tuple(sorted(hosts, key=lambda h: (h.name, h.instance)))

    def set_paused(
        self, agent: str, paused: bool, reason: str, token: str | None = None
    ) -> PauseUpdate:
        """Pause or resume ``agent`` on every host that reports it, through each host's
        ``POST /api/agents/NAME/pause|resume``, in parallel.

        Raises FleetActionError saying why when no host could be reached."""
        hosts = self.agent_hosts(agent)
        if not hosts:
            raise FleetActionError(f"no host reports agent {agent!r}: nothing to pause")
        verb = "pause" if paused else "resume"
        path = f"/api/agents/{urllib.parse.quote(agent, safe='')}/{verb}"
        answers, failed = self._post_each(hosts, path, {"reason": reason}, token, (verb, verb))
        done = [(name, bool(answer.get("changed"))) for name, answer in answers]
        result = PauseUpdate(agent, paused, tuple(done), tuple(failed))
        if not done:
            raise FleetActionError(result.message)
        return result


@dataclass(frozen=True, slots=True)
class PauseUpdate:
    """What a fleet pause or resume did: per host whether it changed, and the failures."""

    agent: str
    paused: bool
    done: tuple[tuple[str, bool], ...]  # (host, changed: False when it already was)
    failed: tuple[tuple[str, str], ...]

    @property
    def message(self) -> str:
        verb = "Paused" if self.paused else "Resumed"
        state = "paused" if self.paused else "running"
        changed = [h for h, c in self.done if c]
        already = [h for h, c in self.done if not c]
        parts = []
        if changed:
            parts.append(f"{verb} {self.agent} on " + ", ".join(changed) + ".")
        if already:
            parts.append(f"Already {state} on " + ", ".join(already) + ".")
        if not self.done:
            parts.append(f"{self.agent} not {verb.lower()} on any host.")
        if self.failed:
            parts.append("Failed: " + "; ".join(why for _, why in self.failed))
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class BudgetUpdate:
    """What a fleet budget edit did: the hosts updated and those that failed, with why."""

    department: str
    amount: float
    updated: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]

    @property
    def message(self) -> str:
        parts = []
        if self.updated:
            parts.append(
                f"Budget for {self.department} set to ${self.amount:,.2f} on "
                + ", ".join(self.updated)
                + "."
            )
        else:
            parts.append(f"Budget for {self.department} not set on any host.")
        if self.failed:
            parts.append("Failed: " + "; ".join(why for _, why in self.failed))
        return " ".join(parts)


def _departments(samples: list[Sample]) -> tuple[FleetDepartment, ...]:
    parts: dict[str, dict[str, float]] = {"spend": {}, "budget": {}, "burn": {}}
    for s in samples:
        found = parts.get(s.labels.get("part", ""))
        if found is not None:
            found[s.labels.get("department", "")] = s.value
    spend, budget, burn = parts["spend"], parts["budget"], parts["burn"]
    names = sorted(set(spend) | set(budget))
    return tuple(
        FleetDepartment(n, spend.get(n, 0.0), budget.get(n, 0.0), burn.get(n)) for n in names if n
    )
