"""The guard across real processes: a hard cap and a pause reach every agent process."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import core
from core.journal.store import Journal
from core.records import CostEntry

ROOT = Path(__file__).resolve().parents[1]
AGENTS = 4


def _start(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(paths: list[Path], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, "agent processes did not start"
        time.sleep(0.02)


SPENDER = """
    import sys, time
    from pathlib import Path
    import core

    data, cfg, name, go, ready = sys.argv[1:]
    core.configure(data, cfg)
    core.get_cost_tracker(), core.get_performance_monitor()  # built before the race
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    calls = 0
    while calls < 10_000:
        try:
            with core.track(name, department="research", model="m") as run:
                time.sleep(0.005)  # the model call, in flight
                run.set_cost(0.03)
        except core.BudgetExhausted as exc:
            print("exhausted", calls, exc.spent)
            break
        calls += 1
        # The agent's own work between runs; the others spend meanwhile (agent0 at once, so
        # a guard reading the spend of its own last run only would let the slow ones over).
        time.sleep(0.0 if name == "agent0" else 0.1)
    core.configure(None)
"""


def test_four_processes_never_pass_a_hard_cap_by_more_than_one_call_each(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "werkpilot.toml"
    cfg.write_text("[budgets.hard]\nresearch = 1.0\n", encoding="utf-8")
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(AGENTS)]
    procs = [
        _start(SPENDER, str(data), str(cfg), f"agent{i}", str(go), str(ready[i]))
        for i in range(AGENTS)
    ]
    _wait_for(ready)
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.startswith("exhausted"), (out, err)  # every process got BudgetExhausted
    entries = Journal(data).reader("ledger", CostEntry.model_validate_json).poll()
    total = sum(e.cost for e in entries)
    assert 1.0 <= total <= 1.0 + AGENTS * 0.03 + 1e-9, total
    assert len({e.agent for e in entries}) == AGENTS  # all four took part in the race
    with core.open(data, cfg, lazy=True) as c:
        refused = [m.refused for m in c.monitor.get_all_agent_metrics()]
    assert refused == [1] * AGENTS


WATCHER = """
    import sys, time
    from pathlib import Path
    import core

    data, ready = sys.argv[1:]
    core.configure(data)
    core.guard("worker", "ops")  # the shared Core and its journal readers, built
    core.get_performance_monitor()  # (as in an agent that ran before): records refusals
    Path(ready).touch()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            core.guard("worker", "ops")
        except core.AgentPaused:
            print(time.time())
            break
        time.sleep(0.002)
    core.configure(None)
"""


def test_a_pause_from_another_process_stops_every_agents_next_guard_within_a_second(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    ready = [tmp_path / f"ready{i}" for i in range(AGENTS)]
    procs = [_start(WATCHER, str(data), str(ready[i])) for i in range(AGENTS)]
    _wait_for(ready)
    time.sleep(0.3)  # every watcher in its loop
    with core.open(data, lazy=True) as c:
        c.control.pause("worker", reason="stop everything", actor="ops@test")
        paused_at = time.time()
    delays = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0 and out.strip(), err
        delays.append(float(out) - paused_at)
    print("pause seen after (s):", [round(d, 3) for d in delays])
    # The design bound is ~100 ms (pause_of rechecks the journal that often); the machine
    # running the tests is shared, so the bound asserted is the 1 s for the median
    # and a generous 2 s for the slowest.
    assert statistics.median(delays) < 1.0, delays
    assert max(delays) < 2.0, delays


def test_spend_of_another_process_is_seen_by_the_next_guard_without_waiting(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "werkpilot.toml"
    cfg.write_text("[budgets.hard]\nresearch = 1.0\n", encoding="utf-8")
    with core.open(data, cfg, lazy=True) as c:
        c.tracker.track_cost("here", "research", model="m", cost=0.5)
        c.guard("here", "research")  # under the cap: this process has read the ledger
        spend = """
            import sys, core
            with core.open(sys.argv[1], sys.argv[2], lazy=True) as c:
                c.tracker.track_cost("there", "research", model="m", cost=0.5)
        """
        p = _start(spend, str(data), str(cfg))
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        try:
            c.guard("here", "research")
        except core.BudgetExhausted as exc:
            assert exc.spent == 1.0
        else:
            raise AssertionError("the other process's spend was not seen")
