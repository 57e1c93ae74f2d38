"""The ledger's checkpoint: every day cell, each department's recent minutes (burn rates) and
the journal offsets they cover.

A fresh process loads it and then tails only what is new, instead of re-reading the whole
ledger. The journal stays the source of truth: a missing or stale checkpoint (a file it covers
shrank, vanished or was replaced) is ignored, a damaged one (see :mod:`core.journal.sealed`)
discarded, and the aggregates are rebuilt from the files. Day cells are enough to rebuild every
other sum but the per-minute spend of the last days (``core.costs.recent``), which is stored
beside them (at most 3 days of minutes per department). The payload is JSON, sealed as kind
``ledger``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from core.costs.aggregates import CostCell, LedgerAggregates
from core.journal import sealed
from core.journal.store import Journal, JournalReader, ReaderOffset

PATH = "costs/.checkpoint-ledger.json"
KIND = "ledger"
VERSION = 3  # 2: sealed (version and checksum); 3: recent minutes
_I = StrictInt
#: (day, agent, department, model, nanos, input, output, cache read, cache write,
#:  executions, last used)
CellRow = tuple[_I, StrictStr, StrictStr, StrictStr, _I, _I, _I, _I, _I, _I, _I]
#: (department, UTC minute since the epoch, nanos)
MinuteRow = tuple[StrictStr, _I, _I]


class LedgerCheckpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    saved_at: int
    entries: int
    offsets: dict[str, ReaderOffset]
    cells: list[CellRow]
    minutes: list[MinuteRow]


def encode(agg: LedgerAggregates, offsets: dict[str, Any], saved_at: int) -> bytes:
    rows = [
        (
            day,
            *key,
            c.nanos,
            c.input_tokens,
            c.output_tokens,
            c.cache_read_tokens,
            c.cache_write_tokens,
            c.executions,
            c.last_used,
        )
        for day, cells in agg.days.items()
        for key, c in cells.items()
    ]
    doc = {
        "version": VERSION,
        "saved_at": saved_at,
        "entries": agg.entries,
        "offsets": offsets,
        "cells": rows,
        "minutes": agg.recent.rows(),
    }
    try:
        return orjson.dumps(doc)
    except TypeError:  # a sum beyond 64 bits (orjson's limit): exact, just slower
        return json.dumps(doc, separators=(",", ":")).encode()


def save(journal: Journal, agg: LedgerAggregates, reader: JournalReader[Any], now: int) -> bool:
    """Write the checkpoint; a write error is logged once, not raised (see ``sealed``)."""
    return sealed.try_save(journal, PATH, KIND, VERSION, encode(agg, reader.state(), now))


def decode(payload: bytes | memoryview) -> tuple[LedgerCheckpoint, LedgerAggregates]:
    """The document and fresh aggregates from it; ValueError if it cannot be used."""
    cp = LedgerCheckpoint.model_validate_json(bytes(payload))
    if cp.version != VERSION:
        raise sealed.CheckpointError(f"version {cp.version}")
    agg = LedgerAggregates()
    for day, agent, dept, model, *sums in cp.cells:
        agg.add_cell(day, (agent, dept, model), CostCell(*sums))
    for dept, minute, nanos in cp.minutes:
        agg.recent.add_row(dept, minute, nanos)
    if agg.entries != cp.entries:
        raise sealed.CheckpointError("entry count does not match the cells")
    return cp, agg


def load(journal: Journal, reader: JournalReader[Any]) -> LedgerAggregates | None:
    """Aggregates from a usable checkpoint (and the reader moved past them), else None."""

    def usable(payload: memoryview) -> tuple[LedgerCheckpoint, LedgerAggregates] | None:
        cp, agg = decode(payload)
        # a covered file vanished, was replaced or shrank: stale, not damaged
        return None if journal.stale_offsets("ledger", cp.offsets) is not None else (cp, agg)

    found = sealed.load(journal, PATH, KIND, VERSION, usable)
    if found is None:
        return None
    cp, agg = found
    reader.restore({k: v.model_dump() for k, v in cp.offsets.items()})
    return agg


__all__ = ["PATH", "LedgerCheckpoint", "decode", "load", "save"]
