"""Alert channels (console, e-mail, webhook) and the background dispatcher that feeds them.

The console channel logs in the caller's thread (it cannot block). E-mail and webhook sends
go through one daemon worker thread with a bounded queue, per-attempt timeouts and a few
retries with backoff, so a dead SMTP server or a slow endpoint never holds the agent that
raised the alert. Every outcome is handed to a ``record`` callback (the alert manager
writes it as a ``delivery`` event).
"""

from __future__ import annotations

import atexit
import html
import json
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from core.alerts.state import Alert, Reason
from core.config import Config, EmailConfig, WebhookConfig
from core.text import printable

if TYPE_CHECKING:  # the mail and HTTP modules load on the first send, not in every agent
    from email.message import EmailMessage

logger = logging.getLogger("werkpilot.alerts")

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}
_SLACK_COLOURS = {"info": "#439fe0", "warning": "#daa038", "critical": "#d00000"}
_MAX_ERROR = 500


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class DeliveryRefused(Exception):
    """A send that retrying cannot fix (the configuration forbids it); not retried."""


class Channel(Protocol):
    """Something an alert can be sent to; ``send`` raises on failure."""

    name: str
    retries: int

    def accepts(self, alert: Alert, reason: Reason) -> bool: ...

    def send(self, alert: Alert, reason: Reason) -> None: ...


class ConsoleChannel:
    """One log line per raised alert on the ``werkpilot.alerts`` logger."""

    name = "console"
    retries = 0

    def accepts(self, alert: Alert, reason: Reason) -> bool:
        return reason == "raised"

    def send(self, alert: Alert, reason: Reason) -> None:
        level = _LOG_LEVELS[alert.level]
        if not logger.isEnabledFor(level):
            return
        logger.log(
            level,
            "[%s] %s: %s %s",
            alert.level.upper(),
            alert.type,
            printable(alert.message),
            printable(json.dumps(alert.data, default=str, ensure_ascii=False)),
        )


class EmailChannel:
    """Critical alerts to the CEO through an SMTP server (plain text + HTML)."""

    name = "email"

    def __init__(self, config: EmailConfig, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.retries = config.retries
        self._env = os.environ if env is None else env

    @staticmethod
    def usable(config: EmailConfig) -> bool:
        return bool(config.enabled and config.to and config.from_)

    def accepts(self, alert: Alert, reason: Reason) -> bool:
        return alert.level == "critical" and reason in ("raised", "reminder")

    def build_message(self, alert: Alert, reason: Reason) -> EmailMessage:
        cfg = self.config
        headline = printable(alert.message.splitlines()[0] if alert.message else "")[:150]
        prefix = "Unacknowledged: " if reason == "reminder" else ""
        import email.policy
        from email.message import EmailMessage

        # Subjects stay on one line (RFC 5322 allows 998 characters); the stdlib's 78-column
        # folding otherwise moves some subjects to a continuation line whole.
        msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
        msg["Subject"] = f"[Werkpilot {alert.level.upper()}] {prefix}{alert.type}: {headline}"
        msg["From"] = cfg.from_ or ""
        msg["To"] = cfg.to or ""
        msg.set_content(self._text(alert, reason))
        msg.add_alternative(self._html(alert, reason), subtype="html")
        return msg

    def _rows(self, alert: Alert) -> list[tuple[str, str]]:
        rows = [
            ("Level", alert.level.upper()),
            ("Type", alert.type),
            ("Time", _when(alert.timestamp)),
            ("Alert id", alert.id),
        ]
        if alert.count > 1:
            rows.append(("Seen", f"{alert.count} times, last {_when(alert.last_seen)}"))
        if alert.escalated_from:
            rows.append(("Escalated from", alert.escalated_from))
        if alert.host:
            rows.append(("Host", f"{alert.host} (pid {alert.pid})"))
        return rows

    def _text(self, alert: Alert, reason: Reason) -> str:
        lead = (
            "This critical alert is still unacknowledged."
            if reason == "reminder"
            else "A critical alert was raised."
        )
        lines = [lead, "", alert.message, ""]
        lines += [f"{k}: {v}" for k, v in self._rows(alert)]
        if alert.data:
            lines += ["", "Data:"]
            lines += [f"  {k}: {v}" for k, v in alert.data.items()]
        return "\n".join(lines) + "\n"

    def _html(self, alert: Alert, reason: Reason) -> str:
        esc = html.escape
        rows = self._rows(alert) + [(f"data.{k}", str(v)) for k, v in alert.data.items()]
        cells = "".join(
            f"<tr><th align='left'>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows
        )
        title = "Still unacknowledged" if reason == "reminder" else "Critical alert"
        return (
            f"<html><body><h2>{esc(title)}: {esc(alert.type)}</h2>"
            f"<p>{esc(alert.message)}</p><table>{cells}</table></body></html>"
        )

    def send(self, alert: Alert, reason: Reason) -> None:
        cfg = self.config
        password = self._env.get(cfg.password_env)
        login = bool(cfg.username and password)
        if login and not (cfg.ssl or cfg.starttls or cfg.allow_plaintext_auth):
            # Checked before connecting: the password must never cross the wire in clear.
            raise DeliveryRefused(
                f"refusing to send the SMTP password to {cfg.host}:{cfg.port} over an "
                "unencrypted connection: set [email] starttls = true or ssl = true "
                "(or allow_plaintext_auth = true to send it anyway)"
            )
        msg = self.build_message(alert, reason)
        import smtplib
        import ssl

        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if cfg.ssl:
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        with smtp:
            if cfg.starttls and not cfg.ssl:
                smtp.starttls(context=context)  # raises unless the server switches to TLS
            if login:
                smtp.login(cfg.username or "", password or "")
            smtp.send_message(msg)


class WebhookChannel:
    """Slack-compatible JSON (``text`` + one attachment, and the alert itself) to a URL."""

    name = "webhook"

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.retries = config.retries
        self.levels = frozenset(config.levels)

    def accepts(self, alert: Alert, reason: Reason) -> bool:
        return reason == "raised" and alert.level in self.levels

    @staticmethod
    def payload(alert: Alert) -> dict[str, Any]:
        def slack(text: str) -> str:
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        text = f"[{alert.level.upper()}] {alert.type}: {alert.message}"
        fields = [
            {"title": k, "value": slack(str(v)), "short": True} for k, v in alert.data.items()
        ]
        return {
            "text": slack(text),
            "attachments": [
                {
                    "color": _SLACK_COLOURS[alert.level],
                    "fallback": slack(text),
                    "fields": fields,
                    "footer": f"werkpilot {alert.id}",
                    "ts": alert.timestamp // 1000,
                }
            ],
            "alert": alert.model_dump(by_alias=True, mode="json"),
        }

    def send(self, alert: Alert, reason: Reason) -> None:
        body = json.dumps(self.payload(alert), default=str).encode()
        import urllib.request

        request = urllib.request.Request(
            self.config.url or "",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "werkpilot-tui"},
        )
        with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
            response.read(65_536)  # HTTP errors (4xx/5xx) raise before this


