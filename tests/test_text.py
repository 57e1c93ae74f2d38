"""``core.text.printable``: the one escaping of control characters for terminals and logs."""

from __future__ import annotations

import unicodedata

from core.text import printable


def test_every_control_character_and_only_those_is_escaped() -> None:
    for code in range(0x250):
        c = chr(code)
        if unicodedata.category(c) == "Cc":
            assert printable(c) == c.encode("unicode_escape").decode()
        else:
            assert printable(c) == c
    assert printable("Mailer \x1b[31mdown\n") == "Mailer \\x1b[31mdown\\n"
