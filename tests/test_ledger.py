"""CostTracker: recording, reports, budgets and their alerts, forecast, many processes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.alerts.manager import AlertManager
from core.clock import day_of_ms
from core.config import load_config
from core.costs import checkpoint as ledger_checkpoint
from core.costs.ledger import CostTracker, reset_unpriced_warnings
from core.journal import sealed
from core.journal.store import Journal
from core.records import CostEntry
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent


def make(data_dir: Path, clock: FakeClock, **kwargs: object) -> CostTracker:
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    return CostTracker(data_dir, clock=clock, alert_manager=alerts, **kwargs)  # type: ignore[arg-type]


def open_budget_alerts(tracker: CostTracker) -> list[tuple[str, str, str]]:
    am = tracker.alert_manager
    am.refresh()
    return sorted(
        (a.type, a.level, a.data["department"])
        for a in am.get_alerts(limit=500, resolved=False)
        if a.type.startswith("budget") and a.type != "budget_burn_rate"  # levels only
    )


def test_track_cost_returns_the_seed_result_and_appends_one_entry(
    data_dir: Path, clock: FakeClock
) -> None:
    t = make(data_dir, clock)
    r = t.track_cost("agent-name", "sales", model="sonnet", input_tokens=500, output_tokens=300)
    assert r.model_dump(by_alias=True, mode="json") == {
        "cost": 0.006,
        "totalCostToday": 0.006,
        "totalCostThisMonth": 0.006,
        "departmentCost": 0.006,
        "departmentBudget": 500.0,
    }
    lines = (data_dir / "costs" / "ledger-2026-11-26.jsonl").read_bytes().splitlines()
    entry = CostEntry.model_validate_json(lines[0])
    assert len(lines) == 1
    assert (entry.model, entry.input_tokens, entry.output_tokens) == ("sonnet", 500, 300)
    assert (entry.cost, entry.pricing, entry.department) == (0.006, "exact", "sales")
    assert entry.pid > 0 and entry.host


def test_invalid_input_raises_naming_the_field_and_writes_nothing(
    data_dir: Path, clock: FakeClock
) -> None:
    t = make(data_dir, clock)
    for kwargs, field in [
        ({"input_tokens": -1}, "input_tokens"),
        ({"output_tokens": 1.5}, "output_tokens"),
        ({"tokens_used": 10, "input_tokens": 3}, "tokens_used"),
        ({"cost": float("nan")}, "cost"),
        ({"cost": -0.01}, "cost"),
        ({"model": ""}, "model"),
    ]:
        with pytest.raises(ValueError, match=field):
            t.track_cost("a", "sales", **{"model": "sonnet", **kwargs})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="agent"):
        t.track_cost("bad\x1b", "sales", model="sonnet")
    with pytest.raises(ValueError, match="department"):
        t.track_cost("a", "", model="sonnet")
    assert not (data_dir / "costs").exists()


def test_unpriced_model_is_recorded_at_zero_with_one_warning(
    data_dir: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    reset_unpriced_warnings()
    t = make(data_dir, clock)
    with pytest.raises(ValueError, match="gpt-4o"):
        t.calculate_cost("gpt-4o", input_tokens=10)
    with caplog.at_level(logging.WARNING, logger="core.ledger"):
        for _ in range(3):
            assert t.track_cost("a", "sales", model="gpt-4o", input_tokens=10).cost == 0.0
    assert [r.getMessage().count("gpt-4o") for r in caplog.records] == [1]
    got = [
        e.pricing for e in Journal(data_dir).reader("ledger", CostEntry.model_validate_json).poll()
    ]
    assert got == ["unpriced"] * 3


def test_pricing_marker_of_each_entry(data_dir: Path, clock: FakeClock) -> None:
    t = make(data_dir, clock)
    t.track_cost("a", "sales", model="claude-sonnet-4-5-20250929", input_tokens=1)
    t.track_cost("a", "sales", model="claude-sonnet-7", input_tokens=1)
    t.track_cost("a", "sales", model="my-model", cost=0.5)
    got = Journal(data_dir).reader("ledger", CostEntry.model_validate_json).poll()
    assert [e.pricing for e in got] == ["exact", "family", "caller"]
    assert got[2].cost == 0.5


def test_reports_have_the_seed_shapes(data_dir: Path, clock: FakeClock) -> None:
    t = make(data_dir, clock)
    t.track_cost("writer", "marketing", model="haiku", input_tokens=4000, output_tokens=800)
    t.track_cost("closer", "sales", model="opus", input_tokens=1000, output_tokens=1000)
    t.track_cost("closer", "sales", model="sonnet", tokens_used=1000)
    daily = t.get_daily_cost_report().model_dump(by_alias=True, mode="json")
    assert daily == {
        "date": "2026-11-26",
        "totalCost": pytest.approx(0.002 + 0.09 + 0.009),
        "executions": 3,
        "agents": [{"name": "closer", "cost": 0.099}, {"name": "writer", "cost": 0.002}],
        "departments": [{"name": "sales", "cost": 0.099}, {"name": "marketing", "cost": 0.002}],
    }
    agent = t.get_agent_cost("closer")
    assert agent is not None
    assert agent.model_dump(by_alias=True, mode="json") == {
        "name": "closer",
        "department": "sales",
        "totalCost": 0.099,
        "totalInputTokens": 1500,
        "totalOutputTokens": 1500,
        "executions": 2,
        "modelUsage": {
            "opus": {"cost": 0.09, "executions": 1},
            "sonnet": {"cost": 0.009, "executions": 1},
        },
        "lastUsed": int(clock.now.timestamp() * 1000),
    }
    assert t.get_agent_cost("nobody") is None
    dept = t.get_department_cost("sales").model_dump(by_alias=True, mode="json")
    assert set(dept) == {"name", "totalCost", "budget", "budgetUsed", "agents"}
    assert (dept["totalCost"], dept["budget"]) == (0.099, 500.0)
    assert dept["budgetUsed"] == pytest.approx(0.0198)
    assert [a["name"] for a in dept["agents"]] == ["closer"]
    monthly = t.get_monthly_cost_report().model_dump(by_alias=True, mode="json")
    assert monthly["month"] == "2026-11" and monthly["executions"] == 3
    assert {d["name"]: d["budget"] for d in monthly["departments"]} == {
        "sales": 500.0,
        "marketing": 300.0,
        "operations": 200.0,
        "support": 150.0,
    }
    assert monthly["departments"][0] == {
        "name": "sales",
        "cost": 0.099,
        "budget": 500.0,
        "budgetUsed": pytest.approx(0.0198),
    }
    weekly = t.get_weekly_cost_report().model_dump(by_alias=True, mode="json")
    assert weekly == {"week": "2026-W48", "totalCost": pytest.approx(0.101), "executions": 3}
    everything = t.get_all_costs().model_dump(by_alias=True, mode="json")
    assert set(everything) == {
        "agents",
        "departments",
        "daily",
        "weekly",
        "monthly",
        "optimizations",
    }
    assert everything["daily"] == daily and everything["weekly"] == weekly


def test_budgets_defaults_env_and_config(data_dir: Path, clock: FakeClock, tmp_path: Path) -> None:
    t = make(data_dir, clock)
    for dept, budget in [
        ("sales", 500),
        ("marketing", 300),
        ("operations", 200),
        ("support", 150),
        ("research", 100),
    ]:
        assert t.get_department_cost(dept).budget == budget
    cfg = tmp_path / "werkpilot.toml"
    cfg.write_text("[budgets]\nsupport = 175\ndefault = 50\n")
    config = load_config(cfg, env={"SALES_BUDGET": "650", "LEGAL_BUDGET": "80"})
    t2 = make(data_dir, clock, config=config)
    got = {d: t2.get_department_cost(d).budget for d in ("sales", "support", "legal", "research")}
    assert got == {"sales": 650, "support": 175, "legal": 80, "research": 50}


def test_set_department_budget_is_seen_by_another_tracker(data_dir: Path, clock: FakeClock) -> None:
    a, b = make(data_dir, clock), make(data_dir, clock)
    b.track_cost("x", "sales", model="sonnet", cost=60.0)
    assert b.get_department_cost("sales").budget == 500
    a.set_department_budget("sales", 600)
    assert b.get_department_cost("sales").budget == 600
    assert b.get_department_cost("sales").budget_used == pytest.approx(10.0)
    assert "sales = 600.0" in (data_dir / "budgets.toml").read_text()
    for bad in (0, -5, float("inf"), float("nan"), "100"):
        with pytest.raises(ValueError, match=r"^amount: "):
            a.set_department_budget("sales", bad)  # type: ignore[arg-type]
    assert b.get_department_cost("sales").budget == 600


def test_budget_alerts_fire_exactly_at_75_90_100_percent(data_dir: Path, clock: FakeClock) -> None:
    t = make(data_dir, clock)  # support: $150
    t.track_cost("a", "support", model="sonnet", cost=112.49)
    assert open_budget_alerts(t) == []
    t.track_cost("a", "support", model="sonnet", cost=0.01)  # 112.50 = 75 %
    assert open_budget_alerts(t) == [("budget_info", "info", "support")]
    t.track_cost("a", "support", model="sonnet", cost=22.49)  # 134.99 < 90 %
    assert open_budget_alerts(t) == [("budget_info", "info", "support")]
    t.track_cost("a", "support", model="sonnet", cost=0.01)  # 135.00 = 90 %
    assert ("budget_warning", "warning", "support") in open_budget_alerts(t)
    t.track_cost("a", "support", model="sonnet", cost=14.999999999)
    assert ("budget_exceeded", "critical", "support") not in open_budget_alerts(t)
    t.track_cost("a", "support", model="sonnet", cost=0.000000001)  # 150.00 = 100 %
    assert open_budget_alerts(t) == [
        ("budget_exceeded", "critical", "support"),
        ("budget_info", "info", "support"),
        ("budget_warning", "warning", "support"),
    ]
    alert = t.alert_manager.get_alerts(type="budget_exceeded")[0]
    assert alert.data == {
        "department": "support",
        "spent": 150.0,
        "budget": 150.0,
        "percentage": 100.0,
    }
    # repeats update the open alert instead of adding new ones
    t.track_cost("a", "support", model="sonnet", cost=1.0)
    again = t.alert_manager.get_alerts(type="budget_exceeded")
    assert len(again) == 1 and again[0].count == 2 and again[0].data["spent"] == 151.0
    # a budget edit takes the department back under 90 %: warning and critical resolve
    t.set_department_budget("support", 190)  # 151 / 190 = 79.5 %
    assert open_budget_alerts(t) == [("budget_info", "info", "support")]


def test_check_budgets_resolves_when_a_new_month_starts(data_dir: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    t = make(data_dir, clock)
    t.track_cost("a", "operations", model="opus", cost=190.0)
    assert open_budget_alerts(t) == [("budget_warning", "warning", "operations")]
    forecasts = {f.department: f for f in t.check_budgets()}
    assert forecasts["operations"].level == "warning"
    clock.advance(hours=1)  # 2026-12-01T00:00Z
    forecasts = {f.department: f for f in make(data_dir, clock).check_budgets()}
    assert forecasts["operations"].spent == 0 and forecasts["operations"].level is None
    assert open_budget_alerts(t) == []


def test_month_and_day_boundaries_with_an_injected_clock(data_dir: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 23, 59, 59, 999_000, tzinfo=UTC))
    t = make(data_dir, clock)
    last = t.track_cost("a", "sales", model="sonnet", cost=1.0)
    assert (last.total_cost_today, last.total_cost_this_month, last.department_cost) == (1, 1, 1)
    clock.advance(milliseconds=1)
    first = t.track_cost("a", "sales", model="sonnet", cost=2.0)
    assert (first.total_cost_today, first.total_cost_this_month, first.department_cost) == (2, 2, 2)
    assert t.get_monthly_cost_report("2026-11").total_cost == 1.0
    assert t.get_monthly_cost_report("2026-12").total_cost == 2.0
    assert t.get_monthly_cost_report().month == "2026-12"
    assert t.get_daily_cost_report("2026-11-30").total_cost == 1.0
    assert t.get_daily_cost_report(date(2026, 12, 1)).total_cost == 2.0
    assert t.get_agent_cost("a").total_cost == 3.0  # type: ignore[union-attr]
    names = sorted(p.name for p in (data_dir / "costs").glob("ledger-*"))
    assert names == ["ledger-2026-11-30.jsonl", "ledger-2026-12-01.jsonl"]


def test_iso_week_boundaries(data_dir: Path, clock: FakeClock) -> None:
    clock.now = datetime(2027, 1, 5, tzinfo=UTC)  # timestamps are not in the future
    t = make(data_dir, clock)
    for day, cost in [
        ("2026-12-27", 1.0),  # Sunday of 2026-W52
        ("2026-12-28", 2.0),  # Monday of 2026-W53 (2026 has 53 ISO weeks)
        ("2027-01-03", 4.0),  # Sunday, still 2026-W53
        ("2027-01-04", 8.0),  # Monday of 2027-W01
    ]:
        ts = datetime.fromisoformat(day + "T12:00:00+00:00")
        t.track_cost("a", "sales", model="sonnet", cost=cost, timestamp=ts)
    weeks = {
        w: t.get_weekly_cost_report(w).total_cost for w in ("2026-W52", "2026-W53", "2027-W01")
    }
    assert weeks == {"2026-W52": 1.0, "2026-W53": 6.0, "2027-W01": 8.0}
    assert t.get_weekly_cost_report(date(2027, 1, 3)).week == "2026-W53"
    for bad in ("2026-53", "2025-W53", "2026-W00", "W01"):
        with pytest.raises(ValueError, match="week"):
            t.get_weekly_cost_report(bad)


def test_money_sums_exactly_over_many_small_entries(data_dir: Path, clock: FakeClock) -> None:
    j = Journal(data_dir)
    ts = int(clock.now.timestamp() * 1000)
    line = CostEntry(
        timestamp=ts, agent="a", department="sales", model="haiku", cost=0.000003, pricing="caller"
    ).to_json_line()
    path = j.path_for("ledger", clock.now.date())
    path.parent.mkdir(parents=True)
    path.write_bytes(line * 100_000)
    floats = 0.0
    for _ in range(100_000):
        floats += 0.000003
    assert floats != 0.3  # what a float sum would report
    t = make(data_dir, clock)
    assert t.get_daily_cost_report().total_cost == 0.3
    assert t.get_daily_cost_report().executions == 100_000
    r = t.track_cost("a", "sales", model="haiku", cost=0.000003)
    assert r.total_cost_today == 0.300003 and r.department_cost == 0.300003


def test_interleaved_writers_in_one_process_are_counted_once(
    data_dir: Path, clock: FakeClock
) -> None:
    a, b = make(data_dir, clock), make(data_dir, clock)
    for i in range(50):
        (a if i % 3 else b).track_cost(f"agent-{i % 4}", "sales", model="haiku", cost=0.01)
    for t in (a, b, make(data_dir, clock)):
        assert t.get_daily_cost_report().executions == 50
        assert t.get_daily_cost_report().total_cost == 0.5
        assert t.entries == 50


_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    sys.path.insert(0, {root!r})
    from core.costs.ledger import CostTracker
    from core.alerts.manager import AlertManager
    clock = lambda: datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    data_dir, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    t = CostTracker(data_dir, clock=clock, alert_manager=alerts)
    for i in range(n):
        t.track_cost(f"agent-{{worker}}", "ops", model="claude-3-5-haiku-20241022",
                     input_tokens=100 + i, output_tokens=7, cache_read_tokens=i % 5)
    """
)


