"""Werkpilot core: the library agents use to record executions, costs and alerts.

Nothing here imports Textual. The components are created on first use and share one data
directory and configuration; ``configure`` points them elsewhere and resets them.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.alerts import AlertManager
    from core.ledger import CostTracker
    from core.monitor import PerformanceMonitor
    from core.tracking import Run

__all__ = [
    "configure",
    "get_alert_manager",
    "get_cost_tracker",
    "get_performance_monitor",
    "track",
]

_lock = threading.RLock()
_settings: dict[str, Any] = {"data_dir": None, "config": None}
_instances: dict[str, Any] = {}


def configure(
    data_dir: str | os.PathLike[str] | None = None,
    config: Any = None,
) -> None:
    """Use ``data_dir`` and ``config`` (a path to werkpilot.toml or a Config) from now on."""
    with _lock:
        for inst in _instances.values():
            close = getattr(inst, "close", None)
            if close is not None:
                close()
        _instances.clear()
        _settings["data_dir"] = data_dir
        _settings["config"] = config


def _settings_kwargs() -> dict[str, Any]:
    from core.config import load_config, resolve_data_dir

    if "config" not in _instances:
        _instances["config"] = load_config(_settings["config"])
    return {"data_dir": resolve_data_dir(_settings["data_dir"]), "config": _instances["config"]}


def get_alert_manager() -> AlertManager:
    with _lock:
        if "alerts" not in _instances:
            from core.alerts import AlertManager

            _instances["alerts"] = AlertManager(**_settings_kwargs())
        return _instances["alerts"]


def get_performance_monitor() -> PerformanceMonitor:
    with _lock:
        if "monitor" not in _instances:
            from core.monitor import PerformanceMonitor

            _instances["monitor"] = PerformanceMonitor(
                **_settings_kwargs(), alert_manager=get_alert_manager()
            )
        return _instances["monitor"]


def get_cost_tracker() -> CostTracker:
    with _lock:
        if "ledger" not in _instances:
            from core.ledger import CostTracker

            _instances["ledger"] = CostTracker(
                **_settings_kwargs(), alert_manager=get_alert_manager()
            )
        return _instances["ledger"]


def track(agent: str, **kwargs: Any) -> Run:
    """Measure one agent run (context manager or decorator); see ``core.tracking.track``."""
    from core.tracking import track as _track

    return _track(agent, **kwargs)
