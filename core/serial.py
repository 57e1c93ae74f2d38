"""One thread at a time in a recording component (``PerformanceMonitor``, ``CostTracker``).

An agent's threads share the process-wide components (``core.track`` without its own
monitor and tracker). A component's write path — append, claim its own line, fold it in,
check alerts — and its read path — catch up on the files, then answer — must not interleave:
a catch-up reading a line that another thread is about to claim counted it twice. Each
public method of a component therefore holds the component's re-entrant lock (``_serial``),
uncontended ~0.1 µs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Serial(Protocol):
    @property
    def _serial(self) -> _Lock: ...


class _Lock(Protocol):
    def __enter__(self) -> object: ...
    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> object: ...


S = TypeVar("S", bound=Serial)


def serialized(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """``method`` run holding ``self._serial``."""

    @functools.wraps(method)
    def locked(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._serial:
            return method(self, *args, **kwargs)

    return locked


__all__ = ["serialized"]
