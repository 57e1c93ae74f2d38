"""Reading the executions journal into the monitor's aggregates, on one core or on two.

Each day file is read in ``CHUNK``-sized chunks from where the reader stopped, and every
``GROUP`` chunks (and at the end of each file) the records are aggregated as one batch. That
grouping depends only on the bytes of the files, never on what was read before, so the work can
be cut at any group boundary. When a catch-up has much to read (a cold start on a week of
history without a checkpoint), :func:`catch_up` cuts it into ``PIECES`` runs of whole groups
(:func:`plan`) and forks one worker. This process takes pieces from the front and reads them
straight into its aggregates; the worker takes pieces from the back, each into a partial
(:class:`Part` series: values, no prefix sums). Each piece is claimed by reading
one byte of a pipe filled with one byte per piece, so the two meet wherever their speeds put
them (the two cores of a shared machine rarely run at the same speed). Then this process appends
the worker's partials in file order (:func:`absorb`, :meth:`Newest.absorb`), with
their reader offsets and malformed lines (reported after its own, as a sequential read would).

The result is exactly a sequential rebuild's: the same batches are aggregated in the same
order, and absorbing a partial is adding its batches one after the other (tests/
test_monitor_rebuild.py compares every figure, array and offset). Any failure of the worker
(crash, timeout, a file replaced meanwhile) discards its partials and this process reads the
rest itself. A small catch-up never forks.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import selectors
import signal
import time
import warnings
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.journal.store import Journal, Problem
from core.monitor.reader import ExecutionReader
from core.monitor.recent import Newest
from core.monitor.windows import (
    Batch,
    ExecutionTotals,
    Ints,
    PrefixSeries,
    RollingWindows,
    append_ints,
)

CHUNK = 1 << 18  # ~800 lines parsed at a time: stays in the CPU cache
GROUP = 10  # chunks aggregated at a time (~8k records): per-agent work is per batch
#: Below this many unread bytes a rebuild stays in this process (a fork costs milliseconds).
PARALLEL_BYTES = 50_000_000
#: Pieces a parallel rebuild is cut into (at least a group each): the two processes finish at
#: most about one piece apart (~5 MB, 0.07 s, for a week of 1M executions).
PIECES = 64
_TAIL_PROBE = 4096  # bytes read at the end of a chunk to find where it is cut
_TIMEOUT_MIN_S = 10.0  # a worker slower than this and than 3x this process's part is given up


@dataclass(frozen=True, slots=True)
class Piece:
    """Whole groups of one day file, from ``start`` to ``end`` (None: to its end)."""

    path: Path
    start: int
    end: int | None
    ino: int  # of the file when planned
    lines: int | None  # lines before ``start`` if known (the reader's own offset), else None


def fold(windows: RollingWindows, recent: Newest, parts: list[Batch]) -> int:
    """Fold batches into the windows and the recent lists; how many records they held."""
    if not parts:
        return 0
    batch = Batch.join(parts)
    groups = windows.add_batch(batch)
    ts: list[int] = batch.ts.tolist() if isinstance(batch.ts, np.ndarray) else list(batch.ts)
    recent.add_groups(groups, ts, batch.payload)
    return len(batch)


#: Told how many of the bytes to read were read so far: ``progress(done, total)``.
Progress = Callable[[int, int], None]


class _Meter:
    """Counts bytes read (reader offsets moved) against the total unread at the start."""

    def __init__(self, reader: ExecutionReader, files: list[Path], report: Progress) -> None:
        self.reader, self.report, self.done = reader, report, 0
        self.total = sum(max(0, _size(reader.journal, p) - _offset(reader, p)) for p in files)
        self.report(0, self.total)

    def read(self, path: Path, before: int) -> int:
        """Count what was read of ``path`` since its offset was ``before``; the new offset."""
        now = _offset(self.reader, path)
        self.done += max(0, now - before)
        self.report(min(self.done, self.total), self.total)
        return now


def _size(journal: Journal, path: Path) -> int:
    ident = journal.identity(path)
    return ident[0] if ident is not None else 0


def _offset(reader: ExecutionReader, path: Path) -> int:
    tail = reader.tails.get(path)
    return tail.offset if tail is not None else 0


def ingest_files(
    reader: ExecutionReader,
    windows: RollingWindows,
    recent: Newest,
    files: list[Path],
    stop: tuple[Path, int] | None = None,
    meter: _Meter | None = None,
) -> int:
    """Read new lines of ``files`` in order into the aggregates; returns how many records.

    With ``stop=(path, offset)``, reading ends once ``path`` has been read up to ``offset``
    (a group boundary found by :func:`plan`); later files are not read. ``meter`` is told
    the bytes read after each group (a start-up screen's progress).
    """
    n = 0
    for path in files:
        parts: list[Batch] = []
        chunks = 0
        at = _offset(reader, path)
        reading: Iterator[list[Batch]] = reader.read_file(path, CHUNK)
        try:
            for batches in reading:
                parts.extend(batches)
                chunks += 1
                if chunks == GROUP:
                    n += fold(windows, recent, parts)
                    parts, chunks = [], 0
                    if meter is not None:
                        at = meter.read(path, at)
                    if stop is not None and path == stop[0]:
                        if reader.tails[path].offset >= stop[1]:
                            break
        finally:
            reading.close()  # type: ignore[attr-defined]
        n += fold(windows, recent, parts)
        if meter is not None:
            meter.read(path, at)
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


def _group_ends(
    journal: Journal, path: Path, origin: int, every: int
) -> tuple[list[int], int] | None:
    """Group boundaries of ``path`` read from ``origin``, about ``every`` bytes apart, and
    the file's inode (None: it is gone).

    Only chunks that lie whole inside the file as it is now count: appends cannot move them.
    """
    with journal.open_for_scan(path) as opened:
        if opened is None:
            return None
        fd, size, ino = opened
        ends: list[int] = []
        offset, chunks, last = origin, 0, origin
        while offset + CHUNK <= size:
            end = _chunk_end(fd, offset)
            if end == 0:
                break  # a line longer than a chunk: the reader reads on to its end
            offset, chunks = end, chunks + 1
            if chunks % GROUP == 0 and offset - last >= every and 2 * (size - offset) >= every:
                ends.append(offset)
                last = offset
        return ends, ino


def plan(
    reader: ExecutionReader, files: list[Path], threshold: int, pieces: int | None = None
) -> list[Piece] | None:
    """The pieces to read ``files`` in, or None to read them all in this process."""
    todo: list[tuple[Path, int, int]] = []  # path, origin, origin lines
    unread = 0
    for path in files:
        ident = reader.journal.identity(path)
        if ident is None:
            return None
        size, ino = ident
        t = reader.tails.get(path)
        if t is None or t.ino != ino or size < t.offset:
            todo.append((path, 0, 0))  # new or replaced: read from the start
            unread += size
        else:
            todo.append((path, t.offset, t.lines))
            unread += size - t.offset
    if unread < threshold or not files:
        return None
    every = max(unread // (pieces or PIECES), 1)
    out: list[Piece] = []
    for path, origin, lines in todo:
        found = _group_ends(reader.journal, path, origin, every)
        if found is None:
            return None
        ends, ino = found
        starts = [origin, *ends]
        for k, start in enumerate(starts):
            end = ends[k] if k < len(ends) else None
            out.append(Piece(path, start, end, ino, lines if k == 0 else None))
    return out if len(out) > 1 else None


# ------------------------------------------------------------------------- partials
class Part(PrefixSeries):
    """A series as a rebuild worker builds it: the values themselves, not prefix sums.

    Appending is a plain copy; :func:`absorb_series` turns them into the prefix sums that
    continue the series they are appended to. Not for queries.
    """

    __slots__ = ("cost", "dur", "err", "log", "tok")

    def __init__(self) -> None:
        self.ts = array("q")
        self.err, self.dur, self.cost, self.tok = array("q"), array("q"), array("q"), array("q")
        self.pending = []
        self.hints = (0, 0)
        self.log: list[int] = []  # per batch, in order: n stored, or -n pending

    def add(self, ts: int, err: int, dur: int, cost: int, tok: int) -> None:
        self.extend((ts,), (err,), (dur,), (cost,), (tok,), True)

    def extend(
        self,
        ts: Ints,
        err: Ints,
        dur: Ints,
        cost: Ints,
        tok: Ints,
        in_order: bool | None = None,
    ) -> None:
        stored = len(self.ts)
        super().extend(ts, err, dur, cost, tok, in_order)
        if len(ts):
            self.log.append(len(self.ts) - stored or -len(ts))

    def append_sorted(self, ts: Ints, err: Ints, dur: Ints, cost: Ints, tok: Ints) -> None:
        for column, values in (
            (self.ts, ts),
            (self.err, err),
            (self.dur, dur),
            (self.cost, cost),
            (self.tok, tok),
        ):
            append_ints(column, values)


def part_windows() -> RollingWindows:
    """Aggregates as a worker builds them: series of :class:`Part`, appended by :func:`absorb`."""
    return RollingWindows(series_type=Part)


def absorb_series(series: PrefixSeries, part: Part) -> None:
    """Append ``part``: records read alone (by a rebuild worker) after ``series``' own.

    Exactly as if ``part``'s batches had been added to ``series`` one after the other. Its
    first batch was stored there (it started empty); when that batch is not older than the
    series' newest record it is stored here too, and every later decision is then the same:
    the values are appended as they are. Otherwise (a backfilled record at the very start of
    ``part``) its batches are replayed from its log.
    """
    if part.ts and (not series.ts or part.ts[0] >= series.ts[-1]):
        series.append_sorted(part.ts, part.err, part.dur, part.cost, part.tok)
        series.pending.extend(part.pending)
        return
    stored = waiting = 0
    for n in part.log:
        cols: list[Ints]
        if n > 0:
            cut = slice(stored, stored + n)
            cols = [part.ts[cut], part.err[cut], part.dur[cut], part.cost[cut], part.tok[cut]]
            stored += n
        else:
            cols = [list(c) for c in zip(*part.pending[waiting : waiting - n], strict=True)]
            waiting -= n
        ts, err, dur, cost, tok = cols
        series.extend(ts, err, dur, cost, tok, in_order=True)


def absorb_totals(totals: ExecutionTotals, other: ExecutionTotals) -> None:
    """Add the figures of executions read after ``totals``' (newest department wins)."""
    totals.merge(other)
    if other.department is not None and other.department_ts >= totals.department_ts:
        totals.department, totals.department_ts = other.department, other.department_ts


def absorb(windows: RollingWindows, other: RollingWindows) -> None:
    """Append a part (:func:`part_windows`) built alone from later executions."""
    for agent, part in other.series.items():
        mine = windows.series.get(agent)
        if mine is None:
            mine = windows.series[agent] = PrefixSeries()
            windows.totals[agent] = ExecutionTotals()
        absorb_series(mine, part)  # type: ignore[arg-type]
        absorb_totals(windows.totals[agent], other.totals[agent])
    day_cost = windows.day_cost
    for day, cost in other.day_cost.items():
        day_cost[day] = day_cost.get(day, 0) + cost


# ------------------------------------------------------------------------------- the worker
@dataclass(slots=True)
class Partial:
    """What the worker read of one piece: aggregates, reader offset, malformed lines."""

    count: int
    windows: RollingWindows
    tail: Any
    problems: list[Problem]


@dataclass(slots=True)
class Share:
    """The worker's pieces: the index of its first, their partials in file order, and the
    newest executions of them all (one Newest, not one per piece: less to send)."""

    first: int
    parts: list[Partial]
    recent: Newest


def _claim(tokens: int) -> bool:
    """Take the next piece (one byte of the pipe); False when every piece is taken."""
    while True:
        try:
            return os.read(tokens, 1) == b"x"
        except InterruptedError:
            continue


def read_piece(reader: ExecutionReader, piece: Piece, recent_size: int) -> tuple[Partial, Newest]:
    """One piece into fresh aggregates and its newest executions (``reader`` is the forked
    child's own copy).

    Lines are numbered from the piece's start when it lies inside the file; this process
    adds the lines before it.
    """
    problems: list[Problem] = []
    reader.journal.report = problems.append  # type: ignore[method-assign,assignment]
    found = reader.journal.identity(piece.path)
    if found is None or found[1] != piece.ino or found[0] < (piece.end or piece.start):
        raise OSError(f"{piece.path} changed")
    lines = piece.lines or 0
    reader.restore({piece.path.name: {"offset": piece.start, "lines": lines, "ino": piece.ino}})
    windows, recent = part_windows(), Newest(recent_size)
    stop = (piece.path, piece.end) if piece.end is not None else None
    n = ingest_files(reader, windows, recent, [piece.path], stop)
    tail = reader.tails[piece.path]
    if tail.ino != piece.ino or (piece.end is not None and tail.offset != piece.end):
        raise OSError(f"{piece.path} changed")
    return Partial(n, windows, tail, problems), recent


def read_part(
    reader: ExecutionReader, pieces: list[Piece], claim: Callable[[], bool], recent_size: int
) -> Share:
    """The worker's share: pieces taken from the back until none is left."""
    out: list[tuple[Partial, Newest]] = []
    k = len(pieces)
    while claim():
        k -= 1
        out.append(read_piece(reader, pieces[k], recent_size))
    out.reverse()
    recent = Newest(recent_size)
    for _, newest in out:  # in file order, as this process would have added them
        recent.absorb(newest)
    return Share(k, [part for part, _ in out], recent)


def _run_child(
    fd: int, tokens: int, reader: ExecutionReader, pieces: list[Piece], recent_size: int
) -> None:
    """In the forked child: read pieces, send them pickled, and exit without cleaning up."""
    code = 1
    try:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: just stop
        result = read_part(reader, pieces, lambda: _claim(tokens), recent_size)
        view = memoryview(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    except BaseException:
        pass  # the parent reads these pieces itself
    finally:
        os._exit(code)


def _receive(fd: int, deadline: float) -> bytes | None:
    """Everything the worker writes until it closes the pipe; None if not by ``deadline``."""
    parts: list[bytes] = []
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


def _read_here(
    reader: ExecutionReader,
    windows: RollingWindows,
    recent: Newest,
    piece: Piece,
    *,
    meter: _Meter | None = None,
) -> int:
    stop = (piece.path, piece.end) if piece.end is not None else None
    return ingest_files(reader, windows, recent, [piece.path], stop, meter)


def catch_up(
    reader: ExecutionReader,
    windows: RollingWindows,
    recent: Newest,
    threshold: int = PARALLEL_BYTES,
    progress: Progress | None = None,
) -> int:
    """Read every new line into the aggregates; on two cores when there is much to read.

    Returns how many records were read. ``threshold`` (bytes) of 0 or less never forks.
    ``progress(done, total)`` hears of the bytes read after every group (in a parallel
    rebuild only this process's pieces count until the worker's arrive at the end).
    """
    # Parsing makes millions of short-lived acyclic dicts; the cyclic collector would
    # rescan every long-lived object again and again (seconds on a 1M-line cold start).
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _catch_up(reader, windows, recent, threshold, progress)
    finally:
        if gc_was_on:
            gc.enable()


def _catch_up(
    reader: ExecutionReader,
    windows: RollingWindows,
    recent: Newest,
    threshold: int,
    progress: Progress | None,
) -> int:
    files = reader.files()
    meter = _Meter(reader, files, progress) if progress is not None else None
    pieces = plan(reader, files, threshold) if threshold > 0 and hasattr(os, "fork") else None
    if pieces is None:
        return ingest_files(reader, windows, recent, files, meter=meter)
    tokens, fill = os.pipe()
    os.write(fill, b"x" * len(pieces))  # one byte per piece: far less than a pipe holds
    os.close(fill)  # once they are read, a read finds the end: no piece is left
    r, w = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # Linux: fewer, larger transfers
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[attr-defined]
    try:
        pid = _fork()
    except OSError:
        for fd in (tokens, r, w):
            os.close(fd)
        return ingest_files(reader, windows, recent, files)
    if pid == 0:  # pragma: no cover - the child process (coverage does not follow it)
        os.close(r)
        _run_child(w, tokens, reader, pieces, recent.size)
    os.close(w)
    result: Share | None = None
    n = mine = 0
    try:
        started = time.monotonic()
        on_cut = True
        while on_cut and _claim(tokens):
            piece = pieces[mine]
            n += _read_here(reader, windows, recent, piece, meter=meter)
            mine += 1
            if piece.end is not None:
                t = reader.tails.get(piece.path)
                on_cut = t is not None and t.offset == piece.end and t.ino == piece.ino
        os.close(tokens)
        tokens = -1
        if on_cut and mine < len(pieces):
            took = time.monotonic() - started
            blob = _receive(r, time.monotonic() + max(_TIMEOUT_MIN_S, 3 * took))
            if blob:
                with contextlib.suppress(Exception):
                    result = pickle.loads(blob)  # our own child's output
    finally:
        if tokens >= 0:
            os.close(tokens)
        os.close(r)
        # A complete pickle is written only after every piece was read: trust it even when
        # the exit status is lost (SIGCHLD ignored: the child was reaped already).
        if result is None:
            _stop_child(pid)
        else:
            _reap(pid)
    if result is None or result.first != mine:
        if mine == len(pieces):
            return n
        # The worker failed or a file moved: read the rest here, from where this process is.
        rest = files[files.index(pieces[mine].path) :]
        return n + ingest_files(reader, windows, recent, rest, meter=meter)
    for piece, part in zip(pieces[mine:], result.parts, strict=True):
        tail = part.tail
        problems = part.problems
        if piece.lines is None:  # numbered from the piece's start: add the lines before it
            before = reader.tails[piece.path].lines
            tail.lines += before
            problems = [Problem(p.path, p.line + before, p.error) for p in problems]
        absorb(windows, part.windows)
        reader.tails[piece.path] = tail
        for problem in problems:
            reader.journal.report(problem)
        n += part.count
    recent.absorb(result.recent)
    if meter is not None:
        meter.report(meter.total, meter.total)
    return n
