"""Fleet mode against real processes: two ``werkpilot-tui serve`` "hosts" scraped by a real
Prometheus on loopback, read back through ``FleetSource`` and ``FleetSession``.

History is seeded ten days back (outside every window) before Prometheus starts, so the
windows see only what is written while it scrapes; all-time totals must match exactly.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock
from fleet_harness import HAVE_PROMETHEUS, Proc, prometheus, serve, wait_until

from core.alerts.manager import AlertManager
from core.config import load_config
from core.costs.ledger import CostTracker
from werkpilot_tui.fleet.promql import PrometheusClient
from werkpilot_tui.fleet.session import FleetSession
from werkpilot_tui.fleet.source import ALL, FleetActionError, FleetSnapshot, FleetSource

pytestmark = pytest.mark.skipif(
    not HAVE_PROMETHEUS, reason="prometheus is not installed (apt-get install prometheus)"
)

#: host -> [(agent, department, model)]
AGENTS = {
    "host-a": [("scorer", "sales", "claude-sonnet-4-5"), ("writer", "marketing", "haiku")],
    "host-b": [("scorer", "sales", "claude-sonnet-4-5"), ("router", "support", "haiku")],
}


@dataclass
class Host:
    name: str
    data_dir: Path
    proc: Proc
    components: dict[str, Any] = field(default_factory=dict)

    def core(self) -> tuple[Any, Any]:
        """A fresh monitor and tracker over this host's data directory (its own totals)."""
        from core.costs.ledger import CostTracker
        from core.monitor.performance import PerformanceMonitor

        cfg = load_config(None, env={})
        alerts = AlertManager(self.data_dir, config=cfg)
        return (
            PerformanceMonitor(self.data_dir, config=cfg, alert_manager=alerts),
            CostTracker(self.data_dir, config=cfg, alert_manager=alerts),
        )


