"""Prometheus text exposition of the journal, fit for fleet-wide aggregation.

Counters are folded from the execution and ledger journals themselves (read incrementally,
only new lines per scrape, each validated by the same model the monitor and ledger use), so
they survive restarts and never go backwards while the journal is kept. A checkpoint beside
the journal (sealed as kind ``exposition``, see :mod:`core.journal.sealed`) spares a restart the
full re-read; a stale one is ignored, a damaged one discarded and the counters rebuilt. Gauges
(budgets, month spend, open alerts) come from the core components.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr

from core.costs.pricing import usd_to_nanos
from core.guards.refusals import refusal_kind
from core.journal import sealed
from core.journal.store import Journal, JournalReader, ReaderOffset
from core.record_rows import parse_cost_lines, parse_execution_lines
from core.records import CostEntry, Execution

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: OpenTelemetry GenAI semantic conventions: gen_ai.client.operation.duration buckets (s).
DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
LEVELS = ("info", "warning", "critical")
_NANO = 1_000_000_000
CHECKPOINT = "metrics/.checkpoint-exposition.json"
CHECKPOINT_VERSION = 2  # 2: sealed (version and checksum)
_CHECKPOINT_KIND = "exposition"
#: A cold fold of at least this many records is checkpointed at once.
_BIG_FOLD = 10_000


class _Checkpoint(BaseModel):
    """The counters plus the journal offsets they cover, so a restart tails only what is new."""

    model_config = ConfigDict(extra="forbid")
    version: int
    buckets: tuple[float, ...]
    readers: dict[str, dict[str, ReaderOffset]]
    executions: list[tuple[StrictStr, StrictStr, StrictStr, StrictStr, StrictInt]]
    durations: list[tuple[StrictStr, list[StrictInt], StrictFloat | StrictInt, StrictInt]]
    tokens: list[tuple[StrictStr, StrictStr, StrictStr, StrictInt]]
    cost_nanos: list[tuple[StrictStr, StrictStr, StrictStr, StrictInt]]
    refusals: list[tuple[StrictStr, StrictStr, StrictInt]] = []  # agent, reason, count


def escape_label(value: str) -> str:
    """A label value escaped per the text format: backslash, double quote, line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(names: Iterable[str], values: Iterable[str]) -> str:
    inner = ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + inner + "}" if inner else ""


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    sum: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1


class Gauges(BaseModel):
    """Point-in-time values from the components, rendered next to the counters."""

    model_config = ConfigDict(frozen=True)

    budgets: dict[str, float] = {}
    spend: dict[str, float] = {}
    alerts_open: dict[str, int] = {}
    #: department -> window ("5m" ... "3d") -> burn rate (core.costs.burn)
    burn_rates: dict[str, dict[str, float]] = {}


class _Forecast(Protocol):
    department: str
    spent: float
    budget: float


def gauges_from(tracker: Any, open_alerts: Iterable[Any]) -> Gauges:
    """Department budgets, month spend (the ledger's forecast) and burn rates, open alerts
    by level."""
    forecasts: list[_Forecast] = list(tracker.get_budget_forecast())
    burn = {b.department: dict(b.rates) for b in tracker.get_burn_rates()}
    counts = dict.fromkeys(LEVELS, 0)
    for alert in open_alerts:
        counts[alert.level] = counts.get(alert.level, 0) + 1
    return Gauges(
        budgets={f.department: float(f.budget) for f in forecasts},
        spend={f.department: float(f.spent) for f in forecasts},
        alerts_open=counts,
        burn_rates=burn,
    )


