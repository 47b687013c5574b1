"""Data management > Data sources: every imported data source, or how to add the first."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.data_sources import DataSourcesService, DataSourceSummary
from desktop.store.models import DataSourceStatus
from desktop.views.formatting import relative_time
from desktop.views.widgets import EmptyState, Page, primary_button

STATUS_TEXT = {
    DataSourceStatus.NEW: "Waiting for first import",
    DataSourceStatus.SYNCING: "Syncing…",
    DataSourceStatus.UP_TO_DATE: "Up to date",
    DataSourceStatus.FAILED: "Failed",
    DataSourceStatus.NEEDS_RECONNECT: "Needs reconnect",
    DataSourceStatus.NOT_PERMITTED: "Not permitted",
}

Index = QModelIndex | QPersistentModelIndex


class DataSourcesTableModel(QAbstractTableModel):
    COLUMNS = ("Title", "Type", "Account", "Mode", "Registrations", "Last update", "Status")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[DataSourceSummary] = []

    def set_rows(self, rows: list[DataSourceSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def summary(self, row: int) -> DataSourceSummary:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == 6:
            return row.status_message or STATUS_TEXT.get(row.status, row.status)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    @staticmethod
    def _display(row: DataSourceSummary, column: int) -> str:
        if column == 0:
            return row.title
        if column == 1:
            return row.type_name
        if column == 2:
            return row.account_name
        if column == 3:
            mode = "Live" if row.livemode else "Test"
            return f"{mode} + sample" if row.includes_test_data else mode
        if column == 4:
            return f"{row.registrations:,}"
        if column == 5:
            return relative_time(row.last_synced_at)
        return STATUS_TEXT.get(row.status, row.status)


class DataSourcesPage(Page):
    new_data_source_requested = Signal()

    def __init__(self, service: DataSourcesService, parent: QWidget | None = None) -> None:
        super().__init__("Data sources", "Stripe data imported to this computer", parent)
        self._service = service
        self.new_button = primary_button("New data source", "plus")
        self.new_button.setToolTip("Connect a Stripe account and import data (Ctrl+N)")
        self.new_button.clicked.connect(self.new_data_source_requested)
        self.header.add_action(self.new_button)

        self.stack = QStackedWidget()
        self.empty_state = EmptyState(
            "data-sources",
            "No data sources yet",
            "Connect your Stripe account to import charges, customers, invoices and six more "
            "data types. Everything is stored on this computer and kept up to date in the "
            "background.",
            hint="Ledgerboard only reads from Stripe: it never changes anything in your account.",
        )
        self.empty_button = primary_button("New data source", "plus")
        self.empty_button.clicked.connect(self.new_data_source_requested)
        self.empty_state.add_button(self.empty_button)
        self.stack.addWidget(self.empty_state)

        self.model = DataSourcesTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setShowGrid(False)
        table_holder = QWidget()
        holder_layout = QVBoxLayout(table_holder)
        holder_layout.setContentsMargins(28, 20, 28, 20)
        holder_layout.addWidget(self.table)
        self.stack.addWidget(table_holder)
        self.set_body(self.stack)
        self.create_buttons = [self.new_button, self.empty_button]

    def refresh(self) -> None:
        rows = self._service.summaries()
        self.model.set_rows(rows)
        self.stack.setCurrentIndex(1 if rows else 0)
