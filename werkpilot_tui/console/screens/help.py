"""Help: every key of the screen underneath, of the screens it opens and of the app, read
from their bindings, and what every symbol in the tables, header and feed means.

Keys are never written by hand here, so the help can never disagree with what they do; the
symbols are checked against the constants that draw them (tests/test_app_alert_keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label


@dataclass(frozen=True, slots=True)
class HelpEntry:
    key: str  # as the footer shows it
    description: str
    scope: str  # "screen name" or "everywhere"


#: (symbol, meaning, where it appears): every glyph the console draws.
SYMBOLS: tuple[tuple[str, str, str], ...] = (
    ("●", "info level · in the state column: NEW, open, needs a human", "tables, feed"),
    ("▲", "warning level · slower than the response-time threshold", "tables, feed, header"),
    ("✖", "critical level · budget used up or forecast over it", "tables, feed, header"),
    ("✔", "no errors in the window · in the feed: ack, acknowledged (a)", "agents, feed"),
    ("◷", "snz: snoozed, acknowledged until a time (A)", "feed"),
    (
        "⊘",
        "mute: condition silenced, recorded but not sent or escalated (S) · agents: runs "
        "the guard refused (paused, hard cap, run cap, loop)",
        "feed, agents",
    ),
    ("✓", "done: the condition resolved", "feed"),
    ("⇧", "escalated: a warning unacknowledged too long became a critical", "feed"),
    ("×N", "the condition repeated N times in this alert", "feed"),
    ("⏸", "paused agent: its guard refuses every call until resumed (p)", "agents"),
    ("▲ ▼", "in a title: sorted ascending / descending", "agents"),
    ("█░", "share of the monthly budget spent", "budgets"),
    ("—", "no data (no runs in the window, no department)", "tables"),
)


def bindings_of(node: DOMNode | type[DOMNode]) -> list[Binding]:
    """A node's bindings (inherited ones and keymap changes included), in declaration order;
    for a class, its declared ones (the screens the current one opens)."""
    seen: set[tuple[str, str]] = set()
    out: list[Binding] = []
    bound = node._merge_bindings() if isinstance(node, type) else node._bindings
    for bindings in bound.key_to_bindings.values():
        for binding in bindings:
            if (binding.key, binding.action) in seen:
                continue
            seen.add((binding.key, binding.action))
            out.append(binding)
    return out


def help_entries(app: App[object], screen: Screen[object] | None) -> list[HelpEntry]:
    """The keys of ``screen``, of the app, then of the screens one key away (costs, alert
    detail: their keys are listed before they are opened); bindings without a description
    are internal."""
    entries: list[HelpEntry] = []
    taken: set[str] = set()
    scopes: list[tuple[DOMNode, str]] = []
    if screen is not None:
        scopes.append((screen, _screen_title(type(screen))))
    scopes.append((app, "everywhere"))
    for node, scope in scopes:
        # Footer keys first, then the quieter ones (focus moves, copy, hidden aliases).
        for binding in sorted(bindings_of(node), key=lambda b: not b.show):
            description = binding.description or binding.tooltip
            if not description or binding.key in taken:
                continue  # a screen's key shadows the app's
            taken.add(binding.key)
            entries.append(HelpEntry(app.get_key_display(binding), description, scope))
    for other in _other_screens():
        if screen is not None and isinstance(screen, other):
            continue
        for binding in bindings_of(other):
            description = binding.description or binding.tooltip
            if description:
                scope = _screen_title(other)
                entries.append(HelpEntry(app.get_key_display(binding), description, scope))
    return entries


def _other_screens() -> tuple[type[Screen[object]], ...]:
    from werkpilot_tui.console.screens.alert_detail import AlertDetailScreen  # deferred: start-up
    from werkpilot_tui.console.screens.audit import AuditScreen
    from werkpilot_tui.console.screens.costs import CostsScreen

    return (CostsScreen, AlertDetailScreen, AuditScreen)  # type: ignore[return-value]


def _screen_title(screen: type[DOMNode]) -> str:
    name = screen.__name__.strip("_").removesuffix("Screen") or "screen"
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


class HelpScreen(ModalScreen[None]):
    """The keys of the screen it was opened from, and the app's; Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False, key_display="?"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 80; max-width: 100%; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen Label { width: 100%; color: $text-muted; }
    HelpScreen #keys { height: 3fr; }
    HelpScreen #symbols { height: 2fr; }
    """

    def __init__(self, screen: Screen[object] | None = None) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Keys — Esc, q or ? closes · Tab: symbols")
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
            yield Label("Symbols")
            yield DataTable(id="symbols", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        screen = self.for_screen or self._screen_below()
        table: DataTable[Text] = self.query_one("#keys", DataTable)
        table.add_column("Key", key="key")
        table.add_column("Action", key="action")
        table.add_column("Where", key="where")
        for entry in help_entries(self.app, screen):
            table.add_row(
                Text(entry.key, style="bold"),
                Text(entry.description),
                Text(entry.scope, style="dim"),
            )
        symbols: DataTable[Text] = self.query_one("#symbols", DataTable)
        symbols.add_column("Symbol", key="symbol")
        symbols.add_column("Means", key="means")
        symbols.add_column("Where", key="where")
        for symbol, means, where in SYMBOLS:
            symbols.add_row(Text(symbol, style="bold"), Text(means), Text(where, style="dim"))
        table.focus()

    def _screen_below(self) -> Screen[object] | None:
        stack = self.app.screen_stack
        if self in stack:
            index = stack.index(self)
            return stack[index - 1] if index > 0 else None
        return stack[-1] if stack else None

    @property
    def entries(self) -> list[HelpEntry]:
        """What the table shows (for tests and the command palette)."""
        return help_entries(self.app, self.for_screen or self._screen_below())

    def action_close(self) -> None:
        self.dismiss(None)
