"""Theme files (TOML) loaded and validated into Textual themes.

Built-in themes come from ``builtin_theme_dir()``; the user's own from ``$WERKPILOT_THEME_DIR``,
``[ui] theme_dir`` or ``~/.config/werkpilot-tui/themes``. A user theme with a built-in's name
replaces it. A broken file is skipped and described in one line, so the app can show all of
them in one notification and carry on with the themes that did load.

App-specific theme variables are the app's (``widgets/palette.py: VARIABLE_DEFAULTS``, the
app's ``get_theme_variable_defaults``): ``alert-critical``, ``alert-warning``, ``alert-info``,
``status-ok``, ``budget-bar`` (below 75 %), ``budget-info`` (from 75 %), ``budget-warning``
(from 90 %), ``budget-over`` (from 100 %) and ``data-muted``, and ``pane-border`` (panes
without focus; ``widgets/palette.py: CHROME_DEFAULTS``); theme files may override them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from textual.color import Color, ColorParseError
from textual.theme import Theme

from werkpilot_tui.console.theme_files import builtin_theme_dir
from werkpilot_tui.console.widgets.palette import VARIABLE_DEFAULTS

if TYPE_CHECKING:
    from core import Config

DEFAULT_THEME = "werkpilot-dark"
HIGH_CONTRAST_THEME = "werkpilot-high-contrast"
APP_VARIABLES: tuple[str, ...] = tuple(VARIABLE_DEFAULTS)
USER_THEME_DIR = Path("~/.config/werkpilot-tui/themes")
_ALPHA = re.compile(r"^(?P<color>\S+)\s+(?P<pct>\d{1,3}(\.\d+)?)%$")
_VARIABLE_NAME = r"^[a-z][a-z0-9-]*$"
_STYLE_WORDS = frozenset(
    "none not bold b italic i underline u reverse r strike s dim d blink overline".split()
)


def parse_color(value: str) -> Color:
    """A Textual colour, optionally followed by an opacity such as ``50%``."""
    m = _ALPHA.match(value.strip())
    if m:
        pct = float(m["pct"])
        if pct > 100:
            raise ValueError(f"opacity above 100%: {value!r}")
        return Color.parse(m["color"]).with_alpha(pct / 100)
    try:
        return Color.parse(value)
    except ColorParseError:
        raise ValueError(f"not a colour: {value!r}") from None


def _color(value: str) -> str:
    parse_color(value)
    return value


ColorValue = Annotated[str, AfterValidator(_color)]


def _check_variables(value: dict[str, str]) -> dict[str, str]:
    for key, raw in value.items():
        if "style" in key.split("-"):
            words = raw.split()
            if not words or not set(words) <= _STYLE_WORDS:
                raise ValueError(f"{key}: not a text style: {raw!r}")
        else:
            try:
                parse_color(raw)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    return value


class ThemeFile(BaseModel):
    """The contents of one ``themes/*.toml`` file (the fields of a Textual ``Theme``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    primary: ColorValue
    secondary: ColorValue | None = None
    accent: ColorValue | None = None
    foreground: ColorValue | None = None
    background: ColorValue | None = None
    surface: ColorValue | None = None
    panel: ColorValue | None = None
    boost: ColorValue | None = None
    success: ColorValue | None = None
    warning: ColorValue | None = None
    error: ColorValue | None = None
    dark: bool = True
    ansi: bool = False
    luminosity_spread: float = Field(0.15, ge=0, le=1)
    text_alpha: float = Field(0.95, ge=0, le=1)
    variables: Annotated[
        dict[Annotated[str, Field(pattern=_VARIABLE_NAME)], str],
        AfterValidator(_check_variables),
    ] = Field(default_factory=dict)

    def to_theme(self) -> Theme:
        return Theme(**self.model_dump())


def _describe(path: Path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    problem = problem.removeprefix("Value error, ")
    return f"{path}: {loc}: {problem}" if loc else f"{path}: {problem}"


def load_theme_file(path: Path) -> Theme:
    """Read and validate one theme file; ``ValueError`` says which file, key and problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return ThemeFile.model_validate(raw).to_theme()
    except ValidationError as exc:
        raise ValueError(_describe(path, exc)) from None


def user_theme_dir(config: Config | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The user's theme folder: ``$WERKPILOT_THEME_DIR``, ``[ui] theme_dir`` or the default."""
    env = os.environ if env is None else env
    if env.get("WERKPILOT_THEME_DIR"):
        return Path(env["WERKPILOT_THEME_DIR"]).expanduser()
    if config is not None and config.ui.theme_dir:
        return Path(config.ui.theme_dir).expanduser()
    return USER_THEME_DIR.expanduser()


def _load_dir(folder: Path, problems: list[str]) -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    if not folder.exists():
        return themes
    if not folder.is_dir():
        problems.append(f"{folder}: theme folder is not a directory")
        return themes
    for path in sorted(folder.glob("*.toml")):
        try:
            theme = load_theme_file(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if theme.name in themes:
            problems.append(f"{path}: name: theme {theme.name!r} is defined twice in {folder}")
            continue
        themes[theme.name] = theme
    return themes


def load_themes(
    config: Config | None = None,
    *,
    builtin_dir: Path | None = None,
    user_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[list[Theme], list[str]]:
    """Every valid built-in and user theme (user ones win by name), and one line per bad file."""
    problems: list[str] = []
    themes = _load_dir(builtin_dir or builtin_theme_dir(), problems)
    themes.update(_load_dir(user_dir or user_theme_dir(config, env), problems))
    return list(themes.values()), problems


def problems_message(problems: list[str]) -> str | None:
    """One notification text for every theme file that was skipped, or None."""
    if not problems:
        return None
    head = "Theme file skipped" if len(problems) == 1 else f"{len(problems)} theme files skipped"
    return f"{head} (using the other themes):\n" + "\n".join(problems)


def choose_theme(
    available: list[str],
    *,
    cli: str | None = None,
    remembered: str | None = None,
    configured: str | None = None,
) -> tuple[str, str | None]:
    """The theme to start with: ``--theme`` > remembered > ``[ui] theme`` > the default.

    An explicitly requested name that is not available is reported and skipped.
    """
    problem = None
    for source, name in (("--theme", cli), ("remembered", remembered), ("[ui] theme", configured)):
        if not name:
            continue
        if name in available:
            return name, problem
        if problem is None:
            problem = f"Theme {name!r} ({source}) not found; available: {', '.join(available)}"
    fallback = DEFAULT_THEME if DEFAULT_THEME in available else "textual-dark"
    return fallback, problem
