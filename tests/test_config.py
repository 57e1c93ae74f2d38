"""Configuration: werkpilot.toml, the seed's environment variables, data/budgets.toml."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.config import (
    DEFAULT_BUDGETS,
    BudgetLimits,
    Config,
    ConfigError,
    RuntimeBudgets,
    find_config_path,
    load_config,
    resolve_data_dir,
)
from core.journal.store import Journal

REPO = Path(__file__).resolve().parent.parent

FULL = """
[thresholds]
error_rate_warning = 0.2
error_rate_critical = 0.4
response_time_warning_ms = 10000
daily_budget = 250
budget_levels = [0.5, 0.8, 1.0]
hysteresis = 0.05

[budgets]
Sales = 1000
marketing = 50
default = 80

[pricing.claude-sonnet-4-5]
input = 2.5
output = 12
cache_read = 0.25
cache_write = 3

[pricing.haiku]
input = 0.2
output = 1

[alerts]
dedup_window_s = 600
escalation_after_s = 1800
history = 50
retention_days = 14

[email]
enabled = true
host = "smtp.example.com"
port = 2525
starttls = true
username = "bot"
to = "ceo@example.com"
from = "alerts@example.com"

[webhook]
url = "https://hooks.example.com/x"
timeout_s = 2.5

[ui]
theme = "werkpilot-light"
refresh_ms = 100

