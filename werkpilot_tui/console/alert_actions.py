"""What the alert keys act on and say: the alert named in words, snooze and silence choices.

Pure: the dashboard and the alert detail screen build their confirmations from these, so
an operator reads which alert a key touched (level, type, subject, start of the message).
"""

from __future__ import annotations

from dataclasses import dataclass

from werkpilot_tui.console.view_models import AlertRow
from werkpilot_tui.console.widgets.palette import LEVEL_SYMBOL
from werkpilot_tui.console.widgets.text import neutralise

#: Seconds after an acknowledgement during which ``u`` takes it back.
UNDO_S = 10.0
MESSAGE_START = 40  # characters of the message quoted in a confirmation


@dataclass(frozen=True, slots=True)
class Choice:
    """One entry of the snooze or silence picker; ``seconds`` None: until resolved."""

    label: str
    seconds: float | None


SNOOZE_CHOICES = (
    Choice("15 min", 15 * 60),
    Choice("1 h", 3600),
    Choice("4 h", 4 * 3600),
    Choice("until resolved", None),
)
SILENCE_CHOICES = (
    Choice("1 h", 3600),
    Choice("4 h", 4 * 3600),
    Choice("24 h", 24 * 3600),
    Choice("7 days", 7 * 24 * 3600),
)


def subject(alert: AlertRow) -> str:
    """``agent lead-scorer``, ``department sales``, ``model …``: what the alert is about."""
    fields = ((key, alert.field(key)) for key in ("agent", "department", "model"))
    parts = [f"{key} {value}" for key, value in fields if value]
    return ", ".join(parts) or "system"


def describe(alert: AlertRow) -> str:
    """``✖ critical error_rate · agent a · "Error rate of a is 40.0% …"`` (neutralised)."""
    message = alert.message
    if len(message) > MESSAGE_START:
        message = message[: MESSAGE_START - 1].rstrip() + "…"
    symbol = LEVEL_SYMBOL.get(alert.level, "?")
    text = f"{symbol} {alert.level} {alert.type} · {subject(alert)} · “{message}”"
    return neutralise(text)
