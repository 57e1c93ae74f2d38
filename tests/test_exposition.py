"""Prometheus exposition: counters folded from the journal, histogram, gauges, escaping."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import core
from core.exposition import (
    CHECKPOINT,
    DURATION_BUCKETS,
    Exposition,
    Gauges,
    escape_help,
    escape_label,
    gauges_from,
)
from core.journal.store import Journal
from core.records import CostEntry, Execution
from werkpilot_tui.service.api import open_alerts

T0 = 1_764_158_400_000  # 2025-11-26T12:00Z


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _types(text: str) -> dict[str, str]:
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def _exec(
    agent: str, status: str = "completed", duration: float = 100.0, **kw: object
) -> Execution:
    return Execution(timestamp=T0, agent=agent, status=status, duration=duration, **kw)


def _cost(agent: str, dept: str, model: str, cost: float, **kw: int) -> CostEntry:
    return CostEntry(timestamp=T0, agent=agent, department=dept, model=model, cost=cost, **kw)


def test_counters_histogram_and_gauges_parse_with_expected_values(data_dir: Path) -> None:
    j = Journal(data_dir)
    for _ in range(3):
        j.append("executions", _exec("a", department="sales", model="sonnet", duration=10.0))
    j.append("executions", _exec("a", "error", 81_920.0, department="sales", model="sonnet"))
    j.append("executions", _exec("b", "failed", 100_000.0))
    j.append("ledger", _cost("a", "sales", "sonnet", 0.006, input_tokens=500, output_tokens=300))
    j.append(
        "ledger", _cost("a", "sales", "sonnet", 0.1, cache_read_tokens=7, cache_write_tokens=9)
    )
    expo = Exposition(j)
    assert expo.collect() == 7
    gauges = Gauges(
        budgets={"sales": 500.0}, spend={"sales": 0.106}, alerts_open={"info": 0, "critical": 2}
    )
    text = expo.render(gauges)
    s = _samples(text)
    ex = "werkpilot_executions_total"
    labels_a = (("agent", "a"), ("department", "sales"), ("model", "sonnet"))
    assert s[(ex, (*labels_a, ("status", "completed")))] == 3
    assert s[(ex, (*labels_a, ("status", "error")))] == 1
    no_labels = (("agent", "b"), ("department", ""), ("model", ""), ("status", "failed"))
    assert s[(ex, no_labels)] == 1
    tok = "werkpilot_tokens_total"
    base = (("agent", "a"),)
    assert s[(tok, (*base, ("kind", "input"), ("model", "sonnet")))] == 500
    assert s[(tok, (*base, ("kind", "output"), ("model", "sonnet")))] == 300
    assert s[(tok, (*base, ("kind", "cache_read"), ("model", "sonnet")))] == 7
    assert s[(tok, (*base, ("kind", "cache_write"), ("model", "sonnet")))] == 9
    cost = s[("werkpilot_cost_usd_total", labels_a)]
    assert cost == pytest.approx(0.106, abs=1e-12)
    h = "werkpilot_execution_duration_seconds"
    # le is "less than or equal": 10 ms lands in the 0.01 bucket, 81.92 s in the last bound.
    assert s[(h + "_bucket", (("agent", "a"), ("le", "0.01")))] == 3
    assert s[(h + "_bucket", (("agent", "a"), ("le", "40.96")))] == 3
    assert s[(h + "_bucket", (("agent", "a"), ("le", "81.92")))] == 4
    assert s[(h + "_bucket", (("agent", "a"), ("le", "+Inf")))] == 4
    assert s[(h + "_bucket", (("agent", "b"), ("le", "81.92")))] == 0
    assert s[(h + "_bucket", (("agent", "b"), ("le", "+Inf")))] == 1
    assert s[(h + "_count", (("agent", "a"),))] == 4
    assert s[(h + "_sum", (("agent", "a"),))] == pytest.approx(0.03 + 81.92)
    bucket_les = [k[1][1][1] for k in s if k[0] == h + "_bucket" and k[1][0] == ("agent", "a")]
    assert bucket_les == [repr(b) for b in DURATION_BUCKETS] + ["+Inf"]
    assert s[("werkpilot_department_budget_usd", (("department", "sales"),))] == 500.0
    assert s[("werkpilot_department_spend_usd", (("department", "sales"),))] == 0.106
    assert s[("werkpilot_alerts_open", (("level", "critical"),))] == 2
    types = _types(text)
    assert types["werkpilot_executions"] == "counter"
    assert types["werkpilot_cost_usd"] == "counter"
    assert types["werkpilot_execution_duration_seconds"] == "histogram"
    assert types["werkpilot_alerts_open"] == "gauge"
    assert "# HELP werkpilot_executions_total " in text


def test_collect_reads_only_new_lines_and_counters_never_go_back(data_dir: Path) -> None:
    j = Journal(data_dir)
    expo = Exposition(j)
    assert expo.collect() == 0
    j.append("executions", _exec("a"))
    assert expo.collect() == 1
    assert expo.collect() == 0
    j.append("executions", _exec("a"))
    j.append("executions", Execution(timestamp=T0 + 86_400_000, agent="a"))  # next day's file
    assert expo.collect() == 2
    key = ("a", "", "", "completed")
    assert expo.executions[key] == 3
    # A restarted process derives the same totals from the journal.
    fresh = Exposition(Journal(data_dir))
    fresh.collect()
    assert fresh.executions == expo.executions
    # Retention removing a day file does not take counts back in a running process.
    j.remove(j.path_for("executions", j.day_files("executions")[0][0]))
    expo.collect()
    assert expo.executions[key] == 3


def test_cost_sums_are_exact_to_the_nano_dollar(data_dir: Path) -> None:
    j = Journal(data_dir)
    for _ in range(10_000):
        j.append("ledger", _cost("a", "sales", "haiku", 0.000003))
    expo = Exposition(j)
    expo.collect()
    s = _samples(expo.render())
    got = s[
        ("werkpilot_cost_usd_total", (("agent", "a"), ("department", "sales"), ("model", "haiku")))
    ]
    assert got == 0.03


def test_malformed_lines_are_skipped_and_reported(data_dir: Path) -> None:
    j = Journal(data_dir)
    j.append("executions", _exec("a"))
    path = j.day_files("executions")[0][1]
    with path.open("ab") as fh:
        fh.write(b"not json\n")
    j.append("executions", _exec("a"))
    expo = Exposition(j)
    assert expo.collect() == 2
    assert [p.line for p in j.problems] == [2]


def test_label_values_are_escaped_and_round_trip(data_dir: Path) -> None:
    assert escape_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert escape_help("x\\y\nz") == "x\\\\y\\nz"
    j = Journal(data_dir)
    weird = 'we"ird\\agent {le="1"} ü'
    j.append("executions", _exec(weird, department="sa,les", model='m"'))
    expo = Exposition(j)
    expo.collect()
    text = expo.render(Gauges(budgets={'dept "x"\\': 1.0}))
    s = _samples(text)
    labels = (("agent", weird), ("department", "sa,les"), ("model", 'm"'), ("status", "completed"))
    assert s[("werkpilot_executions_total", labels)] == 1
    assert s[("werkpilot_execution_duration_seconds_count", (("agent", weird),))] == 1
    assert s[("werkpilot_department_budget_usd", (("department", 'dept "x"\\'),))] == 1.0
    # Newlines cannot be in names, but the escaping must still keep one sample per line.
    line = 'x{a="' + escape_label("l1\nl2") + '"} 1'
    assert _samples(line + "\n")[("x", (("a", "l1\nl2"),))] == 1.0


def _fill(j: Journal) -> None:
    for day in range(3):
        for i in range(4):
            ts = T0 + day * 86_400_000 + i
            j.append("executions", Execution(timestamp=ts, agent="a", duration=150.0 * i))
            j.append("ledger", CostEntry(timestamp=ts, agent="a", department="d", model="m"))


def _state(e: Exposition) -> tuple[object, ...]:
    hist = {a: (h.buckets, h.sum, h.count) for a, h in e.durations.items()}
    return e.executions, hist, e.tokens, e.cost_nanos


def test_restart_from_checkpoint_reads_only_new_lines(data_dir: Path) -> None:
    j = Journal(data_dir)
    _fill(j)
    first = Exposition(j)
    assert not first.restored and first.collect() == 24
    assert first.save_checkpoint()
    j.append("executions", Execution(timestamp=T0 + 2 * 86_400_000 + 99, agent="b"))
    j.append("executions", Execution(timestamp=T0 + 3 * 86_400_000, agent="b"))  # a new day
    again = Exposition(Journal(data_dir))
    assert again.restored
    assert again.collect() == 2
    first.collect()
    assert _state(again) == _state(first)
    (data_dir / CHECKPOINT).unlink()
    rebuilt = Exposition(Journal(data_dir))
    assert not rebuilt.restored and rebuilt.collect() == 26
    assert _state(rebuilt) == _state(first)


def test_stale_or_corrupt_checkpoints_are_ignored(data_dir: Path) -> None:
    j = Journal(data_dir)
    _fill(j)
    expo = Exposition(j)
    expo.collect()
    expo.save_checkpoint()
    expected = _state(expo)
    # A day file replaced by another file (new inode) no longer matches the checkpoint.
    _, path = j.day_files("executions")[1]
    j.write_document(path.relative_to(j.root), path.read_bytes())
    stale = Exposition(Journal(data_dir))
    assert not stale.restored and stale.collect() == 24
    assert _state(stale) == expected
    (data_dir / CHECKPOINT).write_text('{"version": 1, "buckets": [')
    corrupt = Exposition(Journal(data_dir))
    assert not corrupt.restored and corrupt.collect() == 24
    assert _state(corrupt) == expected


def test_pruned_files_stay_counted_after_a_restart(data_dir: Path) -> None:
    j = Journal(data_dir)
    _fill(j)
    expo = Exposition(j)
    expo.collect()
    expo.save_checkpoint()
    j.prune_days("executions", keep_days=0, today=j.day_files("executions")[-1][0])
    again = Exposition(Journal(data_dir))
    assert again.restored and again.collect() == 0
    assert again.executions[("a", "", "", "completed")] == 12


def test_checkpoint_written_on_the_timer_and_on_close(data_dir: Path) -> None:
    now = [0.0]
    j = Journal(data_dir)
    expo = Exposition(j, checkpoint_every_s=60, timer=lambda: now[0])
    j.append("executions", Execution(timestamp=T0, agent="a"))
    expo.collect()
    assert not (data_dir / CHECKPOINT).exists()
    now[0] = 60.0
    j.append("executions", Execution(timestamp=T0, agent="a"))
    expo.collect()
    assert (data_dir / CHECKPOINT).exists()
    j.append("executions", Execution(timestamp=T0, agent="a"))
    expo.collect()
    expo.close()
    restored = Exposition(Journal(data_dir))
    assert restored.restored and restored.executions[("a", "", "", "completed")] == 3


def test_gauges_from_the_ledger_and_open_alerts(data_dir: Path, clock: object) -> None:
    c = core.open(data_dir, clock=clock)  # type: ignore[arg-type]
    c.tracker.track_cost("a", "sales", model="sonnet", input_tokens=500, output_tokens=300)
    c.tracker.set_department_budget("sales", 600)
    crit = c.alerts.add_alert(level="critical", type="custom", message="x", data={"agent": "1"})
    c.alerts.add_alert(level="critical", type="custom", message="y", data={"agent": "2"})
    c.alerts.add_alert(level="warning", type="gone", message="z", data={"agent": "3"})
    assert crit is not None and c.alerts.acknowledge_alert(crit.id)
    assert c.alerts.resolve("gone", agent="3") == 1
    g = gauges_from(c.tracker, open_alerts(c.alerts))
    assert g.budgets["sales"] == 600 and g.spend["sales"] == pytest.approx(0.006)
    assert g.budgets["marketing"] == 300 and g.spend["marketing"] == 0
    assert g.alerts_open == {"info": 0, "warning": 0, "critical": 1}
    c.close()
