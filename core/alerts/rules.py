"""Alert rules and input validation for the alert manager.

A rule sees each new alert raised in this process: ``level``/``type`` filter, ``condition``
filters further, ``action`` runs. Exceptions in a rule are logged and never reach the code
that raised the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.alerts.state import LEVELS, Alert
from core.records import check_data, check_name

logger = logging.getLogger("werkpilot.alerts")
rules_logger = logging.getLogger("werkpilot.alerts.rules")
ADD_KEYS = frozenset({"level", "type", "message", "data"})
RULE_KEYS = frozenset({"name", "level", "type", "condition", "action"})
QUERY_KEYS = frozenset({"limit", "level", "type", "acknowledged", "since", "resolved"})


@dataclass(frozen=True)
class Rule:
    """Runs ``action`` on each new alert of ``level``/``type`` (None: any) meeting ``condition``."""

    name: str
    level: str | None = None
    type: str | None = None
    condition: Callable[[Alert], Any] | None = None
    action: Callable[[Alert], Any] | None = None

    def run(self, alert: Alert) -> None:
        """Apply the rule; an exception in the condition or action is logged, never raised."""
        if self.level is not None and alert.level != self.level:
            return
        if self.type is not None and alert.type != self.type:
            return
        try:
            if self.condition is not None and not self.condition(alert):
                return
            if self.action is not None:
                self.action(alert)
        except Exception:
            logger.exception("alert rule %r failed on alert %s", self.name, alert.id)


def _log_rule(text: str) -> Callable[[Alert], None]:
    def action(alert: Alert) -> None:
        rules_logger.warning("%s: %s", text, alert.message)

    return action


DEFAULT_RULES = (
    Rule("critical_error_rate", "critical", "error_rate", action=_log_rule("Critical error rate")),
    Rule("budget_exceeded", "critical", "budget_exceeded", action=_log_rule("Budget exceeded")),
    Rule("slow_response", "warning", "response_time", action=_log_rule("Slow response time")),
)


def from_mapping(args: Any, keys: frozenset[str], what: str) -> dict[str, Any]:
    """The single-mapping call form (one dict of the keyword arguments), refusing unknown keys."""
    if not isinstance(args, Mapping):
        raise TypeError(f"{what}: expected a mapping, got {type(args).__name__}")
    unknown = set(args) - keys
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    return dict(args)


def validate_alert(
    level: Any, type: Any, message: Any, data: Any
) -> tuple[str, str, str, dict[str, Any]]:
    """Check an alert's fields before anything is written (errors name the field)."""
    if level not in LEVELS:
        raise ValueError(f"level: expected one of {', '.join(LEVELS)}, got {level!r}")
    type_ = check_name(type, "type")
    if not isinstance(message, str):
        raise ValueError(f"message: expected text, got {message!r}")
    if data is None:
        data = {}
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise ValueError(f"data: expected a mapping with string keys, got {data!r}")
    data = dict(data)
    check_data(data)
    return level, type_, message, data


def make_rule(
    name: Any,
    level: Any = None,
    type: Any = None,
    condition: Any = None,
    action: Any = None,
) -> Rule:
    """A validated rule (the error names the bad argument)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    if level is not None and level not in LEVELS:
        raise ValueError(f"level: expected one of {', '.join(LEVELS)}, got {level!r}")
    if type is not None:
        check_name(type, "type")
    for label, fn in (("condition", condition), ("action", action)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{label}: expected a callable, got {fn!r}")
    return Rule(name, level, type, condition, action)
