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

import core
from core.journal.store import KINDS, DataDirError, Journal
from core.records import Execution

ROOT = Path(__file__).resolve().parents[1]
TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _seed(data_dir: Path) -> None:
    c = core.open(data_dir)
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
    c = core.open(data_dir)  # raised IsADirectoryError in the monitor's constructor
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
            c.control.events()
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
    from core.journal.retention import prune, prune_cost_reports

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


# ------------------------------------------------------------------ links (issue 11 item 9)
_RECORD = Execution(timestamp=1_764_158_400_000, agent="a", duration=1.0)
_DAY = date(2025, 11, 26)


def test_a_day_file_linked_elsewhere_is_refused_and_its_target_untouched(
    data_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "precious.txt"
    target.write_bytes(b"keep me\n")
    journal = Journal(data_dir)
    link = journal.path_for("executions", _DAY)
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    with pytest.raises(DataDirError, match=f"{link} is a symbolic link"):
        journal.append("executions", _RECORD)
    assert target.read_bytes() == b"keep me\n"
    # A reader does not read through it either: reported once, skipped.
    reader = journal.reader("executions", Execution.model_validate_json)
    assert reader.poll() == [] and reader.poll() == []
    assert [str(p) for p in journal.problems] == [
        f"{link}: a symbolic link, not a day file: skipped"
    ]


def test_a_kind_directory_linked_elsewhere_is_refused(data_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data_dir.mkdir()
    (data_dir / "metrics").symlink_to(elsewhere)
    journal = Journal(data_dir)
    with pytest.raises(DataDirError, match="metrics is a symbolic link"):
        journal.append("executions", _RECORD)
    with pytest.raises(DataDirError, match="metrics is a symbolic link"):
        journal.write_document("metrics/snapshot-2025-11-26T00-00-00.json", b"{}")
    assert list(elsewhere.iterdir()) == []
    assert journal.reader("executions", Execution.model_validate_json).poll() == []
    assert [p.path.name for p in journal.problems] == ["metrics"]


def test_the_data_directory_itself_may_be_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "data-link"
    link.symlink_to(real)
    journal = Journal(link)
    journal.append("executions", _RECORD)
    journal.write_document("budgets.toml", b"[budgets]\n")
    assert (real / "metrics" / "executions-2025-11-26.jsonl").read_bytes() == _RECORD.to_json_line()
    assert (real / "budgets.toml").read_bytes() == b"[budgets]\n"
    assert Journal(link).reader("executions", Execution.model_validate_json).poll() == [_RECORD]


def test_a_document_that_is_a_link_is_replaced_not_written_through(
    data_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "precious.toml"
    target.write_bytes(b"keep me\n")
    data_dir.mkdir()
    (data_dir / "budgets.toml").symlink_to(target)
    journal = Journal(data_dir)
    assert journal.read_document("budgets.toml") is None  # not followed: reported
    assert [str(p) for p in journal.problems] == [
        f"{data_dir / 'budgets.toml'}: a symbolic link, not a document: skipped"
    ]
    journal.write_document("budgets.toml", b"[budgets]\n")
    assert target.read_bytes() == b"keep me\n"
    assert not (data_dir / "budgets.toml").is_symlink()
    assert journal.read_document("budgets.toml") == b"[budgets]\n"


# ------------------------------------------------------------------ modes (issue 11 item 9)
_WRITE_EVERYTHING = """
import sys
import core

core.configure(data_dir=sys.argv[1])
monitor = core.get_performance_monitor()
monitor.track_execution("a", duration=100, status="completed", cost=0.01)
monitor.save_snapshot()
monitor.save_checkpoint()
tracker = core.get_cost_tracker()
tracker.track_cost("a", "sales", model="haiku", input_tokens=100, output_tokens=10)
tracker.set_department_budget("sales", 250)
tracker.generate_daily_cost_report()
tracker.save_checkpoint()
alerts = core.get_alert_manager()
alerts.add_alert(level="critical", type="custom", message="secret text", data={"agent": "a"})
alerts.save_checkpoint()
core.configure()
"""


@pytest.mark.parametrize(
    ("umask", "dir_mode", "file_mode"), [(0o077, 0o700, 0o600), (0o022, 0o750, 0o644)]
)
def test_files_and_directories_respect_the_umask(
    data_dir: Path, umask: int, dir_mode: int, file_mode: int
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", _WRITE_EVERYTHING, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        umask=umask,
    )
    assert res.returncode == 0, res.stderr
    dirs = [data_dir, *(p for p in data_dir.rglob("*") if p.is_dir())]
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    names = {p.relative_to(data_dir).as_posix() for p in files}
    assert {"budgets.toml", "costs/.checkpoint-ledger.json", "alerts/.checkpoint-alerts.json",
            "metrics/.checkpoint-executions.bin"} <= names  # fmt: skip
    assert any(n.startswith("metrics/snapshot-") for n in names)
    assert any(n.startswith("costs/daily-cost-") for n in names)
    assert {p.relative_to(data_dir).as_posix(): oct(p.stat().st_mode & 0o777) for p in dirs} == {
        p.relative_to(data_dir).as_posix(): oct(dir_mode) for p in dirs
    }
    assert {n: oct((data_dir / n).stat().st_mode & 0o777) for n in names} == {
        n: oct(file_mode) for n in names
    }
