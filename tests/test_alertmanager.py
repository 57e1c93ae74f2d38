"""Alert routing through a real Prometheus Alertmanager on loopback (``[alertmanager] url``)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.alerts.alertmanager import AlertmanagerChannel, alert_payload
from core.alerts.channels import build_channels
from core.alerts.manager import AlertManager
from core.config import ConfigError, load_config
from tests.fleet_harness import HAVE_ALERTMANAGER, Proc, alertmanager, free_port, wait_until

needs_alertmanager = pytest.mark.skipif(
    not HAVE_ALERTMANAGER,
    reason="prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)",
)


def _config(tmp_path: Path, url: str, **extra: Any) -> Path:
    lines = ["[alertmanager]", f'url = "{url}"', "timeout_s = 2", "retries = 1"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    lines += ["[alerts]", "delivery_backoff_s = 0.05"]
    path = tmp_path / "werkpilot-am.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _active(am: Proc) -> list[dict[str, Any]]:
    with urllib.request.urlopen(am.url + "/api/v2/alerts", timeout=5) as resp:
        return list(json.loads(resp.read()))


def _find(am: Proc, **labels: str) -> list[dict[str, Any]]:
    return [a for a in _active(am) if all(a["labels"].get(k) == v for k, v in labels.items())]


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    if not HAVE_ALERTMANAGER:
        pytest.skip("prometheus-alertmanager is not installed")
    proc = alertmanager(tmp_path_factory.mktemp("alertmanager")).start()
    yield proc
    proc.stop()


def test_config_section_and_channel_registration(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, "http://127.0.0.1:9093", ttl_s=600))
    assert cfg.alertmanager.url == "http://127.0.0.1:9093"
    assert cfg.alertmanager.ttl_s == 600
    assert [c.name for c in build_channels(cfg)] == ["alertmanager"]
    assert build_channels(load_config(None, env={})) == []
    env = {"WERKPILOT_ALERTMANAGER_URL": "http://am:9093"}
    assert load_config(None, env=env).alertmanager.url == "http://am:9093"
    bad = tmp_path / "bad.toml"
    bad.write_text("[alertmanager]\ntimeout_s = -1\n")
    with pytest.raises(ConfigError, match=r"alertmanager\.timeout_s"):
        load_config(bad)


def test_payload_labels_are_the_condition_not_the_numbers(
    tmp_path: Path, clock: Any, data_dir: Path
) -> None:
    manager = AlertManager(data_dir, config=load_config(None, env={}), clock=clock)
    alert = manager.add_alert(
        "warning",
        "error_rate",
        "Error rate 15.3% [bold]x[/]\nsecond line",
        {"agent": "scorer", "department": "sales", "errorRate": 0.153, "threshold": 0.1},
    )
    assert alert is not None
    now = alert.timestamp + 1000
    firing = alert_payload(alert, "raised", now, ttl_ms=60_000, host="h1")
    assert firing["labels"] == {
        "alertname": "error_rate",
        "severity": "warning",
        "agent": "scorer",
        "department": "sales",
        "host": alert.host or "h1",
    }
    assert firing["annotations"]["summary"] == "[WARNING] error_rate: Error rate 15.3% [bold]x[/]"
    assert firing["annotations"]["alert_id"] == alert.id
    assert json.loads(firing["annotations"]["data"])["errorRate"] == 0.153
    assert firing["startsAt"] == "2026-11-26T12:00:00.000+00:00"
    assert firing["endsAt"] == "2026-11-26T12:01:01.000+00:00"  # now + ttl, not open-ended
    clock.advance(minutes=5)
    assert manager.resolve("error_rate", agent="scorer") == 1
    resolved = manager.get_alert(alert.id)
    assert resolved is not None and resolved.resolved
    ended = alert_payload(resolved, "resolved", now, ttl_ms=60_000, host="h1")
    assert ended["labels"] == firing["labels"]
    assert ended["endsAt"] == "2026-11-26T12:05:00.000+00:00"
    manager.close()


@needs_alertmanager
def test_critical_alert_reaches_alertmanager_and_resolving_ends_it(
    am: Proc, tmp_path: Path, data_dir: Path
) -> None:
    manager = AlertManager(data_dir, config=_config(tmp_path, am.url))
    alert = manager.add_alert(
        "critical",
        "budget_exceeded",
        "Department sales spent 101% of its budget",
        {"department": "sales", "agent": "lead-scorer", "spent": 505.0, "budget": 500.0},
    )
    assert alert is not None
    assert manager.flush(10)
    found = wait_until(
        lambda: _find(am, alertname="budget_exceeded", department="sales"), 10, what="the alert"
    )
    assert isinstance(found, list) and len(found) == 1
    got = found[0]
    assert got["labels"]["severity"] == "critical"
    assert got["labels"]["agent"] == "lead-scorer"
    assert got["labels"]["host"]
    assert got["annotations"]["description"] == "Department sales spent 101% of its budget"
    assert got["annotations"]["alert_id"] == alert.id
    assert got["status"]["state"] == "active"
    deliveries = manager.get_deliveries(alert.id)
    assert [(d.channel, d.ok) for d in deliveries] == [("alertmanager", True)]

    assert manager.resolve("budget_exceeded", department="sales") == 1
    assert manager.flush(10)
    wait_until(
        lambda: not _find(am, alertname="budget_exceeded", department="sales"),
        10,
        what="the alert to end",
    )
    assert [d.ok for d in manager.get_deliveries(alert.id)] == [True, True]
    manager.close()


@needs_alertmanager
def test_each_condition_is_its_own_alertmanager_alert(
    am: Proc, tmp_path: Path, data_dir: Path
) -> None:
    manager = AlertManager(data_dir, config=_config(tmp_path, am.url))
    for agent in ("a1", "a2"):
        for n in range(3):  # repeats are deduplicated by core: no new post
            manager.add_alert(
                "warning", "response_time", f"avg {31 + n}s", {"agent": agent, "department": "ops"}
            )
    assert manager.flush(10)
    found = wait_until(
        lambda: (lambda xs: xs if len(xs) == 2 else None)(_find(am, alertname="response_time")),
        10,
        what="two alerts",
    )
    assert isinstance(found, list)
    assert sorted(a["labels"]["agent"] for a in found) == ["a1", "a2"]
    assert len(manager.get_deliveries()) == 2
    manager.close()


def test_unreachable_alertmanager_is_recorded_not_raised(tmp_path: Path, data_dir: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    manager = AlertManager(data_dir, config=_config(tmp_path, dead))
    alert = manager.add_alert("critical", "daily_budget", "Cost today above budget", {})
    assert alert is not None  # written and returned while delivery happens in the background
    assert manager.flush(10)
    [delivery] = manager.get_deliveries(alert.id)
    assert delivery.channel == "alertmanager" and not delivery.ok
    assert "2 attempts" in (delivery.error or "")
    assert manager.get_alert_stats("24h").delivery_failures == 1
    manager.close()


def test_channel_refuses_without_url() -> None:
    from core.config import AlertmanagerConfig

    with pytest.raises(ValueError, match="url"):
        AlertmanagerChannel(AlertmanagerConfig())


def test_deploy_alertmanager_example_is_valid() -> None:
    import shutil
    import subprocess

    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool not installed (Debian package prometheus-alertmanager)")
    deploy = Path(__file__).resolve().parent.parent / "deploy"
    done = subprocess.run(
        [amtool, "check-config", "alertmanager.yml"], cwd=deploy, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
