"""OpenTelemetry GenAI spans as executions and cost entries (no HTTP, no protobuf here).

``serve`` decodes OTLP (werkpilot_tui/service/otlp_http.py) into ``SpanIn`` values; ``Ingestor``
records the spans with ``gen_ai.operation.name`` of a request in one batch (one append per day
file, checks once per batch). At tens of thousands of spans a second a pydantic model per
record is most of the cost, so each record's lines are msgspec rows encoded and checked as a
reader checks a line (core/record_rows.py) and written with ``append_checked``; a record those
checks doubt goes through ``CostTracker.track_costs`` / ``PerformanceMonitor.track_executions``
(the batch forms of ``track_cost`` / ``track_execution``). Either way the records obey the same
bounds: a span they refuse is counted as rejected and reported, and nothing of it is written.

Exactly once: every record carries ``sourceId = otlp:<trace id>:<span id>``. A retried span
has the same end time, so it lands in the same day file; the set of source ids of a day is
read from the journal when first needed and kept up to date as records are written, so a
delivery repeated after a restart is still recognised. The journal stays the truth.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import socket
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from core.clock import MS_PER_DAY, day_of_ms, now_ms
from core.costs.pricing import Usage
from core.record_rows import CostLine, ExecutionLine, encode_row, vouch_cost, vouch_execution
from core.records import (
    FUTURE_SLACK_MS,
    HISTORY_START_MS,
    MAX_EXECUTION_COST,
    Execution,
    check_name,
)
from core.tracking import _OTEL_USAGE, UNKNOWN_MODEL, otel_usage

if TYPE_CHECKING:
    from core.costs.ledger import CostTracker
    from core.journal.store import Journal
    from core.monitor.performance import PerformanceMonitor

log = logging.getLogger("core.otlp_ingest")

#: Operations that are not a model call: their spans are executions without tokens or cost
#: (the model-call spans below them carry those; counting both would count twice).
NOT_MODEL_CALLS = frozenset({"invoke_agent", "create_agent", "execute_tool"})
#: Attributes a sender may state the call's cost in (USD); recorded with pricing "reported".
COST_ATTRIBUTES = ("werkpilot.cost_usd", "gen_ai.usage.cost", "cost_usd")
MAX_END_NS = 253_402_300_799_999 * 1_000_000  # the journal's last day (year 9999)
STATUS_ERROR = 2  # OTLP Status.code STATUS_CODE_ERROR
#: Day indexes kept in memory (retries arrive within minutes; old days are re-read if needed).
MAX_INDEXED_DAYS = 16
_SOURCE_RE = re.compile(rb'"sourceId":"([^"\\]*)"')


class SpanIn(msgspec.Struct, frozen=True):
    """One decoded span with its resource's attributes (values as plain Python).

    msgspec structs, not dataclasses: a frozen dataclass's ``__init__`` sets each field
    through ``object.__setattr__``, which costs more than the rest of decoding a span."""

    trace_id: str  # lower-case hex
    span_id: str
    name: str
    start_ns: int
    end_ns: int
    status_code: int = 0
    status_message: str = ""
    attributes: Mapping[str, Any] = msgspec.field(default_factory=dict)
    resource: Mapping[str, Any] = msgspec.field(default_factory=dict)


@dataclass(slots=True)
class IngestResult:
    """What a batch did: records written, spans skipped as duplicates or not GenAI, and
    the rejected spans with the first few reasons (OTLP's partial success)."""

    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, what: str, problem: str) -> None:
        self.rejected += 1
        if len(self.errors) < 5:
            self.errors.append(f"{what}: {problem}")

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        more = self.rejected - len(self.errors)
        return "; ".join(self.errors) + (f"; and {more} more" if more > 0 else "")


class CallRecord(msgspec.Struct, frozen=True):
    """The execution (and, for a model call, cost entry) one span or log event maps to."""

    agent: str
    department: str
    model: str | None
    timestamp: int  # epoch ms of the span's end
    duration: float  # ms
    status: str
    error: str | None
    input_tokens: int  # excluding cache tokens
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reported_cost: float | None
    model_call: bool
    host: str | None
    source_id: str
    #: Metrics: a counter point is a cost entry without an execution; a duration
    #: histogram point is an execution of ``api_calls`` calls without a cost entry.
    execution: bool = True
    api_calls: int | None = None


class LogIn(msgspec.Struct, frozen=True):
    """One decoded log record (an OpenTelemetry event) with its resource's attributes."""

    time_ns: int
    observed_ns: int = 0
    event_name: str = ""
    body: Any = None
    attributes: Mapping[str, Any] = msgspec.field(default_factory=dict)
    resource: Mapping[str, Any] = msgspec.field(default_factory=dict)


