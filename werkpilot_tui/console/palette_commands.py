"""The command palette: one provider, namespaced titles ("view: costs", "window: 24h").

Key commands are built from the bindings, by their ids (``BOUND``), so a key remapped in
``[keys]`` shows in the palette as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from werkpilot_tui.console.view_models import WINDOWS

if TYPE_CHECKING:
    from werkpilot_tui.console.app_api import ConsoleApp

Command = tuple[str, Callable[[], object], str]
#: Key bindings in the palette, by binding id: (title, help without the key).
BOUND: dict[str, tuple[str, str]] = {
    "app.costs": ("view: costs", "Daily, weekly and monthly costs"),
    "dashboard.open_detail": ("view: agent detail", "The selected agent"),
    "app.help": ("view: help", "Keys and what they do"),
    "app.audit": ("view: audit trail", "Every operator action, newest first"),
    "dashboard.acknowledge": ("alert: acknowledge", "Acknowledge the selected alert"),
    "dashboard.undo": ("alert: undo acknowledgement", "Take back the last ack, 10 s"),
    "dashboard.snooze": ("alert: snooze…", "Snooze the selected alert: 15 min …"),
    "dashboard.silence": ("alert: silence…", "Silence the selected alert's condition"),
    "dashboard.edit_budget": ("budget: edit", "Edit the selected department's budget"),
    "dashboard.pause": ("agent: pause / resume…", "Pause or resume the selected agent"),
    "dashboard.filter": ("agents: filter", "Filter agents by name or department"),
    "app.theme": ("theme: choose…", "Pick a theme"),
    "app.quit": ("app: quit", "Leave the console"),
}


def bindings(app: object) -> list[Binding]:
    """The app's (an app or its class) and the dashboard's key bindings (each has an id)."""
    from werkpilot_tui.console.screens.dashboard import DashboardScreen

    cls = app if isinstance(app, type) else type(app)
    found = [*getattr(cls, "BINDINGS", []), *DashboardScreen.BINDINGS]
    return [b for b in found if isinstance(b, Binding)]


def binding_ids(app: object) -> set[str]:
    """The ids ``[keys]`` may remap."""
    return {b.id for b in bindings(app) if b.id}


class WerkpilotCommands(Provider):
    """Every key's action, plus one entry per theme, window and sort order."""

    def _commands(self) -> list[Command]:
        app = cast("ConsoleApp", self.app)
        from werkpilot_tui.console.widgets.agent_table import SORTS

        app_actions: dict[str, Callable[[], object]] = {
            "costs": app.action_costs,
            "help": app.action_help,
            "audit": app.action_audit,
            "choose_theme": app.action_choose_theme,
            "quit": app.action_quit,
        }
        by_id = {b.id: b for b in bindings(self.app) if b.id}
        commands: list[Command] = []
        for binding_id, (title, help_text) in BOUND.items():
            b = by_id[binding_id]
            if binding_id.startswith("app."):
                run = app_actions[b.action]
            else:
                run = partial(app.run_dashboard_action, b.action)
            commands.append((title, run, f"{help_text} ({app.key_for(b)})"))
        for window in WINDOWS:
            commands.append(
                (f"window: {window}", partial(app.set_window, window), f"Show the last {window}")
            )
        for i, sort in enumerate(SORTS):
            commands.append(
                (
                    f"sort: by {sort.label}",
                    partial(app.set_sort, i),
                    f"Order agents by {sort.label}",
                )
            )
        for name in sorted(app.available_themes):
            if not name.startswith("textual-"):
                commands.append((f"theme: {name}", partial(app.apply_theme, name), "Switch theme"))
        return commands

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
