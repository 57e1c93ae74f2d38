"""The first frame, written before anything heavy is imported.

Importing Textual, pydantic and core takes most of a second on an idle machine and several on
a busy one; a terminal that stays blank that long looks hung. So the console's command writes
one plain frame at once (alternate screen, two lines of text) to the stream Textual will draw
on, and Textual's first frame (the start-up screen) replaces it. If the console stops before
Textual takes over (a config error), ``hide`` puts the terminal back first.

Deliberately imports only the standard library.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

_ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # alternate screen, hide the cursor, clear
_LEAVE = "\x1b[?25h\x1b[?1049l"
_up = False


def _stream() -> TextIO | None:
    stream = sys.__stderr__  # where Textual's Linux driver draws
    if stream is None or not stream.isatty() or os.environ.get("TERM", "dumb") == "dumb":
        return None
    return stream


def printable(text: str) -> str:
    """``text`` without control characters (a path could carry escape sequences)."""
    return "".join(c if c.isprintable() else "?" for c in text)


def show(what: str) -> bool:
    """Write the first frame saying ``what`` is being opened; False when not a terminal."""
    global _up
    stream = _stream()
    if stream is None or _up:
        return False
    try:
        stream.write(f"{_ENTER}\r\n  werkpilot · starting\r\n\r\n  {printable(what)}…")
        stream.flush()
    except OSError:
        return False
    _up = True
    return True


def taken_over() -> None:
    """Textual draws now (and restores the terminal on exit itself)."""
    global _up
    _up = False


def hide() -> None:
    """Leave the splash's alternate screen if Textual never took over."""
    global _up
    stream = _stream()
    if _up and stream is not None:
        try:
            stream.write(_LEAVE)
            stream.flush()
        except OSError:
            pass
    _up = False


def what_opens(data_dir: object, demo: bool, prometheus: str | None) -> str:
    """The splash's line for the console's arguments (no core import: no path resolution)."""
    if demo:
        return "Starting the demo fleet"
    if prometheus:
        return f"Asking Prometheus at {prometheus}"
    where = data_dir or os.environ.get("WERKPILOT_DATA_DIR") or "./data"
    return f"Opening {where}"
