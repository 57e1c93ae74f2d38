"""Per-department spend over the last minutes to days, from minute buckets (pure, no I/O).

Burn-rate alerts (core/costs/burn.py) ask for a department's spend over the last 5 min to 3 d
on every cost entry; scanning entries or day cells would grow with history. Each department
keeps the UTC minutes it spent in, sorted, beside running (prefix) sums of nano-dollars, so
any window is two bisections and one subtraction over at most ``HORIZON_MIN`` minutes.

Windows are whole minutes: the window of ``w`` minutes at ``now`` holds the minutes ``m``
with ``now_min - w < m <= now_min`` (the current, partial minute included), so its edge is
exact to the minute, not the millisecond. Minutes at least ``HORIZON_MIN`` before a
department's newest one can never be in a window again: they are dropped (amortised) and
never counted, whatever order the entries came in, so a rebuild and a checkpoint agree.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

MS_PER_MINUTE = 60_000
#: The longest window asked for (3 days), in minutes.
HORIZON_MIN = 3 * 24 * 60
_TRIM_EVERY = 1024  # new minutes between trims: keeps the lists within ~HORIZON + 1024


class MinuteSeries:
    """One department's spend per minute, sorted, with prefix sums."""

    __slots__ = ("_trim_at", "minutes", "pending", "prefix", "total")

    def __init__(self) -> None:
        self.minutes: list[int] = []
        self.prefix: list[int] = [0]  # prefix[i]: the sum of the first i (offset after trims)
        self.pending: list[tuple[int, int]] = []  # out-of-order minutes, merged on the next read
        self.total = 0  # nano-dollars ever added (the "anything new?" check of the alerts)
        self._trim_at = _TRIM_EVERY

    def add(self, minute: int, nanos: int) -> None:
        """Add spend to a minute: O(1) for the newest minute or a later one."""
        self.total += nanos
        m = self.minutes
        if not m or minute > m[-1]:
            m.append(minute)
            self.prefix.append(self.prefix[-1] + nanos)
            if len(m) >= self._trim_at:
                self._trim()
        elif minute == m[-1]:
            self.prefix[-1] += nanos
        elif minute > m[-1] - HORIZON_MIN:
            self.pending.append((minute, nanos))
        # else: too old to be in any window again

    @property
    def newest(self) -> int | None:
        return self.minutes[-1] if self.minutes else None

    def _merge(self) -> None:
        """Fold the out-of-order minutes in (rare: another process's entry a minute late)."""
        sums = dict(self.items(everything=True))
        for minute, nanos in self.pending:
            sums[minute] = sums.get(minute, 0) + nanos
        self.pending.clear()
        self.minutes = sorted(sums)
        self.prefix = [0]
        for minute in self.minutes:
            self.prefix.append(self.prefix[-1] + sums[minute])

    def _trim(self) -> None:
        cut = bisect_right(self.minutes, self.minutes[-1] - HORIZON_MIN)
        if cut:
            del self.minutes[:cut]
            del self.prefix[:cut]
        self._trim_at = len(self.minutes) + _TRIM_EVERY

    def spend(self, now_min: int, width_min: int) -> int:
        """Nano-dollars spent in the minutes ``now_min - width_min < m <= now_min``."""
        if self.pending:
            self._merge()
        m = self.minutes
        if not m:
            return 0
        lo = max(now_min - width_min, m[-1] - HORIZON_MIN)
        i = bisect_right(m, lo)
        j = bisect_right(m, now_min)
        return self.prefix[j] - self.prefix[i] if j > i else 0

    def items(self, everything: bool = False) -> Iterator[tuple[int, int]]:
        """(minute, nanos) in minute order: those still within the horizon of the newest."""
        if self.pending and not everything:
            self._merge()
        m, p = self.minutes, self.prefix
        start = 0 if everything or not m else bisect_right(m, m[-1] - HORIZON_MIN)
        for i in range(start, len(m)):
            yield m[i], p[i + 1] - p[i]


class RecentSpend:
    """Every department's minute series; what the ledger's aggregates fold entries into."""

    __slots__ = ("departments",)

    def __init__(self) -> None:
        self.departments: dict[str, MinuteSeries] = {}

    def add(self, department: str, timestamp_ms: int, nanos: int) -> None:
        """Fold one entry in (``department`` already lower case, as budgets are)."""
        series = self.departments.get(department)
        if series is None:
            series = self.departments[department] = MinuteSeries()
        series.add(timestamp_ms // MS_PER_MINUTE, nanos)

    def series(self, department: str) -> MinuteSeries:
        """``department``'s series, created empty on first use (never replaced: the
        ledger's aggregates keep it to add to)."""
        series = self.departments.get(department)
        if series is None:
            series = self.departments[department] = MinuteSeries()
        return series

    def spend(self, department: str, now_ms: int, width_ms: int) -> int:
        """Nano-dollars ``department`` spent in the window of ``width_ms`` ending at ``now_ms``
        (whole minutes, see the module doc)."""
        series = self.departments.get(department)
        if series is None:
            return 0
        return series.spend(now_ms // MS_PER_MINUTE, width_ms // MS_PER_MINUTE)

    def total(self, department: str) -> int:
        series = self.departments.get(department)
        return series.total if series is not None else 0

    def rows(self) -> list[tuple[str, int, int]]:
        """(department, minute, nanos) within each department's horizon: the checkpoint's."""
        return [
            (dept, minute, nanos)
            for dept, series in sorted(self.departments.items())
            for minute, nanos in series.items()
        ]

    def add_row(self, department: str, minute: int, nanos: int) -> None:
        """Fold one checkpoint row back in."""
        series = self.departments.get(department)
        if series is None:
            series = self.departments[department] = MinuteSeries()
        series.add(minute, nanos)


__all__ = ["HORIZON_MIN", "MS_PER_MINUTE", "MinuteSeries", "RecentSpend"]
