"""Money as integer nano-dollars: the one USD -> nano-dollar rounding and back (pure).

Apart from core/costs/pricing.py (which re-exports both) so that the status line can sum
ledger lines exactly as the ledger does without importing the price tables.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

NANOS_PER_USD = 1_000_000_000
#: Below this many nano-dollars, ``usd_to_nanos(nanos_to_usd(n)) == n``: the float
#: n / 1e9 times 1e9 is within 2 ulp of n (at most ~2.3e-4 here), so the float path rounds
#: back to n and is never near a half (tests/test_hot_path.py checks the edges). Who knows
#: an amount in nano-dollars below it may pass it on rather than convert the USD again.
EXACT_NANOS = 10**12
#: ``nanos_to_usd(n) < EXACT_USD`` exactly when ``n < EXACT_NANOS`` (n >= 0): the division
#: is correctly rounded and monotonic, and 10**12 - 1 nano-dollars is a float below 1000.
EXACT_USD = 1000.0


def usd_to_nanos(cost: float) -> int:
    """USD as integer nano-dollars: ``round(Decimal(repr(cost)) * 10**9)``, half to even.

    The one USD -> nano-dollar rounding (the ledger, the monitor's windows and the
    Prometheus exposition all sum these). A float multiply answers the same except within
    float error of a half-nano tie or for huge amounts; those take the Decimal path.
    """
    x = cost * 1e9
    n = round(x)
    if x < 1e12 and abs(abs(x - n) - 0.5) > 1e-3:
        return n
    return int(Decimal(repr(float(cost))).scaleb(9).to_integral_value(ROUND_HALF_EVEN))


def nanos_to_usd(nanos: int) -> float:
    return nanos / NANOS_PER_USD


__all__ = ["EXACT_NANOS", "EXACT_USD", "NANOS_PER_USD", "nanos_to_usd", "usd_to_nanos"]
