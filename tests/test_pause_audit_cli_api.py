"""Pause/resume and the audit trail through the CLI and ``serve``'s API, as real processes
(issue 15, items 2 and 4): who acted (user@host, ``token:NAME``), before/after and why."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from test_server import _seed, start, stop

import core

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Content-Type": "application/json"}


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", *args, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def events(data_dir: Path) -> list[Any]:
    with core.open(data_dir, lazy=True) as c:
        return c.control.events()


def test_cli_pause_and_resume_say_what_happened_and_are_idempotent(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _seed(data_dir)
    actor = core.default_actor()
    done = cli("pause", "lead-scorer", "--reason", "runaway [red]loop", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"paused lead-scorer (by {actor})\n"
    again = cli("pause", "lead-scorer", "--reason", "twice", data_dir=data_dir)
    assert (again.returncode, again.stdout) == (0, "lead-scorer is already paused\n")
    with core.open(data_dir, lazy=True) as c:
        pause = c.control.pause_of("lead-scorer")
    assert pause is not None and (pause.actor, pause.reason) == (actor, "runaway [red]loop")
    done = cli("resume", "lead-scorer", "--reason", "fixed", data_dir=data_dir)
    assert (done.returncode, done.stdout) == (0, f"resumed lead-scorer (by {actor})\n")
    again = cli("resume", "lead-scorer", data_dir=data_dir)
    assert (again.returncode, again.stdout) == (0, "lead-scorer is not paused\n")
    assert [(e.action, e.reason, e.before, e.after) for e in events(data_dir)] == [
        ("resumed", "fixed", True, False),
        ("paused", "runaway [red]loop", False, True),
    ]


def test_cli_pause_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _seed(data_dir)
    for bad in ("bad\x1bname", "x" * 300, "   "):
        done = cli("pause", bad, data_dir=data_dir)
        assert done.returncode == 2, (bad, done.stdout)
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "\x1b" not in done.stderr
    done = cli("pause", "ok", "--reason", "r" * 2001, data_dir=data_dir)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    missing = cli("pause", "a", data_dir=tmp_path / "nope")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert events(data_dir) == []


def test_export_type_audit_json_and_csv(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _seed(data_dir)
    with core.open(data_dir, lazy=True) as c:
        op = core.Operator(c, "ana@ops")
        op.set_budget("sales", 800.0, reason="=cmd|' /C calc'!A0")
        op.pause("lead-scorer", reason='loop, "quoted"\nsecond line')
    done = cli("export", "--type", "audit", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [e["action"] for e in doc["audit"]] == ["paused", "budget_set"]  # newest first
    budget = doc["audit"][1]
    assert (budget["actor"], budget["subject"], budget["before"], budget["after"]) == (
        "ana@ops",
        "sales",
        500.0,
        800.0,
    )
    assert isinstance(doc["timestamp"], int)
    one = cli("export", "--type", "audit", "--limit", "1", data_dir=data_dir)
    assert [e["action"] for e in json.loads(one.stdout)["audit"]] == ["paused"]
    done = cli("export", "--type", "audit", "--format", "csv", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["action"] for r in rows] == ["paused", "budget_set"]
    assert rows[0]["reason"] == 'loop, "quoted"\nsecond line'  # quoted, not split
    assert rows[1]["reason"].startswith("'=")  # no formula for a spreadsheet to run
    assert (rows[1]["before"], rows[1]["after"]) == ("500.0", "800.0")
    bad = cli("export", "--type", "costs", "--format", "csv", data_dir=data_dir)
    assert bad.returncode == 2 and "audit only" in bad.stderr


def _post(served: Any, path: str, doc: Any, token: str | None = None) -> tuple[int, Any]:
    headers = dict(JSON)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    status, _, data = served.request("POST", path, body, headers)
    return status, json.loads(data)


def test_api_pause_resume_with_token_names_the_token_and_validates(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ids = _seed(data_dir)
    served = start(
        data_dir, ttl=60, WERKPILOT_API_TOKEN="s3cret", WERKPILOT_API_TOKEN_NAME="ci-bot"
    )
    try:
        path = "/api/agents/lead-scorer/pause"
        assert _post(served, path, {"reason": "x"})[0] == 401
        assert _post(served, path, {"reason": "x"}, "wrong")[0] == 401
        ok = _post(served, path, {"reason": "api says stop"}, "s3cret")
        assert ok == (
            200,
            {"success": True, "agent": "lead-scorer", "paused": True, "changed": True},
        )
        status, _, data = served.request("GET", "/api/pauses")  # reads stay open
        [pause] = json.loads(data)["pauses"]
        assert status == 200 and (pause["agent"], pause["actor"]) == ("lead-scorer", "token:ci-bot")
        assert pause["reason"] == "api says stop" and isinstance(pause["since"], int)
        again = _post(served, path, {"reason": "again"}, "s3cret")
        assert again[0] == 200 and again[1]["changed"] is False  # already paused
        # bad names: unknown agent 404, bad verb 404, control characters / bad UTF-8 400
        assert _post(served, "/api/agents/nobody/pause", {}, "s3cret")[0] == 404
        assert _post(served, "/api/agents/lead-scorer/explode", {}, "s3cret")[0] == 404
        assert _post(served, "/api/agents//pause", {}, "s3cret")[0] == 404
        assert _post(served, "/api/agents/a%1Bb/pause", {}, "s3cret")[0] == 400
        assert _post(served, "/api/agents/%FF/pause", {}, "s3cret")[0] == 400
        assert _post(served, f"/api/agents/{'x' * 300}/pause", {}, "s3cret")[0] == 400
        assert _post(served, "/api/agents/lead-scorer/resume", {"reason": 5}, "s3cret")[0] == 400
        assert _post(served, "/api/agents/lead-scorer/resume", b"[1]", "s3cret")[0] == 400
        # the body is bounded ([server] max_body_bytes = 4096 in these tests)
        huge = {"reason": "r" * 5000}
        assert _post(served, "/api/agents/lead-scorer/resume", huge, "s3cret")[0] == 413
        status, _, _ = served.request("GET", "/api/agents/lead-scorer/pause")
        assert status == 405
        # percent-encoded names are decoded
        ok = _post(served, "/api/agents/lead%2Dscorer/resume", {"reason": "ok"}, "s3cret")
        assert ok[0] == 200 and ok[1]["changed"] is True
        # acks and budget edits through the API are recorded as the token's, with reasons
        ack = {"alertId": ids["critical"], "reason": "on it"}
        assert _post(served, "/api/metrics/acknowledge", ack, "s3cret")[0] == 200
        edit = {"department": "sales", "amount": 700, "reason": "Q4"}
        assert _post(served, "/api/budgets", edit, "s3cret")[0] == 200
    finally:
        stop(served)
    assert served.proc.returncode == 0, served.log.read_text()
    got = [(e.action, e.actor, e.subject, e.before, e.after, e.reason) for e in events(data_dir)]
    assert got == [
        ("budget_set", "token:ci-bot", "sales", 500.0, 700.0, "Q4"),
        (
            "acknowledged",
            "token:ci-bot",
            ids["critical"],
            {"acknowledged": False, "until": None},
            {"acknowledged": True, "until": None},
            "on it",
        ),
        ("resumed", "token:ci-bot", "lead-scorer", True, False, "ok"),
        ("paused", "token:ci-bot", "lead-scorer", False, True, "api says stop"),
    ]


def test_api_without_a_token_records_the_client_address_and_default_token_name(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    _seed(data_dir)
    served = start(data_dir, ttl=60)
    try:
        assert _post(served, "/api/agents/lead-scorer/pause", {"reason": "r"})[0] == 200
    finally:
        stop(served)
    [event] = events(data_dir)
    assert event.actor == "anonymous@127.0.0.1"
    served = start(data_dir, ttl=61, WERKPILOT_API_TOKEN="t")
    try:
        assert _post(served, "/api/agents/lead-scorer/resume", {}, "t")[0] == 200
    finally:
        stop(served)
    assert events(data_dir)[0].actor == "token:api"
