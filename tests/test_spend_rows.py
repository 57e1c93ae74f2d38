"""Every agent with spend this month has a row; the two cost streams are told apart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from app_support import app_for, loaded, seed, wait_for
from textual.widgets import Static

from core.costs.ledger import CostTracker
from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.screens.agent_detail import AgentDetailScreen
from werkpilot_tui.console.widgets.agent_table import AgentTable


def test_month_costs_include_agents_without_executions(data_dir: Path, clock: Any) -> None:
    tracker = CostTracker(data_dir, clock=clock)
    tracker.track_cost("nightly", "sales", model="m", cost=4.0)
    tracker.track_cost("nightly", "ops", model="m", cost=1.0)  # mostly sales
    tracker.track_cost("old", "sales", model="m", cost=9.0, timestamp=clock() - timedelta(days=40))
    tracker.track_cost("other", "ops", model="m", cost=2.0)
    costs = tracker.get_agent_month_costs()
    tracker.close()
    assert [(c.name, c.department, c.total_cost, c.executions) for c in costs] == [
        ("nightly", "sales", 5.0, 2),
        ("other", "ops", 2.0, 1),
    ]


async def test_ledger_only_agents_have_a_row_with_their_month_spend(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)  # sales-batch etc.: track_cost only, $300 of sales' $500
    async with app_for(data_dir, clock).run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        assert {"sales-batch", "marketing-batch", "support-batch"} <= set(agents.row_keys)
        row = [c.plain for c in agents.get_row("sales-batch")]
        assert row[1] == "sales" and row[3] == "ledger/month" and row[6] == "$300"
        assert agents.row_keys[0] == "sales-batch"  # sorted by cost: the biggest spend on top
        agents.focus()
        agents.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        summary = app.screen.query_one("#summary", Static)
        await wait_for(pilot, lambda: "ledger $300" in str(summary.render()))
        text = str(summary.render())
        assert "0 runs" in text and "cost $0.00" in text and "$300 this month" in text


async def test_detail_tells_execution_cost_from_ledger_cost(data_dir: Path, clock: Any) -> None:
    monitor = PerformanceMonitor(data_dir, clock=clock)
    tracker = CostTracker(data_dir, clock=clock)
    monitor.track_execution("writer", duration=10, cost=0.01, department="sales")
    tracker.track_cost("writer", "sales", model="m", cost=0.02)
    monitor.close()
    tracker.close()
    async with app_for(data_dir, clock).run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        agents = app.screen.query_one("#agents", AgentTable)
        assert agents.row_keys == ["writer"]  # one row: the ledger adds no second one
        agents.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        summary = app.screen.query_one("#summary", Static)
        await wait_for(pilot, lambda: "ledger" in str(summary.render()))
        text = str(summary.render())
        assert "cost $0.01 · ledger $0.02" in text
        assert "track_cost" in text and "budgets count" in text
