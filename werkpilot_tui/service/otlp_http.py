"""OTLP/HTTP for ``serve``: ``POST /v1/traces``, ``/v1/metrics`` and ``/v1/logs``.

Protobuf or JSON, gzip or not. Decoding turns a request into ``SpanIn``/``LogIn``/``PointIn``
values; core records them (core/otlp/ingest.py, core/otlp/metrics.py). The
answers follow the OTLP/HTTP specification: 200 with an ``Export…ServiceResponse`` (its
``partial_success`` counts and explains refused spans), 400 for a body that cannot be
decoded, 415 for a content type or encoding not understood (protobuf needs the
``werkpilot-tui[otlp]`` extra), 503 with ``Retry-After`` while the write path is busy.
Error bodies are a ``google.rpc.Status`` in the request's encoding.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from core import Ingestor, IngestResult, LogIn, MetricsMapper, PointIn, SpanIn

if TYPE_CHECKING:
    from werkpilot_tui.service.api import MetricsService

TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"
METRICS_PATH = "/v1/metrics"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
#: A gzip body may inflate to at most this many times the body limit.
INFLATE_FACTOR = 8
#: Requests allowed to wait for the core lock at once; more are told to retry later.
MAX_WAITING = 4
WAIT_S = 5.0
RETRY_AFTER_S = 2
_CODE_INVALID_ARGUMENT = 3
_CODE_UNAVAILABLE = 14


class DecodeError(ValueError):
    """The body is not an OTLP request of the kind expected (answered 400)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def protobuf_available() -> bool:
    try:
        import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------ decoding: JSON
def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    for key, item in value.items():
        if key == "stringValue" or key == "boolValue":
            return item
        if key == "intValue":
            try:
                return int(item)
            except (TypeError, ValueError):
                raise DecodeError(f"intValue {item!r} is not an integer") from None
        if key == "doubleValue":
            try:
                return float(item)
            except (TypeError, ValueError):
                raise DecodeError(f"doubleValue {item!r} is not a number") from None
        if key == "arrayValue" and isinstance(item, dict):
            return [_json_value(v) for v in item.get("values") or []]
        if key == "kvlistValue" and isinstance(item, dict):
            return _json_attributes(item.get("values"))
    return None


def _json_attributes(items: Any) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise DecodeError("attributes must be a list")
    out: dict[str, Any] = {}
    for kv in items:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise DecodeError("an attribute needs a string key")
        out[kv["key"]] = _json_value(kv.get("value"))
    return out


def _json_int(value: Any, what: str) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DecodeError(f"{what} {value!r} is not an integer") from None


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise DecodeError(f"{key} must be a list")
    return value


def decode_traces_json(body: bytes) -> list[SpanIn]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DecodeError("body must be a JSON object (ExportTraceServiceRequest)")
    spans: list[SpanIn] = []
    for rs in _list(doc, "resourceSpans"):
        if not isinstance(rs, dict):
            raise DecodeError("resourceSpans items must be objects")
        resource = _json_attributes((rs.get("resource") or {}).get("attributes"))
        for ss in _list(rs, "scopeSpans"):
            if not isinstance(ss, dict):
                raise DecodeError("scopeSpans items must be objects")
            for s in _list(ss, "spans"):
                if not isinstance(s, dict):
                    raise DecodeError("spans must be objects")
                status = s.get("status") or {}
                spans.append(
                    SpanIn(
                        trace_id=str(s.get("traceId") or "").lower(),
                        span_id=str(s.get("spanId") or "").lower(),
                        name=str(s.get("name") or ""),
                        start_ns=_json_int(s.get("startTimeUnixNano"), "startTimeUnixNano"),
                        end_ns=_json_int(s.get("endTimeUnixNano"), "endTimeUnixNano"),
                        status_code=_status_code(status.get("code")),
                        status_message=str(status.get("message") or ""),
                        attributes=_json_attributes(s.get("attributes")),
                        resource=resource,
                    )
                )
    return spans


def _status_code(code: Any) -> int:
    if code in ("STATUS_CODE_ERROR", 2, "2"):
        return 2
    if code in ("STATUS_CODE_OK", 1, "1"):
        return 1
    return 0


