"""The console app: composes the dashboard, owns the live feed, wires keys to core.

Everything that varies is injected (data dir, config, clock, host health, cadence, watching)
so the CLI and the tests build the same app through ``make_app``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.css.query import NoMatches
from textual.screen import Screen

from core import Clock, Config, now_ms, system_clock
from werkpilot_tui.console.app_api import ConsoleApp
from werkpilot_tui.console.live import CoreSession, HealthProvider, LiveFeed, Preparing, StartupStep
from werkpilot_tui.console.messages import DataChanged
from werkpilot_tui.console.palette_commands import WerkpilotCommands
from werkpilot_tui.console.screens.dashboard import DashboardScreen
from werkpilot_tui.console.session import Capability, NotAvailableHere, Session
from werkpilot_tui.console.view_models import Dashboard
from werkpilot_tui.console.widgets.palette import Palette, theme_defaults


class WerkpilotApp(App[None]):
    """The live console over one data directory."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "werkpilot"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {WerkpilotCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "costs", "Costs", id="app.costs"),
        Binding("L", "audit", "Audit trail of operator actions", show=False, id="app.audit"),
        Binding("t", "choose_theme", "Theme", id="app.theme"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        config: Config | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        watch: bool = True,
        theme: str | None = None,
        *,
        health: HealthProvider | None = None,
        refresh_ms: int | None = None,
        tick_s: float = 2.0,
        rebuild_s: float = 10.0,
        check_interval_s: float | None = None,
        session: Session | None = None,
        preparing: Preparing | None = None,
        read_only: bool | None = None,
    ) -> None:
        # ``session``: another source than the local data directory (fleet mode's FleetSession).
        self.session: Session = session or CoreSession(data_dir, config, clock, health)
        super().__init__()
        self.clock: Clock = clock or system_clock
        self.config = self.session.config
        #: ``--read-only`` or ``[ui] read_only``: every key that writes refuses, saying so.
        self.read_only = self.config.ui.read_only if read_only is None else read_only
        self.watch_files = watch
        self.requested_theme = theme
        self.tick_s = tick_s
        self.rebuild_s = rebuild_s
        self.check_interval_s = check_interval_s or self.config.alerts.check_interval_s
        interval = (refresh_ms or self.config.ui.refresh_ms) / 1000
        # ``preparing``: work that must finish before the data is complete (the demo's
        # backfill); no snapshot is built until it has.
        self.feed = LiveFeed(
            self.session, self._publish, min_interval_s=interval, preparing=preparing
        )
        # Start reading checkpoints and journals now, overlapping Textual's own start-up.
        self.feed.executor.submit(self.session.open)
        self.latest: Dashboard | None = None
        self.palette = Palette()
        self.dashboard_screen = DashboardScreen()
        self.startup_screen: Screen[None] | None = None  # until the first snapshot
        self._built_at = 0.0  # monotonic time of the last snapshot shown

    # ------------------------------------------------------------- lifecycle
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_defaults(self.current_theme.to_color_system().generate())

    def on_mount(self) -> None:
        from werkpilot_tui.console import splash

        splash.taken_over()  # Textual draws from here on (and restores the terminal)
        self._install_keymap()
        self._install_themes()
        self.palette = Palette.from_variables(self.theme_variables)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        from werkpilot_tui.console.screens.startup import StartupScreen

        # What is being read, from the first frame until the first complete snapshot.
        self.push_screen(self.dashboard_screen)  # composed beneath, shown when complete
        self.startup_screen = StartupScreen(self.startup_status)
        self.push_screen(self.startup_screen)
        if self.watch_files:
            self.run_worker(self.feed.run_watcher(), name="watcher", group="watch", exclusive=True)
        self.run_worker(
            self.feed.run_refresher(), name="refresher", group="refresh", exclusive=True
        )
        self.feed.changed()
        self.set_interval(self.tick_s, self._tick)
        self._exit_on_signals()
        self.set_interval(self.check_interval_s, self.run_checks)

    def on_unmount(self) -> None:
        self.feed.stop()

    def _exit_on_signals(self) -> None:
        """SIGTERM and SIGHUP (terminal closed) end the console like ``q``: the terminal is
        restored, core closes its files and ``--demo`` removes its data directory."""
        if self.is_headless:  # tests: the test runner's signals stay its own
            return
        loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self.exit, None, 128 + int(sig))

    def _install_keymap(self) -> None:
        """``[keys]``: binding id -> key(s), e.g. ``"dashboard.acknowledge" = "k"``."""
        from werkpilot_tui.console.palette_commands import binding_ids

        keys = dict(self.config.keys)
        unknown = sorted(set(keys) - binding_ids(self))
        if unknown:
            self.notify(
                f"[keys] in {self.config.source}: unknown binding ids {', '.join(unknown)} "
                "(see ? Help or README for the ids)",
                severity="warning",
                timeout=8,
                markup=False,
            )
        self.set_keymap({k: v for k, v in keys.items() if k not in unknown})

    def key_for(self, binding: Binding) -> str:
        """The key a binding answers to now ([keys] may have remapped it), for hints."""
        if binding.id and binding.id in self.config.keys:
            return self.config.keys[binding.id]
        return binding.key_display or binding.key

    def _install_themes(self) -> None:
        from werkpilot_tui.console import settings, themes

        loaded, problems = themes.load_themes(self.config)
        for theme in loaded:
            self.register_theme(theme)
        name, problem = themes.choose_theme(
            list(self.available_themes),
            cli=self.requested_theme,
            remembered=settings.load_settings().theme,
            configured=self.config.ui.theme,
        )
        self.theme = name
        if name == self.requested_theme:
            settings.remember_theme(name)  # --theme is remembered for next time
        message = themes.problems_message(problems)
        for text in (message, problem):
            if text:
                self.notify(text, severity="warning", timeout=8, markup=False)

    def _theme_changed(self, _theme: Any) -> None:
        self.palette = Palette.from_variables(self.theme_variables)
        self.dashboard_screen.render_all()

    # ------------------------------------------------------------------ data
    def now_ms(self) -> int:
        return now_ms(self.clock)

    def _publish(self, dashboard: Dashboard) -> None:
        self.post_message(DataChanged(dashboard, self.feed.views))

    def startup_status(self) -> StartupStep:
        """What the start-up screen says: the preparation's step, else the session's."""
        preparing = self.feed.preparing
        step = preparing() if preparing is not None else None
        if step is not None:
            return step
        return self.session.startup_step

    def _leave_startup(self) -> None:
        """The first complete snapshot: the dashboard replaces the start-up screen (and
        anything opened over it meanwhile)."""
        startup, self.startup_screen = self.startup_screen, None
        if startup is None or startup not in self.screen_stack:
            return
        while self.screen is not self.dashboard_screen:
            self.pop_screen()

    def on_data_changed(self, message: DataChanged) -> None:
        self.latest = message.dashboard
        self._built_at = time.monotonic()
        if self.startup_screen is not None:
            self._leave_startup()
        self.dashboard_screen.show(message.dashboard)
        for screen in self.screen_stack:  # detail screens reload from the same snapshot
            if screen is not self.dashboard_screen:
                screen.post_message(DataChanged(message.dashboard, message.views))

    def refresh_data(self) -> None:
        """Ask for a new snapshot (coalesced with any pending one)."""
        self.feed.changed()

    def _tick(self) -> None:
        others = [s for s in self.screen_stack if s is not self.dashboard_screen]
        # Under another screen the dashboard's ages wait (it is dimmed or hidden there):
        # repainting it under an overlay costs a full composite every tick.
        ticking = others if others else [self.dashboard_screen]
        for screen in ticking:
            tick = getattr(screen, "tick", None)
            if tick is None or not screen.is_attached:
                continue
            try:
                tick()
            except NoMatches:  # a screen being torn down (closed, or the app quitting)
                pass
        self.feed.check_sizes()
        if time.monotonic() - self._built_at >= self.rebuild_s:
            # Windows slide and host figures move without writes; also the fallback when
            # the file watcher cannot see changes (network mounts in polling mode).
            self.feed.changed(periodic=True)

    async def run_checks(self) -> None:
        """Thresholds, budgets and escalations through core (a console left open escalates)."""
        await self.feed.call(self.session.check)
        self.feed.changed(periodic=True)

    def refuses(self, what: str) -> bool:
        """In a read-only console: say that ``what`` is disabled and return True."""
        if not self.read_only:
            return False
        self.notify(
            f"read-only console: {what} is disabled (started with --read-only or "
            "[ui] read_only = true)",
            title="Read-only",
            severity="warning",
            markup=False,
        )
        return True

    async def acknowledge(self, alert_id: str) -> bool:
        if self.refuses("acknowledging"):
            raise SkipAction()
        try:
            ok = await self.feed.call(self.session.acknowledge, alert_id)
        except NotAvailableHere as exc:  # fleet mode: the owning host cannot act
            self.notify(str(exc), title="Cannot acknowledge", severity="error", markup=False)
            raise SkipAction() from None
        self.feed.changed()
        return ok

    def supports(self, capability: Capability) -> bool:
        """Whether the session offers an action or view (undo, snooze, silence, costs: not
        in fleet mode)."""
        return capability in self.session.capabilities

    async def alert_call(self, method: Capability, *args: Any) -> bool:
        """Undo, snooze or silence through the session; False (having said why) when the
        session cannot: fleet mode acts on other hosts only through their acknowledge API."""
        actions: dict[Capability, Callable[..., object]] = {
            "unacknowledge": self.session.unacknowledge,
            "snooze": self.session.snooze,
            "silence": self.session.silence,
        }
        if self.refuses(f"{method}"):
            return False
        if method not in actions or not self.supports(method):
            self.explain_unsupported()
            return False
        try:
            await self.feed.call(actions[method], *args)
        except NotAvailableHere:
            self.explain_unsupported()
            return False
        self.feed.changed()
        return True

    def explain_unsupported(self) -> None:
        self.notify(
            "Fleet mode can only acknowledge: snooze, silence and undo act on a host's "
            "data directory (`werkpilot-tui --data-dir DIR` on that host).",
            title="Not in fleet mode",
            severity="warning",
            markup=False,
        )

    def cannot_edit_budget(self, department: str) -> str | None:
        """Why the budget key cannot act here (fleet mode), or None."""
        return self.session.cannot_edit_budget(department)

    async def set_budget(self, department: str, amount: float, reason: str = "") -> bool:
        """Save a budget; in fleet mode say which hosts took it and which did not (and why).

        True when the caller should confirm the plain local save."""
        if self.refuses("editing budgets"):
            return False
        try:
            result = await self.feed.call(self.session.set_budget, department, amount, reason)
        except NotAvailableHere as exc:
            self.notify(str(exc), title="Cannot edit budget", severity="error", markup=False)
            return False
        finally:
            self.feed.changed()
        if result is None:
            return True
        failed = bool(result.failed)
        self.notify(
            result.message,
            title="Budget partly saved" if failed else "Budget saved",
            severity="warning" if failed else "information",
            timeout=10 if failed else 5,
            markup=False,
        )
        return False

    async def set_paused(self, agent: str, paused: bool, reason: str) -> bool:
        """Pause or resume an agent through the session (the audit trail holds who and
        why); says what happened. False when it could not."""
        if self.refuses("pausing and resuming agents"):
            return False
        try:
            message = await self.feed.call(self.session.set_paused, agent, paused, reason)
        except NotAvailableHere as exc:
            verb = "pause" if paused else "resume"
            self.notify(str(exc), title=f"Cannot {verb}", severity="error", markup=False)
            return False
        except ValueError as exc:  # a name core refuses
            self.notify(str(exc), title="Refused", severity="error", markup=False)
            return False
        finally:
            self.feed.changed()
        self.notify(message, title="Paused" if paused else "Resumed", markup=False)
        return True

    # --------------------------------------------------------------- actions
    def run_dashboard_action(self, action: str) -> None:
        """Run a dashboard key's action (from the command palette)."""
        self.run_worker(self.dashboard_screen.run_action(action), group="palette")

    def set_window(self, window: str) -> None:
        self.dashboard_screen.window = window

    def set_sort(self, index: int) -> None:
        self.dashboard_screen.sort_index = index

    def apply_theme(self, name: str) -> None:
        from werkpilot_tui.console.settings import remember_theme

        self.theme = name
        remember_theme(name)  # an explicit choice (palette), like the picker's

    def open_agent_detail(self, name: str) -> None:
        row = self.latest.agent(name) if self.latest else None
        if row is None:
            return
        from werkpilot_tui.console.screens.agent_detail import (
            AgentDetailScreen,  # deferred: start-up
        )

        self.push_screen(AgentDetailScreen(row, window=self.dashboard_screen.window))

    def action_costs(self) -> None:
        if not self.supports("costs"):
            self.notify(
                "The costs view reads a host's ledger: in fleet mode open it with "
                "`werkpilot-tui --data-dir DIR` on that host. The budget bars show the fleet.",
                title="Costs",
                severity="warning",
                markup=False,
            )
            return
        from werkpilot_tui.console.screens.costs import CostsScreen

        if not isinstance(self.screen, CostsScreen):
            self.push_screen(CostsScreen())

    def action_audit(self) -> None:
        if not self.supports("audit"):
            self.notify(
                "The audit trail is a host's own: in fleet mode open it with "
                "`werkpilot-tui --data-dir DIR` on that host, or `werkpilot-tui export "
                "--type audit` there.",
                title="Audit trail",
                severity="warning",
                markup=False,
            )
            return
        from werkpilot_tui.console.screens.audit import AuditScreen

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen())

    def action_choose_theme(self) -> None:
        from werkpilot_tui.console.screens.theme_picker import ThemePicker

        self.push_screen(ThemePicker())

    def action_help(self) -> None:
        from werkpilot_tui.console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def make_app(
    data_dir: str | os.PathLike[str] | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    watch: bool = True,
    theme: str | None = None,
    **kwargs: Any,
) -> WerkpilotApp:
    """The one factory the CLI and the tests use."""
    return WerkpilotApp(data_dir, config, clock, watch, theme, **kwargs)


