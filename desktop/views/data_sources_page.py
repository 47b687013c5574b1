"""Data management > Data sources: every imported data source, or how to add the first."""

from __future__ import annotations

import datetime as dt
import logging

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.data_sources import DataSourcesService, DataSourceStatus, DataSourceSummary
from desktop.services.tasks import Runner
from desktop.views.formatting import frequency_text, number, relative_time, timestamp
from desktop.views.widgets import EmptyState, Page, confirm, plain_tooltip, primary_button

log = logging.getLogger(__name__)

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
    # The type shows in the title's tooltip: the title repeats it unless the user renamed it.
    COLUMNS = ("Title", "Account", "Mode", "Registrations", "Updated", "Status")
    ACCOUNT = COLUMNS.index("Account")
    REGISTRATIONS = COLUMNS.index("Registrations")
    STATUS = COLUMNS.index("Status")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[DataSourceSummary] = []
        # Data source id -> a sync under way: (its share and time left, the whole story).
        self._progress: dict[int, tuple[str, str]] = {}
        # Data source id -> registrations counted last, and whether it had been synced then.
        self._counts: dict[int, tuple[int, bool]] = {}

    def set_rows(self, rows: list[DataSourceSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._progress = {}
        self.endResetModel()

    def set_progress(self, ds_ids: list[int], short: str, text: str) -> None:
        """While a sync runs: its share done and time left in the Status column ('42 % ·
        3 min left', or its phase while unknown), the phase and rows in its tooltip."""
        for row, summary in enumerate(self._rows):
            if summary.id in ds_ids:
                self._progress[summary.id] = (short, text)
                index = self.index(row, self.STATUS)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])

    def set_counts(self, counts: dict[int, int], counted: list[DataSourceSummary]) -> None:
        """Counts of the data sources as `counted` describes them."""
        synced = {summary.id: summary.last_synced_at is not None for summary in counted}
        self._counts.update((ds_id, (n, synced.get(ds_id, False))) for ds_id, n in counts.items())
        if self._rows:
            self.dataChanged.emit(
                self.index(0, self.REGISTRATIONS),
                self.index(len(self._rows) - 1, self.REGISTRATIONS),
                [Qt.ItemDataRole.DisplayRole],
            )

    def registrations(self, summary: DataSourceSummary) -> int | None:
        """Its count when the summary has one, or else the last one counted (no flicker while
        a sync's new count is on its way); None (shown "…") until counted, and while a first
        import has finished since the last count, which said nothing about it (0, beside
        "Up to date")."""
        if summary.registrations is not None:
            return summary.registrations
        count, was_synced = self._counts.get(summary.id, (None, False))
        if count is not None and not was_synced and summary.last_synced_at is not None:
            return None
        return count

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
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(section)  # over its cells, not centred over a wide Status
        return None

    def _alignment(self, column: int) -> int:
        side = (
            Qt.AlignmentFlag.AlignRight
            if column == self.REGISTRATIONS
            else Qt.AlignmentFlag.AlignLeft
        )
        return int(side | Qt.AlignmentFlag.AlignVCenter)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.STATUS and row.id in self._progress:
                return self._progress[row.id][0]
            if column == self.REGISTRATIONS:
                count = self.registrations(row)
                return "…" if count is None else number(count)
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.STATUS:
            if row.id in self._progress:
                return self._progress[row.id][1]
            return plain_tooltip(row.status_message or STATUS_TEXT.get(row.status, row.status))
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return plain_tooltip(f"{row.title}\nData type: {row.type_name}")
        if role == Qt.ItemDataRole.ToolTipRole and column == self.ACCOUNT:
            return plain_tooltip(row.account_name)
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            last = row.last_synced_at
            when = timestamp(last.replace(tzinfo=dt.UTC).timestamp(), None) if last else "Never"
            return f"Last updated: {when}\nUpdates {frequency_text(row.update_frequency).lower()}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(column)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    @staticmethod
    def _display(row: DataSourceSummary, column: int) -> str:
        if column == 0:
            return row.title
        if column == 1:
            return row.account_name
        if column == 2:
            mode = "Live" if row.livemode else "Test"
            return f"{mode} + sample" if row.includes_test_data else mode
        if column == 4:  # when it last updated, and how often it does
            return (
                f"{relative_time(row.last_synced_at)} · "
                f"{frequency_text(row.update_frequency, short=True)}"
            )
        return STATUS_TEXT.get(row.status, row.status)


