"""Command line: the console by default, and export, report, check, prune, pause, resume, serve
and status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from werkpilot_tui import __version__


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Sub-commands take the options too; SUPPRESS keeps them from resetting the top-level value.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        help="data directory (default: $WERKPILOT_DATA_DIR or ./data)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help="werkpilot.toml (default: $WERKPILOT_CONFIG or ./werkpilot.toml if present)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="werkpilot-tui",
        description="Live console for a fleet of AI agents: executions, costs, budgets, alerts.",
        epilog="Run without a command to open the console. "
        "Set WATCHFILES_FORCE_POLLING=1 on Docker, WSL or network mounts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common(parser, top=True)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a simulated fleet in a temporary data directory and watch it",
    )
    parser.add_argument("--theme", default=None, help="theme name (remembered for next time)")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="console: every key that acts (acknowledge, snooze, silence, budget, pause) "
        "is disabled and says so (also [ui] read_only = true)",
    )
    parser.add_argument(
        "--prometheus",
        metavar="URL",
        default=None,
        help="fleet mode: show every host scraped by the Prometheus at URL "
        "(e.g. http://prometheus:9090) instead of one data directory",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("export", help="print the metrics JSON (the /api/metrics shape)")
    _common(p)
    p.add_argument("--type", choices=["agent", "system", "costs", "alerts", "audit"], default=None)
    p.add_argument(
        "--format",
        choices=["json", "csv"],
        default="json",
        help="csv: one row per operator action (--type audit only)",
    )
    p.add_argument(
        "--limit", type=int, default=None, help="--type audit: the newest N actions only"
    )

    p = sub.add_parser("report", help="generate, write and print the daily cost report")
    _common(p)
    p.add_argument("--date", default=None, help="YYYY-MM-DD (default: today, UTC)")

    p = sub.add_parser(
        "check",
        help="evaluate thresholds and escalations once (exit 1 when critical alerts are open)",
    )
    _common(p)

    p = sub.add_parser("prune", help="apply retention and report what was removed")
    _common(p)

    p = sub.add_parser(
        "status",
        help="print one line for a shell prompt or tmux: the department worst off, its burn "
        "rate, open critical alerts",
    )
    _common(p)
    p.add_argument("--format", choices=["text", "json", "tmux"], default="text")

    for verb, what in (("pause", "refuses every call of"), ("resume", "lets through")):
        p = sub.add_parser(
            verb,
            help=f"{verb} an agent: its guard then {what} it, in every process "
            "(recorded in the audit trail as user@host)",
        )
        _common(p)
        p.add_argument("agent", metavar="NAME", help="the agent's name")
        p.add_argument("--reason", default="", help="why (kept in the audit trail)")

    p = sub.add_parser("serve", help="serve /api/metrics and /metrics over HTTP")
    _common(p)
    p.add_argument("--host", default=None, help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: 8787)")
    return parser


#: Commands that may start on a data directory that does not exist yet (the console, serve):
#: they create it and say so. Every other command refuses it (exit 2), so a typo in a cron
#: line is an error instead of a silent "0 critical" forever.
_CREATES_DATA = (None, "serve")


def prepare_data_dir(args: argparse.Namespace) -> None:
    """Refuse a missing data directory, or create it (on stderr) for the console and serve."""
    if args.demo or args.prometheus:
        return  # a temporary directory / no data directory at all
    from core import DataDirError, Journal, load_config, resolve_data_dir

    load_config(args.config)  # a bad file is reported before anything is created
    root = resolve_data_dir(args.data_dir).expanduser().absolute()
    if root.exists():
        return  # a directory, or not one: the journal says which
    if args.command not in _CREATES_DATA:
        raise DataDirError(
            f"data directory {root} does not exist (check --data-dir / $WERKPILOT_DATA_DIR)"
        )
    Journal(root).ensure_dir(root)
    print(f"werkpilot-tui: created data directory {root}", file=sys.stderr)


def describe_os_error(exc: OSError) -> str:
    """One line for an I/O error: the file (a rename's target, not its temporary) and why."""
    what = exc.strerror or str(exc) or type(exc).__name__
    target = exc.filename2 if exc.filename2 is not None else exc.filename
    return f"{target}: {what}" if target is not None else what


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "status":  # on every prompt: none of the imports below (pydantic)
        from werkpilot_tui.status_line import run

        return run(args)
    if args.command is None:
        from werkpilot_tui.console import splash  # the first frame, before the heavy imports

        splash.show(
            splash.what_opens(
                args.data_dir, getattr(args, "demo", False), getattr(args, "prometheus", None)
            )
        )
        try:
            return _run(args)
        finally:
            splash.hide()  # only if Textual never took over (a config error, Ctrl-C)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from core import ConfigError, DataDirError

    try:
        prepare_data_dir(args)
        if args.command is None:
            from werkpilot_tui.console.app import run_console

            return run_console(args)
        if args.command == "serve":
            from werkpilot_tui.service.server import run_server

            return run_server(args)
        from werkpilot_tui import commands

        return getattr(commands, f"cmd_{args.command}")(args)
    except (ConfigError, DataDirError) as exc:
        from werkpilot_tui.console import splash

        splash.hide()  # the message goes to the normal screen, where it stays readable
        print(f"werkpilot-tui: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # permission denied, disk full, read-only file system, ...
        print(f"werkpilot-tui: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
