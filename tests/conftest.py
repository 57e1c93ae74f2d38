"""Shared fixtures: a temporary data directory and a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's environment and working directory out of the tests."""
    for name in list(__import__("os").environ):
        if name.endswith("_BUDGET") or name in {
            "CEO_EMAIL",
            "ALERT_EMAIL_FROM",
            "WERKPILOT_CONFIG",
            "WERKPILOT_DATA_DIR",
            "WERKPILOT_WEBHOOK_URL",
            "WERKPILOT_SMTP_HOST",
            "WERKPILOT_SMTP_PORT",
            "WERKPILOT_SMTP_USER",
            "WERKPILOT_API_TOKEN",
        }:
            monkeypatch.delenv(name, raising=False)
    # The console's remembered settings and the user's theme folder stay out of ~/.config.
    monkeypatch.setenv("WERKPILOT_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("WERKPILOT_THEME_DIR", str(tmp_path / "user-themes"))
    monkeypatch.chdir(tmp_path)