#: Claude Code's event for one model request (its ``event.name``, or the record's name).
API_REQUEST_EVENTS = frozenset({"api_request", "claude_code.api_request"})


#: Names already checked (agents, departments and models repeat in every batch).
_CHECKED: dict[str, None] = {}


def _check_name(value: str, what: str) -> None:
    """``check_name``, remembered for names that passed (a bounded set)."""
    if value in _CHECKED:
        return
    check_name(value, what)
    if len(_CHECKED) < 4096:
        _CHECKED[value] = None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_IN, _OUT, _READ, _WRITE = (names[0] for names in _OTEL_USAGE)
_READ_OLD, _WRITE_OLD = _OTEL_USAGE[2][1], _OTEL_USAGE[3][1]


def _span_usage(attrs: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """``otel_usage(attrs, whole_floats=True)``, without its general path for the usual span:
    plain integers under the current names, the cache ones possibly absent."""
    get = attrs.get
    inp, out, read, write = get(_IN), get(_OUT), get(_READ), get(_WRITE)
    if read is None and get(_READ_OLD) is None:
        read = 0
    if write is None and get(_WRITE_OLD) is None:
        write = 0
    if (
        type(inp) is int
        and type(out) is int
        and type(read) is int
        and type(write) is int
        and out >= 0
        and read >= 0
        and write >= 0
        and inp >= read + write
    ):
        return inp - read - write, out, read, write
    return otel_usage(attrs, whole_floats=True)


def map_span(span: SpanIn, departments: Mapping[str, str]) -> CallRecord | None:
    """The record of a GenAI span; None for a span without ``gen_ai.operation.name``.

    Raises ValueError naming what is wrong with a GenAI span that cannot be recorded."""
    attrs = span.attributes
    get = attrs.get
    operation = _text(get("gen_ai.operation.name"))
    if operation is None:
        return None
    resource = span.resource
    service = _text(resource.get("service.name"))
    agent = _text(get("gen_ai.agent.name")) or service or "unknown_service"
    department = (
        _text(resource.get("werkpilot.department"))
        or (departments.get(service) if service else None)
        or "default"
    )
    model = _text(get("gen_ai.response.model")) or _text(get("gen_ai.request.model"))
    checked = _CHECKED
    if agent not in checked:
        _check_name(agent, "agent")
    if department not in checked:
        _check_name(department, "department")
    if model is not None and model not in checked:
        _check_name(model, "model")
    if not 0 < span.end_ns <= MAX_END_NS:
        raise ValueError(f"timestamp: the span's end {span.end_ns} ns is not a plausible time")
    if span.end_ns < span.start_ns:
        raise ValueError("duration: the span ends before it starts")
    model_call = operation not in NOT_MODEL_CALLS
    inp = out = read = write = 0
    if model_call:
        inp, out, read, write = _span_usage(attrs)
    cost: float | None = None
    if model_call:
        for key in COST_ATTRIBUTES:
            value = attrs.get(key)
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{key}: expected a number of USD, got {value!r}")
                if not math.isfinite(value) or not 0 <= value <= MAX_EXECUTION_COST:
                    raise ValueError(f"{key}: must be from 0 to {MAX_EXECUTION_COST:g} USD")
                cost = float(value)
                break
    error_type = _text(attrs.get("error.type"))
    failed = span.status_code == STATUS_ERROR or error_type is not None
    error = None
    if failed:
        error = ": ".join(p for p in (error_type, span.status_message) if p) or "span status ERROR"
    return CallRecord(
        agent=agent,
        department=department,
        model=model,
        timestamp=span.end_ns // 1_000_000,
        duration=(span.end_ns - span.start_ns) / 1e6,
        status="error" if failed else "completed",
        error=error[:2000] if error else None,
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reported_cost=cost,
        model_call=model_call,
        host=_text(resource.get("host.name")),
        source_id=f"otlp:{span.trace_id}:{span.span_id}",
    )


def _int(attrs: Mapping[str, Any], key: str) -> int:
    """A count sent as a number or a numeric string (exporters differ)."""
    value = attrs.get(key)
    if value is None:
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key}: expected a non-negative integer, got {value!r}")
    return value


def _float(attrs: Mapping[str, Any], key: str) -> float | None:
    value = attrs.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key}: expected a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{key}: must not be negative, got {value!r}")
    return float(value)


