"""Pydantic models of the records written to the journal.

On disk the keys are camelCase (the JSON shape of docs/SPEC.md); in Python, snake_case. Every
record starts with ``timestamp`` so a reader can find where a record begins inside a
line that a crashed writer left torn.
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Annotated, Any, Literal, TypeGuard

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
from pydantic_core import InitErrorDetails, PydanticCustomError

from core.clock import MS_PER_DAY

# No character of Unicode category Cc (U+0000-001F, U+007F-009F): no terminal escapes, no
# line breaks. Identities (agent, department, model, host) also need one visible character.
_NO_CC = r"[^\x00-\x1f\x7f-\x9f]"
_IDENTITY = rf"{_NO_CC}*[^\s\x00-\x1f\x7f-\x9f]{_NO_CC}*"
#: 1-200 characters, none of category Cc, not only white space.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=rf"^{_IDENTITY}$"),
]
#: The writer's host name: empty, or a name of at most 255 characters (the DNS limit).
Host = Annotated[str, StringConstraints(max_length=255, pattern=rf"^(?:{_IDENTITY})?$")]
_NAME = TypeAdapter(Name)
_HOST = TypeAdapter(Host)
#: The names in an alert's ``data`` that identify its subject (see core/alerts/state.py).
SUBJECT_KEYS = ("agent", "department", "model")


def refusal(field: str, value: object, message: str) -> ValidationError:
    """A ValidationError naming ``field``: how the API refuses a value it cannot store."""
    error = PydanticCustomError(
        "value_error", "{field}: {message}", {"field": field, "message": message}
    )
    detail: InitErrorDetails = {"type": error, "loc": (field,), "input": value}
    return ValidationError.from_exception_data("werkpilot", [detail])


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


# Names and hosts that passed: an agent records under a handful, so the hot path checks a
# set instead of running the validator (~1 µs) on every call. Only exact ``str`` is kept.
_GOOD_NAMES: set[str] = set()
_GOOD_HOSTS: set[str] = set()
_MAX_REMEMBERED = 10_000  # a few MB at most, even for 200-character names
#: The same sets, read-only, for the hot paths: ``type(x) is str and x in KNOWN_NAMES`` is
#: ``is_known_name(x)`` without the call (they are cleared in place, never replaced).
KNOWN_NAMES: AbstractSet[str] = _GOOD_NAMES
KNOWN_HOSTS: AbstractSet[str] = _GOOD_HOSTS


def _remember(good: set[str], value: str) -> None:
    if type(value) is str:
        if len(good) >= _MAX_REMEMBERED:
            good.clear()
        good.add(value)


def is_known_name(value: object) -> TypeGuard[str]:
    """True when ``value`` is a name that already passed the name rule (no validator run)."""
    return type(value) is str and value in _GOOD_NAMES


def is_known_host(value: object) -> TypeGuard[str]:
    """True when ``value`` is a host name that already passed the host rule."""
    return type(value) is str and value in _GOOD_HOSTS


def remember_valid(names: tuple[str | None, ...], host: str) -> None:
    """Note names and a host that a record model has just accepted."""
    for name in names:
        if name is not None and name not in _GOOD_NAMES:
            _remember(_GOOD_NAMES, name)
    if host not in _GOOD_HOSTS:
        _remember(_GOOD_HOSTS, host)


def check_name(value: object, field: str) -> str:
    """Validate an agent, department or model name; the ValueError names ``field``."""
    if type(value) is str and value in _GOOD_NAMES:
        return value
    try:
        name = _NAME.validate_python(value, strict=True)
    except ValidationError as exc:
        raise ValueError(f"{field}: {_name_error(exc)} (got {_short(value)})") from None
    _remember(_GOOD_NAMES, name)
    return name


def refuse_bad_name(value: object, field: str) -> str:
    """``check_name`` for the recording API: the same rule, refused as a ValidationError."""
    if type(value) is str and value in _GOOD_NAMES:
        return value
    try:
        name = _NAME.validate_python(value, strict=True)
    except ValidationError as exc:
        raise refusal(field, value, f"{_name_error(exc)} (got {_short(value)})") from None
    _remember(_GOOD_NAMES, name)
    return name


def check_host(value: object, field: str = "host") -> str:
    """Validate a host name (empty allowed); the ValueError names ``field``."""
    if type(value) is str and value in _GOOD_HOSTS:
        return value
    try:
        host = _HOST.validate_python(value, strict=True)
    except ValidationError as exc:
        raise ValueError(f"{field}: {_name_error(exc)} (got {_short(value)})") from None
    _remember(_GOOD_HOSTS, host)
    return host


def _name_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    if error["type"] == "string_pattern_mismatch":
        return "needs a visible character and no control characters (Unicode Cc)"
    return str(error["msg"])


#: Before 2000-01-01: a timestamp in seconds, or a mistake (unless importing history).
HISTORY_START_MS = 946_684_800_000
#: How far ahead of the clock a timestamp may be (clock skew between hosts).
FUTURE_SLACK_MS = MS_PER_DAY


def api_timestamp(value: object, now: int, allow_history: bool = False) -> int:
    """A caller's timestamp (epoch ms or an aware datetime) as epoch ms, if plausible.

    Refused with a ValidationError naming ``timestamp``: anything but a whole number of
    milliseconds, more than a day after ``now``, or before 2000 (a time in seconds lands in
    1970) unless ``allow_history``. Only the API checks this: readers fold whatever the
    record model accepts, so older history on disk stays readable.
    """
    if type(value) is int:  # the usual case first (neither a datetime nor a bool)
        ms = value
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise refusal("timestamp", value, "datetime must be timezone-aware (UTC)")
        ms = math.floor(value.timestamp() * 1000)
    elif isinstance(value, int) and not isinstance(value, bool):
        ms = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise refusal("timestamp", value, f"expected whole epoch milliseconds, got {value!r}")
        ms = int(value)
    else:
        raise refusal(
            "timestamp",
            value,
            f"expected epoch milliseconds (int) or an aware datetime, got {_short(value)}",
        )
    if ms > now + FUTURE_SLACK_MS:
        raise refusal(
            "timestamp", value, f"{ms} is more than a day after now ({now} ms since the epoch)"
        )
    if allow_history and ms < 0:
        raise refusal("timestamp", value, f"{ms} is before 1970")
    if not allow_history and ms < HISTORY_START_MS:
        raise refusal(
            "timestamp",
            value,
            f"{ms} is before 2000-01-01 (seconds instead of milliseconds?); "
            "to import older history pass allow_history=True",
        )
    return ms


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
#: Checkpoints store integers as signed 64-bit JSON numbers.
MAX_INT64 = 2**63 - 1


def check_json_value(value: Any, where: str = "data", depth: int = 0) -> None:
    """Raise ValueError unless ``value`` is stored and read back as JSON unchanged."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_INT64 <= value <= MAX_INT64:
            raise ValueError(f"{where}: integers must fit in 64 bits, got {_short(value)}")
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


