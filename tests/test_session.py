"""The console's ``Session`` protocol: both sessions implement it, the app never probes it.

mypy checks the implementations against the protocol (``_conforms`` in ``live.py`` and
``fleet_view.py``; tests/test_code_quality.py runs mypy); these tests pin the behaviour.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config
from werkpilot_tui.console.live import CoreSession, LiveFeed
from werkpilot_tui.console.session import ALL_CAPABILITIES, NotAvailableHere, Session
from werkpilot_tui.fleet.session import FleetSession
from werkpilot_tui.fleet.source import FleetActionError

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = [
    ROOT / "werkpilot_tui" / "console" / "app.py",
    *sorted((ROOT / "werkpilot_tui" / "console" / "screens").glob("*.py")),
]


def _fleet() -> FleetSession:
    # Nothing listens on port 9: nothing here asks Prometheus anything.
    return FleetSession("http://127.0.0.1:9", config=load_config(None, env={}))


def test_the_console_never_probes_its_session() -> None:
    """No getattr/hasattr on anything session-like in the app or the screens."""
    found = []
    for path in CONSOLE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and "session" in ast.unparse(node.args[0])
            ):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_both_sessions_say_what_they_offer(tmp_path: Path) -> None:
    local: Session = CoreSession(tmp_path)
    fleet: Session = _fleet()
    try:
        assert local.capabilities == ALL_CAPABILITIES
        assert local.data_dir == tmp_path.absolute() and local.label == str(tmp_path.absolute())
        assert fleet.capabilities == {"acknowledge", "set_budget", "agent_detail", "pause"}
        assert fleet.data_dir is None and fleet.label == "Prometheus at http://127.0.0.1:9"
        assert fleet.cannot_edit_budget("sales") is not None  # no figures yet
        assert local.cannot_edit_budget("sales") is None
    finally:
        local.close()
        fleet.close()


def test_fleet_mode_raises_the_one_neutral_error_for_what_it_cannot_do() -> None:
    fleet = _fleet()
    try:
        for call in (
            lambda: fleet.costs(None),
            lambda: fleet.unacknowledge("a1"),
            lambda: fleet.snooze("a1", 60.0),
            lambda: fleet.silence("fp", 60.0),
        ):
            with pytest.raises(NotAvailableHere, match="data directory"):
                call()
        with pytest.raises(NotAvailableHere, match="no host known"):
            fleet.acknowledge("a1")
        assert issubclass(FleetActionError, NotAvailableHere)
        # Agent detail comes from the last snapshot's row (none yet: not found).
        assert not fleet.agent_detail("triage", "24h").found
    finally:
        fleet.close()


def test_fleet_mode_never_stats_the_label_as_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The size check is for data files; fleet mode has none (it used to stat
    'Prometheus at …/metrics/…' relative to the working directory every tick)."""
    fleet = _fleet()
    stats: list[Any] = []
    real_stat = os.stat

    def spy(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        stats.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr("werkpilot_tui.console.live.os.stat", spy)
    feed = LiveFeed(fleet, lambda _d: None)
    try:
        feed.check_sizes()
        feed.check_sizes()
        assert stats == []
    finally:
        feed.executor.shutdown(wait=False)
        fleet.close()


def test_local_mode_stats_its_data_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counterpart: a local session's size check does look at today's files."""
    local = CoreSession(tmp_path)
    stats: list[Any] = []
    real_stat = os.stat

    def spy(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        stats.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr("werkpilot_tui.console.live.os.stat", spy)
    feed = LiveFeed(local, lambda _d: None)
    try:
        feed.check_sizes()
        assert stats and all(Path(p).is_relative_to(tmp_path.absolute()) for p in stats)
    finally:
        feed.executor.shutdown(wait=False)
        local.close()
