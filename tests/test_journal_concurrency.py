"""Journal under real processes: concurrent appends, writers killed mid-loop, torn and bad lines."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from core.journal.store import RECORD_START, Journal, JournalReader
from core.records import Execution

T0 = 1_764_158_400_000  # 2025-11-26T12:00Z
DAY = date(2025, 11, 26)
FORK = multiprocessing.get_context("fork")  # children start in milliseconds, core already loaded


def _record(writer: str, seq: int, pad: str = "") -> Execution:
    """A record that says who wrote it and in which order: ``agent`` and ``api_calls``."""
    return Execution(
        timestamp=T0 + seq % 1000,
        agent=writer,
        api_calls=seq,
        duration=1234.5,
        tokens_used=1000,
        model="claude-sonnet-4-5",
        cost=0.0015,
        error=pad or None,
    )


def _append_many(data_dir: Path, writer: str, count: int) -> None:
    journal = Journal(data_dir)
    for seq in range(count):
        journal.append("executions", _record(writer, seq))
    journal.close()
    os._exit(0)  # skip the parent's (pytest's) exit handlers in the forked child


def _append_forever(data_dir: Path, writer: str, ready_after: int, ready: object) -> None:
    journal = Journal(data_dir)
    for seq in range(ready_after + 50_000):  # bounded: the kill normally comes long before
        journal.append("executions", _record(writer, seq, pad="ü" * (seq % 7)))
        if seq + 1 == ready_after:
            ready.set()  # type: ignore[attr-defined]
    signal.pause()


def _append_then_tear(data_dir: Path, writer: str, count: int, cut: int, ready: object) -> None:
    """Append ``count`` records, then write the next one in two pieces and die between them."""
    journal = Journal(data_dir)
    for seq in range(count):
        journal.append("executions", _record(writer, seq))
    line = _record(writer, count, pad="naïve ☃ crash").to_json_line()
    fd = os.open(journal.path_for("executions", DAY), os.O_WRONLY | os.O_APPEND)
    os.write(fd, line[: cut % (len(line) - 2) + 1])  # never the whole record
    ready.set()  # type: ignore[attr-defined]
    signal.pause()  # the second piece never comes: SIGKILL arrives here
    os._exit(0)


def _reader(journal: Journal) -> JournalReader[Execution]:
    return journal.reader("executions", Execution.model_validate_json)


class DiskOracle:
    """Independently of the reader: (writer, seq) of every complete record, and bad line numbers.

    A complete line is one ended by a newline. A line that is not a record is bad; if a whole
    record follows its torn head, that record counts too (and the line is still reported).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lineno = 0
        self.found: list[tuple[str, int]] = []
        self.bad: list[int] = []

    def scan(self) -> None:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        data = data[: data.rfind(b"\n") + 1]
        self.offset += len(data)
        for line in data.split(b"\n")[:-1]:
            self.lineno += 1
            start = 0
            while start >= 0:
                try:
                    obj = json.loads(line[start:])
                except ValueError:
                    start = line.find(RECORD_START, start + 1)
                    continue
                self.found.append((obj["agent"], obj["apiCalls"]))
                break
            if start != 0:
                self.bad.append(self.lineno)


def _run(target: Callable[..., None], *args: object) -> multiprocessing.process.BaseProcess:
    proc = FORK.Process(target=target, args=args)
    proc.start()
    return proc


def test_eight_processes_append_160000_records_none_lost_or_interleaved(data_dir: Path) -> None:
    writers, per_writer = 8, 20_000
    journal = Journal(data_dir)
    reader = _reader(journal)
    procs = [_run(_append_many, data_dir, f"writer-{w}", per_writer) for w in range(writers)]
    seen: list[Execution] = []
    sentinels = [p.sentinel for p in procs]
    while any(p.is_alive() for p in procs):
        seen.extend(reader.poll())  # tail while they write: partial lines must wait
        # Leave the two cores to the writers between polls (returns early when one ends).
        multiprocessing.connection.wait(sentinels, timeout=0.05)
    for p in procs:
        p.join()
        assert p.exitcode == 0
    seen.extend(reader.poll())

    assert len(seen) == writers * per_writer
    pairs = Counter((e.agent, e.api_calls) for e in seen)
    assert len(pairs) == writers * per_writer  # every (writer, seq) exactly once
    assert set(pairs) == {(f"writer-{w}", s) for w in range(writers) for s in range(per_writer)}
    # Each writer's records appear in its own order (one O_APPEND write per record).
    last: dict[str, int] = {}
    for e in seen:
        assert e.api_calls > last.get(e.agent, -1)
        last[e.agent] = e.api_calls
    assert journal.problems == []

    files = journal.day_files("executions")
    assert [d for d, _ in files] == [DAY]
    raw = files[0][1].read_bytes()
    # As many lines as records, each parsed on its own as JSON by the reader with no problem
    # reported: every line is one whole valid JSON record, nothing interleaved.
    assert raw.endswith(b"\n") and raw.count(b"\n") == writers * per_writer
    assert journal.problems == [] and journal.problem_count == 0


