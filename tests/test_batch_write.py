"""The batch write path: ``track_executions`` / ``track_costs`` record exactly what the
per-record calls record (journal lines, totals, open alerts), refuse the same records, and
append each day's lines whole, also while other processes append."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import core
from core.costs.ledger import CostTracker
from core.journal.store import MAX_WRITE, Journal
from core.monitor.performance import PerformanceMonitor
from core.otlp.ingest import Ingestor, SpanIn

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[thresholds]
min_executions = 3
daily_budget = 0.01
"""


def _components(tmp_path: Path, name: str, clock: Any) -> core.Core:
    cfg = tmp_path / "werkpilot.toml"
    cfg.write_text(CONFIG)
    return core.open(tmp_path / name, cfg, clock)


def _executions(start_ms: int) -> list[dict[str, Any]]:
    """Two agents over two UTC days; one failing a lot (alerts); a refused one in the middle."""
    out: list[dict[str, Any]] = []
    for i in range(12):
        out.append(
            {
                "agent": f"agent-{i % 2}",
                "timestamp": start_ms + i * 1000 - (3_600_000 * 13 if i < 3 else 0),
                "duration": 100.0 + i,
                "status": "error" if i % 2 else "completed",
                "input_tokens": 100,
                "output_tokens": 50,
                "model": "claude-haiku-4-5",
                "department": "support",
                "cost": 0.004,
                "source_id": f"otlp:{i}",
            }
        )
    out.insert(5, {"agent": "agent-0", "duration": 1e300})  # absurd: refused
    out.insert(8, {"agent": "bad\nname", "duration": 1.0})  # control character: refused
    return out


def _lines(root: Path, sub: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((root / sub).glob("*.jsonl")):
        out += [json.loads(x) for x in path.read_bytes().splitlines()]
    return out


def _open_alerts(c: core.Core) -> set[tuple[str, str, str | None]]:
    return {
        (a.type, a.level, a.data.get("agent") or a.data.get("department"))
        for a in c.alerts.get_alerts(1000, resolved=False)
    }


def test_track_executions_equals_one_by_one(tmp_path: Path, clock: Any) -> None:
    start = int(clock().timestamp() * 1000) - 60_000
    one, many = _components(tmp_path, "one", clock), _components(tmp_path, "many", clock)
    refused_one = []
    for rec in _executions(start):
        data = dict(rec)
        try:
            one.monitor.track_execution(data.pop("agent"), **data)
        except ValidationError as exc:
            refused_one.append(exc.errors()[0]["loc"])
    results = many.monitor.track_executions(_executions(start))

    refused_many = [r.errors()[0]["loc"] for r in results if isinstance(r, ValidationError)]
    assert refused_many == refused_one and len(refused_one) == 2
    assert isinstance(results[5], ValidationError) and isinstance(results[8], ValidationError)
    assert _lines(one.journal.root, "metrics") == _lines(many.journal.root, "metrics")
    assert len(list((many.journal.root / "metrics").glob("*.jsonl"))) == 2  # two days
    assert one.monitor.get_system_metrics().total_cost == pytest.approx(
        many.monitor.get_system_metrics().total_cost
    )
    for a, b in zip(
        one.monitor.get_all_agent_metrics(), many.monitor.get_all_agent_metrics(), strict=True
    ):
        assert a.model_dump() == b.model_dump()
    alerts = _open_alerts(one)
    assert ("error_rate", "critical", "agent-1") in alerts
    assert ("daily_budget", "critical", None) in alerts
    assert _open_alerts(many) == alerts
    # A new process reads exactly what the batch wrote.
    fresh = PerformanceMonitor(many.journal.root, clock=clock)
    assert fresh.get_system_metrics().total_executions == 12
    fresh.close()
    for c in (one, many):
        c.close()


def _entries(start_ms: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "agent": f"agent-{i % 3}",
            "department": "Support" if i % 2 else "sales",
            "model": ("claude-sonnet-4-5", "claude-haiku-4-5", "no-such-model")[i % 3],
            "input_tokens": 10_000 * (i + 1),
            "output_tokens": 2_000,
            "cache_read_tokens": 500,
            "timestamp": start_ms + i - (86_400_000 if i == 4 else 0),
            "source_id": f"otlp:{i}",
            "host": "sender-1",
        }
        for i in range(10)
    ]
    out[7] = {**out[7], "cost": 0.25, "reported": True}
    out.insert(3, {**out[0], "cost": -1.0})  # refused: negative cost
    out.insert(6, {**out[1], "input_tokens": 10**13})  # refused: absurd token count
    return out


