"""Prometheus text exposition of the journal, fit for fleet-wide aggregation.

Counters are folded from the execution and ledger journals themselves (read incrementally,
only new lines per scrape), so they survive restarts and never go backwards while the
journal is kept. Gauges (budgets, month spend, open alerts) come from the core components.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from core.journal import Journal, JournalReader

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: OpenTelemetry GenAI semantic conventions: gen_ai.client.operation.duration buckets (s).
DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
LEVELS = ("info", "warning", "critical")
_NANO = 1_000_000_000


class _Lite(BaseModel):
    """The fields a counter needs; other fields are ignored, which keeps parsing cheap."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="ignore", frozen=True, populate_by_name=True
    )


class _ExecLine(_Lite):
    agent: str
    status: str = "completed"
    duration: float = 0.0
    model: str | None = None
    department: str | None = None


class _CostLine(_Lite):
    agent: str
    department: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float = 0.0


def _parse_exec(line: bytes) -> _ExecLine:
    return _ExecLine.model_validate_json(line)


def _parse_cost(line: bytes) -> _CostLine:
    return _CostLine.model_validate_json(line)


def escape_label(value: str) -> str:
    """A label value escaped per the text format: backslash, double quote, line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(names: Iterable[str], values: Iterable[str]) -> str:
    inner = ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + inner + "}" if inner else ""


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    sum: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1


class Gauges(BaseModel):
    """Point-in-time values from the components, rendered next to the counters."""

    model_config = ConfigDict(frozen=True)

    budgets: dict[str, float] = {}
    spend: dict[str, float] = {}
    alerts_open: dict[str, int] = {}


class _Forecast(Protocol):
    department: str
    spent: float
    budget: float


def gauges_from(tracker: Any, alerts: Any, history: int = 500) -> Gauges:
    """Department budgets and month spend (ledger forecast), open alerts by level."""
    from werkpilot_tui.api import open_alerts

    forecasts: list[_Forecast] = list(tracker.get_budget_forecast())
    counts = dict.fromkeys(LEVELS, 0)
    for alert in open_alerts(alerts, history):
        counts[alert.level] = counts.get(alert.level, 0) + 1
    return Gauges(
        budgets={f.department: float(f.budget) for f in forecasts},
        spend={f.department: float(f.spent) for f in forecasts},
        alerts_open=counts,
    )


class Exposition:
    """Incremental counters over one data directory's journals."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._exec_reader: JournalReader[_ExecLine] = journal.reader("executions", _parse_exec)
        self._cost_reader: JournalReader[_CostLine] = journal.reader("ledger", _parse_cost)
        self.executions: dict[tuple[str, str, str, str], int] = {}
        self.durations: dict[str, _Histogram] = {}
        self.tokens: dict[tuple[str, str, str], int] = {}
        self.cost_nanos: dict[tuple[str, str, str], int] = {}

    def collect(self) -> int:
        """Fold every line appended since the last call; returns how many records."""
        n = 0
        executions, durations = self.executions, self.durations
        for batch in self._exec_reader.poll_batches():
            for e in batch:
                key = (e.agent, e.department or "", e.model or "", e.status)
                executions[key] = executions.get(key, 0) + 1
                hist = durations.get(e.agent)
                if hist is None:
                    hist = durations[e.agent] = _Histogram()
                hist.observe(max(e.duration, 0.0) / 1000.0)
            n += len(batch)
        tokens, costs = self.tokens, self.cost_nanos
        for batch in self._cost_reader.poll_batches():
            for c in batch:
                for kind, count in zip(
                    TOKEN_KINDS,
                    (c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens),
                    strict=True,
                ):
                    key3 = (c.agent, c.model, kind)
                    tokens[key3] = tokens.get(key3, 0) + count
                ckey = (c.agent, c.department, c.model)
                costs[ckey] = costs.get(ckey, 0) + round(c.cost * _NANO)
            n += len(batch)
        return n

    def render(self, gauges: Gauges | None = None) -> str:
        """The text format (version 0.0.4) of every counter, the histogram and the gauges."""
        out: list[str] = []
        _family(
            out,
            "werkpilot_executions_total",
            "counter",
            "Agent executions recorded in the journal (errors: status error or failed).",
            ("agent", "department", "model", "status"),
            self.executions.items(),
        )
        _family(
            out,
            "werkpilot_tokens_total",
            "counter",
            "Tokens recorded in the cost ledger, by kind.",
            ("agent", "model", "kind"),
            self.tokens.items(),
        )
        _family(
            out,
            "werkpilot_cost_usd_total",
            "counter",
            "Cost recorded in the cost ledger, in US dollars.",
            ("agent", "department", "model"),
            ((k, v / _NANO) for k, v in self.cost_nanos.items()),
        )
        self._render_histogram(out)
        g = gauges or Gauges()
        _family(
            out,
            "werkpilot_department_budget_usd",
            "gauge",
            "Monthly budget of the department, in US dollars.",
            ("department",),
            (((d,), v) for d, v in g.budgets.items()),
        )
        _family(
            out,
            "werkpilot_department_spend_usd",
            "gauge",
            "Spend of the department this calendar month (UTC), in US dollars.",
            ("department",),
            (((d,), v) for d, v in g.spend.items()),
        )
        _family(
            out,
            "werkpilot_alerts_open",
            "gauge",
            "Alerts neither acknowledged nor resolved, by level.",
            ("level",),
            (((lvl,), v) for lvl, v in g.alerts_open.items()),
        )
        return "\n".join(out) + "\n"

    def _render_histogram(self, out: list[str]) -> None:
        name = "werkpilot_execution_duration_seconds"
        out.append(f"# HELP {name} {escape_help('Duration of agent executions, in seconds.')}")
        out.append(f"# TYPE {name} histogram")
        for agent in sorted(self.durations):
            h = self.durations[agent]
            agent_l = f'agent="{escape_label(agent)}"'
            cumulative = 0
            for bound, count in zip(DURATION_BUCKETS, h.buckets, strict=False):
                cumulative += count
                out.append(f'{name}_bucket{{{agent_l},le="{bound!r}"}} {cumulative}')
            out.append(f'{name}_bucket{{{agent_l},le="+Inf"}} {h.count}')
            out.append(f"{name}_sum{{{agent_l}}} {format_value(h.sum)}")
            out.append(f"{name}_count{{{agent_l}}} {h.count}")


def _family(
    out: list[str],
    name: str,
    kind: str,
    help_text: str,
    label_names: tuple[str, ...],
    samples: Iterable[tuple[tuple[str, ...], float]],
) -> None:
    out.append(f"# HELP {name} {escape_help(help_text)}")
    out.append(f"# TYPE {name} {kind}")
    for labels, value in sorted(samples):
        out.append(f"{name}{_labels(label_names, labels)} {format_value(value)}")
