"""Layering: ``core`` is a library for agents and never pulls in the console's Textual or Rich."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ("textual", "rich")

# Imports each module in turn and reports which forbidden packages appeared after it.
_PROBE = """
import importlib, json, sys
forbidden = {forbidden!r}
report = {{}}
for name in {modules!r}:
    importlib.import_module(name)
    report[name] = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps(report))
"""


def _core_modules() -> list[str]:
    names = ["core"]
    for path in sorted((REPO / "core").rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        if rel.name != "__init__":
            names.append(".".join(rel.parts))
    return names


def test_importing_core_and_every_core_module_loads_no_textual_or_rich() -> None:
    modules = _core_modules()
    assert "core.journal" in modules and "core.records" in modules
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    probe = _PROBE.format(forbidden=FORBIDDEN, modules=modules)
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report == {name: [] for name in modules}


def test_core_source_names_no_console_package() -> None:
    """A lazy ``import textual`` inside a function would escape the probe above."""
    offenders = []
    for path in sorted((REPO / "core").rglob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.strip().split()
            if len(words) >= 2 and words[0] in {"import", "from"}:
                top = words[1].split(".")[0]
                if top in (*FORBIDDEN, "werkpilot_tui"):
                    offenders.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()}")
    assert offenders == []


def test_widgets_import_no_core_module() -> None:
    """Widgets render view models only: levels are computed in core and carried by the rows
    (``werkpilot_tui/conversions.py``), so no widget imports ``core``, even lazily."""
    import ast

    offenders = []
    for path in sorted((REPO / "werkpilot_tui" / "widgets").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [
                f"{path.relative_to(REPO)}:{node.lineno}: {n}"
                for n in names
                if n.split(".")[0] == "core"
            ]
    assert offenders == []


def _console_import_graph() -> dict[str, set[str]]:
    """Every werkpilot_tui module and the werkpilot_tui modules it imports anywhere (top
    level, in functions, under TYPE_CHECKING: a cycle in any of them tangles the design)."""
    import ast

    def name(path: Path) -> str:
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    paths = sorted((REPO / "werkpilot_tui").rglob("*.py"))
    modules = {name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name(path)] = (found & modules) - {name(path)}
    return graph


def test_no_import_cycle_in_the_console() -> None:
    """Screens and the palette reach the app through app_api.ConsoleApp, sessions through
    session.Session: nothing the app imports imports it back (issue 13)."""
    graph = _console_import_graph()
    cycles = []
    for start in sorted(graph):
        seen, stack = set(), [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert cycles == []
    assert "werkpilot_tui.app" not in graph["werkpilot_tui.screens.dashboard"]
    assert "werkpilot_tui.app" not in graph["werkpilot_tui.palette_commands"]
