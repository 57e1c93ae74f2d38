"""The sub-commands as real processes: export, report, check, prune, --help, bad input."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

import core
from core.components import Core
from core.journal.store import Journal
from core.records import AlertEvent, Execution

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("export", "report", "check", "prune", "serve")


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
    )


def _seed(data_dir: Path, critical: bool = True) -> Core:
    c = core.open(data_dir)
    for i in range(5):
        c.monitor.track_execution(
            "lead-scorer",
            duration=1500,
            status="completed" if i else "error",
            tokens_used=1000,
            model="haiku",
            cost=0.001,
            department="sales",
        )
    c.tracker.track_cost(
        "lead-scorer", "sales", model="sonnet", input_tokens=500, output_tokens=300
    )
    c.tracker.track_cost("mailer", "marketing", model="haiku", input_tokens=4000, output_tokens=100)
    c.alerts.add_alert(level="warning", type="custom", message="Queue is slow", data={"agent": "q"})
    if critical:
        c.alerts.add_alert(
            level="critical", type="custom", message="Mailer \x1b[31mdown", data={"agent": "m"}
        )
    return c


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command: str) -> None:
    res = run(command, "--help")
    assert res.returncode == 0, res.stderr
    assert "--data-dir" in res.stdout and "--config" in res.stdout
    assert res.stdout.startswith(f"usage: werkpilot-tui {command}")


def test_export_prints_the_seed_shape_and_single_parts(data_dir: Path) -> None:
    _seed(data_dir).close()
    res = run("export", "--data-dir", data_dir)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) == {"timestamp", "system", "agents", "costs", "alerts"}
    (agent,) = doc["agents"]
    assert agent["name"] == "lead-scorer"
    assert agent["executions"] == 5 and agent["errors"] == 1
    assert set(agent["windows"]) == {"1h", "24h", "7d"}
    assert doc["system"]["totalExecutions"] == 5
    assert doc["costs"]["agents"], doc["costs"]
    assert set(doc["alerts"]) == {"recent", "stats", "unacknowledged"}
    assert set(doc["alerts"]["stats"]) == {"1h", "24h", "7d"}
    assert len(doc["alerts"]["recent"]) == 2
    assert doc["alerts"]["stats"]["24h"]["critical"] == 1
    for kind, key in (("agent", "agents"), ("system", "system"), ("costs", "costs")):
        part = json.loads(run("export", "--data-dir", data_dir, "--type", kind).stdout)
        assert set(part) == {"timestamp", key}
        assert part[key] == doc[key] or kind == "system"  # system uptime/health move
    bad = run("export", "--data-dir", data_dir, "--type", "bogus")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_report_writes_the_file_and_prints_it(data_dir: Path) -> None:
    _seed(data_dir).close()
    today = datetime.now(UTC).date().isoformat()
    res = run("report", "--data-dir", data_dir)
    assert res.returncode == 0, res.stderr
    printed = json.loads(res.stdout)
    written = data_dir / "costs" / f"daily-cost-{today}.json"
    assert json.loads(written.read_text()) == printed
    assert printed["date"] == today
    assert printed["summary"]["executions"] == 2
    expected = 500 * 3 / 1e6 + 300 * 15 / 1e6 + 4000 * 0.25 / 1e6 + 100 * 1.25 / 1e6
    assert printed["summary"]["totalCost"] == pytest.approx(expected)
    assert [a["name"] for a in printed["topAgents"]] == ["lead-scorer", "mailer"]
    assert str(written) in res.stderr
    other = run("report", "--data-dir", data_dir, "--date", "2020-02-29")
    assert other.returncode == 0
    assert json.loads(other.stdout)["summary"]["executions"] == 0
    assert (data_dir / "costs" / "daily-cost-2020-02-29.json").is_file()
    bad = run("report", "--data-dir", data_dir, "--date", "2020-13-01")
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_check_exits_1_while_a_critical_is_open_and_0_after_acknowledging(data_dir: Path) -> None:
    c = _seed(data_dir)
    res = run("check", "--data-dir", data_dir)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "1 critical, 1 warning" in res.stdout
    assert "CRIT custom: Mailer \\x1b[31mdown" in res.stdout  # escape neutralised
    assert "\x1b" not in res.stdout
    (crit,) = c.alerts.get_alerts(level="critical")
    assert c.alerts.acknowledge_alert(crit.id)
    c.close()
    res = run("check", "--data-dir", data_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 critical, 1 warning" in res.stdout


def test_check_raises_threshold_alerts_from_the_data(data_dir: Path, tmp_path: Path) -> None:
    c = core.open(data_dir)
    for _ in range(12):
        c.monitor.track_execution("flaky", duration=100, status="failed")
    c.close()
    (_, path), *_ = Journal(data_dir).day_files("executions")
    with path.open("ab") as fh:
        fh.write(b"garbage\n")
    res = run("check", "--data-dir", data_dir)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "CRIT error_rate" in res.stdout
    assert f"1 malformed line(s) skipped, e.g. {path}:13" in res.stderr


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_check_delivers_new_alerts_before_exiting(data_dir: Path, tmp_path: Path) -> None:
    j = Journal(data_dir)  # raw records: no process has checked thresholds on them yet
    now = int(datetime.now(UTC).timestamp() * 1000)
    for i in range(12):
        j.append("executions", Execution(timestamp=now - i, agent="flaky", status="failed"))
    hook = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    cfg = tmp_path / "werkpilot.toml"
    cfg.write_text(f'[webhook]\nurl = "http://127.0.0.1:{hook.server_address[1]}/hook"\n')
    try:
        res = run("check", "--data-dir", data_dir, "--config", cfg)
    finally:
        hook.shutdown()
        hook.server_close()
    assert res.returncode == 1, res.stdout + res.stderr
    texts = [doc["text"] for doc in _Hook.received]
    assert any("error_rate" in t and "flaky" in t for t in texts), texts


def test_prune_removes_old_alert_files_and_keeps_cost_reports(data_dir: Path) -> None:
    c = _seed(data_dir, critical=False)
    c.tracker.generate_daily_cost_report(date(2020, 1, 1))
    c.close()
    old = datetime.now(UTC) - timedelta(days=45)
    j = Journal(data_dir)
    j.append(
        "alerts",
        AlertEvent(
            timestamp=int(old.timestamp() * 1000),
            event="raised",
            alert_id="old-1",
            level="info",
            type="custom",
            message="long ago",
        ),
    )
    old_file = j.path_for("alerts", old.date())
    assert old_file.is_file()
    snapshots = [f"snapshot-2026-01-0{d}T10-00-00.json" for d in (1, 2, 3)]
    for name in snapshots:
        j.write_document(f"metrics/{name}", "{}")
    cfg = data_dir.parent / "werkpilot.toml"
    cfg.write_text("[retention]\nsnapshots = 2\n")
    before = sorted(p.name for p in (data_dir / "metrics").glob("snapshot-*.json"))
    res = run("prune", "--data-dir", data_dir, "--config", cfg)
    assert res.returncode == 0, res.stderr
    assert not old_file.exists()
    assert f"removed alerts/{old_file.name}" in res.stdout
    gone = before[:-2]  # the newest two snapshots are kept
    assert snapshots[0] in gone
    for name in gone:
        assert f"removed metrics/{name}" in res.stdout
    n = len(gone)
    assert f"pruned {1 + n} file(s) (1 in alerts/, {n} in metrics/)" in res.stdout
    assert sorted(p.name for p in (data_dir / "metrics").glob("snapshot-*")) == before[-2:]
    assert (data_dir / "costs" / "daily-cost-2020-01-01.json").is_file()
    assert j.day_files("alerts"), "today's alert file is kept"
    again = run("prune", "--data-dir", data_dir, "--config", cfg)
    assert "pruned 0 file(s)" in again.stdout


def test_bad_config_exits_2_naming_file_key_and_problem(data_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[thresholds]\nerror_rate_warning = 7\n")
    for command in ("export", "report", "check", "prune", "serve"):
        res = run(command, "--data-dir", data_dir, "--config", cfg)
        assert res.returncode == 2, (command, res.stderr)
        assert str(cfg) in res.stderr and "thresholds.error_rate_warning" in res.stderr
        assert "less than or equal to 1" in res.stderr
        assert "Traceback" not in res.stderr
    res = run("export", "--config", tmp_path / "missing.toml")
    assert res.returncode == 2 and "file not found" in res.stderr


def test_unusable_data_dir_exits_2(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for command in ("export", "check", "prune"):
        res = run(command, "--data-dir", not_a_dir)
        assert res.returncode == 2, (command, res.stdout, res.stderr)
        assert "not a directory" in res.stderr and "Traceback" not in res.stderr


def _one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that failed cleanly (exit 2, no traceback)."""
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Exception" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("werkpilot-tui: "), res.stderr
    return lines[0]


