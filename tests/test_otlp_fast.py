"""Ingestion's fast write path equals the model path it replaces, record for record.

Spans are written as msgspec rows encoded in one call and vouched for by the mirrors
(core/record_rows.py), folded in columns; any record those checks doubt goes through the
pydantic models as before. These tests pin that the lines, the aggregates, the alerts and
the answers (accepted, duplicates, refused and why) are the same either way.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core
from core.config import Config
from core.costs.aggregates import LedgerAggregates
from core.otlp.ingest import Ingestor, IngestResult, SpanIn
from core.record_rows import CostLine, ExecutionLine, encode_row, vouch_cost, vouch_execution
from core.records import CostEntry, Execution

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NOW_NS = int(NOW.timestamp()) * 1_000_000_000
DAY_NS = 86_400 * 1_000_000_000

texts = st.text(
    st.characters(blacklist_categories=["Cs"]), max_size=30
)  # any storable text, control characters included
names = st.one_of(st.sampled_from(["a", "agent-1", "Zoë", "claude-sonnet-4-5"]), texts)
usd = st.floats(0, 1e6, allow_nan=False)
ms = st.floats(0, 1e10, allow_nan=False)
tokens = st.integers(0, 10**12)


@settings(max_examples=300, deadline=None)
@given(
    ts=st.integers(0, 253_402_300_799_999),
    agent=names.filter(lambda s: s.strip() != "" and len(s) <= 200),
    model=st.none() | names.filter(lambda s: s.strip() != ""),
    duration=ms,
    cost=usd,
    counts=st.tuples(tokens, tokens, tokens, tokens),
    error=st.none() | texts,
    host=st.sampled_from(["", "host-1", "bench-ä"]),
    status=st.sampled_from(["completed", "error", "failed"]),
)
def test_an_encoded_row_is_the_models_line_byte_for_byte(
    ts: int,
    agent: str,
    model: str | None,
    duration: float,
    cost: float,
    counts: tuple[int, int, int, int],
    error: str | None,
    host: str,
    status: str,
) -> None:
    """Same keys, order (``timestamp`` first), number formatting and escaping; ``sourceId``
    present (every ingested record has one)."""
    try:
        execution = Execution(
            timestamp=ts,
            agent=agent,
            status=status,  # type: ignore[arg-type]
            duration=duration,
            tokens_used=sum(counts),
            input_tokens=counts[0],
            output_tokens=counts[1],
            cache_read_tokens=counts[2],
            cache_write_tokens=counts[3],
            model=model,
            department="sales",
            cost=cost,
            api_calls=1,
            error=error,
            host=host,
            pid=4242,
            source_id="otlp:ab:cd",
        )
    except ValueError:
        return  # the model refuses it (a name with a control character, a sum over 10**12)
    row = ExecutionLine(
        ts, agent, status, duration, sum(counts), *counts, model, "sales", cost, 0.0, 0.0, 1,
        error, host, 4242, "otlp:ab:cd",
    )  # fmt: skip
    line = encode_row(row) + b"\n"
    assert line == execution.to_json_line()
    assert vouch_execution(line[:-1]) == row
    entry = CostEntry(
        timestamp=ts,
        agent=agent,
        department="sales",
        model=model or "unknown",
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_read_tokens=counts[2],
        cache_write_tokens=counts[3],
        cost=cost,
        pricing="reported",
        host=host,
        pid=4242,
        source_id="otlp:ab:cd",
    )
    cost_row = CostLine(
        ts, agent, "sales", model or "unknown", *counts, cost, "reported", host, 4242,
        "otlp:ab:cd",
    )  # fmt: skip
    cost_line = encode_row(cost_row) + b"\n"
    assert cost_line == entry.to_json_line()
    assert vouch_cost(cost_line[:-1]) == cost_row


# ------------------------------------------------------------------ random spans
def _mostly(good: st.SearchStrategy[Any], *bad: Any) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, else one of ``bad`` (so most spans are recorded)."""
    return st.sampled_from(range(10)).flatmap(lambda i: st.sampled_from(bad) if i == 9 else good)


_count = _mostly(
    st.one_of(st.integers(0, 5_000), st.just(1500.0)),  # a JSON sender's whole double counts
    10**13,  # absurd
    2.5,  # not a count
    True,
)
_cost = _mostly(st.sampled_from([None, None, 0.25, 40.0]), math.nan, 2e6, "1.0")


