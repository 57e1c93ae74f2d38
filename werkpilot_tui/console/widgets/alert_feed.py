"""``#alerts``: the alert feed, newest first; level and state shown by word and symbol.

Below ``COMPACT_BELOW`` cells (the feed beside the budgets in an 80-column terminal) level
and state keep only their symbols, which doubles the room left for the message; Enter on a
row shows the whole alert (screens/alert_detail.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

from werkpilot_tui.console.view_models import AlertRow
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.keyed_table import KeyedTable
from werkpilot_tui.console.widgets.palette import LEVEL_SYMBOL, LEVEL_WORD, Palette
from werkpilot_tui.console.widgets.text import TextCell, cell

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("time", "Time", 6),
    ("level", "Level", 6),
    ("state", "State", 6),
    ("message", "Message", 60),
)
#: Narrow feeds: level and state as symbols (● ▲ ✖ and ● ✔ ◷ ⊘ ✓, ⇧ when escalated).
COMPACT: dict[str, tuple[str, int]] = {"level": ("", 1), "state": ("", 2)}
MIN_MESSAGE = 10
COMPACT_BELOW = 46  # the feed is ~36 cells wide at 80 columns, ~56 at 120
STATE_SYMBOL = {"● NEW": "●", "✔ ack": "✔", "✓ done": "✓", "◷ snz": "◷", "⊘ mute": "⊘"}


def state_word(a: AlertRow) -> str:
    """Resolved, silenced (``S``), snoozed (``A``), acknowledged or open; ⇧ escalated."""
    if a.resolved:
        word = "✓ done"
    elif a.silenced:
        word = "⊘ mute"
    elif a.acknowledged and a.acknowledged_until_ms is not None:
        word = "◷ snz"
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

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.compact = False
        self._shown: tuple[Sequence[AlertRow], int, Palette] | None = None

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, alerts: Sequence[AlertRow], now_ms: int, palette: Palette) -> None:
        self._shown = (alerts, now_ms, palette)
        width = self.size.width
        self._set_compact(0 < width < COMPACT_BELOW)
        self._fit_message(self.room(len(alerts)))
        # Ties (same millisecond) keep core's order reversed: the later raised goes first.
        order = sorted(enumerate(alerts), key=lambda p: (p[1].timestamp_ms, p[0]), reverse=True)
        self.sync([(a.id, alert_cells(a, now_ms, palette, self.compact)) for _, a in order])

    def _fit_message(self, room: int) -> None:
        """The message takes the room the other columns leave (no sideways scrolling)."""
        if room <= 0:
            return
        others = sum(
            (COMPACT[key][1] if self.compact and key in COMPACT else width) + 2 * self.cell_padding
            for key, _, width in COLUMNS
            if key != "message"
        )
        self.set_widths({"message": max(MIN_MESSAGE, room - others - 2 * self.cell_padding)})

    def _set_compact(self, compact: bool) -> None:
        if compact == self.compact:
            return
        self.compact = compact
        widths = {}
        for key, label, width in COLUMNS:
            if key in COMPACT:
                short, narrow = COMPACT[key]
                self.columns[key].label = Text(short if compact else label)  # type: ignore[index]
                widths[key] = narrow if compact else width
        self.set_widths(widths)


def alert_cells(
    a: AlertRow, now_ms: int, palette: Palette, compact: bool = False
) -> list[TextCell]:
    open_ = not a.acknowledged and not a.resolved
    level_style = palette.level(a.level)
    text_style: Style | str = Style(bold=True) if open_ else palette.muted
    message = (f"×{a.count} " if a.count > 1 else "") + a.message
    symbol = LEVEL_SYMBOL.get(a.level, "?")
    level = symbol if compact else f"{symbol} {LEVEL_WORD.get(a.level, a.level)}"
    state = state_word(a)
    if compact:
        escalated = state.endswith("⇧")
        state = STATE_SYMBOL[state.removesuffix("⇧")] + ("⇧" if escalated else "")
    return [
        cell(fmt.short_time(a.timestamp_ms, now_ms), palette.muted, a.timestamp_ms),
        cell(level, level_style, a.level),
        cell(state, _state_style(a, level_style, palette), (a.acknowledged, a.resolved, state)),
        cell(message, text_style, a.message, width=200),
    ]


def _state_style(a: AlertRow, level_style: Style | str, palette: Palette) -> Style | str:
    """Open in its level's colour; resolved (✓) in the ok colour, acknowledged (✔) muted: the
    two glyphs alone look alike, and the narrow feed shows only the glyph."""
    if a.resolved:
        return palette.ok
    if a.acknowledged:
        return palette.muted
    return level_style
