"""One-shot sub-commands: export, report, check, prune, pause, resume (for scripts and cron).

Each returns the process exit code; JSON goes to stdout, notes to stderr, so output pipes
cleanly into other tools.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from argparse import Namespace
from collections import Counter
from datetime import UTC, datetime
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
    """Print ``{timestamp, system, agents, costs, alerts}`` (or one part with ``--type``;
    ``--type audit``: the operator actions, newest first, as JSON or CSV)."""
    part = getattr(args, "type", None)
    form = getattr(args, "format", "json")
    limit = getattr(args, "limit", None)
    if form == "csv" and part != "audit":
        return _fail("--format csv is for --type audit only")
    if limit is not None and (part != "audit" or limit < 1):
        return _fail("--limit takes a positive number, with --type audit")
    c = _open(args)
    try:
        if part == "audit":
            events = c.control.events(limit)
            if form == "csv":
                _write(audit_csv(events))
            else:
                _print_json({"timestamp": core.now_ms(c.clock), "audit": events})
        else:
            _print_json(build_metrics(c, part))
    finally:
        c.close()
    _note_skipped(c.journal)
    return 0


#: Columns of ``export --type audit --format csv``; before/after are JSON values.
AUDIT_COLUMNS = (
    "timestamp",
    "time",
    "action",
    "actor",
    "subject",
    "before",
    "after",
    "reason",
    "host",
    "pid",
)


def audit_csv(events: list[Any]) -> str:
    """Operator actions as CSV (``before``/``after`` as JSON; text cells that a spreadsheet
    would run as a formula are prefixed with ``'``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for e in events:
        when = datetime.fromtimestamp(e.timestamp / 1000, UTC).isoformat(timespec="milliseconds")
        values = (
            e.timestamp,
            when.replace("+00:00", "Z"),
            e.action,
            e.actor,
            e.subject,
            json.dumps(e.before, ensure_ascii=False),
            json.dumps(e.after, ensure_ascii=False),
            e.reason,
            e.host,
            e.pid,
        )
        writer.writerow([_cell(v) for v in values])
    return out.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def cmd_pause(args: Namespace) -> int:
    """Pause an agent in every process on the data directory (exit 0, also when it
    already was; 2 with one line on a bad name)."""
    return _switch(args, paused=True)


def cmd_resume(args: Namespace) -> int:
    """Resume a paused agent (exit 0, also when it was not paused)."""
    return _switch(args, paused=False)


def _switch(args: Namespace, *, paused: bool) -> int:
    from core import Operator

    agent: str = args.agent
    reason: str = getattr(args, "reason", "") or ""
    c = _open(args)
    try:
        operator = Operator(c)
        try:
            changed = (operator.pause if paused else operator.resume)(agent, reason=reason)
        except ValueError as exc:  # a bad name or reason: core says which
            return _fail(_one_line(exc))
        known = c.monitor.get_agent_metrics(agent) is not None
        actor = operator.actor
    finally:
        c.close()
    name = printable(agent)
    if paused:
        said = f"paused {name} (by {actor})" if changed else f"{name} is already paused"
    else:
        said = f"resumed {name} (by {actor})" if changed else f"{name} is not paused"
    if paused and changed and not known:
        said += " — no executions recorded for it yet"
    print(said)
    return 0


def _one_line(exc: Exception) -> str:
    return " ".join(printable(str(exc)).split())


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
