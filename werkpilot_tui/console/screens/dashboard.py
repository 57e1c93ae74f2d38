"""The dashboard: health header, agents, budgets and alerts, and the keys that act on them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from werkpilot_tui.console.alert_actions import (
    SILENCE_CHOICES,
    SNOOZE_CHOICES,
    UNDO_S,
    Choice,
    describe,
)
from werkpilot_tui.console.messages import AlertAcknowledged, BudgetSaved
from werkpilot_tui.console.screens.alert_detail import (
    ACKNOWLEDGE,
    SILENCE,
    SNOOZE,
    AlertDetailScreen,
)
from werkpilot_tui.console.screens.budget_modal import BudgetModal
from werkpilot_tui.console.screens.duration_picker import DurationPicker
from werkpilot_tui.console.screens.reason_modal import ReasonModal
from werkpilot_tui.console.view_models import WINDOWS, AlertRow, Dashboard
from werkpilot_tui.console.widgets.agent_table import SORTS, AgentTable
from werkpilot_tui.console.widgets.alert_feed import AlertFeed
from werkpilot_tui.console.widgets.budget_bars import BudgetBars
from werkpilot_tui.console.widgets.health_header import HealthHeader
from werkpilot_tui.console.widgets.palette import Palette
from werkpilot_tui.console.widgets.text import neutralise

if TYPE_CHECKING:
    from werkpilot_tui.console.app_api import ConsoleApp


class DashboardScreen(Screen[None]):
    """The home screen; it renders whatever ``Dashboard`` snapshot the app hands it."""

    #: The footer holds what fits in 80 columns with q Quit uncut; window, sort and filter
    #: are named in the agents pane's title and listed by ? Help.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Ack", id="dashboard.acknowledge"),
        Binding("b", "edit_budget", "Budget", id="dashboard.edit_budget"),
        Binding("u", "undo", "Undo the last ack (for 10 s)", show=False, id="dashboard.undo"),
        Binding(
            "A",
            "snooze",
            "Snooze alert (15 min … until resolved)",
            show=False,
            id="dashboard.snooze",
        ),
        Binding(
            "S", "silence", "Silence the alert's condition", show=False, id="dashboard.silence"
        ),
        Binding(
            "p",
            "pause",
            "Pause or resume the agent (asks why)",
            show=False,
            id="dashboard.pause",
        ),
        Binding("w", "cycle_window", "Window", show=False, id="dashboard.cycle_window"),
        Binding("s", "cycle_sort", "Sort", show=False, id="dashboard.cycle_sort"),
        Binding("slash", "filter", "Filter", key_display="/", show=False, id="dashboard.filter"),
        Binding("enter", "open_detail", "Detail", id="dashboard.open_detail"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="dashboard.clear_filter"),
    ]

    window: reactive[str] = reactive("24h")
    sort_index: reactive[int] = reactive(0)
    filter_text: reactive[str] = reactive("")

    def __init__(self) -> None:
        super().__init__(id="dashboard")
        self.dashboard: Dashboard | None = None
        self._undo: tuple[AlertRow, float] | None = None  # last ack and its undo deadline

    @property
    def wp(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        yield HealthHeader(id="health")
        with Vertical(id="agents-pane", classes="pane"):
            yield Static(Text("Loading…"), id="waiting")
            yield AgentTable(id="agents")
            yield Input(placeholder="filter agents by name or department", id="filter")
        with Horizontal(id="bottom"):
            with Vertical(id="budgets-pane", classes="pane"):
                yield BudgetBars(id="budgets")
            with Vertical(id="alerts-pane", classes="pane"):
                yield AlertFeed(id="alerts")
        yield Footer()

    def on_resize(self) -> None:
        """On short terminals the bottom row (budgets, alerts) takes 2/5 of the room, at
        least 8 rows (5 departments): 10 agent rows at 80x24; from 33 rows, half."""
        room = self.size.height - 3  # header and footer
        self.query_one("#bottom").styles.height = room // 2 if room >= 30 else max(8, room * 2 // 5)

    def on_mount(self) -> None:
        self.query_one(HealthHeader).read_only = bool(getattr(self.app, "read_only", False))
        self.query_one("#filter", Input).display = False
        self._titles()
        self.query_one("#agents", AgentTable).focus()
        if self.wp.latest is not None:
            self.show(self.wp.latest)

    # ---------------------------------------------------------------- render
    def show(self, dashboard: Dashboard) -> None:
        """Apply a new snapshot: only changed cells are rewritten."""
        self.dashboard = dashboard
        self.render_all()

    def render_all(self) -> None:
        d = self.dashboard
        if d is None or not self.is_mounted:
            return
        palette: Palette = self.wp.palette
        now = self.wp.now_ms()
        with self.app.batch_update():
            self.query_one(HealthHeader).show(d, now, palette)
            self.query_one(AgentTable).show(
                d.agents,
                self.window,
                d.thresholds,
                now,
                palette,
                SORTS[self.sort_index],
                self.filter_text,
            )
            self.query_one(BudgetBars).show(d.budgets, palette)
            self.query_one(AlertFeed).show(d.alerts, now, palette)
            self._waiting(d)

    def tick(self) -> None:
        """Clock-driven text only (\"3 s ago\", uptime); no core call."""
        if self.dashboard is not None and self.is_mounted:
            self.query_one(HealthHeader).show(self.dashboard, self.wp.now_ms(), self.wp.palette)

    def _waiting(self, d: Dashboard) -> None:
        waiting = self.query_one("#waiting", Static)
        if d.agents and (not self.filter_text or self.query_one(AgentTable).row_count):
            waiting.display = False
            return
        waiting.display = True
        if d.agents:  # the filter hides every agent: say so rather than show an empty table
            message = f"No agent matches “{self.filter_text}” (Esc clears the filter)"
        elif d.error:
            message = f"Cannot read {d.data_dir}: {d.error}"
        else:
            message = f"No executions yet — waiting for {d.data_dir}…"
        waiting.update(Text(neutralise(message)))

    def _titles(self) -> None:
        sort = SORTS[self.sort_index]
        agents = self.query_one("#agents-pane")
        agents.border_title = f"Agents · window {self.window} (w) · sort {sort.label} (s)" + (
            f" · filter “{neutralise(self.filter_text)}” (/)"
            if self.filter_text
            else " · filter (/)"
        )
        self.query_one("#budgets-pane").border_title = "Budgets · this month"
        self.query_one("#alerts-pane").border_title = "Alerts · newest first"

    def watch_window(self) -> None:
        self._refresh_view()

    def watch_sort_index(self) -> None:
        self._refresh_view()

    def watch_filter_text(self) -> None:
        self._refresh_view()

    def _refresh_view(self) -> None:
        if self.is_mounted:
            self._titles()
            self.render_all()

    # --------------------------------------------------------------- actions
    def action_cycle_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self.notify(f"Window: {self.window}", timeout=1.5)

    def action_cycle_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(AgentTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        if not event.value:
            box.display = False
        self.query_one(AgentTable).focus()

    def _selected_alert(self, verb: str) -> AlertRow | None:
        """The alert the operator sees highlighted: only on the focused alerts table.

        Elsewhere the alerts table gets focus and the operator is asked to pick one, so a
        key never acts on the hidden cursor of a table they are not looking at."""
        feed = self.query_one(AlertFeed)
        key = feed.selected_key if self.focused is feed else None
        alert = self.dashboard.alert(key) if self.dashboard and key else None
        if alert is None:
            feed.focus()
            self.notify(
                f"Select an alert first: the alerts table has focus now; highlight one and "
                f"press the key again to {verb} it.",
                title="No alert selected",
                severity="warning",
                markup=False,
            )
        return alert

    async def action_acknowledge(self) -> None:
        if self.wp.refuses("acknowledging (a)"):
            return
        alert = self._selected_alert("acknowledge")
        if alert is not None:
            await self._acknowledge(alert.id)

    async def _acknowledge(self, alert_id: str | None) -> None:
        if self.wp.refuses("acknowledging (a)"):
            return
        alert = self.dashboard.alert(alert_id) if self.dashboard and alert_id else None
        if alert is None:
            self.notify("No alert selected.", severity="warning")
            return
        if alert.acknowledged:
            self.notify("That alert is already acknowledged.")
            return
        ok = await self.wp.acknowledge(alert.id)
        if ok and self.wp.supports("unacknowledge"):
            self._undo = (alert, time.monotonic() + UNDO_S)
        self.post_message(AlertAcknowledged(alert.id, ok))

    async def action_undo(self) -> None:
        """Take back the last acknowledgement made here, within ``UNDO_S`` seconds."""
        if self.wp.refuses("undoing an acknowledgement (u)"):
            return
        if not self.wp.supports("unacknowledge"):
            self.wp.explain_unsupported()
            return
        undo, self._undo = self._undo, None
        if undo is None or time.monotonic() > undo[1]:
            self.notify(
                f"Nothing to undo: an acknowledgement can be undone for {UNDO_S:g} s.",
                markup=False,
            )
            return
        alert = undo[0]
        if await self.wp.alert_call("unacknowledge", alert.id):
            self.notify(f"Acknowledgement undone: {describe(alert)}", markup=False)

    async def action_snooze(self) -> None:
        if self.wp.refuses("snoozing (A)"):
            return
        alert = self._selected_alert("snooze")
        if alert is not None:
            await self._snooze(alert)

    async def _snooze(self, alert: AlertRow) -> None:
        if self.wp.refuses("snoozing (A)"):
            return
        if not self.wp.supports("snooze"):
            self.wp.explain_unsupported()
            return
        if alert.acknowledged and alert.acknowledged_until_ms is None:
            self.notify("That alert is already acknowledged until it resolves.", markup=False)
            return

        async def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            if await self.wp.alert_call("snooze", alert.id, choice.seconds):
                self.notify(f"Snoozed {choice.label}: {describe(alert)}", markup=False)

        about = describe(alert)
        self.app.push_screen(DurationPicker("Snooze alert", about, SNOOZE_CHOICES), chosen)

    async def action_silence(self) -> None:
        if self.wp.refuses("silencing (S)"):
            return
        alert = self._selected_alert("silence")
        if alert is not None:
            await self._silence(alert)

    async def _silence(self, alert: AlertRow) -> None:
        if self.wp.refuses("silencing (S)"):
            return
        if not self.wp.supports("silence") or not alert.fingerprint:
            self.wp.explain_unsupported()
            return

        async def chosen(choice: Choice | None) -> None:
            if choice is None or choice.seconds is None:
                return
            if await self.wp.alert_call("silence", alert.fingerprint, choice.seconds):
                self.notify(
                    f"Silenced for {choice.label}: {describe(alert)} (recorded, not sent, "
                    "not escalated)",
                    markup=False,
                )

        about = f"{describe(alert)} — its condition is recorded but not sent or escalated"
        self.app.push_screen(DurationPicker("Silence condition", about, SILENCE_CHOICES), chosen)

    @on(DataTable.RowSelected, "#alerts")
    def _alert_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on the feed: the whole alert (its line in the feed may be cut short)."""
        event.stop()
        key = event.row_key.value
        alert = self.dashboard.alert(str(key)) if self.dashboard and key is not None else None
        if alert is None:
            return

        async def closed(result: str | None) -> None:
            if result == ACKNOWLEDGE:
                await self._acknowledge(alert.id)
            elif result == SNOOZE:
                await self._snooze(alert)
            elif result == SILENCE:
                await self._silence(alert)

        self.app.push_screen(AlertDetailScreen(alert, self.wp.now_ms(), self.wp.palette), closed)

    def on_alert_acknowledged(self, message: AlertAcknowledged) -> None:
        alert = self.dashboard.alert(message.alert_id) if self.dashboard else None
        if not message.ok:
            self.notify(f"Unknown alert {message.alert_id}.", severity="error", markup=False)
            return
        what = describe(alert) if alert is not None else f"alert {message.alert_id}"
        undo = f" — u undoes it for {UNDO_S:g} s" if self.wp.supports("unacknowledge") else ""
        self.notify(f"Acknowledged {what}{undo}", title="Acknowledged", markup=False)

    def _selected_department(self) -> str | None:
        """The department of what the operator has selected: the highlighted budget, the
        highlighted agent's department, or the highlighted alert's department."""
        d = self.dashboard
        focused = self.focused
        if d is None:
            return None
        if isinstance(focused, BudgetBars):
            return focused.selected_key
        if isinstance(focused, AgentTable):
            key = focused.selected_key
            agent = d.agent(key) if key else None
            return agent.department if agent else None
        if isinstance(focused, AlertFeed):
            key = focused.selected_key
            alert = d.alert(key) if key else None
            if alert is None:
                return None
            department = alert.field("department")
            agent = d.agent(alert.field("agent") or "")
            return department or (agent.department if agent else None)
        return None

    def action_edit_budget(self) -> None:
        if self.wp.refuses("editing budgets (b)"):
            return
        department = self._selected_department()
        row = self.dashboard.budget(department) if self.dashboard and department else None
        if row is None or department is None:
            bars = self.query_one(BudgetBars)
            bars.focus()
            why = (
                f"{neutralise(department)} has no budget row yet"
                if department
                else "the highlighted row names no department"
            )
            self.notify(
                f"Select a department first ({why}): the budgets table has focus now; "
                "highlight one and press b again.",
                title="No department selected",
                severity="warning",
                markup=False,
            )
            return
        blocked = self.wp.cannot_edit_budget(department)
        if blocked:  # fleet mode: no host can be reached to take the edit
            self.notify(blocked, title="Cannot edit budget", severity="error", markup=False)
            return

        modal = BudgetModal(department, row.budget, row.spent)

        async def save(amount: float | None) -> None:
            if amount is None:
                return
            if await self.wp.set_budget(department, amount, modal.reason):
                self.post_message(BudgetSaved(department, amount))

        self.app.push_screen(modal, save)

    def on_budget_saved(self, message: BudgetSaved) -> None:
        self.notify(
            f"Budget for {neutralise(message.department)} set to ${message.amount:,.2f}.",
            markup=False,
        )

    def action_pause(self) -> None:
        """``p``: pause the highlighted agent, or resume it when paused, after asking why."""
        if self.wp.refuses("pausing and resuming agents (p)"):
            return
        table = self.query_one(AgentTable)
        key = table.selected_key if self.focused is table else None
        row = self.dashboard.agent(key) if self.dashboard and key else None
        if row is None:
            table.focus()
            self.notify(
                "Select an agent first: the agents table has focus now; highlight one and "
                "press p again.",
                title="No agent selected",
                severity="warning",
                markup=False,
            )
            return
        if not self.wp.supports("pause"):
            self.notify("This console cannot pause agents.", severity="warning", markup=False)
            return
        agent = row.name.removesuffix(f"@{row.host}") if row.host else row.name
        pausing = not row.paused
        where = " on every host that reports it" if row.host else " in every process"
        about = (
            f"{agent}: its next calls are refused{where} until it is resumed."
            if pausing
            else f"{agent} is paused: resuming lets its calls through again{where}."
        )
        verb = "Pause" if pausing else "Resume"

        async def confirmed(reason: str | None) -> None:
            if reason is not None:  # None: Escape, nothing written
                await self.wp.set_paused(agent, pausing, reason)

        self.app.push_screen(
            ReasonModal(f"{verb} agent {agent}?", about, f"{verb.lower()}s"), confirmed
        )

    def action_open_detail(self) -> None:
        name = self.query_one(AgentTable).selected_key
        if name is not None:
            self.wp.open_agent_detail(name)

    @on(DataTable.RowSelected, "#agents")
    def _agent_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.wp.open_agent_detail(str(event.row_key.value))

    @on(DataTable.RowSelected, "#budgets")
    def _budget_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_budget()
