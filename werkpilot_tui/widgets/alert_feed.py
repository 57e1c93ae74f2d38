"""``#alerts``: the alert feed, newest first; level and state shown by word and symbol."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style

from werkpilot_tui.view_models import AlertRow
from werkpilot_tui.widgets import format as fmt
from werkpilot_tui.widgets.keyed_table import KeyedTable
from werkpilot_tui.widgets.palette import LEVEL_SYMBOL, LEVEL_WORD, Palette
from werkpilot_tui.widgets.text import Cell, cell

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("time", "Time", 6),
    ("level", "Level", 6),
    ("state", "State", 6),
    ("message", "Message", 60),
)


def state_word(a: AlertRow) -> str:
    """Resolved, acknowledged or open; escalation marked with ⇧."""
    if a.resolved:
        word = "✓ done"
    elif a.acknowledged:
        word = "✔ ack"
    else:
        word = "● NEW"
    return word + ("⇧" if a.escalated or a.escalated_from else "")


class AlertFeed(KeyedTable):
    """Alerts keyed by id; the cursor row is the one ``a`` acknowledges."""

    DEFAULT_CSS = """
    AlertFeed { height: 1fr; }
    """

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(self, alerts: Sequence[AlertRow], now_ms: int, palette: Palette) -> None:
        # Ties (same millisecond) keep core's order reversed: the later raised goes first.
        order = sorted(enumerate(alerts), key=lambda p: (p[1].timestamp_ms, p[0]), reverse=True)
        self.sync([(a.id, alert_cells(a, now_ms, palette)) for _, a in order])


def alert_cells(a: AlertRow, now_ms: int, palette: Palette) -> list[Cell]:
    open_ = not a.acknowledged and not a.resolved
    level_style = palette.level(a.level)
    text_style: Style | str = Style(bold=True) if open_ else palette.muted
    message = (f"×{a.count} " if a.count > 1 else "") + a.message
    return [
        cell(fmt.short_time(a.timestamp_ms, now_ms), palette.muted, a.timestamp_ms),
        cell(
            f"{LEVEL_SYMBOL.get(a.level, '?')} {LEVEL_WORD.get(a.level, a.level)}",
            level_style,
            a.level,
        ),
        cell(state_word(a), level_style if open_ else palette.muted, (a.acknowledged, a.resolved)),
        cell(message, text_style, a.message, width=200),
    ]
