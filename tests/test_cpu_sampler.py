"""The one CPU sampler: a figure over a real interval, shared by every consumer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import namedtuple

from core.monitor.health import CpuSampler, cpu_sampler, sample_health

Times = namedtuple("Times", "user system idle iowait guest")


class FakeCpu:
    """A psutil-like ``cpu_times`` source and a clock, both moved by the test."""

    def __init__(self) -> None:
        self.busy = 0.0
        self.idle = 0.0
        self.now = 0.0
        self.reads = 0

    def times(self) -> Times:
        self.reads += 1
        return Times(user=self.busy, system=0.0, idle=self.idle, iowait=0.0, guest=0.0)

    def run(self, seconds: float, busy_share: float) -> None:
        self.now += seconds
        self.busy += seconds * busy_share
        self.idle += seconds * (1 - busy_share)


def test_figure_is_the_busy_share_between_two_readings() -> None:
    cpu = FakeCpu()
    sampler = CpuSampler(cpu.times, clock=lambda: cpu.now, min_interval_s=1.0)
    assert sampler.percent() is None  # one reading: no interval yet
    cpu.run(2.0, 0.25)
    assert sampler.percent() == 25.0
    cpu.run(1.0, 1.0)
    assert sampler.percent() == 100.0
    cpu.run(4.0, 0.0)
    assert sampler.percent() == 0.0


def test_readings_closer_than_the_interval_repeat_the_last_figure() -> None:
    """Two consumers asking microseconds apart used to read 100 % or 0 %: noise."""
    cpu = FakeCpu()
    sampler = CpuSampler(cpu.times, clock=lambda: cpu.now, min_interval_s=1.0)
    sampler.percent()
    cpu.run(1.5, 0.4)
    assert sampler.percent() == 40.0
    reads = cpu.reads
    cpu.run(0.001, 1.0)  # another consumer right after: same figure, no new reading
    assert sampler.percent() == 40.0 and cpu.reads == reads
    cpu.run(0.999, 1.0)  # the interval since the last reading is complete: 1 s, all busy
    assert sampler.percent() == 100.0


def test_guest_time_is_not_counted_twice() -> None:
    sampler_times = iter(
        [
            Times(user=0.0, system=0.0, idle=0.0, iowait=0.0, guest=0.0),
            Times(user=1.0, system=0.0, idle=1.0, iowait=0.0, guest=1.0),  # guest ⊂ user
        ]
    )
    now = iter([0.0, 2.0])
    sampler = CpuSampler(lambda: next(sampler_times), clock=lambda: next(now))
    sampler.percent()
    assert sampler.percent() == 50.0


def test_every_consumer_reads_the_one_shared_sampler() -> None:
    sampler = cpu_sampler()
    assert cpu_sampler() is sampler
    from werkpilot_tui.console.live import host_health

    first = sample_health().cpu.usage
    console = host_health().cpu_percent
    assert console is None or console == first  # same figure, not a second noisy reading


def test_real_load_reads_above_zero_and_quick_rereads_are_not_noise() -> None:
    sampler = CpuSampler(min_interval_s=0.5)
    sampler.percent()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.5)
        loaded = sampler.percent()
    finally:
        busy.kill()
        busy.wait()
    assert loaded is not None and loaded > 0
    # Right after a reading another caller gets the same figure: never a 0-length interval
    # (psutil.cpu_percent(None) twice in a row reads 0 % or 100 % on an idle host).
    assert sampler.percent() == loaded
    time.sleep(0.6)
    quiet = sampler.percent()
    assert quiet is not None and 0 <= quiet <= 100
