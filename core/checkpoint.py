"""The monitor's checkpoint: aggregates plus the journal offsets they cover.

A fresh process loads it and then tails only what is new, instead of re-reading the whole
history. The journal stays the source of truth: a missing, corrupt or stale checkpoint (a file
it covers shrank, vanished or was replaced; another format version) is ignored and the
aggregates are rebuilt from the files.

Format: a magic line, an 8-byte header length, a JSON header (validated with pydantic), then
the raw arrays of every agent's series (native 64-bit integers, byte order in the header).
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from core.journal import Journal, Problem, ReaderOffset
from core.windows import RollingWindows, Series, Totals

MAGIC = b"werkpilot-monitor-checkpoint\n"
VERSION = 1
PATH = "metrics/.checkpoint-executions.bin"
_ARRAYS = 5  # ts and four prefix sums


class _Agent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    length: int  # stored timestamps
    totals: dict[str, Any]
    recent: list[dict[str, Any]]


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
    problems: list[_Problem] = []  # malformed lines before the offsets, re-reported on load


class CheckpointError(ValueError):
    """The checkpoint cannot be used; rebuild from the journal."""


def encode(
    windows: RollingWindows,
    offsets: dict[str, Any],
    recent: dict[str, list[dict[str, Any]]],
    saved_at: int,
    problems: Sequence[Problem] = (),
) -> bytes:
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
    return b"".join([MAGIC, len(header).to_bytes(8, "little"), header, *blobs])


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


def decode(blob: bytes) -> tuple[Header, RollingWindows]:
    """The header and the aggregates; CheckpointError if anything is off."""
    if not blob.startswith(MAGIC):
        raise CheckpointError("not a monitor checkpoint")
    pos = len(MAGIC)
    size = int.from_bytes(blob[pos : pos + 8], "little")
    pos += 8
    try:
        header = Header.model_validate_json(blob[pos : pos + size])
    except ValidationError as exc:
        raise CheckpointError(f"bad header: {exc.errors()[0]['msg']}") from None
    if header.version != VERSION or header.byteorder != sys.byteorder:
        raise CheckpointError("another version or byte order")
    pos += size
    windows = RollingWindows()
    view = memoryview(blob)
    for agent in header.agents:
        arrays = []
        for k in range(_ARRAYS):
            n = agent.length + (0 if k == 0 else 1)
            a = array("q")
            end = pos + n * a.itemsize
            if end > len(blob):
                raise CheckpointError("truncated")
            a.frombytes(view[pos:end])
            arrays.append(a)
            pos = end
        try:
            windows.series[agent.name] = Series.from_arrays(arrays)
            windows.totals[agent.name] = Totals(**agent.totals)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"bad agent {agent.name!r}: {exc}") from None
    if pos != len(blob):
        raise CheckpointError("trailing bytes")
    windows.day_cost = dict(header.day_cost)
    return header, windows


def stale_reason(journal: Journal, header: Header) -> str | None:
    """Why the checkpoint no longer matches the files it covers, or None if it does."""
    return journal.stale_offsets("executions", header.offsets)


def save(journal: Journal, blob: bytes) -> None:
    journal.write_document(PATH, blob)


def report_problems(journal: Journal, header: Header) -> None:
    """Make the malformed lines the checkpoint covers known to this process too."""
    directory = journal.dir_for("executions")
    for p in header.problems:
        journal.report(Problem(directory / p.file, p.line, p.error))


def load(journal: Journal) -> tuple[Header, RollingWindows] | None:
    """A usable checkpoint, or None (missing, corrupt or stale)."""
    blob = journal.read_document(PATH)
    if blob is None:
        return None
    try:
        header, windows = decode(blob)
    except CheckpointError:
        return None
    if stale_reason(journal, header) is not None:
        return None
    return header, windows
