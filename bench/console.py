"""Console benchmark: write-to-screen latency, idle and loaded CPU, start-up with 1M executions.

Run: ``python bench/console.py`` (``--only latency,idle,load,startup``, ``--seconds 30``,
``--screens dashboard,agent,alert,help,theme,costs``, ``--writes 100``).
The console runs headless in a child process (``app.run_test``); the parent writes through
``core`` like an agent would and measures the child with psutil. Baselines measured in the same
run put the figures in context on a busy machine: watchfiles alone (same settings) for latency,
a minimal Textual app for idle CPU and start-up.

Latency and idle CPU are measured with each screen open in turn (the agent detail on the probe
agent, the alert detail on the probe alert, help, the theme picker and costs over the
dashboard): a write must reach whatever screen the operator is looking at.
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
PROBE_ALERT = {"level": "warning", "type": "bench_probe", "message": "probe", "data": {"n": 1}}
#: Screens the latency and idle figures are measured on (modals show the dashboard below).
SCREENS = ("dashboard", "agent", "alert", "help", "theme", "costs")
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
    from werkpilot_tui.console.live import WATCH_STEP_MS

    for _ in watch(data_dir, debounce=50, step=WATCH_STEP_MS, stop_event=stop):
        emit(event="change")


def run_console(data_dir: str, mode: str, seconds: float, screen: str = "dashboard") -> None:
    """The console, headless, with ``screen`` open; prints JSON events on stdout.

    ``render`` events carry the probe's figure as the open screen shows it: the probe
    agent's runs (dashboard, its detail, and modals over the dashboard), the probe alert's
    repeat count (alert detail) or today's priced calls (costs)."""
    from werkpilot_tui.console.app import WerkpilotApp
    from werkpilot_tui.console.messages import DataChanged
    from werkpilot_tui.console.screens.agent_detail import AgentDetailScreen
    from werkpilot_tui.console.screens.alert_detail import AlertDetailScreen
    from werkpilot_tui.console.screens.costs import CostsScreen
    from werkpilot_tui.console.widgets.agent_table import AgentTable

    def after_paint(app: Any, **event: Any) -> None:
        app.call_after_refresh(lambda: emit(event="render", **event))

    class BenchApp(WerkpilotApp):
        painted = False
        final_at: float | None = None

        def on_data_changed(self, message: DataChanged) -> None:
            # Textual calls every class's handler in the MRO: the app's runs first.
            def report() -> None:
                table = self.dashboard_screen.query_one(AgentTable)
                if not self.painted and table.row_count and self.screen is self.dashboard_screen:
                    self.painted = True
                    emit(event="painted", agents=table.row_count)
                if screen in ("dashboard", "help", "theme") and PROBE in table.row_keys:
                    emit(event="render", runs=table.get_row(PROBE)[2].plain)

            self.call_after_refresh(report)

    if screen == "agent":
        shown = AgentDetailScreen.show

        def agent_show(self: AgentDetailScreen, view: Any) -> None:
            shown(self, view)
            after_paint(self.app, runs=str(view.executions))

        AgentDetailScreen.show = agent_show  # type: ignore[method-assign]
    elif screen == "costs":
        costs_shown = CostsScreen.show

        def costs_show(self: CostsScreen, view: Any) -> None:
            costs_shown(self, view)
            after_paint(self.app, runs=str(view.day_executions))

        CostsScreen.show = costs_show  # type: ignore[method-assign]
    elif screen == "alert":
        alert_shown = AlertDetailScreen._show_alert

        def alert_show(self: AlertDetailScreen) -> None:
            alert_shown(self)
            after_paint(self.app, runs=str(self.alert.count))

        AlertDetailScreen._show_alert = alert_show  # type: ignore[method-assign]

    async def open_screen(app: BenchApp, pilot: Any) -> None:
        if screen == "agent":
            app.open_agent_detail(PROBE)
        elif screen == "alert":
            alert = next(a for a in app.latest.alerts if a.type == PROBE_ALERT["type"])  # type: ignore[union-attr]
            app.push_screen(AlertDetailScreen(alert, app.now_ms(), app.palette))
        elif screen == "help":
            app.action_help()
        elif screen == "theme":
            app.action_choose_theme()
        elif screen == "costs":
            app.action_costs()
        await pilot.pause(0.5)
        emit(event="opened", screen=type(app.screen).__name__)

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
        if mode == "demo":  # the demo's start: backfill in the background, then final
            from werkpilot_tui.demo import demo_fleet

            with demo_fleet() as fleet:
                app = BenchApp(data_dir=fleet.data_dir, preparing=fleet.preparing)
                await run(app)
        else:
            await run(BenchApp(data_dir=data_dir))

    async def run(app: BenchApp) -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            emit(event="started")
            if screen != "dashboard":
                while not app.painted:
                    await asyncio.sleep(0.05)
                await open_screen(app, pilot)
            end = time.monotonic() + seconds
            lags: list[float] = []
            while time.monotonic() < end or (mode in ("startup", "demo") and not app.painted):
                if mode == "load":
                    lags.append(await key_latency(app, pilot))
                    await asyncio.sleep(0.5)
                else:
                    await asyncio.sleep(0.05 if mode in ("startup", "demo") else 0.5)
            if lags:
                emit(event="keys", p50=statistics.median(lags), max=max(lags), n=len(lags))
            emit(event="builds", n=app.feed.builds)

    asyncio.run(main())


