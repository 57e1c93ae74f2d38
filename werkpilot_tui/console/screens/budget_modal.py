"""Edit one department's monthly budget: a typed modal with inline validation."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from core import MAX_MONTHLY_BUDGET_USD, Config, budget_problem
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.text import neutralise

#: Longer input is not an amount anyone means (the ceiling has 8 digits).
MAX_INPUT = 40
#: core.records.AuditEvent keeps reasons up to this many characters.
MAX_REASON = 2000


def parse_amount(raw: str, max_usd: float = MAX_MONTHLY_BUDGET_USD) -> float:
    """A positive USD amount up to ``max_usd`` from what was typed (``$1,200.50`` is fine).

    The bounds are core's (``budget_problem``), so the editor refuses what core would."""
    cleaned = raw.strip().removeprefix("$").replace(",", "").replace("_", "").strip()
    if not cleaned:
        raise ValueError("Enter an amount in USD.")
    try:
        amount = float(cleaned)
    except ValueError:
        amount = float("nan")
    problem = budget_problem(amount, max_usd)
    if problem is None:
        return amount
    if problem.startswith("must be a number"):  # also "nan"
        raise ValueError(f"Not a number: {neutralise(raw.strip()[:MAX_INPUT])!r}.")
    if problem.startswith("too large"):  # also inf and 1e309
        raise ValueError(f"Too large (max {problem.partition('max ')[2]}.")
    raise ValueError(f"The budget {problem}.")


class BudgetModal(ModalScreen[float | None]):
    """Returns the new budget on Enter, or None on Escape; nothing is saved here. The
    optional reason typed under it is left in ``reason`` (for the audit trail)."""

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
        self.reason = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Monthly budget for {neutralise(self.department)}", style="bold"))
            yield Static(
                Text(
                    f"Now {fmt.money(self.current)}; spent this month {fmt.money(self.spent)}.",
                ),
                classes="hint",
            )
            yield Input(
                value=f"{self.current:g}",
                placeholder="USD",
                id="budget-input",
                max_length=MAX_INPUT,
            )
            yield Static("", id="budget-error")
            yield Input(
                placeholder="reason (optional, kept in the audit trail)",
                id="budget-reason",
                max_length=MAX_REASON,
            )
            yield Static(Text("Enter saves · Escape cancels"), classes="hint")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "budget-input":
            self.query_one("#budget-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        raw = self.query_one("#budget-input", Input).value
        try:
            amount = parse_amount(raw, self.max_usd)
        except ValueError as exc:
            self.query_one("#budget-error", Static).update(Text(f"✖ {exc}"))
            return
        self.reason = self.query_one("#budget-reason", Input).value.strip()
        self.dismiss(amount)

    @property
    def max_usd(self) -> float:
        """The ceiling of the app's configuration (``[budget_limits] max_monthly_usd``)."""
        config = getattr(self.app, "config", None)
        if isinstance(config, Config):
            return config.budget_limits.max_monthly_usd
        return MAX_MONTHLY_BUDGET_USD

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def error_text(self) -> str:
        """The inline error shown under the input ("" when none)."""
        rendered = self.query_one("#budget-error", Static).render()
        return str(rendered)