def write_runs(
    data_dir: Path,
    agents: list[tuple[str, str, str]],
    n_ok: int,
    n_err: int,
    clock: Any = None,
    seed: int = 0,
) -> None:
    """Record runs through ``core.track`` (one execution and one cost entry each)."""
    from core.costs.ledger import CostTracker
    from core.monitor.performance import PerformanceMonitor
    from core.tracking import track

    cfg = load_config(None, env={})
    alerts = AlertManager(data_dir, config=cfg, clock=clock)
    kw = {"config": cfg, "alert_manager": alerts, "clock": clock}
    monitor = PerformanceMonitor(data_dir, **kw)
    tracker = CostTracker(data_dir, **kw)
    for i, (agent, dept, model) in enumerate(agents):
        for j in range(n_ok + n_err):
            tokens = 100 + 37 * ((seed + i * 7 + j) % 11)
            with contextlib.suppress(RuntimeError):
                with track(
                    agent,
                    department=dept,
                    model=model,
                    monitor=monitor,
                    tracker=tracker,
                    clock=clock,
                ) as run:
                    run.record_usage(input_tokens=tokens, output_tokens=tokens // 2)
                    if j >= n_ok:
                        raise RuntimeError("model call failed")
    for c in (monitor, tracker, alerts):
        c.close()


@dataclass
class Fleet:
    work: Path
    hosts: dict[str, Host]
    prom: Proc
    source: FleetSource
    alert_ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("fleet")
    past = FakeClock(datetime.now(UTC) - timedelta(days=10))
    hosts: dict[str, Host] = {}
    alert_ids: dict[str, str] = {}
    try:
        for name, agents in AGENTS.items():
            data_dir = work / name
            write_runs(data_dir, agents, n_ok=20, n_err=3, clock=past, seed=len(hosts))
            # An open alert per host, raised before its endpoint first answers (and caches).
            alerts = AlertManager(data_dir, config=load_config(None, env={}))
            alert = alerts.add_alert("warning", "custom", f"{name} needs a look", {"agent": "x"})
            assert alert is not None
            alert_ids[name] = alert.id
            alerts.close()
            hosts[name] = Host(name, data_dir, serve(data_dir, work, name).start())
        prom = prometheus(work, [(h.name, h.proc.address) for h in hosts.values()]).start()
        source = FleetSource(prom.url, timeout_s=2.0, slow_every_s=0)
        client = source.client
        # Every target scraped at least twice, so the live writes below fall between samples.
        wait_until(
            lambda: len([s for s in client.query("count_over_time(up[1m]) >= 2")]) == 2,
            timeout=30,
            what="two scrapes of both hosts",
        )
        for i, (name, agents) in enumerate(AGENTS.items()):
            write_runs(hosts[name].data_dir, agents, n_ok=12 + i, n_err=2, seed=5 + i)
        yield Fleet(work, hosts, prom, source, alert_ids)
    finally:
        for h in hosts.values():
            h.proc.stop()
        if "prom" in locals():
            prom.stop()


def stored_budgets(h: Host) -> dict[str, float]:
    """The run-time budget edits in a host's own ``data/budgets.toml``."""
    path = h.data_dir / "budgets.toml"
    return dict(tomllib.loads(path.read_text())["budgets"]) if path.exists() else {}


def reporting(fleet: Fleet, department: str) -> set[str]:
    """Hosts whose ``/metrics`` state a budget for ``department`` (what Prometheus sees)."""
    return {h.name for h in fleet.source.department_hosts(department)}


def own_totals(hosts: list[Host]) -> dict[str, float]:
    """The hosts' own all-time figures, read through core from their data directories."""
    out = {"executions": 0.0, "errors": 0.0, "tokens": 0.0, "cost": 0.0}
    for h in hosts:
        monitor, tracker = h.core()
        system = monitor.get_system_metrics()
        out["executions"] += system.total_executions
        out["errors"] += system.total_errors
        out["cost"] += system.total_cost
        for agent, _, _ in AGENTS[h.name]:
            cost = tracker.get_agent_cost(agent)
            out["tokens"] += cost.total_input_tokens + cost.total_output_tokens
        monitor.close()
        tracker.close()
    return out


def settled(fleet: Fleet) -> FleetSnapshot:
    """A snapshot once Prometheus has scraped everything written (all-time counts match)."""
    want = own_totals(list(fleet.hosts.values()))

    def check() -> FleetSnapshot | None:
        snap = fleet.source.refresh()
        got = snap.total(ALL)
        return snap if snap.prometheus_up and round(got.count) == want["executions"] else None

    snap = wait_until(check, timeout=20, interval=0.5, what="the fleet totals")
    assert isinstance(snap, FleetSnapshot)
    return snap


def test_all_time_totals_equal_the_sum_of_the_hosts(fleet: Fleet) -> None:
    snap = settled(fleet)
    want = own_totals(list(fleet.hosts.values()))
    got = snap.total(ALL)
    assert got.count == want["executions"] == (23 + 14) * 2 + (23 + 15) * 2
    assert got.errors == want["errors"] == 3 * 4 + 2 * 4
    assert got.tokens == want["tokens"]
    assert round(got.cost, 2) == round(want["cost"], 2) and got.cost > 0
    assert abs(got.cost - want["cost"]) < 1e-6
    # And host by host, agent by agent.
    for h in fleet.hosts.values():
        monitor, _ = h.core()
        for agent, dept, _ in AGENTS[h.name]:
            [row] = [a for a in snap.agents if a.host == h.name and a.agent == agent]
            mine = monitor.get_agent_metrics(agent)
            assert row.department == dept
            assert row.span(ALL).count == mine.executions
            assert row.span(ALL).errors == mine.errors
            assert row.span(ALL).tokens == mine.total_tokens
            assert abs(row.span(ALL).cost - mine.total_cost) < 1e-6
        monitor.close()
    assert {h.name for h in snap.hosts} == {"host-a", "host-b"}
    assert all(h.up for h in snap.hosts) and snap.hosts_down == ()
    assert len({a.agent for a in snap.agents}) == 3 and len(snap.agents) == 4


def test_windows_agree_within_prometheus_extrapolation(fleet: Fleet) -> None:
    snap = settled(fleet)
    client = fleet.source.client
    at = snap.at_ms / 1000
    # increase() extrapolates by at most half an interval at the start of a series that
    # began inside the range and 1.1 intervals at the end: a factor of 1 + 1.6 / (n - 1).
    samples = client.query("min(count_over_time(werkpilot_executions_total[1h]))", at)
    n = samples[0].value
    slack = 1.6 / (n - 1)
    for h in fleet.hosts.values():
        monitor, _ = h.core()
        for agent, _, _ in AGENTS[h.name]:
            [row] = [a for a in snap.agents if a.host == h.name and a.agent == agent]
            mine = monitor.get_agent_metrics(agent)
            for window in ("1h", "24h", "7d"):
                want, got = mine.windows[window], row.span(window)
                assert want.count > 0  # only the live writes: history is ten days old
                assert want.count * (1 - 1e-9) <= got.count <= want.count * (1 + slack)
                assert want.errors * (1 - 1e-9) <= got.errors <= want.errors * (1 + slack)
                assert got.tokens == pytest.approx(want.total_tokens, rel=slack)
                assert got.cost == pytest.approx(want.total_cost, rel=slack)
                # Sum and count are each extrapolated (the zero-point clamp may differ).
                assert got.avg_duration_ms == pytest.approx(want.avg_duration, rel=slack)
        monitor.close()
    hour = snap.total("1h")
    assert 58 * (1 - 1e-9) <= hour.count <= 58 * (1 + slack)  # 2 x 14 on a, 2 x 15 on b


def test_one_refresh_is_a_fixed_handful_of_queries(fleet: Fleet) -> None:
    snap = settled(fleet)
    assert snap.queries == 8  # whatever the number of agents or hosts
    again = fleet.source.refresh()
    assert again.queries == 8
    # 24h and 7d recomputed at most every slow_every_s; 1h and all-time every refresh.
    lazy = FleetSource(fleet.prom.url, slow_every_s=3600)
    first, second = lazy.refresh(), lazy.refresh()
    assert first.queries == second.queries == 8
    slow = [(a.span("24h"), a.span("7d")) for a in first.agents]
    assert slow == [(a.span("24h"), a.span("7d")) for a in second.agents]
    assert all(a.span("7d").count > 0 for a in second.agents)
    lazy.close()


def test_dashboard_with_host_column_budgets_and_alert_actions(fleet: Fleet) -> None:
    a = fleet.hosts["host-a"]
    alerts = AlertManager(a.data_dir, config=load_config(None, env={}))
    alert = alerts.get_alert(fleet.alert_ids["host-a"])
    assert alert is not None
    settled(fleet)
    session = FleetSession(fleet.prom.url, config=load_config(None, env={}), source=fleet.source)
    d = session.build()
    assert d.error is None
    names = {(getattr(r, "host", None), r.name) for r in d.agents}
    assert len(names) == 4
    sales = d.budget("sales")
    assert sales is not None and sales.budget == 500.0 and sales.spent > 0
    # The burn rate is the fleet's: each host's last-hour burn against the same budget, summed.
    local = 0.0
    for h in fleet.hosts.values():
        tracker = CostTracker(h.data_dir, config=load_config(None, env={}))
        local += next((b.shown for b in tracker.get_burn_rates() if b.department == "sales"), 0)
        tracker.close()
    assert local > 0
    assert sales.burn_rate == pytest.approx(local, rel=0.05)
    [row] = [r for r in d.alerts if r.id == alert.id]
    assert row.message == "[host-a] host-a needs a look" and not row.acknowledged
    assert session.acknowledge(alert.id) is True
    assert alerts.get_alert(alert.id).acknowledged  # on the owning host, through core
    # A budget edit goes to every host that reports the department, through its endpoint.
    hosts = reporting(fleet, "marketing")
    assert "host-a" in hosts
    result = session.set_budget("marketing", 650)
    assert set(result.updated) == hosts and not result.failed
    assert "host-a" in result.message and "$650.00" in result.message
    for name in hosts:
        assert stored_budgets(fleet.hosts[name])["marketing"] == 650.0
    with pytest.raises(FleetActionError, match="no host reports"):
        session.set_budget("no-such-department", 10)
    with pytest.raises(FleetActionError, match="no host"):
        session.acknowledge("alert_0_unknown")
    alerts.close()


async def test_console_in_fleet_mode(fleet: Fleet) -> None:
    from textual.widgets import DataTable, Input

    from werkpilot_tui.console.app import make_app
    from werkpilot_tui.console.screens.agent_detail import AgentDetailScreen
    from werkpilot_tui.console.screens.budget_modal import BudgetModal
    from werkpilot_tui.console.view_models import HostHealth

    b = fleet.hosts["host-b"]
    alerts = AlertManager(b.data_dir, config=load_config(None, env={}))
    alert = alerts.get_alert(fleet.alert_ids["host-b"])
    assert alert is not None and not alert.acknowledged
    settled(fleet)
    cfg = load_config(None, env={})
    session = FleetSession(fleet.prom.url, cfg, source=fleet.source, health=HostHealth)
    app = make_app(config=cfg, watch=False, session=session)
    async with app.run_test(size=(160, 40)) as pilot:
        for _ in range(300):
            if app.latest is not None and len(app.latest.agents) == 4 and app.latest.alerts:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        table = app.screen.query_one("#agents", DataTable)
        keys = {str(r.key.value) for r in table.ordered_rows}
        assert keys == {"scorer@host-a", "writer@host-a", "scorer@host-b", "router@host-b"}
        assert str(table.get_row("router@host-b")[-1]) == "host-b"  # the host column
        # Enter shows what Prometheus carries of the agent, and says where the rest is.
        table.focus()
        table.move_cursor(row=table.get_row_index("router@host-b"))
        await pilot.press("enter")
        for _ in range(100):
            if isinstance(app.screen, AgentDetailScreen) and app.screen.view is not None:
                break
            await pilot.pause(0.05)
        detail = app.screen
        assert isinstance(detail, AgentDetailScreen) and detail.view is not None
        assert detail.view.found and detail.view.fleet_host == "host-b"
        assert [w for w, _ in detail.view.windows] == ["1h", "24h", "7d"]
        assert detail.view.executions == app.latest.agent("router@host-b").executions
        summary = str(detail.query_one("#summary").render())
        assert "Fleet mode" in summary and "host-b" in summary and "ledger" not in summary
        await pilot.press("escape")
        await pilot.pause()
        # The costs view needs a host's ledger: one clear note, not a screen of errors.
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is app.dashboard_screen
        assert any("fleet mode" in n.message for n in app._notifications)
        # ``b`` on an agent row edits that agent's department, not the budgets cursor's.
        table.focus()
        table.move_cursor(row=table.get_row_index("router@host-b"))  # support
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, BudgetModal) and app.screen.department == "support"
        await pilot.press("escape")
        await pilot.pause()
        # The budget key opens the editor with the fleet's figure; saving posts it to
        # every host that reports the department (both run a sales agent).
        assert reporting(fleet, "sales") == {"host-a", "host-b"}
        bars = app.screen.query_one("#budgets", DataTable)
        bars.focus()
        bars.move_cursor(row=bars.get_row_index("sales"))
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, BudgetModal)
        box = app.screen.query_one("#budget-input", Input)
        assert box.value == "500"  # the fleet's figure for sales
        box.value = "900"
        await pilot.press("enter")
        for _ in range(200):
            if all(stored_budgets(h).get("sales") == 900.0 for h in fleet.hosts.values()):
                break
            await pilot.pause(0.05)
        for h in fleet.hosts.values():
            assert stored_budgets(h)["sales"] == 900.0  # each host's own budgets.toml
        for _ in range(100):
            if any("Budget for sales" in n.message for n in app._notifications):
                break
            await pilot.pause(0.05)
        [note] = [n.message for n in app._notifications if "Budget for sales" in n.message]
        assert "host-a" in note and "host-b" in note and "Failed" not in note
        # The fleet's bar follows once Prometheus has scraped the hosts again.
        wait_until(
            lambda: (lambda d: d and d.budget == 900.0)(
                next((x for x in fleet.source.refresh().departments if x.name == "sales"), None)
            ),
            timeout=20,
            interval=0.5,
            what="the fleet's sales budget to show 900",
        )
        # Acknowledging acts on the owning host through its endpoint.
        feed = app.screen.query_one("#alerts", DataTable)
        feed.focus()
        feed.move_cursor(row=feed.get_row_index(alert.id))
        await pilot.press("a")
        for _ in range(200):
            if alerts.get_alert(alert.id).acknowledged:
                break
            await pilot.pause(0.05)
        assert alerts.get_alert(alert.id).acknowledged
    alerts.close()


