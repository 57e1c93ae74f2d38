"""The newest executions per agent, by timestamp, for the console's detail screen (pure)."""

from __future__ import annotations

import heapq
from bisect import insort
from operator import itemgetter
from typing import Any

from core.windows import picker


class Newest:
    """The newest ``size`` items per key by timestamp (on equal timestamps, the later added)."""

    def __init__(self, size: int = 100) -> None:
        self.size = size
        self.items: dict[str, list[tuple[int, int, Any]]] = {}  # oldest first
        self._seq = 0

    def add(self, key: str, ts: int, payload: Any) -> None:
        self._seq += 1
        lst = self.items.get(key)
        if lst is None:
            lst = self.items[key] = []
        item = (ts, self._seq, payload)  # the unique sequence number keeps payloads uncompared
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
            if all(map(int.__le__, ts_g, ts_g[1:])):
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

    def newest(self, key: str) -> list[Any]:
        """Payloads, newest first."""
        return [p for _, _, p in reversed(self.items.get(key, ()))]
