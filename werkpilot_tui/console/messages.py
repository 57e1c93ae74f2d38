"""Messages between the live feed, the app and its screens."""

from __future__ import annotations

from collections.abc import Mapping

from textual.message import Message

from werkpilot_tui.console.view_models import Dashboard


class DataChanged(Message, bubble=False):
    """A new dashboard view model was built (posted from the live feed).

    The app hands each snapshot on to every open screen; it must not bubble from a screen
    back to the app, which would hand it on again (a loop that spun a core and, by
    restarting every screen's load, kept the screen from ever showing new data).
    """

    def __init__(self, dashboard: Dashboard, views: Mapping[object, object] | None = None) -> None:
        super().__init__()
        self.dashboard = dashboard
        #: Views built on the core thread in the same pass as ``dashboard``, keyed by the
        #: screen that asked for them (``LiveFeed.follow``): shown without another trip.
        self.views: Mapping[object, object] = views or {}

    def can_replace(self, message: Message) -> bool:
        # An unprocessed older snapshot is worthless once a newer one exists.
        return isinstance(message, DataChanged)


class AlertAcknowledged(Message):
    """An alert was acknowledged through core (``ok`` False if core did not know it)."""

    def __init__(self, alert_id: str, ok: bool) -> None:
        super().__init__()
        self.alert_id = alert_id
        self.ok = ok


class BudgetSaved(Message):
    """A department's monthly budget was saved to ``data/budgets.toml``."""

    def __init__(self, department: str, amount: float) -> None:
        super().__init__()
        self.department = department
        self.amount = amount
