"""Edit one department's monthly budget: a typed modal with inline validation."""

from __future__ import annotations

import math
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from werkpilot_tui.widgets import format as fmt
from werkpilot_tui.widgets.text import neutralise


def parse_amount(raw: str) -> float:
    """A positive, finite USD amount from what was typed (``$1,200.50`` is fine)."""
    cleaned = raw.strip().removeprefix("$").replace(",", "").replace("_", "").strip()
    if not cleaned:
        raise ValueError("Enter an amount in USD.")
    try:
        amount = float(cleaned)
    except ValueError:
        raise ValueError(f"Not a number: {neutralise(raw.strip())!r}.") from None
    if not math.isfinite(amount) or amount <= 0:
        raise ValueError("The budget must be a positive amount.")
    return amount


class BudgetModal(ModalScreen[float | None]):
    """Returns the new budget on Enter, or None on Escape; nothing is saved here."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    BudgetModal { align: center middle; }
    BudgetModal > Vertical {
        width: 56; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    BudgetModal #budget-error { color: $text-error; height: auto; }
    BudgetModal .hint { color: $text-muted; }
    """

    def __init__(self, department: str, current: float, spent: float = 0.0) -> None:
        super().__init__()
        self.department = department
        self.current = current
        self.spent = spent

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Monthly budget for {neutralise(self.department)}", style="bold"))
            yield Static(
                Text(
                    f"Now {fmt.money(self.current)}; spent this month {fmt.money(self.spent)}.",
                ),
                classes="hint",
            )
            yield Input(value=f"{self.current:g}", placeholder="USD", id="budget-input")
            yield Static("", id="budget-error")
            yield Static(Text("Enter saves · Escape cancels"), classes="hint")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#budget-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            amount = parse_amount(event.value)
        except ValueError as exc:
            self.query_one("#budget-error", Static).update(Text(f"✖ {exc}"))
            return
        self.dismiss(amount)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def error_text(self) -> str:
        """The inline error shown under the input ("" when none)."""
        rendered = self.query_one("#budget-error", Static).render()
        return str(rendered)
