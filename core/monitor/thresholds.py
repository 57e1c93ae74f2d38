"""The monitor's thresholds: agent error rate (24h), agent response time (1h), cost today.

Checked after every ``track_execution`` in the calling process, so the common case — nothing
breached, nothing raised before — costs a few bisections and no I/O. A breach raises through
the alert manager (which deduplicates on type, level and subject) and is repeated at most every
``repeat_ms``; a condition this process saw breached is resolved when it clears.

Hysteresis: a breached condition holds until its value is ``hysteresis`` (10 %) below the
threshold, so a value hovering at the threshold raises one alert instead of flapping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from core.clock import from_ms
from core.config import ThresholdsConfig
from core.monitor.models import ThresholdBreach
from core.monitor.windows import MS_PER_DAY, MS_PER_HOUR, RollingWindows, to_nano

_FORCE = -(1 << 62)
_DAY = 24 * MS_PER_HOUR


class ErrorRateLimits(Protocol):
    """What the error-rate rule reads (core's ``ThresholdsConfig`` or the console's copy)."""

    @property
    def error_rate_warning(self) -> float: ...
    @property
    def error_rate_critical(self) -> float: ...
    @property
    def min_executions(self) -> int: ...


def error_rate_level(
    count: int, errors: int, t: ErrorRateLimits, held: str | None = None, hysteresis: float = 0.0
) -> str | None:
    """The level an error-rate alert would have: judged only above ``min_executions`` runs
    (a few runs with one error are not an alarm), then against the critical/warning rates.

    ``held``: the level a watcher already raised; it then keeps that level (or the warning
    below it) down to ``hysteresis`` under the threshold, so one boundary value cannot flap."""
    if count <= t.min_executions or count <= 0:
        return None
    rate = errors / count
    if rate > t.error_rate_critical * (1 - hysteresis if held == "critical" else 1):
        return "critical"
    if rate > t.error_rate_warning * (1 - hysteresis if held is not None else 1):
        return "warning"
    return None


#: Today's cost at this share of the daily budget shows as a warning (over it: critical, the
#: level of the ``daily_budget`` alert).
DAILY_BUDGET_WARNING = 0.9


def daily_budget_level(cost_today: float, daily_budget: float) -> str | None:
    """The level today's cost is at against the daily budget (None: well within it)."""
    ratio = cost_today / daily_budget if daily_budget else 0.0
    return "critical" if ratio > 1 else "warning" if ratio >= DAILY_BUDGET_WARNING else None


def response_time_level(avg_duration_ms: float, t: ResponseTimeLimit) -> str | None:
    """``warning`` when an average response time is above the configured limit."""
    return "warning" if avg_duration_ms > t.response_time_warning_ms else None


class ResponseTimeLimit(Protocol):
    @property
    def response_time_warning_ms(self) -> float: ...


class AlertSink(Protocol):
    def add_alert(
        self, level: str, type: str, message: str, data: dict[str, Any] | None = None
    ) -> Any: ...

    def resolve(self, type: str, **subject: Any) -> int: ...


