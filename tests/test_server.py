"""``werkpilot-tui serve`` as a real process on a free loopback port, and its cache logic."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import core
from core.alerts.manager import AlertManager
from core.config import BudgetLimits, Config
from werkpilot_tui.service.api import MetricsService
from werkpilot_tui.service.server import MetricsServer

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[server]
cache_ttl_s = {ttl}
request_timeout_s = 1
max_body_bytes = 4096
"""
SECRET_ENV = {"CEO_EMAIL", "ALERT_EMAIL_FROM", "WERKPILOT_API_TOKEN", "WERKPILOT_WEBHOOK_URL"}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int
    data_dir: Path
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            if own:
                conn.close()

    def get_json(self, path: str) -> tuple[int, dict[str, str], Any]:
        status, headers, data = self.request("GET", path)
        return status, headers, json.loads(data)

    def ack(self, alert_id: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        body = json.dumps({"alertId": alert_id}).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        status, _, data = self.request("POST", "/api/metrics/acknowledge", body, hdrs)
        return status, json.loads(data)

    def budget(self, doc: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        body = json.dumps(doc).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        status, _, data = self.request("POST", "/api/budgets", body, hdrs)
        return status, json.loads(data)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV and not k.endswith("_BUDGET")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def start(data_dir: Path, ttl: float, **env: str) -> Served:
    cfg = data_dir.parent / f"werkpilot-{ttl}.toml"
    cfg.write_text(CONFIG.format(ttl=ttl))
    log = data_dir.parent / f"serve-{ttl}.log"
    cmd = [sys.executable, "-m", "werkpilot_tui", "serve", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [*cmd, "--config", str(cfg), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=_env(**env),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the process prints the bound address first
    m = re.search(r"http://127\.0\.0\.1:(\d+)/api/metrics", line)
    assert m, f"no address in {line!r}; log: {log.read_text()}"
    return Served(proc, int(m[1]), data_dir, log)


def stop(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGTERM)
        served.proc.wait(10)


def _seed(data_dir: Path) -> dict[str, str]:
    c = core.open(data_dir)
    for i in range(10):
        c.monitor.track_execution(
            "lead-scorer",
            duration=1500 * (i + 1),
            status="error" if i == 0 else "completed",
            tokens_used=1000,
            model="haiku",
            cost=0.001,
            department="sales",
        )
    c.tracker.track_cost(
        "lead-scorer", "sales", model="sonnet", input_tokens=500, output_tokens=300
    )
    warn = c.alerts.add_alert(level="warning", type="custom", message="slow", data={"agent": "a"})
    crit = c.alerts.add_alert(level="critical", type="custom", message="down", data={"agent": "b"})
    assert warn is not None and crit is not None
    c.close()
    return {"warning": warn.id, "critical": crit.id}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("served") / "data"
    ids = _seed(data_dir)
    served = start(data_dir, ttl=1.5)
    yield served, ids
    stop(served)
    assert served.proc.returncode == 0, served.log.read_text()


def test_get_metrics_full_and_each_type(seeded: tuple[Served, dict[str, str]]) -> None:
    served, _ = seeded
    status, headers, doc = served.get_json("/api/metrics")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert set(doc) == {"timestamp", "system", "agents", "costs", "alerts"}
    assert doc["system"]["totalExecutions"] == 10 and doc["system"]["totalErrors"] == 1
    (agent,) = doc["agents"]
    assert agent["name"] == "lead-scorer" and agent["avgDuration"] == 1500 * 5.5
    assert doc["costs"]["departments"]
    assert len(doc["alerts"]["recent"]) == 2
    assert set(doc["alerts"]["stats"]) == {"1h", "24h", "7d"}
    assert doc["alerts"]["stats"]["1h"]["total"] == 2
    assert {a["level"] for a in doc["alerts"]["unacknowledged"]} >= {"critical"}
    for kind, key in (("agent", "agents"), ("system", "system"), ("costs", "costs")):
        status, _, part = served.get_json(f"/api/metrics?type={kind}")
        assert status == 200 and set(part) == {"timestamp", key}
    status, _, part = served.get_json("/api/metrics?type=alerts")
    assert set(part) == {"timestamp", "alerts"}
    status, _, err = served.get_json("/api/metrics?type=bogus")
    assert status == 400 and err["success"] is False and "bogus" in err["error"]


def test_bad_requests_get_json_errors(seeded: tuple[Served, dict[str, str]]) -> None:
    served, _ = seeded
    ack = "/api/metrics/acknowledge"
    json_h = {"Content-Type": "application/json"}
    cases = [
        ("GET", "/nowhere", None, {}, 404),
        ("POST", "/api/metrics", b"{}", json_h, 405),
        ("GET", ack, None, {}, 405),
        ("DELETE", "/metrics", None, {}, 405),
        ("POST", ack, b"{}", json_h, 400),
        ("POST", ack, b'{"alertId": ""}', json_h, 400),
        ("POST", ack, b'{"alertId": 17}', json_h, 400),
        ("POST", ack, b"[1, 2]", json_h, 400),
        ("POST", ack, b"{not json", json_h, 400),
        ("POST", ack, b"\xff\xfe", json_h, 400),
        ("POST", ack, b'{"alertId": "x"}', {"Content-Type": "text/plain"}, 400),
        ("POST", ack, b'{"alertId": "x"}', {}, 400),
        ("POST", ack, b"x" * 5000, json_h, 413),
        ("POST", ack, b'{"alertId": "no-such-alert"}', json_h, 404),
    ]
    for method, path, body, headers, expected in cases:
        status, hdrs, data = served.request(method, path, body, headers)
        assert status == expected, (method, path, body, data)
        doc = json.loads(data)
        assert doc["success"] is False and doc["error"], doc
        if expected == 405:
            assert hdrs["allow"] in ("GET", "POST")


def test_acknowledge_is_persisted_and_invalidates_the_cache(
    seeded: tuple[Served, dict[str, str]],
) -> None:
    served, ids = seeded
    _, _, before = served.get_json("/api/metrics?type=alerts")
    _, headers, _ = served.get_json("/api/metrics?type=alerts")
    assert headers["x-cache"] == "hit"
    assert ids["warning"] in [a["id"] for a in before["alerts"]["unacknowledged"]]
    status, doc = served.ack(ids["warning"])
    assert (status, doc) == (200, {"success": True, "alertId": ids["warning"]})
    _, headers, after = served.get_json("/api/metrics?type=alerts")
    assert headers["x-cache"] == "miss"
    assert ids["warning"] not in [a["id"] for a in after["alerts"]["unacknowledged"]]
    fresh = AlertManager(served.data_dir)
    (acked,) = [a for a in fresh.get_alerts(limit=50) if a.id == ids["warning"]]
    assert acked.acknowledged and acked.acknowledged_at is not None
    # An alert another process raised after the server started is acknowledged too.
    late = fresh.add_alert(level="info", type="custom", message="late", data={"agent": "c"})
    assert late is not None
    assert served.ack(late.id) == (200, {"success": True, "alertId": late.id})
    assert fresh.get_alert(late.id).acknowledged  # type: ignore[union-attr]
    fresh.close()


def test_budget_edit_is_persisted_and_invalidates_the_cache(
    seeded: tuple[Served, dict[str, str]],
) -> None:
    from core.costs.ledger import CostTracker

    served, _ = seeded
    bad = [
        {},
        {"amount": 600},
        {"department": "", "amount": 600},
        {"department": 7, "amount": 600},
        {"department": "sales"},
        {"department": "sales", "amount": 0},
        {"department": "sales", "amount": -5},
        {"department": "sales", "amount": "600"},
        {"department": "sales", "amount": True},
        {"department": "sales", "amount": None},
    ]
    for doc in bad:
        status, answer = served.budget(doc)
        assert status == 400 and answer["success"] is False and answer["error"], (doc, answer)
    json_h = {"Content-Type": "application/json"}
    for body, headers in [
        (b'{"department": "sales", "amount": Infinity}', json_h),
        (b'{"department": "sales", "amount": NaN}', json_h),
        (b'{"department": "sales", "amount": 1e999}', json_h),
        (b"{not json", json_h),
        (b'["sales", 600]', json_h),
        (b'{"department": "sales", "amount": 600}', {"Content-Type": "text/plain"}),
    ]:
        status, _, data = served.request("POST", "/api/budgets", body, headers)
        assert status == 400 and json.loads(data)["success"] is False, body
    status, _, data = served.request("POST", "/api/budgets", b"x" * 5000, json_h)
    assert status == 413 and json.loads(data)["success"] is False
    assert served.request("GET", "/api/budgets")[0] == 405

    served.get_json("/api/metrics?type=costs")
    _, headers, _ = served.get_json("/api/metrics?type=costs")
    assert headers["x-cache"] == "hit"
    status, doc = served.budget({"department": "Sales", "amount": 600})
    assert (status, doc) == (200, {"success": True, "department": "sales", "budget": 600.0})
    _, headers, _ = served.get_json("/api/metrics?type=costs")
    assert headers["x-cache"] == "miss"
    fresh = CostTracker(served.data_dir)
    assert fresh.budgets.budget_for("sales") == 600.0
    assert "sales" in (served.data_dir / "budgets.toml").read_text()
    assert served.budget({"department": "sales", "amount": 612.5}) == (
        200,
        {"success": True, "department": "sales", "budget": 612.5},
    )
    assert fresh.budgets.budget_for("sales") == 612.5
    fresh.close()
    assert served.budget({"department": "sales", "amount": 500})[0] == 200  # as seeded


def test_cache_hides_new_data_until_the_ttl_expires(
    seeded: tuple[Served, dict[str, str]],
) -> None:
    served, _ = seeded
    c = core.open(served.data_dir)
    deadline = time.monotonic() + 15
    while True:  # start from a freshly computed answer
        _, headers, first = served.get_json("/api/metrics?type=agent")
        if headers["x-cache"] == "miss":
            break
        assert time.monotonic() < deadline, "cache never expired"
        time.sleep(0.05)
    fresh_at = time.monotonic()
    c.monitor.track_execution("newcomer", duration=10, status="completed")
    _, headers, second = served.get_json("/api/metrics?type=agent")
    if time.monotonic() - fresh_at < 1.0:  # well inside the 1.5 s TTL: the cached answer
        assert headers["x-cache"] == "hit"
        assert second == first
        assert "newcomer" not in [a["name"] for a in second["agents"]]
    deadline = time.monotonic() + 15
    while True:
        _, headers, doc = served.get_json("/api/metrics?type=agent")
        if "newcomer" in [a["name"] for a in doc["agents"]]:
            break
        assert headers["x-cache"] == "hit", "a fresh answer must include the new execution"
        assert time.monotonic() < deadline, "cache never expired"
        time.sleep(0.1)
    assert headers["x-cache"] == "miss" or doc["timestamp"] > first["timestamp"]
    c.close()


def test_prometheus_metrics_parse_with_expected_values(
    seeded: tuple[Served, dict[str, str]],
) -> None:
    served, _ = seeded
    status, headers, data = served.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(data.decode()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value

    def value(name: str, **labels: str) -> float:
        return samples[(name, frozenset(labels.items()))]

    base = {"agent": "lead-scorer", "department": "sales", "model": "haiku"}
    assert value("werkpilot_executions_total", **base, status="completed") == 9
    assert value("werkpilot_executions_total", **base, status="error") == 1
    assert value(
        "werkpilot_cost_usd_total", agent="lead-scorer", department="sales", model="sonnet"
    ) == pytest.approx(0.006)
    tok = {"agent": "lead-scorer", "model": "sonnet"}
    assert value("werkpilot_tokens_total", **tok, kind="input") == 500
    assert value("werkpilot_tokens_total", **tok, kind="output") == 300
    h = "werkpilot_execution_duration_seconds"
    assert value(f"{h}_count", agent="lead-scorer") == 10
    assert value(f"{h}_sum", agent="lead-scorer") == pytest.approx(1.5 * 55)
    assert value(f"{h}_bucket", agent="lead-scorer", le="2.56") == 1
    assert value(f"{h}_bucket", agent="lead-scorer", le="10.24") == 6
    assert value("werkpilot_department_budget_usd", department="sales") == 500
    assert value("werkpilot_department_spend_usd", department="sales") == pytest.approx(0.006)
    assert value("werkpilot_alerts_open", level="critical") == 1


def _slow_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /api/metrics/acknowledge HTTP/1.1\r\nHost: x\r\nContent-Le")
    return sock


def _trickling_client(port: int, outcome: list[bytes]) -> None:
    """Sends a body a few bytes at a time, slower than the server's 1 s overall deadline."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        "POST /api/metrics/acknowledge HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    sock.sendall(head.encode())
    try:
        for _ in range(30):
            if select.select([sock], [], [], 0.1)[0]:
                break  # the server answered: stop sending into a closing socket
            sock.sendall(b"    ")
    except OSError:
        pass  # the server gave up on us, as it should
    try:
        outcome.append(sock.recv(65536))
    except OSError as exc:
        outcome.append(repr(exc).encode())
    sock.close()


def test_concurrent_clients_with_malformed_requests_mixed_in(
    seeded: tuple[Served, dict[str, str]],
) -> None:
    served, _ = seeded
    slow = _slow_client(served.port)  # holds half a request open while the load runs
    trickled: list[bytes] = []
    trickler = threading.Thread(target=_trickling_client, args=(served.port, trickled))
    trickler.start()
    _, _, expected_agents = served.get_json("/api/metrics?type=agent")
    names = sorted(a["name"] for a in expected_agents["agents"])
    bad = {
        "json": ("POST", "/api/metrics/acknowledge", b"{oops", 400),
        "huge": ("POST", "/api/metrics/acknowledge", b"z" * 100_000, 413),
        "method": ("PUT", "/api/metrics", b"", 405),
        "path": ("GET", "/api/nothing", None, 404),
    }
    failures: list[str] = []
    good_count = [0] * 8

    def client(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        for i in range(125):
            try:
                if i % 25 == 7:
                    method, path, body, want = bad[rng.choice(list(bad))]
                    hdrs = {"Content-Type": "application/json"}
                    status, _, data = served.request(method, path, body, hdrs)
                    if status != want or json.loads(data)["success"] is not False:
                        failures.append(f"{method} {path}: {status}")
                    continue
                path = rng.choice(["/api/metrics?type=agent", "/api/metrics", "/metrics"])
                status, _, data = served.request("GET", path, conn=conn)
                if status != 200:
                    failures.append(f"{path}: {status}")
                elif path == "/metrics":
                    if b"werkpilot_executions_total{" not in data:
                        failures.append("metrics without executions")
                else:
                    doc = json.loads(data)
                    got = sorted(a["name"] for a in doc["agents"])
                    if got != names:
                        failures.append(f"{path}: agents {got}")
                good_count[n] += 1
            except (OSError, http.client.HTTPException) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures[:10]
    assert sum(good_count) == 8 * 120
    # The slow client was cut off by the socket timeout (1 s), not left holding a thread.
    slow.settimeout(10)
    assert slow.recv(65536) == b""
    slow.close()
    trickler.join(10)
    assert trickled and trickled[0].startswith(b"HTTP/1.1 408"), trickled
    status, _, _ = served.request("GET", "/api/metrics?type=system")
    assert status == 200 and served.proc.poll() is None


def test_bearer_token_protects_acknowledge(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ids = _seed(data_dir)
    served = start(data_dir, ttl=60, WERKPILOT_API_TOKEN="s3cret")
    try:
        assert served.ack(ids["critical"])[0] == 401
        assert served.ack(ids["critical"], {"Authorization": "Bearer wrong"})[0] == 401
        assert served.ack(ids["critical"], {"Authorization": "Basic s3cret"})[0] == 401
        assert served.get_json("/api/metrics?type=system")[0] == 200  # reads stay open
        ok = served.ack(ids["critical"], {"Authorization": "Bearer s3cret"})
        assert ok == (200, {"success": True, "alertId": ids["critical"]})
        edit = {"department": "sales", "amount": 700}
        assert served.budget(edit)[0] == 401
        assert served.budget(edit, {"Authorization": "Bearer wrong"})[0] == 401
        assert served.budget(edit, {"Authorization": "Bearer s3cret"}) == (
            200,
            {"success": True, "department": "sales", "budget": 700.0},
        )
    finally:
        stop(served)
    assert served.proc.returncode == 0
    assert served.proc.stdout is not None and "stopped" in served.proc.stdout.read()
    log = served.log.read_text()
    assert '"POST /api/metrics/acknowledge HTTP/1.1" 401' in log
    assert "Traceback" not in log


def test_service_cache_follows_the_injected_clock(data_dir: Path, clock: Any) -> None:
    c = core.open(data_dir, clock=clock)
    c.monitor.track_execution("a", duration=10)
    service = MetricsService(c, cache_ttl_s=60)
    body, age, hit = service.metrics_json("agent")
    assert (age, hit) == (0.0, False)
    c.monitor.track_execution("b", duration=10)
    clock.advance(seconds=59.999)
    body2, age, hit = service.metrics_json("agent")
    assert hit and body2 == body and age == pytest.approx(59.999)
    assert b'"b"' not in body2
    clock.advance(seconds=0.001)
    body3, _, hit = service.metrics_json("agent")
    assert not hit and b'"name":"b"' in body3.replace(b" ", b"")
    clock.advance(seconds=-5)  # a clock stepped backwards does not keep a stale answer
    assert service.metrics_json("agent")[2] is False
    with pytest.raises(ValueError, match="bogus"):
        service.metrics_json("bogus")
    c.close()


def test_connections_over_the_cap_evict_idle_ones_or_get_503_and_slots_come_back(
    data_dir: Path,
) -> None:
    c = core.open(data_dir)
    service = MetricsService(c, cache_ttl_s=60)
    server = MetricsServer(("127.0.0.1", 0), service, request_timeout_s=5, max_connections=2)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    port = server.server_address[1]
    try:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        for sock in idle:  # each idle connection holds a slot until it sends or times out
            sock.sendall(b"GET /api/metrics?type=system HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        # A new client takes the slot of the connection idle longest (it is closed).
        assert _served(port) == 200
        assert idle[0].recv(65536) == b""
        idle[1].close()
        # Connections in the middle of a request (here: waiting for a body) are not evicted:
        # over the cap a new one gets 503 at once.
        busy = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        for sock in busy:
            sock.sendall(
                b"POST /api/budgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n"
            )
        _until(lambda: server.connections.counts() == (2, 0), what=server.connections.counts)
        extra = socket.create_connection(("127.0.0.1", port), timeout=10)
        answer = extra.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503") and b'"success": false' in answer
        extra.close()
        for sock in busy:
            sock.close()
        deadline = time.monotonic() + 10
        while True:  # the freed slots serve new clients again
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/api/metrics?type=system")
                if conn.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        c.close()


@contextmanager
def _in_process(
    data_dir: Path, config: Config | None = None, **kwargs: Any
) -> Iterator[MetricsServer]:
    """A MetricsServer on a free loopback port in this process (for small limits)."""
    c = core.open(data_dir, config)
    service = MetricsService(c, cache_ttl_s=60)
    server = MetricsServer(("127.0.0.1", 0), service, **kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        c.close()


def _post_budget(port: int, doc: Any) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps(doc).encode()
        conn.request("POST", "/api/budgets", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_budget_edit_is_bounded_in_amount_departments_and_name_length(data_dir: Path) -> None:
    from core.costs.ledger import CostTracker

    config = Config(budget_limits=BudgetLimits(max_departments=3))
    with _in_process(data_dir, config) as server:
        port = server.server_address[1]
        for amount in (1e23, 1e15, 99999999999999999999999, 10_000_000.01):
            status, doc = _post_budget(port, {"department": "sales", "amount": amount})
            assert (status, doc) == (
                400,
                {"success": False, "error": "amount: too large (max $10,000,000)"},
            ), amount
        status, doc = _post_budget(port, {"department": "sales", "amount": 0})
        assert (status, doc["error"]) == (400, "amount: must be a positive amount")
        for name in ("x" * 201, "y" * 20_000):
            status, doc = _post_budget(port, {"department": name, "amount": 5})
            assert status == 400
            assert doc["error"] == f"department is too long ({len(name)} characters, at most 200)"
        assert _post_budget(port, {"amount": 5})[1]["error"] == "department is required"
        assert _post_budget(port, {"department": " ", "amount": 5})[1]["error"] == (
            "department must not be blank"
        )
        # Unknown departments are created (the console does the same), up to the cap.
        assert _post_budget(port, {"department": "sales", "amount": 10_000_000})[0] == 200
        assert _post_budget(port, {"department": "legal", "amount": 10})[0] == 200
        assert _post_budget(port, {"department": "x" * 200, "amount": 10})[0] == 200
        status, doc = _post_budget(port, {"department": "finance", "amount": 10})
        assert status == 400 and doc["error"].startswith(
            "department: 3 departments already have a budget in budgets.toml"
        )
        assert _post_budget(port, {"department": "Legal", "amount": 11}) == (
            200,
            {"success": True, "department": "legal", "budget": 11.0},
        )
    fresh = CostTracker(data_dir)
    assert fresh.budgets.edits() == {"sales": 10_000_000.0, "legal": 11.0, "x" * 200: 10.0}
    fresh.close()


def _until(condition: Any, timeout: float = 10, what: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in time: {what and what()}"
        time.sleep(0.02)


def _answer(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes (or ``timeout``)."""
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except OSError:
        pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /\r\n", b"400"),
        (b"GET /api/metrics\r\n", b"400"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"505"),
    ],
)
def test_http09_and_http2_preface_are_answered_at_once(
    data_dir: Path, raw: bytes, status: bytes
) -> None:
    with _in_process(data_dir, request_timeout_s=5, header_timeout_s=5) as server:
        port = server.server_address[1]
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        started = time.monotonic()
        sock.sendall(raw)
        answer = _answer(sock)
        sock.close()
    assert time.monotonic() - started < 2.5  # not the 5 s timeout
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status), answer
    assert json.loads(body)["success"] is False


def test_keep_alive_responses_are_not_delayed(data_dir: Path) -> None:
    with _in_process(data_dir, request_timeout_s=10) as server:
        port = server.server_address[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/metrics?type=system")
        conn.getresponse().read()  # fills the cache
        times = []
        for _ in range(50):
            started = time.monotonic()
            conn.request("GET", "/api/metrics?type=system")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read()
            times.append(time.monotonic() - started)
        conn.close()
    # Head and body in separate small sends wait ~40 ms each for the client's delayed ACK.
    assert sum(times) < 50 * 0.040, times
    assert sorted(times)[25] < 0.020, sorted(times)


def test_a_trickled_request_head_is_cut_off_at_its_deadline(data_dir: Path) -> None:
    with _in_process(data_dir, request_timeout_s=5, header_timeout_s=1) as server:
        port = server.server_address[1]
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        started = time.monotonic()
        sock.sendall(b"GET /api/metrics HTTP/1.1\r\nX-Slow: ")
        closed_at = None
        while time.monotonic() - started < 8:
            if select.select([sock], [], [], 0.2)[0]:
                _answer(sock, 1)
                closed_at = time.monotonic() - started
                break
            try:
                sock.sendall(b"x")  # a byte every 0.2 s: the socket timeout (5 s) never trips
            except OSError:
                closed_at = time.monotonic() - started
                break
        sock.close()
    assert closed_at is not None and 0.8 < closed_at < 4, closed_at


def test_an_oversized_request_head_gets_431(data_dir: Path) -> None:
    with _in_process(data_dir) as server:
        port = server.server_address[1]
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = b"GET /api/metrics HTTP/1.1\r\n" + b"".join(
            b"X-Pad-%d: %s\r\n" % (i, b"p" * 8000) for i in range(40)
        )

        def send() -> None:
            try:
                sock.sendall(head)
            except OSError:
                pass  # the server answered and closed before reading it all

        sender = threading.Thread(target=send)
        sender.start()
        answer = _answer(sock)
        sender.join(10)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"request line and headers over" in answer


def _slow_head(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A connection that has sent half a request head (and sends more now and then)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.sendall(b"GET /api/metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return sock


def _served(port: int, source: str = "127.0.0.1") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", "/api/metrics?type=system")
        return conn.getresponse().status
    finally:
        conn.close()


def test_slowloris_on_every_slot_does_not_starve_a_normal_client(data_dir: Path) -> None:
    # A long head deadline: only the eviction of waiting connections can serve the client.
    with _in_process(data_dir, request_timeout_s=10, header_timeout_s=60) as server:
        port = server.server_address[1]
        slow = [_slow_head(port) for _ in range(64)]
        stop_trickle = threading.Event()

        def trickle() -> None:  # a header byte every second on each, as slowloris does
            while not stop_trickle.wait(1.0):
                for sock in slow:
                    try:
                        sock.send(b"x")
                    except OSError:
                        pass

        trickler = threading.Thread(target=trickle)
        trickler.start()
        try:
            _until(lambda: server.connections.counts() == (64, 64))  # each holds a slot
            started = time.monotonic()
            statuses = [_served(port) for _ in range(10)]
            elapsed = time.monotonic() - started
        finally:
            stop_trickle.set()
            trickler.join(10)
        closed = [s for s in slow if select.select([s], [], [], 0)[0]]
        for sock in slow:
            sock.close()
    assert statuses == [200] * 10
    assert elapsed < 10, elapsed  # each is served at once, not when a slow client leaves
    assert 1 <= len(closed) <= 10  # only as many evicted as needed


def test_eviction_takes_from_the_address_holding_the_most_connections(data_dir: Path) -> None:
    with _in_process(
        data_dir, request_timeout_s=10, header_timeout_s=60, max_connections=8
    ) as server:
        p = server.server_address[1]
        keep = http.client.HTTPConnection(
            "127.0.0.1", p, timeout=10, source_address=("127.0.0.1", 0)
        )
        keep.request("GET", "/api/metrics?type=system")
        assert keep.getresponse().read()  # now idle: the longest-waiting connection
        time.sleep(0.1)
        hog = [_slow_head(p, "127.0.0.2") for _ in range(7)]
        _until(lambda: server.connections.counts() == (8, 8))
        assert _served(p, "127.0.0.3") == 200
        # The victim was one of the hog's, not the idle connection of another address.
        keep.request("GET", "/api/metrics?type=system")
        assert keep.getresponse().status == 200
        keep.close()
        closed = [s for s in hog if select.select([s], [], [], 0.5)[0]]
        assert len(closed) >= 1
        for sock in hog:
            sock.close()


def test_pick_victim_prefers_the_busiest_address_then_the_longest_waiting() -> None:
    from werkpilot_tui.service.connections import pick_victim

    assert pick_victim({}) is None
    assert pick_victim({1: ("a", None), 2: ("b", None)}) is None  # all busy: 503
    # b holds the most connections: its longest-waiting one goes, though a's waited longer.
    conns = {1: ("a", 1.0), 2: ("b", 5.0), 3: ("b", 3.0), 4: ("b", None)}
    assert pick_victim(conns) == 3
    # Among equals, the longest waiting.
    assert pick_victim({1: ("a", 4.0), 2: ("a", 2.0), 3: ("a", None)}) == 2
    # An address whose connections are all busy gives none up.
    assert pick_victim({1: ("a", None), 2: ("a", None), 3: ("b", 9.0)}) == 3
