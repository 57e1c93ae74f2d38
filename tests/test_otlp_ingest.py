"""OTLP/HTTP ingestion: the OpenTelemetry Python SDK sends GenAI spans to a real ``serve``.

The spans are recorded through core exactly once (retries and restarts included), priced by
core's table (or at the cost the sender reported), and bad input is refused and reported.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import Status, StatusCode

import core
from core.config import Config
from core.monitor.performance import PerformanceMonitor
from core.otlp.ingest import SpanIn, map_span

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[server]
request_timeout_s = 5

[ingest]
max_body_bytes = 1048576
departments = {{ "support-bot" = "support" }}
"""
SERVE = [sys.executable, "-m", "werkpilot_tui", "serve"]
PROTOBUF = {"Content-Type": "application/x-protobuf"}
#: claude-sonnet-4-5: 300 input (1500 incl. 1000 cache read + 200 cache write), 400 output;
#: claude-haiku-4-5: 2000 in, 1000 out; gpt-x: unpriced, cost reported as $0.50.
EXPECTED_COST = (300 * 3 + 400 * 15 + 1000 * 0.3 + 200 * 3.75) / 1e6 + 7000 / 1e6 + 0.5


class Serve:
    def __init__(self, data_dir: Path, extra_config: str = "", **env: str) -> None:
        cfg = data_dir.parent / "werkpilot.toml"
        cfg.write_text(CONFIG.format() + extra_config)
        self.log = data_dir.parent / "serve.log"
        base = {k: v for k, v in os.environ.items() if k != "WERKPILOT_API_TOKEN"}
        self.proc = subprocess.Popen(
            [*SERVE, "--data-dir", str(data_dir), "--config", str(cfg), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
            env={**base, "PYTHONPATH": str(ROOT), **env},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, f"no address in {line!r}; log: {self.log.read_text()}"
        self.port = int(m[1])
        self.url = f"http://127.0.0.1:{self.port}/v1/traces"

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return self.request("/v1/traces", body, headers)

    def request(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def announce(self, length: int, headers: dict[str, str]) -> tuple[int, bytes]:
        """The answer to a request head announcing a ``length``-byte body (none is sent)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest("POST", "/v1/traces")
            for name, value in {**headers, "Content-Length": str(length)}.items():
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)


@contextmanager
def serving(data_dir: Path, extra_config: str = "", **env: str) -> Iterator[Serve]:
    served = Serve(data_dir, extra_config, **env)
    try:
        yield served
    finally:
        served.stop()


def _agent_run(exporter: Any, service: str = "support-bot") -> None:
    """One agent run as a GenAI-instrumented app records it: invoke_agent over model calls."""
    resource = Resource.create({"service.name": service, "host.name": "node-7"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent triage") as agent:
        agent.set_attributes(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "triage",
                "gen_ai.usage.input_tokens": 3510,  # the sum of the calls: not counted again
                "gen_ai.usage.output_tokens": 1410,
            }
        )
        with tracer.start_as_current_span("chat claude-sonnet-4-5") as s:
            s.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.agent.name": "triage",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
                    "gen_ai.usage.input_tokens": 1500,
                    "gen_ai.usage.cache_read.input_tokens": 1000,
                    "gen_ai.usage.cache_creation.input_tokens": 200,
                    "gen_ai.usage.output_tokens": 400,
                }
            )
        with tracer.start_as_current_span("chat claude-haiku-4-5") as s:
            s.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.agent.name": "triage",
                    "gen_ai.request.model": "claude-haiku-4-5",
                    "gen_ai.usage.input_tokens": 2000,
                    "gen_ai.usage.output_tokens": 1000,
                }
            )
        with tracer.start_as_current_span("chat gpt-x") as s:
            s.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.agent.name": "triage",
                    "gen_ai.request.model": "gpt-x",
                    "gen_ai.usage.input_tokens": 10,
                    "gen_ai.usage.output_tokens": 10,
                    "werkpilot.cost_usd": 0.5,
                    "error.type": "timeout",
                }
            )
            s.set_status(Status(StatusCode.ERROR, "upstream timed out"))
        with tracer.start_as_current_span("http get") as s:  # not GenAI: ignored
            s.set_attribute("http.method", "GET")
    provider.shutdown()


def _totals(data_dir: Path) -> tuple[int, int, float, list[Any]]:
    """(executions, tokens, cost) as core reads them from the journal, and the executions."""
    components = core.open(data_dir, Config())
    try:
        monitor: PerformanceMonitor = components.monitor
        executions = monitor.get_recent_executions("triage", limit=1000)
        tokens = sum(e.tokens_used for e in executions)
        agent = components.tracker.get_agent_cost("triage")
        assert agent is not None and agent.executions == 3  # the model calls
        return len(executions), tokens, agent.total_cost, executions
    finally:
        components.close()


def _batch() -> bytes:
    memory = InMemorySpanExporter()
    _agent_run(memory)
    spans: list[ReadableSpan] = list(memory.get_finished_spans())
    return bytes(encode_spans(spans).SerializeToString())


# ----------------------------------------------------------------------- pure mapping
def _span(**attrs: Any) -> SpanIn:
    return SpanIn(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        name="chat",
        start_ns=1_764_000_000_000_000_000,
        end_ns=1_764_000_001_500_000_000,
        attributes={"gen_ai.operation.name": "chat", **attrs},
        resource={"service.name": "svc"},
    )


def test_a_span_maps_input_tokens_without_their_cache_part() -> None:
    r = map_span(
        _span(
            **{
                "gen_ai.usage.input_tokens": 1500,
                "gen_ai.usage.cache_read.input_tokens": 1000,
                "gen_ai.usage.cache_creation.input_tokens": 200,
                "gen_ai.usage.output_tokens": 7,
                "gen_ai.request.model": "m",
            }
        ),
        {"svc": "research"},
    )
    assert r is not None
    assert (r.input_tokens, r.cache_read_tokens, r.cache_write_tokens) == (300, 1000, 200)
    assert (r.agent, r.department, r.model, r.duration) == ("svc", "research", "m", 1500.0)
    assert r.timestamp == 1_764_000_001_500 and r.status == "completed"
    assert map_span(_span(**{"gen_ai.operation.name": None}), {}) is None


def test_an_agent_span_carries_no_tokens_or_cost_and_bad_spans_are_refused() -> None:
    r = map_span(
        _span(**{"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 9}), {}
    )
    assert r is not None and not r.model_call and r.input_tokens == 0
    with pytest.raises(ValueError, match="input_tokens"):
        map_span(_span(**{"gen_ai.usage.input_tokens": -1}), {})
    with pytest.raises(ValueError, match="cost"):
        map_span(_span(**{"werkpilot.cost_usd": float("inf")}), {})


# ------------------------------------------------------------------- real SDK, real serve
def test_python_sdk_spans_become_exactly_the_executions_tokens_and_cost(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as served:
        exporter = OTLPSpanExporter(endpoint=served.url, timeout=30)
        _agent_run(exporter)
    count, tokens, cost, executions = _totals(data_dir)
    assert count == 4  # invoke_agent + three model calls; the HTTP span is not GenAI
    # The agent span's own usage is not counted: 1500 + 400, 2000 + 1000, 10 + 10.
    assert tokens == 1900 + 3000 + 20
    assert cost == pytest.approx(EXPECTED_COST, abs=1e-9)
    by_model = {e.model: e for e in executions}
    assert by_model[None].cost == 0 and by_model[None].api_calls == 0
    sonnet = by_model["claude-sonnet-4-5-20250929"]
    assert (sonnet.input_tokens, sonnet.cache_read_tokens, sonnet.cache_write_tokens) == (
        300,
        1000,
        200,
    )
    assert sonnet.department == "support" and sonnet.host == "node-7"
    failed = by_model["gpt-x"]
    assert failed.status == "error" and failed.cost == 0.5
    assert failed.error == "timeout: upstream timed out"
    ledger = b"".join(p.read_bytes() for p in (data_dir / "costs").glob("ledger-*.jsonl"))
    assert ledger.count(b'"pricing":"reported"') == 1
    assert ledger.count(b'"pricing":"exact"') == 2


def test_the_same_batch_three_times_and_after_a_restart_counts_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    body = _batch()
    with serving(data_dir) as served:
        for _ in range(3):
            status, headers, data = served.post(body, PROTOBUF)
            assert status == 200, data
            assert headers["content-type"] == "application/x-protobuf"
            response = ExportTraceServiceResponse.FromString(data)
            assert response.partial_success.rejected_spans == 0
    with serving(data_dir) as served:
        status, _, _ = served.post(gzip.compress(body), {**PROTOBUF, "Content-Encoding": "gzip"})
        assert status == 200
    count, tokens, cost, _ = _totals(data_dir)
    assert (count, tokens) == (4, 4920)
    assert cost == pytest.approx(EXPECTED_COST, abs=1e-9)


def test_otlp_json_is_accepted_too(tmp_path: Path) -> None:
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "js-agent"}},
                        {"key": "werkpilot.department", "value": {"stringValue": "sales"}},
                    ]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5B8EFFF798038103D269B633813FC60C",
                                "spanId": "EEE19B7EC3C1B174",
                                "name": "chat",
                                "startTimeUnixNano": str(1_764_000_000_000_000_000),
                                "endTimeUnixNano": str(1_764_000_002_000_000_000),
                                "attributes": [
                                    {
                                        "key": "gen_ai.operation.name",
                                        "value": {"stringValue": "chat"},
                                    },
                                    {
                                        "key": "gen_ai.request.model",
                                        "value": {"stringValue": "claude-haiku-4-5"},
                                    },
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "1000"},
                                    },
                                    {
                                        "key": "gen_ai.usage.output_tokens",
                                        "value": {"intValue": 200},
                                    },
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    data_dir = tmp_path / "data"
    body = json.dumps(doc).encode()
    with serving(data_dir) as served:
        for _ in range(2):
            status, _, data = served.post(body, {"Content-Type": "application/json"})
            assert status == 200 and json.loads(data) == {}
    components = core.open(data_dir, Config())
    try:
        (e,) = components.monitor.get_recent_executions("js-agent")
        assert (e.department, e.duration, e.tokens_used) == ("sales", 2000.0, 1200)
        assert e.cost == pytest.approx((1000 * 1 + 200 * 5) / 1e6)
    finally:
        components.close()


def test_bad_input_is_refused_and_reported_and_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    body = _batch()
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "absurd"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat") as s:
        s.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10**15})
    now = time.time_ns()
    long = tracer.start_span("chat", start_time=now - 2 * 10**17)  # over 6 years long
    long.set_attributes({"gen_ai.operation.name": "chat"})
    long.end(end_time=now)
    with tracer.start_as_current_span("chat") as s:
        s.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "sonnet"})
    absurd = bytes(encode_spans(list(memory.get_finished_spans())).SerializeToString())
    with serving(data_dir) as served:
        status, _, data = served.post(body[: len(body) // 2], PROTOBUF)
        assert status == 400 and b"ExportTraceServiceRequest" in data
        status, _, data = served.post(b"{", {"Content-Type": "application/json"})
        assert status == 400 and json.loads(data)["code"] == 3
        status, _, data = served.post(body, {"Content-Type": "text/plain"})
        assert status == 415
        status, data = served.announce(10 << 20, PROTOBUF)  # a 10 MB body: refused at once
        assert status == 413 and b"over 1048576 bytes" in data
        status, _, data = served.post(
            gzip.compress(b"\0" * (20 << 20)), {**PROTOBUF, "Content-Encoding": "gzip"}
        )
        assert status == 400 and b"inflated" in data
        status, _, data = served.post(absurd, PROTOBUF)
        assert status == 200
        partial = ExportTraceServiceResponse.FromString(data).partial_success
        assert partial.rejected_spans == 2
        assert "tokens" in partial.error_message and "duration" in partial.error_message
        assert served.proc.poll() is None
    components = core.open(data_dir, Config())
    try:
        assert components.monitor.list_agents() == ["absurd"]
        assert len(components.monitor.get_recent_executions("absurd")) == 1
        assert components.journal.problems == []
        assert "OTLP: 2 span(s) refused" in served.log.read_text()
    finally:
        components.close()


def test_the_write_token_guards_otlp(tmp_path: Path) -> None:
    with serving(tmp_path / "data", WERKPILOT_API_TOKEN="s3cret") as served:
        status, headers, _ = served.post(_batch(), PROTOBUF)
        assert status == 401 and headers["www-authenticate"] == "Bearer"
        denied = OTLPSpanExporter(endpoint=served.url, timeout=10)
        memory = InMemorySpanExporter()
        _agent_run(memory)
        spans = list(memory.get_finished_spans())
        assert denied.export(spans) is SpanExportResult.FAILURE
        allowed = OTLPSpanExporter(
            endpoint=served.url, headers={"Authorization": "Bearer s3cret"}, timeout=10
        )
        assert allowed.export(spans) is SpanExportResult.SUCCESS


def test_without_opentelemetry_proto_serve_starts_and_protobuf_gets_415(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "opentelemetry").mkdir(parents=True)
    (shadow / "opentelemetry" / "__init__.py").write_text("")  # hides the installed package
    with serving(tmp_path / "data", PYTHONPATH=f"{shadow}{os.pathsep}{ROOT}") as served:
        status, _, data = served.post(_batch(), PROTOBUF)
        assert status == 415 and b"werkpilot-tui[otlp]" in data
        status, _, data = served.post(b"{}", {"Content-Type": "application/json"})
        assert status == 200 and json.loads(data) == {}


def test_a_saturated_write_path_answers_503_with_retry_after(tmp_path: Path) -> None:
    from werkpilot_tui.service.api import MetricsService
    from werkpilot_tui.service.otlp_http import OtlpReceiver

    components = core.open(tmp_path / "data", Config())
    service = MetricsService(components, cache_ttl_s=0)
    receiver = OtlpReceiver(service, wait_s=0.05)
    try:
        with service.core_lock:  # another request holds the write path
            reply = receiver.export("/v1/traces", _batch(), "application/x-protobuf", "")
        assert reply.status == 503 and reply.headers["Retry-After"] == "2"
        reply = receiver.export("/v1/traces", _batch(), "application/x-protobuf", "")
        assert reply.status == 200
        assert len(components.monitor.get_recent_executions("triage")) == 4
    finally:
        service.close()
        components.close()


# ------------------------------------------------------------- Claude Code's events (logs)
def _claude_code_logs() -> Any:
    """Claude Code's OTLP log export as documented: one ``claude_code.api_request`` event per
    model request (its numbers as strings, as Claude Code sends them), besides other events."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(
        [
            kv("service.name", "claude-code"),
            kv("service.version", "2.0.14"),
            kv("host.name", "laptop-3"),
            kv("werkpilot.department", "engineering"),  # OTEL_RESOURCE_ATTRIBUTES
        ]
    )
    sl = rl.scope_logs.add()
    sl.scope.name = "com.anthropic.claude_code.events"
    now = time.time_ns()
    calls = [
        ("claude-sonnet-4-5-20250929", "0.012345", "2300", "1200", "340", "5000", "100"),
        ("claude-haiku-4-5-20251001", "0.1", "800", "90", "12", "0", "0"),
        ("claude-opus-4-1-20250805", "0.05", "15000.5", "10", "4000", "0", "2000"),
    ]
    for i, (model, cost, ms, inp, out, read, write) in enumerate(calls):
        r = sl.log_records.add()
        r.time_unix_nano = r.observed_time_unix_nano = now + i * 1_000_000
        r.body.string_value = "claude_code.api_request"
        r.attributes.extend(
            [
                kv("event.name", "api_request"),
                kv("event.timestamp", "2026-12-03T12:00:00.000Z"),
                kv("session.id", "5d7c1c3e"),
                kv("model", model),
                kv("cost_usd", cost),
                kv("duration_ms", ms),
                kv("input_tokens", inp),
                kv("output_tokens", out),
                kv("cache_read_tokens", read),
                kv("cache_creation_tokens", write),
            ]
        )
    for event in ("user_prompt", "tool_result"):
        r = sl.log_records.add()
        r.time_unix_nano = now
        r.body.string_value = f"claude_code.{event}"
        r.attributes.extend([kv("event.name", event), kv("session.id", "5d7c1c3e")])
    return request


def test_claude_code_api_request_events_are_counted_to_the_cent_once(tmp_path: Path) -> None:
    from google.protobuf.json_format import MessageToJson

    request = _claude_code_logs()
    data_dir = tmp_path / "data"
    with serving(data_dir) as served:
        for _ in range(2):
            status, _, data = served.request("/v1/logs", request.SerializeToString(), PROTOBUF)
            assert status == 200 and data == b""  # an empty ExportLogsServiceResponse
    with serving(data_dir) as served:  # after a restart, and as OTLP/JSON: still once
        status, _, data = served.request(
            "/v1/logs", MessageToJson(request).encode(), {"Content-Type": "application/json"}
        )
        assert status == 200 and json.loads(data) == {}
    components = core.open(data_dir, Config())
    try:
        executions = components.monitor.get_recent_executions("claude-code")
        assert len(executions) == 3
        assert {e.department for e in executions} == {"engineering"}
        assert {e.host for e in executions} == {"laptop-3"}
        assert sum(e.duration for e in executions) == 2300 + 800 + 15000.5
        agent = components.tracker.get_agent_cost("claude-code")
        assert agent is not None and agent.executions == 3
        assert round(agent.total_cost, 2) == 0.16 and agent.total_cost == pytest.approx(0.162345)
        assert agent.total_input_tokens == 1300
        assert agent.total_output_tokens == 4352
        assert sum(e.cache_read_tokens for e in executions) == 5000
        assert sum(e.cache_write_tokens for e in executions) == 2100
    finally:
        components.close()
    ledger = b"".join(p.read_bytes() for p in (data_dir / "costs").glob("ledger-*.jsonl"))
    assert ledger.count(b'"pricing":"reported"') == 3


# ------------------------------------------------------------------------------ metrics
def _claude_code_metrics(points: list[tuple[str, str, str, int, int, float, int]]) -> bytes:
    """Claude Code's counters as documented: (metric, model, token type, start, time,
    value, temporality) per data point."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend([kv("service.name", "claude-code"), kv("host.name", "mac-1")])
    sm = rm.scope_metrics.add()
    for name, model, kind, start, end, value, temporality in points:
        m = sm.metrics.add()
        m.name, m.unit = name, "USD" if name.endswith("cost.usage") else "tokens"
        m.sum.is_monotonic = True
        m.sum.aggregation_temporality = temporality
        dp = m.sum.data_points.add()
        dp.start_time_unix_nano, dp.time_unix_nano, dp.as_double = start, end, value
        dp.attributes.extend([kv("model", model), kv("session.id", "s-1")])
        if kind:
            dp.attributes.append(kv("type", kind))
    return bytes(request.SerializeToString())


def test_claude_code_counters_cumulative_and_delta_counted_to_the_cent(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    extra = '\nclaude_code = "metrics"\n'
    now = time.time_ns()
    s1, s2 = now - 10**12, now - 10**9
    cost, tokens = "claude_code.cost.usage", "claude_code.token.usage"
    sonnet, haiku = "claude-sonnet-4-5", "claude-haiku-4-5"
    first = _claude_code_metrics(
        [
            (cost, sonnet, "", s1, now - 3 * 10**9, 0.10, 2),  # cumulative
            (tokens, sonnet, "input", s1, now - 3 * 10**9, 1000, 2),
            (tokens, sonnet, "output", s1, now - 3 * 10**9, 200, 2),
            (cost, haiku, "", s1, now - 3 * 10**9, 0.02, 1),  # delta
        ]
    )
    second = _claude_code_metrics(
        [
            (cost, sonnet, "", s1, now - 2 * 10**9, 0.25, 2),
            (tokens, sonnet, "input", s1, now - 2 * 10**9, 1500, 2),
            (tokens, sonnet, "output", s1, now - 2 * 10**9, 300, 2),
            (cost, haiku, "", now - 3 * 10**9, now - 2 * 10**9, 0.03, 1),
        ]
    )
    restarted = _claude_code_metrics(  # Claude Code restarted: a new start, a lower value
        [(cost, sonnet, "", s2, now - 10**9, 0.05, 2)]
    )
    with serving(data_dir, extra) as served:
        for body in (first, second, second):
            status, _, data = served.request("/v1/metrics", body, PROTOBUF)
            assert status == 200 and data == b""
    with serving(data_dir, extra) as served:  # the series' last values survive a restart
        for body in (second, restarted, restarted):
            assert served.request("/v1/metrics", body, PROTOBUF)[0] == 200
        # Claude Code's api_request events are not counted again when metrics are the source.
        logs = _claude_code_logs().SerializeToString()
        assert served.request("/v1/logs", logs, PROTOBUF)[0] == 200
    components = core.open(data_dir, Config())
    try:
        agent = components.tracker.get_agent_cost("claude-code")
        assert agent is not None
        assert round(agent.total_cost, 2) == 0.35
        assert agent.total_cost == pytest.approx(0.25 + 0.05 + 0.02 + 0.03)
        assert (agent.total_input_tokens, agent.total_output_tokens) == (1500, 300)
        assert components.monitor.get_recent_executions("claude-code") == []
    finally:
        components.close()


def test_python_sdk_gen_ai_histograms_become_cost_and_executions(tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    data_dir = tmp_path / "data"
    with serving(data_dir, "\ngen_ai_metrics = true\n") as served:
        exporter = OTLPMetricExporter(endpoint=f"http://127.0.0.1:{served.port}/v1/metrics")
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "rag-app"})
        )
        meter = provider.get_meter("test")
        usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        call = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-haiku-4-5"}
        usage.record(1000, {**call, "gen_ai.token.type": "input"})
        usage.record(200, {**call, "gen_ai.token.type": "output"})
        duration.record(1.5, call)
        assert provider.force_flush()
        assert provider.force_flush()  # cumulative again, nothing new: counted once
        usage.record(500, {**call, "gen_ai.token.type": "input"})
        duration.record(0.5, call)
        provider.shutdown()
    components = core.open(data_dir, Config())
    try:
        agent = components.tracker.get_agent_cost("rag-app")
        assert agent is not None
        assert agent.total_cost == pytest.approx((1500 * 1 + 200 * 5) / 1e6)
        executions = components.monitor.get_recent_executions("rag-app")
        assert sum(e.api_calls for e in executions) == 2
        assert sum(e.duration for e in executions) == pytest.approx(2000)
    finally:
        components.close()


def test_chunked_bodies_are_read_within_the_limit(tmp_path: Path) -> None:
    body = _batch()
    with serving(tmp_path / "data") as served:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
        try:
            pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
            conn.request(
                "POST", "/v1/traces", body=iter(pieces), headers=PROTOBUF, encode_chunked=True
            )
            resp = conn.getresponse()
            assert resp.status == 200, resp.read()
            resp.read()
        finally:
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
        try:
            big = (b"\0" * 65536 for _ in range(32))  # 2 MiB, over the 1 MiB limit
            conn.request("POST", "/v1/traces", body=big, headers=PROTOBUF, encode_chunked=True)
            resp = conn.getresponse()
            assert resp.status == 413
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before the client has sent everything
        finally:
            conn.close()
    count, _, _, _ = _totals(tmp_path / "data")
    assert count == 4


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"resourceSpans": {}},
        {"resourceSpans": [{"resource": "x"}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": {"a": 1}}]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"status": "bad"}]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"endTimeUnixNano": "soon"}]}]}]},
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{"key": 1}]}]}]}]},
        {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {"dataPoints": [1]}}]}]}]},
    ],
)
def test_malformed_otlp_json_gets_400_never_500(tmp_path: Path, doc: Any) -> None:
    from werkpilot_tui.service.api import MetricsService
    from werkpilot_tui.service.otlp_http import OtlpReceiver

    components = core.open(tmp_path / "data", Config())
    service = MetricsService(components, cache_ttl_s=0)
    try:
        receiver = OtlpReceiver(service, gen_ai_metrics=True)
        for path in ("/v1/traces", "/v1/logs", "/v1/metrics"):
            reply = receiver.export(path, json.dumps(doc).encode(), "application/json", "")
            assert reply.status in (200, 400), (path, reply)
            if reply.status == 400:
                assert json.loads(reply.body)["code"] == 3
    finally:
        service.close()
        components.close()
