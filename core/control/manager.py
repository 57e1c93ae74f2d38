"""``Control``: records operator actions in the audit journal and answers who is paused.

The journal (``audit/audit-DAY.jsonl``) is shared by every process, so a pause written by
the console, ``serve`` or the CLI reaches every agent's guard: ``pause_of`` looks at the
journal again at most every ``recheck_ms`` (100 ms), and costs a dictionary lookup and a
monotonic clock read in between, cheap enough to ask before every model call.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from typing import Any

from core.clock import Clock, system_clock, to_ms
from core.control.book import ControlBook, Pause
from core.journal.store import Journal
from core.records import AuditEvent, check_name

_HOST = socket.gethostname()
KIND = "audit"


def default_actor() -> str:
    """``user@host`` of this process: who an action from the console or the CLI is by."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"{user}@{_HOST}"


class Control:
    """The audit trail and the pauses of one data directory."""

    def __init__(self, journal: Journal, clock: Clock | None = None, *, recheck_ms: int = 100):
        self.journal = journal
        self.clock = clock or system_clock
        self._book = ControlBook()
        self._reader = journal.reader(KIND, AuditEvent.model_validate_json)
        self._recheck_ns = recheck_ms * 1_000_000
        self._checked_ns = 0
        self.refresh()

    def refresh(self) -> int:
        """Fold in actions other processes recorded; returns how many were new."""
        self._checked_ns = time.monotonic_ns()
        if not self._reader.changed():  # a few stat calls when nothing is new
            return 0
        with self._reader.catching_up():
            return self._book.apply_all(self._reader.poll())

    def _fresh(self) -> ControlBook:
        if time.monotonic_ns() - self._checked_ns >= self._recheck_ns:
            self.refresh()
        return self._book

    # ------------------------------------------------------------------ queries
    def pause_of(self, agent: str) -> Pause | None:
        """The pause in force for ``agent``, if any (at most ``recheck_ms`` old)."""
        return self._fresh().pauses.get(agent)

    def pauses(self) -> dict[str, Pause]:
        """Every agent paused now, by name."""
        self.refresh()
        return dict(self._book.pauses)

    def events(
        self, limit: int | None = None, *, since_ms: int | None = None, action: str | None = None
    ) -> list[AuditEvent]:
        """Operator actions newest first."""
        self.refresh()
        return self._book.newest(limit, since_ms=since_ms, action=action)

    # ------------------------------------------------------------------ actions
    def record(
        self,
        action: str,
        subject: str,
        *,
        before: Any = None,
        after: Any = None,
        reason: str = "",
        actor: str | None = None,
    ) -> AuditEvent:
        """Append one operator action (validated: a bad field raises, nothing written)."""
        event = AuditEvent(
            timestamp=to_ms(self.clock()),
            action=action,  # type: ignore[arg-type]
            actor=default_actor() if actor is None else actor,
            subject=subject,
            before=before,
            after=after,
            reason=reason,
            host=_HOST,
            pid=os.getpid(),
        )
        line = event.to_json_line()
        path, end = self.journal.append_line(KIND, event.timestamp, line)
        if self._reader.claim(path, end, len(line)):
            self._book.apply(event)
        else:
            self.refresh()
        return event

    def pause(self, agent: str, *, reason: str = "", actor: str | None = None) -> bool:
        """Pause ``agent`` everywhere; False (and nothing written) if it already is."""
        return self._switch(agent, paused=True, reason=reason, actor=actor)

    def resume(self, agent: str, *, reason: str = "", actor: str | None = None) -> bool:
        """Resume ``agent``; False (and nothing written) if it is not paused."""
        return self._switch(agent, paused=False, reason=reason, actor=actor)

    def _switch(self, agent: str, *, paused: bool, reason: str, actor: str | None) -> bool:
        check_name(agent, "agent")
        with self.journal.lock(KIND):  # two operators at once: one event, not two
            self.refresh()
            if (agent in self._book.pauses) == paused:
                return False
            self.record(
                "paused" if paused else "resumed",
                agent,
                before=not paused,
                after=paused,
                reason=reason,
                actor=actor,
            )
        return True

    def close(self) -> None:
        """Nothing held open beyond the shared journal; here for symmetry with the others."""
