"""PerformanceMonitor: executions recorded by every process, windows and totals, thresholds.

The journal (``metrics/executions-*.jsonl``) is the source of truth. Each query first catches
up on lines any process appended (a few ``stat`` calls when nothing is new); aggregates live in
:mod:`core.monitor.windows` and are checkpointed beside the journal so a new process tails only what
is new. ``track_execution`` appends one validated line and updates the aggregates in memory
without reading its own line back, unless someone else wrote in between.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import orjson

from core.clock import Clock, now_ms, system_clock
from core.config import Config, load_config
from core.journal.store import Journal
from core.monitor import checkpoint, rebuild
from core.monitor.health import HealthCache
from core.monitor.models import (
    AgentMetrics,
    AgentSeries,
    SystemMetrics,
    ThresholdBreach,
    WindowStats,
)
from core.monitor.reader import ExecutionReader, as_dict, as_execution, rows_batch
from core.monitor.recent import Newest
from core.monitor.snapshots import SnapshotSchedule
from core.monitor.thresholds import ThresholdWatch
from core.monitor.windows import (
    MS_PER_DAY,
    REFUSED,
    WINDOWS,
    RollingWindows,
    to_nano,
)
from core.otlp.emit import emitter_for
from core.record_rows import (
    CostOut,
    ExecutionLine,
    ExecutionOut,
    execution_out_line,
    writer_pid,
)
from core.records import (
    ERROR_STATUSES,
    FUTURE_SLACK_MS,
    KNOWN_HOSTS,
    MAX_EXECUTION_COST,
    MAX_EXECUTION_MS,
    MAX_EXECUTION_TOKENS,
    MAX_MEMORY_DELTA,
    Execution,
    Status,
    api_timestamp,
    refusal,
    remember_valid,
)
from core.serial import owned_lock, serialized

if TYPE_CHECKING:
    from core.alerts.manager import AlertManager


def _line(payload: Execution | bytes) -> bytes:
    """The journal line of a model, or the line itself."""
    return payload if isinstance(payload, bytes) else payload.to_json_line()


__all__ = ["AgentMetrics", "AgentSeries", "PerformanceMonitor", "SystemMetrics", "WindowStats"]

log = logging.getLogger("core.monitor")
_HOST = socket.gethostname()
_RECENT = 50
_CHECKPOINT_MIN_NEW = 1_000  # fewer new records are cheaper to tail than to checkpoint
_HORIZON_MS = 8 * MS_PER_DAY  # per-record detail kept for the 7d window plus a margin
_TOKEN_PARTS = (
    ("input_tokens", "inputTokens"),
    ("output_tokens", "outputTokens"),
    ("cache_read_tokens", "cacheReadTokens"),
    ("cache_write_tokens", "cacheWriteTokens"),
)
_PART_KEYS = frozenset(k for pair in _TOKEN_PARTS for k in pair)
_STATUSES = frozenset(get_args(Status))
#: A status as the windows' ``err`` code: refused, an error, or neither.
_ERR_CODES = {s: REFUSED if s == "refused" else int(s in ERROR_STATUSES) for s in _STATUSES}


def _storable(text: str) -> bool:
    """True when ``text`` can be written as UTF-8 (no lone surrogate): the model's rule."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PerformanceMonitor:
    """Per-agent and system-wide execution metrics over one data directory."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        config: Config | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        alert_manager: AlertManager | None = None,
        journal: Journal | None = None,
        checkpoint_interval_s: float = 300.0,
        alert_repeat_s: float = 60.0,
        parallel_rebuild_bytes: int = rebuild.PARALLEL_BYTES,
        progress: rebuild.Progress | None = None,
    ) -> None:
        """``progress(done, total)``: bytes of the journal read while this constructor
        catches up (a console's start-up screen shows it); never called afterwards."""
        self._serial = owned_lock(self, "_serial", threading.RLock)  # see core.serial
        self.config = load_config(config)
        self.clock = clock or system_clock
        self._own_journal = journal is None
        self.journal = journal or Journal.at(data_dir)
        self._alert_manager = alert_manager
        self._started = now_ms(self.clock)
        self._health = HealthCache(self.clock)
        self._checkpoint_every = int(checkpoint_interval_s * 1000)
        self._parallel_bytes = parallel_rebuild_bytes  # 0: never fork a reader
        self._watch = ThresholdWatch(
            self.config.thresholds, lambda: self.alert_manager, int(alert_repeat_s * 1000)
        )
        self._snapshots = SnapshotSchedule(
            self.journal, self.config.retention.snapshots, self._started
        )
        self._checkpoint_writer: threading.Thread | None = None
        self._emit = emitter_for(self.config)  # None unless [otlp] is configured
        self._load(progress)

    # --------------------------------------------------------------- loading
    def _load(self, progress: rebuild.Progress | None = None) -> None:
        self._windows = RollingWindows()
        self._recent = Newest(_RECENT)
        self._reader = ExecutionReader(self.journal)
        self._unsaved = 0
        found = checkpoint.load(self.journal, _RECENT)
        if found is not None:
            header, self._windows, self._recent = found
            checkpoint.report_problems(self.journal, header)
            self._reader.restore({k: v.model_dump() for k, v in header.offsets.items()})
        self._saved_at = now_ms(self.clock)
        n = self._catch_up(force=True, progress=progress)
        if (found is None and self._windows.series) or n > 100_000:
            self.save_checkpoint(wait=False)

    @property
    def alert_manager(self) -> AlertManager:
        if self._alert_manager is None:
            from core.alerts.manager import AlertManager

            # As ``core.Core`` builds it: on this journal, configuration and clock.
            self._alert_manager = AlertManager(
                config=self.config, clock=self.clock, journal=self.journal
            )
        return self._alert_manager

    # ------------------------------------------------------------- catching up
    def _catch_up(self, force: bool = False, progress: rebuild.Progress | None = None) -> int:
        if not force and not self._reader.changed():
            return 0
        with self._reader.catching_up():
            n = rebuild.catch_up(
                self._reader, self._windows, self._recent, self._parallel_bytes, progress
            )
        self._unsaved += n
        return n

    @serialized
    def refresh(self) -> int:
        """Catch up on lines other processes appended; returns how many were new."""
        n = self._catch_up()
        if self._checkpoint_due() and now_ms(self.clock) - self._saved_at >= self._checkpoint_every:
            self.save_checkpoint(wait=False)
        return n

    # -------------------------------------------------------------- recording
    def track_execution(
        self,
        agent: str,
        metrics: Mapping[str, Any] | None = None,
        /,
        *,
        timestamp: int | datetime | None = None,
        allow_history: bool = False,
        **fields: Any,
    ) -> Execution:
        """Record one execution (keywords, or one mapping with camelCase keys); returns it.

        Fields: duration (ms), status, tokens_used, model, cost (USD), cpu_time (ms),
        memory_delta (bytes), api_calls, department, input/output/cache_read/cache_write
        tokens, error. ``timestamp`` (epoch ms or an aware datetime; default now) must lie
        between 2000 and a day from now, or from 1970 with ``allow_history=True``. Invalid
        input raises a ValidationError naming the field and writes nothing.
        """
        with self._serial:  # see core.serial (inline: the hot path)
            data = fields if metrics is None else {**metrics, **fields}
            if timestamp is not None:  # the keyword wins over a mapping's timestamp
                data["timestamp"] = timestamp
            now = now_ms(self.clock)
            record = self._validated(agent, data, now, allow_history)
            self._append(record, record.to_json_line())
            if self._emit is not None:
                self._emit(record)
            self._after(agent, now)
            return record

    def record_run(
        self,
        agent: str,
        timestamp: int,
        status: str | None,
        duration: float,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_write_tokens: int,
        model: str | None,
        department: str | None,
        cost: float,
        cpu_time: float,
        memory_delta: float,
        api_calls: int,
        error: str | None,
    ) -> None:
        """``track_execution`` of what ``core.track`` measured (``tokens_used``: the sum of
        the four counts when they are ints), for a run ``record_plain_run`` did not take: the
        model checks the fields and accepts or refuses them as it always does (and remembers
        the names, so the next run of them takes the plain lane)."""
        with self._serial:  # see core.serial
            ints = type(input_tokens) is type(output_tokens) is int
            ints = ints and type(cache_read_tokens) is type(cache_write_tokens) is int
            used = (
                input_tokens + output_tokens + cache_read_tokens + cache_write_tokens
                if ints
                else None
            )
            fields: dict[str, Any] = {} if used is None else {"tokens_used": used}
            record = self.track_execution(
                agent, timestamp=timestamp, status=status, duration=duration,
                input_tokens=input_tokens, output_tokens=output_tokens,
                cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens,
                model=model, department=department, cost=cost, cpu_time=cpu_time,
                memory_delta=memory_delta, api_calls=api_calls, error=error, **fields,
            )  # fmt: skip
            remember_valid((record.agent, record.model, record.department), record.host)

    def record_plain_run(
        self,
        entry: CostOut,
        status: str | None,
        duration: float,
        cpu_time: float,
        memory_delta: float,
        api_calls: int,
        error: str | None,
    ) -> bool:
        """The execution of a run whose cost entry took the tracker's plain lane
        (``CostTracker._row``: names seen before, a timestamp from 2000 on, plain counts in
        range, a cost in range), written and folded as ``record_run`` would, checking only
        what that lane did not. False, with nothing done, when something is not plainly
        valid: ``record_run`` then takes the fields."""
        with self._serial:  # see core.serial (inline: the hot path)
            now = now_ms(self.clock)
            ts = entry.timestamp
            inp, out = entry.input_tokens, entry.output_tokens
            read, write = entry.cache_read_tokens, entry.cache_write_tokens
            used = inp + out + read + write
            cost = entry.cost
            if not (
                self._emit is None
                and _HOST in KNOWN_HOSTS  # a str
                and ts <= now + FUTURE_SLACK_MS
                and type(status) is str
                and status in _ERR_CODES  # the statuses
                and type(duration) is float
                and type(cpu_time) is float
                and type(memory_delta) is float
                and 0.0 <= duration <= MAX_EXECUTION_MS
                and 0.0 <= cpu_time <= MAX_EXECUTION_MS
                and -MAX_MEMORY_DELTA <= memory_delta <= MAX_MEMORY_DELTA
                and cost <= MAX_EXECUTION_COST
                and used <= MAX_EXECUTION_TOKENS
                and type(api_calls) is int
                and 0 <= api_calls <= MAX_EXECUTION_TOKENS
                and (error is None or (type(error) is str and _storable(error)))
            ):
                return False
            agent, department = entry.agent, entry.department
            row = ExecutionOut(
                ts, agent, status, duration, used, inp, out, read, write, entry.model,
                department, cost, cpu_time, memory_delta, api_calls, error, _HOST, entry.pid,
            )  # fmt: skip
            line = execution_out_line(row)
            # ``self._append(row, line)`` and ``self._after(agent, now)`` written out, with the
            # figures ``_apply`` would take from the row taken from the fields themselves.
            path, end = self.journal.append_line("executions", ts, line)
            if self._reader.claim(path, end, len(line)):  # nobody wrote in between
                self._windows.add(
                    agent, ts, _ERR_CODES[status], round(duration * 1000.0), to_nano(cost), used,
                    round(cpu_time * 1000.0), round(memory_delta), api_calls, department,
                )  # fmt: skip
                self._recent.add(agent, ts, line)
                self._unsaved += 1
            else:
                self._catch_up(force=True)
            self._watch.after_record(self._windows, agent, now)
            due = self._snapshots.next_ms  # self._snapshots.due(now), without the call
            if due is None or now >= due:
                self.maybe_save_snapshot()
            return True

    def _append(self, record: Execution | ExecutionOut, line: bytes) -> None:
        """Write one checked record's line and fold it in."""
        path, end = self.journal.append_line("executions", record.timestamp, line)
        if self._reader.claim(path, end, len(line)):  # nobody wrote in between
            # The newest list keeps a model as it is; a mirror row as its line.
            self._apply(record, None if isinstance(record, Execution) else line)
        else:
            self._catch_up(force=True)

    def _after(self, agent: str, now: int) -> None:
        """After one record: its agent's thresholds, the daily budget, a snapshot if due."""
        self._watch.after_record(self._windows, agent, now)
        if self._snapshots.due(now):
            self.maybe_save_snapshot()

    @serialized
    def track_executions(
        self, records: Iterable[Execution | Mapping[str, Any]], *, allow_history: bool = False
    ) -> list[Execution | ValueError]:
        """Record many executions at once; per record, the Execution written or the
        ValidationError that refused it (a refused record is not written).

        Each mapping holds ``agent`` and the fields of :meth:`track_execution` (same models
        and bounds); an ``Execution`` is taken as built (its ``host``/``pid`` as they are)
        after the same timestamp check. All lines of a UTC day go out in one append
        (``Journal.append_lines``); thresholds, the budget and snapshots are checked once
        per batch, for the agents it touched (so a condition that came and went inside one
        batch raises nothing).
        """
        now = now_ms(self.clock)
        out: list[Execution | ValueError] = []
        days: dict[int, list[tuple[Execution, Any]]] = {}
        for item in records:
            try:
                if isinstance(item, Execution):
                    api_timestamp(item.timestamp, now, allow_history)
                    record = item
                else:
                    data = dict(item)
                    agent = data.pop("agent", None)
                    record = self._validated(agent, data, now, allow_history)
            except ValueError as exc:  # pydantic's ValidationError is one
                out.append(exc)
                continue
            out.append(record)
            days.setdefault(record.timestamp // MS_PER_DAY, []).append((record, record))
        self._append_days(days, now)
        return out

    @serialized
    def append_checked(self, rows: Sequence[ExecutionLine], lines: Sequence[bytes]) -> None:
        """Record executions already checked as :meth:`track_executions` checks them: each
        line vouched for by the mirror (``core.record_rows.vouch_execution``, whose row is
        given beside it) and its timestamp by ``api_timestamp``. Ingestion's write path:
        the same appends, folding and checks, without a model per record."""
        days: dict[int, list[tuple[ExecutionLine, Any]]] = {}
        for row, line in zip(rows, lines, strict=True):
            days.setdefault(row.timestamp // MS_PER_DAY, []).append((row, line))
        self._append_days(days, now_ms(self.clock), batched=True)

    def _append_days(
        self, days: Mapping[int, list[tuple[Any, Any]]], now: int, batched: bool = False
    ) -> None:
        """Append (record, model or line) pairs of each UTC day in one write, fold them in
        (``batched``: in columns, as the reader folds rows), then check thresholds, the
        budget and snapshots once."""
        for day_records in days.values():
            lines = [_line(p) for _, p in day_records]
            size = sum(map(len, lines))
            try:
                path, end = self.journal.append_lines(
                    "executions", day_records[0][0].timestamp, lines
                )
            except OSError:
                self._catch_up(force=True)  # fold what did reach the file, then report
                raise
            if not self._reader.claim_lines(path, end, size, len(lines)):
                self._catch_up(force=True)
            elif batched:
                batch = rows_batch([r for r, _ in day_records], [p for _, p in day_records])
                self._unsaved += rebuild.fold(self._windows, self._recent, [batch])
            else:
                for r, p in day_records:
                    self._apply(r, p)
        if self._emit is not None:
            for day_records in days.values():
                for _, p in day_records:
                    self._emit(as_execution(p))
        for agent in dict.fromkeys(r.agent for rs in days.values() for r, _ in rs):
            self._watch.after_record(self._windows, agent, now, budget=False)
        if days:
            self._watch.check_budget(self._windows, now)
            if self._snapshots.due(now):
                self.maybe_save_snapshot()

    def _validated(
        self, agent: object, data: dict[str, Any], now: int, allow_history: bool
    ) -> Execution:
        """``track_execution``'s checks of one record (``data`` is consumed)."""
        given = data.pop("timestamp", None)
        ts = now if given is None else api_timestamp(given, now, allow_history)
        if (
            "tokens_used" not in data
            and "tokensUsed" not in data
            and not _PART_KEYS.isdisjoint(data)
        ):
            parts = [data.get(a) or data.get(b) or 0 for a, b in _TOKEN_PARTS]
            if all(type(p) is int for p in parts):
                total = data["tokens_used"] = sum(parts)
                if total > MAX_EXECUTION_TOKENS:
                    raise refusal(
                        "tokens_used",
                        total,
                        "input_tokens + output_tokens + cache_read_tokens + cache_write_tokens "
                        f"= {total} exceeds {MAX_EXECUTION_TOKENS:,}",
                    )
        data["timestamp"], data["agent"] = ts, agent
        data.setdefault("host", _HOST)
        data.setdefault("pid", writer_pid())
        return Execution.model_validate(data)

    def _apply(self, r: Execution | ExecutionLine | ExecutionOut, payload: Any = None) -> None:
        """Fold one record in; ``payload`` is what the recent list keeps (the model, or
        the line as written: ``as_execution`` reads either, parsed again only if the
        console asks for it)."""
        self._windows.add(
            r.agent,
            r.timestamp,
            _ERR_CODES[r.status],
            round(r.duration * 1000.0),  # to_micro, inlined (once per execution)
            to_nano(r.cost),
            r.tokens_used,
            round(r.cpu_time * 1000.0),
            round(r.memory_delta),
            r.api_calls,
            r.department,
        )
        self._recent.add(r.agent, r.timestamp, r if payload is None else payload)
        self._unsaved += 1

    # ------------------------------------------------------------- thresholds
    @serialized
    def check_thresholds(self) -> list[ThresholdBreach]:
        """Evaluate every agent and the daily budget once: raise, repeat and resolve alerts."""
        self.refresh()
        return self._watch.check_all(self._windows, now_ms(self.clock))

    # ---------------------------------------------------------------- queries
    def _window_stats(self, agent: str | None, now: int) -> dict[str, WindowStats]:
        w = self._windows
        if agent is None:
            return {k: WindowStats.of(w.system_window(now - ms, now)) for k, ms in WINDOWS.items()}
        return {k: WindowStats.of(w.window(agent, now - ms, now)) for k, ms in WINDOWS.items()}

    @serialized
    def get_agent_metrics(self, agent: str) -> AgentMetrics | None:
        """Totals and 1h/24h/7d windows of one agent; None if it never ran."""
        self.refresh()
        totals = self._windows.totals.get(agent)
        if totals is None:
            return None
        return AgentMetrics.of(agent, totals, self._window_stats(agent, now_ms(self.clock)))

    @serialized
    def get_all_agent_metrics(self) -> list[AgentMetrics]:
        self.refresh()
        now = now_ms(self.clock)
        w = self._windows
        return [AgentMetrics.of(a, w.totals[a], self._window_stats(a, now)) for a in w.agents()]

    @serialized
    def get_system_metrics(self) -> SystemMetrics:
        """System-wide totals, windows and host health."""
        self.refresh()
        now = now_ms(self.clock)
        t = self._windows.system_totals()
        windows = self._window_stats(None, now)
        hour = windows["1h"]
        return SystemMetrics(
            uptime=max(0, now - self._started),
            total_executions=t.executions,
            total_errors=t.errors,
            error_rate=t.errors / t.executions if t.executions else 0.0,
            total_cost=t.cost_nano / 1e9,
            executions_per_hour=hour.count,
            avg_response_time=hour.avg_duration,
            agent_count=len(self._windows.series),
            windows=windows,
            system_health=self._health.get(now),
        )

    @serialized
    def get_cost_today(self) -> float:
        """USD of every execution today (UTC), the figure the daily budget is judged on."""
        self.refresh()
        return self._windows.cost_on_day(now_ms(self.clock) // MS_PER_DAY) / 1e9

    @serialized
    def list_agents(self) -> list[str]:
        self.refresh()
        return self._windows.agents()

    @serialized
    def get_agent_departments(self) -> dict[str, str]:
        """The last department seen per agent (agents never given one are left out)."""
        self.refresh()
        return {a: t.department for a, t in self._windows.totals.items() if t.department}

    @serialized
    def get_recent_executions(self, agent: str, limit: int = 50) -> list[Execution]:
        """The agent's most recently recorded executions, newest timestamp first."""
        self.refresh()
        return [as_execution(p) for p in self._recent.newest(agent)[:limit]]

    @serialized
    def get_agent_series(self, agent: str, window: str = "24h", points: int = 24) -> AgentSeries:
        """The window cut into ``points`` equal slices, oldest first."""
        if window not in WINDOWS:
            raise ValueError(f"window: expected one of {', '.join(WINDOWS)}, got {window!r}")
        if points < 1:
            raise ValueError(f"points: must be at least 1, got {points!r}")
        self.refresh()
        now = now_ms(self.clock)
        span = WINDOWS[window]
        edges = [now - span + span * i // points for i in range(points + 1)]
        slices = [self._windows.window(agent, lo, hi) for lo, hi in pairwise(edges)]
        return AgentSeries(
            executions=[s.count for s in slices],
            avg_duration=[s.avg_duration_ms for s in slices],
            cost=[s.cost for s in slices],
        )

    @serialized
    def export_metrics(self) -> str:
        """The export document: ``{"system": ..., "agents": [...], "timestamp": ms}`` as JSON."""
        system = self.get_system_metrics()
        agents = self.get_all_agent_metrics()
        doc = {
            "system": system.model_dump(by_alias=True, mode="json"),
            "agents": [a.model_dump(by_alias=True, mode="json") for a in agents],
            "timestamp": now_ms(self.clock),
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()

    # -------------------------------------------------------------- snapshots
    @serialized
    def save_snapshot(self) -> Path:
        """Write ``metrics/snapshot-<UTC time>.json`` and keep the newest 168 (configurable)."""
        return self._snapshots.save(self.clock(), self.export_metrics())

    @serialized
    def maybe_save_snapshot(self) -> Path | None:
        """Save a snapshot when the newest one (from any process) is over an hour old.

        With none at all, the first is due an hour after this monitor started. Cheap when
        nothing is due: ``track_execution`` calls it and so can any long-running process.
        """
        return self._snapshots.maybe_save(self.clock(), self.export_metrics)

    # ------------------------------------------------------------- checkpoint
    @serialized
    def save_checkpoint(self, wait: bool = True) -> None:
        """Store aggregates and offsets so the next process tails only what is new.

        With ``wait=False`` the (tens of MB) file is written by a background thread, so a
        query is not held up; the interpreter still finishes it before exiting. A write error
        is logged once, never raised: the journal alone suffices.
        """
        writer = self._checkpoint_writer
        if writer is not None and writer.is_alive():
            if not wait:
                return  # the previous one is still being written
            writer.join()
        now = now_ms(self.clock)
        self._windows.trim(now - _HORIZON_MS)
        recent = {
            a: [as_dict(p) for p in reversed(self._recent.newest(a))] for a in self._recent.items
        }
        try:
            blob = checkpoint.encode(
                self._windows, self._reader.state(), recent, now, self.journal.problems
            )
        except checkpoint.CheckpointError as exc:  # the journal alone still answers
            log.warning("not saving the monitor checkpoint: %s", exc)
            self._saved_at, self._unsaved = now, 0
            return
        if wait:
            checkpoint.save(self.journal, blob)
        else:
            self._checkpoint_writer = threading.Thread(
                target=checkpoint.save, args=(self.journal, blob), name="monitor-checkpoint"
            )
            self._checkpoint_writer.start()
        self._saved_at = now
        self._unsaved = 0

    def _checkpoint_due(self) -> bool:
        """Enough is new that tailing it would cost more than rewriting the checkpoint.

        A short-lived agent adding a few records leaves them to be tailed by the next
        process instead of rewriting tens of MB on every exit.
        """
        stored = sum(len(s) for s in self._windows.series.values())
        return self._unsaved >= max(_CHECKPOINT_MIN_NEW, stored // 20)

    @serialized
    def close(self) -> None:
        """Checkpoint when much is new, and release files."""
        if self._checkpoint_due():
            self.save_checkpoint()
        elif self._checkpoint_writer is not None:
            self._checkpoint_writer.join()
        if self._own_journal:
            self.journal.close()
