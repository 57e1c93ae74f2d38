"""A DataTable updated by diffing keyed rows: no clear-and-refill, the cursor stays put."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from werkpilot_tui.widgets.text import Cell


def _signature(cell: Text) -> tuple[object, ...]:
    return (cell.plain, str(cell.style), getattr(cell, "sort_value", None), len(cell.spans))


class KeyedTable(DataTable[Text]):
    """Rows keyed by a stable id; ``sync`` applies a new list of rows in their new order."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._signatures: dict[str, tuple[tuple[object, ...], ...]] = {}
        self.cell_updates = 0  # for tests and benchmarks: cells rewritten by ``sync``

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
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, animate=False)

    def sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Make the table show ``rows`` (in this order), touching only what changed."""
        selected = self.selected_key
        wanted = {key for key, _ in rows}
        columns = list(self.columns)
        for gone in [k for k in self._signatures if k not in wanted]:
            self.remove_row(gone)
            del self._signatures[gone]
        added = False
        for key, cells in rows:
            signature = tuple(_signature(c) for c in cells)
            old = self._signatures.get(key)
            if old is None:
                self.add_row(*_keyed(cells, key), key=key)
                added = True
            elif old != signature:
                for i, (before, after) in enumerate(zip(old, signature, strict=True)):
                    if before != after:
                        value = _keyed(cells, key)[0] if i == 0 else cells[i]
                        self.update_cell(key, columns[i], value)
                        self.cell_updates += 1
            self._signatures[key] = signature
        order = [key for key, _ in rows]
        if added or self.row_keys != order:
            rank = {key: i for i, key in enumerate(order)}
            self.sort(columns[0], key=lambda first: rank[first.row_key])
        if selected is not None and selected in wanted:
            self.select_key(selected)


def _keyed(cells: Sequence[Cell], key: str) -> list[Cell]:
    """The cells with the row key attached to the first one (used to order rows)."""
    first = cells[0]
    first.row_key = key  # type: ignore[attr-defined]
    return [first, *cells[1:]]
