"""One alert in full. The feed shows one line of each alert, and at 80 columns that line has
room for a dozen characters of the message; this screen shows all of it at any width."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from werkpilot_tui.console.messages import DataChanged
from werkpilot_tui.console.view_models import AlertRow
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.alert_feed import state_word
from werkpilot_tui.console.widgets.palette import LEVEL_SYMBOL, Palette
from werkpilot_tui.console.widgets.text import neutralise, safe_text

#: What the screen hands back when it closes: acknowledge, snooze or silence the alert,
#: or nothing (the dashboard acts, so the confirmation and undo are the same as there).
ACKNOWLEDGE = "acknowledge"
SNOOZE = "snooze"
SILENCE = "silence"


def alert_fields(alert: AlertRow, now_ms: int, exact: bool = False) -> list[tuple[str, str]]:
    """The alert's fields as (label, value) rows, values not yet neutralised.

    Measured values are rounded for people (``0.7272727272727273`` reads ``0.7273``) unless
    ``exact``; the screen's ``x`` key toggles."""
    rows = [
        ("Type", alert.type),
        ("Raised", f"{_utc(alert.timestamp_ms)} ({fmt.ago(alert.timestamp_ms, now_ms)})"),
    ]
    if alert.count > 1:
        seen = alert.last_seen_ms
        last = f", last {_utc(seen)} ({fmt.ago(seen, now_ms)})" if seen is not None else ""
        rows.append(("Repeated", f"{alert.count} times{last}"))
    if alert.escalated_from:
        rows.append(("Escalated from", alert.escalated_from))
    elif alert.escalated:
        rows.append(("Escalated", "yes: a critical alert was raised for it"))
    if alert.acknowledged and alert.acknowledged_until_ms is not None:
        until = alert.acknowledged_until_ms
        rows.append(("Snoozed until", f"{_utc(until)} (in {fmt.span(until - now_ms)})"))
    if alert.silenced:
        rows.append(("Silenced", "yes: recorded, not sent, not escalated"))
    rows.extend((k, v if exact else rounded(v)) for k, v in alert.details)
    rows.append(("Id", alert.id))
    return rows


def rounded(value: str) -> str:
    """A detail value as people read it: a float's text rounded, anything else unchanged.

    Details are already text (``str(float)`` round-trips exactly, so this is lossless to
    redo): ``41000.0`` → ``41,000``, ``270.104`` → ``270.1``, ``0.7272727272727273`` →
    ``0.7273``; integers, words and ids stay as they are."""
    if not any(c in value for c in ".eE") or value.strip() != value:
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    if number != number or number in (float("inf"), float("-inf")):
        return value
    size = abs(number)
    if size >= 1000:
        return f"{number:,.0f}"
    if size >= 1 or number == 0:
        return f"{number:.2f}".rstrip("0").rstrip(".")
    return f"{number:.4g}"


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class AlertDetailScreen(ModalScreen[str | None]):
    """One alert: level, state, the whole message and every field; ``a`` acknowledges it.

    It follows the live feed: each snapshot the app hands on replaces the alert (its state,
    repeat count, last seen) and the ages move with the app's tick."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Ack alert"),
        Binding("A", "snooze", "Snooze"),
        Binding("S", "silence", "Silence"),
        Binding("x", "toggle_exact", "Exact values"),
        Binding("escape,q", "close", "Close"),
    ]
    DEFAULT_CSS = """
    AlertDetailScreen { align: center middle; }
    AlertDetailScreen > Vertical {
        width: 80; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    AlertDetailScreen #title { text-style: bold; }
    AlertDetailScreen #message { width: 100%; margin: 1 0; }
    AlertDetailScreen DataTable { height: auto; max-height: 14; }
    AlertDetailScreen #keys { color: $text-muted; }
    """

    def __init__(self, alert: AlertRow, now_ms: int, palette: Palette) -> None:
        super().__init__()
        self.alert = alert
        self.now_ms = now_ms
        self.palette = palette
        self.exact = False
        self._rows: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="title")
            yield Static("", id="message")
            yield DataTable(id="fields", cursor_type="none", show_header=False)
            yield Label("", id="keys")

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.add_column("Field", key="field")
        table.add_column("Value", key="value")
        self._show_alert()

    def _show_alert(self) -> None:
        a = self.alert
        symbol = LEVEL_SYMBOL.get(a.level, "?")
        title = Text(f"{symbol} {neutralise(a.level).upper()}", self.palette.level(a.level))
        title.append(f"  ·  {state_word(a)}")
        self.query_one("#title", Static).update(title)
        self.query_one("#message", Static).update(Text(neutralise(a.message)))  # literal
        rows = alert_fields(a, self.now_ms, self.exact)
        if rows != self._rows:  # the ages move every few seconds; most ticks change nothing
            self._rows = rows
            table: DataTable[Text] = self.query_one(DataTable)
            table.clear()
            for label, value in rows:
                table.add_row(Text(label, style="bold"), safe_text(value, width=200))
        exact = "x rounds values" if self.exact else "x exact values"
        keys = "A snoozes · S silences · Esc closes"
        if not a.acknowledged:
            keys = "a acknowledges · " + keys
        self.query_one("#keys", Label).update(f"{exact} · {keys}")

    def on_data_changed(self, message: DataChanged) -> None:
        """A new snapshot: show this alert as it now stands (kept as is once it left the
        feed's newest alerts)."""
        alert = message.dashboard.alert(self.alert.id)
        now = self._clock_ms(message.dashboard.built_at_ms)
        if alert is not None and (alert != self.alert or now != self.now_ms):
            self.alert, self.now_ms = alert, now
            self._show_alert()

    def tick(self) -> None:
        """The ages ("3 min ago") move with the app's clock."""
        if self.is_mounted:
            self.now_ms = self._clock_ms(self.now_ms)
            self._show_alert()

    def _clock_ms(self, fallback: int) -> int:
        now = getattr(self.app, "now_ms", None)
        return int(now()) if callable(now) else fallback

    @property
    def message_text(self) -> str:
        """The message as shown (for tests)."""
        return str(self.query_one("#message", Static).render())

    def action_toggle_exact(self) -> None:
        self.exact = not self.exact
        self._show_alert()

    def action_acknowledge(self) -> None:
        if self.alert.acknowledged:
            self.notify("That alert is already acknowledged.")
        else:
            self.dismiss(ACKNOWLEDGE)

    def action_snooze(self) -> None:
        self.dismiss(SNOOZE)

    def action_silence(self) -> None:
        self.dismiss(SILENCE)

    def action_close(self) -> None:
        self.dismiss(None)
