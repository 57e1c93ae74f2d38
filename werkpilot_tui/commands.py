"""One-shot sub-commands: export, report, check, prune (for scripts and cron).

Each returns the process exit code; JSON goes to stdout, notes to stderr, so output pipes
cleanly into other tools.
"""

from __future__ import annotations

import json
import os
import sys
from argparse import Namespace
from collections import Counter
from pathlib import Path
from typing import Any

import core
from core import Core, Journal, parse_day, printable, system_clock
from werkpilot_tui.service.api import build_metrics, open_alerts, to_jsonable

#: How long ``check`` waits for e-mail/webhook deliveries before exiting.
FLUSH_TIMEOUT_S = 10.0


def _open(args: Namespace) -> Core:
    return core.open(getattr(args, "data_dir", None), getattr(args, "config", None))


def _print_json(value: Any) -> None:
    text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # ``export | head``: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(message: str) -> int:
    print(f"werkpilot-tui: {message}", file=sys.stderr)
    return 2


def cmd_export(args: Namespace) -> int:
    """Print ``{timestamp, system, agents, costs, alerts}`` (or one part with ``--type``)."""
    c = _open(args)
    try:
        _print_json(build_metrics(c, getattr(args, "type", None)))
    finally:
        c.close()
    _note_skipped(c.journal)
    return 0


def cmd_report(args: Namespace) -> int:
    """Generate the daily cost report, write ``costs/daily-cost-D.json`` and print it."""
    try:
        day = parse_day(getattr(args, "date", None), system_clock)
    except ValueError as exc:
        return _fail(str(exc))
    c = _open(args)
    try:
        report = c.tracker.generate_daily_cost_report(day)
        _print_json(report)
        path = c.journal.root / "costs" / f"daily-cost-{day.isoformat()}.json"
        print(f"werkpilot-tui: wrote {path}", file=sys.stderr)
    finally:
        c.close()
    _note_skipped(c.journal)
    return 0


def cmd_check(args: Namespace) -> int:
    """Evaluate thresholds, budgets and escalations once; exit 1 while criticals are open."""
    c = _open(args)
    try:
        c.monitor.check_thresholds()
        c.tracker.check_budgets()
        c.alerts.check_escalations()
        if not c.alerts.flush(FLUSH_TIMEOUT_S):
            print(
                f"werkpilot-tui: alert deliveries still pending after {FLUSH_TIMEOUT_S:g} s",
                file=sys.stderr,
            )
        alerts = open_alerts(c.alerts, c.config.alerts.history)
    finally:
        c.close()
    _note_skipped(c.journal)
    by_level = Counter(a.level for a in alerts)
    print(
        f"open alerts: {by_level['critical']} critical, {by_level['warning']} warning, "
        f"{by_level['info']} info"
    )
    for alert in alerts:
        if alert.level != "info":
            mark = "CRIT" if alert.level == "critical" else "WARN"
            print(f"  {mark} {printable(alert.type)}: {printable(alert.message)} (id {alert.id})")
    return 1 if by_level["critical"] else 0


def cmd_prune(args: Namespace) -> int:
    """Apply retention (alert files, snapshots, temporary files over an hour old; cost
    reports kept) and list what went."""
    from core import prune

    c = _open(args)
    try:
        today = parse_day(None, c.clock)
        removed: list[Path] = list(prune(c.journal, c.config, today, now=c.clock()))
        removed += [p for p in c.alerts.prune(today) if p not in removed]  # and its state
        root = c.journal.root
    finally:
        c.close()
    for path in removed:
        print(f"removed {_relative(path, root)}")
    kinds = Counter(Path(_relative(p, root)).parent.as_posix() for p in removed)
    detail = ", ".join(f"{n} in {k}/" for k, n in sorted(kinds.items()))
    print(f"pruned {len(removed)} file(s)" + (f" ({detail})" if detail else ""))
    return 0


def _note_skipped(journal: Journal) -> None:
    """On stderr: each entry of the data directory skipped (a directory named like a day
    file, a link), and how many malformed lines were, with the first as an example."""
    entries = [p for p in journal.problems if not p.line]
    for problem in entries:
        print(f"werkpilot-tui: {problem}", file=sys.stderr)
    lines = [p for p in journal.problems if p.line]
    skipped = journal.problem_count - len(entries)
    if skipped and lines:
        print(
            f"werkpilot-tui: {skipped} malformed line(s) skipped, e.g. {lines[0]}",
            file=sys.stderr,
        )


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)