# ----------------------------------------------------------------- parent side
class Console:
    """A console child process and a queue of its events."""

    def __init__(
        self, data_dir: Path, mode: str, seconds: float, screen: str = "dashboard"
    ) -> None:
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(data_dir), mode, str(seconds), screen],
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
    from core.alerts.manager import AlertManager
    from core.costs.ledger import CostTracker
    from core.monitor.performance import PerformanceMonitor

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
    alerts.add_alert(**PROBE_ALERT)
    for c in (monitor, tracker, alerts):
        c.close()


def _drain(console: Console) -> None:
    while not console.events.empty():
        console.events.get_nowait()


def _probe_writer(data_dir: Path, screen: str) -> tuple[Any, Any]:
    """(write one probe record, close) for what ``screen`` shows."""
    if screen == "alert":
        from core.alerts.manager import AlertManager

        alerts = AlertManager(data_dir, channels=[])
        return (lambda: alerts.add_alert(**PROBE_ALERT)), alerts.close
    if screen == "costs":
        from core.costs.ledger import CostTracker

        tracker = CostTracker(data_dir)
        return (
            lambda: tracker.track_cost(
                PROBE, "bench", model="claude-haiku-4-5", input_tokens=10, output_tokens=10
            )
        ), tracker.close
    from core.monitor.performance import PerformanceMonitor

    monitor = PerformanceMonitor(data_dir)
    return (
        lambda: monitor.track_execution(PROBE, duration=100.0, department="bench")
    ), monitor.close


def _probe_now(data_dir: Path, screen: str) -> int:
    """The probe's figure before the next write (what the screen shows now)."""
    from core.alerts.manager import AlertManager
    from core.costs.ledger import CostTracker
    from core.monitor.performance import PerformanceMonitor

    if screen == "alert":
        alerts = AlertManager(data_dir, channels=[])
        found = [a for a in alerts.get_alerts(limit=1000) if a.type == PROBE_ALERT["type"]]
        alerts.close()
        return int(getattr(found[0], "count", 1) or 1) if found else 0
    if screen == "costs":
        tracker = CostTracker(data_dir)
        n = int(tracker.get_daily_cost_report().executions)
        tracker.close()
        return n
    monitor = PerformanceMonitor(data_dir)
    metrics = monitor.get_agent_metrics(PROBE)
    monitor.close()
    return int(metrics.executions) if metrics else 0


def bench_latency(
    base: Path, seconds: float, writes: int = 100, screens: tuple[str, ...] = SCREENS
) -> dict[str, float]:
    """Append by this process -> the probe's new value painted by the console, per screen."""
    data_dir = base / "latency"
    seed_fleet(data_dir)
    write, close = _probe_writer(data_dir, "dashboard")
    write()  # the probe agent exists, so its detail screen can open
    close()
    out: dict[str, float] = {}
    for mode, screen in [("watch", "dashboard")] + [("latency", s) for s in screens]:
        # baseline first: watchfiles alone, same writes
        console = Console(data_dir, mode, seconds=writes * 0.5 + 20, screen=screen)
        console.wait_for("painted")
        if screen != "dashboard":
            console.wait_for("opened")
        time.sleep(1)
        _drain(console)
        write, close = _probe_writer(data_dir, screen)
        before = _probe_now(data_dir, screen)
        latencies: list[float] = []
        for i in range(1, writes + 1):
            time.sleep(0.3)  # writes spaced apart
            t0 = time.time()
            write()
            if mode == "watch":
                seen = console.wait_for("change", timeout=10)
            else:
                seen = console.wait_for("render", timeout=10, runs=str(before + i))
            latencies.append((seen["t"] - t0) * 1000)
            _drain(console)
        close()
        console.proc.terminate()
        console.finish()
        q = statistics.quantiles(latencies, n=20)
        prefix = "watchfiles_" if mode == "watch" else f"{screen}_"
        out[f"{prefix}p50_ms"] = statistics.median(latencies)
        out[f"{prefix}p95_ms"] = q[18]
    return out


def _idle_cpu(data_dir: Path, mode: str, seconds: float, screen: str = "dashboard") -> float:
    console = Console(data_dir, mode, seconds=seconds + 15, screen=screen)
    console.wait_for("painted")
    if screen != "dashboard" and mode != "bare":
        console.wait_for("opened")
    time.sleep(3)  # let start-up work settle
    c0, t0 = console.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    c1, t1 = console.cpu_seconds(), time.monotonic()
    console.proc.terminate()
    console.finish()
    return (c1 - c0) / (t1 - t0) * 100


