"""Every value the API accepts can be folded by every later process (issue 11, items 1-5).

A value no reader could fold is refused at the call with a ValidationError naming the field,
and nothing is written; a line already on disk that cannot be folded is reported (file:line)
and skipped like any malformed line, without losing the valid lines around it.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import core
from core.alerts.manager import AlertManager
from core.costs.ledger import CostTracker
from core.exposition import Exposition
from core.journal.store import Journal
from core.monitor.performance import PerformanceMonitor
from core.records import CostEntry, Execution
from tests.conftest import FakeClock

DAY = "2026-11-26"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes (the journal, checkpoints, documents)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def refused(exc: pytest.ExceptionInfo[ValidationError], field: str) -> None:
    locs = {".".join(str(x) for x in e["loc"]) for e in exc.value.errors()}
    assert any(field in loc for loc in locs) or field in str(exc.value), (field, str(exc.value))


def monitor(data_dir: Path, clock: FakeClock) -> PerformanceMonitor:
    am = AlertManager(data_dir, clock=clock, channels=[])
    return PerformanceMonitor(data_dir, clock=clock, alert_manager=am)


def tracker(data_dir: Path, clock: FakeClock) -> CostTracker:
    am = AlertManager(data_dir, clock=clock, channels=[])
    return CostTracker(data_dir, clock=clock, alert_manager=am)


def ms(clock: FakeClock) -> int:
    return int(clock.now.timestamp() * 1000)


# --------------------------------------------------------------------- item 1: cost
@pytest.mark.parametrize(
    "cost",
    [
        1e20,
        1e19,
        1.7e308,
        1e10,
        # an int too large for a float once raised OverflowError instead of the refusal
        pytest.param(10**400, id="int-1e400"),
        pytest.param(-(10**400), id="int--1e400"),
    ],
)
def test_an_unfoldable_cost_is_refused_and_nothing_is_written(
    data_dir: Path, clock: FakeClock, cost: float
) -> None:
    t = tracker(data_dir, clock)
    t.track_cost("a", "sales", model="sonnet", cost=1.0)
    before = tree(data_dir)
    with pytest.raises(ValidationError) as exc:
        t.track_cost("a", "sales", model="sonnet", cost=cost)
    refused(exc, "cost")
    assert tree(data_dir) == before
    assert tracker(data_dir, clock).get_daily_cost_report(DAY).executions == 1


def test_the_largest_cost_accepted_is_folded_and_checkpointed(
    data_dir: Path, clock: FakeClock
) -> None:
    t = tracker(data_dir, clock)
    for _ in range(12):  # 12e18 nano-dollars: beyond a signed 64-bit sum
        t.track_cost("a", "sales", model="sonnet", cost=1e9)
    t.save_checkpoint()
    fresh = tracker(data_dir, clock)
    assert fresh.get_daily_cost_report(DAY).total_cost == pytest.approx(12e9)
    assert fresh.entries == 12


def _line(**fields: Any) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode() + b"\n"


def _poison_ledger(path: Path, t0: int) -> None:
    good = CostEntry(timestamp=t0, agent="a", department="sales", model="m", cost=1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        fh.write(good.to_json_line())
        fh.write(_line(timestamp=t0, agent="a", department="sales", model="m", cost=1e20))
        fh.write(_line(timestamp=t0, agent="a", department="sales", model="m", inputTokens=10**20))
        fh.write(_line(timestamp=t0, agent="a", department="sales", model="m", pid=2**64))
        fh.write(good.to_json_line())


def test_a_poison_ledger_line_is_reported_and_the_rest_of_the_chunk_kept(
    data_dir: Path, clock: FakeClock
) -> None:
    path = data_dir / "costs" / f"ledger-{DAY}.jsonl"
    t = tracker(data_dir, clock)
    t.track_cost("a", "sales", model="m", cost=1.0)  # a long-lived reader, already reading
    _poison_ledger(path, ms(clock))
    assert t.get_daily_cost_report(DAY).executions == 3
    assert t.get_daily_cost_report(DAY).total_cost == pytest.approx(3.0)
    assert {p.line for p in t.journal.problems} == {3, 4, 5}
    assert all(p.path == path for p in t.journal.problems)
    # a fresh process, without and with a checkpoint
    fresh = tracker(data_dir, clock)
    assert fresh.get_all_costs().daily.total_cost == pytest.approx(3.0)
    fresh.save_checkpoint()
    again = tracker(data_dir, clock)
    assert again.track_cost("a", "sales", model="m", cost=1.0).total_cost_today == 4.0


def test_a_poison_execution_line_is_reported_and_the_rest_of_the_chunk_kept(
    data_dir: Path, clock: FakeClock
) -> None:
    path = data_dir / "metrics" / f"executions-{DAY}.jsonl"
    m = monitor(data_dir, clock)
    m.track_execution("a", cost=1.0)
    t0 = ms(clock)
    good = Execution(timestamp=t0, agent="a", cost=1.0)
    with path.open("ab") as fh:
        fh.write(good.to_json_line())
        fh.write(_line(timestamp=t0, agent="a", pid=2**64))
        fh.write(_line(timestamp=t0, agent="a", cost=1e20))
        fh.write(_line(timestamp=t0, agent="a", host="\x1b[31m"))
        fh.write(good.to_json_line())
    assert m.get_system_metrics().total_executions == 3
    assert {p.line for p in m.journal.problems} == {3, 4, 5}
    for _ in range(2):  # without a checkpoint, then with the one the first one saved
        fresh = monitor(data_dir, clock)
        assert fresh.get_system_metrics().total_executions == 3
        assert fresh.get_system_metrics().total_cost == pytest.approx(3.0)
        fresh.save_checkpoint()
        fresh.close()


def test_the_exposition_skips_poison_lines_and_counts_the_rest(data_dir: Path) -> None:
    clock = FakeClock()
    _poison_ledger(data_dir / "costs" / f"ledger-{DAY}.jsonl", ms(clock))
    journal = Journal(data_dir)
    exp = Exposition(journal)
    assert exp.collect() == 2
    assert sum(exp.cost_nanos.values()) == 2_000_000_000
    assert {p.line for p in journal.problems} == {2, 3, 4}
    _poison_ledger(data_dir / "costs" / f"ledger-{DAY}.jsonl", ms(clock))  # a later chunk
    assert exp.collect() == 2
    assert sum(exp.cost_nanos.values()) == 4_000_000_000


# ------------------------------------------------------------------- item 2: tokens
@pytest.mark.parametrize("tokens", [10**13, 10**20, 10**400])
@pytest.mark.parametrize(
    "field", ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"]
)
def test_huge_token_counts_are_refused(
    data_dir: Path, clock: FakeClock, field: str, tokens: int
) -> None:
    t = tracker(data_dir, clock)
    with pytest.raises(ValidationError) as exc:
        t.track_cost("a", "sales", model="sonnet", **{field: tokens})
    refused(exc, field)
    with pytest.raises(ValidationError) as exc:
        t.track_cost("a", "sales", model="sonnet", cost=1.0, **{field: tokens})
    refused(exc, field)
    with pytest.raises(ValidationError):
        t.track_cost("a", "sales", model="sonnet", tokens_used=tokens)
    assert tree(data_dir / "costs") == {}


def test_token_sums_beyond_64_bits_are_checkpointed(data_dir: Path, clock: FakeClock) -> None:
    journal = Journal(data_dir)
    line = CostEntry(
        timestamp=ms(clock), agent="a", department="s", model="m", input_tokens=10**12
    ).to_json_line()
    path = journal.path_for("ledger", clock.now.date())
    path.parent.mkdir(parents=True)
    path.write_bytes(line * 10)
    t = tracker(data_dir, clock)
    t.refresh()
    t._agg.agents["a"].total.input_tokens *= 10**7  # as if 10^8 entries had been read
    t.save_checkpoint()  # no "Integer exceeds 64-bit range"
    assert tracker(data_dir, clock).get_agent_cost("a") is not None


# -------------------------------------------------------------- item 3: every integer
def test_a_pid_beyond_pid_t_is_refused(data_dir: Path, clock: FakeClock) -> None:
    m = monitor(data_dir, clock)
    for pid in (2**64, 2**32, -1):
        with pytest.raises(ValidationError) as exc:
            m.track_execution("a", pid=pid)
        refused(exc, "pid")
    assert tree(data_dir / "metrics") == {}
    assert monitor(data_dir, clock).get_system_metrics().total_executions == 0


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**400])
def test_alert_data_integers_stay_within_64_bits(
    data_dir: Path, clock: FakeClock, value: int
) -> None:
    am = AlertManager(data_dir, clock=clock, channels=[])
    with pytest.raises(ValueError, match="data"):
        am.add_alert("warning", "custom", "m", {"n": value})
    am.add_alert("warning", "custom", "m", {"n": 2**63 - 1, "m": -(2**63 - 1)})
    am.save_checkpoint()
    assert AlertManager(data_dir, clock=clock, channels=[]).get_alerts()[0].data["n"] == 2**63 - 1


# ---------------------------------------------------------------- item 4: timestamps
@pytest.mark.parametrize(
    "when",
    [
        time.time(),  # seconds
        int(time.time()),
        946_684_799_999,  # just before 2000
        0,
        math.inf,
        math.nan,
        -math.inf,
        1.5e12 + 0.5,  # not integral
        "1764158400000",
        True,
        datetime(1999, 12, 31, tzinfo=UTC),
        datetime(2026, 11, 26),  # naive
    ],
)
def test_implausible_timestamps_are_refused(data_dir: Path, clock: FakeClock, when: object) -> None:
    m, t = monitor(data_dir, clock), tracker(data_dir, clock)
    with pytest.raises(ValidationError) as exc:
        m.track_execution("a", timestamp=when)
    refused(exc, "timestamp")
    with pytest.raises(ValidationError) as exc:
        t.track_cost("a", "sales", model="m", cost=1.0, timestamp=when)  # type: ignore[arg-type]
    refused(exc, "timestamp")
    assert tree(data_dir / "metrics") == {} and tree(data_dir / "costs") == {}


def test_future_timestamps_are_refused_beyond_a_day(data_dir: Path, clock: FakeClock) -> None:
    m, t = monitor(data_dir, clock), tracker(data_dir, clock)
    soon = clock.now + timedelta(hours=23)
    m.track_execution("a", timestamp=soon)
    t.track_cost("a", "sales", model="m", cost=1.0, timestamp=soon)
    later = clock.now + timedelta(days=1, minutes=1)
    with pytest.raises(ValidationError) as exc:
        m.track_execution("a", timestamp=later)
    refused(exc, "timestamp")
    with pytest.raises(ValidationError) as exc:
        t.track_cost("a", "sales", model="m", cost=1.0, timestamp=later, allow_history=True)
    refused(exc, "timestamp")


def test_allow_history_imports_old_records(data_dir: Path, clock: FakeClock) -> None:
    m, t = monitor(data_dir, clock), tracker(data_dir, clock)
    old = datetime(1995, 3, 1, tzinfo=UTC)
    m.track_execution("a", timestamp=old, allow_history=True)
    m.track_execution("a", {"timestamp": 1_000, "duration": 5}, allow_history=True)
    t.track_cost("a", "sales", model="m", cost=1.0, timestamp=old, allow_history=True)
    assert monitor(data_dir, clock).get_agent_metrics("a").executions == 2  # type: ignore[union-attr]
    assert tracker(data_dir, clock).get_daily_cost_report("1995-03-01").executions == 1
    with pytest.raises(ValidationError):  # still a number of milliseconds, not of seconds
        m.track_execution("a", timestamp=math.inf, allow_history=True)


def test_recent_timestamps_are_accepted(data_dir: Path, clock: FakeClock) -> None:
    m = monitor(data_dir, clock)
    m.track_execution("a", timestamp=clock.now - timedelta(days=400))
    m.track_execution("a", timestamp=float(ms(clock)))  # an integral float is fine
    m.track_execution("a", timestamp=datetime(2000, 1, 1, tzinfo=UTC))
    assert m.get_agent_metrics("a").executions == 3  # type: ignore[union-attr]


# ----------------------------------------------------------- item 5: identity fields
BAD_NAMES = ["", " ", "\t", "\u3000 ", "a\x1bb", "\x1b[2J", "x" * 201, "a\nb", "\ud800"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_identity_fields_follow_the_name_rule(data_dir: Path, clock: FakeClock, name: str) -> None:
    m, t = monitor(data_dir, clock), tracker(data_dir, clock)
    for field in ("agent", "department", "model"):
        kwargs: dict[str, Any] = {"agent": "a", "department": "d", "model": "m"}
        kwargs[field] = name
        agent = kwargs.pop("agent")
        with pytest.raises(ValidationError) as exc:
            m.track_execution(agent, **kwargs)
        refused(exc, field)
        with pytest.raises(ValidationError) as exc:
            t.track_cost(agent, kwargs["department"], model=kwargs["model"], cost=1.0)
        refused(exc, field)
    am = AlertManager(data_dir, clock=clock, channels=[])
    for key in ("agent", "department", "model"):
        with pytest.raises(ValueError, match=f"data.{key}"):
            am.add_alert("warning", "custom", "m", {key: name})
    with pytest.raises(ValueError, match="agent"):
        core.track(name, department="d")
    assert tree(data_dir / "metrics") == {} and tree(data_dir / "costs") == {}
    assert tree(data_dir / "alerts") == {}


@pytest.mark.parametrize(
    "host",
    ["\x1b]0;pwned\x07", "h\nx", "h" * 1_000_000, "\ud800"],
    ids=["osc", "lf", "1mb", "surrogate"],
)
def test_host_follows_the_name_rule(data_dir: Path, clock: FakeClock, host: str) -> None:
    m = monitor(data_dir, clock)
    with pytest.raises(ValidationError) as exc:
        m.track_execution("a", host=host)
    refused(exc, "host")
    with pytest.raises(ValidationError):
        CostEntry(timestamp=0, agent="a", department="d", model="m", host=host)
    assert tree(data_dir / "metrics") == {}


def test_names_with_inner_spaces_and_unicode_are_still_fine(
    data_dir: Path, clock: FakeClock
) -> None:
    m = monitor(data_dir, clock)
    m.track_execution("lead scorer ü", department="Sales Ops", model="claude sonnet", host="")
    m.track_execution("a", host="build-01.example.com")
    assert monitor(data_dir, clock).list_agents() == ["a", "lead scorer ü"]


# ------------------------------------------------- item 2: sums of accepted values
def test_window_sums_beyond_64_bits_are_folded_and_checkpointed(
    data_dir: Path, clock: FakeClock
) -> None:
    """9,300 executions at the largest cost ($1M) sum beyond 2**63 nano-dollars."""
    n = 9_300
    line = Execution(timestamp=ms(clock) - 1000, agent="a", cost=1e6, tokens_used=10**12)
    path = data_dir / "metrics" / f"executions-{DAY}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(line.to_json_line() * n)
    m = monitor(data_dir, clock)  # a cold rebuild, in batches
    for _ in range(300):  # and one by one, in this process
        m.track_execution("a", cost=1e6, tokens_used=10**12)
    want_cost = (n + 300) * 10**15 / 1e9
    assert m.get_system_metrics().total_cost == want_cost
    assert m.get_agent_metrics("a").windows["1h"].total_cost == want_cost  # type: ignore[union-attr]
    m.save_checkpoint()
    m.close()
    for _ in range(2):  # from that checkpoint, then without one
        fresh = monitor(data_dir, clock)
        assert fresh.get_system_metrics().total_executions == n + 300
        assert fresh.get_agent_metrics("a").windows["24h"].total_cost == want_cost  # type: ignore[union-attr]
        fresh.close()
        for cp in data_dir.rglob(".checkpoint-*"):
            cp.unlink()