def test_writers_killed_mid_loop_twenty_times_reader_never_loses_a_record(data_dir: Path) -> None:
    rng = random.Random(20251126)
    journal = Journal(data_dir)
    path = journal.path_for("executions", DAY)
    reader = _reader(journal)  # one reader, tailing from its remembered offset all along
    survivor = Journal(data_dir)  # a long-lived writer whose descriptor predates every crash
    survivor.append("executions", _record("survivor", 0))
    survivor_seq = 1
    seen: list[Execution] = reader.poll()
    oracle = DiskOracle(path)
    tears = 0

    for round_no in range(20):
        ready = FORK.Event()
        writer = f"round-{round_no}"
        if round_no % 4 == 3:
            # A genuine torn tail, made deterministic: the second piece of a line never comes.
            proc = _run(
                _append_then_tear, data_dir, writer, rng.randrange(50), rng.randrange(1000), ready
            )
            tears += 1
        else:
            proc = _run(_append_forever, data_dir, writer, rng.randrange(1, 3000), ready)
        assert ready.wait(timeout=60)
        seen.extend(reader.poll())  # concurrently with the writer
        os.kill(proc.pid, signal.SIGKILL)  # somewhere inside the write loop
        proc.join()
        assert proc.exitcode == -signal.SIGKILL
        seen.extend(reader.poll())

        if round_no % 4 == 3 and round_no % 8 == 7:
            # The writer that already held the file open knows nothing of the tear and
            # glues its record onto the torn line: the reader must still salvage it.
            survivor.append("executions", _record("survivor", survivor_seq))
            survivor_seq += 1
            seen.extend(reader.poll())

        oracle.scan()
        assert [(e.agent, e.api_calls) for e in seen] == oracle.found  # the complete lines
        assert len(set(oracle.found)) == len(oracle.found)
        assert sorted(p.line for p in journal.problems) == oracle.bad

    # Every writer's records are contiguous from 0: no record after a tear was swallowed,
    # and each torn record (never completed) was not counted.
    by_writer: dict[str, list[int]] = {}
    for e in seen:
        by_writer.setdefault(e.agent, []).append(e.api_calls)
    assert set(by_writer) == {"survivor"} | {f"round-{r}" for r in range(20)}
    for seqs in by_writer.values():
        assert seqs == list(range(len(seqs)))
    assert by_writer["survivor"] == list(range(survivor_seq))
    # Each torn line was reported with its file and line number.
    assert tears == 5 and len(journal.problems) >= tears - 1  # the last tear may still be open
    assert all(p.path == path for p in journal.problems)
    salvaged = [p for p in journal.problems if p.error == "torn record before a valid one"]
    assert len(salvaged) == 2  # the survivor's two glued records
    # A restarted console reading from scratch agrees with the tailing reader.
    assert [(e.agent, e.api_calls) for e in _reader(Journal(data_dir)).poll()] == oracle.found


