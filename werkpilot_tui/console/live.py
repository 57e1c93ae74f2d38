"""The live side of the console: core components, the file watcher and view-model building.

Core objects are not thread-safe, so every call into them goes through one single-thread
executor (``LiveFeed.call``); the event loop never blocks on file reading or aggregation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core import Clock, Config, load_config, now_ms, resolve_data_dir, system_clock
from werkpilot_tui.console.conversions import budget_row, levelled, thresholds_view, window_figures
from werkpilot_tui.console.session import ALL_CAPABILITIES, Capability, Session, StartupStep
from werkpilot_tui.console.view_models import (
    AgentRow,
    AlertRow,
    BudgetRow,
    Dashboard,
    Health,
    HostHealth,
    alert_details,
)

if TYPE_CHECKING:
    from core import (
        AgentCost,
        AgentMetrics,
        AlertManager,
        Core,
        CostTracker,
        Journal,
        Operator,
        PerformanceMonitor,
    )
    from core import ThresholdsConfig as ConfigThresholds
    from werkpilot_tui.console.audit_view import AuditView
    from werkpilot_tui.console.detail_models import AgentDetailView, CostsView

T = TypeVar("T")
HealthProvider = Callable[[], HostHealth]
#: Sub-directories and files whose changes can change the dashboard.
WATCHED_DIRS = frozenset({"metrics", "costs", "alerts", "audit"})
ALERT_FEED_LENGTH = 100


#: Work before the data is complete (the demo's backfill): a step, or None once done.
Preparing = Callable[[], StartupStep | None]


def host_health() -> HostHealth:
    """Host CPU and memory, measured by ``core.monitor.health`` (psutil; never blocks). CPU
    comes from the process's one sampler: the figure covers the time since its previous
    reading (≥ 1 s)."""
    from core import cpu_sampler, sample_health

    h = sample_health()
    return HostHealth(
        cpu_percent=cpu_sampler().percent(),
        memory_used=h.memory.used,
        memory_total=h.memory.total,
    )


def is_watched(path: str | Path, root: Path) -> bool:
    """Whether a changed path is one of our journal files or ``budgets.toml``."""
    p = Path(path)
    if p.name == "budgets.toml" and p.parent == root:
        return True
    return p.suffix == ".jsonl" and p.parent.name in WATCHED_DIRS and p.parent.parent == root


class CoreSession:
    """The console's ``Session`` on one data directory: its core components. Use from one
    thread only (the live feed's core thread)."""

    capabilities: frozenset[Capability] = ALL_CAPABILITIES

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        config: Config | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        health: HealthProvider | None = None,
    ) -> None:
        self.data_dir = Path(resolve_data_dir(data_dir)).expanduser().absolute()
        if self.data_dir.exists() and not self.data_dir.is_dir():
            from core import DataDirError

            raise DataDirError(f"data directory {self.data_dir} exists but is not a directory")
        self.config = load_config(config)
        self.clock = clock or system_clock
        self.health = health or host_health
        self.alerts: AlertManager | None = None
        self.monitor: PerformanceMonitor | None = None
        self.tracker: CostTracker | None = None
        self.journal: Journal | None = None
        self.core: Core | None = None
        #: Carries out the console's actions and records them as this user's (user@host).
        self.operator: Operator | None = None
        self.last_change_ms: int | None = None
        self._last_good: Dashboard | None = None
        #: Written by the core thread, read by the start-up screen (one attribute: atomic).
        self.status = StartupStep(f"Reading {self.data_dir}")

    @property
    def label(self) -> str:
        return str(self.data_dir)

    @property
    def startup_step(self) -> StartupStep:
        return self.status

    def open(self) -> None:
        """Build the components (reads checkpoints and catches up on the journal)."""
        if self.monitor is not None:
            return
        import core

        # Lazy: each component is built (and its journal read) as the status says.
        opened = core.open(self.data_dir, self.config, self.clock, lazy=True)
        self.journal = opened.journal
        self.core = opened
        self.operator = core.Operator(opened)
        self.status = StartupStep(f"Reading alerts in {self.data_dir}")
        self.alerts = opened.alerts
        self.status = StartupStep(f"Reading executions in {self.data_dir}")
        self.monitor = opened.build_monitor(progress=self._reading)
        self.status = StartupStep(f"Reading costs in {self.data_dir}")
        self.tracker = opened.tracker
        self.status = StartupStep("Building the dashboard")

    def _reading(self, done: int, total: int) -> None:
        if total >= 1_000_000:  # a small catch-up needs no figures
            self.status = StartupStep(
                f"Reading executions in {self.data_dir}: "
                f"{done / 1e6:,.0f} of {total / 1e6:,.0f} MB",
                done / total,
            )

    def close(self) -> None:
        for component in (self.monitor, self.tracker, self.alerts):
            if component is not None:
                with contextlib.suppress(Exception):
                    component.close()

    # ---------------------------------------------------------------- queries
    def refresh(self) -> int:
        """Catch up on lines other processes appended; returns how many were new."""
        self.open()
        assert self.monitor and self.tracker and self.alerts and self.core
        new = self.monitor.refresh() + self.tracker.refresh() + self.alerts.refresh()
        new += self.core.control.refresh()
        if new:
            self.last_change_ms = now_ms(self.clock)
        return new

    def build(self) -> Dashboard:
        """Refresh and snapshot everything the dashboard shows."""
        try:
            self.refresh()
            self._last_good = self._build()
            return self._last_good
        except Exception as exc:  # shown in the header; the console keeps running
            error = f"{type(exc).__name__}: {exc}"
            if self._last_good is not None:  # keep showing what was last read correctly
                return replace(self._last_good, error=error, built_at_ms=now_ms(self.clock))
            return Dashboard(
                data_dir=str(self.data_dir),
                built_at_ms=now_ms(self.clock),
                host=self.health(),
                error=error,
                problem_count=self.journal.problem_count if self.journal else 0,
            )

    def _build(self) -> Dashboard:
        assert self.monitor and self.tracker and self.alerts and self.journal and self.core
        thresholds = self.config.thresholds
        system = self.monitor.get_system_metrics()
        departments = self.monitor.get_agent_departments()
        month = {c.name: c for c in self.tracker.get_agent_month_costs()}
        paused = self.core.control.pauses()
        agents = tuple(
            _agent_row(m, departments.get(m.name), thresholds, month.pop(m.name, None))
            for m in self.monitor.get_all_agent_metrics()
        ) + tuple(_ledger_row(c) for c in month.values() if c.total_cost > 0)
        if paused:
            agents = tuple(replace(a, paused=True) if a.name in paused else a for a in agents)
        alerts = tuple(_alert_row(a) for a in self.alerts.get_alerts(limit=ALERT_FEED_LENGTH))
        hour = window_figures(system.windows.get("1h"), thresholds)
        open_alerts = Counter(a.level for a in alerts if not a.acknowledged and not a.resolved)
        health = levelled(
            Health(
                executions_per_hour=int(system.executions_per_hour),
                error_rate=hour.error_rate,
                avg_response_ms=float(system.avg_response_time),
                cost_today=self._cost_today(),
                daily_budget=thresholds.daily_budget,
                uptime_ms=int(system.uptime),
                total_executions=int(system.total_executions),
                agent_count=int(system.agent_count),
                unacknowledged=sum(open_alerts.values()),
                open_alerts=dict(open_alerts),
            ),
            hour,
            thresholds,
        )
        if self.last_change_ms is None:
            stamps = [a.last_execution_ms for a in agents if a.last_execution_ms]
            stamps += [a.timestamp_ms for a in alerts]
            self.last_change_ms = max(stamps, default=None)
        return Dashboard(
            data_dir=str(self.data_dir),
            built_at_ms=now_ms(self.clock),
            health=health,
            host=self.health(),
            agents=agents,
            budgets=self._budgets(thresholds.budget_levels),
            alerts=alerts,
            thresholds=thresholds_view(thresholds),
            last_change_ms=self.last_change_ms,
            problem_count=self.journal.problem_count,
        )

    def _budgets(self, levels: Sequence[float]) -> tuple[BudgetRow, ...]:
        assert self.tracker
        burn = {b.department: b.shown for b in self.tracker.get_burn_rates()}
        return tuple(
            budget_row(f, levels, burn.get(f.department))
            for f in self.tracker.get_budget_forecast()
        )

    def _cost_today(self) -> float:
        """Today's execution cost (the monitor's stream, which the daily budget judges)."""
        assert self.monitor
        return float(self.monitor.get_cost_today())

    def agent_detail(self, name: str, window: str) -> AgentDetailView:
        from werkpilot_tui.console.detail_models import build_agent_detail

        self.open()
        assert self.monitor and self.tracker
        return build_agent_detail(self.monitor, self.tracker, name, window)

    def costs(self, day: date | None) -> CostsView:
        from werkpilot_tui.console.detail_models import build_costs

        self.open()
        assert self.tracker
        return build_costs(self.tracker, day)

    def audit(self, limit: int) -> AuditView:
        from werkpilot_tui.console.audit_view import audit_rows

        self.open()
        assert self.core
        return audit_rows(self.core.control.events(limit))

    # ---------------------------------------------------------------- actions
    # Each goes through core's Operator, which also writes it to the audit trail.
    def _operator(self) -> Operator:
        self.open()
        assert self.operator
        return self.operator

    def acknowledge(self, alert_id: str) -> bool:
        return self._operator().acknowledge(alert_id)

    def unacknowledge(self, alert_id: str) -> bool:
        """Take an acknowledgement back (the console's undo key)."""
        return self._operator().unacknowledge(alert_id)

    def snooze(self, alert_id: str, seconds: float | None) -> bool:
        """Acknowledge for ``seconds`` (None: until the condition resolves)."""
        return self._operator().acknowledge(alert_id, seconds=seconds, snooze=True)

    def silence(self, fingerprint: str, seconds: float) -> None:
        """Silence a condition for ``seconds``: recorded, not delivered, not escalated."""
        self._operator().silence(fingerprint, seconds)

    def set_budget(self, department: str, amount: float, reason: str = "") -> None:
        self._operator().set_budget(department, amount, reason=reason)

    def set_paused(self, agent: str, paused: bool, reason: str) -> str:
        operator = self._operator()
        if paused:
            done = operator.pause(agent, reason=reason)
            return f"Paused {agent}." if done else f"{agent} is already paused."
        done = operator.resume(agent, reason=reason)
        return f"Resumed {agent}." if done else f"{agent} is not paused."

    def cannot_edit_budget(self, department: str) -> str | None:
        return None  # a local ledger always takes a budget

    def check(self) -> None:
        """Threshold and escalation checks a long-running process owes (every few minutes)."""
        self.open()
        self.refresh()
        assert self.monitor and self.tracker and self.alerts
        for component, name in (
            (self.monitor, "check_thresholds"),
            (self.tracker, "check_budgets"),
            (self.alerts, "check_escalations"),
        ):
            method = getattr(component, name, None)
            if method is not None:
                method()
        from core import TEMPORARY_MAX_AGE_S  # what killed writers left behind

        assert self.journal
        self.journal.prune_temporary(self.clock(), TEMPORARY_MAX_AGE_S)