def check_data(data: dict[str, Any]) -> None:
    """Raise ValueError unless an alert's ``data`` is storable JSON whose subject names
    (``agent``, ``department``, ``model``) follow the name rule."""
    for key, item in data.items():
        check_json_value(key, "data key")
        check_json_value(item, f"data.{key}", 1)
    for key in SUBJECT_KEYS:
        item = data.get(key)
        if item is not None:
            try:
                _NAME.validate_python(item, strict=True)
            except ValidationError as exc:
                raise ValueError(f"data.{key}: {_name_error(exc)} (got {_short(item)})") from None


# Every number is bounded to what every reader folds: sums in 64-bit integers, Decimal
# arithmetic of 28 digits, checkpoints of 64-bit JSON numbers.
MAX_PID = 2**32 - 1  # pid_t and Windows' DWORD
MAX_ENTRY_COST = 1e9  # USD per cost entry: 1e18 nano-dollars, exact in a Decimal
Pid = Annotated[int, Field(ge=0, le=MAX_PID)]
EntryCost = Annotated[float, Field(ge=0, le=MAX_ENTRY_COST, allow_inf_nan=False)]
# Execution figures are summed in signed 64-bit prefix sums (core/monitor/windows.py): one absurd
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
MAX_EPOCH_MS = 253_402_300_799_999  # the last millisecond of year 9999
EpochMs = Annotated[int, Field(ge=0, le=MAX_EPOCH_MS)]
#: Where an ingested record came from (``otlp:<trace id>:<span id>``): the key that makes a
#: retried delivery count once. Absent (and not written) for records agents track directly.
MAX_SOURCE_ID = 120
SourceId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE_ID)]

