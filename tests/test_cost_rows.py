"""The ledger's bulk reader accepts exactly what ``CostEntry`` accepts, and reports bad lines."""

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
from core.costs.ledger import CostTracker
from core.journal.store import Journal
from core.record_rows import CostLine, parse_cost_lines
from core.records import CostEntry
from tests.conftest import FakeClock

T0 = 1_764_158_400_000
FIELDS = [
    "timestamp",
    "agent",
    "department",
    "model",
    "inputTokens",
    "outputTokens",
    "cacheReadTokens",
    "cacheWriteTokens",
    "cost",
    "pricing",
    "host",
    "pid",
    "input_tokens",  # snake_case: pydantic accepts it; the fast path defers
    "colour",  # unknown
]
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**13),
    st.sampled_from([2**63 - 1, 2**63, 2**64, 253_402_300_799_999, 253_402_300_800_000]),
    st.floats(-10, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, -0.0, 1e300, 5e-324]),
    st.text(max_size=5),
    st.sampled_from(["exact", "family", "caller", "unpriced", "guessed", "sales", ""]),
    st.sampled_from(["a\x07b", "a\x7f", "a\x85", "\xa0", "x" * 200, "x" * 201, "\ud800"]),
    st.lists(st.integers(0, 3), max_size=2),
)


def _same_as_model(line: bytes) -> None:
    try:
        model = CostEntry.model_validate_json(line)
    except ValidationError:
        model = None
    try:
        (row,) = parse_cost_lines([line])
    except ValueError:
        return  # deferred to the per-line path, which decides with the model
    assert model is not None, f"fast path accepted what the model rejects: {line!r}"
    for name in CostEntry.model_fields:
        assert getattr(row, name) == getattr(model, name), name


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), anything, max_size=6), st.booleans(), st.booleans())
def test_fast_path_accepts_only_what_the_model_accepts(
    changes: dict[str, Any], full: bool, ascii: bool
) -> None:
    record: dict[str, Any] = {"timestamp": T0, "agent": "a", "department": "d", "model": "m"}
    if full:
        record = json.loads(CostEntry(**record, input_tokens=3, cost=0.25).model_dump_json())
    record.update(changes)
    _same_as_model(json.dumps(record, ensure_ascii=ascii).encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FIELDS), max_size=3), st.lists(anything, min_size=3, max_size=3))
def test_repeated_keys_are_read_as_the_model_reads_them(keys: list[str], values: list[Any]) -> None:
    pairs = [f'"{k}":{json.dumps(v)}' for k, v in zip(keys, values, strict=False)]
    head = '"timestamp":1764158400000,"agent":"a","department":"d","model":"m"'
    _same_as_model(("{" + ",".join([head, *pairs]) + "}").encode())


def test_the_fast_path_declares_the_model_fields() -> None:
    row = msgspec.structs.fields(CostLine)
    model = list(CostEntry.model_fields.values())
    assert [f.encode_name for f in row] == [f.alias for f in model]
    assert [f.default for f in row][4:] == [f.default for f in model][4:]


@pytest.mark.parametrize("field", ["agent", "department", "model"])
def test_control_characters_in_names_are_refused(field: str) -> None:
    for char in ("\x00", "\x7f", "\x85"):
        record = {"timestamp": T0, "agent": "a", "department": "d", "model": "m", field: char}
        for ascii in (True, False):
            with pytest.raises(ValueError):
                parse_cost_lines([json.dumps(record, ensure_ascii=ascii).encode()])


def test_a_ledger_read_in_bulk_equals_one_read_line_by_line(
    data_dir: Path, clock: FakeClock
) -> None:
    """Same reports either way; a bad line costs only itself and is reported once."""
    now = int(clock.now.timestamp() * 1000)
    j = Journal(data_dir)
    (data_dir / "costs").mkdir(parents=True)

    def entries(t0: int) -> list[bytes]:
        return [
            CostEntry(
                timestamp=t0 + i * 1000,
                agent=f"agent-{i % 3}",
                department=["Sales", "ops"][i % 2],
                model=["claude-sonnet-4-5", "haiku"][i % 2],
                input_tokens=i,
                output_tokens=2 * i,
                cache_read_tokens=i % 5,
                cost=i * 0.000_123_457,
            ).to_json_line()
            for i in range(300)
        ]

    yesterday, today = now - 86_400_000, now - 3_600_000
    j.path_for("ledger", day_of_ms(yesterday)).write_bytes(b"".join(entries(yesterday)))
    bad = f'{{"timestamp":{today},"agent":"a","department":"d","model":"m","cost":-1}}\n'
    lines = entries(today)
    path = j.path_for("ledger", day_of_ms(today))
    path.write_bytes(b"".join(lines[:100]) + bad.encode() + b"".join(lines[100:]))

    bulk = CostTracker(data_dir, clock=clock)
    vouched: list[int] = []
    parse = bulk._reader.parse_lines
    assert parse is not None
    bulk._reader.parse_lines = lambda chunk: vouched.append(len(chunk)) or parse(chunk)
    one_by_one = CostTracker(data_dir, clock=clock)
    one_by_one._reader.parse_lines = None  # the models' path
    one_by_one._reader._parse_many = None
    assert bulk.get_all_costs() == one_by_one.get_all_costs()
    assert bulk.entries == one_by_one.entries == 600
    assert sum(vouched) == 601  # every chunk offered in bulk first
    reported = [(p.path.name, p.line, "cost" in p.error) for p in bulk.journal.problems]
    assert reported == [(path.name, 101, True)]
