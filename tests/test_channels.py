"""Channels against real servers on 127.0.0.1: SMTP (aiosmtpd) and HTTP (http.server).

Delivery runs in a background thread; tests wait for it with ``flush`` (bounded), never by
sleeping.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.alerts.channels import Dispatcher, EmailChannel, Reason, WebhookChannel, build_channels
from core.alerts.manager import AlertManager
from core.alerts.state import Alert
from core.config import Config, load_config
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[1]
CEO = "ceo@werkpilot.example"
SENDER = "alerts@werkpilot.example"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------- SMTP
class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []  # every AUTH the server received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


def _authenticator(inbox: Inbox) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
            b"werkpilot",
            b"s3cret",
        )
        if isinstance(auth, LoginPassword):
            inbox.logins.append((auth.login, auth.password))
        return AuthResult(success=ok)

    return authenticate


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()

    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator(inbox),
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def _email_config(port: int, **extra: Any) -> Config:
    section = {"enabled": True, "host": "127.0.0.1", "port": port, "to": CEO, "from": SENDER}
    section.update(extra)
    return Config.model_validate(
        {"email": section, "alerts": {"delivery_backoff_s": 0.01}}, by_alias=True
    )


def test_critical_alert_reaches_a_real_smtp_server(
    data_dir: Path, clock: FakeClock, smtp_server: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp_server
    toml = tmp_path / "werkpilot.toml"
    toml.write_text(  # a password over cleartext only because it is allowed explicitly
        f'[email]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\nusername = "werkpilot"\n'
        "allow_plaintext_auth = true\n"
    )
    env = {"CEO_EMAIL": CEO, "ALERT_EMAIL_FROM": SENDER, "WERKPILOT_SMTP_PASSWORD": "s3cret"}
    config = load_config(toml, env=env)
    manager = AlertManager(data_dir, clock=clock, config=config)
    manager._channels = [EmailChannel(config.email, env=env)]  # the password from this env
    manager.add_alert("warning", "error_rate", "only a warning", {"agent": "a"})
    alert = manager.add_alert(
        "critical",
        "budget_exceeded",
        "Budget <exceeded> for sales & more",
        {"department": "sales", "spent": 612.5, "budget": 500},
    )
    assert manager.flush(10)
    assert len(inbox.messages) == 1
    mail_from, rcpt, msg = inbox.messages[0]
    assert (mail_from, rcpt) == (SENDER, [CEO])
    assert (msg["From"], msg["To"]) == (SENDER, CEO)
    assert msg["Subject"] == (
        "[Werkpilot CRITICAL] budget_exceeded: Budget <exceeded> for sales & more"
    )
    text = msg.get_body(("plain",)).get_content()
    assert "Budget <exceeded> for sales & more" in text
    assert "department: sales" in text and "spent: 612.5" in text
    assert alert.id in text and "2026-11-26 12:00:00 UTC" in text
    page = msg.get_body(("html",)).get_content()
    assert "Budget &lt;exceeded&gt; for sales &amp; more" in page and "<exceeded>" not in page
    assert [(d.channel, d.ok) for d in manager.get_deliveries(alert.id)] == [("email", True)]
    manager.close()


def test_password_is_never_sent_over_cleartext_unless_allowed(
    data_dir: Path, clock: FakeClock, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    env = {"WERKPILOT_SMTP_PASSWORD": "s3cret"}
    config = _email_config(port, username="werkpilot", retries=2)
    assert not config.email.allow_plaintext_auth  # the default
    manager = AlertManager(data_dir, clock=clock, config=config)
    manager._channels = [EmailChannel(config.email, env=env)]
    alert = manager.add_alert("critical", "error_rate", "over cleartext", {"agent": "a"})
    assert alert is not None and manager.flush(10)
    assert inbox.logins == [] and inbox.messages == []  # not even an AUTH attempt
    (delivery,) = manager.get_deliveries(alert.id)
    assert (delivery.channel, delivery.ok) == ("email", False)
    assert delivery.error is not None
    assert "unencrypted connection" in delivery.error and "allow_plaintext_auth" in delivery.error
    assert "starttls" in delivery.error and "(1 attempt)" in delivery.error  # no retries
    assert manager.get_alert_stats("24h").delivery_failures == 1
    manager.close()
    # Without a password nothing secret is sent: plain SMTP still works (a relay on localhost).
    inbox_ok = EmailChannel(_email_config(port, username="werkpilot").email, env={})
    inbox_ok.send(alert, "raised")
    assert len(inbox.messages) == 1 and inbox.logins == []


def test_reminder_email_after_an_hour_unacknowledged(
    data_dir: Path, clock: FakeClock, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    manager = AlertManager(data_dir, clock=clock, config=_email_config(port))
    alert = manager.add_alert("critical", "daily_budget", "Daily budget exceeded", {})
    clock.advance(hours=1)
    manager.check_escalations()
    manager.check_escalations()
    assert manager.flush(10)
    subjects = [m["Subject"] for _, _, m in inbox.messages]
    assert subjects == [
        "[Werkpilot CRITICAL] daily_budget: Daily budget exceeded",
        "[Werkpilot CRITICAL] Unacknowledged: daily_budget: Daily budget exceeded",
    ]
    assert manager.get_alert(alert.id).emailed
    manager.close()


def test_smtp_server_down_does_not_hold_the_caller_and_is_recorded(
    data_dir: Path, clock: FakeClock
) -> None:
    manager = AlertManager(data_dir, clock=clock, config=_email_config(_free_port(), retries=1))
    started = time.monotonic()
    alert = manager.add_alert("critical", "error_rate", "down", {"agent": "a"})
    assert time.monotonic() - started < 0.5
    assert alert is not None
    assert manager.flush(10)
    (delivery,) = manager.get_deliveries(alert.id)
    assert (delivery.channel, delivery.ok) == ("email", False)
    assert "Connection" in delivery.error and "2 attempts" in delivery.error
    assert manager.get_alert_stats("24h").delivery_failures == 1
    # Another process sees the failure too: it is an event in the alert journal.
    assert AlertManager(data_dir, clock=clock).get_alert_stats("1h").delivery_failures == 1
    manager.close()


def test_smtp_server_that_never_answers_does_not_hold_the_caller(
    data_dir: Path, clock: FakeClock
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        config = _email_config(port, retries=0, timeout_s=1.0)
        manager = AlertManager(data_dir, clock=clock, config=config)
        started = time.monotonic()
        alert = manager.add_alert("critical", "error_rate", "silent server", {"agent": "a"})
        assert time.monotonic() - started < 1.0  # a send in the caller would wait 1 s
        assert manager.flush(10)
    (delivery,) = manager.get_deliveries(alert.id)
    assert not delivery.ok and "timed out" in delivery.error
    manager.close()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files)."""
    pytest.importorskip("cryptography")
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_starttls_and_ssl_verifies_the_server(
    mode: str, data_dir: Path, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    inbox, port = Inbox(), _free_port()
    tls = {"tls_context": server_ctx, "require_starttls": True}
    # aiosmtpd only counts STARTTLS as TLS for AUTH; over implicit TLS it must be told.
    implicit = {"ssl_context": server_ctx, "auth_require_tls": False}
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator(inbox),  # AUTH over TLS needs no opt-in
        **(tls if mode == "starttls" else implicit),
    )
    controller.start()
    # The client verifies the server against the default trust store; trust the test CA.
    default_context = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda: default_context(cafile=cert))
    try:
        config = _email_config(port, username="werkpilot", **{mode: True})
        manager = AlertManager(data_dir, clock=clock, config=config)
        env = {"WERKPILOT_SMTP_PASSWORD": "s3cret"}
        manager._channels = [EmailChannel(config.email, env=env)]
        alert = manager.add_alert("critical", "error_rate", f"over {mode}", {"agent": "a"})
        assert manager.flush(10)
        assert [m["Subject"] for _, _, m in inbox.messages] == [
            f"[Werkpilot CRITICAL] error_rate: over {mode}"
        ]
        assert inbox.logins == [(b"werkpilot", b"s3cret")]
        assert manager.get_deliveries(alert.id)[0].ok
        manager.close()
    finally:
        controller.stop()