def build_channels(config: Config) -> list[Channel]:
    """The background channels the configuration turns on (e-mail, webhook, Alertmanager)."""
    channels: list[Channel] = []
    if EmailChannel.usable(config.email):
        channels.append(EmailChannel(config.email))
    elif config.email.enabled:
        logger.warning(
            "e-mail alerts enabled but [email] to/from (CEO_EMAIL/ALERT_EMAIL_FROM) unset"
        )
    if config.webhook.url:
        channels.append(WebhookChannel(config.webhook))
    if config.alertmanager.url:
        from core.alerts.alertmanager import AlertmanagerChannel

        channels.append(AlertmanagerChannel(config.alertmanager))
    return channels


#: record(channel name, alert id, ok, error or None)
Recorder = Callable[[str, str, bool, str | None], None]


@dataclass(frozen=True)
class _Job:
    channel: Channel
    alert: Alert
    reason: Reason


_DISPATCHERS: weakref.WeakSet[Dispatcher] = weakref.WeakSet()
_EXIT_FLUSH_S = 2.0


def _flush_all_at_exit() -> None:
    deadline = time.monotonic() + _EXIT_FLUSH_S
    for dispatcher in list(_DISPATCHERS):
        dispatcher.flush(max(0.0, deadline - time.monotonic()))


atexit.register(_flush_all_at_exit)


class Dispatcher:
    """One daemon worker sending queued alerts; never blocks the caller."""

    def __init__(self, record: Recorder, *, queue_size: int = 1000, backoff_s: float = 0.5) -> None:
        self.record = record
        self.queue_size = queue_size
        self.backoff_s = backoff_s
        self._reset()
        _DISPATCHERS.add(self)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._pending = 0
        self._stop = threading.Event()
        self._queue: queue.Queue[_Job | None] = queue.Queue(self.queue_size)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, channel: Channel, alert: Alert, reason: Reason) -> bool:
        """Queue one send; when the queue is full the send is dropped and recorded."""
        if self._pid != os.getpid():  # forked: the worker thread did not survive
            self._reset()
        if self._stop.is_set():
            return False
        self._ensure_worker()
        with self._cond:
            self._pending += 1
        try:
            self._queue.put_nowait(_Job(channel, alert, reason))
        except queue.Full:
            self._done()
            self._record(channel.name, alert.id, False, "delivery queue full: dropped")
            return False
        return True

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="werkpilot-alert-delivery", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._deliver(job)
            finally:
                self._done()

    def _deliver(self, job: _Job) -> None:
        attempts = job.channel.retries + 1
        error = ""
        for attempt in range(attempts):
            try:
                job.channel.send(job.alert, job.reason)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, DeliveryRefused):
                    break
                if attempt + 1 < attempts and self._stop.wait(self.backoff_s * 2**attempt):
                    break  # closing: give up the remaining retries
            else:
                self._record(job.channel.name, job.alert.id, True, None)
                return
        tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
        self._record(job.channel.name, job.alert.id, False, f"{error} ({tries})"[:_MAX_ERROR])

    def _record(self, channel: str, alert_id: str, ok: bool, error: str | None) -> None:
        try:
            self.record(channel, alert_id, ok, error)
        except Exception:
            logger.exception("could not record the %s delivery of alert %s", channel, alert_id)

    def _done(self) -> None:
        with self._cond:
            self._pending -= 1
            if self._pending <= 0:
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        return self._pending

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every queued send finished (or ``timeout`` passed); True if all did."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending <= 0, timeout)

    def close(self, timeout: float = 2.0) -> bool:
        """Flush for at most ``timeout``, then stop the worker (retries are abandoned)."""
        done = self.flush(timeout)
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass  # the daemon thread dies with the process
        _DISPATCHERS.discard(self)
        return done
