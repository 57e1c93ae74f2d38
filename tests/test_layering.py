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
