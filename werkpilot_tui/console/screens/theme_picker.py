"""Theme picker: previews the highlighted theme, Enter keeps and remembers it, Escape undoes."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from werkpilot_tui.console.settings import remember_theme

OURS = "werkpilot-"


class ThemePicker(ModalScreen[str | None]):
    """Lists every registered theme (ours first); returns the chosen name or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "choose", "Apply", show=False),
    ]
    DEFAULT_CSS = """
    ThemePicker { align: center middle; }
    ThemePicker > Vertical {
        width: 48; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ThemePicker Label { width: 100%; color: $text-muted; }
    ThemePicker OptionList { height: auto; max-height: 20; border: none; }
    """

    def __init__(self, remember: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.remember = remember or remember_theme
        self.original = ""

    def compose(self) -> ComposeResult:
        self.original = self.app.theme
        names = sorted(self.app.available_themes, key=lambda n: (not n.startswith(OURS), n))
        options = [Option(Text(("✔ " if n == self.original else "  ") + n), id=n) for n in names]
        with Vertical():
            yield Label("Theme — ↑↓ preview, Enter apply, Esc cancel")
            yield OptionList(*options, id="themes")

    def on_mount(self) -> None:
        themes = self.query_one(OptionList)
        themes.highlighted = themes.get_option_index(self.original)
        themes.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.app.theme = event.option.id  # preview

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._apply(event.option.id)

    def action_choose(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        self._apply(option.id if option else None)

    def _apply(self, name: str | None) -> None:
        if not name:
            return
        self.app.theme = name
        self.remember(name)
        self.dismiss(name)

    def action_cancel(self) -> None:
        if self.original:
            self.app.theme = self.original
        self.dismiss(None)