@st.composite
def spans(draw: st.DrawFn) -> SpanIn:
    end = draw(
        _mostly(
            st.integers(NOW_NS - 2 * DAY_NS, NOW_NS),  # two UTC days
            NOW_NS + 3 * DAY_NS,  # too far ahead
            900_000_000_000_000_000,  # 1998: before 2000
            0,
        )
    )
    duration = draw(_mostly(st.sampled_from([0, 1_500_000, 250_000_000]), 2 * 10**16, -5))
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": draw(
            st.sampled_from(["chat", "chat", "invoke_agent", "execute_tool", None])
        ),
        "gen_ai.agent.name": draw(_mostly(st.sampled_from(["planner", "coder", None]), "b\x07d")),
        "gen_ai.request.model": draw(
            st.sampled_from(["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-x", None])
        ),
        "gen_ai.usage.input_tokens": draw(_count),
        "gen_ai.usage.output_tokens": draw(_count),
        "gen_ai.usage.cache_read.input_tokens": draw(st.sampled_from([None, 0, 100])),
        "werkpilot.cost_usd": draw(_cost),
        "error.type": draw(st.sampled_from([None, None, "timeout"])),
    }
    resource = {
        "service.name": draw(st.sampled_from(["svc-a", "svc-b"])),
        "host.name": draw(_mostly(st.sampled_from([None, "host-1"]), "x" * 300, "bad\nhost")),
        "werkpilot.department": draw(st.sampled_from([None, "sales", "Support"])),
    }
    return SpanIn(
        trace_id=f"{draw(st.integers(0, 3)):032x}",
        span_id=f"{draw(st.integers(0, 40)):016x}",  # repeats: duplicates in and across batches
        name="chat",
        start_ns=end - duration,
        end_ns=end,
        status_code=draw(st.sampled_from([0, 1, 2])),
        status_message=draw(st.sampled_from(["", "upstream 529"])),
        attributes={k: v for k, v in attrs.items() if v is not None},
        resource={k: v for k, v in resource.items() if v is not None},
    )


