"""``Core``: the monitor, the ledger and the alert manager on one data directory.

The one place the three components are put together, so agents (``core.get_*``), the CLI,
``serve``, the console and the demo share the same wiring: one journal, one configuration,
one clock and one alert manager that the monitor and the ledger raise their alerts through.
Components are built on first use, so an agent that only records costs never reads the
execution journal.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from core.clock import Clock, system_clock
from core.config import Config, load_config
from core.journal.store import Journal
from core.serial import owned_lock

if TYPE_CHECKING:
    from collections.abc import Hashable

    from core.alerts.channels import Channel
    from core.alerts.manager import AlertManager
    from core.control.manager import Control
    from core.costs.ledger import CostTracker
    from core.guards.engine import Guard
    from core.monitor.performance import PerformanceMonitor
    from core.monitor.rebuild import Progress

__all__ = ["Core", "open"]


class Core:
    """The three components sharing one journal, configuration and clock.

    ``alerts``, ``monitor`` and ``tracker`` are created on first access (thread-safely);
    ``close`` closes those that were created, then the journal.
    """

    def __init__(
        self,
        journal: Journal,
        config: Config,
        clock: Clock,
        *,
        channels: list[Channel] | None = None,
        default_rules: bool = True,
    ) -> None:
        self.journal = journal
        self.config = config
        self.clock = clock
        self._channels = channels
        self._default_rules = default_rules
        self._lock = owned_lock(self, "_lock", threading.RLock)  # renewed after fork
        self._alerts: AlertManager | None = None
        self._monitor: PerformanceMonitor | None = None
        self._tracker: CostTracker | None = None
        self._control: Control | None = None
        self._guards: Guard | None = None

    @property
    def alerts(self) -> AlertManager:
        with self._lock:
            if self._alerts is None:
                from core.alerts.manager import AlertManager

                self._alerts = AlertManager(
                    config=self.config,
                    clock=self.clock,
                    journal=self.journal,
                    channels=self._channels,
                    default_rules=self._default_rules,
                )
            return self._alerts

    @property
    def monitor(self) -> PerformanceMonitor:
        return self.build_monitor()

    def build_monitor(self, progress: Progress | None = None) -> PerformanceMonitor:
        """The monitor, built now if it was not yet; ``progress(done, total)`` hears of the
        bytes of journal read while it is built (a start-up screen)."""
        with self._lock:
            if self._monitor is None:
                from core.monitor.performance import PerformanceMonitor

                self._monitor = PerformanceMonitor(
                    config=self.config,
                    clock=self.clock,
                    journal=self.journal,
                    alert_manager=self.alerts,
                    progress=progress,
                )
            return self._monitor

    @property
    def tracker(self) -> CostTracker:
        with self._lock:
            if self._tracker is None:
                from core.costs.ledger import CostTracker

                self._tracker = CostTracker(
                    config=self.config,
                    clock=self.clock,
                    journal=self.journal,
                    alert_manager=self.alerts,
                )
            return self._tracker

    @property
    def control(self) -> Control:
        """The audit trail of operator actions, and the pauses it holds."""
        with self._lock:
            if self._control is None:
                from core.control.manager import Control

                self._control = Control(self.journal, self.clock)
            return self._control

    @property
    def guards(self) -> Guard:
        """The guard before the call: pauses, hard caps and loops (``guard`` asks it)."""
        with self._lock:
            if self._guards is None:
                from core.guards.engine import Guard

                self._guards = Guard(
                    self.config,
                    self.clock,
                    tracker=lambda: self.tracker,
                    monitor=lambda: self.monitor,
                    control=lambda: self.control,
                )
            return self._guards

    def guard(
        self,
        agent: str,
        department: str | None = None,
        *,
        model: str | None = None,
        fingerprint: Hashable | None = None,
    ) -> None:
        """Raise ``core.Refused`` (and record it) if ``agent`` may not spend now: paused,
        its department at its hard cap, or the same call (``model`` + ``fingerprint``, e.g. a
        hash of the prompt) repeated more than ``[guard] loop_max`` times in ``loop_window_s``."""
        (self._guards or self.guards).check(agent, department, model=model, fingerprint=fingerprint)

    @property
    def data_dir(self) -> os.PathLike[str]:
        return self.journal.root

    def __enter__(self) -> Core:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the components that were built (monitor, ledger, alerts), then the journal.

        Every one is closed even if an earlier one fails; the first failure is raised.
        """
        with self._lock:
            built = (self._monitor, self._tracker, self._alerts, self._control)
            self._monitor = self._tracker = self._alerts = self._control = None
            self._guards = None
            error: BaseException | None = None
            for component in built:
                if component is not None:
                    try:
                        component.close()
                    except Exception as exc:  # the others still release their files
                        error = error or exc
            self.journal.close()
            if error is not None:
                raise error


def open(
    data_dir: str | os.PathLike[str] | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    *,
    lazy: bool = False,
    channels: list[Channel] | None = None,
    default_rules: bool = True,
) -> Core:
    """The components on ``data_dir`` (default ``$WERKPILOT_DATA_DIR`` or ``./data``).

    The configuration is loaded first, so a bad file fails before anything is read. Unless
    ``lazy``, the three components are built now (catching up on the journal), so errors in
    the data directory surface here. ``channels=[]`` and ``default_rules=False`` give an
    alert manager that notifies nobody (the demo's simulated alerts).
    """
    cfg = load_config(config)
    core = Core(
        Journal.at(data_dir),
        cfg,
        clock or system_clock,
        channels=channels,
        default_rules=default_rules,
    )
    if not lazy:
        try:
            core.alerts, core.monitor, core.tracker  # noqa: B018 - built for their effects
        except BaseException:
            core.close()
            raise
    return core
