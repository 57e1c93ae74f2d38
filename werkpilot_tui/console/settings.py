"""Choices the console remembers between runs (the theme), in a small TOML file.

The file is ``~/.config/werkpilot-tui/settings.toml`` (``$WERKPILOT_SETTINGS`` overrides it).
It is replaced atomically, and keys this version does not know are kept, so an older and a
newer console can share it. A missing or unreadable file means "nothing remembered".
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_SETTINGS_PATH = Path("~/.config/werkpilot-tui/settings.toml")


class Settings(BaseModel):
    """What is remembered; unknown keys from other versions are carried along untouched."""

    model_config = ConfigDict(extra="allow")

    theme: str | None = Field(None, min_length=1, max_length=64)


def settings_path(env: Mapping[str, str] | None = None) -> Path:
    """``$WERKPILOT_SETTINGS``, else ``~/.config/werkpilot-tui/settings.toml``."""
    env = os.environ if env is None else env
    return Path(env.get("WERKPILOT_SETTINGS") or DEFAULT_SETTINGS_PATH).expanduser()


def load_settings(path: Path | None = None) -> Settings:
    """The remembered settings; defaults when the file is missing, unreadable or invalid."""
    path = path or settings_path()
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return Settings.model_validate(raw)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError):
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically (temporary file in the same folder, then rename)."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = tomli_w.dumps(settings.model_dump(exclude_none=True))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def remember_theme(name: str, path: Path | None = None) -> None:
    """Remember ``name`` as the theme to start with next time; never fails the caller."""
    path = path or settings_path()
    settings = load_settings(path)
    with contextlib.suppress(OSError):
        save_settings(settings.model_copy(update={"theme": name}), path)
