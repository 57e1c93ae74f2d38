"""AlertManager: the seed's example, dedup on the condition, acknowledgement, resolution,
escalation with an injected clock, rules, silences, statistics, retention, and the pure fold."""

from __future__ import annotations

import logging
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.alerts.channels import Reason
from core.alerts.manager import AlertManager
from core.alerts.state import Alert, AlertBook, fingerprint
from core.clock import to_ms
from core.config import Config
from core.journal.store import Journal
from core.records import AlertEvent
from tests.conftest import FakeClock


class RecordingChannel:
    """A background channel that keeps what it was asked to send."""

    name = "recording"
    retries = 0

    def __init__(self, reasons: tuple[Reason, ...] = ("raised", "reminder")) -> None:
        self.reasons = reasons
        self.sent: list[tuple[str, Reason]] = []

    def accepts(self, alert: Alert, reason: Reason) -> bool:
        return alert.level == "critical" and reason in self.reasons

    def send(self, alert: Alert, reason: Reason) -> None:
        self.sent.append((alert.id, reason))


@pytest.fixture
def manager(data_dir: Path, clock: FakeClock) -> AlertManager:
    m = AlertManager(data_dir, clock=clock)
    yield m
    m.close()


def _events(data_dir: Path) -> list[AlertEvent]:
    reader = Journal(data_dir).reader("alerts", AlertEvent.model_validate_json)
    return reader.poll()


# ------------------------------------------------------------------- the seed's usage
def test_seed_usage_example_as_written_in_python(data_dir: Path, clock: FakeClock) -> None:
    import core

    core.configure(data_dir=data_dir)
    try:
        alerts = core.get_alert_manager()
        alerts.clock = clock
        seen: list[Alert] = []
        added = alerts.add_alert(
            {
                "level": "warning",
                "type": "error_rate",
                "message": "Error rate is above threshold",
                "data": {"errorRate": 0.15, "threshold": 0.10},
            }
        )
        assert added is not None
        recent = alerts.get_alerts({"limit": 20})
        assert [a.id for a in recent] == [added.id]
        assert alerts.get_alerts(limit=20) == recent
        stats = alerts.get_alert_stats("24h")
        assert stats.model_dump(by_alias=True) == {
            "total": 1,
            "info": 0,
            "warning": 1,
            "critical": 0,
            "unacknowledged": 1,
            "byType": {"error_rate": 1},
            "deliveryFailures": 0,
        }
        assert alerts.acknowledge_alert(added.id) is True
        alerts.add_rule(
            {
                "name": "custom_rule",
                "level": "critical",
                "type": "custom_type",
                "condition": lambda alert: alert.data["value"] > 100,
                "action": seen.append,
            }
        )
        alerts.add_alert(level="critical", type="custom_type", message="m", data={"value": 101})
        assert [a.data["value"] for a in seen] == [101]
        dumped = recent[0].model_dump(by_alias=True, mode="json")
        assert list(dumped) == [
            "id",
            "timestamp",
            "level",
            "type",
            "message",
            "data",
            "acknowledged",
            "acknowledgedAt",
            "escalated",
            "escalatedFrom",
            "fingerprint",
            "count",
            "lastSeen",
            "resolved",
            "resolvedAt",
        ]
    finally:
        core.configure()


# -------------------------------------------------------------------------- dedup
def test_hundred_repeats_with_changing_numbers_make_one_alert_with_count_100(
    manager: AlertManager, clock: FakeClock
) -> None:
    first = manager.add_alert(
        "warning", "error_rate", "Error rate is 15.0%", {"agent": "a", "errorRate": 0.150}
    )
    assert first is not None
    for i in range(1, 100):
        clock.advance(seconds=10)
        rate = 0.150 + i / 1000
        again = manager.add_alert(
            "warning", "error_rate", f"Error rate is {rate:.1%}", {"agent": "a", "errorRate": rate}
        )
        assert again is None
    (alert,) = manager.get_alerts(limit=500)
    assert alert.id == first.id
    assert alert.count == 100
    assert alert.message == "Error rate is 24.9%"
    assert alert.data["errorRate"] == pytest.approx(0.249)
    assert alert.last_seen == to_ms(clock()) > alert.timestamp
    # Another subject, or another level of the same subject, is another condition.
    assert manager.add_alert("warning", "error_rate", "x", {"agent": "b"}) is not None
    assert manager.add_alert("critical", "error_rate", "x", {"agent": "a"}) is not None
    assert len(manager.get_alerts()) == 3