def decode_logs_json(body: bytes) -> list[LogIn]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DecodeError("body must be a JSON object (ExportLogsServiceRequest)")
    logs: list[LogIn] = []
    for rl in _list(doc, "resourceLogs"):
        if not isinstance(rl, dict):
            raise DecodeError("resourceLogs items must be objects")
        resource = _json_attributes((rl.get("resource") or {}).get("attributes"))
        for sl in _list(rl, "scopeLogs"):
            if not isinstance(sl, dict):
                raise DecodeError("scopeLogs items must be objects")
            for r in _list(sl, "logRecords"):
                if not isinstance(r, dict):
                    raise DecodeError("logRecords must be objects")
                logs.append(
                    LogIn(
                        time_ns=_json_int(r.get("timeUnixNano"), "timeUnixNano"),
                        observed_ns=_json_int(
                            r.get("observedTimeUnixNano"), "observedTimeUnixNano"
                        ),
                        event_name=str(r.get("eventName") or ""),
                        body=_json_value(r.get("body")),
                        attributes=_json_attributes(r.get("attributes")),
                        resource=resource,
                    )
                )
    return logs


_JSON_KINDS = ("sum", "histogram", "gauge")


def decode_metrics_json(body: bytes) -> list[PointIn]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DecodeError("body must be a JSON object (ExportMetricsServiceRequest)")
    points: list[PointIn] = []
    for rm in _list(doc, "resourceMetrics"):
        if not isinstance(rm, dict):
            raise DecodeError("resourceMetrics items must be objects")
        resource = _json_attributes((rm.get("resource") or {}).get("attributes"))
        for sm in _list(rm, "scopeMetrics"):
            if not isinstance(sm, dict):
                raise DecodeError("scopeMetrics items must be objects")
            for m in _list(sm, "metrics"):
                if not isinstance(m, dict):
                    raise DecodeError("metrics must be objects")
                for kind in _JSON_KINDS:
                    data = m.get(kind)
                    if not isinstance(data, dict):
                        continue
                    temporality = _temporality(data.get("aggregationTemporality"))
                    for dp in _list(data, "dataPoints"):
                        if not isinstance(dp, dict):
                            raise DecodeError("dataPoints must be objects")
                        if kind == "histogram":
                            value = _json_float(dp.get("sum"))
                            count = _json_int(dp.get("count"), "count")
                        else:
                            raw = dp.get("asDouble", dp.get("asInt"))
                            value, count = _json_float(raw), 0
                        points.append(
                            PointIn(
                                metric=str(m.get("name") or ""),
                                temporality=temporality if kind != "gauge" else 0,
                                start_ns=_json_int(dp.get("startTimeUnixNano"), "start"),
                                time_ns=_json_int(dp.get("timeUnixNano"), "timeUnixNano"),
                                value=value,
                                count=count,
                                attributes=_json_attributes(dp.get("attributes")),
                                resource=resource,
                            )
                        )
    return points


def _json_float(value: Any) -> float:
    if value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DecodeError(f"{value!r} is not a number") from None


def _temporality(value: Any) -> int:
    if value in (1, "1", "AGGREGATION_TEMPORALITY_DELTA"):
        return 1
    if value in (2, "2", "AGGREGATION_TEMPORALITY_CUMULATIVE"):
        return 2
    return 0


# -------------------------------------------------------------- decoding: protobuf
def _pb_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _pb_attributes(v.kvlist_value.values)
    return getattr(v, kind)


_NESTED = frozenset({"array_value", "kvlist_value"})


def _pb_attributes(items: Any) -> dict[str, Any]:
    """The attributes as a dict. This runs for every attribute, where ``WhichOneof`` costs
    more than reading a field: a oneof member holding a value other than its default is the
    one set, so a non-empty string or a non-zero integer is taken as it is read."""
    out: dict[str, Any] = {}
    for kv in items:
        v = kv.value
        text = v.string_value
        if text:
            out[kv.key] = text
            continue
        number = v.int_value
        if number:
            out[kv.key] = number
            continue
        kind = v.WhichOneof("value")
        out[kv.key] = (
            None if kind is None else _pb_value(v) if kind in _NESTED else getattr(v, kind)
        )
    return out


_Request = TypeVar("_Request")


