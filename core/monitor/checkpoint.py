"""The monitor's checkpoint: aggregates plus the journal offsets they cover.

A fresh process loads it and then tails only what is new, instead of re-reading the whole
history. The journal stays the source of truth: a missing or stale checkpoint (a file it covers
shrank, vanished or was replaced) is ignored, a damaged one (see :mod:`core.journal.sealed`)
discarded, and the aggregates are rebuilt from the files.

Format (the payload of a sealed checkpoint of kind ``monitor``): an 8-byte header length, a
JSON header (validated with pydantic), then the raw arrays of every agent's series (native
64-bit integers, byte order in the header).
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from core.journal import sealed
from core.journal.store import Journal, Problem, ReaderOffset
from core.monitor.recent import Newest
from core.monitor.windows import ExecutionTotals, PrefixSeries, RollingWindows
from core.records import Execution

KIND = "monitor"
VERSION = 2  # 2: sealed (version and checksum)
PATH = "metrics/.checkpoint-executions.bin"
_ARRAYS = 5  # ts and four prefix sums
CheckpointError = sealed.CheckpointError


class _Totals(BaseModel):
    """``windows.ExecutionTotals`` as stored: every field present and of its type."""

    model_config = ConfigDict(extra="forbid", strict=True)
    executions: int
    errors: int
    duration_us: int
    cost_nano: int
    tokens: int
    cpu_us: int
    memory: int
    api_calls: int
    last_ts: int | None
    department: str | None
    department_ts: int
    refused: int = 0  # absent from checkpoints written before refusals existed


class _Agent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    length: int  # stored timestamps
    totals: _Totals
    recent: list[Execution]  # validated here: a query must not meet a bad one later


class _Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    line: int
    error: str


class Header(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    byteorder: str
    saved_at: int
    offsets: dict[str, ReaderOffset]
    day_cost: dict[int, int]
    agents: list[_Agent]
    problems: list[_Problem]  # malformed lines before the offsets, re-reported on load


def encode(
    windows: RollingWindows,
    offsets: dict[str, Any],
    recent: dict[str, list[dict[str, Any]]],
    saved_at: int,
    problems: Sequence[Problem] = (),
) -> bytes:
    """The payload (unsealed: see :func:`save`)."""
    agents = sorted(windows.series)
    blobs: list[bytes] = []
    entries = []
    for name in agents:
        arrays = [_int64(a) for a in windows.series[name].arrays()]
        entries.append(
            {
                "name": name,
                "length": len(arrays[0]),
                "totals": windows.totals[name].to_dict(),
                "recent": recent.get(name, []),
            }
        )
        blobs.extend(a.tobytes() for a in arrays)
    header = _dumps(
        {
            "version": VERSION,
            "byteorder": sys.byteorder,
            "saved_at": saved_at,
            "offsets": offsets,
            "day_cost": {str(k): v for k, v in windows.day_cost.items()},
            "agents": entries,
            "problems": [
                {"file": p.path.name, "line": p.line, "error": p.error}
                for p in problems
                if p.path.name in offsets
            ],
        }
    )
    return b"".join([len(header).to_bytes(8, "little"), header, *blobs])


def _int64(column: array[int] | list[int]) -> array[int]:
    """A column as int64: prefix sums kept as Python integers (beyond int64) are stored
    relative to their first value, which leaves every difference the same."""
    if isinstance(column, array):
        return column
    base = column[0]
    try:
        return array("q", [x - base for x in column])
    except OverflowError:
        raise CheckpointError("sums within the kept horizon exceed 64 bits") from None


def _dumps(doc: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(doc)
    except TypeError:  # a total beyond 64 bits (orjson's limit): exact, just slower
        return json.dumps(doc, separators=(",", ":")).encode()


def decode(blob: bytes | memoryview, keep: int = 50) -> tuple[Header, RollingWindows, Newest]:
    """The header, the aggregates and the newest executions; CheckpointError if anything is off.

    ``keep``: how many newest executions per agent to hold. Builds fresh objects only, so a
    failure part-way leaves nothing half-restored.
    """
    view = memoryview(blob)
    size = int.from_bytes(view[:8], "little")
    if 8 + size > len(view):
        raise CheckpointError("truncated header")
    header = Header.model_validate_json(bytes(view[8 : 8 + size]))
    if header.version != VERSION or header.byteorder != sys.byteorder:
        raise CheckpointError("another version or byte order")
    pos = 8 + size
    windows = RollingWindows()
    recent = Newest(keep)
    for agent in header.agents:
        if agent.length < 0 or agent.name in windows.series:
            raise CheckpointError(f"bad agent {agent.name!r}")
        arrays = []
        for k in range(_ARRAYS):
            n = agent.length + (0 if k == 0 else 1)
            a = array("q")
            end = pos + n * a.itemsize
            if end > len(view):
                raise CheckpointError("truncated")
            a.frombytes(view[pos:end])
            arrays.append(a)
            pos = end
        windows.series[agent.name] = PrefixSeries.from_arrays(arrays)
        windows.totals[agent.name] = ExecutionTotals(**agent.totals.model_dump())
        for execution in agent.recent:
            recent.add(agent.name, execution.timestamp, execution)
    if pos != len(view):
        raise CheckpointError("trailing bytes")
    windows.day_cost = dict(header.day_cost)
    return header, windows, recent


def stale_reason(journal: Journal, header: Header) -> str | None:
    """Why the checkpoint no longer matches the files it covers, or None if it does."""
    return journal.stale_offsets("executions", header.offsets)


def save(journal: Journal, blob: bytes) -> bool:
    """Seal and write ``encode``'s payload atomically; a write error is logged once, not
    raised (it runs on a background thread too: see :func:`core.journal.sealed.try_save`)."""
    return sealed.try_save(journal, PATH, KIND, VERSION, blob)


def report_problems(journal: Journal, header: Header) -> None:
    """Make the malformed lines the checkpoint covers known to this process too."""
    directory = journal.dir_for("executions")
    for p in header.problems:
        journal.report(Problem(directory / p.file, p.line, p.error))


def load(journal: Journal, keep: int = 50) -> tuple[Header, RollingWindows, Newest] | None:
    """A usable checkpoint, or None (missing, stale, or damaged and discarded)."""

    def usable(payload: memoryview) -> tuple[Header, RollingWindows, Newest] | None:
        found = decode(payload, keep)
        return None if stale_reason(journal, found[0]) is not None else found

    return sealed.load(journal, PATH, KIND, VERSION, usable)