def test_a_host_down_is_shown_and_recovers(fleet: Fleet) -> None:
    settled(fleet)
    b = fleet.hosts["host-b"]
    port = b.proc.port
    b.proc.stop()
    try:
        snap = wait_until(
            lambda: (lambda s: s if s.hosts_down else None)(fleet.source.refresh()),
            timeout=20,
            what="host-b's scrape to fail",
        )
        assert isinstance(snap, FleetSnapshot)
        assert [h.name for h in snap.hosts_down] == ["host-b"]
        assert snap.hosts_down[0].last_error
        # Its last known figures stay, marked stale.
        rows = [r for r in snap.agents if r.host == "host-b"]
        assert rows and all(r.stale for r in rows)
        assert "host-b" in (FleetSession.status(snap) or "")
        with pytest.raises(FleetActionError, match="endpoint is down"):
            fleet.source.acknowledge("host-b", fleet.alert_ids["host-b"])
        # A budget edit reaches the hosts that are up and says which one it could not.
        result = fleet.source.set_budget("sales", 950)
        assert result.updated == ("host-a",)
        [(name, why)] = result.failed
        assert name == "host-b" and "endpoint is down" in why
        assert "host-b" in result.message and "Failed" in result.message
        assert stored_budgets(fleet.hosts["host-a"])["sales"] == 950.0
        assert stored_budgets(b).get("sales") != 950.0
        session = FleetSession(fleet.prom.url, load_config(None, env={}), source=fleet.source)
        down_snap = fleet.source.last
        assert down_snap is not None
        fleet.source.last = replace(
            down_snap, hosts=tuple(replace(h, up=False) for h in down_snap.hosts)
        )
        try:  # no host reachable: the key says why, and so does a save already under way
            assert "every host is down" in (session.cannot_edit_budget("sales") or "")
            with pytest.raises(FleetActionError, match=r"not set on any host.*endpoint is down"):
                session.set_budget("sales", 300)
        finally:
            fleet.source.last = down_snap
    finally:
        b.proc = serve(b.data_dir, fleet.work, "host-b", port=port).start()
    snap = wait_until(
        lambda: (lambda s: s if s.hosts and not s.hosts_down else None)(fleet.source.refresh()),
        timeout=20,
        what="host-b to come back",
    )
    assert isinstance(snap, FleetSnapshot)
    assert not any(r.stale for r in snap.agents)


