"""Packaging: a wheel installed (not editable) into a fresh virtual environment works on its own."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Run inside the new environment, from a directory that is not the repository.
_PROBE = """
import json, sys, core, core.journal.store, werkpilot_tui, werkpilot_tui.cli
from werkpilot_tui.console.theme_files import builtin_theme_dir
d = builtin_theme_dir()
print(json.dumps({
    "core": core.__file__,
    "werkpilot_tui": werkpilot_tui.__file__,
    "themes": str(d),
    "theme_files": sorted(p.name for p in d.glob("*.toml")),
    "textual": "textual" in sys.modules,
}))
"""


_OFFLINE = ("--no-deps", "--no-index")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env.pop("VIRTUAL_ENV", None)
    return env


def _build_wheel(out: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.insert(4, "--no-build-isolation")  # skip fetching the build backend again
    subprocess.run(cmd, check=True, cwd=out, env=_clean_env(), capture_output=True)
    (wheel,) = out.glob("werkpilot_tui-*.whl")
    return wheel


def _fresh_venv(root: Path) -> Path:
    """A new environment without pip whose dependencies come from this interpreter's.

    Only this interpreter's site-packages directories are appended (a plain ``.pth`` line
    does not run the ``.pth`` files inside them, so an editable install of this repository
    stays invisible); the project itself must come from the wheel.
    """
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    ours |= {p for p in sys.path if p.endswith("site-packages")}
    lines = sorted(p for p in ours if Path(p).is_dir() and Path(p).resolve() != REPO)
    (Path(purelib) / "_outer_deps.pth").write_text("\n".join(lines) + "\n")
    return python


@pytest.mark.slow
def test_wheel_installs_into_fresh_venv_with_cli_and_themes(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    repo_themes = sorted(p.name for p in (REPO / "themes").glob("*.toml"))
    assert repo_themes, "themes/ holds no *.toml file to ship"
    assert {f"werkpilot_tui/_themes/{n}" for n in repo_themes} <= set(names)
    assert "core/journal/store.py" in names and "werkpilot_tui/cli.py" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)

    python = _fresh_venv(tmp_path / "venv")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            *_OFFLINE,
            str(wheel),
        ],
        check=True,
        env=_clean_env(),
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env()

    script = tmp_path / "venv" / "bin" / "werkpilot-tui"
    out = subprocess.run(
        [str(script), "--help"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: werkpilot-tui")
    for command in ("export", "report", "check", "prune", "serve"):
        assert command in out.stdout
    out = subprocess.run(
        [str(python), "-m", "werkpilot_tui", "--version"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.startswith("werkpilot-tui "), out.stderr

    out = subprocess.run(
        [str(python), "-c", _PROBE], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for key in ("core", "werkpilot_tui", "themes"):
        assert Path(found[key]).is_relative_to(site), (key, found[key])
    assert Path(found["themes"]) == site / "werkpilot_tui" / "_themes"
    assert found["theme_files"] == repo_themes
    assert found["textual"] is False  # `core` and the CLI parser stay light


def test_theme_dir_in_a_checkout_is_the_repository_themes_folder() -> None:
    import werkpilot_tui
    from werkpilot_tui.console.theme_files import builtin_theme_dir

    if (Path(werkpilot_tui.__file__).parent / "_themes").is_dir():
        pytest.skip("running against an installed wheel")
    assert builtin_theme_dir() == REPO / "themes"
    assert any(builtin_theme_dir().glob("*.toml"))
