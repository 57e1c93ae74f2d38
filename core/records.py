"""Pydantic models of the records written to the journal.

On disk the keys are the seed's camelCase names; in Python they are snake_case. Every
record starts with ``timestamp`` so a reader can find where a record begins inside a
line that a crashed writer left torn.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
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


NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
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
    duration: NonNegativeFloat = 0.0  # ms
    tokens_used: Count = 0
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    model: Name | None = None
    department: Name | None = None
    cost: NonNegativeFloat = 0.0  # USD
    cpu_time: NonNegativeFloat = 0.0  # ms
    memory_delta: FiniteFloat = 0.0  # bytes; negative when memory was released
    api_calls: Count = 0
    error: str | None = None
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
    message: str | None = None
    data: dict[str, Any] | None = None
    fingerprint: str | None = Field(default=None, max_length=1000)
    escalated_from: str | None = None
    until: EpochMs | None = None
    channel: str | None = None
    ok: bool | None = None
    error: str | None = None
    host: str = ""
    pid: Count = 0

    def to_json_line(self) -> bytes:
        """One JSON line without the fields this kind of event leaves empty."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True) + b"\n"
