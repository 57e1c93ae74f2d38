"""Loop detection: the same call fingerprint too often within a sliding window (pure).

Per process: a runaway loop repeats in the process that runs it. Each (agent, model,
fingerprint) keeps the times of its recent calls; the ``limit + 1``-th call within
``window_ns`` is refused (and not counted, so the agent stays refused until the window
slides past). At most ``max_keys`` fingerprints are remembered, oldest forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable


class LoopWatch:
    """Counts calls per fingerprint in a sliding window; time is passed in (ns)."""

    def __init__(self, limit: int, window_ns: int, *, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_ns = window_ns
        self.max_keys = max_keys
        self._calls: OrderedDict[Hashable, deque[int]] = OrderedDict()

    def hit(self, key: Hashable, now_ns: int) -> int:
        """Count one call of ``key`` at ``now_ns``; returns 0 when allowed, else how many
        calls of it the window already holds (the call is refused and not counted)."""
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = deque()
            if len(self._calls) > self.max_keys:
                self._calls.popitem(last=False)
        else:
            self._calls.move_to_end(key)
            edge = now_ns - self.window_ns
            while calls and calls[0] <= edge:
                calls.popleft()
        if len(calls) >= self.limit:
            return len(calls)
        calls.append(now_ns)
        return 0

    def forget(self) -> None:
        self._calls.clear()


__all__ = ["LoopWatch"]
