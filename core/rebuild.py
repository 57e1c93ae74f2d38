"""Reading the executions journal into the monitor's aggregates, on one core or on two.

Each day file is read in ``CHUNK``-sized chunks from where the reader stopped, and every
``GROUP`` chunks (and at the end of each file) the records are aggregated as one batch. That
grouping depends only on the bytes of the files, never on what was read before, so the work can
be cut at a group boundary. When a catch-up has much to read (a cold start on a week of history
without a checkpoint), :func:`catch_up` forks one worker process that reads and aggregates the
newer part into a partial (:class:`~core.windows.Part` series: values, no prefix sums) while
this process reads the older part straight into its own aggregates; then it appends the
worker's aggregates (:meth:`RollingWindows.absorb`), newest executions (:meth:`Newest.absorb`),
reader offsets and malformed lines (reported after its own, as a sequential read would).

The result is exactly a sequential rebuild's: the same batches are aggregated in the same
order, and absorbing a part is adding its batches one after the other (tests/
test_monitor_rebuild.py compares every figure, array and offset). Any failure of the worker
(crash, timeout, a file replaced meanwhile) discards its part and this process reads it itself.
A small catch-up never forks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import selectors
import signal
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.execution_reader import ExecutionReader
from core.journal import Problem
from core.recent import Newest
from core.windows import Batch, RollingWindows

CHUNK = 1 << 18  # ~800 lines parsed at a time: stays in the CPU cache
GROUP = 10  # chunks aggregated at a time (~8k records): per-agent work is per batch
#: Below this many unread bytes a rebuild stays in this process (a fork costs milliseconds).
PARALLEL_BYTES = 50_000_000
#: The older part's share of the bytes. Both read at the same rate; this process merges the
#: worker's part only once it has arrived, so an even split finishes first (measured: 0.48
#: left this process waiting ~0.1-0.3 s for the worker's larger part).
_SHARE = 0.50
_TAIL_PROBE = 4096  # bytes read at the end of a chunk to find where it is cut
_TIMEOUT_MIN_S = 10.0  # a worker slower than this and than 3x this process's part is given up


@dataclass(frozen=True, slots=True)
class Split:
    """Where a rebuild is cut: the worker reads ``files[first:]``, starting ``path`` at ``at``."""

    files: list[Path]
    first: int  # index of the worker's first file
    at: int  # offset in files[first] where the worker starts (0: the whole file)
    origin: int  # offset in files[first] where reading starts now (the reader's offset)
    origin_lines: int  # lines before ``origin``
    ino: int  # inode of files[first] when planned
    unread: int  # bytes to read in all


def _aggregate(windows: RollingWindows, recent: Newest, parts: list[Batch]) -> int:
    if not parts:
        return 0
    if len(parts) == 1:
        batch = parts[0]
    else:
        columns = []
        for name in Batch.__slots__:  # type: ignore[attr-defined]
            column: list[Any] = []
            for p in parts:
                column += getattr(p, name)  # list.extend from a list: a C copy, no iterator
            columns.append(column)
        batch = Batch(*columns)
    groups = windows.add_batch(batch)
    recent.add_groups(groups, batch.ts, batch.payload)
    return len(batch)


def ingest_files(
    reader: ExecutionReader,
    windows: RollingWindows,
    recent: Newest,
    files: list[Path],
    stop: tuple[Path, int] | None = None,
) -> int:
    """Read new lines of ``files`` in order into the aggregates; returns how many records.

    With ``stop=(path, offset)``, reading ends once ``path`` has been read up to ``offset``
    (a group boundary found by :func:`plan`); later files are not read.
    """
    n = 0
    for path in files:
        parts: list[Batch] = []
        chunks = 0
        reading: Iterator[list[Batch]] = reader.read_file(path, CHUNK)
        try:
            for batches in reading:
                parts.extend(batches)
                chunks += 1
                if chunks == GROUP:
                    n += _aggregate(windows, recent, parts)
                    parts, chunks = [], 0
                    if stop is not None and path == stop[0]:
                        if reader.tails[path].offset >= stop[1]:
                            break
        finally:
            reading.close()  # type: ignore[attr-defined]
        n += _aggregate(windows, recent, parts)
        if stop is not None and path == stop[0]:
            break
    return n


# ------------------------------------------------------------------------------ planning
def _chunk_end(fd: int, offset: int) -> int:
    """Where the reader's chunk starting at ``offset`` ends (0: no newline in it)."""
    size = min(_TAIL_PROBE, CHUNK)
    k = os.pread(fd, size, offset + CHUNK - size).rfind(b"\n")
    if k >= 0:
        return offset + CHUNK - size + k + 1
    k = os.pread(fd, CHUNK, offset).rfind(b"\n")
    return offset + k + 1 if k >= 0 else 0