def test_an_acknowledged_continuing_condition_stays_acknowledged_until_it_resolves(
    manager: AlertManager, clock: FakeClock
) -> None:
    """The monitor re-asserts a breach every minute: those repeats fold into the
    acknowledged alert instead of opening a new critical (issue 12, item 8)."""
    first = manager.add_alert("critical", "error_rate", "high", {"agent": "a"})
    assert first is not None
    assert manager.acknowledge_alert(first.id)
    for _ in range(30):
        clock.advance(minutes=1)
        assert manager.add_alert("critical", "error_rate", "still high", {"agent": "a"}) is None
    still = manager.get_alert(first.id)
    assert still.acknowledged and still.count == 31 and still.message == "still high"
    assert manager.get_alerts(acknowledged=False) == []
    assert manager.check_escalations() == []
    # Once the condition resolves, the next breach is a new alert that needs a human.
    clock.advance(minutes=1)
    assert manager.resolve("error_rate", agent="a") == 1
    second = manager.add_alert("critical", "error_rate", "high again", {"agent": "a"})
    assert second is not None and second.id != first.id and not second.acknowledged


def test_an_acknowledged_condition_not_repeated_within_the_window_opens_a_new_alert(
    manager: AlertManager, clock: FakeClock
) -> None:
    first = manager.add_alert("warning", "response_time", "slow", {"agent": "a"})
    assert first is not None and manager.acknowledge_alert(first.id)
    clock.advance(seconds=3601)  # no repeat within dedup_window_s: the condition lapsed
    second = manager.add_alert("warning", "response_time", "slow again", {"agent": "a"})
    assert second is not None and second.id != first.id


def test_unacknowledge_undoes_an_acknowledgement_for_every_process(
    data_dir: Path, manager: AlertManager, clock: FakeClock
) -> None:
    alert = manager.add_alert("warning", "error_rate", "high", {"agent": "a"})
    assert alert is not None and manager.acknowledge_alert(alert.id)
    clock.advance(seconds=5)
    assert manager.unacknowledge_alert(alert.id) is True
    assert manager.unacknowledge_alert(alert.id) is True  # idempotent: nothing written
    assert manager.unacknowledge_alert("alert_unknown") is False
    undone = [e for e in _events(data_dir) if e.event == "unacknowledged"]
    assert len(undone) == 1
    other = AlertManager(data_dir, clock=clock)
    seen = other.get_alert(alert.id)
    assert not seen.acknowledged and seen.acknowledged_at is None
    other.close()
    # The escalation delay still runs from the raise: the undo did not snooze it.
    clock.advance(seconds=3600 - 5)
    assert len(manager.check_escalations()) == 1


def test_unacknowledging_an_escalation_also_undoes_its_warning(
    manager: AlertManager, clock: FakeClock
) -> None:
    warning = manager.add_alert("warning", "error_rate", "high", {"agent": "a"})
    assert warning is not None
    clock.advance(hours=1)
    [escalated] = manager.check_escalations()
    assert manager.acknowledge_alert(escalated.id)
    assert manager.get_alert(warning.id).acknowledged
    assert manager.unacknowledge_alert(escalated.id)
    assert not manager.get_alert(escalated.id).acknowledged
    assert not manager.get_alert(warning.id).acknowledged


def test_repeat_after_the_dedup_window_opens_a_new_alert(
    manager: AlertManager, clock: FakeClock
) -> None:
    first = manager.add_alert("info", "budget_info", "75%", {"department": "sales"})
    clock.advance(seconds=3599)
    assert manager.add_alert("info", "budget_info", "76%", {"department": "sales"}) is None
    clock.advance(seconds=3601)
    later = manager.add_alert("info", "budget_info", "77%", {"department": "sales"})
    assert later is not None and first is not None and later.id != first.id