WATCH_STEP_MS = 25


class LiveFeed:
    """Watches the data directory and turns changes into ``Dashboard`` snapshots.

    ``changed()`` may be called any number of times: refreshes are coalesced so at most one
    runs at a time and at most one more follows it, no sooner than ``min_interval_s`` later.
    """

    def __init__(
        self,
        session: Session,
        publish: Callable[[Dashboard], None],
        min_interval_s: float = 0.25,
        preparing: Preparing | None = None,
    ) -> None:
        self.session = session
        self.publish = publish
        self.min_interval_s = min_interval_s
        #: Until it answers None no snapshot is built: one built meanwhile would be partial.
        self.preparing = preparing
        #: Builders of open screens' views, run on the core thread right after each snapshot.
        self.followers: dict[object, Callable[[], object]] = {}
        #: The views built with the newest snapshot (a builder's exception in its place).
        self.views: dict[object, object] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="werkpilot-core")
        self._dirty = asyncio.Event()
        self._data_changed = False
        self._stamp: tuple[tuple[int, int] | None, ...] = ()
        self._stop = asyncio.Event()
        self.builds = 0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the core thread (the only thread that touches core)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def changed(self, periodic: bool = False) -> None:
        """Something changed; ``periodic`` for clock-driven refreshes (not rate-limited)."""
        if not periodic:
            self._data_changed = True
        self._dirty.set()

    def follow(self, key: object, build: Callable[[], object]) -> None:
        """Build ``build()`` with every snapshot, in the same core-thread pass (an open
        screen's view: it then shows with the dashboard, not one trip later)."""
        self.followers[key] = build

    def unfollow(self, key: object) -> None:
        self.followers.pop(key, None)

    def _build_all(
        self, followers: dict[object, Callable[[], object]]
    ) -> tuple[Dashboard, dict[object, object]]:
        dashboard = self.session.build()
        views: dict[object, object] = {}
        for key, build in followers.items():
            try:
                views[key] = build()
            except Exception as exc:  # the screen shows it; the snapshot stands
                views[key] = exc
        return dashboard, views

    def check_sizes(self) -> None:
        """A cheap safety net for watchers that miss appends (polling on network mounts
        misses those within the same second): stat today's journal files and budgets.toml,
        and refresh when one changed."""
        stamp = self._sizes()
        if stamp != self._stamp:
            self._stamp = stamp
            self.changed(periodic=True)  # a missed write: no burst rate limit either

    def _sizes(self) -> tuple[tuple[int, int] | None, ...]:
        data_dir = self.session.data_dir
        if data_dir is None:  # not a data directory (fleet mode): nothing to stat
            return ()
        return _stamp(data_dir, self.session.clock().date())

    def stop(self) -> None:
        """Stop watching; close the core components on their own thread, after any refresh."""
        self._stop.set()
        self._dirty.set()
        with contextlib.suppress(RuntimeError):  # already shut down
            self.executor.submit(self.session.close)
        self.executor.shutdown(wait=False)

    async def run_refresher(self) -> None:
        """Build a snapshot whenever something changed, coalescing bursts."""
        loop = asyncio.get_running_loop()
        streak = 0  # data builds in a row after which more writes were already waiting
        while self.preparing is not None and self.preparing() is not None:
            await asyncio.sleep(0.1)  # every snapshot published is built from complete data
            if self._stop.is_set():
                return
        self.preparing = None
        while not self._stop.is_set():
            await self._dirty.wait()
            if self._stop.is_set():
                return
            self._dirty.clear()
            data, self._data_changed = self._data_changed, False
            self._stamp = self._sizes()  # what this build will see; the size check skips it
            started = loop.time()
            dashboard, self.views = await self.call(self._build_all, dict(self.followers))
            self.builds += 1
            self.publish(dashboard)
            # Leading edge at once; while writes keep coming, one build per interval, and
            # half as often once a burst is sustained. Clock-driven builds never delay a write.
            if not data:
                continue
            interval = self.min_interval_s * (2 if streak >= 3 else 1)
            rest = interval - (loop.time() - started)
            if rest > 0:
                await asyncio.sleep(rest)
            streak = streak + 1 if self._data_changed else 0

    async def run_watcher(self) -> None:
        """One watchfiles watcher; waits on the nearest existing parent while the dir is missing."""
        from watchfiles import awatch

        root = self.session.data_dir
        if root is None:  # fleet mode: no files to watch
            return

        def ours(_change: object, path: str) -> bool:
            return is_watched(path, root)

        while not self._stop.is_set():
            target = _existing_ancestor(root)
            waiting = target != root
            try:
                async for _changes in awatch(
                    target,
                    debounce=50,
                    # The watcher thread wakes every ``step`` ms even when nothing happens:
                    # 10 ms cost ~0.45 % of a core idle, 25 ms ~0.25 %, for ~15 ms more
                    # latency after a write (measured with watchfiles alone).
                    step=WATCH_STEP_MS,
                    recursive=not waiting,  # never a recursive watch on someone's home dir
                    stop_event=self._stop,
                    watch_filter=None if waiting else ours,
                ):
                    if not waiting:
                        self.changed()
                    elif root.is_dir() or _existing_ancestor(root) != target:
                        break  # the data dir (or a step towards it) appeared
            except FileNotFoundError:
                await asyncio.sleep(0.5)  # the directory went away: look again
            self.changed()


