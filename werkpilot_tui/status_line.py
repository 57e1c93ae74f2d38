"""``werkpilot-tui status``: one line for a shell prompt or a tmux status bar.

``sales $412/$500 ▲ 2.1× burn · 2 crit · 1 paused``: the department worst off (budget level,
then the last hour's burn rate, then the share spent), open critical alerts, paused agents.
It runs on every prompt or status refresh, so it reads checkpoints through ``core.status``
(no pydantic, no components) and imports nothing else heavy: within 100 ms of process start.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from core import gather_status, printable, status_data_dir

if TYPE_CHECKING:
    from argparse import Namespace

    from core import DepartmentStatus, StatusFacts

#: A mark per level, as on the console's budget bars, so it reads without colour.
LEVEL_MARK = {"info": "●", "warning": "▲", "critical": "✖"}
#: tmux colours: level -> fg colour.
TMUX_COLOUR = {"critical": "red", "warning": "yellow", "info": "default", None: "green"}
#: Burn rates at which the figure is coloured: the fastest page's, over budget pace.
BURN_LEVELS = ((14.4, "critical"), (1.0, "warning"))


def money(usd: float) -> str:
    """$4.12, $412, $1,234, $12.3k, $1.2M: short, never cut."""
    if usd >= 999_950:
        return f"${usd / 1e6:.1f}M"
    if usd >= 9_999.5:
        return f"${usd / 1e3:.1f}k"
    if usd >= 99.995:
        return f"${usd:,.0f}"
    return f"${usd:.2f}"


def burn_level(rate: float) -> str | None:
    return next((level for at, level in BURN_LEVELS if rate >= at), None)


def _parts(facts: StatusFacts) -> list[tuple[str, str | None]]:
    """(text, level) pieces of the line; the text is from data only in the department name."""
    out: list[tuple[str, str | None]] = []
    d: DepartmentStatus | None = facts.worst
    if d is not None:
        mark = f" {LEVEL_MARK[d.level]}" if d.level else ""
        out.append((f"{printable(d.department)} {money(d.spent)}/{money(d.budget)}{mark}", d.level))
        out.append((f"{d.burn_rate:.1f}× burn", burn_level(d.burn_rate)))
    out.append((f"{facts.critical} crit", "critical" if facts.critical else None))
    if facts.paused is not None:
        out.append((f"{facts.paused} paused", "warning" if facts.paused else None))
    return out


def text(facts: StatusFacts) -> str:
    parts = _parts(facts)
    head = " ".join(t for t, _ in parts[:2]) if facts.worst is not None else ""
    tail = [t for t, _ in parts[2 if facts.worst is not None else 0 :]]
    return " · ".join([head, *tail] if head else tail)


def tmux(facts: StatusFacts) -> str:
    """The text with ``#[fg=...]`` colours; every ``#`` from data doubled (shown literally)."""

    def coloured(piece: str, level: str | None) -> str:
        return f"#[fg={TMUX_COLOUR[level]}]{piece.replace('#', '##')}#[default]"

    pieces = [coloured(t, level) for t, level in _parts(facts)]
    if facts.worst is not None:
        pieces[:2] = [" ".join(pieces[:2])]
    return " · ".join(pieces)


def as_json(facts: StatusFacts) -> str:
    def dept(d: DepartmentStatus) -> dict[str, object]:
        return {
            "department": d.department,
            "spent": round(d.spent, 9),
            "budget": d.budget,
            "budgetUsed": round(d.used_pct, 6),
            "level": d.level,
            "burnRate": round(d.burn_rate, 6),
        }

    doc: dict[str, object] = dept(facts.worst) if facts.worst else {}
    doc["critical"] = facts.critical
    doc["warning"] = facts.warning
    if facts.paused is not None:
        doc["paused"] = facts.paused
    doc["departments"] = [dept(d) for d in facts.departments]
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


FORMATS = {"text": text, "json": as_json, "tmux": tmux}


def run(args: Namespace) -> int:
    """Print the line; exit 2 (on stderr) when the data directory is missing."""
    root = status_data_dir(getattr(args, "data_dir", None), os.environ)
    facts = gather_status(root, getattr(args, "config", None))
    if not facts.data_dir_found:
        print(f"werkpilot-tui: data directory {root} does not exist", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(FORMATS[args.format](facts) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0


__all__ = ["FORMATS", "as_json", "money", "run", "text", "tmux"]
