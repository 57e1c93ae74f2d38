"""Theme files, the user's theme folder, the start-up choice and the remembered setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.theme import Theme

from core.config import Config, UiConfig
from werkpilot_tui.console.settings import Settings, load_settings, remember_theme, save_settings
from werkpilot_tui.console.theme_files import builtin_theme_dir
from werkpilot_tui.console.themes import (
    APP_VARIABLES,
    DEFAULT_THEME,
    HIGH_CONTRAST_THEME,
    choose_theme,
    load_theme_file,
    load_themes,
    parse_color,
    problems_message,
    user_theme_dir,
)

BUILTIN = ["werkpilot-dark", "werkpilot-light", HIGH_CONTRAST_THEME]
FULL_FIELDS = (
    "primary secondary accent foreground background surface panel success warning error".split()
)


def _css_variables(theme: Theme) -> dict[str, str]:
    """The variables an App derives from a theme (as ``App.get_css_variables`` does)."""
    return {**theme.to_color_system().generate(), **theme.variables}


def _themes(user_dir: Path) -> dict[str, Theme]:
    themes, problems = load_themes(user_dir=user_dir)
    assert problems == []
    return {t.name: t for t in themes}


def test_builtin_folder_is_the_repo_themes_folder_in_a_checkout() -> None:
    folder = builtin_theme_dir()
    assert folder.is_dir()
    assert {p.stem for p in folder.glob("*.toml")} >= set(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_theme_files_validate_and_define_every_colour(name: str) -> None:
    theme = load_theme_file(builtin_theme_dir() / f"{name}.toml")
    assert theme.name == name
    for field in FULL_FIELDS:
        assert getattr(theme, field), f"{name} lacks {field}"
    assert set(APP_VARIABLES) <= set(theme.variables)
    generated = _css_variables(theme)  # Textual accepts every value
    for var in APP_VARIABLES:
        assert parse_color(generated[var]).a == 1


def test_light_theme_is_light_and_the_others_dark(tmp_path: Path) -> None:
    themes = _themes(tmp_path)
    assert themes["werkpilot-light"].dark is False
    assert themes["werkpilot-dark"].dark is True
    assert themes[HIGH_CONTRAST_THEME].dark is True


def test_high_contrast_uses_only_the_16_ansi_colours(tmp_path: Path) -> None:
    theme = _themes(tmp_path)[HIGH_CONTRAST_THEME]
    assert theme.ansi is True
    # Every colour Textual derives from the theme, not only the ones in the file.
    for key, value in _css_variables(theme).items():
        if "style" in key.split("-") or value == "transparent":
            continue
        color = parse_color(value)
        assert color.ansi is not None and 0 <= color.ansi <= 15, f"{key} = {value}"
        assert color.a == 1, f"{key} = {value} is blended"
    assert theme.foreground == "ansi_bright_white"
    assert theme.background == "ansi_black"


def test_broken_user_theme_is_skipped_with_one_message_and_the_rest_load(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "bad-colour.toml").write_text('name = "bad"\nprimary = "not-a-colour"\n')
    (user / "ok.toml").write_text(
        'name = "mine"\nprimary = "#112233"\n[variables]\nbudget-ok = "green"\n'
    )
    themes, problems = load_themes(user_dir=user)
    names = {t.name for t in themes}
    assert names == {*BUILTIN, "mine"}
    assert len(problems) == 1
    assert "bad-colour.toml" in problems[0] and "primary" in problems[0]
    assert "not a colour" in problems[0]
    message = problems_message(problems)
    assert message is not None and message.count("\n") == 1 and "skipped" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('name = "x"\nprimary = "#fff"\ncolour = "red"\n', "colour: unknown key"),
        ('primary = "#fff"\n', "name: Field required"),
        ('name = "x"\nprimary = "#fff" oops\n', "not valid TOML"),
        ('name = "Bad Name"\nprimary = "#fff"\n', "name: String should match"),
        ('name = "x"\nprimary = "#fff"\n[variables]\nbudget-ok = "nope"\n', "budget-ok"),
        ('name = "x"\nprimary = "#fff"\n[variables]\nfoo-text-style = "shiny"\n', "text style"),
        ('name = "x"\nprimary = "#fff"\ntext_alpha = 2\n', "text_alpha"),
    ],
)
def test_each_problem_names_file_key_and_problem(
    tmp_path: Path, content: str, expected: str
) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "broken.toml").write_text(content)
    themes, problems = load_themes(user_dir=user)
    assert [p for p in problems if "broken.toml" in p and expected in p], problems
    assert {t.name for t in themes} == set(BUILTIN)


def test_user_theme_replaces_a_builtin_of_the_same_name_and_duplicates_are_reported(
    tmp_path: Path,
) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "a.toml").write_text('name = "werkpilot-dark"\nprimary = "#ff0000"\n')
    (user / "b.toml").write_text('name = "werkpilot-dark"\nprimary = "#00ff00"\n')
    themes, problems = load_themes(user_dir=user)
    dark = next(t for t in themes if t.name == "werkpilot-dark")
    assert dark.primary == "#ff0000"
    assert len(problems) == 1 and "b.toml" in problems[0] and "twice" in problems[0]


def test_user_theme_dir_precedence(tmp_path: Path) -> None:
    cfg = Config(ui=UiConfig(theme_dir=str(tmp_path / "from-config")))
    env = {"WERKPILOT_THEME_DIR": str(tmp_path / "from-env")}
    assert user_theme_dir(cfg, env) == tmp_path / "from-env"
    assert user_theme_dir(cfg, {}) == tmp_path / "from-config"
    assert user_theme_dir(None, {}) == Path("~/.config/werkpilot-tui/themes").expanduser()


def test_a_theme_folder_that_is_a_file_is_one_problem(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "themes"
    not_a_dir.write_text("")
    themes, problems = load_themes(user_dir=not_a_dir)
    assert len(themes) == len(BUILTIN)
    assert problems == [f"{not_a_dir}: theme folder is not a directory"]


def test_start_theme_precedence() -> None:
    names = [*BUILTIN, "mine"]
    both = {"remembered": "werkpilot-light", "configured": "mine"}
    assert choose_theme(names, cli=HIGH_CONTRAST_THEME, **both) == (HIGH_CONTRAST_THEME, None)
    assert choose_theme(names, **both) == ("werkpilot-light", None)
    assert choose_theme(names, configured="mine") == ("mine", None)
    assert choose_theme(names) == (DEFAULT_THEME, None)
    name, problem = choose_theme(names, cli="gone", remembered="werkpilot-light")
    assert name == "werkpilot-light"
    assert problem is not None and "'gone'" in problem and "--theme" in problem


def test_remembered_theme_round_trips_and_keeps_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.toml"
    assert load_settings(path) == Settings()
    path.parent.mkdir()
    path.write_text('future_key = 3\ntheme = "werkpilot-dark"\n')
    remember_theme("werkpilot-light", path)
    assert load_settings(path).theme == "werkpilot-light"
    assert "future_key = 3" in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]  # no temp file left


def test_settings_path_comes_from_the_environment(tmp_path: Path) -> None:
    remember_theme(HIGH_CONTRAST_THEME)  # conftest points $WERKPILOT_SETTINGS into tmp_path
    assert load_settings(tmp_path / "settings.toml").theme == HIGH_CONTRAST_THEME


def test_corrupt_settings_file_means_nothing_remembered(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("theme = [unclosed")
    assert load_settings(path).theme is None
    save_settings(Settings(theme="werkpilot-dark"), path)
    assert load_settings(path).theme == "werkpilot-dark"


async def test_console_starts_with_one_notification_for_broken_user_themes(
    tmp_path: Path, clock: object
) -> None:
    from werkpilot_tui.console.app import make_app

    user = tmp_path / "user-themes"  # conftest's $WERKPILOT_THEME_DIR
    user.mkdir()
    (user / "a.toml").write_text('name = "a"\nprimary = "nope"\n')
    (user / "b.toml").write_text("name = ")
    (user / "mine.toml").write_text('name = "mine"\nprimary = "#336699"\n')
    app = make_app(data_dir=tmp_path / "data", clock=clock, watch=False, theme="mine")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "mine"
        messages = [n.message for n in app._notifications]
        skipped = [m for m in messages if "skipped" in m]
        assert len(skipped) == 1
        assert "2 theme files skipped" in skipped[0]
        assert "a.toml" in skipped[0] and "b.toml" in skipped[0]


def _luminance(color: object) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in color.rgb)  # type: ignore[attr-defined]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(parse_color(a)), _luminance(parse_color(b))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("name", ["werkpilot-dark", "werkpilot-light"])
def test_text_and_status_colours_meet_wcag_aa_on_every_background(
    name: str, tmp_path: Path
) -> None:
    theme = _themes(tmp_path)[name]
    texts = {
        field: getattr(theme, field) for field in ("foreground", "success", "warning", "error")
    }
    texts |= {var: theme.variables[var] for var in APP_VARIABLES}
    for ground in ("background", "surface", "panel"):
        for label, colour in texts.items():
            ratio = _contrast(colour, getattr(theme, ground))
            assert ratio >= 4.5, f"{name}: {label} on {ground} is {ratio:.2f}:1"
