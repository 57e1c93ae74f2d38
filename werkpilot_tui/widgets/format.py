"""Display formatting of figures (rounding happens here and only here)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def money(usd: float) -> str:
    if usd >= 10_000:
        return f"${usd / 1000:,.1f}k"
    if usd >= 100:
        return f"${usd:,.0f}"
    if usd >= 0.01 or usd == 0:
        return f"${usd:,.2f}"
    return f"${usd:.4f}"


def money_short(usd: float) -> str:
    """Whole dollars from $10 up (at most six characters below $1M): $86, $1,234, $12.3k."""
    if usd >= 10_000:
        return f"${usd / 1000:,.1f}k"
    if usd >= 10:
        return f"${usd:,.0f}"
    return f"${usd:.2f}"


def percent(ratio: float) -> str:
    """A ratio (0.153) as a percentage (15.3%)."""
    return f"{ratio * 100:.1f}%"


def percent_short(ratio: float) -> str:
    """A percentage in at most four characters: 4.8%, 15%, 100%."""
    value = ratio * 100
    return f"{value:.1f}%" if round(value, 1) < 10 else f"{value:.0f}%"


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
