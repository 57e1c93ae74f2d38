"""Hourly snapshots of the monitor's export (``metrics/snapshot-<UTC time>.json``).

Any process may save one; the newest on disk decides when the next is due, so a fleet of
agent processes writes about one an hour between them. The newest 168 are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.clock import to_ms
from core.journal.retention import SNAPSHOT_PATTERN, SNAPSHOTS_DIR
from core.journal.store import Journal

_NAME = re.compile(r"snapshot-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.json")
_HOUR_MS = 3_600_000


class SnapshotSchedule:
    """When the next snapshot is due, and writing it."""

    def __init__(self, journal: Journal, keep: int, started_ms: int) -> None:
        self.journal = journal
        self.keep = keep
        self.started_ms = started_ms
        self.next_ms: int | None = None  # when the next one is due (None: look at the files)

    def due(self, now_ms: int) -> bool:
        """Cheap check (an integer compare) for the hot path."""
        return self.next_ms is None or now_ms >= self.next_ms

    def save(self, now: datetime, content: str) -> Path:
        path = self.journal.write_document(
            f"{SNAPSHOTS_DIR}/snapshot-{now:%Y-%m-%dT%H-%M-%S}.json", content
        )
        self.journal.prune_documents(SNAPSHOTS_DIR, SNAPSHOT_PATTERN, self.keep)
        self.next_ms = to_ms(now) + _HOUR_MS
        return path

    def latest_ms(self) -> int | None:
        """Time of the newest snapshot on disk, from any process."""
        docs = self.journal.list_documents(SNAPSHOTS_DIR, SNAPSHOT_PATTERN)
        m = _NAME.fullmatch(docs[-1].name) if docs else None
        if m is None:
            return None
        return to_ms(datetime.fromisoformat(f"{m[1]}T{m[2]}:{m[3]}:{m[4]}+00:00"))

    def maybe_save(self, now: datetime, export: Callable[[], str]) -> Path | None:
        """Save when the newest snapshot is over an hour old (with none: an hour after start)."""
        now_ms = to_ms(now)
        if not self.due(now_ms):
            return None
        with self.journal.lock("snapshots"):
            latest = self.latest_ms()
            due = (latest if latest is not None else self.started_ms) + _HOUR_MS
            if now_ms < due:
                self.next_ms = due
                return None
            return self.save(now, export())
