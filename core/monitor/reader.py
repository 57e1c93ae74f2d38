"""Reading executions in validated batches, fast enough to rebuild a million in a cold start.

Each line is decoded into a :class:`~core.record_rows.ExecutionLine` (checked in C while
parsed, see core/record_rows.py) and the batch handed on in columns of integer units: int64
arrays, converted with numpy exactly as :func:`~core.monitor.windows.to_micro` and
:func:`~core.monitor.windows.to_nano` convert one value. Any doubt sends the whole chunk through the
journal's per-line path, which validates each line with the model and reports every bad line
with its file and line number.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from core.journal.store import Journal, JournalReader
from core.monitor.windows import REFUSED, Batch, to_micro, to_nano
from core.record_rows import ExecutionLine, check_hosts, check_names, decode_execution
from core.records import ERROR_STATUSES, Execution

_COLUMNS = tuple(
    map(attrgetter, ("timestamp", "agent", "status", "duration", "cost", "tokens_used",
                     "cpu_time", "memory_delta", "api_calls", "department", "model", "host"))
)  # fmt: skip
_IS_ERROR = {"completed": 0, "refused": REFUSED, **dict.fromkeys(ERROR_STATUSES, 1)}


def _nanos(costs: list[float]) -> npt.NDArray[np.int64]:
    """:func:`to_nano` of a column, vectorised unless a value is near a half-nano tie."""
    xs = np.array(costs, dtype=np.float64) * 1e9
    ns = np.rint(xs)
    if xs.max() >= 1e12 or np.abs(xs - ns).max() > 0.499:
        return np.array([to_nano(c) for c in costs], dtype=np.int64)
    return ns.astype(np.int64)


def _rounded(values: list[float], scale: float = 1.0) -> npt.NDArray[np.int64]:
    """``round(x * scale)`` of each value (half to even, like ``round``), as int64."""
    xs = np.array(values, dtype=np.float64)
    if scale != 1.0:
        xs *= scale
    return np.rint(xs).astype(np.int64)  # |x| is capped far below 2**53 (core/records.py)


def parse_batch(lines: list[bytes]) -> Batch:
    """Validate and convert complete JSON lines; raises ValueError when it cannot vouch."""
    rows = list(map(decode_execution, lines))  # msgspec's errors are ValueErrors
    return rows_batch(rows, lines, check=True)


def rows_batch(rows: Sequence[ExecutionLine], payload: list[Any], check: bool = False) -> Batch:
    """Rows in columns, each with its ``payload``; with ``check``, the names and hosts are
    checked too (ValueError), as rows decoded from lines need."""
    if not rows:
        return Batch()
    ts, agent, status, dur, cost, tok, cpu, mem, api, dept, model, host = [
        list(map(get, rows)) for get in _COLUMNS
    ]
    if check:
        check_names(agent)
        check_names(dept, optional=True)
        check_names(model, optional=True)
        check_hosts(host)
    n = len(rows)
    return Batch(
        ts=np.array(ts, dtype=np.int64),
        agent=agent,
        err=np.fromiter(map(_IS_ERROR.__getitem__, status), np.int64, n),
        dur=_rounded(dur, 1000.0),  # ms -> µs, as to_micro
        cost=_nanos(cost),
        tok=np.array(tok, dtype=np.int64),
        cpu=_rounded(cpu, 1000.0),
        mem=_rounded(mem),
        api=np.array(api, dtype=np.int64),
        dept=dept,
        payload=payload,  # e.g. the line itself: the rows are freed at once, while in cache
    )


def batch_of(records: list[Execution]) -> Batch:
    """A batch from validated models (the per-line path and in-process appends)."""
    return Batch(
        ts=[r.timestamp for r in records],
        agent=[r.agent for r in records],
        err=[_IS_ERROR[r.status] for r in records],
        dur=[to_micro(r.duration) for r in records],
        cost=[to_nano(r.cost) for r in records],
        tok=[r.tokens_used for r in records],
        cpu=[to_micro(r.cpu_time) for r in records],
        mem=[round(r.memory_delta) for r in records],
        api=[r.api_calls for r in records],
        dept=[r.department for r in records],
        payload=list(records),
    )


def as_execution(payload: Any) -> Execution:
    """The record behind a batch payload: a validated line, a model, or a dict (checkpoint)."""
    if isinstance(payload, Execution):
        return payload
    if isinstance(payload, bytes):
        return Execution.model_validate_json(payload)
    return Execution.model_validate(payload)


def as_dict(payload: Any) -> dict[str, Any]:
    """A batch payload as the record's JSON object (camelCase keys), for the checkpoint."""
    if isinstance(payload, Execution):
        return payload.model_dump(by_alias=True)
    if isinstance(payload, bytes):
        return orjson.loads(payload)  # type: ignore[no-any-return]
    return payload  # type: ignore[no-any-return]


class ExecutionReader(JournalReader[Any]):
    """Tails ``metrics/executions-*.jsonl`` and yields :class:`Batch` objects: one per chunk,
    from :func:`parse_batch`, or from the models of the per-line path when it cannot vouch."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(
            journal,
            "executions",
            Execution.model_validate_json,
            parse_lines=lambda lines: [parse_batch(lines)],
        )

    def read_file(self, path: Path, chunk_bytes: int) -> Iterator[list[Batch]]:
        """New lines of one file, a list of batches per chunk of about ``chunk_bytes``.

        The offset is advanced over each chunk before it is handed out, so a caller may stop
        after any chunk (and should then ``close()`` the iterator).
        """
        return self._read_file(path, chunk_bytes)

    def _each_line(self, path: Path, lines: list[bytes], tail: Any) -> list[Any]:
        return [batch_of(super()._each_line(path, lines, tail))]
