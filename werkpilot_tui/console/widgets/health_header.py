"""The health header: system-wide figures, host health and data freshness."""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from werkpilot_tui.console.view_models import LEVELS, Dashboard
from werkpilot_tui.console.widgets import format as fmt
from werkpilot_tui.console.widgets.palette import LEVEL_SYMBOL, LEVEL_WORD, Palette
from werkpilot_tui.console.widgets.text import neutralise

_SEP = " │ "


#: Below this many cells the header uses short labels and leaves out figures shown elsewhere.
NARROW_BELOW = 110


class HealthHeader(Widget):
    """Two lines of figures; every alarming figure gets a symbol as well as a colour.

    Figures that move (CPU, durations, times) have fixed widths and a line that is still too
    long is cut, never wrapped: the header's height, and so the layout below it, never jumps.
    """

    DEFAULT_CSS = """
    HealthHeader {
        height: auto;
        max-height: 4;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._last = Text("Loading…")
        self._shown: tuple[Dashboard, int, Palette] | None = None
        #: ``--read-only`` / ``[ui] read_only``: said on the second line, in words.
        self.read_only = False

    @property
    def text(self) -> str:
        """The header as plain text (what the operator reads)."""
        return self._last.plain

    def render(self) -> Text:
        return self._last

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, dashboard: Dashboard, now_ms: int, palette: Palette) -> None:
        self._shown = (dashboard, now_ms, palette)
        text = render_header(
            dashboard, now_ms, palette, self.content_size.width, read_only=self.read_only
        )
        if text == self._last:  # repaint only when a figure or style changed
            return
        # Same height: repaint this widget only, without a layout pass over the screen.
        relayout = len(text.plain.split("\n")) != len(self._last.plain.split("\n"))
        self._last = text
        self.refresh(layout=relayout)


def open_alerts_text(open_alerts: Mapping[str, int]) -> list[tuple[str, str | None]]:
    """Open alerts worst level first, each with its symbol, count and word: ✖ 2 crit ▲ 4 warn."""
    parts: list[tuple[str, str | None]] = [
        (f"{LEVEL_SYMBOL[lv]} {open_alerts[lv]} {LEVEL_WORD[lv].lower()}", lv)
        for lv in reversed(LEVELS)
        if open_alerts.get(lv)
    ]
    return parts or [("✔ 0", None)]


def render_header(
    d: Dashboard, now_ms: int, palette: Palette, width: int = 0, *, read_only: bool = False
) -> Text:
    """The header for ``width`` cells (0: not known, the wide form); ``read_only``: the
    console refuses every action key, which the second line says first (reverse video)."""
    h, host = d.health, d.host
    narrow = 0 < width < NARROW_BELOW
    lines: list[Text] = [Text(), Text()]

    def part(
        line: int,
        label: str,
        value: str,
        style: Style | str = "",
        level: str | None = None,
        fixed: bool = False,
    ) -> None:
        out = lines[line]
        if out.plain:
            out.append(_SEP, palette.muted)
        out.append(f"{label} ", palette.muted)
        if level:
            value = f"{LEVEL_SYMBOL[level]} {value}"
        elif fixed:  # the symbol's room stays: nothing after it moves when it comes and goes
            value += "  "
        out.append(value, style)

    part(0, "exec/h", fmt.count(h.executions_per_hour).ljust(4))
    err_level = h.error_level
    err = fmt.percent(h.error_rate).ljust(5)
    part(0, "err 1h", err, palette.level(err_level), err_level, fixed=True)
    slow = h.slow_level
    avg = fmt.duration_ms(h.avg_response_ms).ljust(5)
    part(0, "avg", avg, palette.level(slow), slow, fixed=True)
    ratio = h.cost_today / h.daily_budget if h.daily_budget else 0.0
    cost_level = h.cost_level
    part(
        0,
        "today",
        f"{fmt.money(h.cost_today)}/{fmt.money(h.daily_budget)} ({ratio * 100:.0f}%)",
        palette.level(cost_level),
        cost_level,
    )
    alerts = lines[1]
    if read_only:  # first, so no width cuts it off
        alerts.append("READ-ONLY", Style(bold=True, reverse=True))
        alerts.append(_SEP, palette.muted)
    alerts.append("alerts " if narrow else "open alerts ", palette.muted)
    for i, (words, level) in enumerate(open_alerts_text(h.open_alerts)):
        alerts.append((" " if i else "") + words, palette.level(level) if level else palette.ok)
    cpu = "—" if host.cpu_percent is None else f"{host.cpu_percent:.0f}%"
    part(1, "CPU", cpu.ljust(4))
    if not (narrow and read_only):  # its room goes to READ-ONLY on a small terminal
        part(1, "mem", f"{fmt.size_bytes(host.memory_used)}/{fmt.size_bytes(host.memory_total)}")
    part(1, "data", fmt.ago(d.last_change_ms, now_ms).ljust(9))
    if not narrow:  # the agents table shows both well enough on a small terminal
        part(1, "up", fmt.span(h.uptime_ms).ljust(5))
        part(1, "agents", str(h.agent_count))
    if d.problem_count or d.error:  # a third line, only while there is a problem
        lines.append(Text())
        if d.problem_count:
            part(2, "malformed lines", str(d.problem_count), palette.warning, "warning")
        if d.error:
            part(2, "error", neutralise(d.error)[:120], palette.critical, "critical")
    if width > 0:  # cut, never wrapped: the header's height stays the number of lines
        for line in lines:
            line.rstrip()
            line.truncate(width, overflow="ellipsis")
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
