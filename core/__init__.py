"""Werkpilot core: the library agents use to record executions, costs and alerts.

Nothing here imports Textual. ``open`` builds the components (a ``Core``) on one data
directory; the ``get_*`` functions share one process-wide ``Core``, created on first use,
which ``configure`` points elsewhere and resets.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.alerts.manager import AlertManager
    from core.clock import Clock
    from core.components import Core
    from core.config import Config
    from core.costs.ledger import CostTracker
    from core.monitor.performance import PerformanceMonitor
    from core.tracking import Run

__all__ = [
    "Core",
    "configure",
    "get_alert_manager",
    "get_cost_tracker",
    "get_performance_monitor",
    "open",
    "track",
]

_lock = threading.RLock()
_settings: dict[str, Any] = {"data_dir": None, "config": None}
_shared: list[Core] = []  # the process-wide Core, once created


def open(
    data_dir: str | os.PathLike[str] | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> Core:
    """The monitor, ledger and alert manager on ``data_dir``; see ``core.components.open``."""
    from core.components import open as _open

    return _open(data_dir, config, clock, **options)


def __getattr__(name: str) -> Any:
    if name == "Core":  # imported on demand: ``import core`` stays cheap for agents
        from core.components import Core

        return Core
    raise AttributeError(f"module 'core' has no attribute {name!r}")


def configure(
    data_dir: str | os.PathLike[str] | None = None,
    config: Any = None,
) -> None:
    """Use ``data_dir`` and ``config`` (a path to werkpilot.toml or a Config) from now on."""
    with _lock:
        while _shared:
            _shared.pop().close()
        _settings["data_dir"] = data_dir
        _settings["config"] = config


def _core() -> Core:
    with _lock:
        if not _shared:
            from core.components import open as open_core

            _shared.append(open_core(_settings["data_dir"], _settings["config"], lazy=True))
        return _shared[0]


def get_alert_manager() -> AlertManager:
    return _core().alerts


def get_performance_monitor() -> PerformanceMonitor:
    return _core().monitor


def get_cost_tracker() -> CostTracker:
    return _core().tracker


def track(agent: str, **kwargs: Any) -> Run:
    """Measure one agent run (context manager or decorator); see ``core.tracking.track``."""
    from core.tracking import track as _track

    return _track(agent, **kwargs)
