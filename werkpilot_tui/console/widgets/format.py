"""Display formatting of figures (rounding happens here and only here)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

#: Suffixes for amounts from $10,000 up: the figure is rounded, never cut.
_UNITS: tuple[tuple[float, str], ...] = ((1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T"))
#: No amount needs more: "$999.9k", "$1.2e15".
MONEY_SHORT_WIDTH = 7


def _scaled(usd: float, decimals: int) -> str:
    """``usd`` (≥ $1,000) with a k/M/B/T suffix, or as a power of ten beyond $999T."""
    for scale, unit in _UNITS:
        value = round(usd / scale, decimals)
        if value < 1000:
            return f"${value:.{decimals}f}{unit}"
    mantissa, exponent = f"{usd:.{decimals}e}".split("e")
    return f"${mantissa}e{int(exponent)}"


def _money_forms(usd: float) -> list[str]:
    """Ways to write ``usd`` (finite, ≥ 0), the most precise first; each is a rounding of
    the whole amount (a suffix or exponent scales it), never a cut."""
    if usd == 0:
        forms = ["$0.00"]
    elif round(usd, 2) < 0.01:
        forms = [f"${usd:.4f}", f"${usd:.3f}", f"${usd:.2f}"]
    elif round(usd, 2) < 100:
        forms = [f"${usd:,.2f}"]
    elif round(usd) < 10_000:
        forms = [f"${usd:,.0f}"]
    else:
        forms = [_scaled(usd, 1)]
    if 1 <= usd and round(usd, 1) < 100:
        forms.append(f"${usd:.1f}")
    if 1 <= usd and round(usd) < 1000:
        forms.append(f"${usd:.0f}")
    if round(usd) >= 1000:
        forms += [_scaled(usd, 1), _scaled(usd, 0)]
        mantissa, exponent = f"{usd:.0e}".split("e")
        forms.append(f"${mantissa}e{int(exponent)}")
    return forms


def money(usd: float, width: int = 0) -> str:
    """Dollars as people read them ($0.0012, $12.34, $1,234, $12.3k, $4.5M); with ``width``
    (≥ 5) the most precise form that fits: amounts are abbreviated, never cut."""
    if math.isnan(usd):
        return "—"
    if usd < 0:
        return "-" + money(-usd, max(0, width - 1) if width else 0)
    if math.isinf(usd):
        return "$∞"
    forms = _money_forms(usd)
    if width:
        return next((f for f in forms if len(f) <= width), min(forms, key=len))
    return forms[0]


def money_short(usd: float) -> str:
    """Whole dollars from $10 up, at most ``MONEY_SHORT_WIDTH`` characters: $86, $1,234,
    $12.3k, $4.5M, $1.2e15."""
    if math.isnan(usd) or math.isinf(usd) or usd < 0:
        return money(usd, MONEY_SHORT_WIDTH)
    if round(usd, 2) < 10:
        return f"${usd:.2f}"
    if round(usd) < 10_000:
        return f"${usd:,.0f}"
    return money(usd, MONEY_SHORT_WIDTH)


def percent(ratio: float) -> str:
    """A ratio (0.153) as a percentage (15.3%)."""
    return f"{ratio * 100:.1f}%"


def percent_short(ratio: float) -> str:
    """A percentage in at most four characters: 4.8%, 15%, 100%."""
    value = ratio * 100
    return f"{value:.1f}%" if round(value, 1) < 10 else f"{value:.0f}%"


def burn(rate: float) -> str:
    """A burn rate in at most six characters: 0.0×, 2.1×, 14.4×, 250×, >9999×."""
    if not math.isfinite(rate) or rate >= 9999.5:
        return ">9999×"
    return f"{rate:.1f}×" if round(rate, 1) < 100 else f"{rate:.0f}×"


def duration_ms(ms: float) -> str:
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms / 60_000:.1f}m"


def count(n: int) -> str:
    if n >= 10_000_000:
        return f"{n / 1_000_000:.0f}M"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


def span(ms: int) -> str:
    """A length of time, compact: 45s, 12m, 3h05m, 2d04h."""
    s = max(0, ms // 1000)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86_400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86_400}d{s % 86_400 // 3600:02d}h"


def ago(then_ms: int | None, now_ms: int) -> str:
    if then_ms is None:
        return "never"
    return f"{span(now_ms - then_ms)} ago"


def clock_time(ms: int, now_ms: int) -> str:
    """HH:MM:SS today, else 'DD Mon HH:MM' (UTC)."""
    then = datetime.fromtimestamp(ms / 1000, UTC)
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    if then.date() == now.date():
        return then.strftime("%H:%M:%S")
    return then.strftime("%d %b %H:%M")


def short_time(ms: int, now_ms: int) -> str:
    """HH:MM today, else 'DD Mon' (UTC): fits six columns."""
    then = datetime.fromtimestamp(ms / 1000, UTC)
    if then.date() == datetime.fromtimestamp(now_ms / 1000, UTC).date():
        return then.strftime("%H:%M")
    return then.strftime("%d %b")


def short_date(day: date | None) -> str:
    return "—" if day is None else day.strftime("%d %b")


def size_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"