def test_four_processes_track_cost_concurrently(data_dir: Path, clock: FakeClock) -> None:
    n = 400
    script = _WRITER.format(root=str(ROOT))
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(data_dir), str(w), str(n)])
        for w in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    # claude-3-5-haiku: 0.80 / 4.00 / 0.08 per 1M = 800 / 4000 / 80 nano-dollars per token
    per_worker = sum((100 + i) * 800 + 7 * 4000 + (i % 5) * 80 for i in range(n))
    fresh = make(data_dir, clock)
    daily = fresh.get_daily_cost_report()
    assert daily.executions == 4 * n
    assert round(daily.total_cost * 1e9) == 4 * per_worker
    assert [(a.name, a.cost) for a in daily.agents] == [
        (f"agent-{w}", per_worker / 1e9) for w in range(4)
    ]
    assert fresh.journal.problem_count == 0


def test_optimizations_follow_the_seed_rules(data_dir: Path, clock: FakeClock) -> None:
    t = make(data_dir, clock)
    for _ in range(101):  # more than 100 opus executions
        t.track_cost(
            "heavy", "sales", model="claude-opus-4-1", input_tokens=1000, output_tokens=100
        )
    for _ in range(100):  # exactly 100: no suggestion
        t.track_cost("borderline", "sales", model="opus", input_tokens=1000)
    for _ in range(10):  # sonnet averaging $0.00096 < $0.001
        t.track_cost("chatty", "support", model="sonnet", input_tokens=100, output_tokens=44)
    t.track_cost(
        "pricey", "support", model="sonnet", input_tokens=100, output_tokens=47
    )  # $0.001005
    got = t.get_cost_optimizations()
    assert [(o.agent, o.current_model, o.suggested_model) for o in got] == [
        ("heavy", "claude-opus-4-1", "sonnet"),
        ("chatty", "sonnet", "haiku"),
    ]
    heavy, chatty = (o.model_dump(by_alias=True, mode="json") for o in got)
    assert heavy["currentCost"] == pytest.approx(101 * 0.0225)
    assert heavy["potentialSavings"] == pytest.approx(101 * 0.0225 * 0.8)
    assert heavy["executions"] == 101 and heavy["type"] == "model_downgrade"
    assert chatty["potentialSavings"] == pytest.approx(10 * 0.00096 * 0.7)
    assert set(heavy) == {
        "agent",
        "type",
        "message",
        "currentModel",
        "suggestedModel",
        "currentCost",
        "potentialSavings",
        "executions",
    }


