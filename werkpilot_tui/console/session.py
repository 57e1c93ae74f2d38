"""What the console may ask of its data source: the ``Session`` protocol.

Two sessions implement it: ``CoreSession`` (``live.py``, one local data directory) and
``FleetSession`` (``fleet_view.py``, a fleet through Prometheus and the hosts' endpoints).
The app and its screens talk to the session only through this protocol, never by probing
attributes, so each mode's gaps are written down here once: an action a session cannot do
is absent from its ``capabilities`` and raises ``NotAvailableHere`` saying why.

Every method except ``capabilities``/``label``/``data_dir`` runs on the console's core
thread (``LiveFeed.call``): core objects are not thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

if TYPE_CHECKING:
    from core import Clock, Config
    from werkpilot_tui.console.audit_view import AuditView
    from werkpilot_tui.console.detail_models import AgentDetailView, CostsView
    from werkpilot_tui.console.view_models import Dashboard

#: Actions and views a session may or may not offer (``Session.capabilities``).
Capability = Literal[
    "acknowledge",
    "unacknowledge",
    "snooze",
    "silence",
    "set_budget",
    "costs",
    "agent_detail",
    "pause",
    "audit",
]
#: Everything a local session on a data directory can do.
ALL_CAPABILITIES: frozenset[Capability] = frozenset(get_args(Capability))


@dataclass(frozen=True, slots=True)
class StartupStep:
    """What the console is doing before its first complete snapshot (the start-up screen)."""

    text: str
    fraction: float | None = None  # 0..1 when the amount of work is known


class NotAvailableHere(RuntimeError):
    """The session cannot do this here (fleet mode, a host that cannot act); says why."""


class BudgetOutcome(Protocol):
    """What a budget edit across several hosts did (fleet mode's ``BudgetUpdate``)."""

    @property
    def message(self) -> str: ...

    @property
    def failed(self) -> tuple[tuple[str, str], ...]: ...


class Session(Protocol):
    """The console's data source and the actions it carries out."""

    config: Config
    clock: Clock

    @property
    def label(self) -> str:
        """What the header names as the source (a data directory, a Prometheus URL)."""
        ...

    @property
    def data_dir(self) -> Path | None:
        """The local data directory to watch and stat, or None (fleet mode has none)."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def startup_step(self) -> StartupStep:
        """What the start-up screen says while ``open`` and the first ``build`` run."""
        ...

    def open(self) -> None:
        """Read checkpoints and catch up (may be slow; called early, on the core thread)."""

    def close(self) -> None: ...

    def build(self) -> Dashboard:
        """Refresh and snapshot what the dashboard shows (never raises: errors go in it)."""
        ...

    def check(self) -> None:
        """The periodic threshold, budget and escalation checks a running console owes."""

    def agent_detail(self, name: str, window: str) -> AgentDetailView: ...

    def costs(self, day: date | None) -> CostsView: ...

    def acknowledge(self, alert_id: str) -> bool: ...

    def unacknowledge(self, alert_id: str) -> bool: ...

    def snooze(self, alert_id: str, seconds: float | None) -> bool: ...

    def silence(self, fingerprint: str, seconds: float) -> None: ...

    def set_budget(self, department: str, amount: float, reason: str = "") -> BudgetOutcome | None:
        """Save a budget (``reason``: for the audit trail); None for a plain local save,
        else what happened on which host."""
        ...

    def cannot_edit_budget(self, department: str) -> str | None:
        """Why the budget key cannot act now (checked before the editor opens), or None."""
        ...

    def set_paused(self, agent: str, paused: bool, reason: str) -> str:
        """Pause or resume an agent (recorded in the audit trail); what happened, in words
        (``already paused`` included). Raises ``NotAvailableHere`` saying why it could not."""
        ...

    def audit(self, limit: int) -> AuditView:
        """The newest operator actions (the audit screen)."""
        ...


__all__ = [
    "ALL_CAPABILITIES",
    "BudgetOutcome",
    "Capability",
    "NotAvailableHere",
    "Session",
    "StartupStep",
]
