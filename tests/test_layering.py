"""Layering: ``core`` is a library for agents and never pulls in the console's Textual or Rich."""

from __future__ import annotations

import ast
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
    assert "core.journal.store" in modules and "core.records" in modules
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


# ----------------------------------------------------------------- file access
#: Calls that open, stat or list files. Only core/journal/store.py touches data files; the rest
#: of this list reads configuration, settings and theme files, or opens /dev/null.
_FILE_CALLS = {
    "open",
    "os.open",
    "os.stat",
    "os.lstat",
    "os.fstat",
    "os.listdir",
    "os.scandir",
    "os.walk",
    ".stat",
    ".lstat",
    ".read_bytes",
    ".read_text",
    ".write_bytes",
    ".write_text",
    ".glob",
    ".rglob",
    ".iterdir",
}
FILE_ACCESS_ALLOWED = {
    "core/journal/store.py": {"*"},  # the data directory's one door
    # ... and its read-only side door for the status line, which must not import pydantic:
    # it opens (no link followed), reads and lists, never writes
    "core/journal/peek.py": {"os.open", "os.fstat", "os.stat", "os.scandir"},
    "core/config.py": {".read_text"},  # werkpilot.toml
    "werkpilot_tui/console/settings.py": {".read_text"},  # the console's settings.toml
    "werkpilot_tui/console/themes.py": {".read_text", ".glob"},  # theme files
    "werkpilot_tui/commands.py": {"os.open"},  # /dev/null after a broken pipe
    "core/tracking.py": {"os.open"},  # /proc/self/statm, the run's RSS (not a data file)
}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id if func.id == "open" else None
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id == "os":
            return f"os.{func.attr}"
        return f".{func.attr}"
    return None


def _file_calls(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _FILE_CALLS:
                found.append((node.lineno, name))
    return found


def test_only_the_journal_opens_stats_or_lists_data_files() -> None:
    offenders = []
    for path in _project_files():
        rel = path.relative_to(REPO).as_posix()
        allowed = FILE_ACCESS_ALLOWED.get(rel, set())
        for lineno, name in _file_calls(path):
            if "*" not in allowed and name not in allowed:
                offenders.append(f"{rel}:{lineno}: {name}(...)")
    assert offenders == []


def test_the_file_access_check_sees_a_stat_outside_the_journal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f(p):\n    return os.stat(p), p.stat(), open(p)\n")
    assert [name for _, name in _file_calls(sample)] == ["os.stat", ".stat", "open"]


# ----------------------------------------------------------------- import cycles
#: Cycles allowed to remain (none: keep it so). Each would be the sorted set of modules of one
#: strongly connected component.
EXPECTED_CYCLES: list[list[str]] = []


def _project_files() -> list[Path]:
    return sorted([*(REPO / "core").rglob("*.py"), *(REPO / "werkpilot_tui").rglob("*.py")])


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules ``path`` imports: module or function level, and under
    ``if TYPE_CHECKING:`` too (a cycle through annotations is still a cycle of design)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            # ``import a.b.c`` runs a, a.b and a.b.c; the deepest project module is the edge
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != _module_name(path):
                found.add(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def _import_graph() -> dict[str, set[str]]:
    files = _project_files()
    modules = {_module_name(p) for p in files}
    graph = {_module_name(p): _imports(p, modules) for p in files}
    # A package's __init__ runs before any of its modules: ``import core.x`` imports
    # ``core`` too, but that edge says nothing about a cycle of the modules themselves.
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def test_no_import_cycle_among_project_modules() -> None:
    assert _cycles(_import_graph()) == EXPECTED_CYCLES


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


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
    assert "werkpilot_tui.console.app" not in graph["werkpilot_tui.console.screens.dashboard"]
    assert "werkpilot_tui.console.app" not in graph["werkpilot_tui.console.palette_commands"]
