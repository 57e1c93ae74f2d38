"""The health header: system-wide figures, host health and data freshness."""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from werkpilot_tui.view_models import Dashboard
from werkpilot_tui.widgets import format as fmt
from werkpilot_tui.widgets.palette import LEVEL_SYMBOL, Palette
from werkpilot_tui.widgets.text import neutralise

_SEP = " │ "


class HealthHeader(Widget):
    """Two lines of figures; every alarming figure gets a symbol as well as a colour."""

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

    @property
    def text(self) -> str:
        """The header as plain text (what the operator reads)."""
        return self._last.plain

    def render(self) -> Text:
        return self._last

    def show(self, dashboard: Dashboard, now_ms: int, palette: Palette) -> None:
        text = render_header(dashboard, now_ms, palette)
        if text == self._last:  # repaint only when a figure or style changed
            return
        # Same height: repaint this widget only, without a layout pass over the screen.
        relayout = self._height(text) != self._height(self._last)
        self._last = text
        self.refresh(layout=relayout)

    def _height(self, text: Text) -> int:
        width = max(1, self.content_size.width)
        return sum(-(-max(1, cell_len(line)) // width) for line in text.plain.split("\n"))


def render_header(d: Dashboard, now_ms: int, palette: Palette) -> Text:
    h, t, host = d.health, d.thresholds, d.host
    out = Text(no_wrap=False, overflow="fold")

    def part(label: str, value: str, style: Style | str = "", level: str | None = None) -> None:
        if out.plain and not out.plain.endswith("\n"):
            out.append(_SEP, palette.muted)
        out.append(f"{label} ", palette.muted)
        if level:
            value = f"{LEVEL_SYMBOL[level]} {value}"
        out.append(value, style)

    part("exec/h", fmt.count(h.executions_per_hour))
    err_level = _level(h.error_rate, t.error_rate_warning, t.error_rate_critical)
    part("err 1h", fmt.percent(h.error_rate), palette.level(err_level), err_level)
    slow = "warning" if h.avg_response_ms > t.response_time_warning_ms else None
    part("avg", fmt.duration_ms(h.avg_response_ms), palette.level(slow), slow)
    ratio = h.cost_today / h.daily_budget if h.daily_budget else 0.0
    cost_level = "critical" if ratio > 1 else "warning" if ratio >= 0.9 else None
    part(
        "today",
        f"{fmt.money(h.cost_today)}/{fmt.money(h.daily_budget)} ({ratio * 100:.0f}%)",
        palette.level(cost_level),
        cost_level,
    )
    out.append("\n")
    part("up", fmt.span(h.uptime_ms))
    part("data", fmt.ago(d.last_change_ms, now_ms))
    part("agents", str(h.agent_count))
    if h.unacknowledged:
        part("open alerts", str(h.unacknowledged), palette.warning, "warning")
    else:
        part("open alerts", "0", palette.ok)
    part("CPU", f"{host.cpu_percent:.0f}%")
    part("mem", f"{fmt.size_bytes(host.memory_used)}/{fmt.size_bytes(host.memory_total)}")
    if d.problem_count:
        part("malformed lines", str(d.problem_count), palette.warning, "warning")
    if d.error:
        part("error", neutralise(d.error)[:120], palette.critical, "critical")
    return out


def _level(value: float, warning: float, critical: float) -> str | None:
    if value > critical:
        return "critical"
    if value > warning:
        return "warning"
    return None
