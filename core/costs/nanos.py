"""Money as integer nano-dollars: the one USD -> nano-dollar rounding and back (pure).

Apart from core/costs/pricing.py (which re-exports both) so that the status line can sum
ledger lines exactly as the ledger does without importing the price tables.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

NANOS_PER_USD = 1_000_000_000


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


__all__ = ["NANOS_PER_USD", "nanos_to_usd", "usd_to_nanos"]
