"""Configuration: ``werkpilot.toml``, environment (CEO_EMAIL, <DEPT>_BUDGET, ...), budgets.toml.

``werkpilot.toml`` is hand-written and never rewritten. Environment variables override it.
Run-time budget edits live in ``data/budgets.toml`` and override both (budget precedence:
budgets.toml > environment > werkpilot.toml > built-in defaults).
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# ``resolve_data_dir`` lives with the journal; re-exported for callers of the config API.
from core.journal.store import Journal
from core.journal.store import resolve_data_dir as resolve_data_dir

DEFAULT_BUDGETS: dict[str, float] = {
    "sales": 500.0,
    "marketing": 300.0,
    "operations": 200.0,
    "support": 150.0,
    "default": 100.0,
}
BUDGETS_FILE = "budgets.toml"
#: The largest monthly budget accepted anywhere (``[budget_limits] max_monthly_usd``).
MAX_MONTHLY_BUDGET_USD = 10_000_000.0
#: Departments with a run-time budget in ``budgets.toml`` (``[budget_limits] max_departments``).
MAX_BUDGET_DEPARTMENTS = 200
log = logging.getLogger("core.config")
_DEPT_BUDGET_ENV = re.compile(r"^([A-Z][A-Z0-9_]*)_BUDGET$")


class ConfigError(ValueError):
    """A configuration problem, naming the file, the key and what is wrong."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ThresholdsConfig(_Section):
    error_rate_warning: float = Field(0.10, ge=0, le=1)
    error_rate_critical: float = Field(0.25, ge=0, le=1)
    min_executions: int = Field(10, ge=0)  # error rate is judged only above this many runs
    response_time_warning_ms: float = Field(30_000, gt=0)
    daily_budget: float = Field(100.0, gt=0)
    budget_levels: tuple[float, float, float] = (0.75, 0.90, 1.00)
    # A breached condition resolves only this fraction below its threshold (no flapping).
    hysteresis: float = Field(0.10, ge=0, lt=1)


