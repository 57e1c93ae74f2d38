"""A simulated fleet that writes through ``core`` so a newcomer sees a live console at once.

Twelve agents in five departments call several models with realistic durations, occasional
slow runs and errors (``ticket-triage`` fails often, so error-rate alerts appear;
``supply-planner`` is slow, so response-time alerts appear). A week of history is backfilled
on an empty data directory, including nightly batch jobs that put each department's month at
70-105 % of its budget, so budget alerts appear too. Then a background thread writes new
executions at ``rate`` per second until ``stop()``.

    python -m werkpilot_tui.demo DIR     # writes into DIR until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import random
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import Clock, system_clock, to_ms
from werkpilot_tui.console.live import StartupStep

if TYPE_CHECKING:
    from core import AlertManager, Config, Core, CostTracker, PerformanceMonitor

DEFAULT_RATE = 1.0  # executions per second, fleet-wide
BACKFILL_DAYS = 7
SLOW_MS = (31_000.0, 75_000.0)
ERRORS = (
    "RateLimitError: 429 rate_limit_error",
    "APITimeoutError: request timed out after 60s",
    "OverloadedError: 529 overloaded_error",
    "ToolError: output did not match the schema",
)


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """How one simulated agent behaves."""

    name: str
    department: str
    model: str
    duration_ms: float  # median
    input_tokens: int  # mean
    output_tokens: int  # mean
    error_rate: float
    slow_rate: float  # share of runs slower than 30 s
    weight: float  # how often it runs, relative to the others


FLEET: tuple[AgentProfile, ...] = (
    AgentProfile("lead-scorer", "sales", "claude-3-5-haiku-20241022", 1200, 1800, 400, 0.02, 0, 3),
    AgentProfile("deal-strategist", "sales", "claude-opus-4-1", 14000, 3000, 900, 0.03, 0.08, 2.5),
    AgentProfile("crm-enricher", "sales", "sonnet", 600, 120, 30, 0.01, 0, 3),
    AgentProfile(
        "campaign-copy", "marketing", "claude-sonnet-4-5", 7000, 2500, 1200, 0.02, 0.03, 1.5
    ),
    AgentProfile("seo-auditor", "marketing", "sonnet", 5000, 4000, 700, 0.04, 0.02, 1),
    AgentProfile("social-listener", "marketing", "haiku", 900, 1200, 250, 0.02, 0, 2.5),
    AgentProfile("invoice-matcher", "operations", "haiku", 1500, 2500, 300, 0.02, 0, 2),
    AgentProfile(
        "supply-planner", "operations", "claude-sonnet-4-5", 26000, 5000, 1500, 0.05, 0.4, 1
    ),
    AgentProfile(
        "ticket-triage", "support", "claude-3-5-haiku-20241022", 700, 1500, 300, 0.32, 0, 3
    ),
    AgentProfile("reply-drafter", "support", "sonnet", 4000, 2000, 700, 0.04, 0.02, 2),
    AgentProfile(
        "paper-digest", "research", "claude-sonnet-4-5", 18000, 8000, 1500, 0.03, 0.2, 0.6
    ),
    AgentProfile(
        "market-scan", "research", "claude-3-5-haiku-20241022", 6000, 6000, 1200, 0.05, 0.1, 1
    ),
)
#: Month-to-date spend the backfill aims at, as a share of each department's budget.
BUDGET_TARGETS: dict[str, float] = {
    "sales": 0.80,
    "marketing": 0.92,
    "operations": 1.04,
    "support": 0.72,
    "research": 0.86,
}
#: Prices used only to size the nightly batch jobs (sonnet, USD per token).
_BATCH_MODEL = "claude-sonnet-4-5"
_BATCH_USD_PER_OUTPUT_TOKEN = 4 * 3e-6 + 15e-6  # four input tokens per output token


class DemoFleet:
    """Simulated agents writing executions and costs into ``data_dir`` through core."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        seed: int | None = None,
        rate: float = DEFAULT_RATE,
        clock: Clock | None = None,
        config: Config | str | os.PathLike[str] | None = None,
        agents: Sequence[AgentProfile] = FLEET,
        backfill_days: int = BACKFILL_DAYS,
        quiet: bool = False,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate: must be positive, got {rate!r}")
        self.data_dir = Path(data_dir)
        self.rng = random.Random(seed)
        self.rate = rate
        self.clock: Clock = clock or system_clock
        self.config = config
        self.agents = tuple(agents)
        self.backfill_days = backfill_days
        self.quiet = quiet  # no alert log lines while backfilling (the console's terminal)
        self.written = 0  # executions written
        self._weights = [a.weight for a in self.agents]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = threading.Condition()
        self._pending_backfill = threading.Event()  # a background backfill not yet begun
        self._core: Core | None = None
        self.error: BaseException | None = None  # what stopped the thread, if anything
        #: (written, planned) while a backfill runs; None before and after it.
        self.backfilling: tuple[int, int] | None = None

    # ------------------------------------------------------------------ core
    def _components(self) -> tuple[PerformanceMonitor, CostTracker, AlertManager]:
        if self._core is None:
            import core

            # No channels or logging rules: simulated alerts must not mail anyone, and log
            # lines would land on the console's terminal. The console shows them from disk.
            self._core = core.open(
                self.data_dir, self.config, self.clock, channels=[], default_rules=False
            )
        return self._core.monitor, self._core.tracker, self._core.alerts

    def close(self) -> None:
        if self._core is not None:
            with contextlib.suppress(Exception):
                self._core.close()
            self._core = None

    # --------------------------------------------------------------- writing
    def _run_once(self, agent: AgentProfile, ts: int) -> None:
        monitor, tracker, _ = self._components()
        rng = self.rng
        failed = rng.random() < agent.error_rate
        slow = rng.random() < agent.slow_rate
        duration = rng.uniform(*SLOW_MS) if slow else agent.duration_ms * rng.lognormvariate(0, 0.4)
        input_tokens = max(1, int(agent.input_tokens * rng.lognormvariate(0, 0.35)))
        output_tokens = (
            0 if failed else max(1, int(agent.output_tokens * rng.lognormvariate(0, 0.35)))
        )
        cost = tracker.calculate_cost(agent.model, input_tokens, output_tokens)
        monitor.track_execution(
            agent.name,
            duration=round(duration, 1),
            status=("failed" if rng.random() < 0.2 else "error") if failed else "completed",
            tokens_used=input_tokens + output_tokens,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            model=agent.model,
            department=agent.department,
            cost=cost,
            cpu_time=round(duration * rng.uniform(0.05, 0.2), 1),
            memory_delta=float(rng.randint(-256, 4096) * 1024),
            api_calls=1 + (rng.random() < 0.3),
            error=rng.choice(ERRORS) if failed else None,
            timestamp=ts,
        )
        tracker.track_cost(
            agent.name,
            agent.department,
            model=agent.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            timestamp=ts,
        )
        with self._progress:
            self.written += 1
            self._progress.notify_all()

    def step(self, n: int = 1) -> int:
        """Write ``n`` executions timestamped now (by the fleet's clock)."""
        for _ in range(n):
            agent = self.rng.choices(self.agents, self._weights)[0]
            self._run_once(agent, to_ms(self.clock()))
        return n

    def backfill(self) -> int:
        """Write a week of history ending now, denser in the last hours; returns executions."""
        now = self.clock().astimezone(UTC)
        start = now - timedelta(days=self.backfill_days)
        events: list[tuple[int, AgentProfile]] = []
        hours = self.backfill_days * 24
        for h in range(hours):
            per_agent = 0.25 if h < hours - 3 else 4.0  # runs per hour per unit of weight
            hour_start = start + timedelta(hours=h)
            for agent in self.agents:
                for _ in range(self._poisson(per_agent * agent.weight)):
                    at = hour_start + timedelta(seconds=self.rng.uniform(0, 3600))
                    events.append((to_ms(min(at, now)), agent))
        events.sort(key=lambda e: e[0])
        self.backfilling = (0, len(events))
        try:
            with _quiet_alert_log(self.quiet):
                for i, (ts, agent) in enumerate(events):
                    if self._stop.is_set():  # stopped while backfilling in the background
                        return 0
                    self._run_once(agent, ts)
                    self.backfilling = (i + 1, len(events))
                self._backfill_batches(now)
        finally:
            self.backfilling = None
        return len(events)

    def preparing(self) -> StartupStep | None:
        """The console's start-up step while the history is being written, else None.

        A console opened on the demo builds nothing before this answers None: a dashboard of
        half a week's history would show every agent and budget too low."""
        state = self.backfilling
        if state is None:
            pending = self._pending_backfill.is_set()  # about to begin, or just finished
            return StartupStep("Writing a week of demo history") if pending else None
        done, planned = state
        return StartupStep(
            f"Writing a week of demo history: {done:,} of {planned:,} executions",
            done / planned if planned else None,
        )

    def _backfill_batches(self, now: datetime) -> None:
        """Nightly batch jobs on each past day of this month, sized to the budget targets."""
        _, tracker, _ = self._components()
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        days = [month_start + timedelta(days=d, hours=2) for d in range(now.day - 1)]
        if not days:  # the first of the month: today's small hours
            days = [min(month_start + timedelta(hours=1), now)]
        for department, target in BUDGET_TARGETS.items():
            dept = tracker.get_department_cost(department)
            missing = target * dept.budget - dept.total_cost
            if missing <= 0:
                continue
            per_day = missing / len(days)
            output_tokens = max(1, round(per_day / _BATCH_USD_PER_OUTPUT_TOKEN))
            for day in days:
                tracker.track_cost(
                    f"{department}-nightly-batch",
                    department,
                    model=_BATCH_MODEL,
                    input_tokens=4 * output_tokens,
                    output_tokens=output_tokens,
                    timestamp=day,
                )

    def _poisson(self, mean: float) -> int:
        # Knuth's method; the means here are small.
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # ---------------------------------------------------------------- thread
    def start(self, backfill: bool | None = None, *, background: bool = False) -> DemoFleet:
        """Backfill (by default only an empty data dir), then write live in a thread.

        ``background``: backfill in the thread too, so a console can paint at once and
        fill in as the history lands (about a second).
        """
        if self._thread is not None:
            return self
        monitor, _, _ = self._components()
        if backfill is None:
            backfill = not monitor.list_agents()
        if backfill and not background:
            self.backfill()
        elif backfill:
            self._pending_backfill.set()  # until the thread has begun it
        self._thread = threading.Thread(
            target=self._loop, args=(backfill and background,), name="werkpilot-demo", daemon=True
        )
        self._thread.start()
        return self

    def _loop(self, backfill: bool = False) -> None:
        try:
            if backfill:
                try:
                    self.backfill()
                finally:
                    self._pending_backfill.clear()
            while not self._stop.wait(self.rng.expovariate(self.rate)):
                self.step()
        except BaseException as exc:  # reported by stop(); the console keeps running
            self.error = exc
        finally:
            self.close()

    def wait_written(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` executions were written in total (for tests)."""
        with self._progress:
            return self._progress.wait_for(lambda: self.written >= count, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the core components."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:
            self.close()

    def __enter__(self) -> DemoFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def _quiet_alert_log(quiet: bool) -> Iterator[None]:
    """Silence core's console alert channel (a log line per alert) for a while."""
    logger = logging.getLogger("werkpilot.alerts")
    before = logger.disabled
    logger.disabled = before or quiet
    try:
        yield
    finally:
        logger.disabled = before


def start_demo(data_dir: str | os.PathLike[str], **kwargs: Any) -> DemoFleet:
    """A started fleet writing into ``data_dir``; call ``stop()`` when the console quits."""
    return DemoFleet(data_dir, **kwargs).start()


@contextlib.contextmanager
def running_fleet(
    config: Config | str | os.PathLike[str] | None = None, **kwargs: Any
) -> Iterator[Path]:
    """A fleet writing into a fresh temporary data dir (removed afterwards); yields the dir."""
    with demo_fleet(config, **kwargs) as fleet:
        yield fleet.data_dir


@contextlib.contextmanager
def demo_fleet(
    config: Config | str | os.PathLike[str] | None = None, **kwargs: Any
) -> Iterator[DemoFleet]:
    """``running_fleet``, yielding the fleet itself (the console asks it ``preparing()``).

    The directory is removed however the block ends; the console turns SIGTERM and SIGHUP
    into a normal exit so that this cleanup runs then too."""
    tmp = Path(tempfile.mkdtemp(prefix="werkpilot-demo-"))
    data_dir = tmp / "data"
    kwargs.setdefault("quiet", True)
    fleet: DemoFleet | None = None
    try:
        fleet = DemoFleet(data_dir, config=config, **kwargs).start(background=True)
        yield fleet
    finally:
        if fleet is not None:
            fleet.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m werkpilot_tui.demo",
        description="Write a simulated fleet's executions and costs into DIR until Ctrl-C.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DIR")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="executions per second")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--config", type=Path, default=None, help="werkpilot.toml")
    parser.add_argument(
        "--no-backfill", action="store_true", help="do not write a week of history first"
    )
    args = parser.parse_args(argv)
    fleet = DemoFleet(args.data_dir, seed=args.seed, rate=args.rate, config=args.config)
    try:
        fleet.start(backfill=False if args.no_backfill else None)
        print(f"demo fleet writing into {args.data_dir} at {args.rate}/s; Ctrl-C stops", flush=True)
        while fleet._thread is not None and fleet._thread.is_alive():
            fleet._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop()
    if fleet.error is not None:
        print(f"demo stopped: {fleet.error}")
        return 1
    print(f"wrote {fleet.written} executions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
