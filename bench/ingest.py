"""Benchmark of OTLP ingestion by ``werkpilot-tui serve``; prints figures against targets.

    python bench/ingest.py [--batches 200] [--spans 512] [--clients 2]

A real ``serve`` process on a fresh data directory receives OTLP/HTTP protobuf batches of
``--spans`` GenAI spans (new ids each batch, so every span is written). Measured end to
end, request to journal (the answer comes after the records are appended): spans/s over
all batches and the p50/p99 latency of one batch. Baseline in the same run: ``json.loads``
of the same batch as OTLP/JSON (what any JSON endpoint pays before doing anything).
Also the CPU time ``serve`` spent per span, which other load on the machine disturbs less.
Targets: >= 20,000 spans/s and p99 < 100 ms for a 512-span batch.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from google.protobuf.json_format import MessageToJson  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402

SERVE = [sys.executable, "-m", "werkpilot_tui", "serve"]
MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1")


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def batch(n: int, seq: int) -> ExportTraceServiceRequest:
    """``n`` chat spans of 10 agents with fresh ids."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "bench"), _kv("host.name", "bench-1")])
    ss = rs.scope_spans.add()
    now = time.time_ns()
    for i in range(n):
        s = ss.spans.add()
        s.trace_id = (seq * 1_000_003 + i // 8 + 1).to_bytes(16, "big")
        s.span_id = (seq * 100_000 + i + 1).to_bytes(8, "big")
        s.name = "chat"
        s.start_time_unix_nano = now - 2_000_000_000 + i
        s.end_time_unix_nano = now - 1_000_000_000 + i
        s.attributes.extend(
            [
                _kv("gen_ai.operation.name", "chat"),
                _kv("gen_ai.agent.name", f"agent-{i % 10}"),
                _kv("gen_ai.request.model", MODELS[i % 3]),
                _kv("gen_ai.usage.input_tokens", 1200 + i),
                _kv("gen_ai.usage.cache_read.input_tokens", 1000),
                _kv("gen_ai.usage.output_tokens", 300),
            ]
        )
    return request


def start(data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    cfg = data_dir.parent / "werkpilot.toml"
    cfg.write_text("[ingest]\nmax_body_bytes = 16777216\n")
    proc = subprocess.Popen(
        [*SERVE, "--data-dir", str(data_dir), "--config", str(cfg), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    m = re.search(r":(\d+)/api/metrics", proc.stdout.readline())
    assert m, "serve did not start"
    return proc, int(m[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()

    bodies = [batch(args.spans, seq).SerializeToString() for seq in range(args.batches)]
    as_json = MessageToJson(batch(args.spans, 0)).encode()
    t0 = time.perf_counter()
    for _ in range(20):
        json.loads(as_json)
    json_ms = (time.perf_counter() - t0) / 20 * 1000

    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start(Path(tmp) / "data")
        latencies: list[float] = []
        failures: list[int] = []
        lock = threading.Lock()
        todo = list(range(args.batches))

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while True:
                with lock:
                    if not todo:
                        break
                    body = bodies[todo.pop()]
                t = time.perf_counter()
                conn.request(
                    "POST",
                    "/v1/traces",
                    body=body,
                    headers={"Content-Type": "application/x-protobuf"},
                )
                resp = conn.getresponse()
                resp.read()
                elapsed = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(elapsed)
                    if resp.status != 200:
                        failures.append(resp.status)
            conn.close()

        try:
            # One warm-up batch outside the measurement (imports, first day file).
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            warm.request(
                "POST",
                "/v1/traces",
                body=batch(8, 10**6).SerializeToString(),
                headers={"Content-Type": "application/x-protobuf"},
            )
            warm.getresponse().read()
            warm.close()
            cpu_at = psutil.Process(proc.pid).cpu_times()
            cpu0 = cpu_at.user + cpu_at.system
            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t0
            cpu = psutil.Process(proc.pid).cpu_times()
            serve_cpu = cpu.user + cpu.system - cpu0
        finally:
            proc.terminate()
            proc.wait(30)
        lines = sum(
            p.read_bytes().count(b"\n") for p in (Path(tmp) / "data" / "metrics").glob("*.jsonl")
        )

    spans = args.batches * args.spans
    rate = spans / wall
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"batches: {args.batches} x {args.spans} spans, {args.clients} client(s)")
    print(f"executions in the journal: {lines - 8} (expected {spans}); failures: {failures[:5]}")
    print(f"ingested: {rate:,.0f} spans/s (target >= 20,000)")
    print(
        f"batch latency: p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms "
        "(target < 100 ms)"
    )
    print(f"baseline json.loads of the same batch as OTLP/JSON: {json_ms:.1f} ms")
    print(
        f"serve's CPU time: {serve_cpu / spans * 1e6:.1f} µs per span "
        "(less sensitive to other load than the rates above)"
    )


if __name__ == "__main__":
    main()
