"""Connection limits of ``serve``: one deadline and byte budget per request head, and the
table of open connections that picks which one to evict when every slot is taken.

Kept apart from the HTTP handler so the eviction rule is a plain function."""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("werkpilot_tui.server")

#: Bytes received while reading a request's line and headers (the stdlib alone would allow a
#: 64 KiB line plus 100 headers of 64 KiB each).
MAX_HEAD_BYTES = 128 * 1024


class HeadTooLarge(Exception):
    """The request line and headers went over ``MAX_HEAD_BYTES``."""


class DeadlineReader(io.RawIOBase):
    """The socket's read side, with an optional overall deadline and byte budget.

    The socket timeout bounds each ``recv``; a client sending a byte every few seconds
    never trips it, so the head of a request gets one deadline for all its reads."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.deadline: float | None = None  # time.monotonic() by which the read must be done
        self.budget: int | None = None  # bytes that may still be received
        self.evicted = False

    def evict(self) -> None:
        """Close the connection under its thread: a half-read request is dropped, not run."""
        self.evicted = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # the thread's recv returns at once
        except OSError:
            pass

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is None:
            n = self.sock.recv_into(buffer)
        else:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request head not received in time")
            self.sock.settimeout(min(self.timeout, left))
            try:
                n = self.sock.recv_into(buffer)
            finally:
                self.sock.settimeout(self.timeout)
        if self.evicted:
            raise ConnectionAbortedError("connection evicted: every slot was taken")
        if self.budget is not None:
            self.budget -= n
            if self.budget < 0:
                raise HeadTooLarge(f"request line and headers over {MAX_HEAD_BYTES} bytes")
        return n


@dataclass
class _Connection:
    reader: DeadlineReader
    ip: str
    waiting_since: float | None  # monotonic: waiting for a request's head; None while busy


def pick_victim(connections: Mapping[int, tuple[str, float | None]]) -> int | None:
    """Of ``{key: (address, waiting since or None when busy)}``, the one to evict, or None.

    Only connections waiting for a request's head qualify; the victim comes from the address
    holding the most connections and, within it, has waited longest. A slow or idle client
    loses its slot before one that sends its request at once, and one address cannot keep
    the others out."""
    per_address: dict[str, int] = {}
    for address, _ in connections.values():
        per_address[address] = per_address.get(address, 0) + 1
    waiting = [(key, a, since) for key, (a, since) in connections.items() if since is not None]
    if not waiting:
        return None
    return min(waiting, key=lambda k_a_s: (-per_address[k_a_s[1]], k_a_s[2]))[0]


class ConnectionTable:
    """The open connections of a server (thread-safe), each waiting or busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[int, _Connection] = {}

    def track(self, key: int, reader: DeadlineReader, ip: str) -> None:
        with self._lock:
            self._connections[key] = _Connection(reader, ip, time.monotonic())

    def set_waiting(self, key: int, waiting: bool) -> None:
        with self._lock:
            conn = self._connections.get(key)
            if conn is not None:
                conn.waiting_since = time.monotonic() if waiting else None

    def untrack(self, key: int) -> None:
        with self._lock:
            self._connections.pop(key, None)

    def counts(self) -> tuple[int, int]:
        """Open connections, and how many of them are waiting for a request's head."""
        with self._lock:
            conns = list(self._connections.values())
        return len(conns), sum(c.waiting_since is not None for c in conns)

    def evict_one(self) -> bool:
        """Close the connection ``pick_victim`` names; False if every one is busy."""
        with self._lock:
            key = pick_victim({k: (c.ip, c.waiting_since) for k, c in self._connections.items()})
            if key is None:
                return False
            victim = self._connections.pop(key)  # never picked twice
        log.info("evicted a waiting connection from %s (all slots taken)", victim.ip)
        victim.reader.evict()
        return True
