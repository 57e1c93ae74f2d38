"""The first screen: what the console is reading until its first complete snapshot.

Shown from the first frame, so a long start (a week of history without a checkpoint, the
demo writing its backfill) never looks like a hung terminal, and the dashboard never shows
figures built from part of the data as if they were final.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from werkpilot_tui.console.live import StartupStep
from werkpilot_tui.console.widgets.text import neutralise

POLL_S = 0.1


class StartupScreen(Screen[None]):
    """Polls ``status`` (cheap, thread-safe) a few times a second; the app replaces this
    screen with the dashboard when the first complete snapshot arrives."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]
    DEFAULT_CSS = """
    StartupScreen { align: center middle; }
    StartupScreen > Vertical {
        width: 72; max-width: 100%; height: auto;
        border: round $primary; padding: 0 1;
    }
    StartupScreen #startup-title { text-style: bold; }
    StartupScreen #startup-step { width: 100%; color: $text-muted; }
    StartupScreen ProgressBar { width: 100%; }
    StartupScreen Bar { width: 1fr; }
    """

    def __init__(self, status: Callable[[], StartupStep]) -> None:
        super().__init__(id="startup")
        self.status = status
        self.shown: StartupStep | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("werkpilot · starting"), id="startup-title")
            yield Static(Text(""), id="startup-step")
            yield ProgressBar(total=100, show_eta=False, id="startup-progress")
        yield Footer()

    def on_mount(self) -> None:
        self.poll()
        self.set_interval(POLL_S, self.poll)

    def poll(self) -> None:
        step = self.status()
        if step == self.shown:
            return
        self.shown = step
        self.query_one("#startup-step", Static).update(Text(neutralise(step.text) + "…"))
        bar = self.query_one(ProgressBar)
        bar.display = step.fraction is not None
        if step.fraction is not None:
            bar.update(progress=round(100 * max(0.0, min(1.0, step.fraction))))

    @property
    def step_text(self) -> str:
        """The step as shown (for tests)."""
        return str(self.query_one("#startup-step", Static).render())