def test_prometheus_stopped_mid_run_is_reported_and_recovers(fleet: Fleet) -> None:
    before = settled(fleet)
    fleet.prom.stop()
    try:
        down = fleet.source.refresh()
        assert not down.prometheus_up
        assert "unreachable" in (down.error or "")
        assert down.agents == before.agents  # the last figures are kept
        session = FleetSession(
            fleet.prom.url, config=load_config(None, env={}), source=fleet.source
        )
        d = session.build()
        assert d.error and d.error.startswith("Prometheus down")
        assert len(d.agents) == 4
        # The budget key says why it cannot act, and a save racing the outage says so too.
        assert "Prometheus is down" in (session.cannot_edit_budget("sales") or "")
        with pytest.raises(FleetActionError, match="cannot tell which hosts"):
            session.set_budget("sales", 700)
    finally:
        fleet.prom.start()
    snap = settled(fleet)
    assert snap.prometheus_up and snap.error is None
    assert snap.total(ALL).count == before.total(ALL).count


def test_client_rejects_bad_urls_and_reports_bad_queries(fleet: Fleet) -> None:
    with pytest.raises(ValueError):
        PrometheusClient("localhost:9090")
    from werkpilot_tui.fleet.promql import PromError

    with pytest.raises(PromError, match="HTTP 400"):
        fleet.source.client.query("sum by (")
    # Prometheus up but refusing a query is reported as such, not as "down".
    broken = FleetSource(fleet.prom.url, lookback="not-a-duration")
    snap = broken.refresh()
    assert snap.prometheus_up and snap.error and "HTTP 400" in snap.error
    assert (FleetSession.status(snap) or "").startswith("Prometheus query failed")
    broken.close()


