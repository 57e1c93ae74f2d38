"""The fast batch reader accepts exactly what ``Execution`` accepts, and reports bad lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.clock import day_of_ms
from core.journal.store import Journal
from core.monitor.reader import ExecutionReader, parse_batch
from core.monitor.windows import to_micro, to_nano
from core.record_rows import ExecutionLine, parse_execution_lines
from core.records import Execution

T0 = 1_764_158_400_000

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**13),
    st.sampled_from([2**63 - 1, 2**63, 2**64, 253_402_300_799_999, 253_402_300_800_000]),
    st.floats(-10, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, -0.0, 1e300, 1e-320, 0.5e-9, 1.5e-9]),
    st.text(max_size=5),
    st.sampled_from(["completed", "error", "failed", "agent-1", "a\x07b", "a\x85", "", "x" * 201]),
    st.sampled_from(["a\x7f", "a\x9f", "\x80", "\xa0", "ok\u2028"]),
    st.sampled_from(["\ud800", "é\u2028", "x" * 200]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a"]), st.integers(0, 3), max_size=1),
)
FIELDS = [
    "timestamp",
    "agent",
    "status",
    "duration",
    "tokensUsed",
    "inputTokens",
    "model",
    "department",
    "cacheReadTokens",
    "cost",
    "cpuTime",
    "memoryDelta",
    "apiCalls",
    "error",
    "host",
    "pid",
    "tokens_used",  # snake_case: pydantic accepts it; the fast path defers
    "colour",  # unknown
]


def _good() -> dict[str, Any]:
    return json.loads(Execution(timestamp=T0, agent="a", cost=0.25).to_json_line())


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), anything, max_size=6), st.booleans(), st.booleans())
def test_fast_path_accepts_only_what_the_model_accepts(
    changes: dict[str, Any], full: bool, ascii: bool
) -> None:
    record = _good() if full else {"timestamp": T0, "agent": "a"}
    record.update(changes)
    line = json.dumps(record, ensure_ascii=ascii).encode("utf-8", "surrogatepass")
    _same_as_model(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FIELDS), max_size=3), st.lists(anything, min_size=3, max_size=3))
def test_repeated_keys_are_read_as_the_model_reads_them(keys: list[str], values: list[Any]) -> None:
    pairs = [f'"{k}":{json.dumps(v)}' for k, v in zip(keys, values, strict=False)]
    line = ("{" + ",".join(['"timestamp":1764158400000,"agent":"a"', *pairs]) + "}").encode()
    _same_as_model(line)


def _same_as_model(line: bytes) -> None:
    try:
        model = Execution.model_validate_json(line)
    except ValidationError:
        model = None
    try:
        (row,) = parse_execution_lines([line])
    except ValueError:
        pass  # deferred to the per-line path
    else:
        assert model is not None, f"rows accepted what the model rejects: {line!r}"
        for name in Execution.model_fields:
            assert getattr(row, name) == getattr(model, name), name
    try:
        batch = parse_batch([line])
    except (ValueError, TypeError, KeyError):
        return  # deferred to the per-line path, which decides with the model
    assert model is not None, f"fast path accepted what the model rejects: {line!r}"
    ints = {
        k: getattr(batch, k).tolist()
        for k in ("ts", "err", "dur", "cost", "tok", "cpu", "mem", "api")
    }
    assert ints == {
        "ts": [model.timestamp],
        "err": [int(model.is_error)],
        "dur": [to_micro(model.duration)],
        "cost": [to_nano(model.cost)],
        "tok": [model.tokens_used],
        "cpu": [to_micro(model.cpu_time)],
        "mem": [round(model.memory_delta)],
        "api": [model.api_calls],
    }
    assert batch.agent == [model.agent]
    assert batch.dept == [model.department]


def test_the_fast_path_declares_the_model_fields() -> None:
    row = msgspec.structs.fields(ExecutionLine)
    assert [f.encode_name for f in row] == [f.alias for f in Execution.model_fields.values()]
    assert [f.default for f in row][2:] == [f.default for f in Execution.model_fields.values()][2:]


def test_a_bad_line_costs_only_itself_and_is_reported(data_dir: Path) -> None:
    j = Journal(data_dir)
    path = j.path_for("executions", day_of_ms(T0))
    path.parent.mkdir(parents=True)
    good = Execution(timestamp=T0, agent="a", cost=0.5).to_json_line()
    bad = b'{"timestamp":1764158400000,"agent":"a","duration":-1.0}\n'
    torn = b'{"timestamp":1764158400000,"agent":"cut'
    path.write_bytes(good * 3 + bad + b"not json\n" + torn + good + good)
    batches = [b for chunk in ExecutionReader(j).poll_batches() for b in chunk]
    assert sum(len(b) for b in batches) == 5  # four whole good lines and the one glued on
    assert [(p.line, "duration" in p.error) for p in j.problems] == [
        (4, True),
        (5, False),
        (6, False),
    ]


def test_sparse_records_take_the_defaults() -> None:
    line = b'{"timestamp":1764158400000,"agent":"a","status":"failed"}'
    b = parse_batch([line])
    assert [c.tolist() for c in (b.err, b.dur, b.cost, b.tok)] == [[1], [0], [0], [0]]
    assert b.dept == [None]


def test_unknown_or_snake_case_keys_defer_to_the_model() -> None:
    with pytest.raises(ValueError):
        parse_batch([b'{"timestamp":1,"agent":"a","tokens_used":3}'])


@pytest.mark.parametrize("field", ["agent", "department", "model"])
@pytest.mark.parametrize("char", ["\x00", "\t", "\x1f", "\x7f", "\x80", "\x85", "\x9f"])
def test_control_characters_in_names_are_refused_written_raw_or_escaped(
    field: str, char: str
) -> None:
    good = json.dumps({"timestamp": T0, "agent": "a", "department": "d", "model": "m"})
    for ensure_ascii in (True, False):
        record = {"timestamp": T0, "agent": "a", field: f"x{char}y"}
        line = json.dumps(record, ensure_ascii=ensure_ascii).encode()
        lines = [good.encode(), line]
        with pytest.raises(ValueError):
            parse_batch(lines)


def test_names_beyond_the_control_characters_are_read_raw() -> None:
    line = json.dumps({"timestamp": T0, "agent": "caf\u00e9 \u00a0\u2028"}, ensure_ascii=False)
    assert parse_batch([line.encode()]).agent == ["caf\u00e9 \u00a0\u2028"]


awkward_ms = st.one_of(
    st.floats(0, 1e10),
    st.sampled_from([0.0005, 0.0015, 0.0025, 2.5e-3, 1e10, 123.4565, 0.1 + 0.2]),
)
awkward_usd = st.one_of(
    st.floats(0, 1e6),
    st.sampled_from([5e-10, 1.5e-9, 2.5e-9, 0.1, 0.3, 1e6, 999.9999999995]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(awkward_ms, awkward_ms, awkward_usd, st.floats(-1e15, 1e15)),
        min_size=1,
        max_size=60,
    )
)
def test_a_batch_converts_every_value_as_the_scalar_conversions_do(
    values: list[tuple[float, float, float, float]],
) -> None:
    """The vectorised columns equal to_micro / to_nano / round of each model, to the unit."""
    models = [
        Execution(timestamp=T0 + i, agent="a", duration=d, cpu_time=c, cost=usd, memory_delta=m)
        for i, (d, c, usd, m) in enumerate(values)
    ]
    b = parse_batch([m.to_json_line().rstrip(b"\n") for m in models])
    assert b.dur.tolist() == [to_micro(m.duration) for m in models]
    assert b.cpu.tolist() == [to_micro(m.cpu_time) for m in models]
    assert b.cost.tolist() == [to_nano(m.cost) for m in models]
    assert b.mem.tolist() == [round(m.memory_delta) for m in models]
