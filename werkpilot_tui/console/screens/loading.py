"""A screen that shows a view model loaded off the event loop, reloading on data changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from werkpilot_tui.console.messages import DataChanged
from werkpilot_tui.console.session import NotAvailableHere, Session
from werkpilot_tui.console.widgets.palette import Palette

V = TypeVar("V")
#: Builds the screen's view model, typically on the console's core thread.
Loader = Callable[[], Awaitable[V]]


async def call_session(app: Any, ask: Callable[[Session], V]) -> V:
    """``ask(app.session)`` on the console's core thread (``app.feed.call``).

    Core objects are not thread-safe; the app's live feed owns the one thread that may
    touch them, so screens borrow it instead of building their own components. A view the
    session does not offer raises ``NotAvailableHere``, which the screen shows.
    """
    result: V = await app.feed.call(ask, session_of(app))
    return result


def session_of(app: Any) -> Session:
    """The app's session (screens are given the bare ``App``, whose type does not say)."""
    session: Session = app.session
    return session


class LoadingScreen(Screen[None], Generic[V]):
    """Loads its view with ``loader`` on mount and on every ``DataChanged`` the app hands on.

    The app sends a snapshot after every write and every few seconds anyway (windows slide),
    so a screen needs no timer of its own (``refresh_s``: one more, for callers without the
    app's feed). Reloads are coalesced without cancelling: a reload asked for while one
    runs makes that load go round once more when it is done. (Cancelling the running load
    instead never stops the work on the core thread, and under a steady stream of writes it
    cancelled every load before it could show anything.)
    """

    def __init__(
        self,
        loader: Loader[V],
        *,
        refresh_s: float | None = None,
        builder: Callable[[], V] | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.loader = loader
        #: The view built on the core thread (no awaiting): given to the app's live feed, it
        #: is built in the same pass as each snapshot and arrives with its DataChanged.
        self.builder = builder
        self._asked = 0  # reloads asked for: a view built before the latest one is stale
        self.refresh_s = refresh_s
        self.view: V | None = None
        self.loads = 0
        self._timer: Timer | None = None
        self._loading = False
        self._again = False

    def on_mount(self) -> None:
        self._start_load()
        if self.refresh_s:
            self._timer = self.set_interval(self.refresh_s, self.reload)
        follow = getattr(getattr(self.app, "feed", None), "follow", None)
        if self.builder is not None and follow is not None:
            build = self.builder
            follow(self, lambda: (self._asked, build()))

    def on_unmount(self) -> None:
        unfollow = getattr(getattr(self.app, "feed", None), "unfollow", None)
        if unfollow is not None:
            unfollow(self)

    def on_data_changed(self, message: DataChanged) -> None:
        built = message.views.get(self)
        if not isinstance(built, tuple) or built[0] != self._asked or self._loading:
            self.reload()  # not built with the snapshot, failed, stale or a load is running
        elif self.is_mounted and self.is_open:
            self.loads += 1
            self.view = built[1]
            self.show(built[1])

    @property
    def is_open(self) -> bool:
        """Running and still on the app's screen stack (not dismissed or closing)."""
        return self.is_running and self in self.app.screen_stack

    def reload(self) -> None:
        """Build the view again (the app calls this when data changed).

        Ignored before the screen is mounted (mounting loads it) and once it is closing (a
        timer tick or a DataChanged that raced with the close).
        """
        if not (self.is_mounted and self.is_open):
            return
        self._asked += 1
        if self._loading:
            self._again = True  # the running load goes round once more
        else:
            self._start_load()

    def tick(self) -> None:
        """Clock-driven text (\"3 s ago\") from the view already built; no core call."""
        if self.view is not None and self.is_mounted and self.is_open:
            self.show_clock(self.view)

    def show_clock(self, view: V) -> None:
        """Redraw what depends only on the clock (nothing by default)."""

    def _start_load(self) -> None:
        # The worker gets the coroutine *function*: it creates the coroutine only when it
        # runs, so a worker cancelled before it starts (the screen closed) leaves no
        # coroutine behind that was never awaited.
        self._loading = True
        self.run_worker(
            self._load,  # type: ignore[arg-type]  # Textual's stubs expect Never for generics
            exclusive=True,
            group="view",
            exit_on_error=False,
        )

    async def _load(self) -> V | None:
        try:
            while True:
                self._again = False
                view = await self.loader()
                if not self.is_open:
                    return None  # closed while the view was being built: nowhere to show it
                self.loads += 1
                self.view = view
                self.show(view)
                if not self._again:
                    return view
        finally:
            self._loading = False

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