def test_generate_daily_cost_report_writes_the_seed_document(
    data_dir: Path, clock: FakeClock
) -> None:
    t = make(data_dir, clock)
    yesterday = int(clock.now.timestamp() * 1000) - 86_400_000
    t.track_cost("a", "sales", model="sonnet", cost=2.0, timestamp=yesterday)
    for i in range(12):
        t.track_cost(
            f"agent-{i:02d}", "sales" if i % 2 else "support", model="haiku", cost=0.25 * (i + 1)
        )
    report = t.generate_daily_cost_report()
    doc = json.loads((data_dir / "costs" / "daily-cost-2026-11-26.json").read_text())
    assert doc == report.model_dump(by_alias=True, mode="json")
    assert doc["date"] == "2026-11-26"
    assert doc["summary"] == {
        "totalCost": 19.5,
        "executions": 12,
        "avgCostPerExecution": 1.625,
        "changeFromYesterday": 17.5,
        "changePercentage": 875.0,
    }
    assert [a["name"] for a in doc["topAgents"]] == [f"agent-{i:02d}" for i in range(11, 1, -1)]
    assert doc["departments"] == [{"name": "sales", "cost": 10.5}, {"name": "support", "cost": 9.0}]
    assert doc["optimizations"] == []
    assert t.generate_daily_cost_report("2026-11-25").summary.change_percentage == 0.0


