"""The data directory: the only code that opens data files.

Append-only JSON Lines per kind and UTC day, written with one ``write`` on an ``O_APPEND``
descriptor so many processes append without a lock; tailing readers that consume only
complete lines; atomic replacement of documents; advisory locks for read-modify-write
decisions; retention.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import mmap
import os
import re
import secrets
import stat
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

from core.clock import MS_PER_DAY, day_of_ms
from core.serial import owned_lock

Kind = Literal["executions", "ledger", "alerts", "audit"]

#: kind -> (sub-directory, file-name prefix)
KINDS: dict[str, tuple[str, str]] = {
    "executions": ("metrics", "executions"),
    "ledger": ("costs", "ledger"),
    "alerts": ("alerts", "alerts"),
    "audit": ("audit", "audit"),
}
#: Every record serialises with ``timestamp`` first; a reader looks for this to salvage a
#: record glued onto a torn line.
RECORD_START = b'{"timestamp":'
_DAY_FILE = re.compile(r"^(?P<prefix>[a-z]+)-(?P<day>\d{4}-\d{2}-\d{2})\.jsonl$")
#: ``.NAME.<random>.tmp``: a document being replaced (see ``Journal.write_document``).
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]+\.tmp")
_MAX_OPEN = 16
_MAX_PROBLEMS = 1000
#: Most bytes one ``append_lines`` write carries (split only between lines): bounds the
#: copy and any short write, however large the batch.
MAX_WRITE = 1 << 20
#: Written alone by a writer that found its file ending mid-line, to learn whether the line
#: is torn (see ``_settle_tail``); a line may therefore start with spaces (JSON whitespace).
_PROBE = b" "
#: The appends' system calls and clock, bound once (``append_line`` runs per record).
_write, _lseek, _SEEK_CUR, _monotonic = os.write, os.lseek, os.SEEK_CUR, time.monotonic
_UNMAPPED: Any = object()  # a beacon not tried yet (None: tried, cannot be shared)
_CHUNK = 1 << 16  # small batches stay in the CPU cache: ~2x faster than 4 MiB
_DIR_MODE = 0o750  # less the umask, as every mode here: 0o700 under umask 077
_FILE_MODE = 0o644
_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MTIME_TICK_NS = 50_000_000  # coarser than any file system's timestamp granularity
#: Kinds whose every append is announced in a word shared through ``.locks/KIND.beacon``
#: (see ``Journal.beacon``): the guard asks "anything new in the ledger?" before every call.
BEACON_KINDS = frozenset({"ledger"})
#: Documents whose every ``write_document`` rewrites ``.locks/NAME.beacon`` with a fresh
#: random word (see ``Journal.document_beacon``): budgets are looked up on every
#: ``track_cost``, and a ``stat`` of the file costs ~2 µs on some hosts.
WATCHED_DOCUMENTS = frozenset({"budgets.toml"})
_BEACON = struct.Struct("<q")  # (UTC day number << 40) | end offset of the newest append
#: How long an unchanged beacon is believed without a ``fstat``: bounds the delay should a
#: word ever be read half-written.
_BEACON_TRUST_NS = 250_000_000

T = TypeVar("T")


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``data_dir`` if given, else ``$WERKPILOT_DATA_DIR``, else ``./data``."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get("WERKPILOT_DATA_DIR") or "data")


class DataDirError(ValueError):
    """The data directory cannot be used (not a directory, no permission)."""


class JournalWriteError(OSError):
    """A record could not be written whole (disk full, I/O error)."""


@dataclass(frozen=True)
class Problem:
    """A line a reader had to skip (``line`` 0: a whole entry of the data directory)."""

    path: Path
    line: int
    error: str

    def __str__(self) -> str:
        if not self.line:
            return f"{self.path}: {self.error}"
        return f"{self.path}:{self.line}: {self.error}"


@dataclass(slots=True)
class _Slot:
    """An open journal file of one kind and day."""

    path: Path
    fd: int
    next_check: float  # time.monotonic() of the next check that the file still exists
    torn: bool  # its last line may be incomplete: settle it before the next record


class ReaderOffset(BaseModel):
    """A reader's position in one day file, as a checkpoint stores it (see ``state``)."""

    model_config = ConfigDict(extra="forbid")
    offset: int
    lines: int
    ino: int


@dataclass
class _Tail:
    offset: int = 0
    lines: int = 0  # complete lines consumed so far (for line numbers in problems)
    ino: int = 0