def log_source_id(rec: LogIn) -> str:
    """A log record has no id: the digest of everything it says identifies a redelivery."""
    text = json.dumps(
        [rec.time_ns, rec.observed_ns, rec.event_name, rec.body, rec.attributes, rec.resource],
        sort_keys=True,
        default=repr,
    )
    return "otlp-log:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def map_log(rec: LogIn, departments: Mapping[str, str]) -> CallRecord | None:
    """The record of a Claude Code ``api_request`` event; None for any other log record.

    Claude Code counts input tokens without the cache ones (the Anthropic form) and states
    the request's cost (``cost_usd``: pricing ``reported``)."""
    attrs = rec.attributes
    name = rec.event_name or _text(attrs.get("event.name")) or _text(rec.body) or ""
    if name not in API_REQUEST_EVENTS:
        return None
    service = _text(rec.resource.get("service.name"))
    agent = service or "claude-code"
    department = (
        _text(rec.resource.get("werkpilot.department"))
        or (departments.get(service) if service else None)
        or "default"
    )
    model = _text(attrs.get("model"))
    _check_name(agent, "agent")
    _check_name(department, "department")
    if model is not None:
        _check_name(model, "model")
    end_ns = rec.time_ns or rec.observed_ns
    if not 0 < end_ns <= MAX_END_NS:
        raise ValueError(f"timestamp: {end_ns} ns is not a plausible time")
    duration = _float(attrs, "duration_ms") or 0.0
    cost = _float(attrs, "cost_usd")
    if cost is not None and cost > MAX_EXECUTION_COST:
        raise ValueError(f"cost_usd: must be from 0 to {MAX_EXECUTION_COST:g} USD")
    return CallRecord(
        agent=agent,
        department=department,
        model=model,
        timestamp=end_ns // 1_000_000,
        duration=duration,
        status="completed",
        error=None,
        input_tokens=_int(attrs, "input_tokens"),
        output_tokens=_int(attrs, "output_tokens"),
        cache_read_tokens=_int(attrs, "cache_read_tokens"),
        cache_write_tokens=_int(attrs, "cache_creation_tokens"),
        reported_cost=cost,
        model_call=True,
        host=_text(rec.resource.get("host.name")),
        source_id=log_source_id(rec),
    )


