"""Burn-rate alerts: raise and resolve ``budget_burn_rate`` alerts by the pairs of
core/costs/burn.py, through the alert manager like the budget levels.

One alert per department and rule: ``page`` (critical) and ``ticket`` (warning) have
different fingerprints (type, level, department), so dedup, escalation and acknowledgement
work as for every other alert; ``data.rule`` lets a rule's alert (and a ticket's escalation)
be resolved without touching the other rule's. Evaluating costs five bisections, and is
skipped when it cannot change anything: windows are whole minutes, so within one minute new
spend only raises every window by the same amount, and nothing can happen before that amount
reaches the headroom of the nearest pair that does not fire yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.costs.burn import WINDOWS, RuleVerdict, burn_rate, evaluate, headroom, month_ms
from core.costs.recent import MS_PER_MINUTE, RecentSpend

if TYPE_CHECKING:
    from core.alerts.manager import AlertManager

TYPE = "budget_burn_rate"


class BurnAlerts:
    """Tells the alert manager about burn rates; remembers when it last looked."""

    def __init__(self, alert_manager: Callable[[], AlertManager]) -> None:
        self._alerts = alert_manager  # called only when there is something to say
        # department -> (minute evaluated, the total below which nothing can change in it:
        # its total then plus the headroom then, or infinity without a headroom)
        self._seen: dict[str, tuple[int, float]] = {}
        self._raised: set[tuple[str, str]] = set()  # (department, rule) this process raised

    def check(
        self,
        dept: str,
        recent: RecentSpend,
        budget: float,
        now: datetime | None,
        now_ms: int,
        force: bool = False,
    ) -> None:
        """Evaluate ``dept``'s pairs at ``now_ms`` (``now``: the same as a datetime, made
        from ``now_ms`` when None and needed: ``track_cost`` reads the clock as ms only)."""
        series = recent.departments.get(dept)  # ``recent.total(dept)``, without the call
        total = series.total if series is not None else 0
        minute = now_ms // MS_PER_MINUTE
        seen = self._seen.get(dept)
        if not force and seen is not None and seen[0] == minute and total < seen[1]:
            return
        month = month_ms(now if now is not None else datetime.fromtimestamp(now_ms / 1000, UTC))
        spends = {w: recent.spend(dept, now_ms, ms) for w, ms in WINDOWS.items()}
        room = headroom(spends, budget, month)
        self._seen[dept] = (minute, math.inf if room is None else total + room)
        verdicts = evaluate(spends, budget, month)
        if not verdicts and force:  # no budget (any more): nothing can be burning
            for rule in ("page", "ticket"):
                self._alerts().resolve(TYPE, department=dept, rule=rule)
        for v in verdicts:
            key = (dept, v.rule)
            if v.verdict == "raise":
                if key not in self._raised:  # once per process; the manager dedups
                    self._raise(dept, v, spends, budget, month)
                    self._raised.add(key)
            elif v.verdict == "resolve":
                self._raised.discard(key)
                # no I/O unless this process knows of an open alert of that rule
                self._alerts().resolve(TYPE, department=dept, rule=v.rule)

    def _raise(
        self, dept: str, v: RuleVerdict, spends: dict[str, int], budget: float, month: int
    ) -> None:
        p = v.pair
        burn_long = burn_rate(spends[p.long], budget, WINDOWS[p.long], month)
        burn_short = burn_rate(spends[p.short], budget, WINDOWS[p.short], month)
        self._alerts().add_alert(
            v.level,
            TYPE,
            f"Department {dept} is burning its monthly budget at {burn_long:.1f}x the pace "
            f"that lasts the month over {p.long} ({burn_short:.1f}x over {p.short}; "
            f"{v.rule} at {p.threshold:g}x)",
            data={
                "department": dept,
                "rule": v.rule,
                "window": p.name,
                "long_window": p.long,
                "short_window": p.short,
                "burn_long": round(burn_long, 6),
                "burn_short": round(burn_short, 6),
                "threshold": p.threshold,
                "budget": budget,
            },
        )


__all__ = ["TYPE", "BurnAlerts"]
