"""Time: the injectable clock and conversions between epoch milliseconds, datetimes and days."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

Clock = Callable[[], datetime]
MS_PER_DAY = 86_400_000
EPOCH_DAY = date(1970, 1, 1)


def system_clock() -> datetime:
    """The real time, as an aware UTC datetime."""
    return datetime.now(UTC)


def to_ms(value: int | float | datetime) -> int:
    """Epoch milliseconds from epoch ms or an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp: datetime must be timezone-aware (UTC)")
        return int(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"timestamp: expected epoch milliseconds or a datetime, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"timestamp: must be non-negative epoch milliseconds, got {value!r}")
    return int(value)


def now_ms(clock: Clock) -> int:
    if clock is system_clock:  # the hot path of every record: 0.1 µs instead of 0.65 µs
        return time.time_ns() // 1_000_000
    return to_ms(clock())


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def day_of_ms(ms: int) -> date:
    """The UTC day an epoch-ms timestamp falls on."""
    return EPOCH_DAY + timedelta(days=ms // MS_PER_DAY)


def day_start_ms(day: date) -> int:
    return (day - EPOCH_DAY).days * MS_PER_DAY


def parse_day(value: str | date | datetime | None, clock: Clock) -> date:
    """A day from ``YYYY-MM-DD``, a date or a datetime; today (UTC) when None."""
    if value is None:
        return clock().astimezone(UTC).date()
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"date: expected YYYY-MM-DD, got {value!r}") from None