class DataSourcesPage(Page):
    new_data_source_requested = Signal()
    open_requested = Signal(int)  # data source id
    sync_requested = Signal(int)
    delete_requested = Signal(int)  # confirmed by the user
    reset_requested = Signal(int)  # confirmed by the user
    settings_requested = Signal(int)

    def __init__(
        self,
        service: DataSourcesService,
        parent: QWidget | None = None,
        *,
        runner: Runner | None = None,
    ) -> None:
        super().__init__("Data sources", "Stripe data imported to this computer", parent)
        self._service = service
        # Counting a large account's registrations takes hundreds of milliseconds (~50 a
        # million rows), and the list refreshes after every sync: counted on a worker, the
        # last counts shown meanwhile. Without it (scripts), counted here.
        self._runner = runner.for_view(self) if runner is not None else None
        self.new_button = primary_button("New data source", "plus")
        self.new_button.setToolTip("Connect a Stripe account and import data (Ctrl+N)")
        self.new_button.clicked.connect(self.new_data_source_requested)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show the registrations (Enter, or double-click a row)")
        self.open_button.clicked.connect(lambda: self._emit_for_selected(self.open_requested))
        self.sync_button = QPushButton("Sync now")
        self.sync_button.clicked.connect(lambda: self._emit_for_selected(self.sync_requested))
        self.settings_button = QPushButton("Settings…")
        self.settings_button.clicked.connect(
            lambda: self._emit_for_selected(self.settings_requested)
        )
        self.reset_button = QPushButton("Re-import…")
        self.reset_button.setToolTip("Delete all registrations and import them again")
        self.reset_button.clicked.connect(self._confirm_reset)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self._confirm_delete)
        self.row_buttons = (
            self.open_button,
            self.sync_button,
            self.settings_button,
            self.reset_button,
            self.delete_button,
        )
        for button in self.row_buttons:
            button.setEnabled(False)
            self.header.add_action(button)
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
        self.table.setAccessibleName("Data sources")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self._size_columns()
        # The Account column gives way first, on a resize or when another column's width
        # changes (the registrations counted, a sync's progress).
        self.table.installEventFilter(self)
        self.table.horizontalHeader().sectionResized.connect(self._other_column_resized)
        self.table.setShowGrid(False)
        table_holder = QWidget()
        holder_layout = QVBoxLayout(table_holder)
        holder_layout.setContentsMargins(28, 20, 28, 20)
        holder_layout.addWidget(self.table)
        self.table.doubleClicked.connect(self._open_row)
        self.table.activated.connect(self._open_row)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.stack.addWidget(table_holder)
        self.set_body(self.stack)
        self.create_buttons = [self.new_button, self.empty_button]

    def _size_columns(self) -> None:
        """Each column fits its contents, but for the Title, which takes the room left (ending
        in "…" in a narrow window, whole in its tooltip), and Status, as wide as its longest
        word: its text changes ten times a second while a sync runs, and fitting it measured
        every cell of the table again at each change (about 80 calls into Python, each of which
        waited for the sync's threads to let go of the GIL)."""
        header = self.table.horizontalHeader()
        for column in range(len(DataSourcesTableModel.COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(DataSourcesTableModel.STATUS, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(DataSourcesTableModel.ACCOUNT, QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)

    def _fit_account(self) -> None:
        """The Account column as wide as its longest name where the window has the room, and
        narrower (its names ending in "…", whole in their tooltips) before the Title is: a
        long business name beside a sync's "42 % · 3 min left" had left a 1024 px window
        reading "Stripe …" for every title. Never narrower than its heading."""
        header = self.table.horizontalHeader()
        account = DataSourcesTableModel.ACCOUNT
        wanted = max(self.table.sizeHintForColumn(account), header.sectionSizeHint(account))
        others = sum(
            header.sectionSize(column)
            for column in range(len(DataSourcesTableModel.COLUMNS))
            if column not in (0, account)
        )
        title = max(self.table.sizeHintForColumn(0), header.sectionSizeHint(0))
        room = self.table.viewport().width() - others - title
        header.resizeSection(account, max(header.sectionSizeHint(account), min(wanted, room)))

    def _other_column_resized(self, column: int, _old: int, _new: int) -> None:
        if column not in (0, DataSourcesTableModel.ACCOUNT):
            self._fit_account()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            self._fit_account()
        return super().eventFilter(watched, event)

    def _size_status(self, rows: list[DataSourceSummary]) -> None:
        """Status as wide as its widest word now (measured here, not at each progress)."""
        metrics = self.table.fontMetrics()
        texts = ["Status", *(STATUS_TEXT.get(r.status, r.status) for r in rows)]
        if any(r.status == DataSourceStatus.SYNCING for r in rows):
            texts.append("99 % · 1 h 55 min left")  # the widest a sync under way says
        widest = max(metrics.horizontalAdvance(t) for t in texts)
        self.table.horizontalHeader().resizeSection(DataSourcesTableModel.STATUS, widest + 28)
        self._fit_account()

    def _selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.summary(rows[0].row()).id if rows else None

    def _emit_for_selected(self, signal) -> None:
        """The row actions: each emits its signal with the selected data source's id."""
        if (ds_id := self._selected_id()) is not None:
            signal.emit(ds_id)

    def _open_row(self, index) -> None:
        self.open_requested.emit(self.model.summary(index.row()).id)

    def _selection_changed(self) -> None:
        chosen = self._selected_id() is not None
        for button in self.row_buttons:
            button.setEnabled(chosen)

    def _selected_summary(self) -> DataSourceSummary | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.summary(rows[0].row()) if rows else None

    def _confirm_delete(self) -> None:
        summary = self._selected_summary()
        if summary is not None and confirm(
            self,
            "Delete data source",
            f"Delete {summary.title} and its {self._registrations(summary)}registrations from "
            "this computer? Nothing changes in Stripe; you can import it again later.",
        ):
            self.delete_requested.emit(summary.id)

    def _confirm_reset(self) -> None:
        summary = self._selected_summary()
        if summary is not None and confirm(
            self,
            "Re-import data source",
            f"Delete the {self._registrations(summary)}registrations of {summary.title} and "
            "import them again from Stripe?",
        ):
            self.reset_requested.emit(summary.id)

    def _registrations(self, summary: DataSourceSummary) -> str:
        count = self.model.registrations(summary)
        return "" if count is None else f"{number(count)} "

    def refresh(self) -> None:
        selected = self._selected_id()
        counted = self._runner is None
        rows = self._service.summaries(counted=counted)
        self.model.set_rows(rows)
        self._size_status(rows)
        self.stack.setCurrentIndex(1 if rows else 0)
        for row, summary in enumerate(rows):
            if summary.id == selected:
                self.table.selectRow(row)
        self._selection_changed()
        if not counted and rows:
            self._count(rows)

    def _count(self, rows: list[DataSourceSummary]) -> None:
        service = self._service

        def failed(error: Exception) -> None:
            log.warning("could not count the data sources' registrations: %s", error)

        # A newer refresh's count cancels this one, and what this one sends is dropped.
        self._runner.run(
            lambda _state: service.registration_counts(rows),
            lambda counts: self.model.set_counts(counts, rows),
            failed,
            key="count",
        )