def test_track_costs_equals_one_by_one(tmp_path: Path, clock: Any) -> None:
    start = int(clock().timestamp() * 1000) - 1000
    one, many = _components(tmp_path, "one", clock), _components(tmp_path, "many", clock)
    for c in (one, many):
        c.tracker.set_department_budget("support", 0.5)
    refused_one = []
    for rec in _entries(start):
        data = dict(rec)
        try:
            one.tracker.track_cost(data.pop("agent"), data.pop("department"), **data)
        except ValidationError as exc:
            refused_one.append(exc.errors()[0]["loc"])
    results = many.tracker.track_costs(_entries(start))

    refused_many = [r.errors()[0]["loc"] for r in results if isinstance(r, ValidationError)]
    assert refused_many == refused_one and len(refused_one) == 2
    assert isinstance(results[3], ValidationError) and isinstance(results[6], ValidationError)
    assert _lines(one.journal.root, "costs") == _lines(many.journal.root, "costs")
    assert {r.pricing for r in results if not isinstance(r, ValueError)} == {
        "exact",
        "unpriced",
        "reported",
    }
    for c in (one, many):
        c.tracker.refresh()
    assert one.tracker.get_all_costs().model_dump() == many.tracker.get_all_costs().model_dump()
    alerts = _open_alerts(one)
    assert any(t.startswith("budget") and d == "support" for t, _, d in alerts), alerts
    assert _open_alerts(many) == alerts
    fresh = CostTracker(many.journal.root, clock=clock)
    assert fresh.get_all_costs().model_dump() == many.tracker.get_all_costs().model_dump()
    fresh.close()
    for c in (one, many):
        c.close()


def test_ingest_batch_counts_a_span_once_and_refuses_one_in_the_middle(
    tmp_path: Path, clock: Any
) -> None:
    c = _components(tmp_path, "data", clock)
    ingestor = Ingestor(c.monitor, c.tracker)
    end = int((clock() - timedelta(seconds=5)).timestamp() * 1e9)

    def span(i: int, **attrs: Any) -> SpanIn:
        base = {
            "gen_ai.operation.name": "chat",
            "gen_ai.agent.name": "bot",
            "gen_ai.request.model": "claude-haiku-4-5",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 100,
        }
        return SpanIn("ab" * 16, f"{i:016x}", "chat", end - 10**9, end, attributes=base | attrs)

    spans = [span(1), span(2), span(3, **{"gen_ai.usage.input_tokens": -5}), span(4), span(2)]
    result = ingestor.ingest_spans(spans)
    assert (result.accepted, result.duplicates, result.rejected) == (3, 1, 1)
    assert "span 0000000000000003" in result.error_message
    executions, costs = _lines(c.journal.root, "metrics"), _lines(c.journal.root, "costs")
    assert sorted(e["sourceId"] for e in executions) == [
        f"otlp:{'ab' * 16}:{i:016x}" for i in (1, 2, 4)
    ]
    assert [e["sourceId"] for e in costs] == [e["sourceId"] for e in executions]
    assert sum(e["cost"] for e in executions) == pytest.approx(sum(e["cost"] for e in costs))
    again = ingestor.ingest_spans(spans)  # a retried delivery: nothing new
    assert (again.accepted, again.duplicates, again.rejected) == (0, 4, 1)
    c.close()
    # After a restart the journal still knows them.
    c = _components(tmp_path, "data", clock)
    third = Ingestor(c.monitor, c.tracker).ingest_spans(spans)
    assert (third.accepted, third.duplicates) == (0, 4)
    assert c.monitor.get_system_metrics().total_executions == 3
    c.close()


WRITER = """
import sys
from core.journal.store import Journal
journal = Journal(sys.argv[1])
tag, rounds, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for r in range(rounds):
    lines = [b'{"timestamp":1,"w":"%s","r":%d,"i":%d,"pad":"%s"}\\n' % (
        tag.encode(), r, i, b"x" * size) for i in range(200)]
    journal.append_lines("executions", 1_764_000_000_000, lines)
"""


def test_append_lines_whole_lines_under_concurrent_appenders(tmp_path: Path) -> None:
    """Big batches (several MAX_WRITE chunks) from 3 processes: every line whole, none lost."""
    root = tmp_path / "data"
    size = MAX_WRITE // 150  # 200 lines of this: a batch needs two writes
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(root), tag, "6", str(size)], env=env)
        for tag in "abc"
    ]
    for p in procs:
        assert p.wait(120) == 0
    (path,) = (root / "metrics").glob("*.jsonl")
    data = path.read_bytes()
    assert data.endswith(b"\n")
    rows = [json.loads(x) for x in data.splitlines()]
    assert len(rows) == 3 * 6 * 200
    for tag in "abc":
        mine = [(r["r"], r["i"]) for r in rows if r["w"] == tag]
        assert mine == [(r, i) for r in range(6) for i in range(200)]  # in order, none lost


def test_append_lines_returns_the_end_after_one_contiguous_block(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "data")
    lines = [b'{"timestamp":1,"i":%d}\n' % i for i in range(1000)]
    path, end = journal.append_lines("ledger", 1_764_000_000_000, lines)
    assert end == path.stat().st_size == sum(map(len, lines))
    with pytest.raises(ValueError):
        journal.append_lines("ledger", 1_764_000_000_000, [])
    journal.close()