def test_half_line_from_a_crash_does_not_swallow_the_next_record(data_dir: Path) -> None:
    journal = Journal(data_dir)
    reader = _reader(journal)
    journal.append("executions", _record("w", 0))
    assert len(reader.poll()) == 1
    path = journal.path_for("executions", DAY)
    line = _record("w", 1).to_json_line()
    for cut in (1, len(RECORD_START), len(line) // 2, len(line) - 2):
        with path.open("ab") as fh:  # what a crash mid-write leaves behind
            fh.write(line[:cut])
        assert reader.poll() == []  # the torn tail waits
        restarted = Journal(data_dir)
        restarted.append("executions", _record("after", cut))
        restarted.close()
        assert [(e.agent, e.api_calls) for e in reader.poll()] == [("after", cut)]
    assert [p.line for p in journal.problems] == [2, 4, 6, 8]
    # Only the newline missing: the record is whole, so once ended it counts.
    with path.open("ab") as fh:
        fh.write(line[:-1])
    Journal(data_dir).append("executions", _record("after", 0))
    assert [(e.agent, e.api_calls) for e in reader.poll()] == [("w", 1), ("after", 0)]


def _bad_lines() -> list[bytes]:
    good = _record("neighbour", 0).to_json_line().rstrip(b"\n")
    return [
        b"not json at all",
        b'{"timestamp": 1, "agent": ""}',  # JSON, but no valid record: empty name
        good.replace(b'"duration":1234.5', b'"duration":-1.0'),  # negative duration
        good.replace(b'"status":"completed"', b'"status":"exploded"'),
        b"[1, 2, 3]",
        b"\xff\xfe not utf-8 \xc3",
        b"{" * 10_000 + b"}" * 10_000,  # deeply nested
        good[: len(good) // 2],  # torn record, later completed by someone's newline
        b"   ",
    ]


@pytest.mark.parametrize("chunk", [64, 1000, 4 << 20])
def test_malformed_lines_between_valid_ones_are_skipped_and_reported(
    data_dir: Path, chunk: int
) -> None:
    journal = Journal(data_dir)
    files = [
        journal.path_for("executions", DAY),
        journal.path_for("executions", date(2025, 11, 27)),
    ]
    files[0].parent.mkdir(parents=True)
    bad = _bad_lines()
    expected_bad: list[tuple[str, int]] = []
    expected: list[tuple[str, int]] = []
    for path in files:
        lines: list[bytes] = []
        for i, b in enumerate(bad):
            rec = _record(f"{path.stem}", i, pad="x" * (i * 37))
            lines.append(rec.to_json_line())
            expected.append((rec.agent, i))
            lines.append(b + b"\n")
            expected_bad.append((path.name, len(lines)))
        long_record = _record(path.stem, 999, pad="long " * 2000)  # longer than small chunks
        lines.append(long_record.to_json_line())
        expected.append((path.stem, 999))
        path.write_bytes(b"".join(lines))

    reader = _reader(journal)
    got = [e for batch in reader.poll_batches(chunk_bytes=chunk) for e in batch]
    assert [(e.agent, e.api_calls) for e in got] == expected
    assert [(p.path.name, p.line) for p in journal.problems] == expected_bad
    assert all(str(p).startswith(f"{p.path}:{p.line}: ") for p in journal.problems)
    assert "duration" in journal.problems[2].error and "status" in journal.problems[3].error
    assert reader.poll() == []  # nothing is read twice, problems not reported twice
    assert journal.problem_count == len(expected_bad)


def test_a_line_longer_than_the_chunk_waits_for_its_newline(data_dir: Path) -> None:
    journal = Journal(data_dir)
    path = journal.path_for("executions", DAY)
    path.parent.mkdir(parents=True)
    line = _record("long", 1, pad="y" * 5000).to_json_line()
    path.write_bytes(line[:3000])
    reader = _reader(journal)
    assert list(reader.poll_batches(chunk_bytes=256)) == []
    with path.open("ab") as fh:
        fh.write(line[3000:])
    got = [e for batch in reader.poll_batches(chunk_bytes=256) for e in batch]
    assert [(e.agent, len(e.error or "")) for e in got] == [("long", 5000)]
    assert journal.problems == []


def test_glued_record_whose_data_nests_a_timestamp_is_salvaged(data_dir: Path) -> None:
    from core.records import AlertEvent

    journal = Journal(data_dir)
    path = journal.path_for("alerts", DAY)
    path.parent.mkdir(parents=True)
    event = AlertEvent(timestamp=T0, event="raised", level="warning", data={"x": {"timestamp": 1}})
    path.write_bytes(b'{"timestamp":17641584000' + event.to_json_line())
    got = journal.reader("alerts", AlertEvent.model_validate_json).poll()
    assert got == [event]
    assert [p.line for p in journal.problems] == [1]


def test_appends_after_the_file_was_deleted_go_to_a_new_file(data_dir: Path) -> None:
    writer = Journal(data_dir, recheck_s=0)  # check the cached descriptor on every append
    writer.append("executions", _record("w", 0))
    path = writer.path_for("executions", DAY)
    Journal(data_dir).remove(path)  # another process pruned it (or the directory was cleared)
    writer.append("executions", _record("w", 1))
    assert [e.api_calls for e in _reader(Journal(data_dir)).poll()] == [1]


def test_forked_child_appends_through_an_inherited_journal(data_dir: Path) -> None:
    journal = Journal(data_dir)
    journal.append("executions", _record("parent", 0))
    proc = _run(_append_many, data_dir, "child", 100)  # _append_many opens its own Journal
    child = FORK.Process(target=_inherited_append, args=(journal,))
    child.start()
    for p in (proc, child):
        p.join()
        assert p.exitcode == 0
    journal.append("executions", _record("parent", 1))
    got = Counter(e.agent for e in _reader(Journal(data_dir)).poll())
    assert got == {"parent": 2, "child": 100, "inherited": 50}


def _inherited_append(journal: Journal) -> None:
    for seq in range(50):
        journal.append("executions", _record("inherited", seq))
    os._exit(0)


def _open_append_close(data_dir: Path, writer: str, count: int) -> None:
    for seq in range(count):
        journal = Journal(data_dir)  # a fresh open each time, as short-lived agents do
        journal.append("executions", _record(writer, seq, pad="p" * 1500))  # spans pages
        journal.close()
    os._exit(0)


def test_a_line_being_written_by_another_process_is_not_mistaken_for_a_torn_tail(
    data_dir: Path,
) -> None:
    # While another process's write is copied in, the file's size grows page by page, so
    # a writer opening the file can briefly see it end mid-line. Taking that for a crash's
    # torn tail would start the record with a stray newline (an empty line).
    procs = [_run(_open_append_close, data_dir, f"w{w}", 1000) for w in range(4)]
    for p in procs:
        p.join()
        assert p.exitcode == 0
    raw = Journal(data_dir).path_for("executions", DAY).read_bytes()
    assert raw.count(b"\n") == 4000
    assert b"\n\n" not in raw and not raw.startswith(b"\n")
    assert len(_reader(Journal(data_dir)).poll()) == 4000


def test_a_long_write_under_way_is_waited_for_not_taken_for_a_torn_tail(data_dir: Path) -> None:
    # One write of 32 MiB of records (a bulk import) takes milliseconds to be copied in: a
    # writer opening the file meanwhile sees it end mid-line for far longer than any pause
    # could cover. The decision must wait for that write, whatever the timing.
    import threading

    journal = Journal(data_dir)
    path = journal.path_for("executions", DAY)
    path.parent.mkdir(parents=True)
    line = _record("bulk", 0, pad="b" * 2000).to_json_line()
    bulk = line * (32 * 2**20 // len(line))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    writer = threading.Thread(target=os.write, args=(fd, bulk))  # os.write releases the GIL
    writer.start()
    caught_mid_line = False
    while writer.is_alive() and not caught_mid_line:
        size = os.stat(path).st_size
        if 0 < size < len(bulk):
            with path.open("rb") as fh:
                fh.seek(size - 1)
                caught_mid_line = fh.read(1) != b"\n"
    if caught_mid_line:
        journal.append("executions", _record("opener", 0))
    writer.join()
    os.close(fd)
    if not caught_mid_line:
        pytest.skip("the bulk write finished before it could be seen half copied")
    raw = path.read_bytes()
    assert raw.startswith(bulk)
    assert raw[len(bulk) :].lstrip(b" ") == _record("opener", 0).to_json_line()
    assert [e.agent for e in _reader(journal).poll()][-1] == "opener"
    assert journal.problems == []


def test_spaces_left_by_a_writer_killed_after_its_probe_are_not_a_torn_line(
    data_dir: Path,
) -> None:
    journal = Journal(data_dir)
    journal.append("executions", _record("w", 0))
    path = journal.path_for("executions", DAY)
    with path.open("ab") as fh:
        fh.write(b"  ")  # what a writer killed between its probe and its record leaves
    Journal(data_dir).append("executions", _record("w", 1))
    raw = path.read_bytes()
    assert raw.count(b"\n") == 2 and b"\n\n" not in raw
    assert [e.api_calls for e in _reader(journal).poll()] == [0, 1]
    assert journal.problems == []
