"""Retention: snapshots keep the newest 168, alert days 30, cost reports forever (configurable)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.clock import day_start_ms
from core.config import Config, load_config
from core.journal.retention import prune
from core.journal.store import Journal
from core.records import AlertEvent, CostEntry, Execution

TODAY = date(2026, 3, 1)


def _fill(journal: Journal, days: int) -> None:
    """``days`` days of every kind of file up to today, and hourly snapshots for 10 days."""
    for back in range(days):
        day = TODAY - timedelta(days=back)
        ms = day_start_ms(day) + 3_600_000
        journal.append("executions", Execution(timestamp=ms, agent="a"))
        journal.append(
            "ledger", CostEntry(timestamp=ms, agent="a", department="sales", model="haiku")
        )
        journal.append("alerts", AlertEvent(timestamp=ms, event="raised"))
        journal.write_document(f"costs/daily-cost-{day.isoformat()}.json", b"{}")
    start = datetime(TODAY.year, TODAY.month, TODAY.day) - timedelta(hours=239)
    for h in range(240):
        stamp = (start + timedelta(hours=h)).strftime("%Y-%m-%dT%H-%M-%S")
        journal.write_document(f"metrics/snapshot-{stamp}.json", b"{}")


def _names(directory: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in directory.glob(f"{prefix}*"))


def test_defaults_keep_168_snapshots_30_days_of_alerts_and_everything_else(
    data_dir: Path,
) -> None:
    journal = Journal(data_dir)
    _fill(journal, 45)
    snapshots_before = _names(data_dir / "metrics", "snapshot-")

    removed = prune(journal, Config(), TODAY)

    snapshots = _names(data_dir / "metrics", "snapshot-")
    assert snapshots == snapshots_before[-168:]  # the newest 168
    assert snapshots[-1] == "snapshot-2026-03-01T00-00-00.json"
    alert_days = [d for d, _ in journal.day_files("alerts")]
    assert alert_days[0] == TODAY - timedelta(days=30) and alert_days[-1] == TODAY
    assert len(alert_days) == 31  # today and the 30 days before it
    assert len(journal.day_files("executions")) == 45  # journals are never pruned by default
    assert len(journal.day_files("ledger")) == 45
    assert len(_names(data_dir / "costs", "daily-cost-")) == 45  # reports kept forever
    assert len(removed) == (240 - 168) + (45 - 31)
    assert all(p.is_relative_to(data_dir.absolute()) and not p.exists() for p in removed)
    assert prune(journal, Config(), TODAY) == []  # idempotent


def test_configured_retention_applies_per_kind(data_dir: Path, tmp_path: Path) -> None:
    cfg_file = tmp_path / "werkpilot.toml"
    cfg_file.write_text(
        "[alerts]\nretention_days = 7\n"
        "[retention]\nsnapshots = 5\ncost_reports_days = 10\n"
        "executions_days = 20\nledger_days = 40\n"
    )
    config = load_config(cfg_file)
    journal = Journal(data_dir)
    _fill(journal, 45)

    prune(journal, config, TODAY)

    assert len(_names(data_dir / "metrics", "snapshot-")) == 5
    assert len(journal.day_files("alerts")) == 8
    assert _names(data_dir / "costs", "daily-cost-")[0] == "daily-cost-2026-02-19.json"
    assert len(journal.day_files("executions")) == 21
    assert len(journal.day_files("ledger")) == 41


def test_retention_alerts_days_overrides_alerts_section(data_dir: Path) -> None:
    config = Config.model_validate(
        {"alerts": {"retention_days": 30}, "retention": {"alerts_days": 3}}
    )
    journal = Journal(data_dir)
    _fill(journal, 10)
    prune(journal, config, TODAY)
    assert len(journal.day_files("alerts")) == 4


def test_prune_leaves_foreign_and_temporary_files_alone(data_dir: Path) -> None:
    journal = Journal(data_dir)
    _fill(journal, 40)
    keep = [
        data_dir / "metrics" / ".snapshot-2020-01-01T00-00-00.json.x.tmp",
        data_dir / "metrics" / "snapshot-notes.txt",
        data_dir / "alerts" / "alerts-2020-01-01.jsonl.bak",
        data_dir / "costs" / "daily-cost-2020-02-30.json",  # no such date
        data_dir / "budgets.toml",
    ]
    for path in keep:
        path.write_bytes(b"x")
    prune(
        journal,
        Config.model_validate({"retention": {"snapshots": 1, "cost_reports_days": 1}}),
        TODAY,
    )
    assert all(p.exists() for p in keep)


def test_prune_on_an_empty_data_directory_removes_nothing(data_dir: Path) -> None:
    assert prune(Journal(data_dir), Config(), TODAY) == []


def test_writer_holding_a_pruned_file_recreates_it(data_dir: Path) -> None:
    writer = Journal(data_dir, recheck_s=0)
    old = day_start_ms(TODAY - timedelta(days=60))
    writer.append("alerts", AlertEvent(timestamp=old, event="raised"))
    assert prune(Journal(data_dir), Config(), TODAY)  # another process prunes the old day
    writer.append("alerts", AlertEvent(timestamp=old + 1, event="resolved"))  # a late backfill
    got = Journal(data_dir).reader("alerts", AlertEvent.model_validate_json).poll()
    assert [e.event for e in got] == ["resolved"]


# ------------------------------------------- temporary files of killed writers (issue 11 item 8)
_REPLACE_FOREVER = """
import sys
from core.journal.store import Journal

