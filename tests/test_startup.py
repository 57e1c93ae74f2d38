"""Start-up: a loading screen from the first frame, no dashboard of partial data, progress
from core, and ``--demo`` cleaning up after SIGTERM and SIGHUP as it does after ``q``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from app_support import app_for, loaded, seed, wait_for

from core.journal.store import Journal
from core.monitor.performance import PerformanceMonitor
from werkpilot_tui.console.app import WerkpilotApp
from werkpilot_tui.console.live import StartupStep
from werkpilot_tui.console.screens.startup import StartupScreen
from werkpilot_tui.console.view_models import Dashboard
from werkpilot_tui.demo import FLEET, DemoFleet, demo_fleet

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


class Recording(WerkpilotApp):
    """Keeps every snapshot the feed published."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[Dashboard] = []

    def _publish(self, dashboard: Dashboard) -> None:
        self.published.append(dashboard)
        super()._publish(dashboard)


async def test_the_start_up_screen_shows_until_the_data_is_complete(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    step: list[StartupStep | None] = [StartupStep("Writing a week of demo history", 0.4)]
    app = Recording(data_dir, clock=clock, watch=False, preparing=lambda: step[0])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartupScreen))
        screen = app.screen
        assert isinstance(screen, StartupScreen)
        await wait_for(pilot, lambda: "Writing a week of demo history" in screen.step_text)
        await pilot.pause(0.5)
        assert app.published == [] and app.latest is None  # nothing built from partial data
        assert app.screen is screen
        monitor = PerformanceMonitor(data_dir, clock=clock)
        monitor.track_execution("late-agent", duration=5.0, department="ops")  # the rest
        monitor.close()
        step[0] = None
        await loaded(pilot)
        first = app.published[0]
        assert first.agent("late-agent") is not None and first.agent("lead-scorer") is not None
        assert app.screen is app.dashboard_screen


async def test_the_start_up_screen_says_what_core_is_reading(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    app = app_for(data_dir, clock)
    # Before the core thread has opened anything, the session says what it will read.
    assert str(data_dir) in app.startup_status().text
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.startup_screen is None and app.screen is app.dashboard_screen
        assert not [s for s in app.screen_stack if isinstance(s, StartupScreen)]


async def test_a_screen_opened_during_start_up_gives_way_to_the_dashboard(
    data_dir: Path, clock: Any
) -> None:
    seed(data_dir, clock)
    ready: list[StartupStep | None] = [StartupStep("Writing")]
    app = app_for(data_dir, clock, preparing=lambda: ready[0])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartupScreen))
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        ready[0] = None
        await loaded(pilot)
        assert app.screen is app.dashboard_screen


async def test_the_demo_dashboard_never_shows_a_partial_history(tmp_path: Path) -> None:
    """The demo backfills in the background: no snapshot before the history is complete."""
    with demo_fleet(seed=4, rate=0.01, backfill_days=2) as fleet:
        app = Recording(fleet.data_dir, watch=True, preparing=fleet.preparing)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, StartupScreen))
            await loaded(pilot)
            await pilot.pause(0.5)
            planned = fleet.written
            assert planned > 100
            for snapshot in app.published:
                runs = [a for a in snapshot.agents if not a.ledger_only]  # batch jobs: cost only
                assert {a.name for a in runs} == {a.name for a in FLEET}
                assert all(a.executions > 0 for a in runs)
                assert snapshot.health.total_executions >= planned
                assert all(b.spent > 0 for b in snapshot.budgets)


def test_monitor_reports_rebuild_progress_in_bytes(data_dir: Path, clock: Any) -> None:
    seed(data_dir, clock)
    monitor = PerformanceMonitor(data_dir, clock=clock)
    for i in range(3000):
        monitor.track_execution(f"a{i % 7}", duration=5.0, department="d")
    monitor.close()
    for checkpoint in data_dir.glob("**/.checkpoint*"):
        checkpoint.unlink()
    size = sum(p.stat().st_size for p in Journal(data_dir).dir_for("executions").glob("*.jsonl"))
    seen: list[tuple[int, int]] = []
    rebuilt = PerformanceMonitor(
        data_dir, clock=clock, parallel_rebuild_bytes=0, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    n = len(seen)
    rebuilt.track_execution("after", duration=1.0)
    rebuilt.refresh()
    assert len(seen) == n  # only the constructor's catch-up reports
    rebuilt.close()


# ------------------------------------------------------------------ signals
def _demo_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("werkpilot-demo-*"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_demo_removes_its_data_dir_on_a_signal(sig: str, tmp_path: Path) -> None:
    """A real terminal (tmux) runs ``werkpilot-tui --demo``; the signal ends it cleanly."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    sock, status, pidfile = tmp_path / "tmux.sock", tmp_path / "status", tmp_path / "pid"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\n")
    command = (
        f"cd {REPO} && exec env TMPDIR={tmp} WERKPILOT_SETTINGS={tmp_path / 's.toml'} "
        f"sh -c 'echo $$ > {pidfile}; {sys.executable} -m werkpilot_tui --demo; "
        f"echo $? > {status}'"
    )
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
    tmux = ["tmux", "-S", str(sock), "-f", str(conf)]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "sig", "-x", "120", "-y", "40", command],
        env=env,
        check=True,
        timeout=10,
    )
    try:
        deadline = time.monotonic() + 60
        shown = ""
        while time.monotonic() < deadline:
            shown = subprocess.run(
                ["tmux", "-S", str(sock), "capture-pane", "-p", "-t", "sig"],
                capture_output=True,
                text=True,
            ).stdout
            if "Agents ·" in shown and _demo_dirs(tmp):
                break
            time.sleep(0.2)
        assert "Agents ·" in shown and len(_demo_dirs(tmp)) == 1, shown
        shell = int(pidfile.read_text())
        children = subprocess.run(
            ["pgrep", "-P", str(shell)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 1, children
        os.kill(int(children[0]), getattr(signal, sig))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (status.exists() and status.read_text()):
            time.sleep(0.2)
        assert status.exists(), "the console did not exit"
        assert _demo_dirs(tmp) == []
    finally:
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True)


def test_the_demo_says_how_much_history_it_has_written(data_dir: Path) -> None:
    fleet = DemoFleet(data_dir, seed=9, rate=0.01, backfill_days=1, quiet=True)
    steps: list[StartupStep | None] = []
    original = fleet._run_once

    def run_once(agent: Any, ts: int) -> None:
        original(agent, ts)
        if len(steps) < 50:
            steps.append(fleet.preparing())

    fleet._run_once = run_once  # type: ignore[method-assign]
    fleet.start(background=True)
    deadline = time.monotonic() + 60
    while fleet.preparing() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    fleet.stop()
    assert fleet.preparing() is None
    counted = [s for s in steps if s is not None and "executions" in s.text]
    assert counted, steps
    fractions = [s.fraction for s in counted]
    assert fractions == sorted(fractions) and any(0 < f < 1 for f in fractions if f is not None)
    assert " of " in counted[-1].text
