"""Budget alerts: raise a department's level as its month spend crosses 75/90/100 % of its
budget, and resolve the levels it falls back under (a budget edit, a new month)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from core.costs.forecast import LEVELS, level_bars, level_of, percent
from core.costs.pricing import nanos_to_usd

if TYPE_CHECKING:
    from core.alerts.manager import AlertManager


class BudgetAlerts:
    """Tells the alert manager about budget levels; remembers what it last told it."""

    def __init__(self, alert_manager: Callable[[], AlertManager], levels: Sequence[float]) -> None:
        self._alerts = alert_manager  # called only when there is something to say
        self._levels = levels
        self._state: dict[str, tuple[int, int]] = {}  # department -> (level index, nanos)
        self._bars: dict[float, list[int]] = {}  # budget -> its levels in whole nano-dollars
        self._floors: dict[float, int] = {}  # budget -> its lowest level (when it has one)

    def level(self, spent: int, budget: float) -> int:
        """Index into LEVELS of the highest level ``spent`` reached (-1: none), exactly as
        ``level_index`` says, from the budget's levels worked out once."""
        bars = self._bars.get(budget)
        if bars is None:
            if len(self._bars) >= 1024:
                self._bars.clear()
                self._floors.clear()
            bars = self._bars[budget] = level_bars(budget, self._levels)
            if bars:
                self._floors[budget] = min(bars)
        return level_of(spent, bars)

    def check(self, dept: str, spent: int, budget: float, force: bool = False) -> None:
        """Raise the level reached (the open alert's value is updated when spend moved).

        Lower levels stay open: they still hold. ``force`` (budget edits, periodic checks)
        also resolves every level above the one reached; otherwise that happens only when
        this process saw the level drop.
        """
        prev = self._state.get(dept)
        if not force and prev is not None and prev[0] < 0:
            floor = self._floors.get(budget)
            if floor is not None and spent < floor:
                # Still below every level: nothing to say. The state keeps the spend it
                # had: with level -1, what follows never reads it (no alert, no resolve).
                return
        idx = self.level(spent, budget)
        if prev == (idx, spent) and not force:
            return
        self._state[dept] = (idx, spent)
        if idx < 0 and prev is None and not force:
            return
        if idx >= 0 and prev != (idx, spent):
            level, kind = LEVELS[idx]
            pct = percent(spent, budget)
            usd = nanos_to_usd(spent)
            self._alerts().add_alert(
                level,
                kind,
                f"Department {dept} has used {pct:.1f}% of its monthly budget "
                f"(${usd:.2f} of ${budget:.2f})",
                data={"department": dept, "spent": usd, "budget": budget, "percentage": pct},
            )
        if force or (prev is not None and prev[0] > idx):
            for _, kind in LEVELS[idx + 1 :]:
                self._alerts().resolve(kind, department=dept)


__all__ = ["BudgetAlerts"]
