"""msgspec mirrors of the journal's record models, for reading many lines at once and
writing one line fast.

``Execution.model_validate_json`` costs about 3 µs a line, which makes a cold rebuild of a
million records take seconds. msgspec decodes a line into a struct declaring the same fields,
defaults, types and ranges in about 0.7 µs, checking them in C while it parses; the names'
character rule is then checked once per distinct name. A mirror only ever *accepts* what its
model accepts (tests/test_execution_reader.py and tests/test_cost_rows.py compare them on
random records): whatever it refuses, a caller hands to the model line by line, which decides
and reports each bad line. Rows carry the model's attribute names, so the aggregates read a
row and a model alike.

The writers' mirrors (``CostOut``, ``ExecutionOut``) check nothing: the recording API checks a
plainly valid entry by hand (names already seen, plain numbers in range) and encodes it to
the bytes the model would write (tests/test_hot_path.py), in about 0.5 µs instead of 5-7 µs;
whatever it cannot vouch for goes to the model, which accepts or refuses it as always.

The other way, a row built in Python and encoded with :data:`encode_row` is the model's
``to_json_line`` byte for byte when it has a ``source_id`` (tests/test_otlp_fast.py);
:func:`vouch_execution` / :func:`vouch_cost` then check such a line as a reader would. Ingestion
writes its records this way, without building a model per record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from operator import attrgetter
from typing import Annotated, Any, Literal

import msgspec

from core.records import (
    MAX_ENTRY_COST,
    MAX_EXECUTION_COST,
    MAX_EXECUTION_MS,
    MAX_EXECUTION_TOKENS,
    MAX_MEMORY_DELTA,
    MAX_PID,
    MAX_SOURCE_ID,
    CostEntry,
    check_host,
    check_name,
)

#: The writing process's id (the ``pid`` of every record), kept current across ``fork``:
#: ``getpid`` is a system call (~2 µs on some hosts) the hot path would make per record.
_pid = os.getpid()


def writer_pid() -> int:
    return _pid


def _forked() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forked)

_Pid = Annotated[int, msgspec.Meta(ge=0, le=MAX_PID)]
_Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_EXECUTION_TOKENS)]
_Ms = Annotated[float, msgspec.Meta(ge=0, le=MAX_EXECUTION_MS)]  # msgspec refuses NaN, 1e400
_Usd = Annotated[float, msgspec.Meta(ge=0, le=MAX_ENTRY_COST)]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # + check_names
_Host = Annotated[str, msgspec.Meta(max_length=255)]  # + check_hosts
_EpochMs = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]


class ExecutionLine(msgspec.Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    """``core.records.Execution`` as msgspec checks it while parsing."""

    timestamp: _EpochMs
    agent: _Name
    status: Literal["completed", "error", "failed", "refused"] = "completed"
    duration: _Ms = 0.0
    tokens_used: _Tokens = 0
    input_tokens: _Tokens = 0
    output_tokens: _Tokens = 0
    cache_read_tokens: _Tokens = 0
    cache_write_tokens: _Tokens = 0
    model: _Name | None = None
    department: _Name | None = None
    cost: Annotated[float, msgspec.Meta(ge=0, le=MAX_EXECUTION_COST)] = 0.0
    cpu_time: _Ms = 0.0
    memory_delta: Annotated[float, msgspec.Meta(ge=-MAX_MEMORY_DELTA, le=MAX_MEMORY_DELTA)] = 0.0
    api_calls: _Tokens = 0
    error: str | None = None  # msgspec refuses a lone surrogate, as the model does
    host: _Host = ""
    pid: _Pid = 0
    source_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE_ID)] | None = None


class CostLine(msgspec.Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    """``core.records.CostEntry`` as msgspec checks it while parsing."""

    timestamp: _EpochMs
    agent: _Name
    department: _Name
    model: _Name
    input_tokens: _Tokens = 0
    output_tokens: _Tokens = 0
    cache_read_tokens: _Tokens = 0
    cache_write_tokens: _Tokens = 0
    cost: _Usd = 0.0
    pricing: Literal["exact", "family", "caller", "reported", "unpriced"] = "exact"
    host: _Host = ""
    pid: _Pid = 0
    source_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE_ID)] | None = None


class CostOut(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """A cost entry on its way out, checked by ``CostTracker`` (not here): the same fields
    in the same order as ``CostEntry``, encoded to the same bytes as ``CostEntry.to_json_line``
    (``sourceId`` only when set) in a fraction of the time (tests/test_hot_path.py compares
    them on random entries)."""

    timestamp: int
    agent: str
    department: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost: float
    pricing: str
    host: str
    pid: int
    source_id: str | None = None


class ExecutionOut(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """An execution on its way out, checked by ``PerformanceMonitor.record_run`` (not here):
    ``Execution``'s fields in its order, encoded to the bytes of ``Execution.to_json_line``."""

    timestamp: int
    agent: str
    status: str
    duration: float
    tokens_used: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    model: str | None
    department: str | None
    cost: float
    cpu_time: float
    memory_delta: float
    api_calls: int
    error: str | None
    host: str
    pid: int
    source_id: str | None = None


