"""The house as the folders show it: core's public face, widgets without core, a true module map."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "werkpilot_tui")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, function-level ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def test_console_service_fleet_and_cli_import_core_only_through_its_public_face() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in sorted((REPO / "werkpilot_tui").rglob("*.py"))
        for line, module in _imports(path)
        if module.startswith("core.")
    ]
    assert offenders == []


def test_widgets_import_no_core_module() -> None:
    """Widgets render view models; every rule is applied before a model reaches them."""
    widgets = sorted((REPO / "werkpilot_tui" / "console" / "widgets").rglob("*.py"))
    assert len(widgets) > 5
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in widgets
        for line, module in _imports(path)
        if module == "core" or module.startswith("core.")
    ]
    assert offenders == []


def _module_map() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Module map", 1)[1]
    block = section.split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines() if line.startswith(PACKAGES)]


def _tree() -> set[str]:
    return {
        str(path.relative_to(REPO))
        for package in PACKAGES
        for path in (REPO / package).rglob("*")
        if path.suffix in {".py", ".tcss"} and "__pycache__" not in path.parts
    }


def test_the_readme_module_map_lists_exactly_the_files_of_the_tree() -> None:
    listed = _module_map()
    assert len(listed) == len(set(listed)), "a file listed twice"
    assert set(listed) == _tree()


def test_contracts_name_only_files_that_exist() -> None:
    text = (REPO / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.])((?:core|werkpilot_tui)/[\w/]+\.(?:py|tcss))", text))
    assert named, "CONTRACTS.md names the modules whose seams it pins"
    assert sorted(n for n in named if not (REPO / n).is_file()) == []
    dotted = set(re.findall(r"(?<![\w.])((?:core|werkpilot_tui)(?:\.[a-z_]+)+)", text))
    missing = []
    for name in dotted:
        parts = name.split(".")
        # the longest prefix that is a module or package; the rest are attributes
        for i in range(len(parts), 0, -1):
            base = REPO.joinpath(*parts[:i])
            source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else None
            if source is None and (base / "__init__.py").is_file():
                source = base / "__init__.py"
            if source is not None:
                break
        else:
            missing.append(name)
            continue
        if i < len(parts) and not re.search(rf"\b{parts[i]}\b", source.read_text("utf-8")):
            missing.append(name)  # an attribute its module does not define
    assert sorted(missing) == []
