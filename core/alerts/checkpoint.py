"""The alert manager's checkpoint: the folded alert state plus the journal offsets it covers.

A month of alert events (a condition breached for weeks repeats every minute) takes seconds
to fold; a new process loads the checkpoint and tails only what came after. The journal stays
the source of truth: a missing or stale checkpoint (a covered file within retention vanished,
shrank or was replaced) is ignored, a damaged one (see :mod:`core.journal.sealed`) discarded, and
the state rebuilt. The payload is JSON, sealed as kind ``alerts``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from datetime import date
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, field_validator

from core.alerts.state import MAX_DELIVERIES, AlertBook, AlertState, Delivery
from core.journal import sealed
from core.journal.store import Journal, ReaderOffset
from core.records import AlertEvent

PATH = "alerts/.checkpoint-alerts.json"
KIND = "alerts"
VERSION = 2  # 2: sealed (version and checksum)
_ALERT_FIELDS = {f.name for f in dataclasses.fields(AlertState)}


class Checkpoint(BaseModel):
    """The document: format version, offsets per day file, and the fold's contents."""

    model_config = ConfigDict(extra="forbid")
    version: int
    saved_at: int
    offsets: dict[str, ReaderOffset]
    alerts: list[AlertState]  # validated field by field (a dataclass checks nothing)
    silences: dict[str, int]
    failure_times: list[int]
    deliveries: list[Delivery]
    orphans: list[AlertEvent]

    @field_validator("alerts", mode="before")
    @classmethod
    def _every_field(cls, alerts: Any) -> Any:
        """``encode`` writes every field: one missing means a damaged document, not a default."""
        for fields in alerts if isinstance(alerts, list) else ():
            if isinstance(fields, dict) and fields.keys() != _ALERT_FIELDS:
                raise ValueError(f"alert fields {sorted(fields)}")
        return alerts


def encode(book: AlertBook, offsets: dict[str, Any], saved_at: int) -> bytes:
    doc = {
        "version": VERSION,
        "saved_at": saved_at,
        "offsets": offsets,
        "alerts": [dataclasses.asdict(s) for s in book.alerts.values()],
        "silences": book.silences,
        "failure_times": book.failure_times,
        "deliveries": [d.model_dump() for d in book.deliveries],
        "orphans": [e.model_dump() for events in book.orphans.values() for e in events],
    }
    return orjson.dumps(doc)


def decode(blob: bytes | memoryview) -> tuple[Checkpoint, AlertBook]:
    """The document and a fresh book from it; ValueError if it cannot be used."""
    doc = Checkpoint.model_validate_json(bytes(blob))
    if doc.version != VERSION:
        raise sealed.CheckpointError(f"checkpoint version {doc.version}, expected {VERSION}")
    book = AlertBook(
        silences=dict(doc.silences),
        deliveries=deque(doc.deliveries, maxlen=MAX_DELIVERIES),
        failure_times=list(doc.failure_times),
    )
    for state in doc.alerts:
        book.add_state(state)
    for event in doc.orphans:
        book.apply(event)
    return doc, book


def stale_reason(journal: Journal, doc: Checkpoint, since: date) -> str | None:
    """Why the checkpoint no longer matches the files it covers, or None if it does."""

    def pruned(name: str) -> bool:  # past retention anyway
        return date.fromisoformat(name.removeprefix("alerts-").removesuffix(".jsonl")) < since

    return journal.stale_offsets("alerts", doc.offsets, gone_ok=pruned)


def save(journal: Journal, book: AlertBook, offsets: dict[str, Any], saved_at: int) -> bool:
    """Write the checkpoint; a write error is logged once, not raised (see ``sealed``)."""
    return sealed.try_save(journal, PATH, KIND, VERSION, encode(book, offsets, saved_at))


def load(journal: Journal, since: date) -> tuple[AlertBook, dict[str, Any]] | None:
    """A usable checkpoint's book and reader offsets, or None (missing, stale or damaged)."""

    def usable(payload: memoryview) -> tuple[AlertBook, dict[str, Any]] | None:
        doc, book = decode(payload)
        if stale_reason(journal, doc, since) is not None:
            return None
        return book, {name: off.model_dump() for name, off in doc.offsets.items()}

    return sealed.load(journal, PATH, KIND, VERSION, usable)