def test_deploy_examples_are_valid_and_match_the_console() -> None:
    import re
    import shutil
    import subprocess

    deploy = Path(__file__).resolve().parent.parent / "deploy"
    text = (deploy / "prometheus.yml").read_text()
    assert re.search(r"job_name: werkpilot\b", text)  # the job FleetSource looks for
    assert FleetSource("http://127.0.0.1:9090").job == "werkpilot"
    assert len(re.findall(r"^\s+host: ", text, re.M)) >= 3  # a host label per target
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "werkpilot-rules.yml"]):
        done = subprocess.run([promtool, *args], cwd=deploy, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_cli_fleet_mode_option() -> None:
    import subprocess
    import sys

    from werkpilot_tui.cli import build_parser

    args = build_parser().parse_args(["--prometheus", "http://prom:9090"])
    assert args.prometheus == "http://prom:9090" and args.command is None
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-m", "werkpilot_tui", "--prometheus", "prom:9090"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert done.returncode == 2
    assert "--prometheus" in done.stderr and "http(s) URL" in done.stderr


def test_fleet_pause_and_resume_reach_every_host_that_reports_the_agent(fleet: Fleet) -> None:
    import core

    settled(fleet)
    session = FleetSession(fleet.prom.url, config=load_config(None, env={}), source=fleet.source)
    session.build()

    def paused_on(host: Host) -> bool:
        with core.open(host.data_dir, lazy=True) as c:
            return c.control.pause_of("scorer") is not None

    message = session.set_paused("scorer", True, "fleet-wide stop")
    assert message == "Paused scorer on host-a, host-b."
    assert all(paused_on(h) for h in fleet.hosts.values())  # both hosts run a scorer
    with core.open(fleet.hosts["host-a"].data_dir, lazy=True) as c:
        [event] = c.control.events(action="paused")
    assert (event.subject, event.reason) == ("scorer", "fleet-wide stop")
    assert event.actor == "anonymous@127.0.0.1"  # these hosts run without a token
    d = session.build()  # each host's endpoint says who is paused there: the rows are marked
    assert {r.name for r in d.agents if r.paused} == {"scorer@host-a", "scorer@host-b"}
    assert session.set_paused("scorer", True, "again") == "Already paused on host-a, host-b."
    assert session.set_paused("scorer", False, "done") == "Resumed scorer on host-a, host-b."
    assert not any(paused_on(h) for h in fleet.hosts.values())
    assert not any(r.paused for r in session.build().agents)
    # an agent one host reports goes to that host only
    assert session.set_paused("writer", True, "") == "Paused writer on host-a."
    assert session.set_paused("writer", False, "") == "Resumed writer on host-a."
    with pytest.raises(FleetActionError, match="no host reports"):
        session.set_paused("nobody", True, "")


async def test_p_in_the_fleet_console_pauses_on_every_host_and_marks_the_rows(
    fleet: Fleet,
) -> None:
    import core
    from werkpilot_tui.console.app import make_app
    from werkpilot_tui.console.screens.reason_modal import ReasonModal
    from werkpilot_tui.console.view_models import HostHealth
    from werkpilot_tui.console.widgets.agent_table import PAUSED_MARK, AgentTable

    settled(fleet)
    cfg = load_config(None, env={})
    session = FleetSession(fleet.prom.url, cfg, source=fleet.source, health=HostHealth)
    app = make_app(config=cfg, watch=False, session=session)
    app.rebuild_s = 0.5

    def marked(table: AgentTable) -> set[str]:
        return {
            str(r.key.value)
            for r in table.ordered_rows
            if str(table.get_row(r.key)[0]).startswith(PAUSED_MARK)
        }

    async def wait(condition: Any) -> None:
        for _ in range(400):
            if condition():
                return
            await pilot.pause(0.05)
        raise AssertionError("condition not met")

    async with app.run_test(size=(160, 40)) as pilot:
        await wait(lambda: app.latest is not None and len(app.latest.agents) == 4)
        table = app.screen.query_one("#agents", AgentTable)
        table.focus()
        table.select_key("scorer@host-b")
        await pilot.pause()
        await pilot.press("p")
        await wait(lambda: isinstance(app.screen, ReasonModal))
        await pilot.press(*"fleet stop", "enter")
        await wait(lambda: marked(table) == {"scorer@host-a", "scorer@host-b"})
        for h in fleet.hosts.values():
            with core.open(h.data_dir, lazy=True) as c:
                pause = c.control.pause_of("scorer")
            assert pause is not None and pause.reason == "fleet stop"
        # p on a marked row resumes it everywhere
        table.select_key("scorer@host-a")
        await pilot.pause()
        await pilot.press("p")
        await wait(lambda: isinstance(app.screen, ReasonModal))
        await pilot.press("enter")
        await wait(lambda: marked(table) == set())