[retention]
snapshots = 24
cost_reports_days = 400
"""


def _write(tmp_path: Path, text: str, name: str = "werkpilot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_seed_numbers() -> None:
    cfg = load_config(None, env={})
    assert cfg.source == "built-in defaults"
    t = cfg.thresholds
    assert (t.error_rate_warning, t.error_rate_critical) == (0.10, 0.25)
    assert (t.response_time_warning_ms, t.daily_budget) == (30_000, 100)
    assert (t.min_executions, t.hysteresis) == (10, 0.10)
    assert {d: cfg.budget_for(d) for d in DEFAULT_BUDGETS} == DEFAULT_BUDGETS
    assert cfg.budget_for("legal") == 100
    assert (cfg.alerts.dedup_window_s, cfg.alerts.escalation_after_s) == (3600, 3600)
    assert (cfg.alerts.history, cfg.alert_retention_days, cfg.retention.snapshots) == (500, 30, 168)
    assert cfg.retention.cost_reports_days is None
    assert cfg.email.enabled is False and cfg.webhook.url is None


def test_every_section_of_werkpilot_toml_is_read(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, FULL), env={})
    assert cfg.source.endswith("werkpilot.toml")
    assert cfg.thresholds.error_rate_warning == 0.2
    assert cfg.thresholds.daily_budget == 250
    assert cfg.thresholds.budget_levels == (0.5, 0.8, 1.0)
    assert cfg.thresholds.hysteresis == 0.05
    assert cfg.budget_for("sales") == 1000  # department names are case-insensitive
    assert cfg.budget_for("SALES") == 1000
    assert cfg.budget_for("marketing") == 50
    assert cfg.budget_for("support") == 150  # not in the file: built-in
    assert cfg.budget_for("legal") == 80  # named nowhere: the file's default
    assert cfg.pricing["claude-sonnet-4-5"].cache_write == 3
    assert cfg.pricing["haiku"].cache_read is None
    assert (cfg.alerts.history, cfg.alert_retention_days) == (50, 14)
    assert (cfg.email.host, cfg.email.port, cfg.email.starttls) == ("smtp.example.com", 2525, True)
    assert (cfg.email.to, cfg.email.from_) == ("ceo@example.com", "alerts@example.com")
    assert (cfg.webhook.url, cfg.webhook.timeout_s) == ("https://hooks.example.com/x", 2.5)
    assert (cfg.ui.theme, cfg.ui.refresh_ms) == ("werkpilot-light", 100)
    assert (cfg.retention.snapshots, cfg.retention.cost_reports_days) == (24, 400)


def test_the_file_is_found_from_argument_env_or_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_config_path(None, {}) is None  # conftest chdir'd into an empty tmp_path
    here = _write(tmp_path, "[ui]\nrefresh_ms = 1\n")
    assert find_config_path(None, {}) == Path("werkpilot.toml")
    other = _write(tmp_path, "[ui]\nrefresh_ms = 2\n", "other.toml")
    assert load_config(None, env={"WERKPILOT_CONFIG": str(other)}).ui.refresh_ms == 2
    assert load_config(here, env={"WERKPILOT_CONFIG": str(other)}).ui.refresh_ms == 1
    assert load_config(None, env={}).ui.refresh_ms == 1
    monkeypatch.setenv("WERKPILOT_DATA_DIR", str(tmp_path / "d"))
    assert resolve_data_dir(None) == tmp_path / "d"
    assert resolve_data_dir("x") == Path("x")
    monkeypatch.delenv("WERKPILOT_DATA_DIR")
    assert resolve_data_dir(None) == Path("data")


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "DAILY_BUDGET": "42.5",
        "SALES_BUDGET": "700",
        "MARKETING_BUDGET": "75",
        "LEGAL_OPS_BUDGET": "33",  # any <DEPT>_BUDGET
        "CEO_EMAIL": "boss@example.com",
        "ALERT_EMAIL_FROM": "robot@example.com",
        "WERKPILOT_SMTP_HOST": "mail.local",
        "WERKPILOT_SMTP_PORT": "587",
        "WERKPILOT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
    }
    cfg = load_config(_write(tmp_path, FULL, "full.toml"), env=env)
    assert cfg.thresholds.daily_budget == 42.5
    assert cfg.budget_for("sales") == 700
    assert cfg.budget_for("marketing") == 75
    assert cfg.budget_for("legal_ops") == 33
    assert cfg.budget_for("support") == 150
    assert (cfg.email.to, cfg.email.from_) == ("boss@example.com", "robot@example.com")
    assert (cfg.email.host, cfg.email.port) == ("mail.local", 587)
    assert cfg.webhook.url == "http://127.0.0.1:9/hook"
    # Without a file the environment still applies; empty variables count as unset.
    bare = load_config(None, env={"SALES_BUDGET": "", "DAILY_BUDGET": " ", "CEO_EMAIL": ""})
    assert bare.budget_for("sales") == 500 and bare.thresholds.daily_budget == 100
    assert bare.email.to is None


def test_load_config_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_BUDGET", "99")
    monkeypatch.setenv("CEO_EMAIL", "ceo@corp.example")
    cfg = load_config()
    assert cfg.budget_for("support") == 99 and cfg.email.to == "ceo@corp.example"


def test_budget_precedence_runtime_edits_over_env_over_file_over_defaults(
    tmp_path: Path,
) -> None:
    cfg_file = _write(tmp_path, "[budgets]\nsales = 1000\nmarketing = 50\noperations = 20\n")
    cfg = load_config(cfg_file, env={"SALES_BUDGET": "700", "MARKETING_BUDGET": "60"})
    journal = Journal(tmp_path / "data")
    budgets = RuntimeBudgets(cfg, journal)
    assert budgets.budget_for("sales") == 700  # env over file
    assert budgets.budget_for("marketing") == 60
    assert budgets.budget_for("operations") == 20  # file over default
    assert budgets.budget_for("support") == 150  # default

    budgets.set("Sales", 900)  # run-time edit (console key b, set_department_budget)
    budgets.set("legal", 12.5)
    assert budgets.budget_for("sales") == 900  # edit over env
    assert budgets.budget_for("legal") == 12.5
    # Another process (its own RuntimeBudgets on the same data dir) sees the edit.
    other = RuntimeBudgets(cfg, Journal(tmp_path / "data"))
    assert other.budget_for("sales") == 900
    assert other.known_departments() == ["legal", "marketing", "operations", "sales", "support"]
    # The file is the [budgets] table, valid TOML, written atomically (no temp files left).
    doc = tomllib.loads((tmp_path / "data" / "budgets.toml").read_text())
    assert doc == {"budgets": {"sales": 900.0, "legal": 12.5}}
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [".locks", "budgets.toml"]
    # An edit made elsewhere is picked up on the next query.
    other.set("sales", 1.5)
    assert budgets.budget_for("sales") == 1.5
    # werkpilot.toml is never rewritten.
    assert cfg_file.read_text() == "[budgets]\nsales = 1000\nmarketing = 50\noperations = 20\n"


def test_runtime_default_applies_only_to_departments_named_nowhere(tmp_path: Path) -> None:
    budgets = RuntimeBudgets(load_config(None, env={}), Journal(tmp_path / "data"))
    budgets.set("default", 10)
    assert budgets.budget_for("unknown-dept") == 10
    assert budgets.budget_for("sales") == 500


@pytest.mark.parametrize("amount", [0, -1, float("inf"), float("nan"), True, "5"])
def test_runtime_budget_edit_rejects_bad_amounts_and_writes_nothing(
    tmp_path: Path, amount: object
) -> None:
    budgets = RuntimeBudgets(Config(), Journal(tmp_path / "data"))
    with pytest.raises(ValueError, match="amount"):
        budgets.set("sales", amount)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="department"):
        budgets.set("bad\nname", 5)
    assert not (tmp_path / "data" / "budgets.toml").exists()


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("x = [\n", "", "not valid TOML"),
        ("[thresholds]\nerror_rate_warning = 'high'\n", "thresholds.error_rate_warning", "number"),
        ("[thresholds]\nerror_rate_warning = 2\n", "thresholds.error_rate_warning", "less than"),
        ("[thresholds]\ndaily_budget = true\n", "thresholds.daily_budget", "valid number"),
        ("[thresholds]\nfoo = 1\n", "thresholds.foo", "unknown key"),
        ("[thresholds]\nhysteresis = 1\n", "thresholds.hysteresis", "less than 1"),
        ("[bogus]\nx = 1\n", "bogus", "unknown key"),
        ("budgets = 5\n", "budgets", "dictionary"),
        ("[budgets]\nsales = -5\n", "budgets.sales", "greater than or equal to 0.01"),
        ("[budgets]\nsales = inf\n", "budgets.sales", "finite"),
        ("[pricing.sonnet]\ninput = 3\n", "pricing.sonnet.output", "required"),
        ("[pricing.sonnet]\ninput = -3\noutput = 1\n", "pricing.sonnet.input", "greater than"),
        ("[email]\nport = '25'\n", "email.port", "integer"),
        ("[email]\nport = 70000\n", "email.port", "less than"),
        ("[email]\nenabled = 'yes'\n", "email.enabled", "boolean"),
        ("[alerts]\nhistory = 0\n", "alerts.history", "greater than 0"),
        ("[retention]\nsnapshots = 1.5\n", "retention.snapshots", "integer"),
    ],
)
def test_bad_file_names_file_key_and_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    err = info.value
    assert (err.source, err.key) == (str(path), key)
    assert problem in err.problem
    assert str(err).startswith(f"{path}: {key}: " if key else f"{path}: ")


def test_missing_or_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path, env={})  # a directory
    bad_utf8 = tmp_path / "latin1.toml"
    bad_utf8.write_bytes(b"[ui]\ntheme = '\xe9'\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(bad_utf8, env={})


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DAILY_BUDGET": "lots"}, "DAILY_BUDGET"),
        ({"SALES_BUDGET": "-1"}, "SALES_BUDGET"),
        ({"SALES_BUDGET": "nan"}, "SALES_BUDGET"),
        ({"WERKPILOT_SMTP_PORT": "smtp"}, "WERKPILOT_SMTP_PORT"),
    ],
)
def test_bad_environment_value_names_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert name in str(info.value) and info.value.key == name


def test_corrupt_budgets_toml_names_file_and_key(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "data")
    journal.write_document("budgets.toml", "[budgets]\nsales = 'many'\n")
    with pytest.raises(ConfigError) as info:
        RuntimeBudgets(Config(), journal).budget_for("sales")
    assert info.value.source.endswith("budgets.toml") and info.value.key == "budgets.sales"
    journal.write_document("budgets.toml", "[budgets\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        RuntimeBudgets(Config(), journal).budget_for("sales")


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        (1e15, "too large (max $10,000,000)"),
        (99999999999999999999999, "too large (max $10,000,000)"),
        pytest.param(10**5000, "too large (max $10,000,000)", id="10**5000"),
        (float("1e309"), "too large (max $10,000,000)"),
        (10_000_000.01, "too large"),
        (float("-inf"), "must be a positive amount"),
        (0, "must be a positive amount"),
        (5e-324, "must be at least $0.01"),
        (0.009, "must be at least $0.01"),
        (float("nan"), "must be a number of USD"),
        ("600", "must be a number"),
    ],
)
def test_budget_ceiling_is_enforced_where_budgets_are_stored(
    tmp_path: Path, amount: object, problem: str
) -> None:
    budgets = RuntimeBudgets(Config(), Journal(tmp_path / "data"))
    with pytest.raises(ValueError) as info:
        budgets.set("sales", amount)  # type: ignore[arg-type]
    assert str(info.value).startswith(f"amount: {problem}")
    assert len(str(info.value)) < 200  # a huge value is not echoed whole
    assert not (tmp_path / "data" / "budgets.toml").exists()
    budgets.set("sales", 10_000_000)  # the ceiling itself is allowed
    assert budgets.budget_for("sales") == 10_000_000


def test_budget_ceiling_and_department_cap_are_configurable(tmp_path: Path) -> None:
    path = _write(tmp_path, "[budget_limits]\nmax_monthly_usd = 1000\nmax_departments = 3\n")
    cfg = load_config(path, env={})
    assert cfg.budget_limits == BudgetLimits(max_monthly_usd=1000, max_departments=3)
    budgets = RuntimeBudgets(cfg, Journal(tmp_path / "data"))
    with pytest.raises(ValueError, match=r"amount: too large \(max \$1,000\)"):
        budgets.set("sales", 1000.5)
    for dept in ("sales", "legal", "hr"):
        budgets.set(dept, 1000)
    with pytest.raises(ValueError, match="department: 3 departments already have a budget"):
        budgets.set("finance", 10)
    budgets.set("Sales", 20)  # an existing department can still be changed
    assert budgets.budget_for("sales") == 20 and budgets.budget_for("finance") == 100
    doc = tomllib.loads((tmp_path / "data" / "budgets.toml").read_text())
    assert doc == {"budgets": {"sales": 20.0, "legal": 1000.0, "hr": 1000.0}}
    # Budgets in werkpilot.toml and the environment are held to the same ceiling.
    over = _write(tmp_path, "[budget_limits]\nmax_monthly_usd = 1000\n[budgets]\nsales = 1001\n")
    with pytest.raises(ConfigError) as err:
        load_config(over, env={})
    assert err.value.key == "budgets.sales" and "too large (max $1,000)" in err.value.problem
    with pytest.raises(ConfigError, match=r"budgets.sales: too large \(max \$10,000,000\)"):
        load_config(_write(tmp_path, "", "empty.toml"), env={"SALES_BUDGET": "1e15"})
    with pytest.raises(ConfigError, match=r"budget_limits\.max_monthly_usd"):
        load_config(_write(tmp_path, "[budget_limits]\nmax_monthly_usd = inf\n"), env={})


def test_budgets_toml_entry_over_the_ceiling_is_reported_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / "data")
    journal.write_document(
        "budgets.toml", "[budgets]\nsales = 1e15\nlegal = 99999999999999999999\nhr = 40\n"
    )
    budgets = RuntimeBudgets(Config(), journal)
    with caplog.at_level("WARNING", logger="core.config"):
        assert budgets.budget_for("sales") == DEFAULT_BUDGETS["sales"]  # the configured one
        assert budgets.budget_for("hr") == 40
        assert budgets.budget_for("legal") == DEFAULT_BUDGETS["default"]
        assert budgets.budget_for("hr") == 40  # reported once per version of the file
    assert [p.split(": ", 1)[1] for p in budgets.ignored] == [
        "budgets.sales: too large (max $10,000,000) (got 1000000000000000.0)",
        "budgets.legal: too large (max $10,000,000) (got 99999999999999999999)",
    ]
    assert budgets.ignored[0].startswith(str(tmp_path / "data" / "budgets.toml"))
    assert [r.getMessage() for r in caplog.records] == [f"ignored {p}" for p in budgets.ignored]
    assert "legal" not in budgets.known_departments()  # an ignored entry adds nothing
    budgets.set("sales", 600)  # the next edit rewrites the file without them
    doc = tomllib.loads((tmp_path / "data" / "budgets.toml").read_text())
    assert doc == {"budgets": {"hr": 40.0, "sales": 600.0}}
    assert budgets.budget_for("sales") == 600 and budgets.ignored == []


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "bad.toml", "export"],
        ["export", "--config", "bad.toml"],
        ["--config", "bad.toml", "prune"],
    ],
)
def test_cli_with_a_bad_config_exits_nonzero_with_the_message_and_no_traceback(
    tmp_path: Path, argv: list[str]
) -> None:
    _write(tmp_path, "[thresholds]\nerror_rate_warning = 'high'\n", "bad.toml")
    out = _cli(*argv, "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip() == (
        "werkpilot-tui: bad.toml: thresholds.error_rate_warning: Input should be a valid number"
    )
    assert out.stdout == ""


def test_cli_with_a_bad_environment_value_exits_nonzero(tmp_path: Path) -> None:
    env_cmd = ["--data-dir", str(tmp_path / "data"), "export"]
    out = subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", *env_cmd],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "SALES_BUDGET": "lots"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SALES_BUDGET" in out.stderr and "not a number" in out.stderr


def test_set_department_budget_refuses_amounts_over_the_ceiling(tmp_path: Path) -> None:
    from core.costs.ledger import CostTracker

    tracker = CostTracker(tmp_path / "data")
    for amount in (1e15, 99999999999999999999999, float("1e309")):
        with pytest.raises(ValueError, match=r"^amount: too large \(max \$10,000,000\)"):
            tracker.set_department_budget("sales", amount)
    assert not (tmp_path / "data" / "budgets.toml").exists()
    tracker.set_department_budget("sales", 10_000_000)
    assert tracker.get_department_cost("sales").budget == 10_000_000
    tracker.close()


def test_a_budget_under_a_cent_in_the_config_is_refused(tmp_path: Path) -> None:
    """A spend over a budget of 1e-300 USD is an infinite percentage no alert can carry."""
    with pytest.raises(ConfigError, match=r"budgets\.sales"):
        load_config(_write(tmp_path, "[budgets]\nsales = 1e-300\n"), env={})


def test_the_largest_spend_over_the_smallest_budget_is_a_finite_alert(tmp_path: Path) -> None:
    from core import open as open_core

    with open_core(tmp_path / "data", lazy=True, channels=[]) as c:
        c.tracker.set_department_budget("sales", 0.01)
        c.tracker.track_cost("a", "sales", model="sonnet", cost=1e9)
        alert = c.alerts.get_alerts(type="budget_exceeded")[0]
    assert alert.data["percentage"] == pytest.approx(1e13)