def _stamp(root: Path, day: date) -> tuple[tuple[int, int] | None, ...]:
    from core import day_stamp

    return day_stamp(root, day)


def _conforms(session: CoreSession) -> Session:
    """mypy checks here that ``CoreSession`` implements the ``Session`` protocol."""
    return session


def _existing_ancestor(path: Path) -> Path:
    while not path.is_dir() and path.parent != path:
        path = path.parent
    return path


# ------------------------------------------------------------------ rows
def _agent_row(
    m: AgentMetrics, department: str | None, t: ConfigThresholds, month: AgentCost | None = None
) -> AgentRow:
    return AgentRow(
        name=m.name,
        department=department,
        executions=int(m.executions),
        errors=int(m.errors),
        total_tokens=int(m.total_tokens),
        total_cost=float(m.total_cost),
        last_execution_ms=m.last_execution,
        windows={w: window_figures(s, t) for w, s in m.windows.items()},
        month_ledger_cost=float(month.total_cost) if month is not None else 0.0,
        refused=int(m.refused),
    )


def _ledger_row(c: AgentCost) -> AgentRow:
    """An agent with cost entries this month and no execution (``track_cost`` alone)."""
    return AgentRow(
        name=c.name,
        department=c.department or None,
        executions=0,
        errors=0,
        total_tokens=0,
        total_cost=0.0,
        last_execution_ms=None,
        month_ledger_cost=float(c.total_cost),
        ledger_only=True,
    )


def _alert_row(a: Any) -> AlertRow:
    return AlertRow(
        id=a.id,
        timestamp_ms=int(a.timestamp),
        level=a.level,
        type=a.type,
        message=a.message,
        acknowledged=bool(a.acknowledged),
        escalated=bool(a.escalated),
        escalated_from=a.escalated_from,
        count=int(getattr(a, "count", 1) or 1),
        resolved=bool(getattr(a, "resolved", False)),
        last_seen_ms=getattr(a, "last_seen", None),
        details=alert_details(getattr(a, "data", None)),
        acknowledged_until_ms=getattr(a, "acknowledged_until", None),
        silenced=bool(getattr(a, "silenced", False)),
        fingerprint=str(getattr(a, "fingerprint", "") or ""),
    )
