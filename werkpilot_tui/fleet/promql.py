"""The batched PromQL behind fleet mode (a handful of queries per refresh, never one per
agent) and the small HTTP client that sends it.

Each query groups by ``(instance, host, agent, …)`` and folds the all-time value and every
window into one answer, told apart by a synthetic ``window`` label, so the refresh cost
grows with the number of series Prometheus returns, not with the number of round trips.
Metric names are the ones ``werkpilot-tui serve`` exposes on ``/metrics`` (issue 7).
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EXECUTIONS = "werkpilot_executions_total"
TOKENS = "werkpilot_tokens_total"
COST = "werkpilot_cost_usd_total"
DURATION_SUM = "werkpilot_execution_duration_seconds_sum"
DURATION_COUNT = "werkpilot_execution_duration_seconds_count"
BUDGET = "werkpilot_department_budget_usd"
SPEND = "werkpilot_department_spend_usd"
BURN = "werkpilot_department_burn_rate"
ALERTS_OPEN = "werkpilot_alerts_open"

WINDOWS: tuple[str, ...] = ("1h", "24h", "7d")
ALL_TIME = "all"
#: A target is identified by its ``instance``; the ``host`` target label names it if set.
TARGET = "instance, host"


def _tag(expr: str, label: str, value: str) -> str:
    """``expr`` with a constant label added (PromQL's idiom for it is label_replace)."""
    return f'label_replace({expr}, "{label}", "{value}", "", "")'


def windowed(
    metric: str,
    by: str,
    windows: Sequence[str] = WINDOWS,
    lookback: str = "15m",
    all_time: bool = True,
) -> str:
    """All-time and windowed sums of a counter in one query, labelled ``window``.

    All-time uses ``last_over_time`` so a host whose scrape just failed keeps its last
    known totals (a failed scrape marks its series stale at once) instead of vanishing.
    """
    parts = [
        _tag(f"sum by ({TARGET}, {by}) (last_over_time({metric}[{lookback}]))", "window", ALL_TIME)
    ][: int(all_time)]
    parts += [
        _tag(f"sum by ({TARGET}, {by}) (increase({metric}[{w}]))", "window", w) for w in windows
    ]
    return " or ".join(parts)


def duration(windows: Sequence[str] = WINDOWS) -> str:
    """Histogram sum and count per agent and window, labelled ``part`` (sum|count).

    No all-time part: the dashboard shows average durations per window only.
    """
    return " or ".join(
        _tag(windowed(m, "agent", windows, all_time=False), "part", part)
        for m, part in ((DURATION_SUM, "sum"), (DURATION_COUNT, "count"))
    )


def departments(lookback: str = "15m") -> str:
    """Fleet-wide month spend (summed over hosts), budget (the largest any host states) and
    the last hour's burn rate: each host's against the same budget, so the fleet's is their
    sum (as ``deploy/werkpilot-rules.yml`` records it)."""
    spend = _tag(f"sum by (department) (last_over_time({SPEND}[{lookback}]))", "part", "spend")
    budget = _tag(f"max by (department) (last_over_time({BUDGET}[{lookback}]))", "part", "budget")
    burn = _tag(
        f'sum by (department) (last_over_time({BURN}{{window="1h"}}[{lookback}]))', "part", "burn"
    )
    return f"{spend} or {budget} or {burn}"


def cost_since(seconds: int) -> str:
    """Fleet-wide ledger cost over the last ``seconds`` (today's cost when from midnight)."""
    return f"sum(increase({COST}[{max(seconds, 1)}s]))"


def alerts_open(lookback: str = "15m") -> str:
    return f"sum by ({TARGET}, level) (last_over_time({ALERTS_OPEN}[{lookback}]))"


def targets(job: str) -> str:
    """Every scrape target of the werkpilot job, 1 when its last scrape succeeded."""
    return f'up{{job="{escape(job)}"}}'


def escape(value: str) -> str:
    """A string safe inside a double-quoted PromQL label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def refresh_queries(
    job: str, today_s: int, lookback: str = "15m", windows: Sequence[str] = WINDOWS
) -> dict[str, str]:
    """Every query one fleet refresh runs, by name (``windows``: those to recompute)."""
    return {
        "targets": targets(job),
        "executions": windowed(EXECUTIONS, "agent, department, status", windows, lookback),
        "tokens": windowed(TOKENS, "agent", windows, lookback),
        "cost": windowed(COST, "agent, department", windows, lookback),
        "duration": duration(windows),
        "departments": departments(lookback),
        "alerts": alerts_open(lookback),
        "cost_today": cost_since(today_s),
    }


# ------------------------------------------------------------------------------ client
class PromError(RuntimeError):
    """Prometheus answered, but not with a result (bad query, overloaded, …)."""


class PrometheusUnavailable(PromError):
    """Prometheus could not be reached within the timeout."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of an instant-query result."""

    labels: Mapping[str, str]
    value: float


class PrometheusClient:
    """A small client for Prometheus' HTTP API (instant queries and targets), urllib only."""

    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"prometheus: expected an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.queries = 0  # instant queries sent, for the benchmark and the tests
        self._lock = threading.Lock()

    def _call(self, path: str, form: Mapping[str, str] | None = None) -> Any:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.url + path, data=data)  # POST when there is a form
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except ValueError:
                pass
            raise PromError(f"prometheus {path}: HTTP {exc.code}: {detail}") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusUnavailable(f"prometheus at {self.url} unreachable: {reason}") from None
        try:
            doc = json.loads(body)
        except ValueError:
            raise PromError(f"prometheus {path}: not JSON") from None
        if doc.get("status") != "success":
            raise PromError(f"prometheus {path}: {doc.get('error', 'failed')}")
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Evaluate an instant query (at epoch seconds ``at``, default now)."""
        form = {"query": expr}
        if at is not None:
            form["time"] = f"{at:.3f}"
        with self._lock:
            self.queries += 1
        data = self._call("/api/v1/query", form)
        if data.get("resultType") == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [Sample(item["metric"], float(item["value"][1])) for item in data["result"]]

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets with health and last error."""
        return list(self._call("/api/v1/targets?state=active").get("activeTargets", []))

    def ready(self) -> bool:
        try:
            req = urllib.request.Request(self.url + "/-/ready")
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return resp.status == 200
        except (OSError, http.client.HTTPException):
            return False