class ThresholdWatch:
    """Evaluates the thresholds over rolling windows and keeps alerts in step with them."""

    def __init__(
        self,
        thresholds: ThresholdsConfig,
        alerts: Callable[[], AlertSink],
        repeat_ms: int = 60_000,
    ) -> None:
        self.t = thresholds
        self._alerts = alerts  # built on first need: most processes never breach
        self.repeat_ms = repeat_ms
        self.raised: dict[tuple[str, str | None], tuple[str, int]] = {}
        self._budget_nano = to_nano(thresholds.daily_budget)

    def after_record(self, w: RollingWindows, agent: str, now: int, budget: bool = True) -> None:
        """After records of ``agent`` were added: :meth:`check_agent`, then (``budget``)
        :meth:`check_budget`, each only when it could raise or resolve something. Nearly
        every record finds nothing raised and nothing breached: that is decided here from
        the agent's recent figures and today's cost, without either call."""
        raised = self.raised
        series = w.series.get(agent)
        if series is not None:
            count, errors, h_count, h_dur = series.recent_figures(now, _DAY, MS_PER_HOUR)
            t = self.t
            if (
                (raised and (("error_rate", agent) in raised or ("response_time", agent) in raised))
                # error_rate_level(count, errors, t) is not None, without the call
                or (
                    count > t.min_executions
                    and count > 0
                    and (
                        errors / count > t.error_rate_critical
                        or errors / count > t.error_rate_warning
                    )
                )
                or (h_count and h_dur > t.response_time_warning_ms * 1000 * h_count)
            ):
                self.check_agent(w, agent, now)
        # check_budget's own early exit: under the budget with nothing raised
        if budget and (self.raised or w.day_cost.get(now // MS_PER_DAY, 0) > self._budget_nano):
            self.check_budget(w, now)

    def check_agent(
        self, w: RollingWindows, agent: str, now: int, collect: bool = False
    ) -> list[ThresholdBreach]:
        """One agent's thresholds; the breaches found are listed only when ``collect``.

        Evaluates them all: after a record, :meth:`after_record` calls it only when
        something could fire or must be resolved."""
        series = w.series.get(agent)
        if series is None:
            return []
        count, errors, h_count, h_dur = series.recent_figures(now, _DAY, MS_PER_HOUR)
        t = self.t
        out: list[ThresholdBreach] = []
        held = self._held("error_rate", agent)
        level = error_rate_level(count, errors, t, held, t.hysteresis)
        rate = errors / count if count else 0.0
        limit = t.error_rate_critical if level == "critical" else t.error_rate_warning
        if self._settled("error_rate", agent, level, now):  # raised already: no formatting
            if collect:
                out.append(_breach("error_rate", level, agent, rate, limit))
        elif level is not None or ("error_rate", agent) in self.raised:
            message = (
                f"Error rate of {agent} is {rate:.1%} over 24h "
                f"({errors} of {count} executions), {_above(rate, limit)} {limit:.0%}"
            )
            extra = {"errorRate": rate, "executions": count}
            breached = self._condition("error_rate", agent, level, message, rate, limit, extra, now)
            if breached and collect:
                out.append(_breach("error_rate", level, agent, rate, limit))
        limit = t.response_time_warning_ms
        bar = self._bar(limit, self._held("response_time", agent) is not None)
        slow = h_count and h_dur > bar * 1000 * h_count  # average above the bar, exactly
        level = "warning" if slow else None
        if self._settled("response_time", agent, level, now):
            if collect:
                avg = h_dur / h_count / 1000.0
                out.append(_breach("response_time", "warning", agent, avg, limit))
        elif slow or ("response_time", agent) in self.raised:
            avg = h_dur / h_count / 1000.0 if h_count else 0.0
            message = (
                f"Average response time of {agent} is {avg / 1000:.1f}s over 1h, "
                f"{_above(avg, limit)} {limit / 1000:g}s"
            )
            extra = {"avgDuration": avg, "executions": h_count}
            breached = self._condition(
                "response_time", agent, level, message, avg, limit, extra, now
            )
            if breached and collect:
                out.append(_breach("response_time", "warning", agent, avg, limit))
        return out

    def check_budget(
        self, w: RollingWindows, now: int, collect: bool = False
    ) -> list[ThresholdBreach]:
        spent_nano = w.day_cost.get(now // MS_PER_DAY, 0)  # w.cost_on_day, without the call
        over = spent_nano > self._budget_nano
        if not over and not self.raised:  # every record: nothing held, nothing to resolve
            return []
        if not over and self._held("daily_budget", None) is not None:
            over = spent_nano > self._budget_nano * (1 - self.t.hysteresis)
        if not over and ("daily_budget", None) not in self.raised:
            return []
        budget = self.t.daily_budget
        spent = spent_nano / 1e9
        if self._settled("daily_budget", None, "critical" if over else None, now):
            return [_breach("daily_budget", "critical", None, spent, budget)] if collect else []
        message = (
            f"Cost today is ${spent:.2f}, {_above(spent, budget)} the daily budget of ${budget:.2f}"
        )
        extra = {"date": from_ms(now).date().isoformat(), "totalCost": spent}
        level = "critical" if over else None
        breached = self._condition("daily_budget", None, level, message, spent, budget, extra, now)
        if breached and collect:
            return [_breach("daily_budget", "critical", None, spent, budget)]
        return []

    def check_all(self, w: RollingWindows, now: int) -> list[ThresholdBreach]:
        """Every agent and the budget once; re-asserts open breaches, resolves cleared ones."""
        self.raised = {k: (lvl, _FORCE) for k, (lvl, _) in self.raised.items()}
        alerts = self._alerts()
        out: list[ThresholdBreach] = []
        for agent in w.agents():
            found = self.check_agent(w, agent, now, collect=True)
            out += found
            clear = self._clearly_clear(w, agent, now)
            for type_ in sorted(clear - {b.type for b in found}):
                alerts.resolve(type_, agent=agent)  # perhaps raised by another process
        budget = self.check_budget(w, now, collect=True)
        held_bar = self._budget_nano * (1 - self.t.hysteresis)
        if not budget and w.cost_on_day(now // MS_PER_DAY) <= held_bar:
            alerts.resolve("daily_budget")
        return out + budget

    def _clearly_clear(self, w: RollingWindows, agent: str, now: int) -> set[str]:
        """The agent's conditions at or below the held bar: clear even if another process
        raised them (a value inside the margin leaves their alerts open)."""
        t = self.t
        count, errors, h_count, h_dur = w.series[agent].recent_figures(now, _DAY, MS_PER_HOUR)
        clear = set()
        if count <= t.min_executions or errors / count <= self._bar(t.error_rate_warning, True):
            clear.add("error_rate")
        if not h_count or h_dur <= self._bar(t.response_time_warning_ms, True) * 1000 * h_count:
            clear.add("response_time")
        return clear

    def _held(self, type_: str, agent: str | None) -> str | None:
        """The level this process last raised the condition at, if it is still breached."""
        prev = self.raised.get((type_, agent))
        return None if prev is None else prev[0]

    def _bar(self, limit: float, held: bool) -> float:
        """The value a condition must exceed: its threshold, or the margin below it once held."""
        return limit * (1 - self.t.hysteresis) if held else limit

    def _settled(self, type_: str, agent: str | None, level: str | None, now: int) -> bool:
        """True when a breach is already raised at this level and not due for a repeat."""
        prev = self.raised.get((type_, agent))
        return (
            level is not None
            and prev is not None
            and prev[0] == level
            and 0 <= now - prev[1] < self.repeat_ms
        )

    def _condition(
        self,
        type_: str,
        agent: str | None,
        level: str | None,
        message: str,
        value: float,
        threshold: float,
        extra: dict[str, Any],
        now: int,
    ) -> bool:
        """Raise, repeat or resolve one condition; True while it is breached."""
        key = (type_, agent)
        prev = self.raised.get(key)
        subject = {"agent": agent} if agent is not None else {}
        if level is None:
            if prev is not None:
                del self.raised[key]
                self._alerts().resolve(type_, **subject)
            return False
        if prev is not None and prev[0] == level and 0 <= now - prev[1] < self.repeat_ms:
            return True
        if prev is not None and prev[0] != level:
            self._alerts().resolve(type_, **subject)  # the other level's alert no longer holds
        data = {**subject, "value": value, "threshold": threshold, **extra}
        self._alerts().add_alert(level, type_, message, data=data)
        self.raised[key] = (level, now)
        return True


def _above(value: float, limit: float) -> str:
    """How a held breach relates to its threshold (inside the hysteresis margin: just under)."""
    return "above" if value > limit else "just under"


def _breach(
    type_: str, level: str | None, agent: str | None, value: float, threshold: float
) -> ThresholdBreach:
    return ThresholdBreach.model_validate(
        {"type": type_, "level": level, "agent": agent, "value": value, "threshold": threshold}
    )
