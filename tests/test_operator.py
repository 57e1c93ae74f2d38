"""``core.Operator``: each operator action and its audit event in one call (issue 15, 4), and
the audit screen's words for what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import core
from core.clock import to_ms
from werkpilot_tui.console.audit_view import audit_rows, change_text


def _lines(data: Path) -> int:
    audit = data / "audit"
    return sum(len(p.read_bytes().splitlines()) for p in audit.iterdir()) if audit.is_dir() else 0


def test_each_action_is_recorded_with_before_and_after(tmp_path: Path, clock: Any) -> None:
    with core.open(tmp_path, clock=clock, lazy=True, channels=[]) as c:
        alert = c.alerts.add_alert("warning", "custom", "look", {"agent": "a"})
        assert alert is not None
        op = core.Operator(c, "ana@ops")
        now = to_ms(clock())
        assert op.acknowledge(alert.id, seconds=60, reason="later") is True
        assert op.unacknowledge(alert.id) is True
        assert op.acknowledge(alert.id, snooze=True) is True  # until it resolves
        until = op.silence(alert.fingerprint, 3600, reason="noisy")
        assert until == now + 3_600_000
        assert op.set_budget("Sales", 650) == ("sales", 650.0)
        assert op.pause("a", reason="r") and not op.pause("a")
        events = list(reversed(c.control.events()))
    got = [(e.action, e.actor, e.subject, e.before, e.after, e.reason) for e in events]
    closed = {"acknowledged": False, "until": None}
    snoozed = {"acknowledged": True, "until": now + 60_000}
    assert got == [
        ("snoozed", "ana@ops", alert.id, closed, snoozed, "later"),
        ("unacknowledged", "ana@ops", alert.id, snoozed, closed, ""),
        ("snoozed", "ana@ops", alert.id, closed, {"acknowledged": True, "until": None}, ""),
        ("silenced", "ana@ops", alert.fingerprint, None, {"until": until}, "noisy"),
        ("budget_set", "ana@ops", "sales", 500.0, 650.0, ""),
        ("paused", "ana@ops", "a", False, True, "r"),
    ]


def test_refused_actions_write_no_event(tmp_path: Path, clock: Any) -> None:
    with core.open(tmp_path, clock=clock, lazy=True, channels=[]) as c:
        op = core.Operator(c)
        assert op.actor == core.default_actor()
        assert op.acknowledge("alert_0_unknown") is False
        assert op.unacknowledge("alert_0_unknown") is False
        with pytest.raises(ValueError, match="amount"):
            op.set_budget("sales", -5)
        with pytest.raises(ValueError):
            op.pause("bad\x00name")
        assert op.resume("never-paused") is False
    assert _lines(tmp_path) == 0


def test_change_in_words() -> None:
    assert change_text(500.0, 800.0) == "$500.00 → $800.00"
    assert change_text(None, 20.0) == "$20.00"
    assert change_text(False, True) == "running → paused"
    closed = {"acknowledged": False, "until": None}
    assert change_text(closed, {"acknowledged": True, "until": None}) == "open → acked"
    assert (
        change_text(closed, {"acknowledged": True, "until": 1_767_225_600_000})
        == "open → acked until 2026-01-01 00:00 UTC"
    )
    assert change_text(None, {"until": 1_767_225_600_000}) == "until 2026-01-01 00:00 UTC"


def test_audit_rows_keep_their_keys_as_new_actions_arrive(tmp_path: Path, clock: Any) -> None:
    with core.open(tmp_path, clock=clock, lazy=True) as c:
        c.control.pause("a", actor="x@y")
        first = audit_rows(c.control.events())
        clock.advance(seconds=1)
        c.control.resume("a", actor="x@y")
        second = audit_rows(c.control.events())
    assert [r.action for r in second.rows] == ["resumed", "paused"]
    assert second.rows[1].key == first.rows[0].key
    assert len({r.key for r in second.rows}) == 2


def test_an_action_whose_event_cannot_be_recorded_is_not_carried_out(
    tmp_path: Path, clock: Any
) -> None:
    with core.open(tmp_path, clock=clock, lazy=True, channels=[]) as c:
        alert = c.alerts.add_alert("warning", "custom", "look", {"agent": "a"})
        assert alert is not None
        op = core.Operator(c)
        bad = "\ud800"  # a lone surrogate: not storable as UTF-8
        with pytest.raises(ValueError):
            op.acknowledge(alert.id, reason=bad)
        with pytest.raises(ValueError):
            op.set_budget("sales", 700, reason=bad)
        with pytest.raises(ValueError):
            op.silence(alert.fingerprint, 60, reason="r" * 2001)
        with pytest.raises(ValueError):
            op.pause("a", reason=bad)
        assert not c.alerts.get_alert(alert.id).acknowledged
        assert c.tracker.budgets.budget_for("sales") == 500.0
    assert _lines(tmp_path) == 0
