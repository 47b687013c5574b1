"""The registrations of one data source as a table model that reads pages lazily from SQL."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from zoneinfo import ZoneInfo

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.catalog import Kind
from desktop.services.query import FieldRef
from desktop.services.reading import Reading, read
from desktop.services.registrations import RegistrationQuery
from desktop.views.formatting import field_value_text, money, number, timestamp
from desktop.views.widgets import ShortTextRole, plain_tooltip

Index = QModelIndex | QPersistentModelIndex
RawRole = Qt.ItemDataRole.UserRole  # the stored value, for sorting and copying
PkRole = Qt.ItemDataRole.UserRole + 1
CACHED_PAGES = 64


class RegistrationsTableModel(QAbstractTableModel):
    """Only the counts are read up front; rows arrive a page at a time as they are shown.

    `reader`, when set, refreshes a query that reads every row instead (a search, say: on a
    million rows it takes seconds), so the owner reads it on a worker and gives the model the
    Reading (`apply`)."""

    def __init__(self, query: RegistrationQuery, time_zone: str, parent=None) -> None:
        super().__init__(parent)
        self.query = query
        self.zone = ZoneInfo(time_zone)
        self.columns: list[FieldRef] = []
        self.count = 0
        self.total = 0
        self._pages: OrderedDict[int, list[tuple]] = OrderedDict()
        self.reader: Callable[[], None] | None = None
        self.moot: Callable[[], None] | None = None  # told when a reading on a worker is moot
        self._total_known = False

    def known_total(self) -> int | None:
        """The data source's rows, unless they may have changed since they were counted."""
        return self.total if self._total_known else None

    def refresh(self, *, data_changed: bool = False) -> None:
        """Re-read the columns and counts after filters, search or the columns changed; with
        `data_changed` (a sync stored rows) the data source's total is counted again too."""
        if data_changed:
            self._total_known = False
        if self.reader is not None and self.query.reads_every_row():
            self.reader()
            return
        if self.moot is not None:
            self.moot()
        # May raise FilterError: before the model starts changing.
        self.apply(read(self.query, total=self.known_total()))

    def apply(self, reading: Reading) -> None:
        self.beginResetModel()
        self.columns, self.count, self.total = reading.columns, reading.count, reading.total
        self._total_known = True
        self._pages = OrderedDict(sorted(reading.pages.items()))
        self.endResetModel()

    # --- Qt's model interface ---

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            column = self.columns[section]
            by_currency = column.key == self.query.sort_key and self.query.sorts_by_currency()
            if role == Qt.ItemDataRole.DisplayRole:
                # Said where the eye is: the order is by currency first.
                return f"{column.label} · by currency" if by_currency else column.label
            if role == Qt.ItemDataRole.ToolTipRole:  # a key found in Stripe's data, as it is
                order = "\nSorted by currency, then amount" if by_currency else ""
                return plain_tooltip(column.key + order)
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return self._alignment(column)  # over its cells, not centred
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < self.count:
            return None
        row = self._row(index.row())
        if row is None:
            return None
        column = self.columns[index.column()]
        value = row[2 + index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(column, value, row[1])
        if role == ShortTextRole and column.kind is Kind.MONEY and isinstance(value, int):
            return money(value, row[1], compact=True)
        if role == RawRole:
            return value
        if role == PkRole:
            return row[0]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(column)
        return None

    @staticmethod
    def _alignment(column: FieldRef) -> int:
        side = (
            Qt.AlignmentFlag.AlignRight
            if column.kind in (Kind.MONEY, Kind.NUMBER)
            else Qt.AlignmentFlag.AlignLeft
        )
        return int(side | Qt.AlignmentFlag.AlignVCenter)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        key, descending = self.columns[column].key, order == Qt.SortOrder.DescendingOrder
        if (key, descending) == (self.query.sort_key, self.query.descending):
            return  # QTableView.sortByColumn asks twice
        self.query.sort_key, self.query.descending = key, descending
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if self.reader is not None and self.query.reads_every_row():
            self.refresh()  # its rows are read again, in the new order, on a worker
            return
        # The same rows in another order: the counts stand (on a million rows, counting them
        # again took as long as the sort), only the pages read so far are dropped.
        if self.moot is not None:
            self.moot()
        self.beginResetModel()
        self._pages.clear()
        self.endResetModel()

    # --- rows ---

    def pk_at(self, row: int) -> int | None:
        found = self._row(row)
        return found[0] if found else None

    def _row(self, row: int) -> tuple | None:
        page = row // RegistrationQuery.PAGE
        rows = self._pages.get(page)
        if rows is None:
            rows = self.query.fetch(
                page * RegistrationQuery.PAGE,
                RegistrationQuery.PAGE,
                self.columns,
                total=self.count,
            )
            self._pages[page] = rows
            if len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        offset = row % RegistrationQuery.PAGE
        return rows[offset] if offset < len(rows) else None

    def display(self, column: FieldRef, value, currency) -> str:
        """A stored value as the table shows it (the detail pane uses it too)."""
        if value is None:
            return ""
        if column.kind is Kind.MONEY and isinstance(value, int):
            return money(value, currency)
        if column.kind is Kind.DATETIME and isinstance(value, int | float):
            return timestamp(value, self.zone)
        if column.kind is Kind.BOOL:
            return "True" if value in (1, True, "1", "true") else "False"
        if column.kind is Kind.NUMBER and isinstance(value, float) and value.is_integer():
            return number(int(value))
        return field_value_text(column.key, value, choice=column.kind is Kind.ENUM)