def test_budget_forecast_with_an_injected_clock(data_dir: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 11, 0, 0, tzinfo=UTC))  # 10 of 30 days elapsed
    t = make(data_dir, clock)
    t.track_cost("a", "sales", model="sonnet", cost=250.0)  # $25/day against $500
    t.track_cost("a", "marketing", model="sonnet", cost=50.0)  # $5/day against $300
    f = {x.department: x for x in t.get_budget_forecast()}
    assert set(f) == {"sales", "marketing", "operations", "support"}
    sales = f["sales"].model_dump(by_alias=True, mode="json")
    assert sales == {
        "department": "sales",
        "spent": 250.0,
        "budget": 500.0,
        "budgetUsed": 50.0,
        "projected": 750.0,
        "projectedUsed": 150.0,
        "runOutDate": "2026-11-21",
        "level": None,
    }
    assert (f["marketing"].projected, f["marketing"].run_out_date) == (150.0, None)
    assert (f["support"].projected, f["support"].run_out_date, f["support"].level) == (
        0,
        None,
        None,
    )
    t.track_cost("a", "sales", model="sonnet", cost=250.0)
    over = next(x for x in t.get_budget_forecast() if x.department == "sales")
    assert (over.run_out_date, over.level, over.budget_used) == (
        date(2026, 11, 11),
        "critical",
        100.0,
    )


