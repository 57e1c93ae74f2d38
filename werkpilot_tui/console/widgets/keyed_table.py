"""A DataTable updated by diffing keyed rows: no clear-and-refill, the cursor stays put."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from werkpilot_tui.console.widgets.text import TextCell


def _signature(cell: Text) -> tuple[object, ...]:
    return (cell.plain, str(cell.style), getattr(cell, "sort_value", None), len(cell.spans))


class KeyedTable(DataTable[Text]):
    """Rows keyed by a stable id; ``sync`` applies a new list of rows in their new order.

    The cursor follows its row as rows move. With ``pin_top`` it stays on the top row
    instead until the operator moves it (keys, click or ``select_key``): the selected row is
    then always the one the operator sees highlighted at the top, not whichever row happened
    to be first in an early snapshot.
    """

    pin_top = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._signatures: dict[str, dict[str, tuple[object, ...]]] = {}
        self.cell_updates = 0  # for tests and benchmarks: cells rewritten by ``sync``
        self.cursor_moved = False  # by the operator (or ``select_key``)

    def _moved(self) -> None:
        self.cursor_moved = True

    def action_cursor_up(self) -> None:
        self._moved()
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        self._moved()
        super().action_cursor_down()

    def action_page_up(self) -> None:
        self._moved()
        super().action_page_up()

    def action_page_down(self) -> None:
        self._moved()
        super().action_page_down()

    def action_scroll_top(self) -> None:
        self._moved()
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        self._moved()
        super().action_scroll_bottom()

    def action_scroll_home(self) -> None:
        self._moved()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self._moved()
        super().action_scroll_end()

    async def _on_click(self, event: events.Click) -> None:
        self._moved()
        await super()._on_click(event)

    @property
    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return None if key.value is None else str(key.value)

    def select_key(self, key: str) -> None:
        self._moved()
        self._select(key)

    def _select(self, key: str) -> None:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, animate=False)

    @property
    def column_keys(self) -> list[str]:
        """Column keys in display order."""
        return [str(key.value) for key in self.columns]

    def room(self, rows: int) -> int:
        """Cells the columns may take with ``rows`` rows: without the vertical scrollbar's
        column when they will not all fit (0 before the first layout)."""
        width, height = self.size
        if width <= 0:
            return 0
        overflow = rows + (self.header_height if self.show_header else 0) > height
        return width - (self.styles.scrollbar_size_vertical if overflow else 0)

    def set_widths(self, widths: Mapping[str, int], padding: int | None = None) -> bool:
        """Give columns new widths (and cells new side padding); rows are not touched."""
        changed = padding is not None and padding != self.cell_padding
        if changed:
            self.cell_padding = padding  # type: ignore[assignment]
        for key, width in widths.items():
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is not None and (column.width != width or column.auto_width):
                column.width, column.auto_width = width, False
                changed = True
        if changed:
            self._require_update_dimensions = True
            self._clear_caches()
            self.refresh(layout=True)
            self.check_idle()
        return changed

    def set_columns(self, columns: Sequence[tuple[str, str, int]]) -> None:
        """Show exactly ``columns`` (key, label, width): missing ones are appended, so only
        trailing columns should come and go. Their cells are filled by the next ``sync``."""
        wanted = [key for key, _, _ in columns]
        for key in [k for k in self.column_keys if k not in wanted]:
            self.remove_column(key)
            for signature in self._signatures.values():
                signature.pop(key, None)
        for key, label, width in columns:
            if key not in self.columns:
                self.add_column(label, key=key, width=width)

    def sync(
        self, rows: Sequence[tuple[str, Sequence[TextCell]]], keys: Sequence[str] | None = None
    ) -> None:
        """Make the table show ``rows`` (in this order), touching only what changed.

        A row's cells belong to the column ``keys`` (default: the columns shown); cells of
        columns not shown are left out.
        """
        selected = self.selected_key
        shown = self.column_keys
        keys = shown if keys is None else list(keys)
        wanted = {key for key, _ in rows}
        for gone in [k for k in self._signatures if k not in wanted]:
            self.remove_row(gone)
            del self._signatures[gone]
        added = False
        for key, cells in rows:
            by_column = dict(zip(keys, _keyed(cells, key), strict=True))
            signature = {c: _signature(by_column[c]) for c in shown}
            old = self._signatures.get(key)
            if old is None:
                self.add_row(*(by_column[c] for c in shown), key=key)
                added = True
            else:
                for column in shown:
                    if old.get(column) != signature[column]:
                        self.update_cell(key, column, by_column[column])
                        self.cell_updates += 1
            self._signatures[key] = signature
        order = [key for key, _ in rows]
        if added or self.row_keys != order:
            rank = {key: i for i, key in enumerate(order)}
            self.sort(shown[0], key=lambda first: rank[first.row_key])
        if self.pin_top and not self.cursor_moved:
            if self.row_count and self.cursor_row != 0:
                self.move_cursor(row=0, animate=False)
        elif selected is not None and selected in wanted:
            self._select(selected)


def _keyed(cells: Sequence[TextCell], key: str) -> list[TextCell]:
    """The cells with the row key attached to the first one (used to order rows)."""
    first = cells[0]
    first.row_key = key  # type: ignore[attr-defined]
    return [first, *cells[1:]]
