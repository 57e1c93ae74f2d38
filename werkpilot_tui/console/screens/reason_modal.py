"""Confirm an action that stops or starts an agent (``p``), asking why: the reason goes to
the audit trail. Enter confirms, Escape cancels and nothing is written."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from werkpilot_tui.console.widgets.text import neutralise

#: core.records.AuditEvent keeps reasons up to this many characters.
MAX_REASON = 2000


class ReasonModal(ModalScreen[str | None]):
    """Returns the reason typed (may be empty) on Enter, or None on Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ReasonModal { align: center middle; }
    ReasonModal > Vertical {
        width: 64; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ReasonModal .hint { color: $text-muted; }
    """

    def __init__(self, title: str, about: str, confirm: str) -> None:
        super().__init__()
        self.title_text = title
        self.about = about
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(neutralise(self.title_text), style="bold"), id="reason-title")
            yield Static(Text(neutralise(self.about)), classes="hint")
            yield Input(
                placeholder="reason (kept in the audit trail)",
                id="reason-input",
                max_length=MAX_REASON,
            )
            yield Static(Text(f"Enter {self.confirm} · Escape cancels"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