#: A cost entry as the aggregates see it: validated either way, the same attributes.
CostRecord = CostEntry | CostLine | CostOut

_encode = msgspec.json.Encoder().encode


def cost_out_line(row: CostOut) -> bytes:
    """``row`` as one JSON line, byte for byte what ``CostEntry.to_json_line`` writes."""
    return _encode(row) + b"\n"


def execution_out_line(row: ExecutionOut) -> bytes:
    """``row`` as one JSON line, byte for byte what ``Execution.to_json_line`` writes."""
    return _encode(row) + b"\n"


decode_execution = msgspec.json.Decoder(ExecutionLine).decode
_decode_cost = msgspec.json.Decoder(CostLine).decode
#: A row as its journal line without the newline (not checked: see :func:`vouch_execution`).
encode_row = msgspec.json.Encoder().encode
_good_names: set[str] = set()
_good_hosts: set[str] = set()


def check_names(names: Sequence[Any], optional: bool = False) -> None:
    """Raise ValueError unless every name follows the name rule (each distinct one checked
    once, and remembered)."""
    for name in set(names):
        if name in _good_names or (optional and name is None):
            continue
        check_name(name, "name")
        if len(_good_names) > 100_000:
            _good_names.clear()
        _good_names.add(name)


def check_hosts(hosts: Sequence[str]) -> None:
    """Raise ValueError unless every host name follows the host rule (each distinct one
    checked once, and remembered: a journal holds a handful)."""
    for host in set(hosts):
        if host not in _good_hosts:
            check_host(host)
            if len(_good_hosts) > 10_000:
                _good_hosts.clear()
            _good_hosts.add(host)


def _vouch_names(agent: Any, department: Any, model: Any, host: Any) -> None:
    good = _good_names
    if agent not in good or (department not in good and department is not None):
        check_names([agent, department], optional=True)
    if model not in good and model is not None:
        check_names([model], optional=True)
    if host not in _good_hosts:
        check_hosts([host])


def vouch_execution(line: bytes) -> ExecutionLine:
    """One line as a reader accepts it (``parse_execution_lines`` of one); else ValueError."""
    row = decode_execution(line)
    _vouch_names(row.agent, row.department, row.model, row.host)
    return row


def vouch_cost(line: bytes) -> CostLine:
    """One line as a reader accepts it (``parse_cost_lines`` of one); else ValueError."""
    row = _decode_cost(line)
    _vouch_names(row.agent, row.department, row.model, row.host)
    return row


_NAMES = tuple(map(attrgetter, ("agent", "department", "model")))
_HOSTS = attrgetter("host")


def parse_execution_lines(lines: list[bytes]) -> list[ExecutionLine]:
    """Complete JSON lines as validated rows; raises ValueError when it cannot vouch."""
    rows = list(map(decode_execution, lines))  # msgspec's errors are ValueErrors
    agent, department, model = _NAMES
    check_names(list(map(agent, rows)))
    check_names(list(map(department, rows)), optional=True)
    check_names(list(map(model, rows)), optional=True)
    check_hosts(list(map(_HOSTS, rows)))
    return rows


def parse_cost_lines(lines: list[bytes]) -> list[CostRecord]:
    """Complete JSON lines as validated rows; raises ValueError when it cannot vouch."""
    rows: list[CostRecord] = list(map(_decode_cost, lines))  # msgspec's errors: ValueErrors
    for get in _NAMES:
        check_names(list(map(get, rows)))
    check_hosts(list(map(_HOSTS, rows)))
    return rows
