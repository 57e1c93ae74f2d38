"""core.track: context manager and decorator write one execution and one cost entry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import core
from core.alerts.manager import AlertManager
from core.costs.ledger import CostTracker
from core.journal.store import Journal
from core.monitor.performance import PerformanceMonitor
from core.records import CostEntry, Execution
from core.tracking import current_run, normalise_usage, track
from tests.conftest import FakeClock


@pytest.fixture
def parts(data_dir: Path, clock: FakeClock) -> dict[str, Any]:
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    return {
        "monitor": PerformanceMonitor(data_dir, clock=clock, alert_manager=alerts),
        "tracker": CostTracker(data_dir, clock=clock, alert_manager=alerts),
        "clock": clock,
    }


def written(data_dir: Path) -> tuple[list[Execution], list[CostEntry]]:
    j = Journal(data_dir)
    return (
        j.reader("executions", Execution.model_validate_json).poll(),
        j.reader("ledger", CostEntry.model_validate_json).poll(),
    )


def test_context_manager_writes_one_execution_and_one_cost_entry(
    data_dir: Path, parts: dict[str, Any]
) -> None:
    with track("agent-name", department="sales", model="claude-sonnet-4-5", **parts) as run:
        run.record_usage(input_tokens=500, output_tokens=300)
        run.record_api_call()
    (ex,), (entry,) = written(data_dir)
    assert (ex.agent, ex.status, ex.model, ex.department) == (
        "agent-name",
        "completed",
        "claude-sonnet-4-5",
        "sales",
    )
    assert (ex.tokens_used, ex.input_tokens, ex.output_tokens, ex.api_calls) == (800, 500, 300, 2)
    assert ex.duration >= 0 and ex.cpu_time >= 0 and ex.error is None
    assert ex.cost == entry.cost == run.cost == 0.006
    assert (entry.agent, entry.department, entry.pricing) == ("agent-name", "sales", "exact")
    assert ex.timestamp == entry.timestamp == int(parts["clock"].now.timestamp() * 1000)
    # the two money streams agree for instrumented agents
    metrics = parts["monitor"].get_agent_metrics("agent-name")
    assert metrics.total_cost == parts["tracker"].get_agent_cost("agent-name").total_cost


def test_error_is_recorded_and_re_raised(data_dir: Path, parts: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with track("fragile", model="haiku", **parts) as run:
            run.record_usage(input_tokens=10, output_tokens=10)
            raise RuntimeError("boom")
    (ex,), (entry,) = written(data_dir)
    assert (ex.status, ex.error) == ("error", "RuntimeError: boom")
    assert entry.department == "default" and entry.cost == ex.cost == 0.000015
    assert run.status == "error"


ANTHROPIC = SimpleNamespace(
    input_tokens=100,
    output_tokens=50,
    cache_read_input_tokens=1000,
    cache_creation_input_tokens=200,
)
OTEL = {
    "gen_ai.usage.input_tokens": 1300,  # includes the cache tokens
    "gen_ai.usage.output_tokens": 50,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_creation.input_tokens": 200,
}
OPENAI = {
    "prompt_tokens": 1100,
    "completion_tokens": 50,
    "prompt_tokens_details": {"cached_tokens": 1000},
}


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (ANTHROPIC, (100, 50, 1000, 200)),
        (
            {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": None},
            (100, 50, 0, 0),
        ),
        (OTEL, (100, 50, 1000, 200)),
        (OPENAI, (100, 50, 1000, 0)),
        (
            SimpleNamespace(
                input_tokens=1100,
                output_tokens=50,
                input_tokens_details=SimpleNamespace(cached_tokens=1000),
            ),
            (100, 50, 1000, 0),
        ),
    ],
)
def test_usage_shapes_are_normalised_once(usage: object, expected: tuple[int, ...]) -> None:
    assert normalise_usage(usage) == expected


def test_bad_usage_is_rejected() -> None:
    with pytest.raises(ValueError, match="input_tokens"):
        normalise_usage({"gen_ai.usage.input_tokens": 5, "gen_ai.usage.cache_read.input_tokens": 9})
    with pytest.raises(ValueError, match="output_tokens"):
        normalise_usage({"input_tokens": 1, "output_tokens": -1})


@pytest.mark.parametrize("usage", [ANTHROPIC, OTEL])
def test_usage_objects_price_cache_tokens(
    data_dir: Path, parts: dict[str, Any], usage: object
) -> None:
    with track("cached", department="support", model="claude-sonnet-4-5", **parts) as run:
        run.record_usage(usage)
    (ex,), (entry,) = written(data_dir)
    # 100 x 3 + 50 x 15 + 1000 x 0.30 + 200 x 3.75 per 1M
    assert ex.cost == entry.cost == 0.0021
    assert ex.tokens_used == 1350 == entry.total_tokens
    assert (entry.cache_read_tokens, entry.cache_write_tokens) == (1000, 200)


def test_model_from_usage_and_one_model_per_run(data_dir: Path, parts: dict[str, Any]) -> None:
    with track("late-model", **parts) as run:
        run.record_usage(input_tokens=1000, model="opus")
        with pytest.raises(ValueError, match="model"):
            run.record_usage(input_tokens=1, model="haiku")
    (ex,), (entry,) = written(data_dir)
    assert ex.model == entry.model == "opus" and entry.cost == 0.015


def test_sync_decorator_measures_each_call(data_dir: Path, parts: dict[str, Any]) -> None:
    @track("decorated", department="ops", model="haiku", **parts)
    def work(x: int) -> int:
        run = current_run()
        assert run is not None
        run.record_usage(input_tokens=x, output_tokens=x)
        return 2 * x

    assert work(1000) == 2000
    assert work(4000) == 8000
    assert current_run() is None
    executions, entries = written(data_dir)
    assert [e.tokens_used for e in executions] == [2000, 8000]
    assert [e.cost for e in entries] == [0.0015, 0.006]
    assert [e.cost for e in executions] == [0.0015, 0.006]
    assert work.__name__ == "work"


async def test_async_decorator_and_error(data_dir: Path, parts: dict[str, Any]) -> None:
    @track("async-agent", model="sonnet", **parts)
    async def work(fail: bool) -> str:
        await asyncio.sleep(0)
        current_run().record_usage(input_tokens=500, output_tokens=300)  # type: ignore[union-attr]
        if fail:
            raise ValueError("bad answer")
        return "ok"

    assert await work(False) == "ok"
    with pytest.raises(ValueError, match="bad answer"):
        await work(True)
    executions, entries = written(data_dir)
    assert [(e.status, e.error) for e in executions] == [
        ("completed", None),
        ("error", "ValueError: bad answer"),
    ]
    assert [e.cost for e in entries] == [0.006, 0.006]


async def test_async_context_manager(data_dir: Path, parts: dict[str, Any]) -> None:
    async with track("async-with", model="haiku", **parts) as run:
        run.record_usage(input_tokens=4)
    (ex,), (_entry,) = written(data_dir)
    assert ex.agent == "async-with" and ex.api_calls == 1


def test_memory_delta_sees_memory_held_by_the_run(data_dir: Path, parts: dict[str, Any]) -> None:
    with track("hungry", model="haiku", **parts) as run:
        held = b"x" * 64_000_000  # written pages are resident
    assert len(held) == 64_000_000
    assert run.memory_delta > 32_000_000
    (ex,), _ = written(data_dir)
    assert ex.memory_delta == run.memory_delta


def test_no_usage_no_model_is_recorded_honestly(data_dir: Path, parts: dict[str, Any]) -> None:
    with track("bare", **parts):
        pass
    (ex,), (entry,) = written(data_dir)
    assert (entry.model, entry.pricing, entry.cost) == ("unknown", "unpriced", 0.0)
    assert ex.tokens_used == 0 and ex.api_calls == 0


def test_bad_names_fail_at_once() -> None:
    with pytest.raises(ValueError, match="agent"):
        track("")
    with pytest.raises(ValueError, match="department"):
        track("a", department="x" * 201)


def test_default_components_come_from_core(data_dir: Path) -> None:
    core.configure(data_dir=data_dir)
    try:
        with core.track("via-core", department="sales", model="haiku") as run:
            run.record_usage(input_tokens=4000, output_tokens=800)
        assert core.get_cost_tracker().get_agent_cost("via-core").total_cost == 0.002  # type: ignore[union-attr]
        assert core.get_performance_monitor().get_agent_metrics("via-core").executions == 1  # type: ignore[union-attr]
    finally:
        core.configure()