def bench_idle(base: Path, seconds: float, screens: tuple[str, ...] = SCREENS) -> dict[str, float]:
    data_dir = base / "idle"
    seed_fleet(data_dir)
    write, close = _probe_writer(data_dir, "dashboard")
    write()
    close()
    out = {"bare_textual_cpu_pct": _idle_cpu(data_dir, "bare", seconds)}
    for screen in screens:
        out[f"{screen}_cpu_pct"] = _idle_cpu(data_dir, "idle", seconds, screen)
    return out


def _writer(data_dir: str, rate: float, seconds: float, n: int) -> None:
    from core.monitor.performance import PerformanceMonitor

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
    from core.journal.store import Journal
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


def bench_startup(base: Path, total: int = 1_000_000) -> dict[str, float]:
    """Process start -> first *final* dashboard painted (the start-up screen gone, built from
    complete data): on the demo, and with ``total`` executions in the dir."""
    name = "werkpilot-bench-1m" if total == 1_000_000 else f"werkpilot-bench-{total}"
    data_dir = Path(tempfile.gettempdir()) / name / "data"
    t = time.time()
    make_million(data_dir, total)
    out = {"generate_s": time.time() - t, "bare_textual_s": _painted_after(data_dir, "bare")}
    out["demo_s"] = _painted_after(data_dir, "demo")  # its own temporary dir
    for checkpoint in data_dir.glob("*/.checkpoint*"):
        checkpoint.unlink()  # the monitor rebuilds (and rewrites) it from the journal
    out["no_checkpoint_s"] = _painted_after(data_dir, "startup")
    out["with_checkpoint_s"] = _painted_after(data_dir, "startup")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="latency,idle,load,startup")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--screens", default=",".join(SCREENS), help="screens to measure on")
    parser.add_argument("--writes", type=int, default=100, help="probe writes per screen")
    parser.add_argument(
        "--executions", type=int, default=1_000_000, help="history for the start-up figure"
    )
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    screens = tuple(s for s in args.screens.split(",") if s)
    unknown = set(screens) - set(SCREENS)
    if unknown:
        parser.error(f"unknown screens {sorted(unknown)}; known: {', '.join(SCREENS)}")
    with tempfile.TemporaryDirectory(prefix="werkpilot-bench-") as tmp:
        base = Path(tmp)
        results: dict[str, Any] = {}
        if "latency" in wanted:
            results["latency"] = bench_latency(base, args.seconds, args.writes, screens)
            print("latency", _rounded(results["latency"]), flush=True)
        if "idle" in wanted:
            results["idle"] = bench_idle(base, args.seconds, screens)
            print("idle", _rounded(results["idle"]), flush=True)
        if "load" in wanted:
            results["load"] = bench_load(base, args.seconds)
            print("load (200 writes/s from 4 processes)", results["load"], flush=True)
        if "startup" in wanted:
            results["startup"] = bench_startup(base, args.executions)
            print(
                f"startup to the first final dashboard (demo; {args.executions:,} executions)",
                _rounded(results["startup"]),
                flush=True,
            )
    print("\nfigure                              measured   target")
    latency, idle = results.get("latency", {}), results.get("idle", {})
    checks = [
        *(
            (f"write-to-screen p95, {s} (ms)", latency.get(f"{s}_p95_ms"), "latency_p95_ms")
            for s in screens
        ),
        *(
            (f"idle CPU, {s} (% of a core)", idle.get(f"{s}_cpu_pct"), "idle_cpu_pct")
            for s in screens
        ),
        ("loaded CPU (% of a core)", results.get("load", {}).get("cpu_pct"), "load_cpu_pct"),
        ("start-up, demo (s)", results.get("startup", {}).get("demo_s"), "startup_s"),
        (
            "start-up, history, checkpoint (s)",
            results.get("startup", {}).get("with_checkpoint_s"),
            "startup_s",
        ),
        (
            "start-up, history, no checkpoint (s)",
            results.get("startup", {}).get("no_checkpoint_s"),
            "startup_s",
        ),
    ]
    for label, value, key in checks:
        if value is not None:
            verdict = "ok" if value < TARGETS[key] else "MISSED"
            print(f"{label:<35} {value:>8.2f}   < {TARGETS[key]}  {verdict}")


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in figures.items()}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        if sys.argv[3] == "bare":
            run_bare(float(sys.argv[4]))
        elif sys.argv[3] == "watch":
            run_watch(sys.argv[2], float(sys.argv[4]))
        else:
            run_console(sys.argv[2], sys.argv[3], float(sys.argv[4]), *sys.argv[5:6])
    else:
        main()
