"""Real Prometheus, Alertmanager and ``werkpilot-tui serve`` processes on loopback, for tests
and ``bench/fleet.py``.

Every process gets a free 127.0.0.1 port and its own temporary storage, and is stopped
(SIGTERM, then SIGKILL) by ``stop``. Readiness is polled over HTTP with a deadline, never
assumed after a fixed sleep.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
HAVE_PROMETHEUS = os.access(PROMETHEUS, os.X_OK)
HAVE_ALERTMANAGER = os.access(ALERTMANAGER, os.X_OK)
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> object:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout}s waiting for {what or predicate} (last: {last!r})"
    )


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except OSError:
        return False


@dataclass
class Proc:
    """A started process with the URL it serves and the log it writes."""

    name: str
    argv: list[str]
    port: int
    log: Path
    ready_path: str = "/-/ready"
    popen: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Proc:
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                cwd=self.log.parent,
                start_new_session=True,
            )
        try:
            wait_until(self._ready, timeout, what=f"{self.name} at {self.url}")
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"{self.name} did not start: {self.tail_log()}") from None
        return self

    def _ready(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}: {self.tail_log()}"
            )
        return http_ok(self.url + self.ready_path)

    def tail_log(self, n: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        p, self.popen = self.popen, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def serve(data_dir: Path, workdir: Path, name: str, port: int | None = None) -> Proc:
    """``werkpilot-tui serve`` over ``data_dir`` as a separate process (one "host")."""
    port = port or free_port()
    argv = [sys.executable, "-m", "werkpilot_tui", "serve", "--data-dir", str(data_dir)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    env = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return Proc(name, argv, port, workdir / f"{name}.log", "/metrics", env=env)


def prometheus_config(
    targets: Sequence[tuple[str, str]], interval: str = "1s", job: str = "werkpilot"
) -> str:
    """A scrape config for (host name, address) targets, shaped like deploy/prometheus.yml."""
    lines = [
        "global:",
        f"  scrape_interval: {interval}",
        f"  evaluation_interval: {interval}",
        "scrape_configs:",
        f"  - job_name: {job}",
        f"    scrape_timeout: {interval}",
        "    static_configs:",
    ]
    for host, address in targets:
        lines += [f'      - targets: ["{address}"]', "        labels:", f'          host: "{host}"']
    return "\n".join(lines) + "\n"


def prometheus(
    workdir: Path,
    targets: Sequence[tuple[str, str]],
    interval: str = "1s",
    port: int | None = None,
    storage: Path | None = None,
) -> Proc:
    """A Prometheus scraping ``targets`` every ``interval``, storing under ``workdir``."""
    port = port or free_port()
    cfg = workdir / "prometheus.yml"
    cfg.write_text(prometheus_config(targets, interval))
    storage = storage or workdir / "prom-data"
    argv = [
        PROMETHEUS,
        f"--config.file={cfg}",
        f"--storage.tsdb.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return Proc("prometheus", argv, port, workdir / "prometheus.log")


ALERTMANAGER_CONFIG = """\
route:
  receiver: "null"
  group_by: ["alertname", "host"]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: "null"
"""


def alertmanager(workdir: Path, port: int | None = None) -> Proc:
    """An Alertmanager on loopback with clustering off and a receiver that sends nothing."""
    port = port or free_port()
    cfg = workdir / "alertmanager.yml"
    cfg.write_text(ALERTMANAGER_CONFIG)
    argv = [
        ALERTMANAGER,
        f"--config.file={cfg}",
        f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return Proc("alertmanager", argv, port, workdir / "alertmanager.log")
