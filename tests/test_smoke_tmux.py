"""Smoke test: ``werkpilot-tui --demo`` in a real terminal (tmux), rows appear, ``q`` exits."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def _tmux(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tmux", "-S", str(sock), *args], capture_output=True, text=True, timeout=10
    )


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # polling a real terminal; the bound is the deadline
    raise AssertionError(f"timed out waiting for {what}")


def test_demo_runs_in_tmux_and_quits_cleanly(tmp_path: Path) -> None:
    sock = tmp_path / "tmux.sock"
    status = tmp_path / "status"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\n")  # keep the pane to read after exit
    repo = Path(__file__).resolve().parents[1]
    command = f"cd {repo} && {sys.executable} -m werkpilot_tui --demo; echo $? > {status}"
    env = {**os.environ, "TERM": "xterm-256color"}
    started = subprocess.run(
        [
            "tmux",
            "-S",
            str(sock),
            "-f",
            str(conf),
            "new-session",
            "-d",
            "-s",
            "smoke",
            "-x",
            "120",
            "-y",
            "40",
            command,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert started.returncode == 0, started.stderr
    try:
        screen = ""

        def rows_shown() -> bool:
            nonlocal screen
            screen = _tmux(sock, "capture-pane", "-p", "-t", "smoke").stdout
            # The header counts agents and the table shows rows: name, department, runs, ...
            # (polled again when a capture lands in the middle of a repaint).
            rows = re.findall(r"^│ [\w-]+ +[\w-]+ +\d+ +\d+ ", screen, re.MULTILINE)
            return bool(re.search(r"agents [1-9]", screen)) and "Agents ·" in screen and bool(rows)

        _wait(rows_shown, 60, "agent rows on the screen")
        assert "Agents" in screen and "Budgets" in screen and "Alerts" in screen, screen
        _tmux(sock, "send-keys", "-t", "smoke", "q")
        _wait(status.exists, 30, "the console to exit after q")
        _wait(lambda: status.read_text().strip() != "", 5, "the exit status")
        assert status.read_text().strip() == "0"
        after = _tmux(sock, "capture-pane", "-p", "-t", "smoke", "-S", "-100").stdout
        assert "Traceback" not in after and "Error" not in after, after
    finally:
        _tmux(sock, "kill-server")