def test_email_stays_off_until_enabled_with_both_addresses() -> None:
    assert build_channels(Config()) == []
    half = Config.model_validate({"email": {"enabled": True, "to": CEO}})
    assert build_channels(half) == []
    (channel,) = build_channels(_email_config(25))
    assert isinstance(channel, EmailChannel)


# ------------------------------------------------------------------------- HTTP
class Hook:
    """A webhook endpoint: records JSON bodies, answers ``status``, or stalls."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.stall = False
        self.release = threading.Event()
        self.url = ""


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.stall:
                state.release.wait(10)  # longer than the client's timeout
            state.bodies.append(json.loads(body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


def _hook_manager(data_dir: Path, clock: FakeClock, url: str, **webhook: Any) -> AlertManager:
    section = {"url": url, "timeout_s": 0.3, "retries": 0, **webhook}
    config = Config.model_validate({"webhook": section, "alerts": {"delivery_backoff_s": 0.01}})
    return AlertManager(data_dir, clock=clock, config=config)


def test_webhook_receives_slack_compatible_json(
    data_dir: Path, clock: FakeClock, hook: Hook
) -> None:
    manager = _hook_manager(data_dir, clock, hook.url)
    manager.add_alert("info", "budget_info", "not for the webhook", {"department": "sales"})
    alert = manager.add_alert("warning", "error_rate", "Error rate <15%> & rising", {"agent": "a"})
    assert manager.flush(10)
    (body,) = hook.bodies
    assert body["text"] == "[WARNING] error_rate: Error rate &lt;15%&gt; &amp; rising"
    (attachment,) = body["attachments"]
    assert attachment["fields"] == [{"title": "agent", "value": "a", "short": True}]
    assert body["alert"]["id"] == alert.id and body["alert"]["message"] == alert.message
    assert [(d.channel, d.ok) for d in manager.get_deliveries()] == [("webhook", True)]
    manager.close()


def test_failing_webhook_is_retried_and_recorded(
    data_dir: Path, clock: FakeClock, hook: Hook
) -> None:
    hook.status = 500
    manager = _hook_manager(data_dir, clock, hook.url, retries=2)
    alert = manager.add_alert("critical", "error_rate", "boom", {"agent": "a"})
    assert manager.flush(10)
    assert len(hook.bodies) == 3
    (delivery,) = manager.get_deliveries(alert.id)
    assert not delivery.ok and "500" in delivery.error and "3 attempts" in delivery.error
    assert manager.get_alert_stats("1h").delivery_failures == 1
    manager.close()


def test_slow_webhook_does_not_hold_the_caller(
    data_dir: Path, clock: FakeClock, hook: Hook
) -> None:
    hook.stall = True
    manager = _hook_manager(data_dir, clock, hook.url, timeout_s=1.0)
    started = time.monotonic()
    alert = manager.add_alert("critical", "error_rate", "slow endpoint", {"agent": "a"})
    assert time.monotonic() - started < 1.0  # a send in the caller would wait the 1 s timeout
    assert manager.flush(10)
    (delivery,) = manager.get_deliveries(alert.id)
    assert not delivery.ok and "timed out" in delivery.error
    manager.close()


# ------------------------------------------------------------------- dispatcher
class Gate:
    """A channel whose sends block until released; can fail a number of times first."""

    name = "gate"

    def __init__(self, failures: int = 0, retries: int = 0) -> None:
        self.retries = retries
        self.failures = failures
        self.started = threading.Event()
        self.release = threading.Event()
        self.sent: list[str] = []

    def accepts(self, alert: Alert, reason: Reason) -> bool:
        return True

    def send(self, alert: Alert, reason: Reason) -> None:
        self.started.set()
        assert self.release.wait(10)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("flaky")
        self.sent.append(alert.id)


def _alert(i: int) -> Alert:
    return Alert(
        id=f"a{i}",
        timestamp=0,
        level="critical",
        type="t",
        message="m",
        data={},
        fingerprint="t|critical",
        last_seen=0,
    )


def test_full_queue_drops_and_records_instead_of_blocking() -> None:
    outcomes: list[tuple[str, str, bool, str | None]] = []
    gate = Gate()
    dispatcher = Dispatcher(lambda *o: outcomes.append(o), queue_size=1, backoff_s=0)
    assert dispatcher.submit(gate, _alert(1), "raised")
    assert gate.started.wait(5)  # the worker holds a1; the queue is empty again
    assert dispatcher.submit(gate, _alert(2), "raised")
    assert not dispatcher.submit(gate, _alert(3), "raised")
    assert outcomes == [("gate", "a3", False, "delivery queue full: dropped")]
    assert not dispatcher.flush(0.05)
    gate.release.set()
    assert dispatcher.flush(5)
    assert gate.sent == ["a1", "a2"]
    assert outcomes[1:] == [("gate", "a1", True, None), ("gate", "a2", True, None)]
    dispatcher.close()


def test_retries_until_success_and_a_recorder_failure_does_not_kill_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate(failures=2, retries=2)
    gate.release.set()
    calls: list[bool] = []

    def record(channel: str, alert_id: str, ok: bool, error: str | None) -> None:
        calls.append(ok)
        if len(calls) == 1:
            raise OSError("disk full")

    dispatcher = Dispatcher(record, backoff_s=0)
    with caplog.at_level(logging.ERROR, logger="werkpilot.alerts"):
        dispatcher.submit(gate, _alert(1), "raised")
        dispatcher.submit(gate, _alert(2), "raised")
        assert dispatcher.flush(5)
    assert gate.sent == ["a1", "a2"] and calls == [True, True]
    assert any("could not record" in r.getMessage() for r in caplog.records)
    dispatcher.close()


def test_webhook_payload_levels_are_configurable() -> None:
    config = Config.model_validate({"webhook": {"url": "http://x", "levels": ["info"]}})
    (channel,) = build_channels(config)
    assert isinstance(channel, WebhookChannel)
    info = _alert(1).model_copy(update={"level": "info"})
    assert channel.accepts(info, "raised") and not channel.accepts(_alert(2), "raised")


def test_process_exit_does_not_hang_on_an_undeliverable_alert(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from core.alerts.manager import AlertManager
        from core.config import Config
        config = Config.model_validate({{
            "webhook": {{"url": "http://127.0.0.1:{_free_port()}/", "retries": 5}},
            "alerts": {{"delivery_backoff_s": 30}},
        }})
        m = AlertManager({str(tmp_path / "data")!r}, config=config)
        m.add_alert("critical", "error_rate", "exit", {{"agent": "a"}})
        print("raised", flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "raised"