class Price(_Section):
    """USD per 1M tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float | None = Field(None, ge=0)
    cache_write: float | None = Field(None, ge=0)


class AlertsConfig(_Section):
    dedup_window_s: float = Field(3600, gt=0)
    escalation_after_s: float = Field(3600, gt=0)
    history: int = Field(500, gt=0)
    retention_days: int = Field(30, gt=0)
    check_interval_s: float = Field(180, gt=0)  # how often a long-running process escalates
    delivery_queue: int = Field(1000, gt=0)  # pending channel deliveries before dropping
    delivery_backoff_s: float = Field(0.5, ge=0)  # first retry delay, doubled per attempt


class EmailConfig(_Section):
    enabled: bool = False
    host: str = "localhost"
    port: int = Field(25, gt=0, lt=65536)
    starttls: bool = False
    ssl: bool = False
    # Send the password (AUTH) over a connection without TLS: off unless set explicitly.
    allow_plaintext_auth: bool = False
    username: str | None = None
    password_env: str = "WERKPILOT_SMTP_PASSWORD"
    to: str | None = None
    from_: str | None = Field(None, alias="from")
    timeout_s: float = Field(10, gt=0)
    retries: int = Field(2, ge=0)


class WebhookConfig(_Section):
    url: str | None = None
    timeout_s: float = Field(5, gt=0)
    levels: list[str] = ["warning", "critical"]
    retries: int = Field(2, ge=0)


class UiConfig(_Section):
    theme: str = "werkpilot-dark"
    refresh_ms: int = Field(250, gt=0)
    theme_dir: str | None = None
    #: The console refuses every action key (acknowledge, snooze, silence, budget, pause).
    read_only: bool = False


class RetentionConfig(_Section):
    snapshots: int = Field(168, gt=0)
    alerts_days: int | None = Field(None, gt=0)  # None: use [alerts] retention_days
    cost_reports_days: int | None = Field(None, gt=0)  # None: kept forever
    # The journals are the source of truth for every total: kept unless these are set.
    executions_days: int | None = Field(None, gt=0)
    ledger_days: int | None = Field(None, gt=0)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8787, gt=0, lt=65536)
    cache_ttl_s: float = Field(60, ge=0)
    max_body_bytes: int = Field(65_536, gt=0)
    token_env: str = "WERKPILOT_API_TOKEN"
    #: Who the audit trail says acted through the API (``token:NAME``);
    #: ``$WERKPILOT_API_TOKEN_NAME`` overrides it.
    token_name: str = Field("api", pattern=r"^[A-Za-z0-9._@+-]{1,100}$")
    request_timeout_s: float = Field(10, gt=0)  # socket timeout: a slow client frees its thread
    header_timeout_s: float = Field(10, gt=0)  # a request's line + headers, all of them
    max_connections: int = Field(64, gt=0, le=4096)  # one thread each


class IngestConfig(_Section):
    """OTLP/HTTP ingestion by ``serve`` (``POST /v1/traces``)."""

    max_body_bytes: int = Field(4 << 20, gt=0)  # per request, before gzip is inflated
    #: OpenTelemetry ``service.name`` -> department, for senders that do not state one.
    departments: dict[str, str] = Field(default_factory=dict)
    #: Claude Code sends each request as an ``api_request`` event and in its counters:
    #: counted from one of them only.
    claude_code: Literal["logs", "metrics"] = "logs"
    #: Record ``gen_ai.client.*`` histograms (for apps that send metrics but no spans).
    gen_ai_metrics: bool = False


class OtlpConfig(_Section):
    """Core's executions also sent as OpenTelemetry metrics (core/otlp/emit.py; the
    ``werkpilot-tui[otel]`` extra). Off unless an endpoint is set here or in
    ``OTEL_EXPORTER_OTLP_ENDPOINT``."""

    endpoint: str | None = None  # e.g. http://collector:4318 (/v1/metrics is appended)
    interval_s: float = Field(10, gt=0)
    queue_size: int = Field(10_000, gt=0)


class AlertmanagerConfig(_Section):
    """Prometheus Alertmanager (v2 API) receiving raised and resolved alerts."""

    url: str | None = None  # e.g. http://alertmanager:9093; off when unset
    timeout_s: float = Field(5, gt=0)
    retries: int = Field(2, ge=0)
    levels: list[str] = ["info", "warning", "critical"]
    ttl_s: float = Field(86_400, gt=0)  # endsAt of a firing alert: Alertmanager ends it after


class BudgetLimits(_Section):
    """One ceiling for every budget (file, environment, editor, API, ``set_department_budget``).

    A typo (``1e15``) must not become a budget that every later display and sum has to carry;
    the department cap keeps ``budgets.toml`` (rewritten on every edit) small."""

    # Bounded itself, so no configuration lets a budget leave the range the readers fold.
    max_monthly_usd: float = Field(MAX_MONTHLY_BUDGET_USD, gt=0, le=1e12, allow_inf_nan=False)
    max_departments: int = Field(MAX_BUDGET_DEPARTMENTS, gt=0, le=100_000)


class GuardConfig(_Section):
    """The guard before the call (core/guard): loop detection of identical calls."""

    #: The same call (model + fingerprint) allowed this many times within ``loop_window_s``;
    #: the next one is refused with LoopDetected.
    loop_max: int = Field(5, gt=0, le=1_000_000)
    loop_window_s: float = Field(60, gt=0, le=86_400 * 31, allow_inf_nan=False)


#: A hard cap: an amount in USD, or ``true`` (the department's monthly budget is the cap).
HardCap = Annotated[float, Field(gt=0, allow_inf_nan=False)] | bool


def _usd(amount: float) -> str:
    return f"${amount:,.0f}" if amount == int(amount) else f"${amount:,.2f}"


#: The smallest monthly budget: a cent, so every spend is a finite share of it.
MIN_MONTHLY_BUDGET_USD = 0.01


def budget_problem(amount: object, max_usd: float = MAX_MONTHLY_BUDGET_USD) -> str | None:
    """Why ``amount`` cannot be a monthly budget, or None; shared by every place that sets one.

    The words fit after a field name: ``amount: too large (max $10,000,000)``."""
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int | float)
        or (isinstance(amount, float) and math.isnan(amount))
    ):
        return "must be a number of USD"
    if amount <= 0:
        return "must be a positive amount"
    if amount < MIN_MONTHLY_BUDGET_USD:  # spend over 1e-300 USD: an infinite percentage
        return "must be at least $0.01"
    if amount > max_usd:  # also inf, and ints too large for a float (compared exactly)
        return f"too large (max {_usd(max_usd)})"
    return None


def _shown(value: object) -> str:
    """A bounded repr for error messages (a huge int or string stays short)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"  # repr may exceed the digit limit
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Config(_Section):
    """The whole configuration; every tunable number is a field here."""

    thresholds: ThresholdsConfig = ThresholdsConfig()
    budgets: dict[str, Annotated[float, Field(ge=MIN_MONTHLY_BUDGET_USD, allow_inf_nan=False)]] = (
        Field(default_factory=dict)
    )
    pricing: dict[str, Price] = Field(default_factory=dict)
    alerts: AlertsConfig = AlertsConfig()
    email: EmailConfig = EmailConfig()
    webhook: WebhookConfig = WebhookConfig()
    ui: UiConfig = UiConfig()
    retention: RetentionConfig = RetentionConfig()
    server: ServerConfig = ServerConfig()
    ingest: IngestConfig = IngestConfig()
    otlp: OtlpConfig = OtlpConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    budget_limits: BudgetLimits = BudgetLimits()
    #: ``[budgets.hard]``: departments whose spend the guard refuses beyond (per department
    #: an amount or ``true`` for its monthly budget; ``hard = true`` under ``[budgets]`` makes
    #: every monthly budget hard). Split off ``budgets`` before validation.
    hard_budgets: dict[str, HardCap] | bool = Field(default_factory=dict)
    guard: GuardConfig = GuardConfig()
    #: The console's keys: binding id -> key(s) (Textual keymap), e.g. "dashboard.acknowledge"
    #: = "k"; ids are listed in the README (``werkpilot_tui.console.palette_commands.binding_ids``).
    keys: dict[str, str] = Field(default_factory=dict)
    source: str = Field("built-in defaults", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _split_hard_budgets(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("budgets"), dict):
            if "hard" in data["budgets"]:
                budgets = dict(data["budgets"])
                data = {**data, "budgets": budgets, "hard_budgets": budgets.pop("hard")}
        return data

    @field_validator("hard_budgets")
    @classmethod
    def _lower_hard(cls, value: dict[str, float | bool] | bool) -> dict[str, float | bool] | bool:
        if isinstance(value, bool):
            return value
        return {k.lower(): v if isinstance(v, bool) else float(v) for k, v in value.items()}

    def hard_cap_of(self, department: str) -> float | bool:
        """The configured hard cap of ``department`` (lower case): an amount, True for its
        monthly budget, False when its budget is soft (alerts only)."""
        hard = self.hard_budgets
        if isinstance(hard, bool):
            return hard
        return hard.get(department, hard.get("default", False)) if hard else False

    @field_validator("budgets")
    @classmethod
    def _positive_budgets(cls, value: dict[str, float]) -> dict[str, float]:
        # Positive and finite per key (checked by the type, so errors name budgets.<dept>).
        return {k.lower(): float(v) for k, v in value.items()}

    def budget_for(self, department: str) -> float:
        """The configured monthly budget (before run-time edits)."""
        dept = department.lower()
        if dept in self.budgets:
            return self.budgets[dept]
        if dept in DEFAULT_BUDGETS:
            return DEFAULT_BUDGETS[dept]
        return self.budgets.get("default", DEFAULT_BUDGETS["default"])

    @property
    def alert_retention_days(self) -> int:
        return self.retention.alerts_days or self.alerts.retention_days


def _format_loc(loc: tuple[Any, ...]) -> str:
    # Union members name their type in the path (``dict[str,...]``, ``constrained-float``).
    tags = ("__root__", "bool", "float")
    parts = [str(p) for p in loc if p not in tags and not str(p).startswith(("dict[", "constr"))]
    key = ".".join(parts)
    return "budgets.hard" + key[len("hard_budgets") :] if key.startswith("hard_budgets") else key


def _validation_to_config_error(source: str, exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    problem = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        problem = "unknown key"
    return ConfigError(source, _format_loc(err["loc"]), problem)


def _lists_to_tuples(model: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    """TOML has arrays, not tuples: convert them where a field is a tuple, for strict checks."""
    out = dict(raw)
    for name, info in model.model_fields.items():
        key = info.alias if info.alias in out else name
        value = out.get(key)
        annotation = info.annotation
        if get_origin(annotation) is tuple and isinstance(value, list):
            out[key] = tuple(value)
        elif (
            isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
            and isinstance(value, dict)
        ):
            out[key] = _lists_to_tuples(annotation, value)
    return out


def _validate(raw: dict[str, Any]) -> Config:
    # Strict: a hand-written ``true`` or ``"25"`` where a number belongs is a mistake to report,
    # not to coerce.
    return Config.model_validate(_lists_to_tuples(Config, raw), strict=True)


def _check_budget_ceiling(cfg: Config, source: str) -> Config:
    """Budgets from the file or the environment over ``[budget_limits] max_monthly_usd``."""
    for dept, amount in cfg.budgets.items():
        problem = budget_problem(amount, cfg.budget_limits.max_monthly_usd)
        if problem:
            raise ConfigError(source, f"budgets.{dept}", problem)
    return cfg


def _env_float(env: Mapping[str, str], name: str) -> float:
    raw = env[name]
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}", name, f"not a number: {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"environment variable {name}", name, "must be a positive amount")
    return value


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    # An empty variable counts as unset: ``SALES_BUDGET=`` keeps the configured budget.
    if env.get("DAILY_BUDGET", "").strip():
        raw.setdefault("thresholds", {})["daily_budget"] = _env_float(env, "DAILY_BUDGET")
    for name in env:
        m = _DEPT_BUDGET_ENV.match(name)
        if m and m[1] != "DAILY" and env[name].strip():
            raw.setdefault("budgets", {})[m[1].lower()] = _env_float(env, name)
    email = raw.setdefault("email", {})
    for var, key in (
        ("CEO_EMAIL", "to"),
        ("ALERT_EMAIL_FROM", "from"),
        ("WERKPILOT_SMTP_HOST", "host"),
        ("WERKPILOT_SMTP_USER", "username"),
    ):
        if env.get(var):
            email.pop("from_" if key == "from" else key, None)
            email[key] = env[var]
    if env.get("WERKPILOT_SMTP_PORT"):
        try:
            email["port"] = int(env["WERKPILOT_SMTP_PORT"])
        except ValueError:
            raise ConfigError(
                "environment variable WERKPILOT_SMTP_PORT", "WERKPILOT_SMTP_PORT", "not a port"
            ) from None
    if env.get("WERKPILOT_WEBHOOK_URL"):
        raw.setdefault("webhook", {})["url"] = env["WERKPILOT_WEBHOOK_URL"]
    if env.get("WERKPILOT_ALERTMANAGER_URL"):
        raw.setdefault("alertmanager", {})["url"] = env["WERKPILOT_ALERTMANAGER_URL"]
    return raw


def find_config_path(config: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    """``config`` if given, else ``$WERKPILOT_CONFIG``, else ``./werkpilot.toml`` if present."""
    if config is not None:
        return Path(config)
    if env.get("WERKPILOT_CONFIG"):
        return Path(env["WERKPILOT_CONFIG"])
    default = Path("werkpilot.toml")
    return default if default.is_file() else None


def load_config(
    config: str | os.PathLike[str] | Config | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Read ``werkpilot.toml`` (if any) and apply the environment; raise ConfigError if bad."""
    if isinstance(config, Config):
        return config
    env = os.environ if env is None else env
    path = find_config_path(config, env)
    raw: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(source, "", "file not found") from None
        except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            raise ConfigError(source, "", f"cannot read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    try:
        _check_budget_ceiling(_validate(raw), source)  # file errors first, by the file's keys
    except ValidationError as exc:
        raise _validation_to_config_error(source, exc) from None
    raw = _apply_env(raw, env)
    try:
        cfg = _check_budget_ceiling(_validate(raw), f"{source} + environment")
    except ValidationError as exc:
        raise _validation_to_config_error(f"{source} + environment", exc) from None
    return cfg.model_copy(update={"source": source})


class RuntimeBudgets:
    """Department budgets with ``data/budgets.toml`` edits on top; reloaded when it changes.

    An entry of the file over ``max_monthly_usd`` (written by hand, or before the ceiling
    existed) is logged once, listed in ``ignored`` and skipped: the department falls back to
    its configured budget, and every process keeps working."""

    #: Longest an edit of budgets.toml that bypasses the journal (by hand) goes unseen.
    RECHECK_NS = 250_000_000

    def __init__(self, config: Config, journal: Journal) -> None:
        self.config = config
        self.journal = journal
        self._stamp: tuple[int | None, int | None] | None = None
        self._beacon: int | None = None
        self._recheck_at = 0
        self._edits: dict[str, float] = {}
        self._resolved: dict[str, float] = {}
        self.ignored: list[str] = []  # "file: budgets.x: problem" of the last version read
        self._skipped: list[str] = []

    def _reload(self) -> None:
        # The beacon every process's ``set`` moves says "no edit since" without a system
        # call; a ``stat`` still runs at least every ``RECHECK_NS`` (an edit by hand, or a
        # half-read word), and whenever the beacon moved (part of the stamp: a new file
        # with the old file's inode, size and mtime tick is still read).
        beacon = self.journal.document_beacon(BUDGETS_FILE)
        now = time.monotonic_ns()
        if beacon is not None and beacon == self._beacon and now < self._recheck_at:
            return
        self._beacon, self._recheck_at = beacon, now + self.RECHECK_NS
        stamp = (beacon, self.journal.document_mtime(BUDGETS_FILE))
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._edits = self._read()
        self._resolved = {}  # department as given -> its budget, worked out again
        self.ignored = self._skipped
        for problem in self._skipped:
            log.warning("ignored %s", problem)

    def _read(self) -> dict[str, float]:
        self._skipped = []
        raw = self.journal.read_document(BUDGETS_FILE)
        if raw is None:
            return {}
        source = str(self.journal.root / BUDGETS_FILE)
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(source, "", f"not valid TOML: {exc}") from None
        budgets = doc.get("budgets", {})
        if not isinstance(budgets, dict):
            raise ConfigError(source, "budgets", "must be a table")
        out: dict[str, float] = {}
        max_usd = self.config.budget_limits.max_monthly_usd
        for dept, amount in budgets.items():
            problem = budget_problem(amount, max_usd)
            if problem is None:
                out[dept.lower()] = float(amount)
            elif problem.startswith("too large"):
                shown = _shown(amount)
                self._skipped.append(f"{source}: budgets.{dept}: {problem} (got {shown})")
            else:
                raise ConfigError(source, f"budgets.{dept}", problem)
        return out

    def edits(self) -> dict[str, float]:
        self._reload()
        return dict(self._edits)

    def budget_for(self, department: str) -> float:
        """A department's budget: its edit, else (for a department without one of its own)
        the edited default, else the configured one. No system call while nothing was
        edited (see ``_reload``); an edit by hand shows within ``RECHECK_NS``."""
        beacon = self.journal.document_beacon(BUDGETS_FILE)  # ``_reload``'s "no edit since"
        if beacon is None or beacon != self._beacon or time.monotonic_ns() >= self._recheck_at:
            self._reload()
        budget = self._resolved.get(department)
        if budget is None:
            if len(self._resolved) >= 10_000:
                self._resolved.clear()
            budget = self._resolved[department] = self._budget_for(department.lower())
        return budget

    def _budget_for(self, dept: str) -> float:
        if dept in self._edits:
            return self._edits[dept]
        if (
            dept not in self.config.budgets
            and dept not in DEFAULT_BUDGETS
            and "default" in self._edits
        ):
            return self._edits["default"]
        return self.config.budget_for(dept)

    def known_departments(self) -> list[str]:
        self._reload()
        names = set(DEFAULT_BUDGETS) | set(self.config.budgets) | set(self._edits)
        names.discard("default")
        return sorted(names)

    def set(self, department: str, amount: float) -> None:
        """Persist a run-time budget edit atomically; every process sees it on its next query.

        ValueError naming the field: ``amount`` not a positive number up to
        ``max_monthly_usd``, a bad ``department`` name, or a new department when
        ``max_departments`` already have a run-time budget (existing ones can be changed)."""
        limits = self.config.budget_limits
        problem = budget_problem(amount, limits.max_monthly_usd)
        if problem:
            raise ValueError(f"amount: {problem} (got {_shown(amount)})")
        from core.records import check_name

        check_name(department, "department")
        dept = department.lower()
        with self.journal.lock("budgets"):
            edits = self._read()
            if dept not in edits and len(edits) >= limits.max_departments:
                raise ValueError(
                    f"department: {limits.max_departments} departments already have a budget "
                    f"in {BUDGETS_FILE} (the most allowed); cannot add {_shown(dept)}"
                )
            edits[dept] = float(amount)
            self.journal.write_document(BUDGETS_FILE, tomli_w.dumps({"budgets": edits}))
        self._stamp, self._recheck_at = None, 0
