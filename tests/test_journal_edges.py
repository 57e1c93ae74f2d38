"""Journal edge cases: replaced and truncated files, checkpoints, rotation, descriptor cache."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from core.journal.store import Journal, JournalReader
from core.records import Execution

T0 = 1_764_158_400_000  # 2025-11-26T12:00Z
DAY_MS = 86_400_000


def _exec(i: int, agent: str = "a", day: int = 0) -> Execution:
    return Execution(timestamp=T0 + day * DAY_MS + i, agent=agent, api_calls=i)


def _reader(journal: Journal, since: date | None = None) -> JournalReader[Execution]:
    return journal.reader("executions", Execution.model_validate_json, since)


def test_a_replaced_file_is_read_from_its_start(data_dir: Path) -> None:
    journal = Journal(data_dir)
    reader = _reader(journal)
    for i in range(3):
        journal.append("executions", _exec(i))
    assert len(reader.poll()) == 3
    path = journal.path_for("executions", date(2025, 11, 26))
    tmp = path.with_name("restore.tmp")
    tmp.write_bytes(b"".join(_exec(i, "restored").to_json_line() for i in range(5)))
    os.replace(tmp, path)  # a new inode, e.g. restored from a backup
    assert [e.agent for e in reader.poll()] == ["restored"] * 5


def test_a_truncated_file_is_read_again_from_its_start(data_dir: Path) -> None:
    journal = Journal(data_dir)
    reader = _reader(journal)
    for i in range(3):
        journal.append("executions", _exec(i))
    assert len(reader.poll()) == 3
    path = journal.path_for("executions", date(2025, 11, 26))
    path.write_bytes(_exec(9, "after-truncate").to_json_line())  # same inode, shorter
    assert [e.agent for e in reader.poll()] == ["after-truncate"]


def test_checkpointed_offsets_resume_without_rereading(data_dir: Path) -> None:
    journal = Journal(data_dir)
    first = _reader(journal)
    for i in range(4):
        journal.append("executions", _exec(i))
    journal.append("executions", _exec(0, day=1))
    assert len(first.poll()) == 5
    state = first.state()
    journal.append("executions", _exec(7, "new", day=1))

    resumed = _reader(Journal(data_dir))
    resumed.restore(state)
    assert [(e.agent, e.api_calls) for e in resumed.poll()] == [("new", 7)]
    # Line numbers carry over too: a bad line after the checkpoint is reported correctly.
    path = journal.path_for("executions", date(2025, 11, 27))
    with path.open("ab") as fh:
        fh.write(b"garbage\n")
    resumed.poll()
    assert [(p.path.name, p.line) for p in resumed.journal.problems] == [(path.name, 3)]


def test_reader_follows_rotation_and_since_skips_old_days(data_dir: Path) -> None:
    journal = Journal(data_dir)
    reader = _reader(journal)
    late = _reader(journal, since=date(2025, 11, 27))
    journal.append("executions", _exec(0))
    assert len(reader.poll()) == 1 and late.poll() == []
    journal.append("executions", _exec(1, day=1))  # past midnight: a new file
    journal.append("executions", _exec(2))  # a straggler for the old day
    assert sorted(e.api_calls for e in reader.poll()) == [1, 2]
    assert [e.api_calls for e in late.poll()] == [1]


def test_pruned_file_is_forgotten_by_the_reader(data_dir: Path) -> None:
    journal = Journal(data_dir)
    reader = _reader(journal)
    journal.append("executions", _exec(0))
    journal.append("executions", _exec(0, day=1))
    reader.poll()
    old = journal.path_for("executions", date(2025, 11, 26))
    assert journal.remove(old)
    assert reader.poll() == []
    assert old not in reader.tails


def test_descriptor_cache_is_bounded_and_backfills_land_in_their_days(data_dir: Path) -> None:
    journal = Journal(data_dir)
    for day in range(40):  # more days than descriptors kept open
        journal.append("executions", _exec(day, day=-day))
    assert len(journal._slots) <= 16
    assert len(journal.day_files("executions")) == 40
    assert len(_reader(Journal(data_dir)).poll()) == 40
    journal.close()
    assert journal._slots == {}


def test_append_returns_the_offset_after_the_record(data_dir: Path) -> None:
    journal = Journal(data_dir)
    path, end = journal.append("executions", _exec(0))
    assert end == path.stat().st_size
    other = Journal(data_dir)
    other.append("executions", _exec(1))
    path2, end2 = journal.append("executions", _exec(2))
    assert path2 == path and end2 == path.stat().st_size  # after the other writer's line too
