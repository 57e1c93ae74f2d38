"""Safe text: data from the journal is shown literally, never as markup or escape codes."""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.style import Style
from rich.text import Text

#: Visible stand-ins for control characters (Unicode category Cc).
_ESC = "\N{SYMBOL FOR ESCAPE}"  # ␛
_DEL = "\N{SYMBOL FOR DELETE}"  # ␡
_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"  # �
_HIDDEN = frozenset({"Cf", "Zl", "Zp", "Cs"})
_TABLE: dict[int, str] = {}
for _code in range(0x20):
    _TABLE[_code] = chr(0x2400 + _code)  # U+2400 "control pictures": ␀ ␁ … ␟
_TABLE[0x1B] = _ESC
_TABLE[0x7F] = _DEL
for _code in range(0x80, 0xA0):
    _TABLE[_code] = _REPLACEMENT


def neutralise(value: object) -> str:
    """The text of ``value`` with every control character replaced by a visible symbol."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    out = text.translate(_TABLE)
    # Bidi overrides (Cf) and line/paragraph separators could reorder or break a row too.
    return "".join(
        _REPLACEMENT if not c.isprintable() and unicodedata.category(c) in _HIDDEN else c
        for c in out
    )


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis, so cells stay bounded."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def safe_text(value: object, style: Style | str = "", width: int | None = None) -> Text:
    """A rich Text showing ``value`` literally (no markup parsing, no control characters)."""
    text = neutralise(value)
    if width is not None:
        text = clip(text, width)
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


class TextCell(Text):
    """A table cell that also carries the raw value its column sorts by."""

    def __init__(self, text: str, style: Style | str = "", sort_value: Any = None) -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis")
        self.sort_value = sort_value


def cell(
    value: object, style: Style | str = "", sort_value: Any = None, width: int = 0
) -> TextCell:
    """A safe cell: ``value`` neutralised (and clipped to ``width`` when given)."""
    text = neutralise(value)
    if width:
        text = clip(text, width)
    return TextCell(text, style, text if sort_value is None else sort_value)