class Exposition:
    """Incremental counters over one data directory's journals."""

    def __init__(
        self,
        journal: Journal,
        *,
        checkpoint_every_s: float = 60.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.journal = journal
        self._readers: dict[str, JournalReader[Any]] = {
            "executions": journal.reader(
                "executions", Execution.model_validate_json, parse_lines=parse_execution_lines
            ),
            "ledger": journal.reader(
                "ledger", CostEntry.model_validate_json, parse_lines=parse_cost_lines
            ),
        }
        self.executions: dict[tuple[str, str, str, str], int] = {}
        self.durations: dict[str, _Histogram] = {}
        self.tokens: dict[tuple[str, str, str], int] = {}
        self.cost_nanos: dict[tuple[str, str, str], int] = {}
        self.refusals: dict[tuple[str, str], int] = {}  # (agent, reason kind) -> count
        self._checkpoint_every_s = checkpoint_every_s
        self._timer = timer
        self._saved_at = timer()
        self._unsaved = 0
        self.restored = self._restore()

    def collect(self) -> int:
        """Fold every line appended since the last call; returns how many records."""
        n = 0
        executions, durations = self.executions, self.durations
        for batch in self._readers["executions"].poll_batches():
            for e in batch:
                key = (e.agent, e.department or "", e.model or "", e.status)
                executions[key] = executions.get(key, 0) + 1
                if e.status == "refused":  # never ran: no duration sample
                    rkey = (e.agent, refusal_kind(e.error))
                    self.refusals[rkey] = self.refusals.get(rkey, 0) + 1
                    continue
                hist = durations.get(e.agent)
                if hist is None:
                    hist = durations[e.agent] = _Histogram()
                hist.observe(max(e.duration, 0.0) / 1000.0)
            n += len(batch)
        tokens, costs = self.tokens, self.cost_nanos
        for batch in self._readers["ledger"].poll_batches():
            for c in batch:
                for kind, count in zip(
                    TOKEN_KINDS,
                    (c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens),
                    strict=True,
                ):
                    key3 = (c.agent, c.model, kind)
                    tokens[key3] = tokens.get(key3, 0) + count
                ckey = (c.agent, c.department, c.model)
                costs[ckey] = costs.get(ckey, 0) + usd_to_nanos(c.cost)
            n += len(batch)
        self._unsaved += n
        if self._unsaved >= _BIG_FOLD or (
            self._unsaved and self._timer() - self._saved_at >= self._checkpoint_every_s
        ):
            self.save_checkpoint()
        return n

    # ------------------------------------------------------------ checkpoint
    def save_checkpoint(self) -> bool:
        """Write the counters and offsets atomically; False when the directory is read-only."""
        doc = _Checkpoint(
            version=CHECKPOINT_VERSION,
            buckets=DURATION_BUCKETS,
            readers={k: r.state() for k, r in self._readers.items()},
            executions=[(*k, v) for k, v in self.executions.items()],
            durations=[(a, h.buckets, h.sum, h.count) for a, h in self.durations.items()],
            tokens=[(*k, v) for k, v in self.tokens.items()],
            cost_nanos=[(*k, v) for k, v in self.cost_nanos.items()],
            refusals=[(*k, v) for k, v in self.refusals.items()],
        )
        self._saved_at = self._timer()
        payload = doc.model_dump_json().encode()
        if not sealed.try_save(
            self.journal, CHECKPOINT, _CHECKPOINT_KIND, CHECKPOINT_VERSION, payload
        ):  # logged once; retried on the timer, not on every scrape
            self._unsaved = min(self._unsaved, 1)
            return False
        self._unsaved = 0
        return True

    def close(self) -> None:
        """Checkpoint what was folded since the last save."""
        if self._unsaved:
            self.save_checkpoint()

    def _restore(self) -> bool:
        found = sealed.load(
            self.journal, CHECKPOINT, _CHECKPOINT_KIND, CHECKPOINT_VERSION, self._decode
        )
        if found is None:
            return False
        for kind, files in found.readers.items():
            self._readers[kind].restore({n: t.model_dump() for n, t in files.items()})
        self.executions = {(a, d, m, s): v for a, d, m, s, v in found.executions}
        self.durations = {
            a: _Histogram(list(b), float(total), count) for a, b, total, count in found.durations
        }
        self.tokens = {(a, m, k): v for a, m, k, v in found.tokens}
        self.cost_nanos = {(a, d, m): v for a, d, m, v in found.cost_nanos}
        self.refusals = {(a, r): v for a, r, v in found.refusals}
        return True

    def _decode(self, payload: memoryview) -> _Checkpoint | None:
        """The verified document, None when stale; ValueError when it cannot be used."""
        doc = _Checkpoint.model_validate_json(bytes(payload))
        if doc.version != CHECKPOINT_VERSION or doc.buckets != DURATION_BUCKETS:
            raise sealed.CheckpointError("another version or other buckets")
        if any(kind not in self._readers for kind in doc.readers):
            raise sealed.CheckpointError(f"unknown journals {sorted(doc.readers)}")
        if any(len(b) != len(DURATION_BUCKETS) + 1 for _, b, _, _ in doc.durations):
            raise sealed.CheckpointError("histograms of another size")
        for kind, files in doc.readers.items():
            # A file pruned since keeps its records counted; replaced or truncated: stale.
            if self.journal.stale_offsets(kind, files, gone_ok=lambda name: True) is not None:
                return None
        return doc

    def render(self, gauges: Gauges | None = None) -> str:
        """The text format (version 0.0.4) of every counter, the histogram and the gauges."""
        out: list[str] = []
        _family(
            out,
            "werkpilot_executions_total",
            "counter",
            "Agent executions recorded in the journal (errors: status error or failed; "
            "refused: stopped by the guard before the call).",
            ("agent", "department", "model", "status"),
            self.executions.items(),
        )
        _family(
            out,
            "werkpilot_tokens_total",
            "counter",
            "Tokens recorded in the cost ledger, by kind.",
            ("agent", "model", "kind"),
            self.tokens.items(),
        )
        _family(
            out,
            "werkpilot_cost_usd_total",
            "counter",
            "Cost recorded in the cost ledger, in US dollars.",
            ("agent", "department", "model"),
            ((k, v / _NANO) for k, v in self.cost_nanos.items()),
        )
        _family(
            out,
            "werkpilot_refusals_total",
            "counter",
            "Runs and calls the guard refused, by reason (agent_paused, budget_exhausted, "
            "run_cap_reached, loop_detected).",
            ("agent", "reason"),
            self.refusals.items(),
        )
        self._render_histogram(out)
        g = gauges or Gauges()
        _family(
            out,
            "werkpilot_department_budget_usd",
            "gauge",
            "Monthly budget of the department, in US dollars.",
            ("department",),
            (((d,), v) for d, v in g.budgets.items()),
        )
        _family(
            out,
            "werkpilot_department_spend_usd",
            "gauge",
            "Spend of the department this calendar month (UTC), in US dollars.",
            ("department",),
            (((d,), v) for d, v in g.spend.items()),
        )
        _family(
            out,
            "werkpilot_department_burn_rate",
            "gauge",
            "Spend of the department over the window against the pace that spends its monthly "
            "budget exactly by the month's end (1 = on pace).",
            ("department", "window"),
            (((d, w), v) for d, rates in g.burn_rates.items() for w, v in rates.items()),
        )
        _family(
            out,
            "werkpilot_alerts_open",
            "gauge",
            "Alerts neither acknowledged nor resolved, by level.",
            ("level",),
            (((lvl,), v) for lvl, v in g.alerts_open.items()),
        )
        return "\n".join(out) + "\n"

    def _render_histogram(self, out: list[str]) -> None:
        name = "werkpilot_execution_duration_seconds"
        out.append(f"# HELP {name} {escape_help('Duration of agent executions, in seconds.')}")
        out.append(f"# TYPE {name} histogram")
        for agent in sorted(self.durations):
            h = self.durations[agent]
            agent_l = f'agent="{escape_label(agent)}"'
            cumulative = 0
            for bound, count in zip(DURATION_BUCKETS, h.buckets, strict=False):
                cumulative += count
                out.append(f'{name}_bucket{{{agent_l},le="{bound!r}"}} {cumulative}')
            out.append(f'{name}_bucket{{{agent_l},le="+Inf"}} {h.count}')
            out.append(f"{name}_sum{{{agent_l}}} {format_value(h.sum)}")
            out.append(f"{name}_count{{{agent_l}}} {h.count}")


def _family(
    out: list[str],
    name: str,
    kind: str,
    help_text: str,
    label_names: tuple[str, ...],
    samples: Iterable[tuple[tuple[str, ...], float]],
) -> None:
    out.append(f"# HELP {name} {escape_help(help_text)}")
    out.append(f"# TYPE {name} {kind}")
    for labels, value in sorted(samples):
        out.append(f"{name}{_labels(label_names, labels)} {format_value(value)}")
