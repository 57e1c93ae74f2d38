"""Text from data made safe for a terminal line or a log: control characters as escapes.

Agent names, alert messages and request lines come from other processes and the network;
written raw they could move the cursor or recolour a terminal. (The console shows them as
visible symbols instead, see ``werkpilot_tui.console.widgets.text.neutralise``.)
"""

from __future__ import annotations

import re

__all__ = ["printable"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``, ``\\n``)."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode(), text)
