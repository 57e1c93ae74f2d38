"""Burn-rate rules on money (pure: spend per window, a budget and a time in, verdicts out).

The SRE multiwindow, multi-burn-rate rule applied to a monthly budget ``B`` over a month of
``P`` hours: ``burn(w) = spend(w) / (B * w / P)``, i.e. 1.0 spends exactly the budget by the
month's end, 14.4 spends 2 % of it in an hour. ``P`` is the real length of the current UTC
month (28 to 31 days), so the same spend burns faster in February.

Pairs (a long window for significance, a short one so the alert stops soon after the burn
does): page (critical) when burn >= 14.4 over 1 h and 5 min, or >= 6 over 6 h and 30 min;
ticket (warning) when >= 1 over 3 d and 6 h. A pair raises when both its windows reach the
threshold and resolves when both are below it (one above, one below: it stays as it was);
a level resolves when every pair of that level does.

Across a month boundary: ``B`` is always the current month's budget, while ``spend(w)`` is
whatever the ledger recorded in the window, whichever month it fell in. On the 1st at 02:00
the 3 d window still holds the last 70 hours of the previous month: a runaway that started
last month keeps its ticket instead of being forgotten at midnight.

Comparisons are exact (integer nano-dollars against an exact fraction), so a spend exactly
at a threshold raises and one nano-dollar less does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Literal, NamedTuple

from core.clock import MS_PER_DAY
from core.costs.nanos import NANOS_PER_USD

MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
#: The windows the rules read, by their exported names (``window`` label of the gauge).
WINDOWS: dict[str, int] = {
    "5m": 5 * MS_PER_MINUTE,
    "30m": 30 * MS_PER_MINUTE,
    "1h": MS_PER_HOUR,
    "6h": 6 * MS_PER_HOUR,
    "3d": 3 * MS_PER_DAY,
}
#: The window the console's budget bars and the status line show.
SHOWN_WINDOW = "1h"
Rule = Literal["page", "ticket"]
Verdict = Literal["raise", "resolve", "hold"]


class BurnPair(NamedTuple):
    """Two windows that must both burn at ``threshold`` or more (a NamedTuple, not a
    dataclass: the status line imports this, and dataclasses costs it milliseconds)."""

    rule: Rule
    level: Literal["critical", "warning"]
    long: str
    short: str
    threshold: float

    @property
    def name(self) -> str:
        return f"{self.long}/{self.short}"


PAIRS: tuple[BurnPair, ...] = (
    BurnPair("page", "critical", "1h", "5m", 14.4),
    BurnPair("page", "critical", "6h", "30m", 6.0),
    BurnPair("ticket", "warning", "3d", "6h", 1.0),
)
RULES: tuple[Rule, ...] = ("page", "ticket")


def month_ms(now: datetime) -> int:
    """The length of ``now``'s UTC month in ms (28, 29, 30 or 31 days): ``P``."""
    now = now.astimezone(UTC)
    nxt = date(now.year + now.month // 12, now.month % 12 + 1, 1)
    return (nxt - date(now.year, now.month, 1)).days * MS_PER_DAY


def burn_rate(spend_nanos: int, budget: float, window_ms: int, month: int) -> float:
    """``spend / (B * w / P)``; 0 without a positive budget (nothing to burn through)."""
    if budget <= 0 or window_ms <= 0:
        return 0.0
    return spend_nanos * month / (float(budget) * NANOS_PER_USD * window_ms)


def spend_needed(threshold: float, budget: float, window_ms: int, month: int) -> int:
    """The least nano-dollars in the window whose burn reaches ``threshold`` (exact)."""
    exact = (
        Fraction(repr(float(threshold)))
        * Fraction(repr(float(budget)))
        * NANOS_PER_USD
        * window_ms
        / month
    )
    return -(-exact.numerator // exact.denominator)


class RuleVerdict(NamedTuple):
    """What one rule (page or ticket) says about a department now."""

    rule: Rule
    level: Literal["critical", "warning"]
    verdict: Verdict
    pair: BurnPair  # the pair that raises (the first one), else the rule's first pair


def evaluate(spends: Mapping[str, int], budget: float, month: int) -> list[RuleVerdict]:
    """Per rule: raise (some pair has both windows at or over its threshold), resolve
    (every pair has both below) or hold. Nothing to say without a positive budget."""
    if budget <= 0:
        return []
    out: list[RuleVerdict] = []
    for rule in RULES:
        pairs = [p for p in PAIRS if p.rule == rule]
        firing: BurnPair | None = None
        clear = True
        for p in pairs:
            long_at = spends[p.long] >= spend_needed(p.threshold, budget, WINDOWS[p.long], month)
            short_at = spends[p.short] >= spend_needed(p.threshold, budget, WINDOWS[p.short], month)
            if long_at and short_at and firing is None:
                firing = p
            clear = clear and not long_at and not short_at
        verdict: Verdict = "raise" if firing else "resolve" if clear else "hold"
        out.append(RuleVerdict(rule, pairs[0].level, verdict, firing or pairs[0]))
    return out


def headroom(spends: Mapping[str, int], budget: float, month: int) -> int | None:
    """Nano-dollars more, added to every window at once (new spend in the current minute),
    before some pair that does not fire yet would; None when every pair fires already."""
    if budget <= 0:
        return None
    room: int | None = None
    for p in PAIRS:
        need = max(
            spend_needed(p.threshold, budget, WINDOWS[p.long], month) - spends[p.long],
            spend_needed(p.threshold, budget, WINDOWS[p.short], month) - spends[p.short],
        )
        if need > 0 and (room is None or need < room):
            room = need
    return room


def rates(spends: Mapping[str, int], budget: float, month: int) -> dict[str, float]:
    """Every window's burn rate."""
    return {w: burn_rate(spends[w], budget, ms, month) for w, ms in WINDOWS.items()}


__all__ = [
    "PAIRS",
    "RULES",
    "SHOWN_WINDOW",
    "WINDOWS",
    "BurnPair",
    "RuleVerdict",
    "burn_rate",
    "evaluate",
    "headroom",
    "month_ms",
    "rates",
    "spend_needed",
]
