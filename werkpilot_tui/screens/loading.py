"""A screen that shows a view model loaded off the event loop, reloading on data changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from werkpilot_tui.messages import DataChanged
from werkpilot_tui.session import NotAvailableHere, Session
from werkpilot_tui.widgets.palette import Palette

V = TypeVar("V")
#: Builds the screen's view model, typically on the console's core thread.
Loader = Callable[[], Awaitable[V]]


async def call_session(app: Any, ask: Callable[[Session], V]) -> V:
    """``ask(app.session)`` on the console's core thread (``app.feed.call``).

    Core objects are not thread-safe; the app's live feed owns the one thread that may
    touch them, so screens borrow it instead of building their own components. A view the
    session does not offer raises ``NotAvailableHere``, which the screen shows.
    """
    session: Session = app.session
    result: V = await app.feed.call(ask, session)
    return result


class LoadingScreen(Screen[None], Generic[V]):
    """Loads its view with ``loader`` on mount, on ``DataChanged`` and every ``refresh_s``.

    Reloads are coalesced: a new one replaces a pending one (exclusive worker group), so a
    burst of writes costs one build.
    """

    def __init__(
        self,
        loader: Loader[V],
        *,
        refresh_s: float | None = 2.0,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.loader = loader
        self.refresh_s = refresh_s
        self.view: V | None = None
        self.loads = 0
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self._start_load()
        if self.refresh_s:
            self._timer = self.set_interval(self.refresh_s, self.reload)

    def on_data_changed(self, _message: DataChanged) -> None:
        self.reload()

    @property
    def is_open(self) -> bool:
        """Running and still on the app's screen stack (not dismissed or closing)."""
        return self.is_running and self in self.app.screen_stack

    def reload(self) -> None:
        """Build the view again (the app calls this when data changed).

        Ignored before the screen is mounted (mounting loads it) and once it is closing (a
        timer tick or a DataChanged that raced with the close).
        """
        if self.is_mounted and self.is_open:
            self._start_load()

    def _start_load(self) -> None:
        # The worker gets the coroutine *function*: it creates the coroutine only when it
        # runs, so a worker cancelled before it starts (a newer reload replaced it, or the
        # screen closed) leaves no coroutine behind that was never awaited.
        self.run_worker(
            self._load,  # type: ignore[arg-type]  # Textual's stubs expect Never for generics
            exclusive=True,
            group="view",
            exit_on_error=False,
        )

    async def _load(self) -> V | None:
        view = await self.loader()
        if not self.is_open:
            return None  # closed while the view was being built: nothing to show it in
        self.loads += 1
        self.view = view
        self.show(view)
        return view

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group == "view":
            error = event.worker.error
            if isinstance(error, NotAvailableHere):
                self.show_error(str(error))
            else:
                self.show_error(f"{type(error).__name__}: {error}")

    @property
    def palette(self) -> Palette:
        """Styles from the current theme's variables."""
        return Palette.from_variables(self.app.theme_variables)

    def show(self, view: V) -> None:
        """Put ``view`` on the screen (main thread)."""
        raise NotImplementedError

    def show_error(self, message: str) -> None:
        self.notify(message, title="Could not load", severity="error", markup=False)
