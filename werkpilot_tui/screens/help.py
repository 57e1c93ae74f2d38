"""Help: every key of the screen underneath and of the app, read from their bindings.

Nothing is written by hand here, so the help can never disagree with what the keys do.
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


def bindings_of(node: DOMNode) -> list[Binding]:
    """A node's bindings (inherited ones and keymap changes included), in declaration order."""
    seen: set[tuple[str, str]] = set()
    out: list[Binding] = []
    for bindings in node._bindings.key_to_bindings.values():
        for binding in bindings:
            if (binding.key, binding.action) in seen:
                continue
            seen.add((binding.key, binding.action))
            out.append(binding)
    return out


def help_entries(app: App[object], screen: Screen[object] | None) -> list[HelpEntry]:
    """The keys of ``screen`` then of ``app``; bindings without a description are internal."""
    entries: list[HelpEntry] = []
    taken: set[str] = set()
    scopes: list[tuple[DOMNode, str]] = []
    if screen is not None:
        scopes.append((screen, _screen_title(screen)))
    scopes.append((app, "everywhere"))
    for node, scope in scopes:
        # Footer keys first, then the quieter ones (focus moves, copy, hidden aliases).
        for binding in sorted(bindings_of(node), key=lambda b: not b.show):
            description = binding.description or binding.tooltip
            if not description or binding.key in taken:
                continue  # a screen's key shadows the app's
            taken.add(binding.key)
            entries.append(HelpEntry(app.get_key_display(binding), description, scope))
    return entries


def _screen_title(screen: Screen[object]) -> str:
    name = type(screen).__name__.strip("_").removesuffix("Screen") or "screen"
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
        width: 72; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen Label { width: 100%; color: $text-muted; }
    HelpScreen DataTable { height: auto; max-height: 30; }
    """

    def __init__(self, screen: Screen[object] | None = None) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Keys — Esc, q or ? closes")
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        screen = self.for_screen or self._screen_below()
        table: DataTable[Text] = self.query_one(DataTable)
        table.add_column("Key", key="key")
        table.add_column("Action", key="action")
        table.add_column("Where", key="where")
        for entry in help_entries(self.app, screen):
            table.add_row(
                Text(entry.key, style="bold"),
                Text(entry.description),
                Text(entry.scope, style="dim"),
                key=entry.key,
            )
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
