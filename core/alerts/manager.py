"""AlertManager: condition-based dedup, rules, escalation, acknowledgements, silences.

State is the fold (``core.alerts.state.AlertBook``) of the events in ``alerts/`` shared by
every process. Each query catches up on new events first; each read-modify-write decision
(dedup, acknowledge-once, escalation, resolution) is taken under the ``alerts`` lock after
catching up, so two processes never open two alerts for one condition nor escalate twice.

Silenced conditions are still recorded (and rules still run) but nothing is sent to the
console, e-mail or webhook channels, and they do not escalate while silenced.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.alerts import checkpoint as alert_checkpoint
from core.alerts.channels import (
    Channel,
    ConsoleChannel,
    Dispatcher,
    Reason,
    build_channels,
    logger,
)
from core.alerts.rules import (
    ADD_KEYS,
    DEFAULT_RULES,
    QUERY_KEYS,
    RULE_KEYS,
    Rule,
    from_mapping,
    make_rule,
    validate_alert,
)
from core.alerts.state import Alert, AlertBook, AlertStats, Delivery, fingerprint
from core.clock import Clock, day_of_ms, day_start_ms, parse_day, system_clock, to_ms
from core.config import Config, load_config
from core.journal.store import Journal
from core.records import AlertEvent
from core.serial import owned_lock

_HOST = socket.gethostname()
_CHECKPOINT_EVERY = 20_000  # events folded since the last checkpoint
_CHECKPOINT_ON_CLOSE = 2_000  # enough catching up that the next process should skip it


class AlertManager:
    """Alerts shared by every process on one data directory."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        config: Config | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        journal: Journal | None = None,
        channels: list[Channel] | None = None,
        default_rules: bool = True,
    ) -> None:
        self.config = load_config(config)
        self.clock = clock or system_clock
        self._own_journal = journal is None
        self.journal = journal or Journal.at(data_dir)
        self._cfg = self.config.alerts
        self._keep_days = self.config.alert_retention_days
        self._book = AlertBook()
        self._day = day_of_ms(self._now())
        self._reader = self.journal.reader(
            "alerts", AlertEvent.model_validate_json, since=self._cutoff_day(self._day)
        )
        self._console = ConsoleChannel()
        self._channels = build_channels(self.config) if channels is None else list(channels)
        self._dispatcher: Dispatcher | None = None
        self._delivery_journal: Journal | None = None
        self._delivery_lock = owned_lock(self, "_delivery_lock", threading.Lock)  # after fork
        self._rules: list[Rule] = list(DEFAULT_RULES) if default_rules else []
        self._unsaved = 0
        found = alert_checkpoint.load(self.journal, self._cutoff_day(self._day))
        self.loaded_checkpoint = found is not None
        if found is not None:
            self._book, offsets = found
            self._reader.restore(offsets)
            self._book.drop_before(day_start_ms(self._cutoff_day(self._day)))
        if self.refresh() >= _CHECKPOINT_ON_CLOSE:
            self._try_checkpoint()

    # ------------------------------------------------------------- catching up
    def _cutoff_day(self, today: date) -> date:
        return today - timedelta(days=self._keep_days)

    def _now(self) -> int:
        return to_ms(self.clock())

    def refresh(self) -> int:
        """Fold in events other processes appended; returns how many were new."""
        n = 0
        if self._reader.changed():  # a few stat calls when nothing is new
            with self._reader.catching_up():
                n = self._book.apply_all(self._reader.poll())
        today = day_of_ms(self._now())
        if today != self._day:  # a long-running process forgets what fell out of retention
            self._day = today
            self._book.drop_before(day_start_ms(self._cutoff_day(today)))
        self._unsaved += n
        if self._unsaved >= _CHECKPOINT_EVERY:
            self._try_checkpoint()
        return n

    def save_checkpoint(self) -> None:
        """Save the folded state so the next process tails only newer events."""
        alert_checkpoint.save(self.journal, self._book, self._reader.state(), self._now())
        self._unsaved = 0

    def _try_checkpoint(self) -> None:
        try:
            self.save_checkpoint()
        except (OSError, ValueError) as exc:  # e.g. a read-only data dir: the journal suffices
            self._unsaved = 0
            logger.warning("could not save the alert checkpoint: %s", exc)

    def _write(self, event: AlertEvent) -> None:
        """Append an event and fold it in (reading it back when others appended meanwhile)."""
        line = event.to_json_line()
        path, end = self.journal.append_line("alerts", event.timestamp, line)
        if self._reader.claim(path, end, len(line)):
            self._book.apply(event)
            self._unsaved += 1
        elif self._reader.since is not None and day_of_ms(event.timestamp) < self._reader.since:
            self._book.apply(event)  # a day before the ones this reader follows
        else:
            self.refresh()

    def _event(self, event: str, now: int, **fields: Any) -> AlertEvent:
        return AlertEvent(timestamp=now, event=event, host=_HOST, pid=os.getpid(), **fields)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- raising
    def add_alert(
        self,
        level: str | Mapping[str, Any] | None = None,
        type: str | None = None,
        message: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Alert | None:
        """Record an alert; None when it repeats an open alert of the same condition.

        Also accepts one mapping: ``add_alert({"level": ..., "type": ..., ...})``.
        """
        if isinstance(level, Mapping):
            if type is not None or message is not None or data is not None:
                raise TypeError("add_alert: pass either one mapping or keyword arguments")
            spec = from_mapping(level, ADD_KEYS, "alert")
            level, type, message, data = (spec.get(k) for k in ("level", "type", "message", "data"))
        level_, type_, message_, data_ = validate_alert(level, type, message, data)
        fp = fingerprint(type_, level_, data_)
        with self.journal.lock("alerts"):
            self.refresh()
            now = self._now()
            window = int(self._cfg.dedup_window_s * 1000)
            open_alert = self._book.open_candidate(fp, now, window)
            if open_alert is not None:
                self._write(
                    self._event(
                        "repeated", now, alert_id=open_alert.id, message=message_, data=data_
                    )
                )
                return None
            alert = self._raise(now, level_, type_, message_, data_, fp)
        self._announce(alert, "raised")
        return alert

    def _raise(
        self,
        now: int,
        level: str,
        type: str,
        message: str,
        data: dict[str, Any],
        fp: str,
        escalated_from: str | None = None,
    ) -> Alert:
        alert_id = f"alert_{now}_{secrets.token_hex(4)}"
        self._write(
            self._event(
                "raised",
                now,
                alert_id=alert_id,
                level=level,
                type=type,
                message=message,
                data=data,
                fingerprint=fp,
                escalated_from=escalated_from,
            )
        )
        return self._book.view(self._book.alerts[alert_id], now)

    def _announce(self, alert: Alert, reason: Reason) -> None:
        """Run rules on a new alert and hand it to the channels (unless silenced)."""
        if reason == "raised":
            for rule in list(self._rules):
                rule.run(alert)
        if alert.silenced:
            return
        if self._console.accepts(alert, reason):
            self._console.send(alert, reason)
        for channel in self._channels:
            if channel.accepts(alert, reason):
                self._get_dispatcher().submit(channel, alert, reason)

    # -------------------------------------------------------------- decisions
    def acknowledge_alert(
        self, alert_id: str, until: int | datetime | timedelta | None = None
    ) -> bool:
        """Acknowledge (optionally until a time); False for an unknown id. Idempotent.

        Acknowledging an escalated alert also acknowledges the warning it came from.
        """
        if not isinstance(alert_id, str):
            return False
        with self.journal.lock("alerts"):
            self.refresh()
            state = self._book.alerts.get(alert_id)
            if state is None:
                return False
            now = self._now()
            until_ms = self._until(until, now)
            source = self._book.alerts.get(state.escalated_from or "")
            for target in (state, source):
                if target is None or target.acked_for_good:
                    continue
                if target.acknowledged(now) and target.acknowledged_until == until_ms:
                    continue
                self._write(self._event("acknowledged", now, alert_id=target.id, until=until_ms))
        return True

    def unacknowledge_alert(self, alert_id: str) -> bool:
        """Take an acknowledgement back (the console's undo); False for an unknown id.

        Also takes back the acknowledgement of the warning it escalated from when the same
        acknowledgement wrote it. Idempotent.
        """
        if not isinstance(alert_id, str):
            return False
        with self.journal.lock("alerts"):
            self.refresh()
            state = self._book.alerts.get(alert_id)
            if state is None:
                return False
            now = self._now()
            source = self._book.alerts.get(state.escalated_from or "")
            same_ack = source is not None and source.acknowledged_at == state.acknowledged_at
            for target in (state, source if same_ack else None):
                if target is not None and target.acknowledged_at is not None:
                    self._write(self._event("unacknowledged", now, alert_id=target.id))
        return True

    def resolve(self, type: str, **subject: Any) -> int:
        """Mark open alerts of ``type`` whose data match ``subject`` resolved; how many.

        No I/O at all when this process knows of no matching open alert (a hot path).
        """
        if not self._book.has_open(type) or not self._book.open_matching(type, subject):
            return 0
        with self.journal.lock("alerts"):
            self.refresh()
            now = self._now()
            states = self._book.open_matching(type, subject)
            for state in states:
                self._write(self._event("resolved", now, alert_id=state.id))
            resolved = [self._book.view(s, now) for s in states]
        for alert in resolved:
            self._announce(alert, "resolved")
        return len(resolved)

    def silence(self, fingerprint: str, until: int | datetime | timedelta) -> None:
        """Record but do not deliver or escalate alerts of this condition until ``until``."""
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ValueError("fingerprint: expected a non-empty string")
        now = self._now()
        self._write(
            self._event("silenced", now, fingerprint=fingerprint, until=self._until(until, now))
        )

    def unsilence(self, fingerprint: str) -> None:
        self.silence(fingerprint, self._now())

    def check_escalations(self) -> list[Alert]:
        """Escalate overdue warnings once, e-mail overdue criticals once; new alerts returned."""
        created: list[Alert] = []
        reminders: list[Alert] = []
        with self.journal.lock("alerts"):
            self.refresh()
            now = self._now()
            after = int(self._cfg.escalation_after_s * 1000)
            window = int(self._cfg.dedup_window_s * 1000)
            for warning in self._book.due_escalations(now, after):
                fp = fingerprint(warning.type, "critical", warning.data)
                target = self._book.open_candidate(fp, now, window)
                if target is None:  # the condition is not already open as a critical
                    alert = self._raise(
                        now,
                        "critical",
                        warning.type,
                        f"[ESCALATED] {warning.message}",
                        dict(warning.data),
                        fp,
                        escalated_from=warning.id,
                    )
                    created.append(alert)
                    target_id = alert.id
                else:
                    target_id = target.id
                self._write(
                    self._event(
                        "escalated", now, alert_id=warning.id, data={"escalation": target_id}
                    )
                )
            for critical in self._book.due_reminders(now, after):
                alert = self._book.view(critical, now)
                if any(c.accepts(alert, "reminder") for c in self._channels):
                    self._write(self._event("emailed", now, alert_id=critical.id))
                    reminders.append(alert)
        for alert in created:
            self._announce(alert, "raised")
        for alert in reminders:
            self._announce(alert, "reminder")
        return created

    def _until(self, until: int | datetime | timedelta | None, now: int) -> int | None:
        if until is None:
            return None
        if isinstance(until, timedelta):
            return now + int(until.total_seconds() * 1000)
        return to_ms(until)

    # ----------------------------------------------------------------- rules
    def add_rule(
        self,
        name: str | Mapping[str, Any] | None = None,
        level: str | None = None,
        type: str | None = None,
        condition: Callable[[Alert], Any] | None = None,
        action: Callable[[Alert], Any] | None = None,
    ) -> Rule:
        """Add (or replace, by name) a rule; also accepts one mapping of the same fields."""
        if isinstance(name, Mapping):
            spec = from_mapping(name, RULE_KEYS, "rule")
            name, level, type = spec.get("name"), spec.get("level"), spec.get("type")
            condition, action = spec.get("condition"), spec.get("action")
        rule = make_rule(name, level, type, condition, action)
        self._rules = [r for r in self._rules if r.name != name] + [rule]
        return rule

    def remove_rule(self, name: str) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.name != name]
        return len(self._rules) < before

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    # --------------------------------------------------------------- queries
    def get_alerts(
        self,
        limit: int | Mapping[str, Any] = 20,
        level: str | None = None,
        type: str | None = None,
        acknowledged: bool | None = None,
        since: int | datetime | None = None,
        resolved: bool | None = None,
    ) -> list[Alert]:
        """Newest first, from the last ``[alerts] history`` alerts; also takes a mapping."""
        if isinstance(limit, Mapping):
            spec = from_mapping(limit, QUERY_KEYS, "query")
            return self.get_alerts(**spec)
        self.refresh()
        since_ms = to_ms(since) if since is not None else None
        return self._book.query(
            self._now(), self._cfg.history, limit, level, type, acknowledged, since_ms, resolved
        )

    def get_alert(self, alert_id: str) -> Alert | None:
        self.refresh()
        state = self._book.alerts.get(alert_id)
        return None if state is None else self._book.view(state, self._now())

    def get_alert_stats(self, period: str = "24h") -> AlertStats:
        """Counts for ``1h``, ``24h``, ``7d`` or ``all`` (what the retention period holds)."""
        self.refresh()
        return self._book.stats(period, self._now())

    def get_deliveries(self, alert_id: str | None = None) -> list[Delivery]:
        """Recent channel delivery outcomes, newest first."""
        self.refresh()
        found = [d for d in self._book.deliveries if alert_id is None or d.alert_id == alert_id]
        return found[::-1]

    # ------------------------------------------------------------- lifecycle
    def prune(self, today: Any = None) -> list[Path]:
        """Remove alert files older than the retention period."""
        day = parse_day(today, self.clock)
        removed = self.journal.prune_days("alerts", self._keep_days, day)
        self._book.drop_before(day_start_ms(self._cutoff_day(day)))
        return removed

    def _get_dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                self._record_delivery,
                queue_size=self._cfg.delivery_queue,
                backoff_s=self._cfg.delivery_backoff_s,
            )
        return self._dispatcher

    def _record_delivery(self, channel: str, alert_id: str, ok: bool, error: str | None) -> None:
        # Called from the delivery thread: it appends through its own Journal instance.
        with self._delivery_lock:
            if self._delivery_journal is None:
                self._delivery_journal = Journal(self.journal.root)
            event = self._event(
                "delivery", self._now(), alert_id=alert_id, channel=channel, ok=ok, error=error
            )
            self._delivery_journal.append("alerts", event)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (at most ``timeout`` s) for queued deliveries; True when none is left."""
        return True if self._dispatcher is None else self._dispatcher.flush(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Give pending deliveries ``timeout`` seconds, checkpoint, then release files."""
        if self._unsaved >= _CHECKPOINT_ON_CLOSE:
            self._try_checkpoint()
        if self._dispatcher is not None:
            self._dispatcher.close(timeout)
            self._dispatcher = None
        with self._delivery_lock:
            if self._delivery_journal is not None:
                self._delivery_journal.close()
                self._delivery_journal = None
        if self._own_journal:
            self.journal.close()
