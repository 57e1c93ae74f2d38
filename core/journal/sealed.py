"""Sealed checkpoints: a format version and a checksum over the exact payload bytes.

Every checkpoint (monitor, ledger, alerts, exposition) is a cache of what its journal already
says, so a checkpoint is used only when it verifies *and* decodes; anything else (another
kind or version, an older file without a checksum, a flipped bit, a structurally invalid
payload that happens to verify) is discarded once — logged and removed, so the next process
neither trips over it nor logs it again — and the caller rebuilds from the journal, the only
source of truth. A checkpoint that merely no longer matches its files (stale offsets) is not
damaged: ``decode`` returns None and it is left for the next save to replace.

Format: one ASCII line ``werkpilot-checkpoint KIND VERSION sha256:HEX`` then the payload;
the SHA-256 covers ``KIND VERSION\\n`` and the payload, so a checkpoint cannot pass for
another kind or version.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

# The status line runs on every shell prompt and imports this: the built-in SHA-256 (the
# same digest) spares it loading OpenSSL, and logging is imported only to say something.
try:
    from _sha256 import sha256
except ImportError:  # another build of Python
    from hashlib import sha256

if TYPE_CHECKING:  # annotations only: ``unseal`` is usable without the journal's pydantic
    from logging import Logger

    from core.journal.store import Journal


def _log() -> Logger:
    import logging

    return logging.getLogger("core.checkpoint")


T = TypeVar("T")

PREFIX = b"werkpilot-checkpoint "
_HEADER = re.compile(rb"werkpilot-checkpoint ([a-z]+) (\d{1,6}) sha256:([0-9a-f]{64})\n")
_MAX_HEADER = 128
#: What a decoder may raise on content it cannot use (pydantic's ValidationError and
#: UnicodeDecodeError are ValueErrors); anything else is a bug and propagates.
UNUSABLE = (ValueError, TypeError, LookupError, ArithmeticError)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: rebuild from the journal."""


def _digest(kind: str, version: int, payload: bytes | memoryview) -> str:
    h = sha256(f"{kind} {version}\n".encode())
    h.update(payload)
    return h.hexdigest()


def seal(kind: str, version: int, payload: bytes) -> bytes:
    """The checkpoint file's bytes: header line with version and checksum, then ``payload``."""
    header = f"werkpilot-checkpoint {kind} {version} sha256:{_digest(kind, version, payload)}\n"
    return header.encode() + payload


def unseal(blob: bytes, kind: str, version: int) -> memoryview:
    """The payload of a verified checkpoint of ``kind`` and ``version``; else CheckpointError."""
    if not blob.startswith(PREFIX):
        raise CheckpointError("an older format without a checksum")
    end = blob.find(b"\n", 0, _MAX_HEADER)
    m = _HEADER.fullmatch(blob, 0, end + 1) if end >= 0 else None
    if m is None:
        raise CheckpointError("a damaged header")
    if m[1].decode() != kind or int(m[2]) != version:
        raise CheckpointError(f"a {m[1].decode()} checkpoint of version {int(m[2])}")
    payload = memoryview(blob)[end + 1 :]
    if _digest(kind, version, payload) != m[3].decode():
        raise CheckpointError("checksum mismatch")
    return payload


def save(journal: Journal, relpath: str, kind: str, version: int, payload: bytes) -> None:
    """Replace the checkpoint atomically (OSError from the journal propagates)."""
    journal.write_document(relpath, seal(kind, version, payload))


_failing: set[str] = set()  # checkpoints whose last write failed (logged once until one works)


def try_save(journal: Journal, relpath: str, kind: str, version: int, payload: bytes) -> bool:
    """``save``, but a write error (read-only directory, disk full, a directory in the way) is
    logged once per checkpoint and process, not raised: the journal alone suffices. Safe to
    call from a background thread."""
    path = str(journal.root / relpath)
    try:
        save(journal, relpath, kind, version, payload)
    except (OSError, ValueError) as exc:
        if path not in _failing:
            _failing.add(path)
            _log().warning("cannot write checkpoint %s: %s (the journal suffices)", path, exc)
        return False
    _failing.discard(path)
    return True


def load(
    journal: Journal,
    relpath: str,
    kind: str,
    version: int,
    decode: Callable[[memoryview], T | None],
) -> T | None:
    """``decode(payload)`` of a verified checkpoint; None when there is none or it is unusable.

    ``decode`` builds fresh objects only (no side effects until it returns), raises one of
    ``UNUSABLE`` on content it cannot use, and returns None for a stale checkpoint.
    """
    stamp = journal.document_mtime(relpath)
    blob = journal.read_document(relpath)
    if blob is None:
        return None
    try:
        return decode(unseal(blob, kind, version))
    except RecursionError as exc:
        reason = f"too deeply nested ({exc})"
    except UNUSABLE as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    discard(journal, relpath, stamp, reason)
    return None


def discard(journal: Journal, relpath: str, stamp: int | None, reason: str) -> None:
    """Log once and remove the unusable checkpoint, unless another process replaced it."""
    _log().warning(
        "discarding %s (%s); rebuilding from the journal", journal.root / relpath, reason[:200]
    )
    if stamp is not None and journal.document_mtime(relpath) == stamp:
        with contextlib.suppress(OSError):
            journal.remove(journal.root / relpath)


__all__ = [
    "UNUSABLE",
    "CheckpointError",
    "discard",
    "load",
    "save",
    "seal",
    "try_save",
    "unseal",
]
