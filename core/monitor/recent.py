"""The newest executions per agent, by timestamp, for the console's detail screen (pure)."""

from __future__ import annotations

import heapq
from bisect import insort
from operator import itemgetter
from typing import Any

from core.monitor.windows import is_sorted, picker


class Newest:
    """The newest ``size`` items per key by timestamp (on equal timestamps, the later added)."""

    def __init__(self, size: int = 100) -> None:
        self.size = size
        self.items: dict[str, list[tuple[int, int, Any]]] = {}  # oldest first
        self._seq = 0

    def add(self, key: str, ts: int, payload: Any) -> None:
        self._seq = seq = self._seq + 1
        try:
            lst = self.items[key]
        except KeyError:
            lst = self.items[key] = []
        item = (ts, seq, payload)  # the unique sequence number keeps payloads uncompared
        if len(lst) < self.size:
            insort(lst, item)
        elif item > lst[0]:
            insort(lst, item)
            del lst[0]

    def add_groups(self, groups: dict[str, list[int]], ts: list[int], payload: list[Any]) -> None:
        """Add a batch already grouped by key (see ``RollingWindows.add_batch``)."""
        base = self._seq
        self._seq += len(ts)
        for key, idx in groups.items():
            ts_g = picker(idx)(ts)
            old = self.items.get(key, [])
            if is_sorted(ts_g):
                top = idx[-self.size :]  # in time order: the newest are the last ones
                new = [(ts[i], base + i + 1, payload[i]) for i in top]
                if not old or old[-1][0] <= new[0][0]:  # all newer: no merge needed
                    self.items[key] = (old + new)[-self.size :]
                    continue
            else:
                top = heapq.nlargest(self.size, idx, key=ts.__getitem__)
                new = [(ts[i], base + i + 1, payload[i]) for i in top]
            merged = old + new
            merged.sort(key=itemgetter(0, 1))
            self.items[key] = merged[-self.size :]

    def absorb(self, other: Newest) -> None:
        """Add the items ``other`` kept of a run of adds that came after this one's.

        Each key keeps the ``size`` greatest (timestamp, sequence) items of everything added,
        so keeping the greatest of both sides is the same as having added it all here.
        """
        base = self._seq
        for key, items in other.items.items():
            shifted = [(ts, base + seq, p) for ts, seq, p in items]
            old = self.items.get(key)
            if old:
                shifted = old + shifted
                shifted.sort(key=itemgetter(0, 1))
            self.items[key] = shifted[-self.size :]
        self._seq += other._seq

    def newest(self, key: str) -> list[Any]:
        """Payloads, newest first."""
        return [p for _, _, p in reversed(self.items.get(key, ()))]