def _group_boundary(path: Path, origin: int, target: int) -> tuple[int, int] | None:
    """The group boundary nearest ``target`` in ``path`` read from ``origin``, and its inode.

    Only chunks that lie whole inside the file as it is now count: appends cannot move them.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        best: int | None = None
        offset, chunks = origin, 0
        while offset + CHUNK <= st.st_size:
            end = _chunk_end(fd, offset)
            if end == 0:
                break  # a line longer than a chunk: the reader reads on to its end
            offset, chunks = end, chunks + 1
            if chunks % GROUP == 0:
                if best is not None and abs(offset - target) > abs(best - target):
                    break
                best = offset
        return (best, st.st_ino) if best is not None else None
    finally:
        os.close(fd)


def plan(reader: ExecutionReader, files: list[Path], threshold: int) -> Split | None:
    """Where to cut a rebuild of ``files`` in two, or None to read it in this process."""
    sizes: list[tuple[int, int, int, int]] = []  # origin, origin lines, size, inode
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            return None
        t = reader.tails.get(path)
        if t is None or t.ino != st.st_ino or st.st_size < t.offset:
            sizes.append((0, 0, st.st_size, st.st_ino))  # new or replaced: read from the start
        else:
            sizes.append((t.offset, t.lines, st.st_size, st.st_ino))
    unread = sum(size - origin for origin, _, size, _ in sizes)
    if unread < threshold or len(files) == 0:
        return None
    target = unread * _SHARE
    done = 0
    for i, (origin, lines, size, ino) in enumerate(sizes):
        todo = size - origin
        if done + todo <= target:
            done += todo
            continue
        cut = _group_boundary(files[i], origin, origin + int(target - done))
        if cut is not None and (i > 0 or cut[0] > origin):
            return Split(files, i, cut[0], origin, lines, cut[1], unread)
        # No boundary inside this file: cut before or after it, whichever is nearer.
        first = i if target - done < todo / 2 else i + 1
        if first == 0 or first == len(files):
            return None
        origin, lines, _, ino = sizes[first]
        return Split(files, first, origin, origin, lines, ino, unread)
    return None


# ------------------------------------------------------------------------------- the worker
@dataclass(slots=True)
class Partial:
    """What a worker read: aggregates of its records, reader offsets, malformed lines."""

    count: int
    windows: RollingWindows
    recent: Newest
    tails: dict[Path, Any]
    problems: list[Problem]


def read_part(reader: ExecutionReader, split: Split, recent_size: int) -> Partial:
    """The worker's part: ``split.files[split.first:]`` from ``split.at``, into fresh aggregates.

    ``reader`` is this process's own copy (a forked child): its offsets are changed.
    """
    problems: list[Problem] = []
    reader.journal.report = problems.append  # type: ignore[method-assign]
    path = split.files[split.first]
    st = os.stat(path)
    if st.st_ino != split.ino or st.st_size < split.at:
        raise OSError(f"{path} changed")
    # Cut inside the file: lines are counted from the cut, the parent adds its own count.
    lines = split.origin_lines if split.at == split.origin else 0
    reader.restore({path.name: {"offset": split.at, "lines": lines, "ino": split.ino}})
    windows, recent = RollingWindows(part=True), Newest(recent_size)
    files = split.files[split.first :]
    n = ingest_files(reader, windows, recent, files)
    if reader.tails[path].ino != split.ino:
        raise OSError(f"{path} changed")
    tails = {p: reader.tails[p] for p in files if p in reader.tails}
    return Partial(n, windows, recent, tails, problems)


def _run_child(fd: int, reader: ExecutionReader, split: Split, recent_size: int) -> None:
    """In the forked child: read the part, send it pickled, and exit without cleaning up."""
    code = 1
    try:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: just stop
        blob = pickle.dumps(read_part(reader, split, recent_size), pickle.HIGHEST_PROTOCOL)
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    except BaseException:
        pass  # the parent reads this part itself
    finally:
        os._exit(code)


def _receive(fd: int, deadline: float) -> bytes | None:
    """Everything the worker writes until it closes the pipe; None if not by ``deadline``."""
    parts = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0 or not selector.select(wait):
                return None  # too slow: give up on it
            data = os.read(fd, 1 << 20)
            if not data:
                return b"".join(parts)
            parts.append(data)


def _stop_child(pid: int) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return _reap(pid)


def _reap(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
        except ChildProcessError:
            return -1


def _fork() -> int:
    with warnings.catch_warnings():
        # 3.12+ warns about forking a multi-threaded process: the child runs only this
        # module's reading code (no locks another thread could hold) and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def catch_up(
    reader: ExecutionReader,
    windows: RollingWindows,
    recent: Newest,
    threshold: int = PARALLEL_BYTES,
) -> int:
    """Read every new line into the aggregates; on two cores when there is much to read.

    Returns how many records were read. ``threshold`` (bytes) of 0 or less never forks.
    """
    files = reader.files()
    split = plan(reader, files, threshold) if threshold > 0 and hasattr(os, "fork") else None
    if split is None:
        return ingest_files(reader, windows, recent, files)
    r, w = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # Linux: fewer, larger transfers
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[attr-defined]
    try:
        pid = _fork()
    except OSError:
        os.close(r)
        os.close(w)
        return ingest_files(reader, windows, recent, files)
    if pid == 0:  # pragma: no cover - the child process (coverage does not follow it)
        os.close(r)
        _run_child(w, reader, split, recent.size)
    os.close(w)
    partial: Partial | None = None
    try:
        started = time.monotonic()
        worker_file = split.files[split.first]
        if split.at > split.origin:
            n = ingest_files(reader, windows, recent, files, stop=(worker_file, split.at))
            t = reader.tails.get(worker_file)
            on_cut = t is not None and t.offset == split.at and t.ino == split.ino
        else:
            n = ingest_files(reader, windows, recent, files[: split.first])
            on_cut = True  # the worker's files are untouched here
        mine = time.monotonic() - started
        blob = _receive(r, time.monotonic() + max(_TIMEOUT_MIN_S, 3 * mine)) if on_cut else None
        if blob:
            with contextlib.suppress(Exception):
                partial = pickle.loads(blob)  # our own child's output
    finally:
        os.close(r)
        # A complete pickle is written only after the whole part was read: trust it even
        # when the exit status is lost (SIGCHLD ignored: the child was reaped already).
        if partial is None:
            _stop_child(pid)
        else:
            _reap(pid)
    if partial is None:
        # The worker failed or the cut moved: read the rest here, from where this process is.
        return n + ingest_files(reader, windows, recent, files[split.first :])
    if split.at > split.origin:  # the worker numbered the cut file's lines from the cut
        before = reader.tails[worker_file].lines
        partial.tails[worker_file].lines += before
        partial.problems = [
            Problem(p.path, p.line + before, p.error) if p.path == worker_file else p
            for p in partial.problems
        ]
    windows.absorb(partial.windows)
    recent.absorb(partial.recent)
    for path, tail in partial.tails.items():
        reader.tails[path] = tail
    for problem in partial.problems:
        reader.journal.report(problem)
    return n + partial.count
