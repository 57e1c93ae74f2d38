"""``werkpilot-tui status``: wall time of the whole process, from start to exit.

Run: python bench/status_line.py [--runs 30] [--entries 20000]
Seeds a data directory (a month of cost entries spread over the last days, a ledger and an
alert checkpoint, then an hour of lines after them, a few alerts and pauses), then runs
``python -m werkpilot_tui status`` ``--runs`` times per format and prints min / median / p90
in ms beside ``python -c pass`` and ``python -m werkpilot_tui --version`` (the floor: the
interpreter, the entry point and argparse) measured in the same run, and the installed
``werkpilot-tui status`` script (what a prompt runs) when it is beside the interpreter.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def seed(data_dir: Path, entries: int) -> None:
    import core

    c = core.open(data_dir)
    now = datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = max(1, int((now - start).total_seconds() * 1000))
    rows = [
        {
            "agent": f"agent-{i % 40}",
            "department": ("sales", "marketing", "support", "operations")[i % 4],
            "model": "sonnet",
            "cost": 0.002,
            "timestamp": start + timedelta(milliseconds=span * i // entries),
        }
        for i in range(entries)
    ]
    for i in range(0, len(rows), 5000):
        c.tracker.track_costs(rows[i : i + 5000], allow_history=True)
    c.tracker.save_checkpoint()
    for i in range(5):
        c.alerts.add_alert(level="critical", type="bench", message="x", data={"agent": str(i)})
    c.alerts.save_checkpoint()
    for _ in range(200):  # after the checkpoints: the status line reads these lines too
        c.tracker.track_cost("late", "sales", model="sonnet", cost=0.01)
    c.control.pause("agent-1", reason="bench", actor="bench@host")
    c.close()


def timed(cmd: list[str], runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def row(name: str, ms: list[float]) -> str:
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    return f"{name:<34} min {ms[0]:6.1f}  median {statistics.median(ms):6.1f}  p90 {p90:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        seed(data, args.entries)
        py = [sys.executable]
        print(row("python -c pass", timed([*py, "-c", "pass"], args.runs)))
        version = [*py, "-m", "werkpilot_tui", "--version"]
        print(row("werkpilot-tui --version", timed(version, args.runs)))
        for fmt in ("text", "json", "tmux"):
            cmd = [*py, "-m", "werkpilot_tui", "status", "--data-dir", str(data), "--format", fmt]
            print(row(f"status --format {fmt}", timed(cmd, args.runs)))
        # What a prompt or tmux runs: the installed script (no runpy), when there is one.
        script = Path(sys.executable).with_name("werkpilot-tui")
        if script.exists():
            cmd = [str(script), "status", "--data-dir", str(data)]
            print(row("werkpilot-tui status (installed)", timed(cmd, args.runs)))
        line = subprocess.run(
            [*py, "-m", "werkpilot_tui", "status", "--data-dir", str(data)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"line: {line}")


if __name__ == "__main__":
    main()
