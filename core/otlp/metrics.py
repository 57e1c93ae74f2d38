"""OTLP metric points as cost entries and executions (no HTTP, no protobuf here).

Recorded: Claude Code's ``claude_code.cost.usage`` (USD) and ``claude_code.token.usage``
counters, and the GenAI ``gen_ai.client.token.usage`` / ``gen_ai.client.operation.duration``
histograms, and core's own ``werkpilot.cost`` counter (core/otlp/emit.py). The same calls
usually also arrive as events or spans, so each family is recorded from one source only
(``[ingest] claude_code`` = ``logs`` or ``metrics``; ``[ingest] gen_ai_metrics`` for apps
that send no spans): nothing is counted twice.

Temporality: a delta point is its own amount. A cumulative series is turned into deltas
against its last value, which is kept in ``ingest/otlp-series.json`` (saved before the
records are written: a crash loses an increment rather than counting it twice); a series
whose start time changes or whose value drops has restarted, and its new value is the
increment, never a negative cost.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.otlp.emit import EMITTER_ATTRIBUTE
from core.otlp.ingest import MAX_END_NS, CallRecord

if TYPE_CHECKING:
    from core.journal.store import Journal

STATE_DOCUMENT = "ingest/otlp-series.json"
MAX_SERIES = 100_000
DELTA, CUMULATIVE = 1, 2
_CLAUDE_TOKEN_TYPES = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cacheRead": "cache_read_tokens",
    "cacheCreation": "cache_write_tokens",
}
_GEN_AI_TOKEN_TYPES = {"input": "input_tokens", "output": "output_tokens"}


@dataclass(frozen=True, slots=True)
class PointIn:
    """One decoded number or histogram data point with its metric and resource."""

    metric: str
    temporality: int  # 1 delta, 2 cumulative (0: a gauge, taken as delta)
    start_ns: int
    time_ns: int
    value: float  # the number, or the histogram's sum
    count: int = 0  # histogram count
    attributes: Mapping[str, Any] = field(default_factory=dict)
    resource: Mapping[str, Any] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


class MetricsMapper:
    """Maps points to records; keeps cumulative series' last values (see module doc)."""

    def __init__(
        self,
        journal: Journal,
        *,
        claude_code: str = "logs",
        gen_ai_metrics: bool = False,
        departments: Mapping[str, str] | None = None,
    ) -> None:
        self.journal = journal
        self.claude_code = claude_code == "metrics"
        self.gen_ai = gen_ai_metrics
        self.departments = dict(departments or {})
        raw = journal.read_document(STATE_DOCUMENT)
        try:
            loaded = json.loads(raw) if raw else {}
        except ValueError:
            loaded = {}
        self.series: dict[str, list[Any]] = loaded if isinstance(loaded, dict) else {}

    def wanted(self, metric: str) -> bool:
        if metric.startswith("claude_code."):
            return self.claude_code and metric in (
                "claude_code.cost.usage",
                "claude_code.token.usage",
            )
        return self.gen_ai and metric in (
            "werkpilot.cost",
            "gen_ai.client.token.usage",
            "gen_ai.client.operation.duration",
        )

    def map(self, points: Iterable[PointIn]) -> tuple[list[tuple[str, CallRecord]], list[str]]:
        """The records of the recorded points, and the problems of the refused ones; the
        series state is saved before returning."""
        out: list[tuple[str, CallRecord]] = []
        problems: list[str] = []
        changed = False
        for i, p in enumerate(points):
            if not self.wanted(p.metric):
                continue
            try:
                amount, count, source = self._increment(p)
                changed = True
                if amount == 0 and count == 0:
                    continue
                out.append((f"{p.metric} point {i}", self._record(p, amount, count, source)))
            except ValueError as exc:
                problems.append(f"{p.metric} point {i}: {exc}")
        if changed:
            if len(self.series) > MAX_SERIES:  # keep the most recently updated
                newest = sorted(self.series.items(), key=lambda kv: kv[1][1])[-MAX_SERIES:]
                self.series = dict(newest)
            self.journal.write_document(STATE_DOCUMENT, json.dumps(self.series))
        return out, problems

    def _increment(self, p: PointIn) -> tuple[float, int, str]:
        """(amount, count, source id) this point adds."""
        if not math.isfinite(p.value) or p.value < 0 or p.count < 0:
            raise ValueError(f"value {p.value!r} is not a finite non-negative number")
        if not 0 < p.time_ns <= MAX_END_NS:
            raise ValueError(f"timestamp: {p.time_ns} ns is not a plausible time")
        key = _digest(p.metric, p.attributes, p.resource)
        if p.temporality != CUMULATIVE:
            return p.value, p.count, f"otlp-metric:{_digest(key, p.start_ns, p.time_ns)}"
        prev = self.series.get(key)
        source = f"otlp-metric:{_digest(key, p.start_ns, p.time_ns)}"
        state: list[Any] = [p.start_ns, p.time_ns, p.value, p.count]  # ns stay exact ints
        if prev is not None and prev[0] == p.start_ns:
            if p.time_ns <= prev[1]:
                return 0.0, 0, source  # a retry or an older point: counted already
            if p.value >= prev[2] and p.count >= prev[3]:
                self.series[key] = state
                return p.value - prev[2], p.count - int(prev[3]), source
        self.series[key] = state  # new series, or restarted: its value is the increment
        return p.value, p.count, source

    def _record(self, p: PointIn, amount: float, count: int, source: str) -> CallRecord:
        attrs, resource = p.attributes, p.resource
        service = _text(resource.get("service.name"))
        agent = _text(attrs.get("gen_ai.agent.name")) or service or "unknown_service"
        department = (
            _text(attrs.get("werkpilot.department"))
            or _text(resource.get("werkpilot.department"))
            or (self.departments.get(service) if service else None)
            or "default"
        )
        model = (
            _text(attrs.get("model"))
            or _text(attrs.get("gen_ai.response.model"))
            or _text(attrs.get("gen_ai.request.model"))
        )
        tokens = dict.fromkeys(
            ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0
        )
        cost: float | None = None
        execution = False
        duration = 0.0
        model_call = True
        if p.metric in ("claude_code.cost.usage", "werkpilot.cost"):
            cost = amount
        elif p.metric == "claude_code.token.usage":
            kind = _CLAUDE_TOKEN_TYPES.get(str(attrs.get("type")))
            if kind is None:
                raise ValueError(f"unknown token type {attrs.get('type')!r}")
            tokens[kind] = round(amount)
            cost = 0.0  # the cost arrives as claude_code.cost.usage
        elif p.metric == "gen_ai.client.token.usage":
            kind = _GEN_AI_TOKEN_TYPES.get(str(attrs.get("gen_ai.token.type")))
            if kind is None:
                raise ValueError(f"unknown gen_ai.token.type {attrs.get('gen_ai.token.type')!r}")
            tokens[kind] = round(amount)  # priced by core's table, unless
            if resource.get(EMITTER_ATTRIBUTE):  # werkpilot.cost carries the cost
                cost = 0.0
        else:  # gen_ai.client.operation.duration, in seconds
            execution, model_call = True, False
            duration = amount * 1000
        error_type = _text(attrs.get("error.type"))
        return CallRecord(
            agent=agent,
            department=department,
            model=model,
            timestamp=p.time_ns // 1_000_000,
            duration=duration,
            status="error" if error_type else "completed",
            error=error_type,
            reported_cost=cost,
            model_call=model_call,
            host=_text(resource.get("host.name")),
            source_id=source,
            execution=execution,
            api_calls=count if execution else 0,
            **tokens,
        )


__all__ = ["MetricsMapper", "PointIn"]