def test_forecast_in_the_first_hours_of_a_month_uses_at_least_a_day(data_dir: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
    t = make(data_dir, clock)
    t.track_cost("a", "support", model="sonnet", cost=3.0)  # $3 in the first hour
    f = next(x for x in t.get_budget_forecast() if x.department == "support")
    # run rate $3/day (not $72/day): 3 + 3 x 29 23/24 days left = 92.875
    assert f.projected == pytest.approx(92.875)
    assert f.run_out_date is None


def test_checkpoint_is_used_and_then_only_new_lines_are_read(
    data_dir: Path, clock: FakeClock
) -> None:
    t = make(data_dir, clock, checkpoint_every=1)
    for i in range(5):
        t.track_cost(f"a{i % 2}", "sales", model="haiku", cost=1.0)
    t.close()
    cp = data_dir / "costs" / ".checkpoint-ledger.json"
    doc = json.loads(bytes(sealed.unseal(cp.read_bytes(), "ledger", ledger_checkpoint.VERSION)))
    assert doc["entries"] == 5
    # Forge the checkpoint's sums (offsets untouched) and seal them again: a tracker that uses
    # it reports them (a forged file that does not verify is discarded: see test_checkpoints).
    for row in doc["cells"]:
        row[4] *= 10
    cp.write_bytes(sealed.seal("ledger", ledger_checkpoint.VERSION, json.dumps(doc).encode()))
    make(data_dir, clock).track_cost("a0", "sales", model="haiku", cost=1.0)  # one new line
    fresh = make(data_dir, clock)
    assert fresh.get_daily_cost_report().total_cost == 51.0  # 5 x 10 forged + 1 read
    assert fresh.get_daily_cost_report().executions == 6


def test_a_writer_that_read_a_big_month_leaves_a_checkpoint(
    data_dir: Path, clock: FakeClock
) -> None:
    j = Journal(data_dir)
    ts = int(clock.now.timestamp() * 1000)
    for _ in range(30):
        j.append("ledger", CostEntry(timestamp=ts, agent="a", department="x", model="m", cost=1.0))
    writer = make(data_dir, clock, checkpoint_every=20)
    writer.track_cost("a", "x", model="haiku", cost=1.0)  # reads this month: 30 entries
    blob = (data_dir / "costs" / ".checkpoint-ledger.json").read_bytes()
    doc = json.loads(bytes(sealed.unseal(blob, "ledger", ledger_checkpoint.VERSION)))
    assert doc["entries"] == 30
    assert make(data_dir, clock).get_department_cost("x").total_cost == 31.0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "vanished", "version"])