class SeenIndex:
    """Source ids already in the journal, per record kind and day, read lazily."""

    def __init__(self, journal: Journal, max_days: int = MAX_INDEXED_DAYS) -> None:
        self.journal = journal
        self.max_days = max_days
        self._days: OrderedDict[tuple[str, int], set[str]] = OrderedDict()  # (kind, day no.)
        #: Per kind, the day last asked for (a batch asks for both kinds, span by span).
        self._last: dict[str, tuple[tuple[str, int], set[str]]] = {}

    def ids(self, kind: str, timestamp_ms: int) -> set[str]:
        key = (kind, timestamp_ms // MS_PER_DAY)
        last = self._last.get(kind)
        if last is not None and last[0] == key:  # a batch's records mostly share a day
            return last[1]
        ids = self._days.get(key)
        if ids is None:
            path = self.journal.path_for(kind, day_of_ms(timestamp_ms))
            data = self.journal.read_document(Path(path).relative_to(self.journal.root))
            ids = {m.decode() for m in _SOURCE_RE.findall(data)} if data else set()
            self._days[key] = ids
            while len(self._days) > self.max_days:
                self._days.popitem(last=False)
        elif len(self._days) > 1:
            self._days.move_to_end(key)
        self._last[kind] = (key, ids)
        return ids

    def forget(self) -> None:
        """Drop every cached day (after a failed write: the journal is read again)."""
        self._days.clear()
        self._last.clear()


class Ingestor:
    """Records OTLP spans through core, once each (call under the caller's core lock)."""

    def __init__(
        self,
        monitor: PerformanceMonitor,
        tracker: CostTracker,
        *,
        departments: Mapping[str, str] | None = None,
        logs: bool = True,
    ) -> None:
        self.logs = logs  # Claude Code's events (off when its metrics are the source)
        self.monitor = monitor
        self.tracker = tracker
        self.departments = dict(departments or {})
        self.seen = SeenIndex(monitor.journal)
        self._host = socket.gethostname()  # what track_execution writes when none is given

    def ingest_spans(self, spans: Iterable[SpanIn]) -> IngestResult:
        return self._ingest(
            ((f"span {s.span_id or '?'}", s) for s in spans),
            map_span,
            "span(s)",
        )

    def ingest_logs(self, logs: Iterable[LogIn]) -> IngestResult:
        if not self.logs:
            return IngestResult(ignored=sum(1 for _ in logs))
        return self._ingest(
            ((f"log record {i}", r) for i, r in enumerate(logs)), map_log, "log record(s)"
        )

    def ingest_records(self, records: Iterable[tuple[str, CallRecord]]) -> IngestResult:
        """Records mapped elsewhere (metric points: core/otlp/metrics.py)."""
        return self._ingest(records, lambda r, _: r, "metric point(s)")

    def _ingest(
        self,
        items: Iterable[tuple[str, Any]],
        mapper: Callable[[Any, Mapping[str, str]], CallRecord | None],
        kind: str,
    ) -> IngestResult:
        """Map, check and write a whole batch: one append per journal day file, thresholds
        and budgets checked once (``append_checked``; ``track_costs`` /
        ``track_executions`` for a record the fast checks cannot vouch for)."""
        result = IngestResult()
        plan = _Plan(now_ms(self.monitor.clock), os.getpid())
        batch_ids: set[tuple[str, str]] = set()  # a span twice in one batch counts once
        for what, item in items:
            try:
                record = mapper(item, self.departments)
                if record is None:
                    result.ignored += 1
                    continue
                if not self._plan(what, record, batch_ids, plan):
                    result.duplicates += 1
            except ValueError as exc:  # pydantic's ValidationError is one
                result.reject(what, _one_line(exc))
        try:
            self._write(plan, result)
        except OSError:
            self.seen.forget()  # re-read what reached the journal before judging a retry
            raise
        if result.rejected:
            log.warning("OTLP: %d %s refused: %s", result.rejected, kind, result.error_message)
        return result

    def _plan(self, what: str, r: CallRecord, batch_ids: set[tuple[str, str]], plan: _Plan) -> bool:
        """Add what of ``r`` is not yet in the journal to ``plan``; False when all of it
        already is. Raises ValueError for a record the execution model refuses, before
        anything of it is written."""
        sid = r.source_id
        need_execution = (
            r.execution
            and sid not in self.seen.ids("executions", r.timestamp)
            and ("executions", sid) not in batch_ids
        )
        need_cost = (
            r.model_call
            and sid not in self.seen.ids("ledger", r.timestamp)
            and ("ledger", sid) not in batch_ids
        )
        if not (need_execution or need_cost):
            return False
        cost, pricing = 0.0, "exact"
        if r.model_call:
            cost, pricing = self.tracker._price(
                r.model or UNKNOWN_MODEL, _usage(r), r.reported_cost
            )
            if r.reported_cost is not None and pricing == "caller":
                pricing = "reported"
        if not self._fast(r, cost, pricing, need_execution, need_cost, plan):
            # Built (and so checked) before anything is written: a refused span leaves no trace.
            execution = Execution.model_validate(self._execution_fields(r, cost))
            plan.slow.append((what, r, execution if need_execution else None, need_cost))
        else:
            plan.fast_records += 1
        if need_execution:
            batch_ids.add(("executions", sid))
        if need_cost:
            batch_ids.add(("ledger", sid))
        return True

    def _execution_fields(self, r: CallRecord, cost: float) -> dict[str, Any]:
        return {
            "timestamp": r.timestamp,
            "agent": r.agent,
            "duration": r.duration,
            "status": r.status,
            "tokens_used": r.input_tokens
            + r.output_tokens
            + r.cache_read_tokens
            + r.cache_write_tokens,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "cache_read_tokens": r.cache_read_tokens,
            "cache_write_tokens": r.cache_write_tokens,
            "model": r.model,
            "department": r.department,
            "cost": cost,
            "api_calls": r.api_calls if r.api_calls is not None else int(r.model_call),
            "error": r.error,
            "host": self._host if r.host is None else r.host,
            "pid": os.getpid(),
            "source_id": r.source_id,
        }

    def _fast(
        self,
        r: CallRecord,
        cost: float,
        pricing: str,
        need_execution: bool,
        need_cost: bool,
        plan: _Plan,
    ) -> bool:
        """Plan ``r``'s lines as rows encoded and vouched for by the msgspec mirrors (what
        a reader accepts) and by the API's timestamp rule; False, planning nothing, when
        any of it is in doubt, so the models decide (and name the problem)."""
        ts = r.timestamp
        if not (
            type(ts) is int
            and HISTORY_START_MS <= ts <= plan.now + FUTURE_SLACK_MS
            and type(r.duration) is float
            and type(cost) is float
        ):
            return False
        host = self._host if r.host is None else r.host
        try:
            # Built unchecked, then checked as a reader checks the line written.
            e_line = encode_row(
                ExecutionLine(
                    ts,
                    r.agent,
                    r.status,  # type: ignore[arg-type]  # checked by vouch_execution
                    r.duration,
                    r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens,
                    r.input_tokens,
                    r.output_tokens,
                    r.cache_read_tokens,
                    r.cache_write_tokens,
                    r.model,
                    r.department,
                    cost,
                    0.0,
                    0.0,
                    r.api_calls if r.api_calls is not None else int(r.model_call),
                    r.error,
                    host,
                    plan.pid,
                    r.source_id,
                )
            )
            e_row = vouch_execution(e_line)
            if need_cost:
                c_line = encode_row(
                    CostLine(
                        ts,
                        r.agent,
                        r.department,
                        r.model or UNKNOWN_MODEL,
                        r.input_tokens,
                        r.output_tokens,
                        r.cache_read_tokens,
                        r.cache_write_tokens,
                        cost,
                        pricing,  # type: ignore[arg-type]
                        host,
                        plan.pid,
                        r.source_id,
                    )
                )
                c_row = vouch_cost(c_line)
        except (ValueError, TypeError, OverflowError):  # msgspec's errors are ValueErrors
            return False
        if need_execution:
            plan.executions.append(e_row)
            plan.execution_lines.append(e_line + b"\n")
        if need_cost:
            plan.costs.append(c_row)
            plan.cost_lines.append(c_line + b"\n")
        return True

    def _write(self, plan: _Plan, result: IngestResult) -> None:
        """Cost entries first; a record whose entry is refused writes no execution either.

        Vouched lines go out as they are; the records the fast checks left to the models
        go through ``track_costs`` / ``track_executions`` (a batch of well-formed spans
        has none)."""
        if plan.costs:
            self.tracker.append_checked(plan.costs, plan.cost_lines)
            for row in plan.costs:
                self.seen.ids("ledger", row.timestamp).add(row.source_id)  # type: ignore[arg-type]
        todo = plan.slow
        costed = [t for t in todo if t[3]]
        refused: set[int] = set()
        if costed:
            written = self.tracker.track_costs(
                {
                    "agent": r.agent,
                    "department": r.department,
                    "model": r.model or UNKNOWN_MODEL,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "cache_read_tokens": r.cache_read_tokens,
                    "cache_write_tokens": r.cache_write_tokens,
                    "cost": r.reported_cost,
                    "reported": r.reported_cost is not None,
                    "timestamp": r.timestamp,
                    "host": r.host,
                    "source_id": r.source_id,
                }
                for _, r, _, _ in costed
            )
            for (what, r, _, _), entry in zip(costed, written, strict=True):
                if isinstance(entry, ValueError):
                    refused.add(id(r))
                    result.reject(what, _one_line(entry))
                else:
                    self.seen.ids("ledger", r.timestamp).add(r.source_id)
        if plan.executions:
            self.monitor.append_checked(plan.executions, plan.execution_lines)
            for e_row in plan.executions:
                self.seen.ids("executions", e_row.timestamp).add(e_row.source_id)  # type: ignore[arg-type]
        executions = [t for t in todo if t[2] is not None and id(t[1]) not in refused]
        if executions:
            recorded = self.monitor.track_executions([e for _, _, e, _ in executions if e])
            for (what, r, _, _), done in zip(executions, recorded, strict=True):
                if isinstance(done, ValueError):
                    refused.add(id(r))
                    result.reject(what, _one_line(done))
                else:
                    self.seen.ids("executions", r.timestamp).add(r.source_id)
        result.accepted += plan.fast_records
        result.accepted += sum(1 for t in todo if id(t[1]) not in refused)


@dataclass(slots=True)
class _Plan:
    """What a batch writes: vouched rows and lines, and the records left to the models."""

    now: int  # epoch ms the timestamps are judged against
    pid: int
    executions: list[ExecutionLine] = field(default_factory=list)
    execution_lines: list[bytes] = field(default_factory=list)
    costs: list[CostLine] = field(default_factory=list)
    cost_lines: list[bytes] = field(default_factory=list)
    fast_records: int = 0
    # (what, record, execution to write or None, cost entry needed)
    slow: list[tuple[str, CallRecord, Execution | None, bool]] = field(default_factory=list)


def _usage(r: CallRecord) -> Usage:
    return Usage(r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens)


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = [
    "CallRecord",
    "IngestResult",
    "Ingestor",
    "LogIn",
    "SeenIndex",
    "SpanIn",
    "log_source_id",
    "map_log",
    "map_span",
]
