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


def _pane(sock: Path) -> str:
    return _tmux(sock, "capture-pane", "-p", "-t", "smoke").stdout


#: (keys that open it from the dashboard, text it shows, what it is) for every screen; the
#: focus moves are relative to the agents table (Tab: budgets, Tab again: alerts).
SCREENS = (
    (["Enter"], "Recent executions", "agent detail"),
    (["Tab", "Tab", "Enter"], "Esc closes", "alert detail"),
    (["?"], "Keys — Esc", "help"),
    (["c"], "Top agents", "costs"),
    (["t"], "Theme — ", "theme picker"),
    (["Tab", "b"], "Monthly budget for", "budget editor"),
    (["L"], "Audit trail", "audit trail"),
    (["p"], "Escape cancels", "pause confirmation"),
)


def _open_every_screen(sock: Path) -> None:
    """Each screen opens, renders its content and closes back to the dashboard."""
    _focus_agents(sock)
    for keys, text, what in SCREENS:
        _tmux(sock, "send-keys", "-t", "smoke", *keys)
        _wait(lambda text=text: text in _pane(sock), 30, f"the {what} to render")  # type: ignore[misc]
        assert "Traceback" not in _pane(sock), _pane(sock)
        _tmux(sock, "send-keys", "-t", "smoke", "Escape")
        _wait(
            lambda text=text: text not in (p := _pane(sock)) and "Agents ·" in p,  # type: ignore[misc]
            30,
            f"the {what} to close",
        )
        _focus_agents(sock)  # for the next screen's focus moves


def _focus_agents(sock: Path) -> None:
    """Open the filter and close it with Escape: that puts the focus on the agents table."""
    _tmux(sock, "send-keys", "-t", "smoke", "/")
    _wait(lambda: "filter agents" in _pane(sock), 10, "the filter box")
    _tmux(sock, "send-keys", "-t", "smoke", "Escape")
    _wait(lambda: "filter agents" not in _pane(sock), 10, "the filter box to close")


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
        _open_every_screen(sock)
        _tmux(sock, "send-keys", "-t", "smoke", "q")
        _wait(status.exists, 30, "the console to exit after q")
        _wait(lambda: status.read_text().strip() != "", 5, "the exit status")
        assert status.read_text().strip() == "0"
        after = _tmux(sock, "capture-pane", "-p", "-t", "smoke", "-S", "-100").stdout
        assert "Traceback" not in after and "Error" not in after, after
    finally:
        _tmux(sock, "kill-server")


def test_a_config_error_after_the_first_frame_is_readable_in_the_terminal(
    tmp_path: Path,
) -> None:
    """The plain first frame (written before Textual starts) gives the terminal back before
    the error is printed, so the message stays on the normal screen."""
    sock = tmp_path / "tmux.sock"
    status = tmp_path / "status"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\n")
    bad = tmp_path / "werkpilot.toml"
    bad.write_text("[thresholds]\nerror_rate_warning = 'high'\n")
    repo = Path(__file__).resolve().parents[1]
    command = (
        f"cd {repo} && {sys.executable} -m werkpilot_tui --config {bad} "
        f"--data-dir {tmp_path / 'data'}; echo $? > {status}"
    )
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
            "100",
            "-y",
            "30",
            command,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert started.returncode == 0, started.stderr
    try:
        _wait(lambda: status.exists() and status.read_text().strip() != "", 60, "the exit")
        assert status.read_text().strip() == "2"
        shown = _tmux(sock, "capture-pane", "-p", "-t", "smoke", "-S", "-50").stdout
        assert "werkpilot-tui:" in shown and "error_rate_warning" in shown, shown
        assert "starting" not in shown, shown  # the splash is gone
    finally:
        _tmux(sock, "kill-server")
