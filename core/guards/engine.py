"""``Guard``: asks, before an agent spends, whether it may; records every refusal.

Checks, cheapest first: the agent is not paused (``Control.pause_of``: a dictionary lookup,
the audit journal rechecked at most every 100 ms); its department is under its hard cap
(only departments with one pay for it: the ledger's day file of today is ``stat``-ed before
every check, so other processes' spend is seen before the next call, and the cap itself is
re-resolved every ``recheck_ms`` for budget edits); the call is not a loop (same agent,
model and fingerprint more than ``[guard] loop_max`` times within ``loop_window_s``, per
process). A refusal raises a :class:`~core.guards.refusals.Refused` and is recorded as an
execution with status ``refused`` and ``error`` = its reason (unless the caller records it:
a run records itself on exit).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from core.clock import Clock, now_ms
from core.config import Config
from core.costs.pricing import nanos_to_usd, usd_to_nanos
from core.guards.loops import LoopWatch
from core.guards.refusals import AgentPaused, BudgetExhausted, LoopDetected, Refused

if TYPE_CHECKING:
    from core.control.book import Pause
    from core.control.manager import Control
    from core.costs.ledger import CostTracker
    from core.monitor.performance import PerformanceMonitor

log = logging.getLogger("core.guard")
_MAX_MESSAGE = 500  # a pause reason is free text: the recorded error stays bounded


def _usd(nanos: int) -> str:
    return f"${nanos_to_usd(nanos):,.2f}"


class Guard:
    """The checks of one data directory, shared by ``core.guard``, ``core.track`` and runs."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        *,
        tracker: Callable[[], CostTracker],
        monitor: Callable[[], PerformanceMonitor],
        control: Callable[[], Control],
        timer: Callable[[], int] = time.monotonic_ns,
        recheck_ms: int = 100,
    ) -> None:
        self.config = config
        self.clock = clock
        self._tracker_of, self._monitor_of, self._control_of = tracker, monitor, control
        self._tracker: CostTracker | None = None
        self._control: Control | None = None
        self._timer = timer
        self._recheck_ns = recheck_ms * 1_000_000
        self._any_hard = bool(config.hard_budgets)
        self._pause_said: tuple[Pause | None, str] = (None, "")
        self._caps: dict[str, tuple[int, int]] = {}  # department -> (cap nano-USD or 0, until)
        g = config.guard
        self.loops = LoopWatch(g.loop_max, int(g.loop_window_s * 1e9))

    # ------------------------------------------------------------------ checks
    def check(
        self,
        agent: str,
        department: str | None = None,
        *,
        model: str | None = None,
        fingerprint: Hashable | None = None,
        record: bool = True,
        pending: Callable[[], float] | None = None,
    ) -> None:
        """Raise a ``Refused`` (recorded unless ``record=False``) if ``agent`` may not spend.

        ``pending``: USD this caller spent but has not recorded yet (a run's calls so far,
        booked at its exit), counted against a hard cap; asked only when there is one."""
        control = self._control
        if control is None:
            control = self._control = self._control_of()
        pause = control.pause_of(agent)
        refused: Refused | None = None
        if pause is not None:
            if self._pause_said[0] is not pause:  # the words of a pause, once per pause
                why = f": {pause.reason}" if pause.reason else ""
                self._pause_said = (pause, f"agent {agent!r} is paused by {pause.actor}{why}")
            refused = AgentPaused(
                self._pause_said[1],
                agent=agent,
                department=department,
                actor=pause.actor,
                since=pause.since,
                note=pause.reason,
            )
        elif self._any_hard:
            refused = self._check_cap(agent, department, pending)
        if refused is None and fingerprint is not None:
            refused = self._check_loop(agent, department, model, fingerprint)
        if refused is not None:
            if record:
                self.record(refused, model=model)
            raise refused

    def _cap_nanos(self, dept: str) -> int:
        now = self._timer()
        entry = self._caps.get(dept)
        if entry is None or now >= entry[1]:
            cap = self.config.hard_cap_of(dept)
            if cap is True:
                cap = self.tracker.budgets.budget_for(dept)  # budgets.toml edits included
            nanos = usd_to_nanos(cap) if cap else 0
            entry = self._caps[dept] = (nanos, now + self._recheck_ns)
        return entry[0]

    def _check_cap(
        self, agent: str, department: str | None, pending: Callable[[], float] | None
    ) -> Refused | None:
        dept = department.lower() if department else "default"
        cap = self._cap_nanos(dept)
        if not cap:
            return None  # a soft budget: alerts only
        spent = self.tracker.fresh_month_spend(dept, now_ms(self.clock))
        if pending is not None and spent < cap:
            spent += usd_to_nanos(pending())
        if spent < cap:
            return None
        return BudgetExhausted(
            f"department {dept!r} reached its hard cap of {_usd(cap)} this month "
            f"({_usd(spent)} spent)",
            agent=agent,
            department=dept,
            cap=nanos_to_usd(cap),
            spent=nanos_to_usd(spent),
        )

    def _check_loop(
        self, agent: str, department: str | None, model: str | None, fingerprint: Hashable
    ) -> Refused | None:
        count = self.loops.hit((agent, model, fingerprint), self._timer())
        if not count:
            return None
        g = self.config.guard
        return LoopDetected(
            f"the same call ({model or 'any model'}, fingerprint {str(fingerprint)[:40]!r}) "
            f"came {count} times within {g.loop_window_s:g} s (the most allowed: "
            f"{g.loop_max})",
            agent=agent,
            department=department,
            model=model,
            fingerprint=fingerprint,
            count=count,
            window_s=g.loop_window_s,
        )

    # --------------------------------------------------------------- recording
    def record(self, refused: Refused, *, model: str | None = None) -> None:
        """Append the refusal as an execution with status ``refused`` (never raises: the
        refusal itself is what the agent must see)."""
        reason = refused.reason
        if len(reason) > _MAX_MESSAGE:
            reason = reason[: _MAX_MESSAGE - 1] + "…"
        try:
            self._monitor_of().track_execution(
                refused.agent,
                status="refused",
                error=reason,
                department=refused.department,
                model=model,
            )
        except Exception:
            log.exception("could not record the refusal of agent %r", refused.agent)

    @property
    def tracker(self) -> CostTracker:
        if self._tracker is None:
            self._tracker = self._tracker_of()
        return self._tracker


_for_parts: weakref.WeakKeyDictionary[CostTracker, Guard] = weakref.WeakKeyDictionary()


def guard_for(tracker: CostTracker, monitor: PerformanceMonitor) -> Guard:
    """The guard of a run given its own tracker and monitor (not the shared ``Core``'s): on
    the tracker's journal, configuration and clock, one per tracker."""
    found = _for_parts.get(tracker)
    if found is None:
        from core.control.manager import Control

        control: list[Control] = []
        journal, clock = tracker.journal, tracker.clock
        ref = weakref.ref(tracker)  # the value must not keep its key alive

        def control_of() -> Control:
            if not control:
                control.append(Control(journal, clock))
            return control[0]

        def tracker_of() -> CostTracker:
            found = ref()
            assert found is not None  # alive while a run uses it
            return found

        found = _for_parts[tracker] = Guard(
            tracker.config,
            clock,
            tracker=tracker_of,
            monitor=lambda: monitor,
            control=control_of,
        )
    return found


__all__ = ["Guard", "guard_for"]
