"""One thread at a time in a recording component (``PerformanceMonitor``, ``CostTracker``).

An agent's threads share the process-wide components (``core.track`` without its own
monitor and tracker). A component's write path — append, claim its own line, fold it in,
check alerts — and its read path — catch up on the files, then answer — must not interleave:
a catch-up reading a line that another thread is about to claim counted it twice. Each
public method of a component therefore holds the component's re-entrant lock (``_serial``),
uncontended ~0.1 µs.

Locks made by :func:`owned_lock` are made anew in a forked child: a thread that held one at
the fork does not exist there, and the child's first record would wait for it forever.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

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
L = TypeVar("L")


def serialized(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """``method`` run holding ``self._serial``."""

    @functools.wraps(method)
    def locked(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._serial:
            return method(self, *args, **kwargs)

    return locked


#: Every object holding an ``owned_lock``: attribute -> how to make the lock again.
_owners: weakref.WeakKeyDictionary[Any, dict[str, Callable[[], Any]]] = weakref.WeakKeyDictionary()


def owned_lock(owner: object, attribute: str, factory: Callable[[], L]) -> L:
    """``factory()``, to be stored as ``owner.<attribute>``; made anew there in a forked
    child."""
    _owners.setdefault(owner, {})[attribute] = factory
    return factory()


def _renew_in_child() -> None:
    for owner, locks in list(_owners.items()):
        for attribute, factory in locks.items():
            setattr(owner, attribute, factory())


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_renew_in_child)


__all__ = ["owned_lock", "serialized"]
