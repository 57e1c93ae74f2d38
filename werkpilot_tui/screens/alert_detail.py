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

from werkpilot_tui.view_models import AlertRow
from werkpilot_tui.widgets import format as fmt
from werkpilot_tui.widgets.alert_feed import state_word
from werkpilot_tui.widgets.palette import LEVEL_SYMBOL, Palette
from werkpilot_tui.widgets.text import neutralise, safe_text

#: What the screen hands back when it closes: acknowledge, snooze or silence the alert,
#: or nothing (the dashboard acts, so the confirmation and undo are the same as there).
ACKNOWLEDGE = "acknowledge"
SNOOZE = "snooze"
SILENCE = "silence"


def alert_fields(alert: AlertRow, now_ms: int) -> list[tuple[str, str]]:
    """The alert's fields as (label, value) rows, values not yet neutralised."""
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
    rows.extend(alert.details)
    rows.append(("Id", alert.id))
    return rows


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class AlertDetailScreen(ModalScreen[str | None]):
    """One alert: level, state, the whole message and every field; ``a`` acknowledges it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Ack alert"),
        Binding("A", "snooze", "Snooze"),
        Binding("S", "silence", "Silence"),
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

    def compose(self) -> ComposeResult:
        a = self.alert
        symbol = LEVEL_SYMBOL.get(a.level, "?")
        title = Text(f"{symbol} {neutralise(a.level).upper()}", self.palette.level(a.level))
        title.append(f"  ·  {state_word(a)}")
        with Vertical():
            yield Static(title, id="title")
            yield Static(Text(neutralise(a.message)), id="message")  # literal, wrapped
            yield DataTable(id="fields", cursor_type="none", show_header=False)
            keys = "A snoozes · S silences · Esc closes"
            if not a.acknowledged:
                keys = "a acknowledges · " + keys
            yield Label(keys, id="keys")

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.add_column("Field", key="field")
        table.add_column("Value", key="value")
        for label, value in alert_fields(self.alert, self.now_ms):
            table.add_row(Text(label, style="bold"), safe_text(value, width=200))

    @property
    def message_text(self) -> str:
        """The message as shown (for tests)."""
        return str(self.query_one("#message", Static).render())

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
