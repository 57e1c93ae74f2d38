"""Rich styles taken from the active theme's variables, so table cells follow the theme."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.style import Style
from textual.color import Color

#: App-level theme variables: name -> the Textual colour-system variable it defaults to.
#: Theme files may override any of them in their ``variables`` table.
VARIABLE_DEFAULTS: dict[str, str] = {
    "alert-critical": "text-error",
    "alert-warning": "text-warning",
    "alert-info": "text-primary",
    "status-ok": "text-success",
    "budget-info": "text-primary",
    "budget-warning": "text-warning",
    "budget-over": "text-error",
    "budget-bar": "text-success",
    "data-muted": "foreground-muted",
}
#: Variables of the console's chrome (app.tcss), not of figures: name -> (default, fallback
#: where the default is transparent, as in ANSI themes, which have no shades of a colour).
CHROME_DEFAULTS: dict[str, tuple[str, str]] = {
    "pane-border": ("panel-lighten-2", "border-blurred"),  # panes without focus
}

LEVEL_WORD = {"critical": "CRIT", "warning": "WARN", "info": "INFO"}
LEVEL_SYMBOL = {"critical": "✖", "warning": "▲", "info": "●"}


def theme_defaults(colour_system: Mapping[str, str]) -> dict[str, str]:
    """Defaults for our variables, derived from the theme's own colour system."""
    out = {name: colour_system[source] for name, source in VARIABLE_DEFAULTS.items()}
    for name, (source, fallback) in CHROME_DEFAULTS.items():
        value = colour_system.get(source, "transparent")
        out[name] = colour_system.get(fallback, value) if value == "transparent" else value
    return out


@dataclass(frozen=True)
class Palette:
    """Styles for levels and states; built once per theme change."""

    critical: Style = field(default_factory=lambda: Style(bold=True))
    warning: Style = field(default_factory=lambda: Style(bold=True))
    info: Style = field(default_factory=lambda: Style())
    ok: Style = field(default_factory=lambda: Style())
    budget_info: Style = field(default_factory=lambda: Style())
    budget_warning: Style = field(default_factory=lambda: Style(bold=True))
    budget_over: Style = field(default_factory=lambda: Style(bold=True, reverse=True))
    bar: Style = field(default_factory=lambda: Style())
    muted: Style = field(default_factory=lambda: Style(dim=True))

    def level(self, level: str | None) -> Style:
        return {"critical": self.critical, "warning": self.warning, "info": self.info}.get(
            level or "", Style()
        )

    def budget(self, level: str | None) -> Style:
        return {
            "critical": self.budget_over,
            "warning": self.budget_warning,
            "info": self.budget_info,
        }.get(level or "", self.bar)

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Palette:
        background = _colour(variables.get("background", "")) or Color(0, 0, 0)

        def style(name: str, bold: bool = False) -> Style:
            colour = _colour(variables.get(name, ""))
            if colour is None:
                return Style(bold=bold)
            if colour.a < 1:
                colour = background.blend(colour, colour.a).with_alpha(1)
            return Style(color=colour.rich_color, bold=bold)

        return cls(
            critical=style("alert-critical", bold=True),
            warning=style("alert-warning", bold=True),
            info=style("alert-info"),
            ok=style("status-ok"),
            budget_info=style("budget-info"),
            budget_warning=style("budget-warning", bold=True),
            budget_over=style("budget-over", bold=True),
            bar=style("budget-bar"),
            muted=style("data-muted"),
        )


def _colour(value: str) -> Color | None:
    try:
        return Color.parse(value.split()[0]) if value else None
    except Exception:  # "auto 60%" and other non-colours: fall back to plain text
        return None
