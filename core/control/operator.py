"""``Operator``: every operator action carried out and written to the audit trail, in one place.

The console, ``serve``'s API and the CLI each know who acts (``user@host``, ``token:NAME``)
and hand it here; the action and its audit event (who, when, before and after, why) are
then one call, so no front end can act without leaving a trace or record one differently.
An action that changes nothing (an unknown alert, an agent already paused) writes no event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.clock import to_ms
from core.control.manager import default_actor
from core.records import AuditEvent

if TYPE_CHECKING:
    from core.alerts.state import Alert
    from core.components import Core


def _ack_state(alert: Alert | None) -> dict[str, Any] | None:
    """What an acknowledgement looked like: ``{"acknowledged": …, "until": ms or None}``."""
    if alert is None:
        return None
    return {
        "acknowledged": bool(alert.acknowledged),
        "until": getattr(alert, "acknowledged_until", None),
    }


class Operator:
    """One actor's actions on a data directory (use from one thread, like ``Core``)."""

    def __init__(self, core: Core, actor: str | None = None) -> None:
        self.core = core
        self.actor = actor or default_actor()

    def _check(self, subject: str, reason: str) -> None:
        """Refuse (ValueError naming the field) an event that could not be recorded, before
        acting: an action must never happen without its audit event."""
        AuditEvent(
            timestamp=to_ms(self.core.clock()),
            action="acknowledged",
            actor=self.actor,
            subject=subject,
            reason=reason,
        )

    def _record(self, action: str, subject: str, before: Any, after: Any, reason: str) -> None:
        self.core.control.record(
            action, subject, before=before, after=after, reason=reason, actor=self.actor
        )

    # ------------------------------------------------------------------ alerts
    def acknowledge(
        self,
        alert_id: str,
        *,
        seconds: float | None = None,
        snooze: bool = False,
        reason: str = "",
    ) -> bool:
        """Acknowledge an alert; False for an unknown id. ``seconds`` (or ``snooze``: until
        it resolves) makes it a snooze, recorded as such."""
        alerts = self.core.alerts
        if not isinstance(alert_id, str) or not alert_id:
            return False
        self._check(alert_id, reason)
        before = _ack_state(alerts.get_alert(alert_id))
        until = None if seconds is None else timedelta(seconds=seconds)
        if not alerts.acknowledge_alert(alert_id, until=until):
            return False
        after = _ack_state(alerts.get_alert(alert_id))
        action = "snoozed" if snooze or seconds is not None else "acknowledged"
        self._record(action, alert_id, before, after, reason)
        return True

    def unacknowledge(self, alert_id: str, *, reason: str = "") -> bool:
        """Take an acknowledgement back (the console's undo); False for an unknown id."""
        alerts = self.core.alerts
        if not isinstance(alert_id, str) or not alert_id:
            return False
        self._check(alert_id, reason)
        before = _ack_state(alerts.get_alert(alert_id))
        if not alerts.unacknowledge_alert(alert_id):
            return False
        self._record(
            "unacknowledged", alert_id, before, _ack_state(alerts.get_alert(alert_id)), reason
        )
        return True

    def silence(self, fingerprint: str, seconds: float, *, reason: str = "") -> int:
        """Silence a condition for ``seconds``; returns the end of the silence (epoch ms)."""
        self._check(fingerprint, reason)
        until_ms = to_ms(self.core.clock()) + int(seconds * 1000)
        self.core.alerts.silence(fingerprint, until_ms)
        self._record("silenced", fingerprint, None, {"until": until_ms}, reason)
        return until_ms

    # ------------------------------------------------------------------ budgets
    def set_budget(self, department: str, amount: float, *, reason: str = "") -> tuple[str, float]:
        """Set a department's monthly budget (``data/budgets.toml``); ValueError naming the
        field when core refuses it (nothing written). Returns the name as stored and the
        budget now in force."""
        tracker = self.core.tracker
        if not isinstance(department, str):
            raise ValueError("department: expected a string")
        name = department.lower()
        self._check(name or "-", reason)
        before = float(tracker.budgets.budget_for(name))
        tracker.set_department_budget(department, amount)
        after = float(tracker.budgets.budget_for(name))
        self._record("budget_set", name, before, after, reason)
        return name, after

    # ------------------------------------------------------------------ agents
    def pause(self, agent: str, *, reason: str = "") -> bool:
        """Pause an agent everywhere; False (nothing written) when it already is."""
        return self.core.control.pause(agent, reason=reason, actor=self.actor)

    def resume(self, agent: str, *, reason: str = "") -> bool:
        """Resume an agent; False (nothing written) when it is not paused."""
        return self.core.control.resume(agent, reason=reason, actor=self.actor)
