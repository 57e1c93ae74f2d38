"""``werkpilot-tui serve``: ``/api/metrics`` (JSON for scripts) and ``/metrics`` (Prometheus).

A stdlib ``ThreadingHTTPServer``: a few scrapers and dashboards need no framework. Core
objects are not thread-safe, so every core call runs under one lock; cached responses are
served without it. Sockets time out and connections are capped, so slow or numerous
clients cannot exhaust the threads: a request's head must arrive whole within
``header_timeout_s`` (a client trickling a byte at a time is cut off), and when every slot
is taken a new connection evicts one that is only waiting for a request (from the address
holding the most connections, waiting longest), so a client that sends its request at once
is served while slow ones hold the rest.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from argparse import Namespace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import core
from core import (
    CONTENT_TYPE,
    Clock,
    ConfigError,
    Core,
    budget_problem,
    load_config,
    printable,
    system_clock,
)
from werkpilot_tui.service.api import MetricsService
from werkpilot_tui.service.connections import (
    MAX_HEAD_BYTES,
    ConnectionTable,
    DeadlineReader,
    HeadTooLarge,
)
from werkpilot_tui.service.otlp_http import LOGS_PATH, TRACES_PATH, OtlpReceiver
from werkpilot_tui.service.otlp_http import METRICS_PATH as OTLP_METRICS_PATH

log = logging.getLogger("werkpilot_tui.server")

METRICS_PATH = "/api/metrics"
ACK_PATH = "/api/metrics/acknowledge"
BUDGETS_PATH = "/api/budgets"
PROMETHEUS_PATH = "/metrics"
#: ``POST /api/agents/NAME/pause`` and ``/resume`` (NAME percent-encoded).
AGENTS_PREFIX = "/api/agents/"
AGENT_VERBS = ("pause", "resume")
#: ``GET``: the agents paused on this host (fleet mode marks them).
PAUSES_PATH = "/api/pauses"
#: Longest reason accepted with an action (core.records.AuditEvent.reason).
MAX_REASON = 2000
#: Overrides ``[server] token_name``: who the audit trail says acted through the API.
TOKEN_NAME_ENV = "WERKPILOT_API_TOKEN_NAME"
ALLOWED = {
    METRICS_PATH: "GET",
    PROMETHEUS_PATH: "GET",
    ACK_PATH: "POST",
    BUDGETS_PATH: "POST",
    PAUSES_PATH: "GET",
    TRACES_PATH: "POST",
    LOGS_PATH: "POST",
    OTLP_METRICS_PATH: "POST",
}
MAX_CONNECTIONS = 64
#: How long a new connection waits for the slot an eviction frees before it is refused.
EVICT_WAIT_S = 2.0
#: An unread request body up to this size is read and dropped after answering, so closing
#: or reusing the connection does not reset it before the client has read the answer.
DRAIN_LIMIT = 1 << 20
JSON_TYPE = "application/json; charset=utf-8"
#: Longest agent/department name core accepts (core.records.Name).
MAX_NAME = 200


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        service: MetricsService,
        *,
        token: str | None = None,
        token_name: str = "api",
        max_body_bytes: int = 65_536,
        request_timeout_s: float = 10.0,
        header_timeout_s: float = 10.0,
        max_connections: int = MAX_CONNECTIONS,
        otlp: OtlpReceiver | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.service = service
        self.otlp = otlp or OtlpReceiver(service)
        self.token = token or None
        self.token_name = token_name
        self.max_body_bytes = max_body_bytes
        self.request_timeout_s = request_timeout_s
        self.header_timeout_s = header_timeout_s
        self._slots = threading.BoundedSemaphore(max_connections)
        self.connections = ConnectionTable()
        super().__init__(address, MetricsHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False) and not (
            self.connections.evict_one() and self._slots.acquire(timeout=EVICT_WAIT_S)
        ):
            body = b'{"success": false, "error": "too many connections"}'
            head = (
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            try:
                request.settimeout(1.0)
                request.sendall(head.encode() + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.untrack(id(request))  # tracked exactly while it holds a slot
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning("connection from %s failed: %s", client_address[0], sys.exc_info()[1])


class MetricsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "werkpilot-tui"
    disable_nagle_algorithm = True  # each response is one send; no wait for a delayed ACK
    server: MetricsServer

    def setup(self) -> None:
        self.timeout = self.server.request_timeout_s  # type: ignore[misc]  # per connection
        self._body_left: int | None = 0
        self._responded = False
        super().setup()
        self._reader = DeadlineReader(self.connection, self.server.request_timeout_s)
        self.rfile = io.BufferedReader(self._reader)
        self._key = id(self.request)  # the server untracks it when the slot is released
        self.server.connections.track(self._key, self._reader, str(self.client_address[0]))

    def handle_one_request(self) -> None:
        """One request; its line and headers must arrive within ``header_timeout_s`` (from
        accept, or from the previous response on a kept-alive connection) and
        ``MAX_HEAD_BYTES``."""
        self.server.connections.set_waiting(self._key, True)
        self._reader.deadline = time.monotonic() + self.server.header_timeout_s
        self._reader.budget = MAX_HEAD_BYTES
        try:
            super().handle_one_request()
        except HeadTooLarge as exc:
            self._reader.deadline = self._reader.budget = None
            self.command = None  # type: ignore[assignment]  # not a previous request's
            self.send_error(431, str(exc))
        except ConnectionError:  # evicted, or the client reset the connection
            self.close_connection = True
        finally:
            self._reader.deadline = self._reader.budget = None

    def parse_request(self) -> bool:
        raw: bytes = getattr(self, "raw_requestline", b"")
        if len(raw.split()) == 2:  # HTTP/0.9 has no headers: the stdlib would wait for them
            self.command = None  # type: ignore[assignment]  # not a previous request's
            self.requestline = printable(str(raw, "iso-8859-1").rstrip())
            self.send_error(400, "HTTP/0.9 requests are not supported; use HTTP/1.x")
            return False
        if not super().parse_request():
            return False
        self._reader.deadline = self._reader.budget = None  # the head is complete
        self.server.connections.set_waiting(self._key, False)
        return True

    # ------------------------------------------------------------ responses
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        left = self._body_left
        if left is None or left > DRAIN_LIMIT or status >= 500:
            self.close_connection = True  # the rest of the request cannot be skipped
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Head and body in one send: two small sends wait ~40 ms for a delayed ACK.
        parts: list[bytes] = [*getattr(self, "_headers_buffer", []), b"\r\n"]
        if self.command != "HEAD":
            parts.append(body)
        self._headers_buffer: list[bytes] = []
        self.wfile.write(b"".join(parts))

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"success": False, "error": message}, headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors found by the stdlib parser, answered in our JSON shape."""
        self.close_connection = True
        if getattr(self, "request_version", "") in ("HTTP/0.9", ""):  # HTTP/2 too: a status line
            self.request_version = "HTTP/1.0"
        try:
            self._error(code, message or HTTPStatus(code).phrase)
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = code.value if isinstance(code, HTTPStatus) else code
        log.info('%s "%s" %s', self.client_address[0], printable(self.requestline), status)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.client_address[0], printable(format % args))

    # --------------------------------------------------------------- routing
    def _route(self) -> tuple[str, dict[str, list[str]]]:
        raw = self.headers.get("Content-Length", "0").strip() or "0"
        self._body_left = int(raw) if raw.isdigit() else None
        if "Transfer-Encoding" in self.headers:
            self._body_left = None
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        return path, parse_qs(url.query, keep_blank_values=True)

    def _dispatch(self) -> None:
        self._responded = False
        path, query = self._route()
        allowed = "POST" if path.startswith(AGENTS_PREFIX) else ALLOWED.get(path)
        try:
            if allowed is None:
                self._error(404, f"not found: {path}")
            elif allowed != self.command:
                self._error(405, f"method {self.command} not allowed", {"Allow": allowed})
            elif path == METRICS_PATH:
                self._get_metrics(query)
            elif path == PROMETHEUS_PATH:
                self._send(200, self.server.service.prometheus_text(), CONTENT_TYPE)
            elif path == BUDGETS_PATH:
                self._post_budget()
            elif path == PAUSES_PATH:
                self._json(200, {"pauses": self.server.service.pauses()})
            elif path.startswith(AGENTS_PREFIX):
                self._post_agent(path)
            elif path in (TRACES_PATH, LOGS_PATH, OTLP_METRICS_PATH):
                self._post_otlp(path)
            else:
                self._post_acknowledge()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            log.exception("error answering %s %s", self.command, printable(path))
            if self._responded:
                self.close_connection = True
                return
            self._error(500, "internal error")
        if self._body_left:
            self._drain()

    def _drain(self) -> None:
        """Read and drop the unread body (bounded in size and by one overall deadline)."""
        left = min(self._body_left or 0, DRAIN_LIMIT)
        self._reader.deadline = time.monotonic() + self.server.request_timeout_s
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 65_536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # also TimeoutError: the deadline passed
            self.close_connection = True
        finally:
            self._reader.deadline = None
        self._body_left = 0

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    # -------------------------------------------------------------- handlers
    def _get_metrics(self, query: dict[str, list[str]]) -> None:
        part = query["type"][-1] if "type" in query else None
        service = self.server.service
        try:
            body, age, hit = service.metrics_json(part)
        except ValueError as exc:
            self._error(400, str(exc))
            return
        ttl = service.cache_ttl_s
        headers = {
            "Cache-Control": f"max-age={max(0, int(ttl - age))}",
            "Age": str(int(age)),
            "X-Cache": "hit" if hit else "miss",
        }
        self._send(200, body, headers=headers)

    def _authorised(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )

    def _read_body(self, limit: int | None = None) -> bytes | None:
        """The request body, or None after answering 411/413/400 for an unusable one."""
        limit = self.server.max_body_bytes if limit is None else limit
        if "Transfer-Encoding" in self.headers:
            self._error(411, "a Content-Length is required (no chunked bodies)")
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            self._error(411, "a Content-Length is required")
            return None
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self._error(400, f"bad Content-Length {raw!r}")
            return None
        if length > limit:
            self._error(413, f"request body over {limit} bytes")
            return None
        # One overall deadline, so a client trickling bytes cannot hold the thread for long.
        deadline = time.monotonic() + self.server.request_timeout_s
        chunks: list[bytes] = []
        got = 0
        while got < length:
            chunk = self.rfile.read1(length - got)
            if not chunk:
                self.close_connection = True
                return None
            chunks.append(chunk)
            got += len(chunk)
            if got < length and time.monotonic() > deadline:
                self._body_left = None
                self._error(408, "request body too slow")
                return None
        self._body_left = 0
        return b"".join(chunks)

    def _read_chunked(self, limit: int) -> bytes | None:
        """A chunked request body of at most ``limit`` bytes, read within one deadline;
        None after answering 400/408/413 (the connection is then closed)."""
        self._body_left = None  # whatever is not read cannot be skipped
        self._reader.deadline = time.monotonic() + self.server.request_timeout_s
        chunks: list[bytes] = []
        got = 0
        try:
            while True:
                line = self.rfile.readline(1026)
                size_text = line.split(b";")[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    self._error(400, "bad chunk size in a chunked body")
                    return None
                if size == 0:
                    while self.rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                got += size
                if got > limit:
                    self._error(413, f"request body over {limit} bytes")
                    return None
                data = self.rfile.read(size)
                if len(data) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    self.close_connection = True
                    return None
                chunks.append(data)
        except TimeoutError:
            self._error(408, "request body too slow")
            return None
        finally:
            self._reader.deadline = None
        self._body_left = 0
        return b"".join(chunks)

    def _json_body(self) -> Any:
        """The authorised request's JSON document, or None after answering 401/400/41x."""
        if not self._authorised():
            self._error(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
            return None
        body = self._read_body()
        if body is None:
            return None
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._error(400, "Content-Type must be application/json")
            return None
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            self._error(400, "body is not valid JSON")
            return None
        if not isinstance(doc, dict):
            self._error(400, "body must be a JSON object")
            return None
        return doc

    def _post_otlp(self, path: str) -> None:
        """OTLP/HTTP export (werkpilot_tui/service/otlp_http.py), behind the write token."""
        if not self._authorised():
            self._error(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
            return
        otlp = self.server.otlp
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked(otlp.max_body_bytes)  # the JavaScript SDK sends these
        else:
            body = self._read_body(otlp.max_body_bytes)
        if body is None:
            return
        reply = otlp.export(
            path,
            body,
            self.headers.get("Content-Type", ""),
            self.headers.get("Content-Encoding", ""),
        )
        self._send(reply.status, reply.body, reply.content_type, reply.headers)

    def _actor(self) -> str:
        """Who acts, for the audit trail: the token's name, or without a token the address
        the request came from."""
        if self.server.token is not None:
            return f"token:{self.server.token_name}"
        return f"anonymous@{self.client_address[0]}"

    def _reason(self, doc: dict[str, Any]) -> str | None:
        """The optional ``reason`` of an action, or None after answering 400."""
        reason = doc.get("reason", "")
        if reason is None:
            return ""
        if not isinstance(reason, str):
            self._error(400, "reason must be a string")
            return None
        if len(reason) > MAX_REASON:
            self._error(400, f"reason is too long ({len(reason)} characters, at most {MAX_REASON})")
            return None
        return reason

    def _post_agent(self, path: str) -> None:
        """``POST /api/agents/NAME/pause|resume`` with ``{"reason": ...}``."""
        encoded, _, verb = path[len(AGENTS_PREFIX) :].rpartition("/")
        if verb not in AGENT_VERBS or not encoded or "/" in encoded:
            self._error(
                404, f"not found: {printable(path)} (POST {AGENTS_PREFIX}NAME/pause|resume)"
            )
            return
        doc = self._json_body()  # the token first: nothing is said to a stranger
        if doc is None:
            return
        try:
            agent = unquote(encoded, errors="strict")
        except UnicodeDecodeError:
            self._error(400, "agent name is not valid percent-encoded UTF-8")
            return
        problem = _name_problem(agent, "agent name")
        if problem:
            self._error(400, problem)
            return
        reason = self._reason(doc)
        if reason is None:
            return
        service = self.server.service
        paused = verb == "pause"
        if not service.knows_agent(agent):
            self._error(404, f"no agent named {printable(agent)!r} on this host")
            return
        try:
            changed = service.set_paused(agent, paused, actor=self._actor(), reason=reason)
        except ValueError as exc:
            self._error(400, str(exc))
            return
        self._json(
            200,
            {"success": True, "agent": agent, "paused": paused, "changed": changed},
        )

    def _post_budget(self) -> None:
        doc = self._json_body()
        if doc is None:
            return
        reason = self._reason(doc)
        if reason is None:
            return
        department = doc.get("department")
        problem = _department_problem(department)
        if problem:
            self._error(400, problem)
            return
        amount = doc.get("amount")
        limits = self.server.service.components.config.budget_limits
        problem = budget_problem(amount, limits.max_monthly_usd)
        if problem:  # core checks again; this answers without taking the core lock
            self._error(400, f"amount: {problem}")
            return
        assert isinstance(department, str) and isinstance(amount, int | float)
        try:
            name, budget = self.server.service.set_budget(
                department, float(amount), actor=self._actor(), reason=reason
            )
        except ValueError as exc:
            self._error(400, str(exc))
            return
        self._json(200, {"success": True, "department": name, "budget": budget})

    def _post_acknowledge(self) -> None:
        doc = self._json_body()
        if doc is None:
            return
        alert_id = doc.get("alertId")
        if not isinstance(alert_id, str) or not alert_id or len(alert_id) > 200:
            self._error(400, "alertId is required")
            return
        reason = self._reason(doc)
        if reason is None:
            return
        try:
            ok = self.server.service.acknowledge(alert_id, actor=self._actor(), reason=reason)
        except ValueError as exc:  # a reason the audit trail cannot hold
            self._error(400, printable(str(exc)))
            return
        if not ok:
            self._error(404, f"no alert with id {alert_id!r}")
            return
        self._json(200, {"success": True, "alertId": alert_id})


def _department_problem(department: object) -> str | None:
    """Why ``department`` of a budget edit is unusable (core checks the characters)."""
    if department is None:
        return "department is required"
    if not isinstance(department, str):
        return "department must be a string"
    return _name_problem(department, "department")


def _name_problem(name: str, what: str) -> str | None:
    """Why an agent or department name is unusable: blank, too long, control characters."""
    if not name.strip():
        return f"{what} must not be blank"
    if len(name) > MAX_NAME:
        return f"{what} is too long ({len(name)} characters, at most {MAX_NAME})"
    if not name.isprintable():
        return f"{what} must not contain control characters"
    return None


def token_name(config_name: str, env: dict[str, str]) -> str:
    """The API token's name for the audit trail: ``$WERKPILOT_API_TOKEN_NAME`` or
    ``[server] token_name``; ConfigError for a name the trail cannot hold."""
    name = env.get(TOKEN_NAME_ENV, "").strip() or config_name
    if not (0 < len(name) <= 100) or not all(c.isalnum() or c in "._@+-" for c in name):
        raise ConfigError(
            f"${TOKEN_NAME_ENV}", "", f"{printable(name)!r}: letters, digits and ._@+- only"
        )
    return name


def make_server(
    components: Core,
    host: str,
    port: int,
    *,
    clock: Clock | None = None,
    env: dict[str, str] | None = None,
) -> MetricsServer:
    """A bound server over ``components`` configured from their ``[server]`` section."""
    cfg = components.config.server
    env = dict(os.environ) if env is None else env
    service = MetricsService(components, cache_ttl_s=cfg.cache_ttl_s, clock=clock)
    ingest = components.config.ingest
    otlp = OtlpReceiver(
        service,
        departments=ingest.departments,
        max_body_bytes=ingest.max_body_bytes,
        claude_code=ingest.claude_code,
        gen_ai_metrics=ingest.gen_ai_metrics,
    )
    return MetricsServer(
        (host, port),
        service,
        token=env.get(cfg.token_env) or None,
        token_name=token_name(cfg.token_name, env),
        max_body_bytes=cfg.max_body_bytes,
        request_timeout_s=cfg.request_timeout_s,
        header_timeout_s=cfg.header_timeout_s,
        max_connections=cfg.max_connections,
        otlp=otlp,
    )


def run_server(args: Namespace) -> int:
    """Serve until SIGTERM or Ctrl-C; print the bound address first."""
    config = load_config(getattr(args, "config", None))
    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    components = core.open(getattr(args, "data_dir", None), config, system_clock)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        server = make_server(components, host, port)
    except ConfigError:
        components.close()
        raise
    except OSError as exc:
        components.close()
        print(f"werkpilot-tui: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    address, bound_port = server.server_address[:2]
    bound_host = address.decode() if isinstance(address, bytes) else address
    if server.token is None and bound_host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"werkpilot-tui: warning: listening on {bound_host} without a token "
            f"(set ${config.server.token_env} to protect acknowledgements)",
            file=sys.stderr,
        )
    threading.Thread(target=server.service.warm, name="warm-exposition", daemon=True).start()
    stop = threading.Event()

    def _terminate(signum: int, frame: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, _terminate)
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    print(
        f"werkpilot-tui: serving http://{shown}:{bound_port}{METRICS_PATH} and "
        f"{PROMETHEUS_PATH} (data: {components.journal.root})",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        server.service.close()
        components.close()
    print("werkpilot-tui: stopped", flush=True)
    return 0
