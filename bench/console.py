"""Console benchmark: write-to-screen latency, idle and loaded CPU, start-up with 1M executions.

Run: ``python bench/console.py`` (``--only latency,idle,load,startup``, ``--seconds 30``).
The console runs headless in a child process (``app.run_test``); the parent writes through
``core`` like an agent would and measures the child with psutil. Baselines measured in the same
run put the figures in context on a busy machine: watchfiles alone (same settings) for latency,
a minimal Textual app for idle CPU and start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = "probe-agent"
TARGETS = {"latency_p95_ms": 200, "idle_cpu_pct": 1.0, "load_cpu_pct": 25.0, "startup_s": 1.5}


# ------------------------------------------------------------------ child side
def emit(**event: Any) -> None:
    print(json.dumps({"t": time.time(), **event}), flush=True)


def run_bare(seconds: float) -> None:
    """Baseline: a minimal Textual app (header, table, footer), headless, same harness."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Static

    class Bare(App[None]):
        painted = False

        def compose(self) -> ComposeResult:
            yield Static("header")
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("a", "b", "c")
            table.add_rows([(str(i), "x", "y") for i in range(20)])
            self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            self.painted = True
            emit(event="painted", agents=20)

    async def bare() -> None:
        app = Bare()
        async with app.run_test(size=(120, 40)):
            end = time.monotonic() + seconds
            while time.monotonic() < end or not app.painted:
                await asyncio.sleep(0.05 if not app.painted else 0.5)

    asyncio.run(bare())


def run_watch(data_dir: str, seconds: float) -> None:
    """Baseline: watchfiles alone with the console's settings, reporting each change."""
    from watchfiles import watch

    emit(event="painted", agents=0)
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    from werkpilot_tui.live import WATCH_STEP_MS

    for _ in watch(data_dir, debounce=50, step=WATCH_STEP_MS, stop_event=stop):
        emit(event="change")


