"""Host health for the system metrics: CPU load, memory, this process's memory, host uptime.

psutil answers portably; the figures are cached for a second (of the injected clock) because
some of these calls are slow and a dashboard asks many times per refresh.

CPU use is a difference between two readings of the host's CPU times, so it means something
only over a real interval: every consumer in a process (the console header, ``serve``'s system
metrics, fleet mode) reads the one shared ``CpuSampler``, which takes a new reading at most
once per ``min_interval_s`` and otherwise repeats its last figure. Two callers of
``psutil.cpu_percent(None)`` microseconds apart read 0 % or 100 % — noise.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from core.clock import Clock, system_clock, to_ms


class _Shape(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CpuHealth(_Shape):
    usage: float = Field(description="host CPU use in percent since the previous sample")
    load_avg: list[float] = Field(description="1, 5 and 15 minute load averages")


class MemoryHealth(_Shape):
    total: int  # bytes
    free: int  # bytes available to new processes
    used: int  # total - free
    process_usage: int  # resident memory of this process, bytes


class SystemHealth(_Shape):
    cpu: CpuHealth
    memory: MemoryHealth
    uptime: float  # host uptime in seconds (since boot, not this process)


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds from a ``psutil.cpu_times()``-like reading.

    As psutil counts: idle and iowait are not busy; guest time is already inside user/nice.
    """
    fields = getattr(times, "_fields", None) or tuple(vars(times))
    total = sum(float(getattr(times, f)) for f in fields if f not in ("guest", "guest_nice"))
    idle = float(getattr(times, "idle", 0.0)) + float(getattr(times, "iowait", 0.0))
    return total - idle, total


class CpuSampler:
    """Host CPU use in percent over the interval between two readings of the CPU times.

    ``percent()`` takes a new reading when at least ``min_interval_s`` (of ``clock``) passed
    since the previous one and returns the busy share of the CPU time in between; sooner, it
    returns the last figure. ``None`` until the first interval is complete. Thread-safe.
    """

    def __init__(
        self,
        times: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = 1.0,
    ) -> None:
        if times is None:
            import psutil  # deferred: only processes that ask for health pay the import

            times = psutil.cpu_times
        self._times = times
        self._clock = clock
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._prev: tuple[float, float, float] | None = None  # (at, busy, total)
        self._figure: float | None = None

    def percent(self) -> float | None:
        with self._lock:
            now = self._clock()
            if self._prev is not None and now - self._prev[0] < self.min_interval_s:
                return self._figure
            busy, total = _busy_and_total(self._times())
            if self._prev is not None:
                _, busy0, total0 = self._prev
                delta = total - total0
                if delta > 0:
                    self._figure = round(max(0.0, min(100.0, (busy - busy0) / delta * 100)), 1)
                else:  # no CPU time counted in between (coarse counters): nothing ran
                    self._figure = 0.0
            self._prev = (now, busy, total)
            return self._figure


_shared: CpuSampler | None = None
_shared_lock = threading.Lock()


def cpu_sampler() -> CpuSampler:
    """The process's one CPU sampler (created, and its first reading taken, on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CpuSampler()
            _shared.percent()
        return _shared


def sample_health() -> SystemHealth:
    """Measure the host now (no caching; CPU from the shared sampler)."""
    import psutil  # deferred: only processes that ask for health pay the import

    vm = psutil.virtual_memory()
    try:
        load = [float(x) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        load = [0.0, 0.0, 0.0]
    return SystemHealth(
        cpu=CpuHealth(usage=cpu_sampler().percent() or 0.0, load_avg=load),
        memory=MemoryHealth(
            total=int(vm.total),
            free=int(vm.available),
            used=int(vm.total - vm.available),
            process_usage=int(psutil.Process().memory_info().rss),
        ),
        uptime=max(0.0, time.time() - psutil.boot_time()),
    )


class HealthCache:
    """Host health, sampled at most once per ``ttl_ms`` of the clock."""

    def __init__(self, clock: Clock | None = None, ttl_ms: int = 1000) -> None:
        self.clock = clock or system_clock
        self.ttl_ms = ttl_ms
        self._value: SystemHealth | None = None
        self._at = 0

    def get(self, now: int | datetime | None = None) -> SystemHealth:
        now_ms = to_ms(self.clock() if now is None else now)
        if self._value is None or not 0 <= now_ms - self._at < self.ttl_ms:
            self._value = sample_health()
            self._at = now_ms
        return self._value
