"""The command palette: one provider, namespaced titles ("view: costs", "window: 24h")."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from werkpilot_tui.view_models import WINDOWS

if TYPE_CHECKING:
    from werkpilot_tui.app_api import ConsoleApp

Command = tuple[str, Callable[[], object], str]


class WerkpilotCommands(Provider):
    """Every key's action, plus one entry per theme, window and sort order."""

    def _commands(self) -> list[Command]:
        app = cast("ConsoleApp", self.app)
        from werkpilot_tui.widgets.agent_table import SORTS

        def dash(action: str) -> Callable[[], object]:
            return partial(app.run_dashboard_action, action)

        commands: list[Command] = [
            ("view: costs", app.action_costs, "Daily, weekly and monthly costs (c)"),
            ("view: agent detail", dash("open_detail"), "The selected agent (enter)"),
            ("view: help", app.action_help, "Keys and what they do (?)"),
            ("alert: acknowledge", dash("acknowledge"), "Acknowledge the selected alert (a)"),
            ("alert: undo acknowledgement", dash("undo"), "Take back the last ack, 10 s (u)"),
            ("alert: snooze…", dash("snooze"), "Snooze the selected alert: 15 min … (A)"),
            ("alert: silence…", dash("silence"), "Silence the selected alert's condition (S)"),
            ("budget: edit", dash("edit_budget"), "Edit the selected department's budget (b)"),
            ("agents: filter", dash("filter"), "Filter agents by name or department (/)"),
            ("theme: choose…", app.action_choose_theme, "Pick a theme (t)"),
            ("app: quit", app.action_quit, "Leave the console (q)"),
        ]
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
