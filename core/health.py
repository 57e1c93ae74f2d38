"""Host health for the system metrics: CPU load, memory, this process's memory, host uptime.

psutil answers portably; the figures are cached for a second (of the injected clock) because
some of these calls are slow and a dashboard asks many times per refresh.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

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
    uptime: float  # host uptime in seconds (the seed's os.uptime())


def sample_health() -> SystemHealth:
    """Measure the host now (no caching)."""
    import psutil  # deferred: only processes that ask for health pay the import

    vm = psutil.virtual_memory()
    try:
        load = [float(x) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        load = [0.0, 0.0, 0.0]
    return SystemHealth(
        cpu=CpuHealth(usage=float(psutil.cpu_percent(interval=None)), load_avg=load),
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