def test_a_corrupt_or_stale_checkpoint_is_ignored(
    data_dir: Path, clock: FakeClock, damage: str
) -> None:
    t = make(data_dir, clock, checkpoint_every=1)
    yesterday = int(clock.now.timestamp() * 1000) - 86_400_000
    t.track_cost("a", "sales", model="haiku", cost=2.0, timestamp=yesterday)
    for _ in range(3):
        t.track_cost("a", "sales", model="haiku", cost=1.0)
    t.close()
    cp = data_dir / "costs" / ".checkpoint-ledger.json"
    today_file = data_dir / "costs" / "ledger-2026-11-26.jsonl"
    if damage == "garbage":
        cp.write_bytes(b"\x00not json")
    elif damage == "truncated":  # a covered file shrank: keep only its first line
        today_file.write_bytes(today_file.read_bytes().splitlines(keepends=True)[0])
    elif damage == "vanished":
        (data_dir / "costs" / "ledger-2026-11-25.jsonl").unlink()
    else:
        cp.write_bytes(cp.read_bytes().replace(b'"version":1', b'"version":99'))
    fresh = make(data_dir, clock)
    expected = {"garbage": 5.0, "truncated": 3.0, "vanished": 3.0, "version": 5.0}[damage]
    assert fresh.get_agent_cost("a").total_cost == expected  # type: ignore[union-attr]