def test_resolve_then_rebreach_opens_a_new_alert(manager: AlertManager, clock: FakeClock) -> None:
    first = manager.add_alert("warning", "error_rate", "high", {"agent": "a", "model": "m"})
    manager.add_alert("warning", "error_rate", "high", {"agent": "b"})
    assert manager.resolve("error_rate", agent="zzz") == 0
    assert manager.resolve("response_time", agent="a") == 0
    clock.advance(minutes=5)
    assert manager.resolve("error_rate", agent="a") == 1
    assert manager.resolve("error_rate", agent="a") == 0
    gone = manager.get_alert(first.id)
    assert gone.resolved and gone.resolved_at == to_ms(clock())
    again = manager.add_alert("warning", "error_rate", "high again", {"agent": "a", "model": "m"})
    assert again is not None and again.id != first.id
    assert [a.data["agent"] for a in manager.get_alerts(resolved=False)] == ["a", "b"]


def test_resolve_costs_no_io_when_no_alert_of_the_type_is_open(
    manager: AlertManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager.add_alert("warning", "error_rate", "high", {"agent": "a"})

    def no_io(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("resolve touched the journal")

    monkeypatch.setattr(manager.journal, "lock", no_io)
    monkeypatch.setattr(manager.journal, "day_files", no_io)
    assert manager.resolve("response_time", agent="a") == 0
    assert manager.resolve("error_rate", agent="b") == 0


# ------------------------------------------------------------------ acknowledgement
def test_acknowledge_is_persisted_idempotent_and_false_for_unknown(
    data_dir: Path, manager: AlertManager, clock: FakeClock
) -> None:
    alert = manager.add_alert("critical", "daily_budget", "over", {})
    assert manager.acknowledge_alert("alert_unknown") is False
    assert manager.acknowledge_alert(alert.id) is True
    assert manager.acknowledge_alert(alert.id) is True
    acks = [e for e in _events(data_dir) if e.event == "acknowledged"]
    assert len(acks) == 1
    other = AlertManager(data_dir, clock=clock)
    seen = other.get_alert(alert.id)
    assert seen.acknowledged and seen.acknowledged_at == to_ms(clock())
    assert other.get_alert_stats("1h").unacknowledged == 0
    other.close()


def test_acknowledgement_with_expiry_snoozes_then_the_alert_needs_attention_again(
    manager: AlertManager, clock: FakeClock
) -> None:
    alert = manager.add_alert("warning", "error_rate", "high", {"agent": "a"})
    assert manager.acknowledge_alert(alert.id, until=timedelta(minutes=30))
    assert manager.get_alert(alert.id).acknowledged
    clock.advance(minutes=20)
    # While snoozed, repeats fold into the same alert instead of opening new ones.
    assert manager.add_alert("warning", "error_rate", "higher", {"agent": "a"}) is None
    clock.advance(minutes=11)
    after = manager.get_alert(alert.id)
    assert not after.acknowledged and after.acknowledged_at is not None
    assert manager.get_alerts(acknowledged=False)[0].id == alert.id
    # The escalation delay restarts when the snooze ends.
    clock.advance(minutes=58)
    assert manager.check_escalations() == []
    clock.advance(minutes=1)
    assert len(manager.check_escalations()) == 1


# ---------------------------------------------------------------------- escalation
def test_warning_unacknowledged_for_an_hour_escalates_exactly_once(
    data_dir: Path, manager: AlertManager, clock: FakeClock
) -> None:
    warning = manager.add_alert("warning", "error_rate", "Error rate 12%", {"agent": "a"})
    clock.advance(minutes=59, seconds=59)
    assert manager.check_escalations() == []
    clock.advance(seconds=1)
    (escalated,) = manager.check_escalations()
    assert escalated.level == "critical"
    assert escalated.message == "[ESCALATED] Error rate 12%"
    assert escalated.escalated_from == warning.id
    assert escalated.data == {"agent": "a"}
    assert manager.get_alert(warning.id).escalated
    clock.advance(hours=5)
    assert manager.check_escalations() == []
    restarted = AlertManager(data_dir, clock=clock)  # idempotent across restarts too
    assert restarted.check_escalations() == []
    restarted.close()
    assert [a.message for a in manager.get_alerts(level="critical")] == [escalated.message]
    # Acknowledging the escalation acknowledges the warning it came from.
    assert manager.acknowledge_alert(escalated.id)
    assert manager.get_alert(warning.id).acknowledged
    assert manager.get_alert_stats("24h").unacknowledged == 0


def test_acknowledged_resolved_or_silenced_warnings_do_not_escalate(
    manager: AlertManager, clock: FakeClock
) -> None:
    acked = manager.add_alert("warning", "error_rate", "a", {"agent": "a"})
    manager.add_alert("warning", "error_rate", "b", {"agent": "b"})
    silenced = manager.add_alert("warning", "error_rate", "c", {"agent": "c"})
    manager.acknowledge_alert(acked.id)
    manager.resolve("error_rate", agent="b")
    manager.silence(silenced.fingerprint, timedelta(hours=3))
    clock.advance(hours=2)
    assert manager.check_escalations() == []
    clock.advance(hours=2)  # the silence ended
    assert [a.escalated_from for a in manager.check_escalations()] == [silenced.id]


def test_critical_unacknowledged_for_an_hour_is_emailed_once(
    data_dir: Path, clock: FakeClock
) -> None:
    channel = RecordingChannel()
    manager = AlertManager(data_dir, clock=clock, channels=[channel])
    critical = manager.add_alert("critical", "budget_exceeded", "over", {"department": "sales"})
    acked = manager.add_alert("critical", "budget_exceeded", "over", {"department": "ops"})
    manager.acknowledge_alert(acked.id)
    clock.advance(minutes=61)
    manager.check_escalations()
    manager.check_escalations()
    assert manager.flush(5)
    assert channel.sent == [
        (critical.id, "raised"),
        (acked.id, "raised"),
        (critical.id, "reminder"),
    ]
    assert [e.alert_id for e in _events(data_dir) if e.event == "emailed"] == [critical.id]
    assert [(d.channel, d.ok) for d in manager.get_deliveries(critical.id)] == [
        ("recording", True),
        ("recording", True),
    ]
    manager.close()


def test_escalation_folds_into_an_open_critical_of_the_same_condition(
    manager: AlertManager, clock: FakeClock
) -> None:
    warning = manager.add_alert("warning", "error_rate", "12%", {"agent": "a"})
    clock.advance(minutes=30)
    critical = manager.add_alert("critical", "error_rate", "30%", {"agent": "a"})
    clock.advance(minutes=31)
    assert manager.check_escalations() == []
    assert manager.get_alert(warning.id).escalation_id == critical.id
    assert len(manager.get_alerts(level="critical")) == 1


# --------------------------------------------------------------------------- rules
def test_rules_filter_by_level_type_and_condition_and_survive_exceptions(
    manager: AlertManager, caplog: pytest.LogCaptureFixture
) -> None:
    hits: list[str] = []
    manager.add_rule("any", action=lambda a: hits.append(f"any:{a.type}"))
    manager.add_rule("crit", level="critical", action=lambda a: hits.append(f"crit:{a.type}"))
    manager.add_rule(
        "big",
        type="custom",
        condition=lambda a: a.data["value"] > 100,
        action=lambda a: hits.append(f"big:{a.data['value']}"),
    )
    manager.add_rule("boom", type="custom", action=lambda a: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="werkpilot.alerts"):
        manager.add_alert("warning", "custom", "small", {"value": 5})
        manager.add_alert("critical", "custom", "big", {"value": 500})
        manager.add_alert("info", "custom", "no value", {})  # condition raises KeyError
        assert manager.add_alert("info", "custom", "repeat", {}) is None  # repeats: no rules
    assert hits == ["any:custom", "any:custom", "crit:custom", "big:500", "any:custom"]
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 4  # boom x3, the KeyError once
    assert manager.remove_rule("boom") and not manager.remove_rule("boom")
    with pytest.raises(ValueError, match="level"):
        manager.add_rule("bad", level="fatal")


def test_default_rules_log_the_seeds_three_conditions(
    manager: AlertManager, caplog: pytest.LogCaptureFixture
) -> None:
    assert [r.name for r in manager.rules] == [
        "critical_error_rate",
        "budget_exceeded",
        "slow_response",
    ]
    with caplog.at_level(logging.INFO, logger="werkpilot.alerts.rules"):
        manager.add_alert("critical", "error_rate", "e", {"agent": "a"})
        manager.add_alert("critical", "budget_exceeded", "b", {"department": "d"})
        manager.add_alert("warning", "response_time", "r", {"agent": "a"})
        manager.add_alert("warning", "error_rate", "not a default rule", {"agent": "a"})
    lines = [r.getMessage() for r in caplog.records if r.name == "werkpilot.alerts.rules"]
    assert lines == ["Critical error rate: e", "Budget exceeded: b", "Slow response time: r"]


# ------------------------------------------------------------------------ silences
def test_silenced_condition_is_recorded_but_not_delivered(
    data_dir: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    channel = RecordingChannel()
    manager = AlertManager(data_dir, clock=clock, channels=[channel])
    fp = fingerprint("error_rate", "critical", {"agent": "a"})
    manager.silence(fp, to_ms(clock()) + 600_000)
    with caplog.at_level(logging.INFO, logger="werkpilot.alerts"):
        quiet = manager.add_alert("critical", "error_rate", "quiet", {"agent": "a"})
    assert quiet is not None and quiet.silenced and quiet.fingerprint == fp
    assert not [r for r in caplog.records if r.name == "werkpilot.alerts"]
    clock.advance(minutes=11)
    manager.resolve("error_rate", agent="a")
    loud = manager.add_alert("critical", "error_rate", "loud", {"agent": "a"})
    assert manager.flush(5)
    assert channel.sent == [(loud.id, "raised")]
    assert manager.get_alert_stats("1h").critical == 2
    manager.silence(fp, timedelta(hours=1))
    manager.unsilence(fp)
    assert not manager.get_alert(loud.id).silenced
    manager.close()


# ------------------------------------------------------------ validation and queries
def test_invalid_alerts_raise_and_write_nothing(data_dir: Path, manager: AlertManager) -> None:
    with pytest.raises(ValueError, match="level"):
        manager.add_alert("fatal", "x", "m", {})
    with pytest.raises(ValueError, match="type"):
        manager.add_alert("info", "", "m", {})
    with pytest.raises(ValueError, match="type"):
        manager.add_alert("info", "bad\x1btype", "m", {})
    with pytest.raises(ValueError, match="message"):
        manager.add_alert("info", "x", None, {})
    with pytest.raises(ValueError, match="data"):
        manager.add_alert("info", "x", "m", {"obj": object()})
    with pytest.raises(ValueError, match="data"):
        manager.add_alert("info", "x", "m", [1, 2])
    with pytest.raises(ValueError, match="unknown key"):
        manager.add_alert({"level": "info", "type": "x", "message": "m", "colour": "red"})
    assert _events(data_dir) == []
    weird = manager.add_alert("info", "x", "text \x1b[31m\n<b>kept verbatim</b>", {})
    assert manager.get_alert(weird.id).message == "text \x1b[31m\n<b>kept verbatim</b>"


def test_get_alerts_filters_newest_first_within_history(data_dir: Path, clock: FakeClock) -> None:
    config = Config.model_validate({"alerts": {"history": 5}})
    manager = AlertManager(data_dir, clock=clock, config=config, default_rules=False)
    ids = []
    for i in range(8):
        level = ("info", "warning", "critical")[i % 3]
        ids.append(manager.add_alert(level, f"t{i % 2}", str(i), {"agent": f"a{i}"}).id)
        clock.advance(minutes=1)
    manager.acknowledge_alert(ids[7])
    assert [a.message for a in manager.get_alerts(limit=20)] == ["7", "6", "5", "4", "3"]
    assert [a.message for a in manager.get_alerts(limit=2)] == ["7", "6"]
    assert [a.message for a in manager.get_alerts(type="t0")] == ["6", "4"]
    assert [a.message for a in manager.get_alerts(level="info")] == ["6", "3"]
    assert [a.message for a in manager.get_alerts(acknowledged=True)] == ["7"]
    since = clock() - timedelta(minutes=3)
    assert [a.message for a in manager.get_alerts(since=since)] == ["7", "6", "5"]
    assert [a.message for a in manager.get_alerts(since=to_ms(since))] == ["7", "6", "5"]
    stats = manager.get_alert_stats("all")
    assert (stats.total, stats.info, stats.warning, stats.critical) == (8, 3, 3, 2)
    assert stats.by_type == {"t0": 4, "t1": 4} and stats.unacknowledged == 7
    assert manager.get_alert_stats("1h").total == 8
    clock.advance(hours=2)
    assert manager.get_alert_stats("1h").total == 0
    assert manager.get_alert_stats("7d").total == 8
    with pytest.raises(ValueError, match="period"):
        manager.get_alert_stats("2h")
    manager.close()


# ----------------------------------------------------------------------- retention
def test_prune_removes_alert_files_past_retention_and_rebuild_reads_only_retention(
    data_dir: Path, clock: FakeClock
) -> None:
    manager = AlertManager(data_dir, clock=clock)
    old = manager.add_alert("warning", "error_rate", "old", {"agent": "a"})
    manager.acknowledge_alert(old.id)
    clock.advance(days=31)
    fresh = manager.add_alert("warning", "error_rate", "fresh", {"agent": "a"})
    assert len(Journal(data_dir).day_files("alerts")) == 2
    # A process starting now does not read the file past retention.
    restarted = AlertManager(data_dir, clock=clock)
    assert [a.id for a in restarted.get_alerts()] == [fresh.id]
    removed = manager.prune()
    assert [p.name for p in removed] == ["alerts-2026-11-26.jsonl"]
    assert [d for d, _ in Journal(data_dir).day_files("alerts")] == [date(2026, 12, 27)]
    assert [a.id for a in manager.get_alerts()] == [fresh.id]
    assert manager.prune(today="2026-12-27") == []
    restarted.close()
    manager.close()


# ------------------------------------------------------------------------ the fold
def _ev(t: int, event: str, alert_id: str = "a1", **kw: Any) -> AlertEvent:
    return AlertEvent(timestamp=t, event=event, alert_id=alert_id, **kw)


def test_fold_is_pure_and_tolerates_events_before_their_alert() -> None:
    book = AlertBook()
    raised = _ev(
        1_000,
        "raised",
        level="warning",
        type="error_rate",
        message="m",
        data={"agent": "x"},
        fingerprint="error_rate|warning|agent=x",
    )
    book.apply(_ev(2_000, "acknowledged", until=5_000))  # arrives first (another day file)
    book.apply_all([raised, _ev(3_000, "repeated", message="m2", data={"agent": "x", "v": 2})])
    book.apply(_ev(4_000, "delivery", channel="email", ok=False, error="refused"))
    state = book.alerts["a1"]
    assert (state.count, state.message, state.last_seen) == (2, "m2", 3_000)
    assert state.acknowledged(4_999) and not state.acknowledged(5_000)
    assert book.view(state, 4_000).acknowledged_until == 5_000
    assert book.open_candidate("error_rate|warning|agent=x", 4_000, 3_600_000) is state
    assert book.stats("all", 6_000).delivery_failures == 1
    assert book.due_escalations(5_000 + 3_599_999, 3_600_000) == []
    assert book.due_escalations(5_000 + 3_600_000, 3_600_000) == [state]
    book.apply(_ev(7_000, "resolved"))
    assert book.open_candidate("error_rate|warning|agent=x", 7_000, 3_600_000) is None
    assert not book.has_open("error_rate")


def test_fingerprint_is_type_level_and_subject_only() -> None:
    a = fingerprint("error_rate", "warning", {"agent": "x", "errorRate": 0.1})
    b = fingerprint("error_rate", "warning", {"agent": "x", "errorRate": 0.9})
    assert a == b == "error_rate|warning|agent=x"
    assert fingerprint("budget_info", "info", {"department": "sales", "model": "m"}) == (
        "budget_info|info|department=sales|model=m"
    )
    assert len(fingerprint("t", "info", {"agent": "x" * 5000})) <= 1000


# ------------------------------------------------------------------ property: rebuild
_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(["info", "warning", "critical"]),
            st.sampled_from(["error_rate", "response_time"]),
            st.sampled_from(["a", "b"]),
        ),
        st.tuples(st.just("ack"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("unack"), st.integers(0, 20)),
        st.tuples(st.just("resolve"), st.sampled_from(["error_rate", "response_time"])),
        st.tuples(st.just("advance"), st.integers(1, 90)),
        st.tuples(st.just("escalate")),
    ),
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS)
def test_a_fresh_process_rebuilds_exactly_the_live_state(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock()
        live = AlertManager(Path(tmp), clock=clock, default_rules=False, channels=[])
        ids: list[str] = []
        for op in ops:
            if op[0] == "add":
                added = live.add_alert(op[1], op[2], "m", {"agent": op[3]})
                ids += [added.id] if added else []
            elif op[0] == "ack" and ids:
                until = timedelta(minutes=30) if op[2] else None
                assert live.acknowledge_alert(ids[op[1] % len(ids)], until=until)
            elif op[0] == "unack" and ids:
                assert live.unacknowledge_alert(ids[op[1] % len(ids)])
            elif op[0] == "resolve":
                live.resolve(op[1], agent="a")
            elif op[0] == "advance":
                clock.advance(minutes=op[1])
            elif op[0] == "escalate":
                live.check_escalations()
        if len(ops) % 2:  # half the examples also go through a checkpoint
            live.save_checkpoint()
            live.add_alert("info", "late", "after the checkpoint", {})
        fresh = AlertManager(Path(tmp), clock=clock, default_rules=False, channels=[])
        assert fresh.loaded_checkpoint == bool(len(ops) % 2)
        assert fresh.get_alerts(limit=500) == live.get_alerts(limit=500)
        assert fresh.get_alert_stats("all") == live.get_alert_stats("all")
        # Never two open alerts for one condition within the dedup window.
        now = to_ms(clock())
        open_fps = [
            a.fingerprint
            for a in live.get_alerts(limit=500, resolved=False)
            if not (a.acknowledged_at is not None and a.acknowledged_until is None)
            and now - a.last_seen <= 3_600_000
        ]
        assert len(open_fps) == len(set(open_fps))
        live.close()
        fresh.close()


# ---------------------------------------------------------------------- checkpoint
def test_checkpoint_lets_a_new_process_fold_only_newer_events(
    data_dir: Path, clock: FakeClock
) -> None:
    live = AlertManager(data_dir, clock=clock)
    first = live.add_alert("warning", "error_rate", "0", {"agent": "a"})
    for i in range(5):
        live.add_alert("warning", "error_rate", str(i), {"agent": "a"})  # repeats: count 6
    live.acknowledge_alert(first.id, until=timedelta(minutes=5))
    live.silence("x|info", timedelta(hours=1))
    live.save_checkpoint()
    live.add_alert("warning", "error_rate", "after", {"agent": "a"})
    live.add_alert("critical", "daily_budget", "after", {})
    restored = AlertManager(data_dir, clock=clock)
    assert restored.loaded_checkpoint
    # Re-folding what the checkpoint covers would double the count.
    assert restored.get_alert(first.id).count == 7
    expected = live.get_alerts(limit=50)
    assert restored.get_alerts(limit=50) == expected
    assert restored.get_alert_stats("all") == live.get_alert_stats("all")

    # A replaced day file makes the checkpoint stale: rebuild from the journal instead.
    (path,) = [p for _, p in Journal(data_dir).day_files("alerts")]
    content = path.read_bytes()
    path.unlink()
    path.write_bytes(content)
    rebuilt = AlertManager(data_dir, clock=clock)
    assert not rebuilt.loaded_checkpoint
    assert rebuilt.get_alerts(limit=50) == expected

    # A corrupt checkpoint is ignored too.
    (data_dir / "alerts" / ".checkpoint-alerts.json").write_bytes(b'{"version": 1, "saved')
    assert not AlertManager(data_dir, clock=clock).loaded_checkpoint
    for m in (live, restored, rebuilt):
        m.close()
