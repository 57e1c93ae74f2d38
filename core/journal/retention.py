"""Retention: which old files of the data directory go, per kind.

Metrics snapshots: the newest ``[retention] snapshots`` (168) are kept. Alert day files:
kept ``[alerts] retention_days`` (30) days. Daily cost reports: kept forever unless
``[retention] cost_reports_days`` is set. Execution and ledger journals are the source of
truth for every total and are kept unless ``executions_days`` / ``ledger_days`` are set.
Temporary files of document replacements that a killed writer left are removed after an hour.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from core.config import Config
from core.journal.store import Journal

SNAPSHOTS_DIR = "metrics"
SNAPSHOT_PATTERN = r"snapshot-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.json"
REPORTS_DIR = "costs"
_REPORT = re.compile(r"daily-cost-(\d{4}-\d{2}-\d{2})\.json")
#: A document's temporary file older than this was left by a writer killed mid-replace.
TEMPORARY_MAX_AGE_S = 3600.0


def prune(journal: Journal, config: Config, today: date, now: datetime | None = None) -> list[Path]:
    """Apply every retention rule once; return the files removed.

    A file dated exactly ``N`` days before ``today`` is ``N`` days old and is kept when the
    limit is ``N`` days. With ``now`` (the clock's time), temporary files left by killed
    writers go too, once older than ``TEMPORARY_MAX_AGE_S``.
    """
    removed = journal.prune_documents(
        SNAPSHOTS_DIR, SNAPSHOT_PATTERN, keep=config.retention.snapshots
    )
    removed += journal.prune_days("alerts", config.alert_retention_days, today)
    if config.retention.cost_reports_days is not None:
        removed += prune_cost_reports(journal, config.retention.cost_reports_days, today)
    if config.retention.executions_days is not None:
        removed += journal.prune_days("executions", config.retention.executions_days, today)
    if config.retention.ledger_days is not None:
        removed += journal.prune_days("ledger", config.retention.ledger_days, today)
    if now is not None:
        removed += journal.prune_temporary(now, TEMPORARY_MAX_AGE_S)
    return removed


def prune_cost_reports(journal: Journal, keep_days: int, today: date) -> list[Path]:
    """Remove ``costs/daily-cost-D.json`` reports dated more than ``keep_days`` before today."""
    cutoff = today.toordinal() - keep_days
    removed = []
    for path in journal.list_documents(REPORTS_DIR, _REPORT.pattern):
        try:
            day = date.fromisoformat(_REPORT.fullmatch(path.name)[1])  # type: ignore[index]
        except ValueError:
            continue  # not a real date: not ours to judge
        if day.toordinal() < cutoff and journal.remove(path):
            removed.append(path)
    return removed


__all__ = ["TEMPORARY_MAX_AGE_S", "prune", "prune_cost_reports"]
