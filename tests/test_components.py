"""``core.open``: the one place the monitor, ledger and alert manager are put together."""

from __future__ import annotations

from pathlib import Path

import pytest

import core
from core.components import Core
from core.config import Config


def test_open_builds_three_components_on_one_journal_config_clock_and_alert_manager(
    tmp_path: Path,
) -> None:
    def clock() -> float:
        return 1_700_000_000.0

    config = Config()
    c = core.open(tmp_path, config, clock)
    try:
        assert isinstance(c, Core) and c.journal.root == tmp_path.absolute()
        for component in (c.monitor, c.tracker, c.alerts):
            assert component.journal is c.journal
            assert component.config is config and component.clock is clock
        assert c.monitor.alert_manager is c.alerts and c.tracker.alert_manager is c.alerts
    finally:
        c.close()


def test_a_lazy_core_builds_only_what_is_asked_for(tmp_path: Path) -> None:
    c = core.open(tmp_path, lazy=True)
    try:
        c.tracker.track_cost("a", "eng", model="claude-sonnet-4-5", input_tokens=10)
        assert c._monitor is None  # an agent recording costs never reads the executions
        assert c.tracker.alert_manager is c.alerts
    finally:
        c.close()


def test_a_bad_config_fails_before_anything_is_built(tmp_path: Path) -> None:
    bad = tmp_path / "werkpilot.toml"
    bad.write_text("[thresholds\n", encoding="utf-8")
    with pytest.raises(ValueError):
        core.open(tmp_path / "data", bad)
    assert not (tmp_path / "data").exists()


def test_the_process_wide_components_share_one_core(tmp_path: Path) -> None:
    core.configure(data_dir=tmp_path)
    try:
        monitor, tracker = core.get_performance_monitor(), core.get_cost_tracker()
        alerts = core.get_alert_manager()
        assert monitor.journal is tracker.journal is alerts.journal
        assert monitor.alert_manager is alerts and tracker.alert_manager is alerts
    finally:
        core.configure()
