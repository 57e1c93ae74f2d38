"""Journal: appends, tailing, torn lines, malformed lines, documents, retention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.clock import day_of_ms
from core.journal.store import DataDirError, Journal
from core.records import Execution

T0 = 1_764_158_400_000  # 2025-11-26T12:00Z


def _exec(i: int, agent: str = "agent") -> Execution:
    return Execution(timestamp=T0 + i, agent=agent, duration=float(i))


def test_append_and_tail_reads_only_new_lines(data_dir: Path) -> None:
    j = Journal(data_dir)
    reader = j.reader("executions", Execution.model_validate_json)
    assert reader.poll() == []
    for i in range(3):
        j.append("executions", _exec(i))
    assert [e.duration for e in reader.poll()] == [0.0, 1.0, 2.0]
    assert reader.poll() == []
    j.append("executions", _exec(3))
    assert [e.duration for e in reader.poll()] == [3.0]
    path = j.path_for("executions", day_of_ms(T0))
    assert path.name == "executions-2025-11-26.jsonl"
    assert path.parent.name == "metrics"


def test_record_lands_in_its_own_day_and_reader_follows_rotation(data_dir: Path) -> None:
    j = Journal(data_dir)
    reader = j.reader("ledger", Execution.model_validate_json)
    j.append("ledger", _exec(0))
    assert len(reader.poll()) == 1
    j.append("ledger", _exec(86_400_000))  # next day
    assert len(reader.poll()) == 1
    names = [p.name for _, p in j.day_files("ledger")]
    assert names == ["ledger-2025-11-26.jsonl", "ledger-2025-11-27.jsonl"]


def test_torn_tail_is_not_consumed_and_not_glued(data_dir: Path) -> None:
    j = Journal(data_dir)
    reader = j.reader("executions", Execution.model_validate_json)
    j.append("executions", _exec(0))
    path = j.path_for("executions", day_of_ms(T0))
    with path.open("ab") as fh:
        fh.write(b'{"timestamp":1764158400000,"agent":"cut off')
    assert len(reader.poll()) == 1  # the torn tail waits
    Journal(data_dir).append("executions", _exec(1, "after-crash"))  # a restarted writer
    got = reader.poll()
    assert [e.agent for e in got] == ["after-crash"]
    assert [(p.path.name, p.line) for p in j.problems] == [(path.name, 2)]


def test_record_glued_onto_a_torn_line_is_salvaged(data_dir: Path) -> None:
    j = Journal(data_dir)
    j.append("executions", _exec(0))
    path = j.path_for("executions", day_of_ms(T0))
    with path.open("ab") as fh:  # torn after this writer opened its descriptor
        fh.write(b'{"timestamp":1764158400000,"agent":"cut')
    j.append("executions", _exec(1, "glued"))
    got = j.reader("executions", Execution.model_validate_json).poll()
    assert [e.agent for e in got] == ["agent", "glued"]
    assert len(j.problems) == 1 and j.problems[0].line == 2


def test_malformed_lines_are_skipped_and_reported(data_dir: Path) -> None:
    j = Journal(data_dir)
    path = j.path_for("executions", day_of_ms(T0))
    path.parent.mkdir(parents=True)
    good = _exec(0).to_json_line()
    path.write_bytes(good + b"not json\n" + good + b'{"timestamp":1,"agent":""}\n' + good)
    got = j.reader("executions", Execution.model_validate_json).poll()
    assert len(got) == 3
    assert [p.line for p in j.problems] == [2, 4]
    assert "agent" in j.problems[1].error


def test_invalid_record_is_rejected_naming_the_field() -> None:
    for bad, field in [
        ({"duration": -1.0}, "duration"),
        ({"tokens_used": -5}, "tokens_used"),
        ({"cost": float("inf")}, "cost"),
        ({"status": "weird"}, "status"),
        ({"agent": ""}, "agent"),
        ({"agent": "x" * 201}, "agent"),
        ({"agent": "bad\x1b[31m"}, "agent"),
    ]:
        kwargs = {"timestamp": T0, "agent": "a", **bad}
        with pytest.raises(ValueError, match=field):
            Execution(**kwargs)


def test_documents_are_replaced_atomically(data_dir: Path) -> None:
    j = Journal(data_dir)
    j.write_document("costs/daily-cost-2025-11-26.json", b"{}")
    j.write_document("costs/daily-cost-2025-11-26.json", b'{"a": 1}')
    assert j.read_document("costs/daily-cost-2025-11-26.json") == b'{"a": 1}'
    assert [p.name for p in (data_dir / "costs").iterdir()] == ["daily-cost-2025-11-26.json"]


def test_prune_days_and_documents(data_dir: Path) -> None:
    j = Journal(data_dir)
    for d in range(40):
        j.append("alerts", _exec(d * 86_400_000))
    removed = j.prune_days("alerts", 30, date(2026, 1, 4))
    assert len(removed) == 9  # 2025-11-26 .. 2025-12-04
    for h in range(5):
        j.write_document(f"metrics/snapshot-2025-11-26T0{h}-00-00.json", b"{}")
    removed = j.prune_documents("metrics", r"snapshot-.*\.json", keep=3)
    assert [p.name for p in removed] == [
        "snapshot-2025-11-26T00-00-00.json",
        "snapshot-2025-11-26T01-00-00.json",
    ]


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(DataDirError, match="not a directory"):
        Journal(f)