def run_console(args: argparse.Namespace) -> int:
    """The default command: open the console (``--demo``: on a simulated fleet)."""
    if getattr(args, "demo", False):
        return _run_demo(args)
    read_only = True if getattr(args, "read_only", False) else None  # else [ui] read_only
    if getattr(args, "prometheus", None):
        from werkpilot_tui.console.live import host_health
        from werkpilot_tui.fleet.session import FleetSession

        try:
            session = FleetSession(args.prometheus, args.config, health=host_health)
        except ValueError as exc:  # not an http(s) URL
            from werkpilot_tui.console import splash

            splash.hide()
            print(f"werkpilot-tui: --prometheus: {exc}", file=sys.stderr)
            return 2
        fleet = make_app(
            config=args.config,
            theme=args.theme,
            watch=False,
            session=session,
            read_only=read_only,
        )
        fleet.rebuild_s = 3.0  # nothing to watch: ask Prometheus every few seconds
        fleet.run()
        return int(fleet.return_code or 0)
    app = make_app(
        data_dir=args.data_dir, config=args.config, theme=args.theme, read_only=read_only
    )
    app.run()
    return int(app.return_code or 0)


def _run_demo(args: argparse.Namespace) -> int:
    from werkpilot_tui import demo

    with demo.demo_fleet(config=args.config) as fleet:
        app = make_app(
            data_dir=fleet.data_dir,
            config=args.config,
            theme=args.theme,
            preparing=fleet.preparing,  # no dashboard of half-written history
            read_only=True if getattr(args, "read_only", False) else None,
        )
        app.run()
    return int(app.return_code or 0)


def _conforms(app: WerkpilotApp) -> ConsoleApp:
    """mypy checks here that the app is what its screens and palette ask of it."""
    return app


__all__ = ["WerkpilotApp", "make_app", "run_console"]
