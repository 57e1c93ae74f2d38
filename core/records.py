"""Pydantic models of the records written to the journal.

On disk the keys are the seed's camelCase names; in Python they are snake_case. Every
record starts with ``timestamp`` so a reader can find where a record begins inside a
line that a crashed writer left torn.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

#: 1-200 characters, none of Unicode category Cc (U+0000-001F, U+007F-009F).
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"),
]
_NAME = TypeAdapter(Name)


def check_name(value: object, field: str) -> str:
    """Validate an agent, department or model name; the error names ``field``."""
    try:
        return _NAME.validate_python(value, strict=True)
    except ValidationError as exc:
        raise ValueError(f"{field}: {exc.errors()[0]['msg']} (got {value!r})") from None


def _check_text(value: str) -> str:
    # A lone surrogate cannot be written as UTF-8: reject it here, naming the field, rather
    # than fail later in the writer.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text (lone surrogate)") from None
    return value


#: Free text (messages, errors): anything that can be stored as UTF-8, stored verbatim.
Text = Annotated[str, AfterValidator(_check_text)]

#: The reader's JSON parser refuses deeper nesting (200); stay well inside it.
MAX_DATA_DEPTH = 64


def check_json_value(value: Any, where: str = "data", depth: int = 0) -> None:
    """Raise ValueError unless ``value`` is stored and read back as JSON unchanged."""
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: numbers must be finite, got {value!r}")
    elif isinstance(value, str):
        try:
            _check_text(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    elif depth >= MAX_DATA_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_DATA_DEPTH} levels")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_json_value(item, f"{where}[{i}]", depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings, got {key!r}")
            check_json_value(key, f"{where} key", depth + 1)
            check_json_value(item, f"{where}.{key}", depth + 1)
    else:
        raise ValueError(f"{where}: {type(value).__name__} cannot be stored as JSON")


NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
# Execution figures are summed in signed 64-bit prefix sums (core/windows.py): one absurd
# value (a duration of 1e300 ms) would overflow them, so each is capped far above real use,
# where even ~10^6 capped values in a week still sum within 2**63.
MAX_EXECUTION_MS = 1e10  # about 116 days, in ms (duration and CPU time)
MAX_EXECUTION_COST = 1e6  # USD per execution
MAX_EXECUTION_TOKENS = 10**12
MAX_MEMORY_DELTA = 1e15  # bytes, either way
Milliseconds = Annotated[float, Field(ge=0, le=MAX_EXECUTION_MS, allow_inf_nan=False)]
ExecutionCost = Annotated[float, Field(ge=0, le=MAX_EXECUTION_COST, allow_inf_nan=False)]
Tokens = Annotated[int, Field(ge=0, le=MAX_EXECUTION_TOKENS)]
MemoryDelta = Annotated[
    float, Field(ge=-MAX_MEMORY_DELTA, le=MAX_MEMORY_DELTA, allow_inf_nan=False)
]
EpochMs = Annotated[int, Field(ge=0, le=253_402_300_799_999)]  # up to year 9999

Status = Literal["completed", "error", "failed"]
Level = Literal["info", "warning", "critical"]
Pricing = Literal["exact", "family", "caller", "unpriced"]
ERROR_STATUSES = frozenset({"error", "failed"})


class Record(BaseModel):
    """Base of every journal record: strict, camelCase on disk, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        strict=True,
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
    )

    def to_json_line(self) -> bytes:
        """The record as one JSON line (camelCase keys, trailing newline)."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True) + b"\n"


class Execution(Record):
    """One agent execution, as tracked by the performance monitor."""

    timestamp: EpochMs
    agent: Name
    status: Status = "completed"
    duration: Milliseconds = 0.0
    tokens_used: Tokens = 0
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cache_read_tokens: Tokens = 0
    cache_write_tokens: Tokens = 0
    model: Name | None = None
    department: Name | None = None
    cost: ExecutionCost = 0.0  # USD
    cpu_time: Milliseconds = 0.0
    memory_delta: MemoryDelta = 0.0  # bytes; negative when memory was released
    api_calls: Tokens = 0
    error: Text | None = None
    host: str = ""
    pid: Count = 0

    @property
    def is_error(self) -> bool:
        return self.status in ERROR_STATUSES


class CostEntry(Record):
    """One priced model call, as recorded by the cost ledger."""

    timestamp: EpochMs
    agent: Name
    department: Name
    model: Name
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    cost: NonNegativeFloat = 0.0  # USD
    pricing: Pricing = "exact"
    host: str = ""
    pid: Count = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


AlertEventKind = Literal[
    "raised",  # a new alert (fields: level, type, message, data, fingerprint, escalated_from)
    "repeated",  # the same open condition again (fields: message, data)
    "acknowledged",  # (fields: until = optional expiry of the acknowledgement)
    "unacknowledged",  # an acknowledgement taken back (the console's undo)
    "escalated",  # a warning was escalated (alert_id = the warning; data.escalation = new id)
    "resolved",  # the condition cleared
    "silenced",  # a fingerprint silenced until ``until``
    "emailed",  # a critical alert was e-mailed to the CEO after the escalation delay
    "delivery",  # a channel delivery attempt (fields: channel, ok, error)
]


class AlertEvent(Record):
    """One event in an alert's life; an alert's state is the fold of its events."""

    timestamp: EpochMs
    event: AlertEventKind
    alert_id: str = Field(default="", max_length=200)
    level: Level | None = None
    type: Name | None = None
    message: Text | None = None
    data: dict[str, Any] | None = None
    fingerprint: str | None = Field(default=None, max_length=1000)
    escalated_from: str | None = None
    until: EpochMs | None = None
    channel: str | None = None
    ok: bool | None = None
    error: Text | None = None
    host: str = ""
    pid: Count = 0

    @field_validator("data")
    @classmethod
    def _json_data(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            for key, item in value.items():
                check_json_value(key, "key")
                check_json_value(item, key, 1)
        return value

    def to_json_line(self) -> bytes:
        """One JSON line without the fields this kind of event leaves empty."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True) + b"\n"
