"""Alert routing through Prometheus Alertmanager's v2 API (``[alertmanager] url``).

Raised and resolved alerts are posted to ``/api/v2/alerts`` so a fleet gets Alertmanager's
grouping, inhibition and silences. Alertmanager identifies an alert by its labels, so the
labels are the alert's condition (``alertname`` = type, ``severity`` = level, ``agent``,
``department``, ``model``, ``host``) and never its changing numbers; those go into the
annotations. A resolved alert is the same labels with ``endsAt`` set to when it cleared.
Sending runs in the alert manager's background dispatcher (bounded timeout, retries), like
the e-mail and webhook channels, so it never blocks the agent that raised the alert.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.clock import Clock, system_clock, to_ms
from core.config import AlertmanagerConfig

if TYPE_CHECKING:
    from core.alerts.state import Alert, Reason

#: ``data`` fields that name the alert's subject and become labels.
SUBJECT_LABELS = ("agent", "department", "model")
_MAX_ANNOTATION = 4000


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def alert_labels(alert: Alert, host: str | None = None) -> dict[str, str]:
    """The labels that identify ``alert``'s condition in Alertmanager (no empty values)."""
    labels = {"alertname": alert.type, "severity": alert.level}
    for key in SUBJECT_LABELS:
        value = alert.data.get(key)
        if value not in (None, ""):
            labels[key] = str(value)
    labels["host"] = alert.host or host or socket.gethostname()
    return labels


def alert_payload(
    alert: Alert, reason: Reason, now_ms: int, ttl_ms: int, host: str | None = None
) -> dict[str, Any]:
    """One element of the ``/api/v2/alerts`` body for ``alert``."""
    summary = alert.message.splitlines()[0] if alert.message else alert.type
    annotations = {
        "summary": f"[{alert.level.upper()}] {alert.type}: {summary}"[:_MAX_ANNOTATION],
        "description": alert.message[:_MAX_ANNOTATION],
        "alert_id": alert.id,
        "count": str(alert.count),
    }
    if alert.data:
        annotations["data"] = json.dumps(alert.data, default=str, ensure_ascii=False)[
            :_MAX_ANNOTATION
        ]
    if alert.escalated_from:
        annotations["escalated_from"] = alert.escalated_from
    if reason == "resolved":
        ends = alert.resolved_at or now_ms
    else:
        # Without endsAt Alertmanager would resolve the alert after its resolve_timeout
        # (5 min); a pushed alert stays firing until it is resolved here or the TTL passes.
        ends = max(now_ms, alert.timestamp) + ttl_ms
    return {
        "labels": alert_labels(alert, host),
        "annotations": annotations,
        "startsAt": _rfc3339(alert.timestamp),
        "endsAt": _rfc3339(max(ends, alert.timestamp)),
    }


class AlertmanagerChannel:
    """A background channel posting raised and resolved alerts to Alertmanager."""

    name = "alertmanager"

    def __init__(
        self, config: AlertmanagerConfig, *, clock: Clock | None = None, host: str | None = None
    ) -> None:
        if not config.url:
            raise ValueError("alertmanager: url is not configured")
        self.config = config
        self.retries = config.retries
        self.clock = clock or system_clock
        self.host = host
        self.endpoint = config.url.rstrip("/") + "/api/v2/alerts"
        self.levels = frozenset(config.levels)

    def accepts(self, alert: Alert, reason: Reason) -> bool:
        # "reminder" is the e-mail to the CEO; Alertmanager does its own repeat notifications.
        return reason in ("raised", "resolved") and alert.level in self.levels

    def send(self, alert: Alert, reason: Reason) -> None:
        now = to_ms(self.clock())
        ttl = int(self.config.ttl_s * 1000)
        body = json.dumps([alert_payload(alert, reason, now, ttl, self.host)]).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "werkpilot-tui"},
        )
        with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
            response.read(65_536)  # 4xx/5xx raise HTTPError before this; the dispatcher retries
