"""``core.track``: measure one agent run and record it as one execution and one cost entry.

Measured: wall time (``time.perf_counter_ns``), CPU time of the whole process
(``time.process_time_ns``, this process's CPU time; it includes other threads'
work during the run) and the change of the process's resident memory (RSS, psutil's figure
read from /proc/self/statm on a descriptor kept open: about 1 µs at each end, honest about
what the process holds; tracemalloc would see only Python allocations and slow every
allocation down, and ``getrusage`` gives only the peak). On exit the run writes the
cost entry first (``tracker.track_cost``) and then the execution with the same cost.

Guarded: entering a run asks the guard (core/guards) first, and ``Run.guard_call`` asks it
again before each model call, with the run's own caps (``max_cost_usd``, ``max_calls``). A
refusal raises ``core.Refused``; a run refused on entry is recorded as a refused execution
at once, one refused inside is recorded on exit with status ``refused``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from core.clock import Clock, now_ms, system_clock
from core.guards.refusals import Refused, RunCapReached
from core.record_rows import CostOut
from core.records import KNOWN_NAMES, check_name

if TYPE_CHECKING:
    from core.costs.ledger import CostTracker
    from core.guards.engine import Guard
    from core.monitor.performance import PerformanceMonitor

log = logging.getLogger("core.tracking")
P = ParamSpec("P")
R = TypeVar("R")
UNKNOWN_MODEL = "unknown"
_current: ContextVar[Run | None] = ContextVar("werkpilot_run", default=None)
_UNOPENED, _NO_PROC = -2, -1
_statm = _UNOPENED  # descriptor of /proc/self/statm, or one of the two above
_page = 4096
_psutil_process: Any = None  # where there is no /proc
_wall_ns, _cpu_ns, _pread = time.perf_counter_ns, time.process_time_ns, os.pread  # no lookups


def current_run() -> Run | None:
    """The run being measured in this context (inside a decorated function, for instance)."""
    return _current.get()


def _rss() -> int:
    """The process's resident memory in bytes, as psutil reports it (``resident`` pages of
    /proc/self/statm times the page size), read with one ``pread`` on a descriptor kept open:
    about 1 µs where psutil, which opens the file each time, takes 5-15 µs. Without /proc
    (macOS, Windows), psutil."""
    if _statm >= 0:
        return int(_pread(_statm, 128, 0).split(None, 2)[1]) * _page
    return _rss_first()


def _rss_first() -> int:
    """Open /proc/self/statm (first use, or first use after a fork), else use psutil."""
    global _statm, _page, _psutil_process
    if _statm == _UNOPENED:
        try:
            fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            _statm = _NO_PROC
        else:
            try:
                int(os.pread(fd, 128, 0).split(None, 2)[1])
            except (OSError, ValueError, IndexError):
                os.close(fd)
                _statm = _NO_PROC
            else:
                _statm, _page = fd, os.sysconf("SC_PAGE_SIZE")
                return _rss()
    if _psutil_process is None:
        import psutil

        _psutil_process = psutil.Process()
    return int(_psutil_process.memory_info().rss)


def _forget_rss_source() -> None:
    """In a forked child: /proc/self was the parent's when the descriptor was opened."""
    global _statm, _psutil_process
    if _statm >= 0:
        os.close(_statm)
    _statm, _psutil_process = _UNOPENED, None


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork (nor /proc)
    os.register_at_fork(after_in_child=_forget_rss_source)


_guard_for: Callable[[CostTracker, PerformanceMonitor], Guard] | None = None


def _import_guard_for() -> Callable[[CostTracker, PerformanceMonitor], Guard]:
    """``core.guards.engine.guard_for``, imported on first use (it loads the configuration
    models) and kept: a ``from`` import in ``Run._guard`` cost ~1.5 µs every run."""
    global _guard_for
    from core.guards.engine import guard_for

    _guard_for = guard_for
    return guard_for


def _count(name: str, value: object) -> int:
    if type(value) is int and value >= 0:  # the usual case, without the isinstance checks
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return value


