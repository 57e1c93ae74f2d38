"""Entries of the data directory that are not what their names say: directories named like
day files or documents, symbolic links. Readers report each once (with its path) and go on;
writers never follow a link out of the data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.journal import KINDS, DataDirError, Journal
from core.records import Execution
from werkpilot_tui.api import Components

ROOT = Path(__file__).resolve().parents[1]
TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


def run(*args: str | Path, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        umask=-1 if umask is None else umask,
    )


def _seed(data_dir: Path) -> None:
    c = Components.open(data_dir)
    c.monitor.track_execution("seeded", duration=100, status="completed", cost=0.001)
    c.tracker.track_cost("seeded", "sales", model="haiku", input_tokens=1000, output_tokens=10)
    c.alerts.add_alert(level="warning", type="custom", message="seeded", data={"agent": "s"})
    c.close()


def _day_dirs(data_dir: Path) -> list[Path]:
    """A directory named like a day file of every kind: yesterday's, and one from 2020."""
    journal = Journal(data_dir)
    made = []
    for kind in KINDS:
        for day in (YESTERDAY, date(2020, 1, 1)):
            path = journal.path_for(kind, day)
            (path / "inside").mkdir(parents=True)
            made.append(path)
    return made


def _document_dirs(data_dir: Path) -> list[Path]:
    made = [
        data_dir / "metrics" / "snapshot-2020-01-01T00-00-00.json",
        data_dir / "costs" / f"daily-cost-{date(2020, 1, 1).isoformat()}.json",
    ]
    for path in made:
        path.mkdir(parents=True)
    return made


def test_directories_named_like_day_files_are_reported_once_and_skipped(data_dir: Path) -> None:
    _seed(data_dir)
    dirs = _day_dirs(data_dir)
    c = Components.open(data_dir)  # raised IsADirectoryError in the monitor's constructor
    try:
        c.monitor.track_execution("after", duration=100, status="completed")
        c.tracker.track_cost("after", "sales", model="haiku", input_tokens=10, output_tokens=1)
        c.alerts.add_alert(level="info", type="custom", message="after", data={"agent": "a"})
        assert c.monitor.get_system_metrics().total_executions == 2
        costs = c.tracker.get_all_costs()
        assert {a.name for a in costs.agents} >= {"seeded", "after"}
        c.tracker.generate_daily_cost_report(YESTERDAY)  # reads yesterday's ledger day files
        assert {a.message for a in c.alerts.get_alerts()} >= {"seeded", "after"}
        for _ in range(3):  # every later poll meets them again: still reported once
            c.monitor.get_system_metrics()
            c.tracker.get_all_costs()
            c.alerts.refresh()
        reported = [p.path for p in c.journal.problems]
        assert len(reported) == len(set(reported))  # each once, however often it was met
        yesterday = [p for p in dirs if YESTERDAY.isoformat() in p.name]
        assert set(yesterday) <= set(reported), reported
        assert dirs[1] in reported  # executions-2020-01-01.jsonl: the monitor reads every day
        for problem in c.journal.problems:
            assert str(problem) == f"{problem.path}: a directory, not a day file: skipped"
    finally:
        c.close()


def test_a_directory_named_like_a_document_is_reported_and_skipped(data_dir: Path) -> None:
    from core.config import load_config
    from core.retention import prune, prune_cost_reports

    _seed(data_dir)
    dirs = _document_dirs(data_dir)
    journal = Journal(data_dir)
    for h in range(3):
        journal.write_document(f"metrics/snapshot-2021-01-01T0{h}-00-00.json", b"{}")
    config = load_config(None).model_copy(deep=True)
    config.retention.snapshots = 1
    removed = prune(journal, config, TODAY)  # raised IsADirectoryError on the snapshot directory
    removed += prune_cost_reports(journal, 1, TODAY)
    assert sorted(p.name for p in removed) == [
        "snapshot-2021-01-01T00-00-00.json",
        "snapshot-2021-01-01T01-00-00.json",
    ]
    assert all(p.is_dir() for p in dirs)
    assert sorted(p.path for p in journal.problems) == sorted(dirs)


def test_cli_commands_report_the_directory_and_go_on(data_dir: Path) -> None:
    _seed(data_dir)
    dirs = _day_dirs(data_dir)
    executions_2020 = Journal(data_dir).path_for("executions", date(2020, 1, 1))
    for args in (
        ("check",),
        ("export",),
        ("report", "--date", YESTERDAY.isoformat()),
        ("prune",),
    ):
        res = run(*args, "--data-dir", data_dir)
        assert res.returncode == 0, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr, res.stderr
        if args[0] != "prune":
            assert str(executions_2020) in res.stderr, (args, res.stderr)
    assert all(p.is_dir() for p in dirs)


def test_appending_to_a_day_file_that_is_a_directory_fails_clearly(data_dir: Path) -> None:
    journal = Journal(data_dir)
    record = Execution(timestamp=1_764_158_400_000, agent="a", duration=1.0)
    path = journal.path_for("executions", date(2025, 11, 26))
    path.mkdir(parents=True)
    with pytest.raises(DataDirError, match=f"{path}.*directory"):
        journal.append("executions", record)
