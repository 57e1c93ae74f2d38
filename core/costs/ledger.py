"""CostTracker: the cost ledger, its reports, budgets, budget alerts and forecast.

Every cost entry is one line in ``costs/ledger-YYYY-MM-DD.jsonl``; the tracker folds the
lines into incremental aggregates (``core.costs.aggregates``) and answers every query from
them after catching up on lines other processes appended. ``track_cost`` reads the current
month's files once (for budgets, from a checkpoint when there is one; with the 3 days before
it, for burn rates) and afterwards only the day files it touches (today's and the entry's
own), so its cost does not grow with history; every report catches up on all files (one
``stat`` per file when nothing changed).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.clock import MS_PER_DAY, Clock, day_of_ms, now_ms, parse_day, system_clock, to_ms
from core.config import Config, RuntimeBudgets, load_config
from core.costs import checkpoint as ledger_checkpoint
from core.costs.aggregates import CostCell, Key, LedgerAggregates, Month, fold_days
from core.costs.budget_alerts import BudgetAlerts
from core.costs.burn import WINDOWS, month_ms, rates
from core.costs.burn_alerts import BurnAlerts
from core.costs.forecast import forecast, level_bars, level_of
from core.costs.models import (
    AgentCost,
    AllCosts,
    BudgetForecast,
    BurnRates,
    CostResult,
    DailyCostReport,
    DepartmentCost,
    GeneratedDailyReport,
    MonthlyCostReport,
    Optimization,
    WeeklyCostReport,
)
from core.costs.nanos import EXACT_USD, NANOS_PER_USD
from core.costs.pricing import PriceTable, Usage, nanos_to_usd, usd_to_nanos
from core.costs.reports import (
    agent_cost,
    agent_costs,
    agent_month_costs,
    daily_report,
    department_costs,
    departments_of,
    generated_report,
    make_usage,
    month_days,
    monthly_report,
    optimizations,
    parse_month,
    parse_week,
    usage_kwargs,
    weekly_report,
)
from core.journal.store import Journal, JournalReader
from core.record_rows import (
    CostLine,
    CostOut,
    CostRecord,
    cost_out_line,
    parse_cost_lines,
    writer_pid,
)
from core.records import (
    FUTURE_SLACK_MS,
    HISTORY_START_MS,
    KNOWN_HOSTS,
    KNOWN_NAMES,
    MAX_ENTRY_COST,
    MAX_EPOCH_MS,
    MAX_EXECUTION_TOKENS,
    MAX_SOURCE_ID,
    CostEntry,
    Pricing,
    api_timestamp,
    check_name,
    refusal,
    refuse_bad_name,
    remember_valid,
)
from core.serial import owned_lock, serialized

if TYPE_CHECKING:
    from core.alerts.manager import AlertManager

log = logging.getLogger("core.ledger")
_warned_unpriced: set[str] = set()
#: The keys of one entry of ``CostTracker.track_costs`` (``track_cost``'s arguments).
_ENTRY_KEYS = frozenset(
    ("agent", "department", "model", "input_tokens", "output_tokens", "tokens_used",
     "cache_read_tokens", "cache_write_tokens", "cost", "timestamp", "host", "source_id",
     "reported")
)  # fmt: skip


class CostTracker:
    """Records priced model calls and answers cost, budget and forecast queries."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        config: Config | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        alert_manager: AlertManager | None = None,
        journal: Journal | None = None,
        checkpoint_every: int = 10_000,
    ) -> None:
        self._serial = owned_lock(self, "_serial", threading.RLock)  # see core.serial
        self.config = load_config(config)
        self.clock: Clock = clock or system_clock
        self._own_journal = journal is None
        self.journal = journal or Journal.at(data_dir)
        self.prices = PriceTable(self.config.pricing)
        self.budgets = RuntimeBudgets(self.config, self.journal)
        self._alerts = alert_manager
        self._agg = LedgerAggregates()
        self._reader: JournalReader[CostRecord] = self.journal.reader(
            "ledger", CostEntry.model_validate_json, parse_lines=parse_cost_lines
        )
        self._months_loaded: set[Month] = set()
        self._caught_up = False
        self._today_day = -1
        self._today_path = Path()
        self._guard_day: tuple[int, Month] = (-1, (0, 0))  # fresh_month_spend's day and month
        self._book_day, self._book_month = -1, (0, 0)  # ``_book``'s day, its month (loaded)
        self._started = False
        self._checkpoint_every = checkpoint_every  # entries read between checkpoint saves
        self._saved_entries = 0
        self._host = socket.gethostname()
        self._levels = self.config.thresholds.budget_levels
        self._budget_alerts = BudgetAlerts(lambda: self.alert_manager, self._levels)
        self._burn_alerts = BurnAlerts(lambda: self.alert_manager)

    # ------------------------------------------------------------- plumbing
    @property
    def alert_manager(self) -> AlertManager:
        if self._alerts is None:
            from core.alerts.manager import AlertManager

            # As ``core.Core`` builds it: on this journal, configuration and clock.
            self._alerts = AlertManager(config=self.config, clock=self.clock, journal=self.journal)
        return self._alerts

    def _start(self) -> None:
        """Begin from a usable checkpoint, if there is one (once, before any read)."""
        self._started = True
        agg = ledger_checkpoint.load(self.journal, self._reader)
        if agg is not None:
            self._agg = agg
            self._saved_entries = agg.entries

    @serialized
    def save_checkpoint(self) -> None:
        """Write the aggregates and the offsets they cover (atomically)."""
        ledger_checkpoint.save(self.journal, self._agg, self._reader, to_ms(self.clock()))
        self._saved_entries = self._agg.entries

    def _maybe_checkpoint(self) -> None:
        if self._agg.entries - self._saved_entries >= self._checkpoint_every:
            self.save_checkpoint()

    @serialized
    def refresh(self) -> int:
        """Catch up on every ledger line appended since the last look; how many were new."""
        if not self._started:
            self._start()
        n = self._refresh()
        self._maybe_checkpoint()
        return n

    def _refresh(self) -> int:
        reader = self._reader
        if self._caught_up and not reader.changed():
            return 0  # a few stat calls: nothing appended, no file created
        n = 0
        with reader.catching_up():
            if not self._caught_up:
                days: dict[int, dict[Key, CostCell]] = {}
                for batch in reader.poll_batches():  # bounded memory on a cold start
                    n += fold_days(batch, days, self._agg.recent)
                for day, cells in days.items():
                    for key, cell in cells.items():
                        self._agg.add_cell(day, key, cell)
                self._caught_up = True
                return n
            for _, path in self.journal.day_files("ledger"):
                if reader.unread(path):  # one stat per known file: past days rarely change
                    n += self._agg.add_all(reader.poll_file(path))
        return n

    def _load_month(self, month: Month) -> None:
        """Catch up on one month's day files (enough for budgets and today's totals)."""
        if month in self._months_loaded:
            return
        if not self._started:
            self._start()
        first, last = month_days(month)
        # and the days before it that the longest burn-rate window reaches back to
        first -= timedelta(milliseconds=max(WINDOWS.values()))
        for day, path in self.journal.day_files("ledger", first):
            if day <= last:
                self._agg.add_all(self._reader.poll_file(path))
        self._months_loaded.add(month)
        self._maybe_checkpoint()  # a big month read once is not read again by the next process

    def _poll_day(self, ms: int) -> None:
        day = ms // MS_PER_DAY
        if self._today_day != day:  # a cached path: building one costs more than the poll
            self._today_day, self._today_path = day, self.journal.path_for("ledger", day_of_ms(ms))
        self._agg.add_all(self._reader.poll_file(self._today_path))

    @serialized
    def close(self) -> None:
        if self._started:
            self._maybe_checkpoint()
        if self._own_journal:
            self.journal.close()

    # -------------------------------------------------------------- pricing
    def calculate_cost(
        self,
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        tokens_used: int | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        """USD for one call; ValueError naming the model when the table cannot price it."""
        check_name(model, "model")
        usage = make_usage(
            input_tokens, output_tokens, tokens_used, cache_read_tokens, cache_write_tokens
        )
        return nanos_to_usd(self.prices.cost_nanos(model, usage))

    def _price(self, model: str, usage: Usage, cost: float | None) -> tuple[float, Pricing]:
        if cost is not None:
            if isinstance(cost, bool) or not isinstance(cost, int | float):
                raise refusal("cost", cost, f"expected a number of USD, got {cost!r}")
            if not 0 <= cost <= MAX_ENTRY_COST:  # NaN, infinities and ints beyond floats too
                raise refusal(
                    "cost", cost, f"must be a finite amount from 0 to {MAX_ENTRY_COST:g} USD"
                )
            return float(cost), "caller"
        row, how = self.prices.resolve(model)
        if row is None:
            if model not in _warned_unpriced:
                _warned_unpriced.add(model)
                log.warning(
                    "model %r has no price (no [pricing] row and no family): "
                    "recorded at $0 with pricing 'unpriced'",
                    model,
                )
            return 0.0, "unpriced"
        try:
            nanos = self.prices.cost_nanos(model, usage)
        except ArithmeticError:  # a configured price too large for exact arithmetic
            raise refusal("cost", None, f"the price of {model!r} is out of range") from None
        return nanos_to_usd(nanos), how

    # ------------------------------------------------------------ recording
    def track_cost(
        self,
        agent: str,
        department: str,
        usage: Mapping[str, Any] | None = None,
        /,
        *,
        model: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        tokens_used: int | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cost: float | None = None,
        timestamp: int | datetime | None = None,
        allow_history: bool = False,
        host: str | None = None,
        source_id: str | None = None,
        reported: bool = False,
    ) -> CostResult:
        """Price and append one cost entry, then check the department's budget.

        Keywords, or one usage mapping: ``track_cost(agent, dept, {"model": "sonnet",
        "inputTokens": 500, "outputTokens": 300})`` (camelCase or snake_case keys).
        ``timestamp`` as for ``PerformanceMonitor.track_execution`` (``allow_history``
        too). Invalid input raises a ValidationError naming the field and writes nothing.
        Ingestion (core/otlp/ingest.py) names the sender's ``host``, the ``source_id`` that
        makes a retried delivery count once, and ``reported=True`` for a cost the sender
        stated (pricing ``reported`` rather than ``caller``).
        """
        with self._serial:  # see core.serial (inline: the hot path)
            if usage is not None:
                kwargs = usage_kwargs(usage)
                return self.track_cost(agent, department, allow_history=allow_history, **kwargs)
            now = self._now_ms()  # the one clock reading of the call
            row = None
            if timestamp is None and tokens_used is None:  # every agent's call: the plain lane
                row = self._row(
                    agent, department, model, now, now, input_tokens, output_tokens,
                    cache_read_tokens, cache_write_tokens, cost, reported,
                    self._host if host is None else host, writer_pid(), source_id,
                )  # fmt: skip
            entry: CostEntry | CostOut
            if row is not None:
                entry = row[0]
                month, spent, budget = self._book(entry, now, row[1])
            else:
                entry = self._checked(
                    agent, department, model, timestamp, now, allow_history,
                    input_tokens, output_tokens, tokens_used, cache_read_tokens, cache_write_tokens,
                    cost, reported, host, source_id, writer_pid(),
                    fast=timestamp is not None,  # else ``_row`` above has said no already
                )  # fmt: skip
                month, spent, budget = self._book(entry, now)
            agg = self._agg
            day_total = agg.day_sums.get(now // MS_PER_DAY)  # nano-dollars: current
            month_total = agg.month_sums.get(month)
            return CostResult(
                cost=entry.cost,
                total_cost_today=nanos_to_usd(day_total.nanos if day_total is not None else 0),
                total_cost_this_month=nanos_to_usd(
                    month_total.nanos if month_total is not None else 0
                ),
                department_cost=nanos_to_usd(spent),
                department_budget=budget,
            )

    def record_run_cost(
        self,
        agent: str,
        department: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_write_tokens: int,
        cost: float | None,
        timestamp: int,
    ) -> CostEntry | CostOut:
        """``core.track``'s cost entry: ``track_cost(agent, department, model=model, ...,
        cost=cost, timestamp=timestamp)`` (the same checks, line, folding and alerts) that
        returns the entry written (a ``CostOut`` when it took the plain lane, ``_row``),
        without building the ``CostResult`` nobody reads."""
        with self._serial:  # see core.serial (inline: the hot path)
            now = self._now_ms()
            row = self._row(
                agent, department, model, timestamp, now, input_tokens, output_tokens,
                cache_read_tokens, cache_write_tokens, cost, False, self._host, writer_pid(), None,
            )  # fmt: skip
            if row is not None:
                self._book(row[0], now, row[1])
                return row[0]
            entry = self._checked(
                agent, department, model, timestamp, now, False,
                input_tokens, output_tokens, None, cache_read_tokens, cache_write_tokens,
                cost, False, None, None, writer_pid(), fast=False,  # ``_row`` said no
            )  # fmt: skip
            self._book(entry, now)
            return entry

    def _book(
        self, entry: CostEntry | CostOut, now: int, nanos: int = -1
    ) -> tuple[Month, int, float]:
        """Append one checked entry, fold it in and check its department's budget and burn
        rates; (the month of ``now``, the department's spend in it, its budget). ``nanos``:
        the entry's ``usd_to_nanos(cost)`` when known (``_row`` says), else -1."""
        today = now // MS_PER_DAY
        if today != self._book_day:
            month = self._agg.month_of_day(today)
            self._load_month(month)  # may start from a checkpoint: a new ``_agg``
            self._book_day, self._book_month = today, month
        month = self._book_month
        ts = entry.timestamp
        if ts // MS_PER_DAY != today:
            # Today's file is not the one written: catch up on it here. When it is, the
            # claim below says whether anyone else appended to it since we last read it.
            self._poll_day(now)
            today = -1  # the entry's month may not be ``month``
        line = cost_out_line(entry) if isinstance(entry, CostOut) else entry.to_json_line()
        path, end = self.journal.append_line("ledger", ts, line)
        agg = self._agg
        if self._reader.claim(path, end, len(line)):
            slot = agg.add(entry, nanos)
            dept = slot.lower
            # an entry of today: its slot's month is ``month``
            spent = slot.depts[dept] if today >= 0 else agg.department_month_nanos(dept, month)
        else:
            agg.add_all(self._reader.poll_file(path))
            dept = entry.department.lower()
            spent = agg.department_month_nanos(dept, month)
        budget = self.budgets.budget_for(dept)
        self._budget_alerts.check(dept, spent, budget)
        self._burn_alerts.check(dept, agg.recent, budget, None, now)
        return month, spent, budget

    def _now_ms(self) -> int:
        clock = self.clock
        return now_ms(clock) if clock is system_clock else to_ms(clock().astimezone(UTC))

    @serialized
    def track_costs(
        self, entries: Iterable[Mapping[str, Any]], *, allow_history: bool = False
    ) -> list[CostEntry | ValueError]:
        """Price and append many cost entries at once; per entry, the CostEntry written or
        the ValidationError that refused it (a refused entry is not written).

        Each mapping holds ``agent``, ``department`` and the keywords of :meth:`track_cost`
        (``model``, token counts, ``cost``, ``timestamp``, ``host``, ``source_id``,
        ``reported``): the same checks and pricing. All lines of a UTC day go out in one
        append; other processes' lines are read and each department's budget is checked
        once per batch.
        """
        now = self.clock().astimezone(UTC)
        now_ms = to_ms(now)
        pid = os.getpid()
        out: list[CostEntry | ValueError] = []
        days: dict[int, list[tuple[CostRecord, bytes]]] = {}
        for item in entries:
            try:
                entry = self._entry(item, now_ms, allow_history, pid)
            except ValueError as exc:  # pydantic's ValidationError is one
                out.append(exc)
                continue
            out.append(entry)
            days.setdefault(entry.timestamp // MS_PER_DAY, []).append((entry, entry.to_json_line()))
        self._append(days, now)
        return out

    @serialized
    def append_checked(self, rows: Sequence[CostLine], lines: Sequence[bytes]) -> None:
        """Record cost entries already priced and checked as :meth:`track_costs` checks
        them: each line vouched for by the mirror (``core.record_rows.vouch_cost``, whose
        row is given beside it) and its timestamp by ``api_timestamp``. Ingestion's write
        path: the same appends, folding and budget checks, without a model per entry."""
        days: dict[int, list[tuple[CostRecord, bytes]]] = {}
        for row, line in zip(rows, lines, strict=True):
            days.setdefault(row.timestamp // MS_PER_DAY, []).append((row, line))
        self._append(days, self.clock().astimezone(UTC))

    def _append(self, days: Mapping[int, list[tuple[CostRecord, bytes]]], now: datetime) -> None:
        """Append the (entry, line) pairs of each UTC day in one write, fold them in, and
        check each department's budget: levels reached on the way as ``track_cost`` would
        raise them, then once per department."""
        if not days:
            return
        month = (now.year, now.month)
        self._load_month(month)
        self._poll_day(to_ms(now))
        levels = _LevelSteps(self, month)
        for pairs in days.values():
            lines = [line for _, line in pairs]
            size = sum(map(len, lines))
            try:
                path, end = self.journal.append_lines("ledger", pairs[0][0].timestamp, lines)
            except OSError:
                for day in days:  # fold what did reach the files, then report
                    self._agg.add_all(self._reader.poll_file(self._path_of_day(day)))
                raise
            claimed = self._reader.claim_lines(path, end, size, len(lines))
            # Others wrote in between (or the file is new to us): read them and ours back.
            written = [e for e, _ in pairs] if claimed else list(self._reader.poll_file(path))
            nanos = levels.steady(written)
            if nanos is not None:
                self._agg.add_many(written, nanos)
                continue
            for e in written:
                dept = e.department.lower()
                levels.prime(dept)
                self._agg.add(e)
                levels.crossed(dept)
        for dept in dict.fromkeys(e.department.lower() for ps in days.values() for e, _ in ps):
            spent = self._agg.department_month_nanos(dept, month)
            budget = self.budgets.budget_for(dept)
            self._budget_alerts.check(dept, spent, budget)
            self._burn_alerts.check(dept, self._agg.recent, budget, now, to_ms(now))

    def _path_of_day(self, day: int) -> Path:
        return self.journal.path_for("ledger", day_of_ms(day * MS_PER_DAY))

    def _entry(
        self, item: Mapping[str, Any], now_ms: int, allow_history: bool, pid: int
    ) -> CostEntry:
        """``track_cost``'s checks and pricing of one entry of a batch."""
        unknown = item.keys() - _ENTRY_KEYS
        if unknown:
            name = sorted(unknown)[0]
            raise refusal(name, item[name], "not a field of a cost entry")
        entry = self._checked(
            item.get("agent"), item.get("department"), item.get("model"), item.get("timestamp"),
            now_ms, allow_history, item.get("input_tokens", 0), item.get("output_tokens", 0),
            item.get("tokens_used"), item.get("cache_read_tokens", 0),
            item.get("cache_write_tokens", 0), item.get("cost"), item.get("reported"),
            item.get("host"), item.get("source_id"), pid, fast=False,
        )  # fmt: skip
        assert isinstance(entry, CostEntry)
        return entry

    def _row(
        self,
        agent: object,
        department: object,
        model: object,
        ts: object,
        now_ms: int,
        input_tokens: object,
        output_tokens: object,
        cache_read_tokens: object,
        cache_write_tokens: object,
        cost: object,
        reported: object,
        host: object,
        pid: int,
        source_id: object,
    ) -> tuple[CostOut, int] | None:
        """The ``CostOut`` of an entry whose every field is plainly valid — names and host
        already seen, a plain int timestamp from 2000 to a day ahead, plain int counts in
        range, a priced model or a plain float cost in range — else None, and ``_checked``
        decides (it refuses, warns of an unpriced model or builds the model). Every record
        ``core.track`` and ``track_cost`` write takes this lane once their names are known:
        the checks written out, without the layers of the general path. With it, the
        entry's ``usd_to_nanos(cost)`` when known without working it out (the price in
        nano-dollars, below ``EXACT_NANOS``), else -1."""
        if not (
            type(agent) is str
            and agent in KNOWN_NAMES
            and type(department) is str
            and department in KNOWN_NAMES
            and type(model) is str
            and model in KNOWN_NAMES
            and type(host) is str
            and host in KNOWN_HOSTS
            and type(ts) is int
            and HISTORY_START_MS <= ts <= now_ms + FUTURE_SLACK_MS
            and ts <= MAX_EPOCH_MS
            and type(input_tokens) is int
            and type(output_tokens) is int
            and type(cache_read_tokens) is int
            and type(cache_write_tokens) is int
            # each from 0 to MAX_EXECUTION_TOKENS: the OR of ints is negative when one is,
            # and at least each of them (counts all in range whose OR is not go to _checked)
            and 0
            <= input_tokens | output_tokens | cache_read_tokens | cache_write_tokens
            <= MAX_EXECUTION_TOKENS
        ):
            return None
        if source_id is not None and not (
            type(source_id) is str and 0 < len(source_id) <= MAX_SOURCE_ID
        ):
            return None
        pricing: Pricing
        if cost is None:
            try:
                priced = self.prices.plain(
                    model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens
                )
            except ArithmeticError:
                return None
            if priced is None:  # unpriced: $0, once ``_price`` has warned of it
                if model not in _warned_unpriced:
                    return None
                amount, pricing, nanos = 0.0, "unpriced", 0
            else:
                nanos, pricing = priced
                amount = nanos / NANOS_PER_USD  # nanos_to_usd
                if not amount < EXACT_USD:  # (0 <= nanos < EXACT_NANOS otherwise)
                    if not amount <= MAX_ENTRY_COST:
                        return None
                    nanos = -1
        elif type(cost) is float and 0.0 <= cost <= MAX_ENTRY_COST:
            amount, pricing, nanos = cost, "reported" if reported else "caller", -1
        else:
            return None
        return CostOut(
            ts, agent, department, model, input_tokens, output_tokens, cache_read_tokens,
            cache_write_tokens, amount, pricing, host, pid, source_id,
        ), nanos  # fmt: skip

    def _checked(
        self,
        agent: object,
        department: object,
        model: object,
        timestamp: object,
        now_ms: int,
        allow_history: bool,
        input_tokens: int,
        output_tokens: int,
        tokens_used: int | None,
        cache_read_tokens: int,
        cache_write_tokens: int,
        cost: float | None,
        reported: object,
        host: object,
        source_id: object,
        pid: int,
        fast: bool,
    ) -> CostEntry | CostOut:
        """One entry checked and priced, refused with the ValidationError naming the first
        bad field (in this order: model, timestamp, tokens, cost, then the model's fields).

        ``fast``: when every field is plainly valid (``_row`` says so), a ``CostOut`` row,
        written as the same bytes without building the pydantic model; otherwise (and for a
        batch, which returns models) the ``CostEntry``.
        """
        if fast and tokens_used is None:
            row = self._row(
                agent, department, model, now_ms if timestamp is None else timestamp, now_ms,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost,
                reported, self._host if host is None else host, pid, source_id,
            )  # fmt: skip
            if row is not None:
                return row[0]
        if model is None:
            raise refusal("model", None, "required (the model id or family the call used)")
        ts = now_ms if timestamp is None else api_timestamp(timestamp, now_ms, allow_history)
        model = refuse_bad_name(model, "model")
        if (
            tokens_used is None
            and type(input_tokens) is type(output_tokens) is int
            and type(cache_read_tokens) is type(cache_write_tokens) is int
            and 0 <= input_tokens <= MAX_EXECUTION_TOKENS
            and 0 <= output_tokens <= MAX_EXECUTION_TOKENS
            and 0 <= cache_read_tokens <= MAX_EXECUTION_TOKENS
            and 0 <= cache_write_tokens <= MAX_EXECUTION_TOKENS
        ):  # what make_usage accepts as it is
            tokens = Usage(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
        else:
            tokens = make_usage(
                input_tokens, output_tokens, tokens_used, cache_read_tokens, cache_write_tokens
            )
        amount, pricing = self._price(model, tokens, cost)
        if reported and pricing == "caller":
            pricing = "reported"
        if host is None:
            host = self._host
        entry = CostEntry(
            timestamp=ts,
            agent=agent,  # type: ignore[arg-type]  # the model checks it
            department=department,  # type: ignore[arg-type]
            model=model,
            input_tokens=tokens.input,
            output_tokens=tokens.output,
            cache_read_tokens=tokens.cache_read,
            cache_write_tokens=tokens.cache_write,
            cost=amount,
            pricing=pricing,
            host=host,  # type: ignore[arg-type]
            pid=pid,
            source_id=source_id,  # type: ignore[arg-type]
        )
        remember_valid((entry.agent, entry.department), entry.host)
        return entry

    # -------------------------------------------------------------- budgets
    @serialized
    def set_department_budget(self, department: str, amount: float) -> None:
        """Persist a monthly budget to data/budgets.toml; every process sees it next query.

        ValueError naming the field (``amount`` over ``[budget_limits] max_monthly_usd``, not
        positive or not a number; a bad or one-too-many ``department``): nothing is written."""
        self.budgets.set(department, amount)
        self.refresh()
        dept = department.lower()
        month = self._this_month()
        self.alert_manager.refresh()  # learn of alerts other processes raised
        self._budget_alerts.check(
            dept, self._agg.department_month_nanos(dept, month), float(amount), force=True
        )
        now = self.clock()
        self._burn_alerts.check(dept, self._agg.recent, float(amount), now, to_ms(now), force=True)

    @serialized
    def fresh_month_spend(self, department: str, now_ms: int) -> int:
        """``department``'s spend this month (nano-USD) after reading what any process
        appended to today's day file: the hard-cap guard's view, one ``stat`` when nothing
        is new (``department`` lower case)."""
        day = now_ms // MS_PER_DAY
        if self._guard_day[0] != day or self._today_day != day:
            d = day_of_ms(now_ms)
            self._guard_day = (day, (d.year, d.month))
            self._load_month(self._guard_day[1])
            self._poll_day(now_ms)
        elif self._reader.appended(self._today_path):
            self._agg.add_all(self._reader.poll_file(self._today_path))
        return self._agg.department_month_nanos(department, self._guard_day[1])

    @serialized
    def check_budgets(self) -> list[BudgetForecast]:
        """Raise or resolve budget and burn-rate alerts for every department; for cron and
        the console (burn-rate alerts resolve here as spend leaves the windows)."""
        forecasts = self.get_budget_forecast()
        now = self.clock()
        month = self._this_month()
        self.alert_manager.refresh()  # learn of alerts other processes raised
        for f in forecasts:
            spent = self._agg.department_month_nanos(f.department, month)
            self._budget_alerts.check(f.department, spent, f.budget, force=True)
            self._burn_alerts.check(
                f.department, self._agg.recent, f.budget, now, to_ms(now), force=True
            )
        return forecasts

    @serialized
    def get_burn_rates(self) -> list[BurnRates]:
        """Per department with a budget or spend: its burn rate over every window of the
        burn-rate alerts (``core.costs.burn``; 0 without a positive budget)."""
        self.refresh()
        now = self.clock()
        now_ms, month = to_ms(now), month_ms(now)
        out = []
        for d in self._departments(self._this_month()):
            budget = self.budgets.budget_for(d)
            spends = {w: self._agg.recent.spend(d, now_ms, ms) for w, ms in WINDOWS.items()}
            out.append(BurnRates(department=d, budget=budget, rates=rates(spends, budget, month)))
        return out

    def _this_month(self) -> Month:
        now = self.clock().astimezone(UTC)
        return now.year, now.month

    def _departments(self, month: Month) -> list[str]:
        return departments_of(self._agg, month, self.budgets.known_departments())

    @serialized
    def get_budget_forecast(self) -> list[BudgetForecast]:
        """Per department with a budget or spend: month so far, projection, run-out date."""
        self.refresh()
        now = self.clock().astimezone(UTC)
        month = (now.year, now.month)
        return [
            forecast(
                d,
                self._agg.department_month_nanos(d, month),
                self.budgets.budget_for(d),
                now,
                self._levels,
            )
            for d in self._departments(month)
        ]

    # -------------------------------------------------------------- reports
    @serialized
    def get_daily_cost_report(self, date: str | date | None = None) -> DailyCostReport:
        """A day's total, executions, and spend per agent and department (today by default)."""
        self.refresh()
        return daily_report(self._agg, parse_day(date, self.clock))

    @serialized
    def get_weekly_cost_report(self, week: str | date | None = None) -> WeeklyCostReport:
        """An ISO week's (``YYYY-Www``) total and executions (this week by default)."""
        self.refresh()
        return weekly_report(self._agg, *parse_week(week, self.clock))

    @serialized
    def get_monthly_cost_report(self, month: str | date | None = None) -> MonthlyCostReport:
        """A month's (``YYYY-MM``) total, executions, and spend against each budget."""
        self.refresh()
        key = parse_month(month, self.clock)
        return monthly_report(self._agg, key, self._departments(key), self.budgets.budget_for)

    @serialized
    def get_department_cost(self, department: str) -> DepartmentCost:
        """This month's spend of a department, its budget and its agents."""
        check_name(department, "department")
        self.refresh()
        dept = department.lower()
        return department_costs(self._agg, self._this_month(), [dept], self.budgets.budget_for)[0]

    @serialized
    def get_agent_cost(self, agent: str) -> AgentCost | None:
        """An agent's all-time spend, per model; None for an agent never seen."""
        self.refresh()
        totals = self._agg.agents.get(agent)
        if totals is None:
            return None
        return agent_cost(agent, totals.department, totals.total, totals.models)

    @serialized
    def get_agent_month_costs(self) -> list[AgentCost]:
        """Every agent's spend this month (UTC) from the ledger, most expensive first; agents
        with cost entries and no execution included."""
        self.refresh()
        return agent_month_costs(self._agg, self._this_month())

    @serialized
    def get_cost_optimizations(self) -> list[Optimization]:
        """Downgrades (opus -> sonnet, sonnet -> haiku) over all-time usage, best saving first."""
        self.refresh()
        return optimizations(self._agg)

    @serialized
    def get_all_costs(self) -> AllCosts:
        """Agents (all time), departments (this month), reports and optimizations."""
        self.refresh()
        month = self._this_month()
        today = parse_day(None, self.clock)
        return AllCosts(
            agents=agent_costs(self._agg),
            departments=department_costs(
                self._agg, month, self._departments(month), self.budgets.budget_for
            ),
            daily=daily_report(self._agg, today),
            weekly=weekly_report(self._agg, *parse_week(today, self.clock)),
            monthly=monthly_report(
                self._agg, month, self._departments(month), self.budgets.budget_for
            ),
            optimizations=optimizations(self._agg),
        )

    @serialized
    def generate_daily_cost_report(self, date: str | date | None = None) -> GeneratedDailyReport:
        """Build the day's report and write costs/daily-cost-YYYY-MM-DD.json atomically."""
        self.refresh()
        day = parse_day(date, self.clock)
        report = generated_report(self._agg, day)
        doc = json.dumps(report.model_dump(by_alias=True, mode="json"), indent=2)
        self.journal.write_document(f"costs/daily-cost-{day.isoformat()}.json", doc + "\n")
        return report

    @property
    def entries(self) -> int:
        """How many cost entries this tracker has folded in."""
        return self._agg.entries

    def __repr__(self) -> str:
        return f"CostTracker({str(self.journal.root)!r}, entries={self._agg.entries})"


def reset_unpriced_warnings() -> None:
    """Forget which unpriced models were warned about (for tests)."""
    _warned_unpriced.clear()


__all__ = ["CostTracker", "reset_unpriced_warnings"]


class _LevelSteps:
    """Budget levels a batch reaches entry by entry: each level reached on the way is raised
    as ``track_cost`` would have raised it, without a budget check per entry."""

    def __init__(self, tracker: CostTracker, month: Month) -> None:
        self.tracker, self.month = tracker, month
        self._bars: dict[str, tuple[float, list[int], int]] = {}

    def prime(self, dept: str) -> None:
        """Note ``dept``'s level before its first entry of the batch is added."""
        if dept not in self._bars:
            t = self.tracker
            budget = t.budgets.budget_for(dept)
            bars = level_bars(budget, t._levels)
            spent = t._agg.department_month_nanos(dept, self.month)
            self._bars[dept] = (budget, bars, level_of(spent, bars))

    def steady(self, entries: Sequence[CostRecord]) -> list[int] | None:
        """Each entry's nano-dollars when no department reaches a new level by adding them
        all (spend only grows, so none is reached on the way either); else None."""
        nanos = [usd_to_nanos(e.cost) for e in entries]
        added: dict[str, int] = {}
        for e, n in zip(entries, nanos, strict=True):
            dept = e.department.lower()
            added[dept] = added.get(dept, 0) + n
        agg = self.tracker._agg
        for dept, n in added.items():
            self.prime(dept)
            _, bars, idx = self._bars[dept]
            if level_of(agg.department_month_nanos(dept, self.month) + n, bars) != idx:
                return None
        return nanos

    def crossed(self, dept: str) -> None:
        """After an entry of ``dept`` was added: raise the level it reached, if new."""
        t = self.tracker
        spent = t._agg.department_month_nanos(dept, self.month)
        budget, bars, idx = self._bars[dept]
        now = level_of(spent, bars)
        if now != idx:
            self._bars[dept] = (budget, bars, now)
            t._budget_alerts.check(dept, spent, budget)
