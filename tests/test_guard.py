"""The guard before the call (core.guard, core.track): pauses, hard caps, run caps, loops,
and refusals recorded as executions with status ``refused``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import core
from core.config import ConfigError, load_config
from core.exposition import Exposition
from core.guards.loops import LoopWatch
from core.guards.refusals import refusal_kind
from core.journal.store import Journal
from core.records import CostEntry, Execution
from tests.conftest import FakeClock


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "werkpilot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _parts(c: core.Core) -> dict[str, Any]:
    return {"monitor": c.monitor, "tracker": c.tracker, "clock": c.clock}


def _executions(data: Path) -> list[Execution]:
    return Journal(data).reader("executions", Execution.model_validate_json).poll()


def _ledger_total(data: Path) -> float:
    return sum(e.cost for e in Journal(data).reader("ledger", CostEntry.model_validate_json).poll())


# ----------------------------------------------------------------- pure parts
def test_loop_watch_refuses_the_call_after_the_limit_until_the_window_slides() -> None:
    watch = LoopWatch(3, window_ns=60_000)
    assert [watch.hit("k", t) for t in (0, 1, 2)] == [0, 0, 0]
    assert watch.hit("k", 3) == 3  # the 4th within the window: refused, not counted
    assert watch.hit("other", 3) == 0
    assert watch.hit("k", 60_000) == 0  # the first call left the window
    assert watch.hit("k", 60_001) == 0  # ... and the second
    assert watch.hit("k", 60_002) == 0  # ... and the third
    assert watch.hit("k", 60_003) == 3


def test_loop_watch_forgets_the_oldest_fingerprints_beyond_its_bound() -> None:
    watch = LoopWatch(1, window_ns=10**12, max_keys=2)
    for key in ("a", "b", "c"):
        assert watch.hit(key, 1) == 0
    assert watch.hit("a", 2) == 0  # forgotten, so counted afresh
    assert watch.hit("c", 2) == 1


def test_a_refusal_pickles_with_its_fields() -> None:
    import pickle

    exc = core.BudgetExhausted("over", agent="a", department="sales", cap=1.0, spent=1.5)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is core.BudgetExhausted
    assert (back.message, back.agent, back.department, back.cap, back.spent) == (
        "over",
        "a",
        "sales",
        1.0,
        1.5,
    )
    assert back.reason == "budget_exhausted: over"


def test_refusal_kind_reads_the_recorded_reason() -> None:
    assert refusal_kind("budget_exhausted: department 'x' reached ...") == "budget_exhausted"
    assert refusal_kind("ValueError: x") == "refused"
    assert refusal_kind(None) == "refused"


def test_hard_caps_are_read_from_budgets_hard(tmp_path: Path) -> None:
    cfg = load_config(
        _config(tmp_path, "[budgets]\nsales = 50\n[budgets.hard]\nSales = 40\nops = true\n"),
        env={},
    )
    assert cfg.budgets == {"sales": 50.0}  # "hard" is no department
    assert (cfg.hard_cap_of("sales"), cfg.hard_cap_of("ops"), cfg.hard_cap_of("x")) == (
        40.0,
        True,
        False,
    )
    every = load_config(_config(tmp_path, "[budgets]\nhard = true\n"), env={})
    assert every.hard_cap_of("anything") is True
    with pytest.raises(ConfigError, match=r"budgets\.hard\.sales"):
        load_config(_config(tmp_path, '[budgets.hard]\nsales = "lots"\n'), env={})
    with pytest.raises(ConfigError, match=r"guard\.loop_max"):
        load_config(_config(tmp_path, "[guard]\nloop_max = 0\n"), env={})


# ------------------------------------------------------------- in one process
def test_a_hard_cap_refuses_once_reached_and_records_the_refusal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = _config(tmp_path, "[budgets.hard]\nsales = 0.10\n")
    with core.open(data, cfg, clock=FakeClock()) as c:
        for _ in range(4):
            with core.track("a", department="sales", **_parts(c)) as r:
                r.set_cost(0.03)
        with pytest.raises(core.BudgetExhausted) as caught:
            with core.track("a", department="Sales", **_parts(c)):
                pytest.fail("the run body must not start")
        refused = caught.value
        assert isinstance(refused, core.Refused)
        assert (refused.agent, refused.department, refused.cap) == ("a", "sales", 0.10)
        assert refused.spent == pytest.approx(0.12)
        with pytest.raises(core.BudgetExhausted):
            c.guard("b", "sales")
        c.guard("b", "marketing")  # another department: no cap
        metrics = c.monitor.get_agent_metrics("a")
        assert metrics is not None
        assert (metrics.executions, metrics.refused, metrics.errors) == (4, 1, 0)
    rows = [e for e in _executions(data) if e.status == "refused"]
    assert [(e.agent, e.department) for e in rows] == [("a", "sales"), ("b", "sales")]
    assert all(e.error and e.error.startswith("budget_exhausted: ") for e in rows)
    assert _ledger_total(data) == pytest.approx(0.12)  # a refused run writes no cost entry


def test_a_hard_cap_of_true_follows_the_monthly_budget_and_its_edits(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = _config(tmp_path, "[budgets]\nops = 0.05\n[budgets.hard]\nops = true\n")
    with core.open(data, cfg, clock=FakeClock()) as c:
        c.tracker.track_cost("a", "ops", model="m", cost=0.06)
        with pytest.raises(core.BudgetExhausted):
            c.guard("a", "ops")
        c.tracker.set_department_budget("ops", 1.0)
        c.guards._caps.clear()  # (the cap is re-read every 100 ms; not waited for here)
        c.guard("a", "ops")


def test_soft_budgets_never_refuse(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = _config(tmp_path, "[budgets]\nsales = 0.01\n")
    with core.open(data, cfg, clock=FakeClock(), channels=[]) as c:
        for _ in range(5):
            with core.track("a", department="sales", **_parts(c)) as r:
                r.guard_call()
                r.set_cost(0.05)
        c.guard("a", "sales")
        assert c.tracker.get_department_cost("sales").total_cost == pytest.approx(0.25)
        levels = {a.level for a in c.alerts.get_alerts() if "sales" in a.message.lower()}
        assert "critical" in levels  # the soft budget still alerts
    assert {e.status for e in _executions(data)} == {"completed"}


def test_a_paused_agent_is_refused_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with core.open(data, clock=FakeClock()) as c:
        c.control.pause("bot", reason="runaway", actor="ana@ops")
        with pytest.raises(core.AgentPaused) as caught:
            with core.track("bot", **_parts(c)):
                pass
        assert (caught.value.actor, caught.value.note) == ("ana@ops", "runaway")
        assert "paused by ana@ops: runaway" in str(caught.value)
        c.guard("other")
        c.control.resume("bot")
        c.guard("bot")
    (row,) = _executions(data)
    assert (row.agent, row.status, row.error) == (
        "bot",
        "refused",
        "agent_paused: agent 'bot' is paused by ana@ops: runaway",
    )


def test_a_loop_of_identical_calls_is_stopped_at_n_plus_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = _config(tmp_path, "[guard]\nloop_max = 3\nloop_window_s = 600\n")
    with core.open(data, cfg, clock=FakeClock()) as c:
        for _ in range(3):
            c.guard("a", model="m", fingerprint="h1")
        c.guard("a", model="other", fingerprint="h1")  # another model: another call
        c.guard("b", model="m", fingerprint="h1")  # another agent
        with pytest.raises(core.LoopDetected) as caught:
            c.guard("a", model="m", fingerprint="h1")
        assert (caught.value.count, caught.value.model) == (3, "m")
        # inside a run, per call: the fourth identical call of the run is refused
        with pytest.raises(core.LoopDetected):
            with core.track("c", model="m", **_parts(c)) as run:
                for _ in range(10):
                    run.guard_call("same prompt hash")
                    run.record_usage(input_tokens=1)
        assert run.api_calls == 3 and run.status == "refused"
    rows = [e for e in _executions(data) if e.status == "refused"]
    assert [(e.agent, e.api_calls) for e in rows] == [("a", 0), ("c", 3)]
    assert all(e.error and e.error.startswith("loop_detected: ") for e in rows)


def test_run_caps_refuse_the_call_past_max_calls_and_max_cost(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with core.open(data, clock=FakeClock()) as c:
        parts = _parts(c)
        with pytest.raises(core.RunCapReached) as caught:
            with core.track("calls", model="claude-haiku-4-5", max_calls=2, **parts) as run:
                for _ in range(5):
                    run.guard_call()
                    run.record_usage(input_tokens=10, output_tokens=5)
        assert (caught.value.limit, caught.value.calls, run.api_calls) == ("max_calls", 2, 2)
        with core.track("money", model="claude-sonnet-4-5", max_cost_usd=0.01, **parts) as run:
            try:
                for _ in range(100):
                    run.guard_call()
                    run.record_usage(input_tokens=1000, output_tokens=100)  # $0.0045 each
            except core.RunCapReached as exc:  # caught by the agent: still recorded refused
                assert exc.limit == "max_cost_usd" and exc.spent >= 0.01
        assert run.api_calls == 3 and run.status == "refused"
        with pytest.raises(ValueError, match="max_calls"):
            core.track("x", max_calls=0)
        with pytest.raises(ValueError, match="max_cost_usd"):
            core.track("x", max_cost_usd=-1.0)
    rows = {e.agent: e for e in _executions(data)}
    assert rows["calls"].status == rows["money"].status == "refused"
    assert rows["calls"].error == "run_cap_reached: the run made 2 model calls (max_calls=2)"
    assert rows["money"].cost == pytest.approx(0.0135)  # what it spent is still booked
    assert _ledger_total(data) == pytest.approx(rows["calls"].cost + 0.0135)


def test_the_decorator_and_the_shared_core_are_guarded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    core.configure(data, _config(tmp_path, "[guard]\nloop_max = 2\n"))
    try:
        calls = []

        @core.track("deco", fingerprint="same")
        def work() -> None:
            calls.append(1)

        work()
        work()
        with pytest.raises(core.LoopDetected):
            work()
        assert len(calls) == 2
        core.guard("free")
        with pytest.raises(core.Refused):
            for _ in range(3):
                core.guard("free", fingerprint=b"x")
    finally:
        core.configure(None)


def test_refusals_show_in_metrics_exposition_and_not_as_errors_or_durations(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    cfg = _config(tmp_path, "[guard]\nloop_max = 1\n")
    with core.open(data, cfg, clock=FakeClock()) as c:
        with core.track("a", model="m", **_parts(c)):
            pass
        c.control.pause("a")
        for _ in range(2):
            with pytest.raises(core.AgentPaused):
                c.guard("a")
        c.guard("b", fingerprint="f")
        with pytest.raises(core.LoopDetected):
            c.guard("b", fingerprint="f")
        system = c.monitor.get_system_metrics()
        assert (system.total_executions, system.total_errors) == (1, 0)
        assert system.windows["1h"].count == 1
        assert [m.refused for m in c.monitor.get_all_agent_metrics()] == [2, 1]
    expo = Exposition(Journal(data))
    expo.collect()
    text = expo.render()
    assert 'werkpilot_refusals_total{agent="a",reason="agent_paused"} 2' in text
    assert 'werkpilot_refusals_total{agent="b",reason="loop_detected"} 1' in text
    assert 'status="refused"} 2' in text
    assert 'werkpilot_execution_duration_seconds_count{agent="a"} 1' in text
    assert 'werkpilot_execution_duration_seconds_count{agent="b"}' not in text
    expo.save_checkpoint()
    again = Exposition(Journal(data))
    assert again.restored and again.refusals == expo.refusals


def test_refused_counts_survive_a_monitor_checkpoint_and_a_cold_rebuild(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with core.open(data, clock=FakeClock()) as c:
        c.monitor.track_execution("a", duration=10.0)
        c.control.pause("a")
        for _ in range(3):
            with pytest.raises(core.AgentPaused):
                c.guard("a")
        c.monitor.save_checkpoint()
        with pytest.raises(core.AgentPaused):
            c.guard("a")  # after the checkpoint: read from the journal by the next process
    with core.open(data, clock=FakeClock()) as c:  # checkpoint + tail
        m = c.monitor.get_agent_metrics("a")
        assert m is not None and (m.executions, m.refused) == (1, 4)
    for p in (data / "metrics").glob(".checkpoint-*"):
        p.unlink()
    with core.open(data, clock=FakeClock()) as c:  # cold rebuild from the journal
        m = c.monitor.get_agent_metrics("a")
        assert m is not None and (m.executions, m.refused, m.avg_duration) == (1, 4, 10.0)


def test_a_hard_capped_check_with_nothing_new_makes_no_system_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ledger append is announced in a shared word (``.locks/ledger.beacon``): the
    guard compares it instead of ``fstat``-ing the day file (a syscall is ~2 µs here, the
    whole check's budget), and still sees another writer's spend at once."""
    import os

    data = tmp_path / "data"
    cfg = _config(tmp_path, "[budgets.hard]\nsales = 1.00\n")
    clock = FakeClock()
    with core.open(data, cfg, clock=clock) as c, core.open(data, cfg, clock=clock) as other:
        c.tracker.track_cost("a", "sales", model="sonnet", cost=0.50)
        c.guard("a", "sales")  # loads the month
        c.guard("a", "sales")  # learns the beacon
        calls: list[str] = []
        for name in ("fstat", "stat", "lseek", "read", "pread"):
            real = getattr(os, name)

            def counting(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
                calls.append(_name)
                return _real(*args, **kw)

            monkeypatch.setattr(os, name, counting)
        for _ in range(50):
            c.guard("a", "sales")
        assert calls == []
        monkeypatch.undo()
        other.tracker.track_cost("b", "sales", model="sonnet", cost=0.50)  # another writer
        with pytest.raises(core.BudgetExhausted):
            c.guard("a", "sales")
