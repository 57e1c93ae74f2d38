"""What screens and the command palette may ask of the console app: the ``ConsoleApp`` protocol.

The dashboard screen and the palette's commands talk to the app through this protocol instead
of importing ``app.py`` (which imports them: an import cycle). ``WerkpilotApp`` implements it;
mypy checks that (``_conforms`` in ``app.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.binding import Binding

    from werkpilot_tui.console.session import Capability
    from werkpilot_tui.console.view_models import Dashboard
    from werkpilot_tui.console.widgets.palette import Palette


class ConsoleApp(Protocol):
    """The app as its screens see it (data, styles, actions that go through the session)."""

    @property
    def latest(self) -> Dashboard | None: ...

    @property
    def palette(self) -> Palette: ...

    @property
    def available_themes(self) -> Mapping[str, Any]: ...

    def now_ms(self) -> int: ...

    def key_for(self, binding: Binding) -> str: ...

    # -------------------------------------------------------- session actions
    async def acknowledge(self, alert_id: str) -> bool: ...

    def supports(self, capability: Capability) -> bool: ...

    async def alert_call(self, method: Capability, *args: Any) -> bool: ...

    def explain_unsupported(self) -> None: ...

    def cannot_edit_budget(self, department: str) -> str | None: ...

    async def set_budget(self, department: str, amount: float) -> bool: ...

    # ---------------------------------------------------------- views, keys
    def open_agent_detail(self, name: str) -> None: ...

    def run_dashboard_action(self, action: str) -> None: ...

    def set_window(self, window: str) -> None: ...

    def set_sort(self, index: int) -> None: ...

    def apply_theme(self, name: str) -> None: ...

    def action_costs(self) -> None: ...

    def action_help(self) -> None: ...

    def action_choose_theme(self) -> None: ...

    async def action_quit(self) -> None: ...


__all__ = ["ConsoleApp"]
