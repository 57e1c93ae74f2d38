"""Core's executions as OpenTelemetry GenAI metrics, exported over OTLP/HTTP (optional).

With ``[otlp] endpoint`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT``) and the ``werkpilot-tui[otel]``
extra installed, every execution ``PerformanceMonitor.track_execution`` writes is also
recorded as ``gen_ai.client.operation.duration`` (s) and ``gen_ai.client.token.usage``
histograms (the conventions' attribute names and advisory bucket boundaries) and a
``werkpilot.cost`` counter (USD). The agent only puts the record on a bounded queue (full:
dropped and counted, never waiting); a daemon thread records the instruments and the SDK's
reader exports them in the background. Not configured, or without the extra: nothing of
OpenTelemetry is imported. Ingested records (with a ``source_id``) are not sent back out.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.config import Config
    from core.records import Execution

log = logging.getLogger("core.otlp_emit")

#: The GenAI semantic conventions' advisory explicit bucket boundaries.
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48]
DURATION_BUCKETS += [40.96, 81.92]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
TOKEN_BUCKETS += [16777216, 67108864]
#: A resource attribute telling ``serve`` the cost arrives as ``werkpilot.cost`` (so the
#: token histograms are not priced a second time).
EMITTER_ATTRIBUTE = "werkpilot.emitter"


def endpoint_for(config: Config, env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    return config.otlp.endpoint or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None


class Emitter:
    """A bounded queue in front of the OpenTelemetry SDK's meter (see module doc)."""

    def __init__(self, endpoint: str, *, interval_s: float, queue_size: int) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
        from opentelemetry.sdk.metrics.export import (
            AggregationTemporality,
            PeriodicExportingMetricReader,
        )
        from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
        from opentelemetry.sdk.resources import Resource

        url = endpoint.rstrip("/")
        if not url.endswith("/v1/metrics"):
            url += "/v1/metrics"
        exporter = OTLPMetricExporter(
            endpoint=url,
            preferred_temporality={
                Counter: AggregationTemporality.DELTA,
                Histogram: AggregationTemporality.DELTA,
            },
        )
        reader = PeriodicExportingMetricReader(
            exporter, export_interval_millis=max(interval_s, 0.1) * 1000
        )
        views = [
            View(
                instrument_name="gen_ai.client.operation.duration",
                aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS),
            ),
            View(
                instrument_name="gen_ai.client.token.usage",
                aggregation=ExplicitBucketHistogramAggregation(TOKEN_BUCKETS),
            ),
        ]
        resource = Resource.create({EMITTER_ATTRIBUTE: "werkpilot-tui"})
        self.provider = MeterProvider(metric_readers=[reader], resource=resource, views=views)
        meter = self.provider.get_meter("werkpilot-tui")
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used"
        )
        self._cost = meter.create_counter("werkpilot.cost", unit="USD", description="Cost")
        self.dropped = 0
        self._queue: queue.Queue[Execution | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="otlp-emit", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def __call__(self, record: Execution) -> None:
        """Hand ``record`` over without waiting (dropped when the queue is full)."""
        if record.source_id is not None:
            return
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            try:
                if record is None:
                    return
                self._record(record)
            except Exception:  # an exporter problem must not end the thread
                log.exception("could not record an execution as OpenTelemetry metrics")
            finally:
                self._queue.task_done()

    def _record(self, r: Execution) -> None:
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": r.agent,
            "werkpilot.department": r.department or "default",
        }
        if r.model:
            attrs["gen_ai.request.model"] = r.model
        if r.is_error:
            attrs["error.type"] = (r.error or r.status).split(":")[0][:100]
        if r.status != "refused":  # stopped by the guard: not an operation's duration
            self._duration.record(r.duration / 1000, attrs)
        inp = r.input_tokens + r.cache_read_tokens + r.cache_write_tokens  # as the conventions
        if inp:
            self._tokens.record(inp, {**attrs, "gen_ai.token.type": "input"})
        if r.output_tokens:
            self._tokens.record(r.output_tokens, {**attrs, "gen_ai.token.type": "output"})
        if r.cost:
            self._cost.add(r.cost, attrs)

    def flush(self, timeout_s: float = 10.0) -> bool:
        self._queue.join()
        return bool(self.provider.force_flush(int(timeout_s * 1000)))

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(5)
            self.provider.shutdown(timeout_millis=3000)  # do not hold up the exit for long


_emitters: dict[tuple[str, float, int], Emitter | None] = {}
_lock = threading.Lock()


def emitter_for(config: Config) -> Emitter | None:
    """The process's emitter for ``config``; None (importing nothing) when not configured
    or when the ``werkpilot-tui[otel]`` extra is not installed."""
    endpoint = endpoint_for(config)
    if endpoint is None:
        return None
    key = (endpoint, config.otlp.interval_s, config.otlp.queue_size)
    with _lock:
        if key not in _emitters:
            try:
                _emitters[key] = Emitter(
                    endpoint, interval_s=config.otlp.interval_s, queue_size=config.otlp.queue_size
                )
            except ImportError:
                log.warning(
                    "OTLP endpoint %s configured but the OpenTelemetry SDK is missing: "
                    "pip install 'werkpilot-tui[otel]'",
                    endpoint,
                )
                _emitters[key] = None
        return _emitters[key]


__all__ = ["Emitter", "emitter_for", "endpoint_for"]