#: ``refused``: the guard (core/guards) refused the run before it spent; ``error`` holds
#: the reason. Not an error: it counts in neither error rates nor response times.
Status = Literal["completed", "error", "failed", "refused"]
Level = Literal["info", "warning", "critical"]
Pricing = Literal["exact", "family", "caller", "reported", "unpriced"]
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
    host: Host = ""
    pid: Pid = 0
    source_id: SourceId | None = None

    def to_json_line(self) -> bytes:
        """One JSON line; ``sourceId`` only when the record has one."""
        exclude = None if self.source_id is not None else {"source_id"}
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude=exclude) + b"\n"

    @property
    def is_error(self) -> bool:
        return self.status in ERROR_STATUSES


class CostEntry(Record):
    """One priced model call, as recorded by the cost ledger."""

    timestamp: EpochMs
    agent: Name
    department: Name
    model: Name
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cache_read_tokens: Tokens = 0
    cache_write_tokens: Tokens = 0
    cost: EntryCost = 0.0  # USD
    pricing: Pricing = "exact"
    host: Host = ""
    pid: Pid = 0
    source_id: SourceId | None = None

    def to_json_line(self) -> bytes:
        """One JSON line; ``sourceId`` only when the record has one."""
        exclude = None if self.source_id is not None else {"source_id"}
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude=exclude) + b"\n"

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
    escalated_from: str | None = Field(default=None, max_length=200)
    until: EpochMs | None = None
    channel: str | None = Field(default=None, max_length=200)
    ok: bool | None = None
    error: Text | None = None
    host: Host = ""
    pid: Pid = 0

    @field_validator("data")
    @classmethod
    def _json_data(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            check_data(value)
        return value

    def to_json_line(self) -> bytes:
        """One JSON line without the fields this kind of event leaves empty."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True) + b"\n"


AuditAction = Literal[
    "acknowledged",  # an alert acknowledged (subject: alert id; after: until, if any)
    "unacknowledged",  # an acknowledgement taken back (the console's undo)
    "snoozed",  # an alert acknowledged until a time (after: until)
    "silenced",  # a condition silenced (subject: fingerprint; after: until)
    "unsilenced",  # a silence lifted
    "budget_set",  # a department's monthly budget (before/after: USD, None when unset)
    "paused",  # an agent paused: its guard refuses every call until resumed
    "resumed",  # a paused agent resumed
]
#: Who did it: ``user@host`` for the console and the CLI, ``token:NAME`` for the API.
Actor = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=rf"^{_IDENTITY}$")]


class AuditEvent(Record):
    """One operator action: who did what to which subject, when, from what to what, and why.

    The audit journal is also the truth of which agents are paused (the fold of ``paused``
    and ``resumed`` events), so a pause is seen by every process on the data directory.
    """

    timestamp: EpochMs
    action: AuditAction
    actor: Actor
    #: An agent, a department, an alert id or a condition's fingerprint.
    subject: Annotated[
        str, StringConstraints(min_length=1, max_length=1000, pattern=rf"^{_IDENTITY}$")
    ]
    before: Any = None
    after: Any = None
    reason: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_check_text)] = ""
    host: Host = ""
    pid: Pid = 0

    @field_validator("before", "after")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        check_json_value(value, "value")
        return value

    def to_json_line(self) -> bytes:
        """One JSON line without the fields this action leaves empty."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True) + b"\n"