def _run(
    data_dir: Path, batches: list[list[SpanIn]], fast: bool, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Ingest ``batches`` and collect everything observable about the result."""
    with monkeypatch.context() as m:
        if not fast:  # every record through the models (the path before the fast one)
            m.setattr(Ingestor, "_fast", lambda *a, **k: False)
        config = Config.model_validate({"budgets": {"sales": 60.0, "default": 45.0}})
        c = core.open(data_dir, config, lambda: NOW)
        try:
            ingestor = Ingestor(c.monitor, c.tracker)
            results: list[IngestResult] = [ingestor.ingest_spans(b) for b in batches]
            agents = c.monitor.list_agents()
            out = {
                "results": [
                    (r.accepted, r.duplicates, r.ignored, r.rejected, r.errors) for r in results
                ],
                "metrics": [m.model_dump() for m in c.monitor.get_all_agent_metrics()],
                "system": c.monitor.get_system_metrics().model_dump(
                    exclude={"uptime", "system_health"}
                ),
                "recent": {a: c.monitor.get_recent_executions(a) for a in agents},
                "costs": c.tracker.get_all_costs().model_dump(),
                "alerts": sorted(
                    (a.type, a.level, a.message) for a in c.alerts.get_alerts(limit=1000)
                ),
                "lines": {
                    p.name: sorted(p.read_bytes().splitlines())
                    for p in sorted(data_dir.rglob("*.jsonl"))
                    if p.parent.name in ("metrics", "costs")
                },
            }
        finally:
            c.close()
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(spans(), min_size=10, max_size=60), min_size=1, max_size=3))
def test_the_fast_path_writes_and_answers_what_the_model_path_does(
    batches: list[list[SpanIn]], tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Random spans, refused ones (absurd tokens, durations and costs, bad names and hosts,
    implausible times) and repeats included, and budgets crossed on the way."""
    fast = _run(tmp_path_factory.mktemp("fast"), batches, True, monkeypatch)
    slow = _run(tmp_path_factory.mktemp("slow"), batches, False, monkeypatch)
    assert fast == slow
    RECORDED.append(sum(r[0] for r in fast["results"]))


RECORDED: list[int] = []


def test_the_random_spans_above_were_mostly_recorded() -> None:
    """The comparison above is not vacuous: most random spans get written (runs after it)."""
    if not RECORDED:
        pytest.skip("the property test did not run")
    assert sum(RECORDED) > 100


def test_a_batch_crossing_budget_levels_raises_each_as_the_model_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch takes the department past 75 %, 90 % and 100 % of its budget: the same
    alerts as entry by entry, with the spend at each crossing."""
    batch = [
        SpanIn(
            trace_id=f"{1:032x}",
            span_id=f"{i:016x}",
            name="chat",
            start_ns=NOW_NS - 10**9,
            end_ns=NOW_NS - 10**6 * i,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "werkpilot.cost_usd": 9.0,
            },
            resource={"service.name": "svc", "werkpilot.department": "sales"},
        )
        for i in range(1, 9)
    ]
    fast = _run(tmp_path / "fast", [batch], True, monkeypatch)
    slow = _run(tmp_path / "slow", [batch], False, monkeypatch)
    assert fast == slow
    levels = [a[:2] for a in fast["alerts"] if a[0].startswith("budget")]
    assert [a for a in levels if a[0] != "budget_burn_rate"] == [
        ("budget_exceeded", "critical"),
        ("budget_info", "info"),
        ("budget_warning", "warning"),
    ]
    assert fast["results"] == [(8, 0, 0, 0, [])]


@settings(max_examples=100, deadline=None)
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["Sales", "sales", "ops"]),
            st.sampled_from(["m1", "m2"]),
            # few distinct times (ties), over several days and months
            st.integers(0, 6).map(lambda k: 1_764_000_000_000 + k * 11 * 86_400_000),
            st.floats(0, 1000, allow_nan=False),
            st.integers(0, 10**6),
        ),
        max_size=50,
    ),
    seen=st.integers(0, 10),
)
def test_adding_many_cost_entries_equals_adding_each(
    entries: list[tuple[str, str, str, int, float, int]], seen: int
) -> None:
    """``add_many`` folds a batch exactly as ``add`` entry by entry: every sum, the
    newest department of each agent (equal timestamps: the later entry), the count."""
    from core.costs.pricing import usd_to_nanos

    rows = [
        CostLine(ts, agent, dept, model, tok, tok // 2, 0, 0, cost)
        for agent, dept, model, ts, cost, tok in entries
    ]
    one, many = LedgerAggregates(), LedgerAggregates()
    for r in rows[:seen]:  # some history first
        one.add(r)
        many.add(r)
    for r in rows[seen:]:
        one.add(r)
    many.add_many(rows[seen:], [usd_to_nanos(r.cost) for r in rows[seen:]])
    for name in ("days", "months", "day_totals", "month_totals", "month_departments", "agents"):
        assert getattr(many, name) == getattr(one, name), name
    assert many.entries == one.entries


def test_protobuf_attributes_decode_every_value_kind_as_the_oneof_says() -> None:
    """Attributes are read by field, not ``WhichOneof``: values set to their default (an
    empty string, 0, False, 0.0) and unset ones still decode to what the sender set."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    from werkpilot_tui.service.otlp_http import decode_traces_protobuf

    values = {
        "s": AnyValue(string_value="text"),
        "s0": AnyValue(string_value=""),
        "i": AnyValue(int_value=-7),
        "i0": AnyValue(int_value=0),
        "b": AnyValue(bool_value=True),
        "b0": AnyValue(bool_value=False),
        "d": AnyValue(double_value=1.5),
        "d0": AnyValue(double_value=0.0),
        "bytes": AnyValue(bytes_value=b"\x00\x01"),
        "none": AnyValue(),
    }
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.attributes.extend(KeyValue(key=k, value=v) for k, v in values.items())
    nested = span.attributes.add(key="list")
    nested.value.array_value.values.extend([AnyValue(int_value=0), AnyValue(string_value="x")])
    kv = span.attributes.add(key="kv").value.kvlist_value.values.add(key="inner")
    kv.value.string_value = ""
    for k, v in values.items():  # the oneof as the library reports it
        assert MessageToDict(v) or k == "none"
    (decoded,) = decode_traces_protobuf(request.SerializeToString())
    assert decoded.attributes == {
        "s": "text",
        "s0": "",
        "i": -7,
        "i0": 0,
        "b": True,
        "b0": False,
        "d": 1.5,
        "d0": 0.0,
        "bytes": b"\x00\x01",
        "none": None,
        "list": [0, "x"],
        "kv": {"inner": ""},
    }
    assert type(decoded.attributes["b0"]) is bool and type(decoded.attributes["d0"]) is float


_usage_values = st.one_of(
    st.none(),
    st.integers(-5, 10**13),
    st.floats(allow_nan=True),
    st.booleans(),
    st.sampled_from(["12", ""]),
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.prompt_tokens",
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
                "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_read_input_tokens",
                "gen_ai.usage.cache_creation.input_tokens",
                "gen_ai.usage.cache_creation_input_tokens",
            ]
        ),
        _usage_values,
    )
)
def test_a_spans_usage_is_otel_usage_with_whole_floats(attrs: dict[str, Any]) -> None:
    from core.otlp.ingest import _span_usage
    from core.tracking import otel_usage

    def outcome(f: Any) -> Any:
        try:
            return f(attrs)
        except ValueError as exc:
            return str(exc)

    assert outcome(_span_usage) == outcome(lambda a: otel_usage(a, whole_floats=True))
