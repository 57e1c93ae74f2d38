"""Pick how long to snooze an alert or silence its condition (``A`` and ``S``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

from werkpilot_tui.console.alert_actions import Choice


class DurationPicker(ModalScreen[Choice | None]):
    """Returns the chosen ``Choice`` (Enter, or its number), or None on Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        *(Binding(str(i), f"pick({i - 1})", show=False) for i in range(1, 5)),
    ]
    DEFAULT_CSS = """
    DurationPicker { align: center middle; }
    DurationPicker > Vertical {
        width: 64; max-width: 100%; height: auto; padding: 0 1;
        border: round $primary; background: $surface;
    }
    DurationPicker Label { width: 100%; }
    DurationPicker #about { color: $text-muted; }
    DurationPicker OptionList { height: auto; }
    """

    def __init__(self, title: str, about: str, choices: Sequence[Choice]) -> None:
        super().__init__()
        self.title_text = title
        self.about = about
        self.choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"), id="title")
            yield Label(Text(self.about), id="about")  # literal: it quotes the alert
            yield OptionList(
                *(Text(f"{i}  {c.label}") for i, c in enumerate(self.choices, 1)), id="choices"
            )
            yield Label("Enter or 1–4 chooses · Esc cancels", id="keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick(event.option_index)

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index])

    def action_cancel(self) -> None:
        self.dismiss(None)
