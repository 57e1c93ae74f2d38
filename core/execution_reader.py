"""Reading executions in validated batches, fast enough to rebuild a million in a cold start.

Validating each line with ``Execution.model_validate_json`` costs about 3 µs, most of a 3 s
cold-start budget for 1M lines. Instead a whole chunk is parsed with orjson and checked
column by column with C-speed builtins (types, ranges, the few distinct names checked once).
The check only ever *accepts* what ``Execution`` accepts: any doubt (a bad line, a snake_case
key, an unusual type) sends the whole chunk through the journal's per-line path, which
validates each line with the model and reports every bad line with its file and line number.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter, sub
from pathlib import Path
from typing import Any

import orjson

from core.journal import Journal, JournalReader
from core.records import ERROR_STATUSES, Execution, check_name
from core.windows import Batch, to_micro, to_nano

_KEYS = tuple(f.alias or n for n, f in Execution.model_fields.items())  # as serialised
_ALIASES = frozenset(_KEYS)
_COLUMNS = tuple(map(itemgetter, _KEYS))
_DEFAULTS = {
    f.alias or n: f.default for n, f in Execution.model_fields.items() if not f.is_required()
}
_STATUSES = frozenset({"completed", *ERROR_STATUSES})
_MAX_TS = 253_402_300_799_999
_NUM = frozenset({int, float})
_STR = frozenset({str})
_OPT_STR = frozenset({str, type(None)})
_good_names: set[str] = set()


class _Reject(ValueError):
    """The fast check cannot vouch for this chunk."""


def _types(col: Sequence[Any], allowed: frozenset[type]) -> None:
    if not allowed.issuperset(map(type, col)):
        raise _Reject


def _all_counts(*cols: Sequence[Any]) -> None:
    """Every value a non-negative int (no bool, float, null, ...), in two C calls: orjson
    writes exactly those as bare digits, so the columns serialise to digits, commas and the
    brackets of the columns themselves (a nested array would add brackets)."""
    text = orjson.dumps(cols)  # an int beyond 64 bits raises: the per-line path decides
    if text.translate(None, b"0123456789,[]") or text.count(b"[") != len(cols) + 1:
        raise _Reject


def _non_negative(col: Sequence[Any]) -> None:
    _types(col, _NUM)  # orjson never yields inf or nan; strict floats accept JSON ints
    if min(col) < 0:
        raise _Reject


def _names(col: Sequence[Any], optional: bool) -> None:
    for name in set(col):
        if name in _good_names or (optional and name is None):
            continue
        if not isinstance(name, str):
            raise _Reject
        check_name(name, "name")  # ValueError -> per-line path reports it
        if len(_good_names) > 100_000:
            _good_names.clear()
        _good_names.add(name)


def _nanos(costs: Sequence[float]) -> list[int]:
    """:func:`to_nano` of a column, at C speed unless a value is near a half-nano tie."""
    xs = [c * 1e9 for c in costs]
    ns = list(map(round, xs))
    if max(xs) >= 1e12 or max(map(abs, map(sub, xs, ns))) > 0.499:
        return [to_nano(c) for c in costs]
    return ns


def _micros(ms: Sequence[float]) -> list[int]:
    return [round(x * 1000.0) for x in ms]


def parse_batch(lines: list[bytes]) -> Batch:
    """Validate and convert complete JSON lines; raises ValueError when it cannot vouch."""
    ds = list(map(orjson.loads, lines))
    if not ds:
        return Batch()
    if set(map(len, ds)) != {len(_KEYS)}:  # records written without their defaults
        if not all(map(_ALIASES.issuperset, ds)):
            raise _Reject
        ds = [{**_DEFAULTS, **d} for d in ds]
    # Every key present (KeyError otherwise); with the count, an unknown one means a missing
    # one. Column by column: no per-record row tuples to transpose.
    (ts, agent, status, dur, tok, inp, out, c_read, c_write, model, dept, cost, cpu, mem, api,
     error, host, pid) = [list(map(get, ds)) for get in _COLUMNS]  # fmt: skip
    _all_counts(ts, tok, inp, out, c_read, c_write, api, pid)
    if max(ts) > _MAX_TS:
        raise _Reject
    _names(agent, optional=False)
    if not _STATUSES.issuperset(status):
        raise _Reject
    for col in (dur, cost, cpu):
        _non_negative(col)
    _types(mem, _NUM)
    _names(dept, optional=True)
    _names(model, optional=True)
    _types(host, _STR)
    _types(error, _OPT_STR)
    return Batch(
        ts=ts,
        agent=agent,
        err=[0 if s == "completed" else 1 for s in status],
        dur=_micros(dur),
        cost=_nanos(cost),
        tok=tok,
        cpu=_micros(cpu),
        mem=list(map(round, mem)),
        api=api,
        dept=dept,
        payload=lines,  # the line itself: the parsed dicts are freed at once, while in cache
    )


def batch_of(records: list[Execution]) -> Batch:
    """A batch from validated models (the per-line path and in-process appends)."""
    return Batch(
        ts=[r.timestamp for r in records],
        agent=[r.agent for r in records],
        err=[1 if r.status in ERROR_STATUSES else 0 for r in records],
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
    """Tails ``metrics/executions-*.jsonl`` and yields :class:`Batch` objects."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal, "executions", Execution.model_validate_json)

    def files(self) -> list[Path]:
        """The day files to read, oldest first; offsets of files gone since are forgotten."""
        found = [p for _, p in self.journal.day_files(self.kind, self.since)]
        present = set(found)
        for gone in [p for p in self.tails if p not in present]:
            del self.tails[gone]  # pruned
        return found

    def read_file(self, path: Path, chunk_bytes: int) -> Iterator[list[Batch]]:
        """New lines of one file, a list of batches per chunk of about ``chunk_bytes``.

        The offset is advanced over each chunk before it is handed out, so a caller may stop
        after any chunk (and should then ``close()`` the iterator).
        """
        return self._read_file(path, chunk_bytes)

    def _parse_lines(self, path: Path, data: bytes, tail: Any) -> list[Any]:
        lines = data.split(b"\n")
        lines.pop()  # after the last newline: empty
        try:
            batch = parse_batch(lines if all(lines) else [line for line in lines if line])
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return [batch_of(super()._parse_lines(path, data, tail))]
        tail.lines += len(lines)
        return [batch]