def _parsed(request: _Request, body: bytes) -> _Request:
    """``request`` (an empty Export*ServiceRequest) filled from ``body``; DecodeError if not."""
    from google.protobuf.message import DecodeError as PbDecodeError

    try:
        request.ParseFromString(body)  # type: ignore[attr-defined]
    except (PbDecodeError, RuntimeError, ValueError) as exc:
        name = type(request).__name__
        raise DecodeError(f"body is not an {name}: {exc}") from None
    return request


def decode_traces_protobuf(body: bytes) -> list[SpanIn]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = _parsed(ExportTraceServiceRequest(), body)
    spans: list[SpanIn] = []
    for rs in request.resource_spans:
        resource = _pb_attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                status = s.status
                spans.append(
                    SpanIn(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        name=s.name,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        status_code=int(status.code),
                        status_message=status.message,
                        attributes=_pb_attributes(s.attributes),
                        resource=resource,
                    )
                )
    return spans


def decode_logs_protobuf(body: bytes) -> list[LogIn]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = _parsed(ExportLogsServiceRequest(), body)
    logs: list[LogIn] = []
    for rl in request.resource_logs:
        resource = _pb_attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                logs.append(
                    LogIn(
                        time_ns=r.time_unix_nano,
                        observed_ns=r.observed_time_unix_nano,
                        event_name=r.event_name,
                        body=_pb_value(r.body) if r.HasField("body") else None,
                        attributes=_pb_attributes(r.attributes),
                        resource=resource,
                    )
                )
    return logs


def decode_metrics_protobuf(body: bytes) -> list[PointIn]:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = _parsed(ExportMetricsServiceRequest(), body)
    points: list[PointIn] = []
    for rm in request.resource_metrics:
        resource = _pb_attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind not in _JSON_KINDS:
                    continue
                data = getattr(m, kind)
                temporality = 0 if kind == "gauge" else int(data.aggregation_temporality)
                for dp in data.data_points:
                    if kind == "histogram":
                        value, count = float(dp.sum), int(dp.count)
                    else:
                        which = dp.WhichOneof("value")
                        value, count = float(getattr(dp, which)) if which else 0.0, 0
                    points.append(
                        PointIn(
                            metric=m.name,
                            temporality=temporality,
                            start_ns=dp.start_time_unix_nano,
                            time_ns=dp.time_unix_nano,
                            value=value,
                            count=count,
                            attributes=_pb_attributes(dp.attributes),
                            resource=resource,
                        )
                    )
    return points


# --------------------------------------------------------------------- responses
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _status(code: int, message: str, content_type: str) -> bytes:
    """A ``google.rpc.Status`` (code and message) in the request's encoding."""
    if content_type == PROTOBUF:
        text = message.encode()
        return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
    return json.dumps({"code": code, "message": message}).encode()


#: Per signal: the protobuf response class and its partial-success count field.
_RESPONSES = {
    TRACES_PATH: (
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        "ExportTraceServiceResponse",
        "rejected_spans",
        "rejectedSpans",
    ),
    METRICS_PATH: (
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
        "ExportMetricsServiceResponse",
        "rejected_data_points",
        "rejectedDataPoints",
    ),
    LOGS_PATH: (
        "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
        "ExportLogsServiceResponse",
        "rejected_log_records",
        "rejectedLogRecords",
    ),
}


def _response(path: str, result: IngestResult, content_type: str) -> bytes:
    """The ``Export…ServiceResponse``: empty, or a partial success naming what was refused."""
    module, name, pb_field, json_field = _RESPONSES[path]
    if content_type == PROTOBUF:
        import importlib

        response = getattr(importlib.import_module(module), name)()
        if result.rejected:
            setattr(response.partial_success, pb_field, result.rejected)
            response.partial_success.error_message = result.error_message
        return bytes(response.SerializeToString())
    doc: dict[str, Any] = {}
    if result.rejected:
        doc["partialSuccess"] = {
            json_field: str(result.rejected),
            "errorMessage": result.error_message,
        }
    return json.dumps(doc).encode()