def run_console(data_dir: str, mode: str, seconds: float) -> None:
    """The console, headless; prints JSON events on stdout."""
    from werkpilot_tui.app import WerkpilotApp
    from werkpilot_tui.messages import DataChanged
    from werkpilot_tui.widgets.agent_table import AgentTable

    class BenchApp(WerkpilotApp):
        painted = False

        def on_data_changed(self, message: DataChanged) -> None:
            # Textual calls every class's handler in the MRO: the app's runs first.
            def report() -> None:
                table = self.dashboard_screen.query_one(AgentTable)
                if not self.painted and table.row_count:
                    self.painted = True
                    emit(event="painted", agents=table.row_count)
                if PROBE in table.row_keys:
                    emit(event="render", runs=table.get_row(PROBE)[2].plain)

            self.call_after_refresh(report)

    async def key_latency(app: BenchApp, pilot: Any) -> float:
        """From pressing ``w`` to the repaint that shows the new window (ms)."""
        screen = app.dashboard_screen
        before = screen.window
        painted = asyncio.Event()
        t0 = time.perf_counter()
        press = asyncio.ensure_future(pilot.press("w"))
        while screen.window == before:
            await asyncio.sleep(0.002)
        app.call_after_refresh(painted.set)
        await painted.wait()
        lag = (time.perf_counter() - t0) * 1000
        await press
        return lag

    async def main() -> None:
        app = BenchApp(data_dir=data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            emit(event="started")
            end = time.monotonic() + seconds
            lags: list[float] = []
            while time.monotonic() < end or (mode == "startup" and not app.painted):
                if mode == "load":
                    lags.append(await key_latency(app, pilot))
                    await asyncio.sleep(0.5)
                else:
                    await asyncio.sleep(0.05 if mode == "startup" else 0.5)
            if lags:
                emit(event="keys", p50=statistics.median(lags), max=max(lags), n=len(lags))
            emit(event="builds", n=app.feed.builds)

    asyncio.run(main())


# ----------------------------------------------------------------- parent side
class Console:
    """A console child process and a queue of its events."""

    def __init__(self, data_dir: Path, mode: str, seconds: float) -> None:
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(data_dir), mode, str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "WERKPILOT_SETTINGS": str(data_dir.parent / "settings.toml")},
        )
        self.events: Queue[dict[str, Any]] = Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def wait_for(self, event: str, timeout: float = 120, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {event} {match} from the console")
            try:
                e = self.events.get(timeout=left)
            except Empty:
                continue
            if e["event"] == event and all(e.get(k) == v for k, v in match.items()):
                return e

    def cpu_seconds(self) -> float:
        import psutil

        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system

    def finish(self) -> None:
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.proc.returncode:
            assert self.proc.stderr
            print(self.proc.stderr.read()[-3000:], file=sys.stderr)


def seed_fleet(data_dir: Path, agents: int = 20) -> None:
    from core.alerts import AlertManager
    from core.ledger import CostTracker
    from core.monitor import PerformanceMonitor

    alerts = AlertManager(data_dir, channels=[])
    monitor = PerformanceMonitor(data_dir, alert_manager=alerts)
    tracker = CostTracker(data_dir, alert_manager=alerts)
    for i in range(agents):
        for _ in range(5):
            monitor.track_execution(
                f"agent-{i:02d}",
                duration=800.0,
                model="claude-haiku-4-5",
                department="sales",
                tokens_used=500,
                cost=0.001,
            )
        tracker.track_cost(
            f"agent-{i:02d}", "sales", model="claude-haiku-4-5", input_tokens=300, output_tokens=200
        )
    for c in (monitor, tracker, alerts):
        c.close()


def _drain(console: Console) -> None:
    while not console.events.empty():
        console.events.get_nowait()


def bench_latency(base: Path, seconds: float, writes: int = 100) -> dict[str, float]:
    """Append by this process -> the probe row's new value painted by the console."""
    from core.monitor import PerformanceMonitor

    data_dir = base / "latency"
    seed_fleet(data_dir)
    monitor = PerformanceMonitor(data_dir)
    out: dict[str, float] = {}
    for mode in ("watch", "latency"):  # baseline first: watchfiles alone, same writes
        console = Console(data_dir, mode, seconds=writes * 0.5 + 20)
        console.wait_for("painted")
        time.sleep(1)
        _drain(console)
        latencies: list[float] = []
        for i in range(1, writes + 1):
            time.sleep(0.3)  # writes spaced apart
            t0 = time.time()
            monitor.track_execution(PROBE, duration=100.0, department="bench")
            if mode == "watch":
                seen = console.wait_for("change", timeout=10)
            else:
                seen = console.wait_for("render", timeout=10, runs=str(writes + i))
            latencies.append((seen["t"] - t0) * 1000)
            _drain(console)
        console.proc.terminate()
        console.finish()
        q = statistics.quantiles(latencies, n=20)
        prefix = "watchfiles_" if mode == "watch" else ""
        out[f"{prefix}p50_ms"] = statistics.median(latencies)
        out[f"{prefix}p95_ms"] = q[18]
    return out


def _idle_cpu(data_dir: Path, mode: str, seconds: float) -> float:
    console = Console(data_dir, mode, seconds=seconds + 15)
    console.wait_for("painted")
    time.sleep(3)  # let start-up work settle
    c0, t0 = console.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    c1, t1 = console.cpu_seconds(), time.monotonic()
    console.proc.terminate()
    console.finish()
    return (c1 - c0) / (t1 - t0) * 100


def bench_idle(base: Path, seconds: float) -> dict[str, float]:
    data_dir = base / "idle"
    seed_fleet(data_dir)
    return {
        "bare_textual_cpu_pct": _idle_cpu(data_dir, "bare", seconds),
        "cpu_pct": _idle_cpu(data_dir, "idle", seconds),
    }


def _writer(data_dir: str, rate: float, seconds: float, n: int) -> None:
    from core.monitor import PerformanceMonitor

    monitor = PerformanceMonitor(data_dir)
    start = time.monotonic()
    i = 0
    while (elapsed := time.monotonic() - start) < seconds:
        if i < elapsed * rate:
            monitor.track_execution(f"writer-{n}-{i % 10}", duration=500.0, department="sales")
            i += 1
        else:
            time.sleep(0.002)


def bench_load(base: Path, seconds: float) -> dict[str, float]:
    data_dir = base / "load"
    seed_fleet(data_dir)
    console = Console(data_dir, "load", seconds=seconds + 8)
    console.wait_for("painted")
    time.sleep(2)
    procs = [mp.Process(target=_writer, args=(str(data_dir), 50.0, seconds, n)) for n in range(4)]
    for p in procs:
        p.start()
    time.sleep(1)  # writers importing core
    c0, t0 = console.cpu_seconds(), time.monotonic()
    for p in procs:
        p.join()
    c1, t1 = console.cpu_seconds(), time.monotonic()
    keys = console.wait_for("keys", timeout=30)
    builds = console.wait_for("builds", timeout=30)
    console.finish()
    return {
        "cpu_pct": (c1 - c0) / (t1 - t0) * 100,
        "key_p50_ms": keys["p50"],
        "key_max_ms": keys["max"],
        "builds": builds["n"],
    }


def make_million(data_dir: Path, total: int = 1_000_000, agents: int = 20) -> None:
    """1M executions over 7 days, written as raw journal lines (fast)."""
    from core.journal import Journal
    from core.records import Execution

    if (data_dir / ".complete").exists():
        return
    journal = Journal(data_dir)
    now = datetime.now(UTC)
    start_ms = int((now - timedelta(days=7)).timestamp() * 1000)
    step = (7 * 86_400_000) // total
    template = (
        Execution(
            timestamp=1,
            agent="x",
            duration=1.0,
            tokens_used=100,
            cost=0.0001,
            model="claude-haiku-4-5",
            department="sales",
        )
        .to_json_line()
        .decode()
    )
    head, tail = template.split('"agent":"x"', 1)
    buf: dict[Path, list[str]] = {}
    for i in range(total):
        ts = start_ms + i * step
        line = head.replace('"timestamp":1', f'"timestamp":{ts}', 1) + (
            f'"agent":"agent-{i % agents:02d}"' + tail
        )
        if i % 17 == 0:
            line = line.replace('"status":"completed"', '"status":"error"')
        path = journal.path_for("executions", datetime.fromtimestamp(ts / 1000, UTC).date())
        buf.setdefault(path, []).append(line)
    for path, lines in buf.items():
        journal.ensure_dir(path.parent)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(lines))
    (data_dir / ".complete").write_text("ok")


