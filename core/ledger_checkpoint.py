"""The ledger's checkpoint: every day cell plus the journal offsets they cover.

A fresh process loads it and then tails only what is new, instead of re-reading the whole
ledger. The journal stays the source of truth: a missing, corrupt or stale checkpoint (a file
it covers shrank, vanished or was replaced; another format version) is ignored and the
aggregates are rebuilt from the files. Day cells are enough to rebuild every other sum.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from core.cost_aggregates import Cell, LedgerAggregates
from core.journal import Journal, JournalReader, ReaderOffset

PATH = "costs/.checkpoint-ledger.json"
VERSION = 1
#: (day, agent, department, model, nanos, input, output, cache read, cache write,
#:  executions, last used)
CellRow = tuple[int, str, str, str, int, int, int, int, int, int, int]


class LedgerCheckpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    saved_at: int
    entries: int
    offsets: dict[str, ReaderOffset]
    cells: list[CellRow]


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
    }
    try:
        return orjson.dumps(doc)
    except TypeError:  # a sum beyond 64 bits (orjson's limit): exact, just slower
        return json.dumps(doc, separators=(",", ":")).encode()


def save(journal: Journal, agg: LedgerAggregates, reader: JournalReader[Any], now: int) -> None:
    journal.write_document(PATH, encode(agg, reader.state(), now))


def load(journal: Journal, reader: JournalReader[Any]) -> LedgerAggregates | None:
    """Aggregates from a usable checkpoint (and the reader moved past them), else None."""
    raw = journal.read_document(PATH)
    if raw is None:
        return None
    try:
        cp = LedgerCheckpoint.model_validate_json(raw)
    except ValidationError:
        return None
    if cp.version != VERSION:
        return None
    if journal.stale_offsets("ledger", cp.offsets) is not None:
        return None  # a covered file vanished, was replaced or shrank
    agg = LedgerAggregates()
    for day, agent, dept, model, *sums in cp.cells:
        agg.add_cell(day, (agent, dept, model), Cell(*sums))
    if agg.entries != cp.entries:
        return None
    reader.restore({k: v.model_dump() for k, v in cp.offsets.items()})
    return agg


__all__ = ["PATH", "LedgerCheckpoint", "load", "save"]
