"""Alert state as a pure fold of alert events, and the result models built from it.

No I/O here: ``AlertBook.apply`` consumes ``AlertEvent`` records in journal order and the
queries answer "as of" a given time, so acknowledgement expiry and silences need no
events of their own.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from core.records import AlertEvent, Level

#: The ``data`` fields that name an alert's subject (part of its fingerprint).
SUBJECT_FIELDS = ("agent", "department", "model")
LEVELS: tuple[Level, ...] = ("info", "warning", "critical")
#: Why an alert is being sent: newly raised, a critical still unacknowledged after the
#: escalation delay (the e-mail to the CEO), or resolved.
Reason = Literal["raised", "reminder", "resolved"]
PERIODS_MS: dict[str, int | None] = {
    "1h": 3_600_000,
    "24h": 86_400_000,
    "7d": 7 * 86_400_000,
    "all": None,
}
_MAX_FINGERPRINT = 1000
_MAX_ORPHANS = 10_000  # alert ids with events waiting for their ``raised``
_MAX_ORPHAN_EVENTS = 100  # events kept per waiting id (an alert raised before retention)
MAX_DELIVERIES = 1000


def subject_of(data: Mapping[str, Any] | None) -> dict[str, str]:
    """The subject fields present in ``data``, as strings."""
    if not data:
        return {}
    return {k: str(data[k]) for k in SUBJECT_FIELDS if data.get(k) is not None}


def fingerprint(type: str, level: str, data: Mapping[str, Any] | None = None) -> str:
    """The condition an alert is about: type, level and subject (``error_rate|warning|agent=x``)."""
    parts = [type, level, *(f"{k}={v}" for k, v in subject_of(data).items())]
    text = "|".join(parts)
    if len(text) > _MAX_FINGERPRINT:
        digest = hashlib.sha256(text.encode()).hexdigest()
        text = f"{text[: _MAX_FINGERPRINT - 65]}#{digest}"
    return text


class _Result(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Alert(_Result):
    """One alert in the exported JSON shape, plus dedup and resolution fields.

    Excluded fields are Python-only attributes, outside the exported JSON shape (docs/SPEC.md).
    """

    id: str
    timestamp: int
    level: Level
    type: str
    message: str
    data: dict[str, Any]
    acknowledged: bool = False
    acknowledged_at: int | None = None
    escalated: bool = False
    escalated_from: str | None = None
    fingerprint: str
    count: int = 1
    last_seen: int
    resolved: bool = False
    resolved_at: int | None = None
    acknowledged_until: int | None = Field(None, exclude=True)
    silenced: bool = Field(False, exclude=True)
    emailed: bool = Field(False, exclude=True)
    escalation_id: str | None = Field(None, exclude=True)
    host: str = Field("", exclude=True)
    pid: int = Field(0, exclude=True)


class AlertStats(_Result):
    """Counts of alerts raised within a period (``deliveryFailures``: failed channel sends)."""

    period: str = Field(exclude=True)
    total: int = 0
    info: int = 0
    warning: int = 0
    critical: int = 0
    unacknowledged: int = 0  # neither acknowledged nor resolved: still needs a human
    by_type: dict[str, int] = Field(default_factory=dict)
    delivery_failures: int = 0


class Delivery(_Result):
    """The outcome of sending one alert through one channel."""

    timestamp: int
    alert_id: str
    channel: str
    ok: bool
    error: str | None = None


@dataclass
class AlertState:
    """Mutable state of one alert inside the fold."""

    id: str
    timestamp: int
    level: Level
    type: str
    message: str
    data: dict[str, Any]
    fingerprint: str
    escalated_from: str | None = None
    host: str = ""
    pid: int = 0
    count: int = 1
    last_seen: int = 0
    acknowledged_at: int | None = None
    acknowledged_until: int | None = None
    escalation_id: str | None = None
    escalated: bool = False
    resolved_at: int | None = None
    emailed: bool = False

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def acked_for_good(self) -> bool:
        """Acknowledged without expiry: a new breach opens a new alert."""
        return self.acknowledged_at is not None and self.acknowledged_until is None

    def acknowledged(self, now: int) -> bool:
        if self.acknowledged_at is None:
            return False
        return self.acknowledged_until is None or self.acknowledged_until > now

    def subject_matches(self, subject: Mapping[str, Any]) -> bool:
        return all(str(self.data.get(k)) == str(v) for k, v in subject.items())


@dataclass
class AlertBook:
    """Every alert of the retention period, folded from its events."""

    alerts: dict[str, AlertState] = field(default_factory=dict)
    silences: dict[str, int] = field(default_factory=dict)  # fingerprint -> until (ms)
    deliveries: deque[Delivery] = field(default_factory=lambda: deque(maxlen=MAX_DELIVERIES))
    failure_times: list[int] = field(default_factory=list)
    _latest: dict[str, str] = field(default_factory=dict)  # fingerprint -> newest alert id
    _open: dict[str, set[str]] = field(default_factory=dict)  # type -> unresolved alert ids
    orphans: dict[str, list[AlertEvent]] = field(default_factory=dict)  # wait for ``raised``

    # ---------------------------------------------------------------- folding
    def apply_all(self, events: Iterable[AlertEvent]) -> int:
        n = 0
        for event in events:
            self.apply(event)
            n += 1
        return n

    def apply(self, ev: AlertEvent) -> None:
        """Fold one event in; events about an alert not yet seen wait for its ``raised``."""
        kind = ev.event
        if kind == "raised":
            self._raise(ev)
            for pending in self.orphans.pop(ev.alert_id, ()):
                self.apply(pending)
            return
        if kind == "silenced":
            if ev.fingerprint is not None:
                self.silences[ev.fingerprint] = ev.until if ev.until is not None else ev.timestamp
            return
        if kind == "delivery":
            self._delivery(ev)
            return
        state = self.alerts.get(ev.alert_id)
        if state is None:
            waiting = self.orphans.get(ev.alert_id)
            if waiting is None and len(self.orphans) < _MAX_ORPHANS:
                waiting = self.orphans[ev.alert_id] = []
            if waiting is not None and len(waiting) < _MAX_ORPHAN_EVENTS:
                waiting.append(ev)
            return
        if kind == "repeated":
            state.count += 1
            state.last_seen = max(state.last_seen, ev.timestamp)
            if ev.message is not None:
                state.message = ev.message
            if ev.data is not None:
                state.data = dict(ev.data)
        elif kind == "acknowledged":
            state.acknowledged_at = ev.timestamp
            state.acknowledged_until = ev.until
        elif kind == "unacknowledged":
            state.acknowledged_at = state.acknowledged_until = None
        elif kind == "escalated":
            state.escalated = True
            if ev.data and isinstance(ev.data.get("escalation"), str):
                state.escalation_id = ev.data["escalation"]
        elif kind == "resolved":
            if state.resolved_at is None:
                state.resolved_at = ev.timestamp
                self._open.get(state.type, set()).discard(state.id)
        elif kind == "emailed":
            state.emailed = True

    def _raise(self, ev: AlertEvent) -> None:
        if ev.alert_id in self.alerts or ev.level is None or ev.type is None:
            return
        data = dict(ev.data or {})
        fp = ev.fingerprint or fingerprint(ev.type, ev.level, data)
        state = AlertState(
            id=ev.alert_id,
            timestamp=ev.timestamp,
            level=ev.level,
            type=ev.type,
            message=ev.message or "",
            data=data,
            fingerprint=fp,
            escalated_from=ev.escalated_from,
            host=ev.host,
            pid=ev.pid,
            last_seen=ev.timestamp,
        )
        self.add_state(state)

    def add_state(self, state: AlertState) -> None:
        """Insert an alert (from its ``raised`` event or a checkpoint) and index it."""
        self.alerts[state.id] = state
        newest = self.alerts.get(self._latest.get(state.fingerprint, ""))
        if newest is None or newest.timestamp <= state.timestamp:
            self._latest[state.fingerprint] = state.id
        if not state.resolved:
            self._open.setdefault(state.type, set()).add(state.id)

    def _delivery(self, ev: AlertEvent) -> None:
        ok = bool(ev.ok)
        self.deliveries.append(
            Delivery(
                timestamp=ev.timestamp,
                alert_id=ev.alert_id,
                channel=ev.channel or "",
                ok=ok,
                error=ev.error,
            )
        )
        if not ok:
            self.failure_times.append(ev.timestamp)

    def drop_before(self, cutoff_ms: int) -> int:
        """Forget alerts last seen before ``cutoff_ms`` (their files are past retention)."""
        old = [a.id for a in self.alerts.values() if a.last_seen < cutoff_ms]
        for alert_id in old:
            state = self.alerts.pop(alert_id)
            self._open.get(state.type, set()).discard(alert_id)
            if self._latest.get(state.fingerprint) == alert_id:
                del self._latest[state.fingerprint]
        self.failure_times = [t for t in self.failure_times if t >= cutoff_ms]
        self.silences = {fp: u for fp, u in self.silences.items() if u >= cutoff_ms}
        return len(old)

    # ---------------------------------------------------------------- queries
    def open_candidate(self, fp: str, now: int, window_ms: int) -> AlertState | None:
        """The open alert a repeat of condition ``fp`` folds into, if any.

        Open means unresolved and seen within the window, acknowledged or not: a condition
        that continues stays one alert, so an acknowledgement holds until the condition
        resolves (or lapses, or the acknowledgement expires) instead of a repeat a minute
        later opening a new alert that needs a human again.
        """
        state = self.alerts.get(self._latest.get(fp, ""))
        if state is None or state.resolved:
            return None
        if now - state.last_seen > window_ms:
            return None
        return state

    def is_silenced(self, fp: str, now: int) -> bool:
        until = self.silences.get(fp)
        return until is not None and until > now

    def has_open(self, type: str) -> bool:
        return bool(self._open.get(type))

    def open_matching(self, type: str, subject: Mapping[str, Any]) -> list[AlertState]:
        found = (self.alerts[i] for i in self._open.get(type, ()))
        return [s for s in found if not s.resolved and s.subject_matches(subject)]

    def due_escalations(self, now: int, after_ms: int) -> list[AlertState]:
        """Warnings unacknowledged, unresolved and unsilenced for ``after_ms``.

        The delay runs from the later of the raise and the end of a snooze.
        """
        return [
            s
            for s in self._unattended(now)
            if s.level == "warning"
            and not s.escalated
            and now - max(s.timestamp, s.acknowledged_until or 0) >= after_ms
        ]

    def due_reminders(self, now: int, after_ms: int) -> list[AlertState]:
        """Criticals unacknowledged for ``after_ms`` that were not yet e-mailed as such."""
        return [
            s
            for s in self._unattended(now)
            if s.level == "critical"
            and not s.emailed
            and now - max(s.timestamp, s.acknowledged_until or 0) >= after_ms
        ]

    def _unattended(self, now: int) -> Iterator[AlertState]:
        for s in self.alerts.values():
            if (
                not s.resolved
                and not s.acknowledged(now)
                and not self.is_silenced(s.fingerprint, now)
            ):
                yield s

    def view(self, state: AlertState, now: int) -> Alert:
        return Alert(
            id=state.id,
            timestamp=state.timestamp,
            level=state.level,
            type=state.type,
            message=state.message,
            data=dict(state.data),
            acknowledged=state.acknowledged(now),
            acknowledged_at=state.acknowledged_at,
            escalated=state.escalated,
            escalated_from=state.escalated_from,
            fingerprint=state.fingerprint,
            count=state.count,
            last_seen=state.last_seen,
            resolved=state.resolved,
            resolved_at=state.resolved_at,
            acknowledged_until=state.acknowledged_until,
            silenced=self.is_silenced(state.fingerprint, now),
            emailed=state.emailed,
            escalation_id=state.escalation_id,
            host=state.host,
            pid=state.pid,
        )

    def query(
        self,
        now: int,
        history: int,
        limit: int,
        level: str | None = None,
        type: str | None = None,
        acknowledged: bool | None = None,
        since: int | None = None,
        resolved: bool | None = None,
    ) -> list[Alert]:
        """Up to ``limit`` matching alerts among the newest ``history``, newest first."""
        out: list[Alert] = []
        for s in heapq.nlargest(history, self.alerts.values(), key=lambda s: s.timestamp):
            if len(out) >= limit:
                break
            if (level is not None and s.level != level) or (type is not None and s.type != type):
                continue
            if (since is not None and s.timestamp < since) or (
                resolved is not None and s.resolved != resolved
            ):
                continue
            if acknowledged is None or s.acknowledged(now) == acknowledged:
                out.append(self.view(s, now))
        return out

    def stats(self, period: str, now: int) -> AlertStats:
        if period not in PERIODS_MS:
            raise ValueError(f"period: expected one of {', '.join(PERIODS_MS)}, got {period!r}")
        span = PERIODS_MS[period]
        start = -1 if span is None else now - span
        counts = dict.fromkeys(LEVELS, 0)
        by_type: dict[str, int] = {}
        unacknowledged = 0
        for s in self.alerts.values():
            if s.timestamp < start:
                continue
            counts[s.level] += 1
            by_type[s.type] = by_type.get(s.type, 0) + 1
            if not s.resolved and not s.acknowledged(now):
                unacknowledged += 1
        return AlertStats(
            period=period,
            total=sum(counts.values()),
            unacknowledged=unacknowledged,
            by_type=by_type,
            delivery_failures=sum(1 for t in self.failure_times if t >= start),
            **counts,
        )
