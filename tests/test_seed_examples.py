"""Every usage example of the seed's MONITORING.md, in Python, gives the seed's numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import core
from core.config import DEFAULT_BUDGETS


@pytest.fixture(autouse=True)
def _configured(data_dir: Path) -> Iterator[None]:
    core.configure(data_dir=data_dir)
    yield
    core.configure()


def test_performance_monitor_example() -> None:
    monitor = core.get_performance_monitor()
    monitor.track_execution(
        "agent-name",
        {
            "duration": 1500,
            "status": "completed",
            "tokensUsed": 1000,
            "model": "haiku",
            "cost": 0.001,
            "cpuTime": 500,
            "memoryDelta": 1024,
            "apiCalls": 2,
        },
    )
    metrics = monitor.get_agent_metrics("agent-name")
    assert metrics is not None
    assert (metrics.executions, metrics.errors, metrics.total_tokens) == (1, 0, 1000)
    assert (metrics.total_cost, metrics.avg_duration) == (0.001, 1500)
    system = monitor.get_system_metrics()
    assert (system.total_executions, system.total_cost, system.agent_count) == (1, 0.001, 1)
    exported = json.loads(monitor.export_metrics())
    assert {"system", "agents", "timestamp"} <= set(exported)
    agent = exported["agents"][0]
    assert (agent["name"], agent["totalTokens"], agent["totalCost"]) == ("agent-name", 1000, 0.001)
    assert (agent["totalCpuTime"], agent["totalMemoryDelta"], agent["totalApiCalls"]) == (
        500,
        1024,
        2,
    )


def test_cost_tracker_example(data_dir: Path) -> None:
    tracker = core.get_cost_tracker()
    # the seed: tracker.trackCost('agent-name', 'sales', {model, inputTokens, outputTokens})
    result = tracker.track_cost(
        "agent-name", "sales", {"model": "sonnet", "inputTokens": 500, "outputTokens": 300}
    )
    assert result.cost == 0.006
    same = tracker.track_cost(
        "agent-name", "sales", model="sonnet", input_tokens=500, output_tokens=300
    )
    assert same.cost == 0.006 and same.department_cost == 0.012
    daily = tracker.get_daily_cost_report()
    assert (daily.total_cost, daily.executions) == (0.012, 2)
    assert tracker.get_cost_optimizations() == []
    tracker.set_department_budget("sales", 600)
    assert tracker.get_department_cost("sales").budget == 600
    report = tracker.generate_daily_cost_report()
    assert report.summary.total_cost == 0.012
    assert (data_dir / "costs" / f"daily-cost-{report.date.isoformat()}.json").is_file()


@pytest.mark.parametrize(
    ("model", "input_price", "output_price"),
    [("haiku", 0.25, 1.25), ("sonnet", 3.00, 15.00), ("opus", 15.00, 75.00)],
)
def test_model_pricing_per_million_tokens(
    model: str, input_price: float, output_price: float
) -> None:
    tracker = core.get_cost_tracker()
    assert tracker.calculate_cost(model, input_tokens=1_000_000) == input_price
    assert tracker.calculate_cost(model, output_tokens=1_000_000) == output_price
    # only tokens_used: split 50/50
    assert tracker.calculate_cost(model, tokens_used=2_000_000) == input_price + output_price


def test_department_budgets_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_BUDGETS == {
        "sales": 500,
        "marketing": 300,
        "operations": 200,
        "support": 150,
        "default": 100,
    }
    tracker = core.get_cost_tracker()
    assert {d: tracker.get_department_cost(d).budget for d in DEFAULT_BUDGETS} == DEFAULT_BUDGETS
    monkeypatch.setenv("SALES_BUDGET", "750")
    monkeypatch.setenv("MARKETING_BUDGET", "320")
    core.configure(data_dir=core.get_cost_tracker().journal.root)
    tracker = core.get_cost_tracker()
    assert tracker.get_department_cost("sales").budget == 750
    assert tracker.get_department_cost("marketing").budget == 320


def test_alert_manager_example() -> None:
    alerts = core.get_alert_manager()
    alert = alerts.add_alert(
        level="warning",
        type="error_rate",
        message="Error rate is above threshold",
        data={"errorRate": 0.15, "threshold": 0.10},
    )
    assert alert is not None and alert.level == "warning"
    recent = alerts.get_alerts(limit=20)
    assert [a.id for a in recent] == [alert.id]
    stats = alerts.get_alert_stats("24h")
    assert (stats.total, stats.warning, stats.unacknowledged) == (1, 1, 1)
    assert alerts.acknowledge_alert(alert.id) is True
    seen: list[str] = []
    alerts.add_rule(
        name="custom_rule",
        level="critical",
        type="custom_type",
        condition=lambda a: a.data["value"] > 100,
        action=lambda a: seen.append(a.id),
    )
    hit = alerts.add_alert(level="critical", type="custom_type", message="x", data={"value": 101})
    alerts.add_alert(
        level="critical", type="custom_type", message="y", data={"value": 5, "agent": "b"}
    )
    assert hit is not None and seen == [hit.id]


def test_track_example_writes_both_streams_with_one_cost() -> None:
    with core.track("agent-name", department="sales", model="claude-sonnet-4-5") as run:
        run.record_usage(input_tokens=500, output_tokens=300)
    metrics = core.get_performance_monitor().get_agent_metrics("agent-name")
    cost = core.get_cost_tracker().get_agent_cost("agent-name")
    assert metrics is not None and cost is not None
    assert metrics.total_cost == cost.total_cost == 0.006
    assert metrics.total_tokens == 800