class Journal:
    """One data directory: appends, tails, documents, locks, retention."""

    def __init__(self, data_dir: str | os.PathLike[str], *, recheck_s: float = 1.0) -> None:
        self.root = Path(data_dir).expanduser().absolute()
        if self.root.exists() and not self.root.is_dir():
            raise DataDirError(f"data directory {self.root} exists but is not a directory")
        # How often a cached descriptor is checked for its file having been deleted (pruned,
        # or the data directory cleared) so appends do not vanish into an unlinked inode.
        self.recheck_s = recheck_s
        self._slots: OrderedDict[tuple[str, int], _Slot] = OrderedDict()  # (kind, day number)
        # The components of one ``core.Core`` share this journal and may append from
        # different threads (an agent's monitor in one, its ledger in another).
        self._append_lock = owned_lock(self, "_append_lock", threading.Lock)
        self._problems: list[Problem] = []
        self._problem_keys: set[tuple[Path, int]] = set()
        self.problem_count = 0
        self._beacons: dict[str, mmap.mmap | None] = {}
        self._paths: dict[Path, Path] = {}  # see ``interned``
        self._doc_paths: dict[str | Path, str] = {}

    @classmethod
    def at(cls, data_dir: str | os.PathLike[str] | None = None) -> Journal:
        """The journal on ``data_dir``, else ``$WERKPILOT_DATA_DIR``, else ``./data``."""
        return cls(resolve_data_dir(data_dir))

    # ------------------------------------------------------------------ paths
    def dir_for(self, kind: str) -> Path:
        return self.root / KINDS[kind][0]

    def stale_offsets(
        self,
        kind: str,
        offsets: Mapping[str, ReaderOffset],
        gone_ok: Callable[[str], bool] = lambda name: False,
    ) -> str | None:
        """Why stored reader offsets no longer match the day files of ``kind``, or None.

        A covered file replaced (another inode) or shrunk means the aggregates built from it
        no longer match it. A vanished one does too, unless ``gone_ok(name)`` (pruned files
        whose records stay counted).
        """
        directory = self.dir_for(kind)
        for name, off in offsets.items():
            try:
                st = os.stat(directory / name)
            except FileNotFoundError:
                if gone_ok(name):
                    continue
                return f"{name} is gone"
            except OSError as exc:
                return f"{name} cannot be read: {exc.strerror}"
            if st.st_ino != off.ino:
                return f"{name} was replaced"
            if st.st_size < off.offset:
                return f"{name} shrank"
        return None

    def path_for(self, kind: str, day: date) -> Path:
        sub, prefix = KINDS[kind]
        return self.interned(self.root / sub / f"{prefix}-{day.isoformat()}.jsonl")

    def interned(self, path: Path) -> Path:
        """One ``Path`` object per day file: the appends hand their file to
        ``JournalReader.claim``, whose lookup of the same object skips ``Path.__eq__``."""
        found = self._paths.get(path)
        if found is None:
            if len(self._paths) >= 4096:
                self._paths.clear()
            found = self._paths[path] = path
        return found

    def ensure_dir(self, path: Path) -> None:
        os.close(self._open_dir(path))

    def _open_dir(self, path: Path) -> int:
        """A descriptor on a directory of the data directory, creating what is missing.

        The data directory itself may be a symbolic link; nothing inside it is followed, so
        a link planted there cannot send writes elsewhere (each step is opened relative to
        the last with ``O_NOFOLLOW``).
        """
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            parts = ("..",)
        if ".." in parts:
            raise ValueError(f"{path} is outside the data directory")
        try:
            os.makedirs(self.root, mode=_DIR_MODE, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileExistsError, NotADirectoryError):
            raise DataDirError(f"data directory {self.root} is not a directory") from None
        except PermissionError:
            raise DataDirError(f"no permission to create {self.root}") from None
        here = self.root
        try:
            for part in parts:
                here = here / part
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, _DIR_MODE, dir_fd=fd)
                try:
                    sub = os.open(part, _NOFOLLOW_DIR, dir_fd=fd)
                except NotADirectoryError:
                    raise DataDirError(_not_a_directory(here)) from None
                os.close(fd)
                fd = sub
        except PermissionError:
            os.close(fd)
            raise DataDirError(f"no permission to create {here}") from None
        except BaseException:
            os.close(fd)
            raise
        return fd

    # ---------------------------------------------------------------- appends
    def append(self, kind: str, record: Any) -> tuple[Path, int]:
        """Append one record (a ``core.records.Record``) to its UTC day's file.

        Returns the file and the offset just after the record; the caller can tell
        from it whether anyone else appended since it last read.
        """
        return self.append_line(kind, record.timestamp, record.to_json_line())

    def append_line(self, kind: str, timestamp_ms: int, line: bytes) -> tuple[Path, int]:
        """Append a pre-serialised line (ending in a newline) with a single write.

        Every agent's record comes through here (twice per ``core.track`` run): the usual
        case — the day's file open and checked lately, its last line whole — is written out
        inline, with the system calls bound once (``_write``, ``_lseek``)."""
        key = (kind, timestamp_ms // MS_PER_DAY)
        with self._append_lock:
            slot = self._slots.get(key)
            if slot is None or _monotonic() >= slot.next_check:
                slot = self._slot(key, slot)
            if slot.torn and self._settle_tail(slot):
                line = b"\n" + line
            try:
                written = _write(slot.fd, line)
            except OSError as exc:
                self._drop(key)
                raise JournalWriteError(
                    exc.errno, f"cannot append to {slot.path}: {exc.strerror}"
                ) from exc
            if written != len(line):
                # A short write (disk full) left a torn line: the next record starts afresh.
                slot.torn = True
                raise JournalWriteError(
                    f"short write to {slot.path}: {written} of {len(line)} bytes"
                )
            slot.torn = False
            end = _lseek(slot.fd, 0, _SEEK_CUR)
            if kind in BEACON_KINDS:
                beacon = self._beacons.get(kind, _UNMAPPED)
                if beacon is _UNMAPPED:
                    beacon = self._map(kind)
                if beacon is not None:
                    _BEACON.pack_into(beacon, 0, key[1] << 40 | end)
            return slot.path, end

    def beacon(self, kind: str) -> int | None:
        """The word every process's append of ``kind`` (one of ``BEACON_KINDS``) rewrites
        after its write: unchanged since a reader last caught up means nothing new, learnt
        without a system call (a ``stat`` costs ~2 µs on some hosts). None when it cannot be
        shared (a read-only data directory): ask the files instead.

        Safe without a lock: a writer stores the end of its own append after writing it, so
        a value a reader saw before catching up differs from any later writer's (a larger
        offset, or another day)."""
        beacon = self._mapped(kind)
        return None if beacon is None else _BEACON.unpack_from(beacon, 0)[0]

    def _mapped(self, name: str) -> mmap.mmap | None:
        """The beacon word of ``name`` mapped (once per journal), or None if it cannot be."""
        if name in self._beacons:
            return self._beacons[name]
        return self._map(name)

    def _map(self, kind: str) -> mmap.mmap | None:
        found: mmap.mmap | None = None
        path = self.root / ".locks" / f"{kind}.beacon"
        try:
            dir_fd = self._open_dir(path.parent)
            try:
                flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
                fd = os.open(path.name, flags, _FILE_MODE, dir_fd=dir_fd)
            finally:
                os.close(dir_fd)
            try:
                if os.fstat(fd).st_size < _BEACON.size:  # both may grow it: same size
                    os.ftruncate(fd, _BEACON.size)
                found = mmap.mmap(fd, _BEACON.size)
            finally:
                os.close(fd)
        except (OSError, ValueError, DataDirError):
            found = None
        self._beacons[kind] = found
        return found

    def append_lines(self, kind: str, timestamp_ms: int, lines: list[bytes]) -> tuple[Path, int]:
        """Append whole lines of one UTC day (each ending in a newline) in as few writes as
        possible: one ``O_APPEND`` write per up to ``MAX_WRITE`` bytes, cut only between
        lines, so concurrent appenders never tear or interleave a line.

        Returns the file and the offset just after the last line; when nobody else appended
        in between, that is the offset before them plus their total length. A failed or short
        write raises JournalWriteError: the lines of earlier writes are in the file (a reader
        folds them), nothing of the failed write counts.
        """
        if not lines:
            raise ValueError("append_lines needs at least one line")
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if size and size + len(line) > MAX_WRITE:
                self.append_line(kind, timestamp_ms, b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        return self.append_line(kind, timestamp_ms, b"".join(chunk))

    def _settle_tail(self, slot: _Slot) -> bool:
        """Whether the file ends in a torn line, so the next record must start a fresh one.

        The file seemed to end mid-line, but another process's ``write`` of a line may have
        been under way (its size grows page by page while it is copied in). A probe byte
        appended alone lands after every write begun before it (``O_APPEND`` writes are
        serialised, the premise that keeps lines from interleaving): if the bytes before it
        do not end a line, no write will end that line any more.
        """
        try:
            os.write(slot.fd, _PROBE)
        except OSError as exc:
            raise JournalWriteError(
                exc.errno, f"cannot append to {slot.path}: {exc.strerror}"
            ) from exc
        return _ends_mid_line(slot.fd, os.lseek(slot.fd, 0, os.SEEK_CUR) - len(_PROBE))

    def _slot(self, key: tuple[str, int], slot: _Slot | None) -> _Slot:
        """The open file for (kind, day): ``slot`` if its file still exists, else a new one."""
        now = time.monotonic()
        if slot is not None:
            slot.next_check = now + self.recheck_s
            try:
                linked = os.fstat(slot.fd).st_nlink > 0
            except OSError:
                linked = False
            if linked:
                return slot
            self._drop(key)  # deleted (pruned, directory cleared): appends go to a new file
        kind, day_number = key
        path = self.path_for(kind, day_of_ms(day_number * MS_PER_DAY))
        fd, torn = self._open(path)
        slot = self._slots[key] = _Slot(path, fd, now + self.recheck_s, torn)
        while len(self._slots) > _MAX_OPEN:
            self._drop(next(iter(self._slots)))
        return slot

    def _open(self, path: Path) -> tuple[int, bool]:
        """An O_APPEND descriptor on ``path``, and whether its last line is torn."""
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        dir_fd = self._open_dir(path.parent)
        try:
            fd = os.open(path.name, flags, _FILE_MODE, dir_fd=dir_fd)
        except PermissionError:
            raise DataDirError(f"no permission to write {path}") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DataDirError(f"{path} is a symbolic link: not followed") from None
            if exc.errno == errno.EISDIR:
                raise DataDirError(f"{path} is a directory, not a day file") from None
            raise
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise DataDirError(f"{path} is not a regular file")
        return fd, _may_end_mid_line(fd)

    def _drop(self, key: tuple[str, int]) -> None:
        slot = self._slots.pop(key, None)
        if slot is not None:
            with contextlib.suppress(OSError):
                os.close(slot.fd)

    def _close(self, path: Path) -> None:
        with self._append_lock:
            for key in [k for k, slot in self._slots.items() if slot.path == path]:
                self._drop(key)

    def close(self) -> None:
        with self._append_lock:
            for key in list(self._slots):
                self._drop(key)
            beacons, self._beacons = self._beacons, {}
            for beacon in beacons.values():
                if beacon is not None:
                    beacon.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ---------------------------------------------------------------- reading
    def day_files(self, kind: str, since: date | None = None) -> list[tuple[date, Path]]:
        """The kind's day files, oldest first."""
        directory = self.dir_for(kind)
        prefix = KINDS[kind][1]
        found: list[tuple[date, Path]] = []
        names = self._scan(directory)
        if names is None:
            raise DataDirError(f"{directory} exists but is not a directory")
        for name in names:
            m = _DAY_FILE.match(name)
            if not m or m["prefix"] != prefix:
                continue
            try:
                day = date.fromisoformat(m["day"])
            except ValueError:
                continue
            if since is not None and day < since:
                continue
            if names[name]:
                found.append((day, self.interned(directory / name)))
            else:
                self._skip(directory / name, "day file")
        found.sort()
        return found

    def identity(self, path: Path) -> tuple[int, int] | None:
        """A data file's (size, inode), or None if it is gone or cannot be looked at."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_ino

    @contextlib.contextmanager
    def open_for_scan(self, path: Path) -> Iterator[tuple[int, int, int] | None]:
        """A read-only descriptor on a data file with its size and inode (None: gone).

        For planners that ``pread`` a file without consuming it (the parallel rebuild).
        """
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            yield None
            return
        try:
            st = os.fstat(fd)
            yield fd, st.st_size, st.st_ino
        finally:
            os.close(fd)

    def _scan(self, directory: Path, *, follow: bool = False) -> dict[str, bool] | None:
        """Entry names of a directory of the data directory, each with whether it is a
        regular file (the only kind read: see ``_skip``).

        An absent directory is empty; a link to one is reported and not followed; None: it
        is not a directory at all. ``follow``: the data directory itself, which may be a link.
        """
        try:
            fd = os.open(directory, _NOFOLLOW_DIR & ~(os.O_NOFOLLOW if follow else 0))
        except FileNotFoundError:
            return {}
        except NotADirectoryError:
            if not os.path.islink(directory):
                return None
            self.report(Problem(directory, 0, "a symbolic link: not followed"))
            return {}
        except PermissionError:
            raise DataDirError(f"no permission to read {directory}") from None
        try:
            with os.scandir(fd) as entries:
                return {e.name: e.is_file(follow_symlinks=False) for e in entries}
        finally:
            os.close(fd)

    def _skip(self, path: Path, what: str, error: OSError | None = None) -> None:
        """Report an entry named like a ``what`` that is not a regular file (or, with
        ``error``, cannot be opened)."""
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return  # gone meanwhile
        if stat.S_ISREG(mode):
            if error is not None:
                self.report(Problem(path, 0, f"cannot be read ({error.strerror}): skipped"))
            return
        kind = (
            "a directory" if stat.S_ISDIR(mode)
            else "a symbolic link" if stat.S_ISLNK(mode)
            else "not a regular file"
        )  # fmt: skip
        self.report(Problem(path, 0, f"{kind}, not a {what}: skipped"))

    def reader(
        self,
        kind: str,
        parse: Callable[[bytes], T],
        since: date | None = None,
        *,
        parse_lines: Callable[[list[bytes]], list[T]] | None = None,
    ) -> JournalReader[T]:
        """A reader of one kind; ``parse_lines`` checks a chunk's lines at once (see
        :class:`JournalReader`)."""
        return JournalReader(self, kind, parse, since, parse_lines=parse_lines)

    def report(self, problem: Problem) -> None:
        """Record a skipped line once, however many readers meet it."""
        key = (problem.path, problem.line)
        if key in self._problem_keys:
            return
        self._problem_keys.add(key)
        self.problem_count += 1
        self._problems.append(problem)
        if len(self._problems) > _MAX_PROBLEMS:
            del self._problems[: len(self._problems) - _MAX_PROBLEMS]

    @property
    def problems(self) -> list[Problem]:
        """The most recent skipped lines (file and line number), oldest first."""
        return list(self._problems)

    # -------------------------------------------------------------- documents
    def write_document(self, relpath: str | Path, content: bytes | str) -> Path:
        """Replace a document atomically: a reader sees the old or the new, never half.

        Written to ``.NAME.<random>.tmp`` beside it (mode 0o644 less the umask), then renamed
        over it; a temporary file a killed writer leaves is removed by :meth:`prune_temporary`.
        """
        path = self.root / relpath
        data = content.encode() if isinstance(content, str) else content
        dir_fd = self._open_dir(path.parent)
        token = secrets.token_hex(6)
        tmp = f".{path.name}.{token}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(tmp, flags, _FILE_MODE, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
            with contextlib.suppress(OSError):
                os.fsync(dir_fd)  # the rename itself survives a crash too
            name = os.fspath(relpath)
            if name in WATCHED_DOCUMENTS:  # after the rename: a reader that sees it sees it
                beacon = self._mapped(name)
                if beacon is not None:  # the random part of the temporary's name: fresh
                    _BEACON.pack_into(beacon, 0, int(token, 16))
        except IsADirectoryError:
            raise DataDirError(f"{path} is a directory, not a document") from None
        finally:
            os.close(dir_fd)
        return path

    def read_document(self, relpath: str | Path) -> bytes | None:
        """A document's bytes; None when absent (or not a regular file: reported)."""
        path = self.root / relpath
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            self._skip(path, "document")
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses directories
            os.close(fd)
            self._skip(path, "document")
            return None
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def document_mtime(self, relpath: str | Path) -> int | None:
        """Modification stamp (ns) of a document, to reload it only when it changed."""
        path = self._doc_paths.get(relpath)
        if path is None:  # joined once: budgets are looked up on every track_cost
            path = self._doc_paths[relpath] = os.fspath(self.root / relpath)
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st.st_mtime_ns ^ st.st_ino ^ st.st_size

    def document_beacon(self, relpath: str | Path) -> int | None:
        """A word every process's ``write_document`` of ``relpath`` (one of
        ``WATCHED_DOCUMENTS``) rewrites after its rename: unchanged since the last
        ``document_mtime`` means no such write since, learnt without a system call. None when
        it cannot be shared (a read-only data directory). A writer that bypasses the journal
        (a person editing the file) does not move it: readers still ``stat`` now and then."""
        name = os.fspath(relpath)
        if name in self._beacons:
            beacon = self._beacons[name]
        elif name not in WATCHED_DOCUMENTS or not self.root.is_dir():
            return None  # a reader does not create the data directory (it may never come)
        else:
            beacon = self._map(name)
        return None if beacon is None else _BEACON.unpack_from(beacon, 0)[0]

    def list_documents(self, subdir: str, pattern: str) -> list[Path]:
        """Documents in ``subdir`` whose name matches the regular expression, sorted."""
        rx = re.compile(pattern)
        directory = self.root / subdir
        found = []
        for name, regular in (self._scan(directory) or {}).items():
            if not rx.fullmatch(name):
                continue
            if regular:
                found.append(directory / name)
            else:
                self._skip(directory / name, "document")
        return sorted(found)

    def remove(self, path: Path) -> bool:
        if self.root not in path.parents:
            raise ValueError(f"{path} is outside the data directory")
        self._close(path)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    # ------------------------------------------------------------------ locks
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive advisory lock shared by every process on this data directory."""
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            raise ValueError(f"bad lock name {name!r}")
        path = self.root / ".locks" / f"{name}.lock"
        dir_fd = self._open_dir(path.parent)
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            fd = os.open(path.name, flags, _FILE_MODE, dir_fd=dir_fd)
        except OSError as exc:
            raise DataDirError(f"cannot open the lock {path}: {exc.strerror}") from None
        finally:
            os.close(dir_fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # -------------------------------------------------------------- retention
    def prune_days(self, kind: str, keep_days: int, today: date) -> list[Path]:
        """Remove day files of ``kind`` older than ``keep_days`` days before ``today``."""
        cutoff = today.toordinal() - keep_days
        removed = []
        for day, path in self.day_files(kind):
            if day.toordinal() < cutoff and self.remove(path):
                removed.append(path)
        return removed

    def prune_temporary(self, now: datetime, max_age_s: float) -> list[Path]:
        """Remove the temporary files of document replacements older than ``max_age_s``.

        A writer killed mid-replace leaves its ``.NAME.<random>.tmp`` behind; no reader
        looks at them, and no replacement takes anywhere near that long.
        """
        cutoff = now.timestamp() - max_age_s
        removed = []
        for directory in (self.root, *(self.dir_for(kind) for kind in KINDS)):
            names = self._scan(directory, follow=directory == self.root) or {}
            for name, regular in names.items():
                if not regular or not _TEMPORARY.fullmatch(name):
                    continue
                path = directory / name
                try:
                    if os.lstat(path).st_mtime > cutoff:
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue  # renamed into place or removed meanwhile
                removed.append(path)
        return removed

    def prune_documents(self, subdir: str, pattern: str, keep: int) -> list[Path]:
        """Keep the newest ``keep`` documents matching ``pattern`` (names sort by time)."""
        docs = self.list_documents(subdir, pattern)
        removed = []
        for path in docs[: max(0, len(docs) - keep)]:
            if self.remove(path):
                removed.append(path)
        return removed


@dataclass(frozen=True, slots=True)
class _Seen:
    """What a reader's last catch-up saw: its directory's (mtime, inode) and file sizes."""

    stamp: tuple[int, int] | None
    safe: bool  # the stamp is older than a timestamp tick, so it proves no file was created
    sizes: dict[Path, int]


@dataclass
class JournalReader(Generic[T]):
    """Tails every day file of one kind from remembered offsets.

    Only complete lines are consumed; a torn last line waits for its newline. A line that
    does not parse is skipped and reported (file and line); a record glued onto a torn
    line is salvaged. Files of new days are picked up as they appear.
    """

    journal: Journal
    kind: str
    parse: Callable[[bytes], T]
    since: date | None = None
    tails: dict[Path, _Tail] = field(default_factory=dict)
    #: Records of a chunk's complete lines, raising ValueError unless it vouches for every
    #: line; the chunk is then parsed line by line with ``parse``, which reports each bad
    #: one. Without it, a model's ``model_validate_json`` reads a chunk as one JSON array.
    parse_lines: Callable[[list[bytes]], list[T]] | None = field(default=None, repr=False)
    _parse_many: Callable[[bytes], list[T]] | None = field(default=None, init=False, repr=False)
    _seen: _Seen | None = field(default=None, init=False, repr=False)
    _watched: tuple[Path, int, _Tail | None] | None = field(default=None, init=False, repr=False)
    _beacon_seen: tuple[int, int] = field(default=(-1, 0), init=False, repr=False)

    def __post_init__(self) -> None:
        self._parse_many = _batch_parser(self.parse)

    def __del__(self) -> None:
        if self._watched is not None:
            with contextlib.suppress(OSError):
                os.close(self._watched[1])

    # ------------------------------------------------------------ anything new?
    def _stamps(self) -> tuple[tuple[int, int] | None, dict[Path, int]]:
        try:
            st = os.stat(self.journal.dir_for(self.kind))
        except FileNotFoundError:
            return None, {}
        sizes = {}
        for path in self.tails:
            try:
                sizes[path] = os.stat(path).st_size
            except FileNotFoundError:
                sizes[path] = -1
        return (st.st_mtime_ns, st.st_ino), sizes

    def changed(self) -> bool:
        """Whether anything may be new since the last ``catching_up`` (a few ``stat`` calls).

        The directory's mtime and inode tell of files created or removed; a followed file is
        unchanged at the size seen before that catch-up or at exactly what was consumed
        (``claim`` advances the offset over our own lines). True when in doubt.
        """
        seen = self._seen
        if seen is None:
            return True
        stamp, sizes = self._stamps()
        if stamp != seen.stamp or sizes.keys() != seen.sizes.keys():
            return True
        tails = self.tails
        for path, size in sizes.items():
            if size != seen.sizes[path] and size != tails[path].offset:
                return True
        # A file created in the same timestamp tick as the last stamp may not have moved
        # the directory's mtime: such a stamp proves nothing.
        return not seen.safe

    @contextlib.contextmanager
    def catching_up(self) -> Iterator[None]:
        """Wrap a read of everything new: ``changed`` compares against what it saw."""
        taken = time.time_ns()
        stamp, sizes = self._stamps()  # before reading: a later append shows as a change
        yield
        safe = stamp is None or taken - stamp[0] >= _MTIME_TICK_NS
        grown = {p: sizes.get(p, t.offset) for p, t in self.tails.items()}
        self._seen = _Seen(stamp, safe, grown)

    def unread(self, path: Path) -> bool:
        """Whether ``path`` holds bytes past what was consumed of it (or is not followed)."""
        tail = self.tails.get(path)
        if tail is None:
            return True
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return False
        return st.st_size != tail.offset or st.st_ino != tail.ino

    def appended(self, path: Path) -> bool:
        """``unread`` for the one file a caller asks about before every call (the guard: the
        ledger of today), by ``fstat`` of a descriptor kept open on it, half the cost of a
        ``stat`` of the path. Another ``path`` moves the descriptor; a file replaced under
        the same name (never a current day file) is seen once the caller polls another."""
        beacon = self.journal.beacon(self.kind) if self.kind in BEACON_KINDS else None
        if beacon is not None:
            now = time.monotonic_ns()
            seen, until = self._beacon_seen
            if beacon == seen and now < until:
                return False  # no process appended since we last looked
            self._beacon_seen = (beacon, now + _BEACON_TRUST_NS)
        watched = self._watched
        if watched is None or (watched[0] is not path and watched[0] != path):
            if watched is not None:
                self._watched = None
                os.close(watched[1])
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:  # not there yet (or not a file): the plain check
                return self.unread(path)
            watched = self._watched = (path, fd, self.tails.get(path))
        tail = watched[2]  # a followed file keeps its tail object (moved in place)
        if tail is None:
            tail = self.tails.get(path)
            if tail is None:  # not followed yet: its reader must read it
                return True
            self._watched = (path, watched[1], tail)
        return os.fstat(watched[1]).st_size != tail.offset

    def poll(self) -> list[T]:
        """Every record appended since the last poll."""
        out: list[T] = []
        for batch in self.poll_batches():
            out.extend(batch)
        return out

    def files(self) -> list[Path]:
        """The day files to read, oldest first; offsets of files gone since are forgotten."""
        found = [p for _, p in self.journal.day_files(self.kind, self.since)]
        present = set(found)
        for gone in [p for p in self.tails if p not in present]:
            del self.tails[gone]  # pruned
            if self._watched is not None and self._watched[0] == gone:
                self._watched = (*self._watched[:2], None)
        return found

    def poll_batches(self, chunk_bytes: int = _CHUNK) -> Iterator[list[T]]:
        """New records in batches of about ``chunk_bytes``, to bound memory on a cold start."""
        for path in self.files():
            yield from self._read_file(path, chunk_bytes)

    def claim(self, path: Path, end: int, size: int, count: int = 1) -> bool:
        """Count our own appended line(s) as read, if nobody appended before or among them
        since we read ``path``.

        ``path`` and ``end`` are what ``Journal.append_line``/``append_lines`` returned for
        ``count`` lines of ``size`` bytes in all. True: the tail moved past them, so the caller
        folds in its own records without reading them back. False: others wrote in between
        (or the file is not followed yet), and the caller must poll.
        """
        tail = self.tails.get(path)
        if tail is None or tail.offset != end - size:
            return False
        tail.offset, tail.lines = end, tail.lines + count
        return True

    def poll_file(self, path: Path) -> list[T]:
        """New records of one day file only: a cheap catch-up on the file being written."""
        out: list[T] = []
        for batch in self._read_file(path, _CHUNK):
            out.extend(batch)
        return out

    def _read_file(self, path: Path, chunk_bytes: int) -> Iterator[list[T]]:
        tail = self.tails.get(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return
        except OSError as exc:  # a link, or not readable: say so once and read on elsewhere
            self.journal._skip(path, "day file", exc)
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                self.journal._skip(path, "day file")
                return
            if tail is None:
                tail = self.tails[path] = _Tail(ino=st.st_ino)
            elif tail.ino != st.st_ino or st.st_size < tail.offset:
                tail.offset, tail.lines, tail.ino = 0, 0, st.st_ino  # replaced: start over
            while st.st_size > tail.offset:
                data = os.pread(fd, min(chunk_bytes, st.st_size - tail.offset), tail.offset)
                end = data.rfind(b"\n") + 1
                if end == 0:
                    data, end = _read_to_newline(fd, data, tail.offset, st.st_size)
                    if end == 0:
                        break  # only a torn or still-being-written line: wait for its end
                batch = self._parse_lines(path, data[:end], tail)
                tail.offset += end
                yield batch
        finally:
            os.close(fd)

    def _parse_lines(self, path: Path, data: bytes, tail: _Tail) -> list[T]:
        """Records of ``data`` (complete lines only), reporting each bad line."""
        if self.parse_lines is not None:
            lines = data.split(b"\n")
            lines.pop()  # after the last newline: empty
            try:
                out = self.parse_lines(lines if all(lines) else [x for x in lines if x])
            except _PARSE_ERRORS:
                pass
            else:
                tail.lines += len(lines)
                return out
        elif self._parse_many is not None:
            # Fast path: the batch as one JSON array, one call into pydantic-core. A bad or
            # empty line breaks the array; then go line by line. The count check rules out
            # a line holding two records joined by a comma.
            count = data.count(b"\n")
            try:
                out = self._parse_many(b"[" + data[:-1].replace(b"\n", b",") + b"]")
            except _PARSE_ERRORS:
                pass
            else:
                if len(out) == count:
                    tail.lines += count
                    return out
        lines = data.split(b"\n")
        lines.pop()  # after the last newline: empty
        return self._each_line(path, lines, tail)

    def _each_line(self, path: Path, lines: list[bytes], tail: _Tail) -> list[T]:
        """The slow path: each line parsed alone, each bad one reported (file and line)."""
        first = tail.lines
        parse = self.parse
        out = []
        for i, line in enumerate(lines):
            if not line:
                continue
            try:
                out.append(parse(line))
            except _PARSE_ERRORS as exc:
                self._salvage(path, first + i + 1, line, exc, out)
        tail.lines = first + len(lines)
        return out

    def _salvage(self, path: Path, lineno: int, line: bytes, exc: Exception, out: list[T]) -> None:
        # The glued record is the first record start after the torn head that parses to
        # the end of the line; later starts may sit inside its own ``data``.
        start = line.find(RECORD_START, 1)
        while start > 0:
            try:
                record = self.parse(line[start:])
            except _PARSE_ERRORS:
                start = line.find(RECORD_START, start + 1)
                continue
            out.append(record)
            self.journal.report(Problem(path, lineno, "torn record before a valid one"))
            return
        self.journal.report(Problem(path, lineno, _short_error(exc)))

    def claim_lines(self, path: Path, end: int, size: int, count: int) -> bool:
        """``claim`` for a batch of ``count`` lines (``Journal.append_lines``)."""
        return self.claim(path, end, size, count)

    def state(self) -> dict[str, Any]:
        """Offsets to store in a checkpoint (keyed by file name)."""
        return {
            p.name: {"offset": t.offset, "lines": t.lines, "ino": t.ino}
            for p, t in self.tails.items()
        }

    def restore(self, state: dict[str, Any]) -> None:
        directory = self.journal.dir_for(self.kind)
        if self._watched is not None:  # ``appended`` holds a tail: look it up again
            self._watched = (*self._watched[:2], None)
        for name, t in state.items():
            if _DAY_FILE.match(name):
                self.tails[self.journal.interned(directory / name)] = _Tail(
                    int(t["offset"]), int(t["lines"]), int(t["ino"])
                )


#: What a parser may raise on a line that is not a valid record (bytes from disk are untrusted).
_PARSE_ERRORS = (ValueError, TypeError, RecursionError)


@functools.cache
def day_stamp(root: Path, day: date) -> tuple[tuple[int, int] | None, ...]:
    """(size, mtime) of each kind's file of ``day`` under ``root`` and of ``budgets.toml``
    (None: absent): a cheap check for writes a file-system watcher missed."""
    paths = [root / sub / f"{prefix}-{day.isoformat()}.jsonl" for sub, prefix in KINDS.values()]
    out: list[tuple[int, int] | None] = []
    for path in [*paths, root / "budgets.toml"]:
        try:
            st = os.stat(path)
        except OSError:
            out.append(None)
        else:
            out.append((st.st_size, st.st_mtime_ns))
    return tuple(out)


def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _batch_parser(parse: Callable[[bytes], Any]) -> Callable[[bytes], list[Any]] | None:
    """A parser of a JSON array of records when ``parse`` is a model's ``model_validate_json``."""
    model = getattr(parse, "__self__", None)
    if (
        getattr(parse, "__name__", None) == "model_validate_json"
        and isinstance(model, type)
        and issubclass(model, BaseModel)
    ):
        return _list_adapter(model).validate_json
    return None


def _may_end_mid_line(fd: int) -> bool:
    """Whether the file seems to end mid-line (torn by a crash, or a write under way)."""
    end = os.lseek(fd, 0, os.SEEK_END)
    return bool(end) and os.pread(fd, 1, end - 1) != b"\n"


def _ends_mid_line(fd: int, end: int) -> bool:
    """Whether the bytes before ``end`` end inside a line that holds more than probes."""
    while end > 0:
        start = max(0, end - 512)
        data = os.pread(fd, end - start, start)
        if len(data) != end - start:
            return False  # truncated under us: nothing left to tear
        head = data.rstrip(_PROBE)
        if head:
            return not head.endswith(b"\n")
        end = start
    return False


def _not_a_directory(path: Path) -> str:
    if os.path.islink(path):
        return f"{path} is a symbolic link: not followed inside the data directory"
    return f"{path} exists but is not a directory"


def _read_to_newline(fd: int, data: bytes, offset: int, size: int) -> tuple[bytes, int]:
    """Extend ``data`` (read at ``offset``, holding no newline) up to the end of its line.

    Returns the bytes and the end of the first complete line in them (0: the line is not
    complete yet). Reads double in size, so a long line costs linear time.
    """
    parts = [data]
    have = len(data)
    while offset + have < size:
        more = os.pread(fd, min(max(have, 1 << 16), size - offset - have), offset + have)
        if not more:
            break
        parts.append(more)
        nl = more.find(b"\n")
        if nl >= 0:
            return b"".join(parts), have + nl + 1
        have += len(more)
    return b"".join(parts), 0


def _short_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first['msg']}" if loc else first["msg"]
    text = str(exc).splitlines()
    return text[0] if text else type(exc).__name__


__all__ = [
    "KINDS",
    "DataDirError",
    "Journal",
    "JournalReader",
    "JournalWriteError",
    "Problem",
]
