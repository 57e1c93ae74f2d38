"""Records: anything valid round-trips through the journal unchanged; anything invalid is
rejected naming the field, and nothing is written."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import MS_PER_DAY
from core.journal.store import Journal
from core.records import (
    MAX_ENTRY_COST,
    MAX_EXECUTION_COST,
    MAX_EXECUTION_MS,
    MAX_EXECUTION_TOKENS,
    MAX_INT64,
    MAX_MEMORY_DELTA,
    MAX_PID,
    SUBJECT_KEYS,
    AlertEvent,
    CostEntry,
    Execution,
    Record,
)

MAX_MS = 253_402_300_799_999
KIND = {Execution: "executions", CostEntry: "ledger", AlertEvent: "alerts"}

names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200).filter(
    str.strip
)  # a visible character: not only white space
hosts = st.just("") | names
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)  # any storable text
timestamps = st.integers(0, MAX_MS) | st.sampled_from([0, MAX_MS, 1_764_158_400_000])
non_negative = st.floats(min_value=0, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, 5e-324, 1e-300, 1.7976931348623157e308, 0.1 + 0.2]
)
finite = st.floats(allow_nan=False, allow_infinity=False)
pids = st.integers(min_value=0, max_value=MAX_PID) | st.sampled_from([0, 1, 2**31, MAX_PID])
entry_usd = st.floats(0, MAX_ENTRY_COST) | st.sampled_from([0.0, 5e-324, MAX_ENTRY_COST, 0.3])
# Execution figures are capped (their sums are 64-bit): the same, within the caps.
ms = st.floats(0, MAX_EXECUTION_MS) | st.sampled_from([0.0, 5e-324, MAX_EXECUTION_MS, 0.1 + 0.2])
usd = st.floats(0, MAX_EXECUTION_COST) | st.sampled_from([5e-324, MAX_EXECUTION_COST])
tokens = st.integers(0, MAX_EXECUTION_TOKENS) | st.sampled_from([0, 2**31, MAX_EXECUTION_TOKENS])
memory = st.floats(-MAX_MEMORY_DELTA, MAX_MEMORY_DELTA)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_INT64, MAX_INT64) | finite | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)

executions = st.builds(
    Execution,
    timestamp=timestamps,
    agent=names,
    status=st.sampled_from(["completed", "error", "failed"]),
    duration=ms,
    tokens_used=tokens,
    input_tokens=tokens,
    output_tokens=tokens,
    cache_read_tokens=tokens,
    cache_write_tokens=tokens,
    model=st.none() | names,
    department=st.none() | names,
    cost=usd,
    cpu_time=ms,
    memory_delta=memory,
    api_calls=tokens,
    error=st.none() | texts,
    host=hosts,
    pid=pids,
)
cost_entries = st.builds(
    CostEntry,
    timestamp=timestamps,
    agent=names,
    department=names,
    model=names,
    input_tokens=tokens,
    output_tokens=tokens,
    cache_read_tokens=tokens,
    cache_write_tokens=tokens,
    cost=entry_usd,
    pricing=st.sampled_from(["exact", "family", "caller", "unpriced"]),
    host=hosts,
    pid=pids,
)
alert_events = st.builds(
    AlertEvent,
    timestamp=timestamps,
    event=st.sampled_from(["raised", "repeated", "acknowledged", "escalated", "resolved"]),
    alert_id=st.text(max_size=200),
    level=st.none() | st.sampled_from(["info", "warning", "critical"]),
    type=st.none() | names,
    message=st.none() | texts,
    data=st.none()
    | st.dictionaries(texts.filter(lambda k: k not in SUBJECT_KEYS), json_values, max_size=6)
    | st.fixed_dictionaries({}, optional=dict.fromkeys(SUBJECT_KEYS, names)),
    fingerprint=st.none() | st.text(max_size=1000),
    escalated_from=st.none() | st.text(max_size=200),
    until=st.none() | timestamps,
    channel=st.none() | st.text(max_size=200),
    ok=st.none() | st.booleans(),
    error=st.none() | texts,
    host=hosts,
    pid=pids,
)
any_records = st.lists(executions | cost_entries | alert_events, min_size=1, max_size=12)


def _read_back(journal: Journal, model: type[Record]) -> list[Any]:
    return journal.reader(KIND[model], model.model_validate_json).poll()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_records)
def test_any_valid_record_round_trips_through_the_journal_unchanged(records: list[Record]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "data")
        for record in records:
            journal.append(KIND[type(record)], record)
        for model in KIND:
            written = [r for r in records if type(r) is model]
            # Files are per UTC day, read oldest day first; within a day, in append order.
            expected = sorted(written, key=lambda r: r.timestamp // MS_PER_DAY)
            got = _read_back(Journal(journal.root), model)
            assert got == expected
            assert [r.to_json_line() for r in got] == [r.to_json_line() for r in expected]
        assert journal.problems == []


# ------------------------------------------------------------------ rejection
T0 = 1_764_158_400_000
VALID: dict[type[Record], dict[str, Any]] = {
    Execution: {"timestamp": T0, "agent": "agent"},
    CostEntry: {"timestamp": T0, "agent": "agent", "department": "sales", "model": "haiku"},
    AlertEvent: {"timestamp": T0, "event": "raised"},
}
INF, NAN = float("inf"), float("nan")


def _deeply_nested(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


BAD: list[tuple[type[Record], str, Any]] = [
    *[
        (Execution, f, v)
        for f in ("duration", "cost", "cpu_time")
        for v in (-1.0, -1e-300, INF, NAN)
    ],
    *[(Execution, "memory_delta", v) for v in (INF, -INF, NAN, 1.01e15, -1.01e15)],
    *[(Execution, f, v) for f in ("duration", "cpu_time") for v in (1.0001e10, 1e300)],
    (Execution, "cost", 1_000_000.01),
    *[(Execution, f, 10**12 + 1) for f in ("tokens_used", "cache_read_tokens", "api_calls")],
    *[
        (Execution, f, v)
        for f in ("tokens_used", "input_tokens", "output_tokens", "api_calls", "pid")
        for v in (-1, 1.5, True, "10")
    ],
    *[(Execution, "timestamp", v) for v in (-1, MAX_MS + 1, 1.5, "1764158400000", None)],
    *[(Execution, "status", v) for v in ("weird", "COMPLETED", "", None)],
    *[
        (model, f, v)
        for model, fields in ((Execution, ("agent", "model", "department")),)
        for f in fields
        for v in ("", "x" * 201, "tab\there", "nl\n", "esc\x1b[31m", "del\x7f", "c1\x85", 5)
    ],
    *[
        (CostEntry, f, v)
        for f in ("agent", "department", "model")
        for v in ("", "x" * 201, "a\x00")
    ],
    *[(CostEntry, "cost", v) for v in (-0.01, INF, NAN, 1.01e9, 1e20)],
    *[(CostEntry, f, 10**12 + 1) for f in ("input_tokens", "cache_write_tokens")],
    *[(m, "pid", v) for m in (Execution, CostEntry, AlertEvent) for v in (2**32, 2**64)],
    *[
        (m, f, v)
        for m, f in ((Execution, "agent"), (CostEntry, "department"), (AlertEvent, "type"))
        for v in (" ", "\t", "\u3000")
    ],
    *[
        (m, "host", v)
        for m in (Execution, CostEntry, AlertEvent)
        for v in (" ", "esc\x1b]0;x\x07", "h" * 256, "nl\n")
    ],
    *[(AlertEvent, "data", {k: v}) for k in SUBJECT_KEYS for v in ("", " ", "a\x1b", 5)],
    (AlertEvent, "data", {"n": 2**63}),
    (AlertEvent, "escalated_from", "x" * 201),
    (CostEntry, "pricing", "guessed"),
    (CostEntry, "input_tokens", -5),
    (AlertEvent, "event", "exploded"),
    (AlertEvent, "level", "fatal"),
    (AlertEvent, "type", "bad\nname"),
    (AlertEvent, "message", "lone \udcff surrogate"),
    (AlertEvent, "data", {"errorRate": NAN}),
    (AlertEvent, "data", {"errorRate": INF}),
    (AlertEvent, "data", {"nested": {1: "int key"}}),
    (AlertEvent, "data", {"when": object()}),
    (AlertEvent, "data", _deeply_nested(150)),  # the reader could not parse it back
    (AlertEvent, "until", -1),
    (Execution, "error", "\ud800"),
    (Execution, "unknown_field", 1),
]


@pytest.mark.parametrize(("model", "field", "value"), BAD, ids=lambda x: repr(x)[:40])
def test_invalid_input_is_rejected_naming_the_field_and_nothing_is_written(
    tmp_path: Path, model: type[Record], field: str, value: Any
) -> None:
    journal = Journal(tmp_path / "data")
    with pytest.raises(ValueError) as info:
        journal.append(KIND[model], model(**{**VALID[model], field: value}))
    assert field in str(info.value)
    # The same through the on-disk form (camelCase keys) that a reader validates.
    alias = model.model_fields[field].alias if field in model.model_fields else field
    with pytest.raises(ValueError) as info:
        model.model_validate({**model(**VALID[model]).model_dump(by_alias=True), alias: value})
    assert alias in str(info.value)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.jsonl"))


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.just(""),
        st.text(min_size=201, max_size=400),
        st.builds(
            lambda a, c, b: a + c + b,
            st.text(max_size=20),
            st.characters(whitelist_categories=("Cc",)),
            st.text(max_size=20),
        ),
    ),
    st.sampled_from(["agent", "model", "department"]),
)
def test_any_bad_name_is_rejected_naming_the_field(name: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CostEntry(**{**VALID[CostEntry], field: name})


@settings(max_examples=100, deadline=None)
@given(
    st.floats(max_value=-1e-320) | st.sampled_from([INF, -INF, NAN]),
    st.sampled_from(["duration", "cost", "cpu_time"]),
)
def test_any_negative_or_non_finite_amount_is_rejected_naming_the_field(
    value: float, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        Execution(**{**VALID[Execution], field: value})
