"""The audit trail and pauses (core.control): shared by every process on a data directory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

import core
from core.control.book import ControlBook
from core.records import AuditEvent

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self, ms: int = 1_767_225_600_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def _files(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in data.rglob("*") if p.is_file()}


def test_pause_and_resume_are_recorded_once_with_who_and_why(tmp_path: Path) -> None:
    clock = FakeClock()
    with core.open(tmp_path, clock=clock, lazy=True) as c:
        control = c.control
        assert control.pause_of("bot") is None
        assert control.pause("bot", reason="runaway loop", actor="ana@ops") is True
        assert control.pause("bot", reason="again", actor="bo@ops") is False  # already paused
        pause = control.pause_of("bot")
        assert pause is not None and (pause.actor, pause.reason) == ("ana@ops", "runaway loop")
        assert pause.since == clock.ms
        clock.ms += 5_000
        assert control.resume("bot", reason="fixed", actor="bo@ops") is True
        assert control.resume("bot") is False
        assert control.pause_of("bot") is None
        events = control.events()
    assert [(e.action, e.actor, e.before, e.after, e.reason) for e in events] == [
        ("resumed", "bo@ops", True, False, "fixed"),
        ("paused", "ana@ops", False, True, "runaway loop"),
    ]
    files = sorted((tmp_path / "audit").iterdir())
    assert [p.name for p in files] == ["audit-2026-01-01.jsonl"]
    assert len(files[0].read_bytes().splitlines()) == 2


def test_a_new_process_sees_the_pauses_in_force(tmp_path: Path) -> None:
    with core.open(tmp_path, lazy=True) as c:
        c.control.pause("a", reason="r1")
        c.control.pause("b")
        c.control.resume("a")
    with core.open(tmp_path, lazy=True) as c:
        assert set(c.control.pauses()) == {"b"}


def test_a_pause_from_another_process_is_seen_within_a_second(tmp_path: Path) -> None:
    c = core.open(tmp_path, lazy=True)
    control = c.control
    assert control.pause_of("worker") is None
    script = textwrap.dedent(
        f"""
        import core
        with core.open({str(tmp_path)!r}, lazy=True) as c:
            c.control.pause("worker", reason="from elsewhere", actor="ops@b")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    written = time.monotonic()
    while control.pause_of("worker") is None:
        assert time.monotonic() - written < 1.0, "the pause was not seen within 1 s"
        time.sleep(0.005)
    assert control.pause_of("worker").reason == "from elsewhere"  # type: ignore[union-attr]
    c.close()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"actor": ""}, "actor"),
        ({"actor": "a\x1b[31m"}, "actor"),
        ({"subject": "x\ny"}, "subject"),
        ({"reason": "r" * 2001}, "reason"),
        ({"after": float("nan")}, "after"),
        ({"action": "deleted"}, "action"),
    ],
)
def test_a_bad_action_is_refused_and_nothing_is_written(
    tmp_path: Path, fields: dict[str, object], field: str
) -> None:
    with core.open(tmp_path, lazy=True) as c:
        control = c.control
        before = _files(tmp_path)
        args: dict[str, object] = {"action": "budget_set", "subject": "sales", "actor": "a@b"}
        args.update(fields)
        with pytest.raises((ValidationError, ValueError)) as info:
            control.record(
                args.pop("action"),  # type: ignore[arg-type]
                args.pop("subject"),  # type: ignore[arg-type]
                **args,  # type: ignore[arg-type]
            )
        assert field in str(info.value)
        assert _files(tmp_path) == before


def test_budget_edits_keep_before_and_after(tmp_path: Path) -> None:
    with core.open(tmp_path, lazy=True) as c:
        c.control.record("budget_set", "sales", before=None, after=500.0, actor="a@b")
        c.control.record("budget_set", "sales", before=500.0, after=750.0, reason="Q4")
        newest = c.control.events(1, action="budget_set")[0]
    assert (newest.before, newest.after, newest.reason) == (500.0, 750.0, "Q4")
    assert "@" in newest.actor  # user@host by default


def test_the_book_folds_in_journal_order() -> None:
    book = ControlBook()
    mk = lambda t, a, s: AuditEvent(timestamp=t, action=a, actor="x", subject=s)  # noqa: E731
    book.apply_all([mk(1, "paused", "a"), mk(2, "resumed", "a"), mk(3, "paused", "a")])
    assert book.pauses["a"].since == 3
    assert [e.timestamp for e in book.newest(2)] == [3, 2]
    assert [e.timestamp for e in book.newest(since_ms=2, action="paused")] == [3]
