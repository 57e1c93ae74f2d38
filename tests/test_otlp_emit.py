"""core → OTLP: executions sent as GenAI metrics, and nothing imported when not configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import core
from core.config import Config
from core.record_rows import parse_cost_lines
from tests.test_otlp_ingest import ROOT, serving


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_core_imports_no_opentelemetry_when_not_configured(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, core
        core.configure({str(tmp_path / "data")!r})
        core.get_performance_monitor().track_execution("a", duration=5, model="sonnet")
        with core.track("b", model="sonnet") as run:
            run.record_usage(input_tokens=10, output_tokens=5)
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr


def _totals(data_dir: Path) -> tuple[float, int]:
    components = core.open(data_dir, Config())
    try:
        costs = [components.tracker.get_agent_cost(a) for a in ("writer", "reviewer")]
        cost = sum(c.total_cost for c in costs if c is not None)
        lines = [
            line
            for path in sorted((data_dir / "costs").glob("ledger-*.jsonl"))
            for line in path.read_bytes().splitlines()
        ]
        tokens = sum(
            e.input_tokens + e.output_tokens + e.cache_read_tokens + e.cache_write_tokens
            for e in parse_cost_lines(lines)
        )
        return cost, tokens
    finally:
        components.close()


def test_round_trip_core_on_host_a_emits_to_serve_on_host_b(tmp_path: Path) -> None:
    host_b = tmp_path / "b" / "data"
    host_b.parent.mkdir()
    with serving(host_b, "\ngen_ai_metrics = true\n") as served:
        config_a = tmp_path / "a.toml"
        config_a.write_text(
            f'[otlp]\nendpoint = "http://127.0.0.1:{served.port}"\ninterval_s = 0.2\n'
        )
        script = textwrap.dedent(
            f"""
            import core, json, sys, time
            core.configure({str(tmp_path / "a" / "data")!r}, {str(config_a)!r})
            for i in range(20):
                agent = "writer" if i % 2 else "reviewer"
                with core.track(agent, model="claude-sonnet-4-5", department="docs") as run:
                    run.record_usage(
                        input_tokens=100 + i, output_tokens=50 * i, cache_read_tokens=7 * i
                    )
                time.sleep(0.01)
            try:
                with core.track("writer", model="claude-haiku-4-5") as run:
                    run.record_usage(input_tokens=3, output_tokens=4)
                    raise RuntimeError("boom")
            except RuntimeError:
                pass
            print(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk.metrics"))[:1])
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.strip().replace("'", '"')) == ["opentelemetry.sdk.metrics"]
    cost_a, tokens_a = _totals(tmp_path / "a" / "data")
    cost_b, tokens_b = _totals(host_b)
    assert cost_a > 0 and tokens_a > 0
    assert cost_b == pytest.approx(cost_a, abs=1e-9)
    assert tokens_b == tokens_a


def test_the_emitter_never_makes_the_agent_wait(tmp_path: Path) -> None:
    import socket
    import time

    from core.otlp.emit import Emitter
    from core.records import Execution

    with socket.socket() as sock:  # a port nobody answers on: every export fails
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    emitter = Emitter(f"http://127.0.0.1:{port}", interval_s=0.05, queue_size=10)
    record = Execution(timestamp=1_764_000_000_000, agent="a", duration=5.0, cost=0.01)
    try:
        t0 = time.perf_counter()
        for _ in range(20_000):
            emitter(record)
        elapsed = time.perf_counter() - t0
        assert elapsed < 5.0  # a queue put each: microseconds, however the exporter fares
        assert emitter.dropped > 0  # the bounded queue dropped and counted the overflow
        ingested = record.model_copy(update={"source_id": "otlp:x"})
        before = emitter.dropped
        emitter(ingested)  # ingested records are not sent back out
        assert emitter.dropped == before
    finally:
        emitter.close()
