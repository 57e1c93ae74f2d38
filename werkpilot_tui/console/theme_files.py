"""Where the built-in theme files live, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # werkpilot_tui/, beside console/


def builtin_theme_dir() -> Path:
    """The built-in ``themes/`` folder: the wheel's ``werkpilot_tui/_themes``, else the repo's."""
    installed = _PACKAGE / "_themes"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "themes"