_T0 = int(datetime(2026, 10, 20, tzinfo=UTC).timestamp() * 1000)
_entries = st.lists(
    st.tuples(
        st.integers(0, 50 * 86_400_000),  # offset from 2026-10-20: spans Oct, Nov, Dec
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["sales", "Sales", "ops"]),
        st.sampled_from(["opus", "sonnet", "claude-3-5-haiku"]),
        st.integers(0, 5_000_000_000),  # nano-dollars
    ),
    max_size=60,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=_entries, query_day=st.integers(0, 50))
def test_reports_equal_a_brute_force_recount(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple], query_day: int
) -> None:
    data_dir = tmp_path_factory.mktemp("prop")
    day = date(2026, 10, 20) + timedelta(days=query_day)
    clock = FakeClock(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
    writer = make(data_dir, FakeClock(datetime(2026, 12, 10, tzinfo=UTC)))  # after every entry
    for off, agent, dept, model, nanos in entries:
        writer.track_cost(agent, dept, model=model, cost=nanos / 1e9, timestamp=_T0 + off)
    t = make(data_dir, clock)

    def recount(keep: Callable[[int, str, str], bool]) -> tuple[int, int]:
        picked = [n for off, a, d, _m, n in entries if keep(_T0 + off, a, d.lower())]
        return sum(picked), len(picked)

    def usd(nanos: int) -> float:
        return nanos / 1e9

    nanos, n = recount(lambda ts, a, d: day_of_ms(ts) == day)
    daily = t.get_daily_cost_report(day)
    assert (daily.total_cost, daily.executions) == (usd(nanos), n)
    for agent in ("a", "b", "c"):
        nanos, n = recount(lambda ts, a, d, agent=agent: a == agent)
        got = t.get_agent_cost(agent)
        assert ((got.total_cost, got.executions) if got else (0.0, 0)) == (usd(nanos), n)
    y, w, _ = day.isocalendar()
    nanos, n = recount(lambda ts, a, d: day_of_ms(ts).isocalendar()[:2] == (y, w))
    weekly = t.get_weekly_cost_report(f"{y}-W{w:02d}")
    assert (weekly.total_cost, weekly.executions) == (usd(nanos), n)

    def in_month(ts: int) -> bool:
        d = day_of_ms(ts)
        return (d.year, d.month) == (day.year, day.month)

    nanos, n = recount(lambda ts, a, d: in_month(ts))
    monthly = t.get_monthly_cost_report(day)
    assert (monthly.total_cost, monthly.executions) == (usd(nanos), n)
    for dept in ("sales", "ops"):
        nanos, _ = recount(lambda ts, a, d, dept=dept: d == dept and in_month(ts))
        assert t.get_department_cost(dept).total_cost == usd(nanos)
        assert {m.name: m.cost for m in monthly.departments}.get(dept, 0.0) == usd(nanos)


def test_forecast_pure_edges() -> None:
    from core.costs.forecast import forecast, month_bounds_ms

    dec = datetime(2026, 12, 31, 12, tzinfo=UTC)
    start, end = month_bounds_ms(dec)
    assert (start, end) == (
        int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1000),
        int(datetime(2027, 1, 1, tzinfo=UTC).timestamp() * 1000),
    )
    # 30.5 of 31 days gone, $61 spent: $2/day, half a day left -> $62; budget $62 is reached
    # exactly at the month's end, which is not within the month
    f = forecast("d", 61 * 10**9, 62.0, dec)
    assert (f.projected, f.run_out_date) == (62.0, None)
    f = forecast("d", 61 * 10**9, 61.5, dec)
    assert f.run_out_date == date(2026, 12, 31)
    feb = forecast("d", 14 * 10**9, 100.0, datetime(2027, 2, 15, tzinfo=UTC))  # $1/day, 28 days
    assert (feb.projected, feb.level) == (28.0, None)
    assert feb.projected_used == pytest.approx(28.0)
    assert forecast("d", 75 * 10**9, 100.0, dec).level == "info"
    assert forecast("d", 0, 100.0, dec).run_out_date is None