def inflate(body: bytes, limit: int) -> bytes:
    """A gzip body inflated, refused (DecodeError) when corrupt or larger than ``limit``."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DecodeError(f"body is not valid gzip: {exc}") from None
    if len(out) > limit:
        raise DecodeError(f"the inflated body is over {limit} bytes")
    if not inflater.eof:
        raise DecodeError("the gzip body is truncated")
    return out


class OtlpReceiver:
    """Decodes OTLP requests and records them through the service's core objects."""

    def __init__(
        self,
        service: MetricsService,
        *,
        departments: Mapping[str, str] | None = None,
        max_body_bytes: int = 4 << 20,
        wait_s: float = WAIT_S,
        claude_code: str = "logs",
        gen_ai_metrics: bool = False,
    ) -> None:
        c = service.components
        self.wait_s = wait_s
        self.metrics = MetricsMapper(
            c.journal,
            claude_code=claude_code,
            gen_ai_metrics=gen_ai_metrics,
            departments=departments,
        )
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.ingestor = Ingestor(
            c.monitor, c.tracker, departments=departments, logs=claude_code == "logs"
        )
        self._waiting = threading.BoundedSemaphore(MAX_WAITING)

    def export(self, path: str, body: bytes, content_type: str, encoding: str) -> Reply:
        """The reply to ``POST path`` with ``body`` (already bounded by the body limit)."""
        ctype = content_type.split(";")[0].strip().lower()
        reply_type = PROTOBUF if ctype == PROTOBUF else JSON
        if ctype not in (PROTOBUF, JSON):
            return self._error(415, "Content-Type must be application/x-protobuf or JSON", JSON)
        if ctype == PROTOBUF and not protobuf_available():
            return self._error(
                415,
                "OTLP protobuf needs the opentelemetry-proto package "
                "(pip install 'werkpilot-tui[otlp]'); send application/json instead",
                JSON,
            )
        encoding = encoding.strip().lower()
        try:
            if encoding == "gzip":
                body = inflate(body, self.max_body_bytes * INFLATE_FACTOR)
            elif encoding not in ("", "identity"):
                return self._error(415, f"Content-Encoding {encoding!r} is not supported", ctype)
            if path == METRICS_PATH:
                points = (
                    decode_metrics_protobuf(body)
                    if ctype == PROTOBUF
                    else decode_metrics_json(body)
                )
                work: Callable[[], IngestResult] = lambda: self._metrics(points)  # noqa: E731
            elif path == LOGS_PATH:
                logs = decode_logs_protobuf(body) if ctype == PROTOBUF else decode_logs_json(body)
                work = lambda: self.ingestor.ingest_logs(logs)  # noqa: E731
            else:
                spans = (
                    decode_traces_protobuf(body) if ctype == PROTOBUF else decode_traces_json(body)
                )
                work = lambda: self.ingestor.ingest_spans(spans)  # noqa: E731
        except DecodeError as exc:
            return self._error(400, str(exc), reply_type)
        except (AttributeError, TypeError, KeyError, RecursionError) as exc:
            kind = "ExportServiceRequest" if ctype == PROTOBUF else "OTLP/JSON request"
            return self._error(400, f"body is not a well-formed {kind}: {exc}", reply_type)
        result = self.ingest(work)
        if result is None:
            return self._error(
                503, "the write path is busy; retry later", reply_type, retry=RETRY_AFTER_S
            )
        return Reply(200, _response(path, result, reply_type), reply_type)

    def ingest(self, work: Callable[[], IngestResult]) -> IngestResult | None:
        """Run ``work`` under the core lock; None when too many requests already wait."""
        if not self._waiting.acquire(blocking=False):
            return None
        try:
            lock = self.service.core_lock
            if not lock.acquire(timeout=self.wait_s):
                return None
            try:
                result = work()
            finally:
                lock.release()
        finally:
            self._waiting.release()
        if result.accepted:
            self.service.invalidate()
        return result

    def _metrics(self, points: list[PointIn]) -> IngestResult:
        records, problems = self.metrics.map(points)
        result = self.ingestor.ingest_records(records)
        for problem in problems:
            result.reject("metric", problem)
        return result

    @staticmethod
    def _error(status: int, message: str, ctype: str, retry: int | None = None) -> Reply:
        code = _CODE_UNAVAILABLE if status == 503 else _CODE_INVALID_ARGUMENT
        headers = {"Retry-After": str(retry)} if retry is not None else {}
        return Reply(status, _status(code, message, ctype), ctype, headers)