journal = Journal(sys.argv[1])
journal.write_document("costs/.checkpoint-ledger.json", b"old whole document")
print("ready", flush=True)
big = b"x" * (64 << 20)
while True:
    journal.write_document("costs/.checkpoint-ledger.json", big)
"""


def _kill_mid_replace(data_dir: Path) -> Path:
    """A real writer replacing a 64 MiB document, SIGKILLed while its temporary file exists."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    costs = data_dir / "costs"
    for _attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", _REPLACE_FOREVER, str(data_dir)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 60
        while not list(costs.glob(".*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        left = list(costs.glob(".*.tmp"))
        if left:  # else the kill came between a rename and the next temporary file
            (tmp,) = left
            return tmp
    raise AssertionError("the writer was never caught mid-replace")


def test_a_writer_killed_mid_replace_leaves_a_temporary_file_readers_ignore(
    data_dir: Path,
) -> None:
    from core.costs.ledger import CostTracker

    tmp = _kill_mid_replace(data_dir)
    assert tmp.name.startswith("..checkpoint-ledger.json.") and tmp.name.endswith(".tmp")
    journal = Journal(data_dir)
    doc = journal.read_document("costs/.checkpoint-ledger.json")
    assert doc in (b"old whole document", b"x" * (64 << 20))  # never half
    assert journal.list_documents("costs", r"daily-cost-.*\.json") == []  # not a report
    assert journal.day_files("ledger") == []
    tracker = CostTracker(data_dir, journal=journal)  # the bad checkpoint is rebuilt, tmp ignored
    assert tracker.get_all_costs().agents == []
    tracker.close()
    assert journal.problems == []

    written = datetime.fromtimestamp(tmp.stat().st_mtime, UTC)
    assert journal.prune_temporary(written + timedelta(minutes=59), 3600) == []
    assert tmp.exists()  # young: perhaps still being written
    removed = prune(journal, Config(), TODAY, now=written + timedelta(minutes=61))
    assert removed == [tmp] and not tmp.exists()
    # not a sealed checkpoint: the tracker discarded it (and may have saved its own since)
    after = journal.read_document("costs/.checkpoint-ledger.json")
    assert after is None or after.startswith(b"werkpilot-checkpoint ledger ")


def _temporaries(data_dir: Path, now: float) -> tuple[list[Path], list[Path]]:
    """Aged (two hours) and young (one minute) temporary files in every document folder."""
    import os

    aged, young = [], []
    for folder, name in [
        ("", "budgets.toml"),
        ("metrics", ".checkpoint-executions.bin"),
        ("metrics", "snapshot-2026-03-01T00-00-00.json"),
        ("costs", "daily-cost-2026-03-01.json"),
        ("alerts", ".checkpoint-alerts.json"),
    ]:
        for age, bucket, suffix in [(7200, aged, "abc123"), (60, young, "def456")]:
            path = data_dir / folder / f".{name}.{suffix}.tmp"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"half")
            os.utime(path, (now - age, now - age))
            bucket.append(path)
    return aged, young


def test_prune_command_removes_temporary_files_older_than_an_hour(data_dir: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    aged, young = _temporaries(data_dir, time.time())
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", "prune", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert res.returncode == 0, res.stderr
    assert not any(p.exists() for p in aged)
    assert all(p.exists() for p in young)
    for path in aged:
        assert f"removed {path.relative_to(data_dir).as_posix()}" in res.stdout
    assert f"pruned {len(aged)} file(s)" in res.stdout


def test_console_housekeeping_removes_aged_temporary_files(data_dir: Path, clock: Any) -> None:
    from werkpilot_tui.console.live import CoreSession

    aged, young = _temporaries(data_dir, clock().timestamp())
    session = CoreSession(data_dir, clock=clock)
    try:
        session.check()  # the console's periodic checks
        assert not any(p.exists() for p in aged) and all(p.exists() for p in young)
        clock.advance(hours=1)
        session.check()
        assert not any(p.exists() for p in young)
    finally:
        session.close()