def _painted_after(data_dir: Path, mode: str) -> float:
    console = Console(data_dir, mode, seconds=0)
    painted = console.wait_for("painted", timeout=300)
    console.finish()
    return float(painted["t"] - console.started_at)


def bench_startup(base: Path) -> dict[str, float]:
    """Process start -> first dashboard painted with agent rows, 1M executions in the dir."""
    data_dir = Path(tempfile.gettempdir()) / "werkpilot-bench-1m" / "data"
    t = time.time()
    make_million(data_dir)
    out = {"generate_s": time.time() - t, "bare_textual_s": _painted_after(data_dir, "bare")}
    for checkpoint in data_dir.glob("*/.checkpoint*"):
        checkpoint.unlink()  # the monitor rebuilds (and rewrites) it from the journal
    out["no_checkpoint_s"] = _painted_after(data_dir, "startup")
    out["with_checkpoint_s"] = _painted_after(data_dir, "startup")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="latency,idle,load,startup")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="werkpilot-bench-") as tmp:
        base = Path(tmp)
        results: dict[str, Any] = {}
        if "latency" in wanted:
            results["latency"] = bench_latency(base, args.seconds)
            print("latency", results["latency"], flush=True)
        if "idle" in wanted:
            results["idle"] = bench_idle(base, args.seconds)
            print("idle", results["idle"], flush=True)
        if "load" in wanted:
            results["load"] = bench_load(base, args.seconds)
            print("load (200 writes/s from 4 processes)", results["load"], flush=True)
        if "startup" in wanted:
            results["startup"] = bench_startup(base)
            print("startup (1M executions)", results["startup"], flush=True)
    print("\nfigure                      measured   target")
    checks = [
        ("write-to-screen p95 (ms)", results.get("latency", {}).get("p95_ms"), "latency_p95_ms"),
        ("idle CPU (% of a core)", results.get("idle", {}).get("cpu_pct"), "idle_cpu_pct"),
        ("loaded CPU (% of a core)", results.get("load", {}).get("cpu_pct"), "load_cpu_pct"),
        (
            "start-up, 1M, checkpoint (s)",
            results.get("startup", {}).get("with_checkpoint_s"),
            "startup_s",
        ),
    ]
    for label, value, key in checks:
        if value is not None:
            verdict = "ok" if value < TARGETS[key] else "MISSED"
            print(f"{label:<27} {value:>8.2f}   < {TARGETS[key]}  {verdict}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        if sys.argv[3] == "bare":
            run_bare(float(sys.argv[4]))
        elif sys.argv[3] == "watch":
            run_watch(sys.argv[2], float(sys.argv[4]))
        else:
            run_console(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        main()
