"""The fold of the audit journal: every operator action, and which agents are paused now.

Pure state, no I/O: ``ControlBook.apply`` takes events in journal order. A pause is the
newest ``paused`` event of an agent not followed by a ``resumed`` one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.records import AuditEvent


@dataclass(frozen=True, slots=True)
class Pause:
    """Why an agent is paused, by whom and since when (epoch ms)."""

    agent: str
    since: int
    actor: str
    reason: str


@dataclass
class ControlBook:
    """Operator actions in journal order, and the pauses they leave in force."""

    events: list[AuditEvent] = field(default_factory=list)
    pauses: dict[str, Pause] = field(default_factory=dict)

    def apply(self, event: AuditEvent) -> None:
        self.events.append(event)
        if event.action == "paused":
            self.pauses[event.subject] = Pause(
                event.subject, event.timestamp, event.actor, event.reason
            )
        elif event.action == "resumed":
            self.pauses.pop(event.subject, None)

    def apply_all(self, events: list[AuditEvent]) -> int:
        for event in events:
            self.apply(event)
        return len(events)

    def newest(
        self, limit: int | None = None, *, since_ms: int | None = None, action: str | None = None
    ) -> list[AuditEvent]:
        """Events newest first, optionally since a time and of one action."""
        out = []
        for event in reversed(self.events):
            if since_ms is not None and event.timestamp < since_ms:
                continue
            if action is not None and event.action != action:
                continue
            out.append(event)
            if limit is not None and len(out) >= limit:
                break
        return out
