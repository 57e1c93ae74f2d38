"""Read-only peeks into the data directory with the standard library only (the status line's
door).

``werkpilot-tui status`` answers a shell prompt or a tmux status bar within 100 ms of process
start; importing core/journal/store.py (pydantic models, type adapters) takes longer than that
by itself. This module reads the same files the journal writes (documents such as checkpoints,
and the kinds' day files) without pydantic. It never writes, never follows a link, and fails
soft: what it cannot read is absent. The layout (``KINDS``, the day-file name) is the
journal's; tests/test_status.py checks they agree.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from datetime import date
from pathlib import Path

#: kind -> (sub-directory, file-name prefix): core/journal/store.py's ``KINDS``.
KINDS: dict[str, tuple[str, str]] = {
    "executions": ("metrics", "executions"),
    "ledger": ("costs", "ledger"),
    "alerts": ("alerts", "alerts"),
    "audit": ("audit", "audit"),
}
_DAY_FILE = re.compile(r"^(?P<prefix>[a-z]+)-(?P<day>\d{4}-\d{2}-\d{2})\.jsonl$")
_MAX_DOCUMENT = 256 * 1024 * 1024  # a checkpoint past this is not worth a status line


def _read(path: Path, offset: int = 0, ino: int | None = None) -> bytes | None:
    """The bytes of a regular file from ``offset`` (from 0 when it is no longer the file
    ``ino`` names); None when it is absent, a link or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_DOCUMENT + offset:
            return None
        if ino is not None and (st.st_ino != ino or st.st_size < offset):
            offset = 0  # replaced or truncated since: all of it is new
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def is_directory(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def read_document(root: Path, relpath: str) -> bytes | None:
    """A document's bytes (a checkpoint, ``budgets.toml``); None when absent or unreadable."""
    return _read(root / relpath)


def read_file(path: Path) -> bytes | None:
    """A file outside the data directory (``werkpilot.toml``); None when absent."""
    return _read(path)


def day_files(root: Path, kind: str, since: date | None = None) -> list[tuple[date, Path]]:
    """The kind's regular day files from ``since`` on, oldest first."""
    sub, prefix = KINDS[kind]
    directory = root / sub
    found = []
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            m = _DAY_FILE.match(entry.name)
            if not m or m["prefix"] != prefix:
                continue
            try:
                day = date.fromisoformat(m["day"])
                regular = entry.is_file(follow_symlinks=False)
            except (ValueError, OSError):
                continue
            if regular and (since is None or day >= since):
                found.append((day, directory / entry.name))
    found.sort()
    return found


def read_from(path: Path, offset: int = 0, ino: int | None = None) -> bytes:
    """A day file's complete lines from ``offset`` (everything if it was replaced or cut
    since ``ino``/``offset`` were noted); a line still being written is left out."""
    data = _read(path, offset, ino)
    if not data:
        return b""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""


__all__ = ["KINDS", "day_files", "is_directory", "read_document", "read_file", "read_from"]