def _cap(value: Any, name: str, kind: type) -> Any:
    """A run cap: None, or a positive number (``max_calls`` a whole one)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return kind(value)


def _field(usage: object, *names: str) -> Any:
    for name in names:
        value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
        if value is not None:
            return value
    return None


#: (input, output, cache read, cache write), each under its current name or an older one.
_OTEL_USAGE = (
    ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"),
    ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"),
)


def otel_usage(
    usage: Mapping[str, Any], includes: bool = True, whole_floats: bool = False
) -> tuple[int, int, int, int]:
    """``normalise_usage`` of the OpenTelemetry GenAI attributes (a span's, or any mapping
    holding them): input includes the cache tokens unless ``includes`` is False.
    ``whole_floats``: a count sent as a whole double (1500.0, as JSON senders may) counts."""
    get = usage.get
    (i1, i2), (o1, o2), (r1, r2), (w1, w2) = _OTEL_USAGE
    inp, out, read, write = get(i1), get(o1), get(r1), get(w1)
    counts = [
        get(i2) if inp is None else inp,
        get(o2) if out is None else out,
        get(r2) if read is None else read,
        get(w2) if write is None else write,
    ]
    if whole_floats and float in map(type, counts):
        counts = [int(v) if isinstance(v, float) and v.is_integer() else v for v in counts]
    return _counted(counts[0], counts[1], counts[2], counts[3], includes)


def _counted(
    inp: Any, out: Any, read: Any, write: Any, includes: bool
) -> tuple[int, int, int, int]:
    inp, out = _count("input_tokens", inp), _count("output_tokens", out)
    read, write = _count("cache_read_tokens", read), _count("cache_write_tokens", write)
    if includes:
        if read + write > inp:
            raise ValueError(
                f"input_tokens: {inp} should include the {read + write} cache tokens but is smaller"
            )
        inp -= read + write
    return inp, out, read, write


def normalise_usage(
    usage: object, input_includes_cache: bool | None = None
) -> tuple[int, int, int, int]:
    """(input excluding cache, output, cache read, cache write) from a usage object/mapping.

    Understood: the Anthropic form (``input_tokens`` excludes ``cache_read_input_tokens``
    and ``cache_creation_input_tokens``), the OpenTelemetry GenAI attributes
    (``gen_ai.usage.input_tokens`` includes ``gen_ai.usage.cache_read.input_tokens`` and
    ``gen_ai.usage.cache_creation.input_tokens``) and the OpenAI forms (``prompt_tokens``
    includes ``prompt_tokens_details.cached_tokens``; ``input_tokens`` includes
    ``input_tokens_details.cached_tokens``). ``input_includes_cache`` overrides
    the guess for a plain ``input_tokens``.
    """
    otel = isinstance(usage, Mapping) and any(
        isinstance(k, str) and k.startswith("gen_ai.usage.") for k in usage
    )
    if otel:
        return otel_usage(usage, True if input_includes_cache is None else input_includes_cache)  # type: ignore[arg-type]
    if _field(usage, "prompt_tokens") is not None and _field(usage, "input_tokens") is None:
        inp = _field(usage, "prompt_tokens")
        out = _field(usage, "completion_tokens")
        details = _field(usage, "prompt_tokens_details")
        read = _field(details, "cached_tokens") if details is not None else None
        write = None
        includes = True if input_includes_cache is None else input_includes_cache
    elif _field(usage, "input_tokens_details") is not None:  # OpenAI Responses API
        inp = _field(usage, "input_tokens")
        out = _field(usage, "output_tokens")
        read = _field(_field(usage, "input_tokens_details"), "cached_tokens")
        write = None
        includes = True if input_includes_cache is None else input_includes_cache
    else:
        inp = _field(usage, "input_tokens")
        out = _field(usage, "output_tokens")
        read = _field(usage, "cache_read_input_tokens", "cache_read_tokens")
        write = _field(usage, "cache_creation_input_tokens", "cache_write_tokens")
        includes = bool(input_includes_cache)
    return _counted(inp, out, read, write, includes)


class Run:
    """One measured agent run: a context manager (sync or async) and a decorator."""

    # What a run measures, as it reads before it is entered (entering sets them afresh,
    # ``_reset``): class defaults, so building a run does not write them twice.
    input_tokens = output_tokens = cache_read_tokens = cache_write_tokens = api_calls = 0
    status: str | None = None
    error: str | None = None
    duration = cpu_time = memory_delta = 0.0
    cost: float | None = None  # caller-supplied until exit, then the recorded cost
    recording_error: BaseException | None = None
    refused: Refused | None = None  # the refusal of a guarded call, even if caught
    _guarded = 0  # model calls the guard let through
    _token: Token[Run | None] | None = None
    _t0 = _c0 = _m0 = 0  # start readings: wall ns, CPU ns, RSS bytes

    def __init__(
        self,
        agent: str,
        *,
        department: str | None = None,
        model: str | None = None,
        monitor: PerformanceMonitor | None = None,
        tracker: CostTracker | None = None,
        clock: Clock | None = None,
        max_cost_usd: float | None = None,
        max_calls: int | None = None,
        fingerprint: Hashable | None = None,
    ) -> None:
        # ``check_name``, whose first test (a name seen before) is made here without the call
        known = KNOWN_NAMES
        self.agent = agent if type(agent) is str and agent in known else check_name(agent, "agent")
        if not department:
            department = "default"
        elif type(department) is not str or department not in known:
            department = check_name(department, "department")
        self.department = department
        if model is not None and (type(model) is not str or model not in known):
            model = check_name(model, "model")
        self.model = model
        self._monitor = monitor
        self._tracker = tracker
        self.clock: Clock = clock or system_clock
        # no cap, the usual case, without a call
        self.max_cost_usd = (
            None if max_cost_usd is None else _cap(max_cost_usd, "max_cost_usd", float)
        )
        self.max_calls = None if max_calls is None else _cap(max_calls, "max_calls", int)
        self.fingerprint = fingerprint

    def _reset(self) -> None:
        self.input_tokens = self.output_tokens = 0
        self.cache_read_tokens = self.cache_write_tokens = 0
        self.api_calls = 0
        self.status = self.error = None
        self.duration = self.cpu_time = self.memory_delta = 0.0
        self.cost = None
        self.recording_error = None
        self.refused = None
        self._guarded = 0
        self._token = None
        self._t0 = self._c0 = self._m0 = 0

    @property
    def tokens_used(self) -> int:
        """Every token of the run: input, output, cache read and cache write."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    # -------------------------------------------------------------- recording
    def record_usage(
        self,
        usage: object = None,
        /,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        model: str | None = None,
        input_includes_cache: bool | None = None,
    ) -> None:
        """Add one model call's tokens (numbers, or a provider usage object/mapping).

        Each call counts as one API call. A run has one model: ``model`` sets it when the
        run has none and must match it otherwise (use one ``track`` per model).
        """
        if (
            usage is None
            and not input_includes_cache
            and type(input_tokens) is type(output_tokens) is int
            and type(cache_read_tokens) is type(cache_write_tokens) is int
            and input_tokens >= 0
            and output_tokens >= 0
            and cache_read_tokens >= 0
            and cache_write_tokens >= 0
        ):  # plain counts, as they are (what ``_counted`` returns for them)
            inp, out = input_tokens, output_tokens
            read, write = cache_read_tokens, cache_write_tokens
        elif usage is not None:
            inp, out, read, write = normalise_usage(usage, input_includes_cache)
        else:  # what normalise_usage makes of these keys, without building a mapping
            inp, out, read, write = _counted(
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
                bool(input_includes_cache),
            )
        if model is not None:
            check_name(model, "model")
            if self.model is None:
                self.model = model
            elif model != self.model:
                raise ValueError(
                    f"model: this run uses {self.model!r}, got {model!r} (one track per model)"
                )
        self.input_tokens += inp
        self.output_tokens += out
        self.cache_read_tokens += read
        self.cache_write_tokens += write
        self.api_calls += 1

    def record_api_call(self, count: int = 1) -> None:
        """Count API calls that carried no token usage (``record_usage`` counts its own)."""
        self.api_calls += _count("count", count)

    def set_cost(self, cost: float) -> None:
        """Use a cost the caller knows (USD) instead of pricing the tokens."""
        self.cost = cost

    # ------------------------------------------------------------------ guard
    def _guard(self) -> Guard:
        tracker, monitor = self._tracker, self._monitor
        if tracker is None or monitor is None:  # the process-wide ones (an import: ~0.1 µs)
            import core

            if tracker is None and monitor is None:
                return core._core().guards
            tracker = tracker or core.get_cost_tracker()
            monitor = monitor or core.get_performance_monitor()
        return (_guard_for or _import_guard_for())(tracker, monitor)

    def guard_call(self, fingerprint: Hashable | None = None, *, model: str | None = None) -> None:
        """Ask before each model call of the run: raises ``core.Refused`` when the agent is
        paused, its department at its hard cap, the run at ``max_calls`` calls or
        ``max_cost_usd`` spent, or the same call (``model`` + ``fingerprint``, e.g. a hash of
        the prompt) repeated more than ``[guard] loop_max`` times within ``loop_window_s``.
        The run is then recorded with status ``refused`` and the reason."""
        model = model or self.model
        try:
            self._guard().check(
                self.agent,
                self.department,
                model=model,
                fingerprint=fingerprint,
                record=False,
                pending=lambda: self._spent(model),
            )
            calls = max(self._guarded, self.api_calls)
            if self.max_calls is not None and calls >= self.max_calls:
                raise RunCapReached(
                    f"the run made {calls} model calls (max_calls={self.max_calls})",
                    agent=self.agent,
                    department=self.department,
                    limit="max_calls",
                    cap=self.max_calls,
                    calls=calls,
                )
            if self.max_cost_usd is not None:
                spent = self._spent(model)
                if spent >= self.max_cost_usd:
                    raise RunCapReached(
                        f"the run spent ${spent:,.4f} (max_cost_usd={self.max_cost_usd:g})",
                        agent=self.agent,
                        department=self.department,
                        limit="max_cost_usd",
                        cap=self.max_cost_usd,
                        spent=spent,
                    )
        except Refused as refused:
            self.refused = refused
            raise
        self._guarded += 1

    def _spent(self, model: str | None) -> float:
        """USD the run spent so far: the caller's cost, else its tokens priced (0 when the
        model has no price)."""
        if self.cost is not None:
            return self.cost
        if model is None or not self.tokens_used:
            return 0.0
        import core

        tracker = self._tracker or core.get_cost_tracker()
        try:
            return tracker.calculate_cost(
                model,
                self.input_tokens,
                self.output_tokens,
                cache_read_tokens=self.cache_read_tokens,
                cache_write_tokens=self.cache_write_tokens,
            )
        except ValueError:
            return 0.0

    # ------------------------------------------------------- context manager
    def __enter__(self) -> Run:
        self._reset()
        self._guard().check(
            self.agent, self.department, model=self.model, fingerprint=self.fingerprint
        )
        self._token = _current.set(self)
        self._m0 = _rss()
        self._c0 = _cpu_ns()
        self._t0 = _wall_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.duration = (_wall_ns() - self._t0) / 1e6
        self.cpu_time = (_cpu_ns() - self._c0) / 1e6
        self.memory_delta = float(_rss() - self._m0)
        token = self._token
        if token is not None:
            _current.reset(token)
            self._token = None
        refused = exc if isinstance(exc, Refused) else self.refused
        if refused is not None:
            self.status, self.error = "refused", refused.reason
        else:
            self.status = "completed" if exc is None else "error"
            if exc is not None:
                self.error = f"{type(exc).__name__}: {exc}"
        try:
            self._record()
        except Exception as problem:  # the agent's own outcome must not be masked or lost
            self.recording_error = problem
            log.exception("could not record the run of agent %r", self.agent)

    async def __aenter__(self) -> Run:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _record(self) -> None:
        tracker, monitor = self._tracker, self._monitor
        if tracker is None or monitor is None:
            import core

            tracker = tracker or core.get_cost_tracker()
            monitor = monitor or core.get_performance_monitor()
        timestamp = now_ms(self.clock)
        model = self.model or UNKNOWN_MODEL
        entry = tracker.record_run_cost(
            self.agent, self.department, model, self.input_tokens, self.output_tokens,
            self.cache_read_tokens, self.cache_write_tokens, self.cost, timestamp,
        )  # fmt: skip
        cost = self.cost = entry.cost
        cpu_time = self.cpu_time if self.cpu_time > 0.0 else 0.0
        if type(entry) is CostOut and monitor.record_plain_run(
            entry, self.status, self.duration, cpu_time, self.memory_delta, self.api_calls,
            self.error,
        ):  # fmt: skip
            return
        monitor.record_run(
            self.agent, timestamp, self.status, self.duration, self.input_tokens,
            self.output_tokens, self.cache_read_tokens, self.cache_write_tokens, model,
            self.department, cost, cpu_time, self.memory_delta, self.api_calls, self.error,
        )  # fmt: skip

    # -------------------------------------------------------------- decorator
    def _fresh(self) -> Run:
        return Run(
            self.agent,
            department=self.department,
            model=self.model,
            monitor=self._monitor,
            tracker=self._tracker,
            clock=self.clock,
            max_cost_usd=self.max_cost_usd,
            max_calls=self.max_calls,
            fingerprint=self.fingerprint,
        )

    @overload
    def __call__(self, func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, func: Callable[P, Any]) -> Callable[P, Any]:
        """Measure every call of ``func`` as its own run; ``current_run()`` reaches it."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                with self._fresh():
                    return await func(*args, **kwargs)

            return run_async

        @functools.wraps(func)
        def run_sync(*args: P.args, **kwargs: P.kwargs) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return run_sync


def track(
    agent: str,
    *,
    department: str | None = None,
    model: str | None = None,
    monitor: PerformanceMonitor | None = None,
    tracker: CostTracker | None = None,
    clock: Clock | None = None,
    max_cost_usd: float | None = None,
    max_calls: int | None = None,
    fingerprint: Hashable | None = None,
) -> Run:
    """Measure an agent run: ``with track("a", model=...) as run:`` or ``@track("a")``.

    Without a department the run is booked to ``default``; without a model (given here or
    through ``record_usage(model=...)``) the cost entry is ``unknown`` and unpriced.
    Entering asks the guard (``core.guard``, with ``fingerprint`` for loop detection);
    ``max_cost_usd`` and ``max_calls`` cap the run, checked by ``run.guard_call()``.
    """
    return Run(
        agent,
        department=department,
        model=model,
        monitor=monitor,
        tracker=tracker,
        clock=clock,
        max_cost_usd=max_cost_usd,
        max_calls=max_calls,
        fingerprint=fingerprint,
    )


__all__ = ["Run", "current_run", "normalise_usage", "track"]