def test_a_missing_data_dir_is_exit_2_and_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "a" / "typo"
    for command in ("export", "report", "check", "prune"):
        line = _one_line_error(run(command, "--data-dir", typo))
        assert str(typo) in line and "does not exist" in line, command
        assert not (tmp_path / "a").exists(), command
    env_typo = tmp_path / "from-env"
    line = _one_line_error(run("check", env={"WERKPILOT_DATA_DIR": str(env_typo)}))
    assert str(env_typo) in line and not env_typo.exists()


def test_serve_creates_a_missing_data_dir_and_says_so(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "data"
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "werkpilot_tui", "serve", "--data-dir", str(fresh), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        assert "serving http://" in proc.stdout.readline(), log.read_text()
        assert fresh.is_dir()
        assert f"created data directory {fresh}" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(20)


def test_report_that_cannot_be_written_is_one_line_and_exit_2(data_dir: Path) -> None:
    _seed(data_dir).close()
    today = datetime.now(UTC).date().isoformat()
    in_the_way = data_dir / "costs" / f"daily-cost-{today}.json"
    in_the_way.mkdir()  # as root, permissions cannot stop a write; a directory can
    line = _one_line_error(run("report", "--data-dir", data_dir))
    assert str(in_the_way) in line and "is a directory" in line.lower()
    assert ".tmp" not in line  # the target, not the temporary file


def test_check_on_a_full_disk_is_one_line_and_exit_2(data_dir: Path) -> None:
    c = core.open(data_dir)
    for _ in range(12):
        c.monitor.track_execution("flaky", duration=100, status="failed")
    c.close()  # the check would raise an error-rate alert: its append hits a full disk
    alerts_dir = data_dir / "alerts"
    for path in alerts_dir.glob("alerts-*.jsonl"):
        path.unlink()
    alerts_dir.mkdir(exist_ok=True)
    (alerts_dir / f"alerts-{datetime.now(UTC).date().isoformat()}.jsonl").symlink_to("/dev/full")
    _one_line_error(run("check", "--data-dir", data_dir))


def test_a_checkpoint_the_background_thread_cannot_write_is_one_warning(data_dir: Path) -> None:
    c = core.open(data_dir)
    for i in range(30):
        c.monitor.track_execution(f"agent-{i % 3}", duration=100)
    c.close()
    cp = data_dir / "metrics" / ".checkpoint-executions.bin"
    cp.unlink(missing_ok=True)
    cp.mkdir()  # the cold rebuild's background write cannot replace a directory
    res = run("export", "--data-dir", data_dir)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["system"]["totalExecutions"] == 30
    assert "Traceback" not in res.stderr and "Exception in thread" not in res.stderr
    warnings = [line for line in res.stderr.splitlines() if "cannot write checkpoint" in line]
    assert len(warnings) == 1, res.stderr
    assert str(cp) in warnings[0]


def test_the_console_creates_a_missing_data_dir_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from werkpilot_tui.cli import build_parser, prepare_data_dir

    fresh = tmp_path / "first-run" / "data"
    prepare_data_dir(build_parser().parse_args(["--data-dir", str(fresh)]))  # the console
    assert fresh.is_dir()
    assert f"created data directory {fresh}" in capsys.readouterr().err
    prepare_data_dir(build_parser().parse_args(["--data-dir", str(fresh)]))
    assert capsys.readouterr().err == ""  # said once, when it was created
    demo = build_parser().parse_args(["--demo", "--data-dir", str(tmp_path / "unused")])
    prepare_data_dir(demo)  # the demo runs in a temporary directory of its own
    assert not (tmp_path / "unused").exists()
