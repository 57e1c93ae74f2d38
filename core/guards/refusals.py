"""``core.Refused`` and its kinds: why the guard would not let an agent spend (pure, no I/O).

Each refusal carries a message and its structured fields (agent, department, cap, spent, ...)
and is recorded as an execution with status ``refused`` whose ``error`` reads
``"<kind>: <message>"``, so the kind survives in the journal without a new record field and
``refusal_kind`` reads it back for ``/metrics`` and the console.
"""

from __future__ import annotations

from typing import Any, ClassVar

#: The kinds, as recorded and exported (``werkpilot_refusals_total{reason=...}``).
KINDS = ("agent_paused", "budget_exhausted", "run_cap_reached", "loop_detected")


class Refused(Exception):
    """The guard refused a run or a model call before anything was spent."""

    kind: ClassVar[str] = "refused"

    def __init__(
        self, message: str, *, agent: str, department: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.agent = agent
        self.department = department
        self.fields: dict[str, Any] = fields
        fields["agent"], fields["department"] = agent, department

    def __getattr__(self, name: str) -> Any:
        """The structured fields as attributes (``exc.cap``, ``exc.spent``, ...)."""
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable (a pool hands a worker's refusal to the parent), fields included."""
        fields = {k: v for k, v in self.fields.items() if k not in ("agent", "department")}
        return _rebuild, (type(self), self.message, self.agent, self.department, fields)

    @property
    def reason(self) -> str:
        """``"<kind>: <message>"``: what the refused execution records as its error."""
        return f"{self.kind}: {self.message}"


class AgentPaused(Refused):
    """An operator paused the agent (``Core.control.pause``); fields: ``actor``, ``since``."""

    kind = "agent_paused"


class BudgetExhausted(Refused):
    """The department reached its hard cap this month; fields: ``cap``, ``spent`` (USD)."""

    kind = "budget_exhausted"


class RunCapReached(Refused):
    """The run reached its own ``max_cost_usd`` or ``max_calls``; fields: ``cap``, ``spent``
    or ``calls``, and ``limit`` (``"max_cost_usd"`` or ``"max_calls"``)."""

    kind = "run_cap_reached"


class LoopDetected(Refused):
    """The same call (model + fingerprint) came more than ``loop_max`` times within
    ``loop_window_s``; fields: ``model``, ``fingerprint``, ``count``, ``window_s``."""

    kind = "loop_detected"


def _rebuild(
    cls: type[Refused], message: str, agent: str, department: str | None, fields: dict[str, Any]
) -> Refused:
    return cls(message, agent=agent, department=department, **fields)


def refusal_kind(error: str | None) -> str:
    """The kind of a refused execution from its recorded error (``"refused"`` if unknown)."""
    if error:
        head = error.split(":", 1)[0]
        if head in KINDS:
            return head
    return "refused"


__all__ = [
    "KINDS",
    "AgentPaused",
    "BudgetExhausted",
    "LoopDetected",
    "Refused",
    "RunCapReached",
    "refusal_kind",
]
