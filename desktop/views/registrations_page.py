"""One data source's registrations: the table, filters as chips, search, and a detail pane."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.catalog import Kind, extract
from desktop.services.query import Filter, FilterError
from desktop.services.reading import drill_conditions, read_stoppably
from desktop.services.registrations import (
    RegistrationQuery,
    RegistrationsService,
    export_csv,
    export_xlsx,
)
from desktop.services.stripe.errors import Cancelled
from desktop.services.tasks import Runner
from desktop.views.column_chooser import ColumnChooser
from desktop.views.filter_dialog import FilterDialog
from desktop.views.formatting import count_text, money, number
from desktop.views.icons import themed_icon
from desktop.views.registration_detail import RegistrationCard
from desktop.views.registrations_model import RegistrationsTableModel
from desktop.views.widgets import (
    ElidedLabel,
    FittedTextDelegate,
    Page,
    ToolbarRow,
    documents_path,
    plain_label,
)

SAMPLE_FILTER = Filter("livemode", "is_true")


def filter_json(flt: Filter) -> dict:
    """A filter as saved with the data source's view; an amount's currency only when it has
    one, so that filters saved before read as they did."""
    saved = {"key": flt.key, "op": flt.op, "value": flt.value}
    if flt.currency:
        saved["currency"] = flt.currency
    return saved


def stored_filter(saved: dict) -> Filter:
    value = saved.get("value")
    if isinstance(value, list) and saved.get("op") == "between":
        value = tuple(value)
    return Filter(saved["key"], saved["op"], value, saved.get("currency"))


class RegistrationsPage(Page):
    back_requested = Signal()
    sync_requested = Signal(int)  # data source id
    fields_updated = Signal(list)  # the fields Update fields added
    exported = Signal(str)  # the path of a finished export
    view_saved = Signal(int)  # data source id: its filters, views and widths are stored

    def __init__(
        self,
        registrations: RegistrationsService,
        time_zone: Callable[[], str],
        save_view: Callable[[int, dict], None],
        runner: Runner,
        parent: QWidget | None = None,
        week_start: Callable[[], int] = lambda: 0,
    ) -> None:
        super().__init__("Registrations", "", parent)
        self.registrations = registrations
        self.time_zone = time_zone
        self.save_view = save_view
        self.week_start = week_start
        self.runner = runner.for_view(self)
        self.data_source = None  # the DataSource shown
        self.drill = None  # the DrillDown the page shows, when opened from a dashboard
        self.query: RegistrationQuery | None = None
        self.model: RegistrationsTableModel | None = None

        self.back_button = QPushButton("‹ Data sources")
        self.back_button.setProperty("flat", True)
        self.back_button.clicked.connect(self.back_requested)
        self.header.layout().insertWidget(0, self.back_button)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search id, email, name…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search registrations")
        self.search.addAction(
            themed_icon("search", "#64748b"), QLineEdit.ActionPosition.LeadingPosition
        )
        self.search.setMinimumWidth(220)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._apply)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        # One state with the Livemode = True filter: ticking adds its chip, removing the chip
        # unticks it.
        self.hide_sample = QCheckBox("Hide sample data")
        self.hide_sample.setToolTip("Shows live data only: the same as the filter Livemode = True")
        self.hide_sample.toggled.connect(self._sample_toggled)
        self.update_fields_button = QPushButton(themed_icon("refresh"), "Update fields")
        self.update_fields_button.setToolTip(
            "Find fields in the data that this data source does not list yet"
        )
        self.update_fields_button.clicked.connect(self.update_fields)
        # Push buttons, as every other action here: a QToolButton ignores their style.
        self.views_button = QPushButton("Views")
        self.views_button.setToolTip("Save the filters as a named view, or apply a saved one")
        self.views_menu = QMenu(self.views_button)
        self.views_menu.aboutToShow.connect(self._fill_views_menu)
        self.views_button.setMenu(self.views_menu)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the registrations shown (filters, search, sort) as CSV")
        self.export_button.clicked.connect(self._choose_export_file)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.clicked.connect(lambda: self.sync_requested.emit(self.data_source.id))
        self.filter_button = QPushButton(themed_icon("filter", "#334155"), "Filter")
        self.filter_button.setToolTip("Add a filter (Ctrl+F)")
        self.filter_button.clicked.connect(self.add_filter)
        for widget in (self.sync_button, self.filter_button):  # Filter: the top-right corner
            self.header.add_action(widget)
        QShortcut(QKeySequence.StandardKey.Find, self, self.add_filter)

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(28, 12, 28, 8)
        self.toolbar = ToolbarRow()
        for widget in (self.search, self.hide_sample):
            self.toolbar.leading.addWidget(widget)
        self.toolbar.leading.addStretch(1)
        self.columns_button = QPushButton("Columns…")
        self.columns_button.setToolTip("Choose the fields the table shows (Ctrl+Shift+C)")
        self.columns_button.clicked.connect(self.choose_columns)
        QShortcut(QKeySequence("Ctrl+Shift+C"), self, self.choose_columns)
        for widget in (
            self.update_fields_button,
            self.columns_button,
            self.views_button,
            self.export_button,
        ):
            self.toolbar.trailing.addWidget(widget)
        column.addWidget(self.toolbar)
        self.chips = QHBoxLayout()
        self.chips.setSpacing(6)
        self.chips.addStretch(1)
        column.addLayout(self.chips)
        self.message = plain_label("", "fieldHelp")
        self.message.setWordWrap(True)  # a long message takes lines, never the window's width
        self.message.setStyleSheet("color: #b91c1c;")
        self.message.hide()
        column.addWidget(self.message)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableView()
        self.table.setObjectName("registrationsTable")
        self.table.setAccessibleName("Registrations")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self._fitted_cells = FittedTextDelegate(self.table)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)  # drag a column to move it; remembered
        header.sectionMoved.connect(self._columns_moved)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)  # "Amount capt…", not "ount capt"
        header.sectionResized.connect(self._column_resized)
        self.widths: dict[str, int] = {}  # field key -> width the user gave its column
        self._fitted: dict[str, int] = {}  # field key -> width its header and text need
        self._fitting = False  # the page sets widths itself: not the user's
        self._save_widths = QTimer(self)
        self._save_widths.setSingleShot(True)
        self._save_widths.setInterval(600)  # once a drag of the column's edge has ended
        self._save_widths.timeout.connect(self._save_view_settings)
        self.splitter.addWidget(self.table)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(8, 0, 0, 0)
        detail_layout.addWidget(plain_label("Registration", "sectionTitle"))
        self.detail_text = RegistrationCard()
        detail_layout.addWidget(self.detail_text, 1)
        copy = QPushButton("Copy JSON")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self._detail_json))
        detail_layout.addWidget(copy, 0, Qt.AlignmentFlag.AlignRight)
        self.splitter.addWidget(detail)
        # The card takes 30 % of the width, from 260 to 420 px (room for an id and a date),
        # the table the rest, until the user drags the handle: the window then remembers
        # where to (MainWindow marks a restored splitter "placed" too).
        self.splitter.setObjectName("registrationsSplitter")
        detail.setMinimumWidth(260)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setCollapsible(0, False)
        self.splitter.splitterMoved.connect(lambda *_: self.splitter.setProperty("placed", True))
        column.addWidget(self.splitter, 1)
        footer = QHBoxLayout()
        # Ends in "…" where it does not fit ("Added 17 fields: …"), whole in its tooltip: no
        # message may widen the window.
        self.status = ElidedLabel("", "registrationsStatus")
        footer.addWidget(self.status, 1)
        self.busy = QProgressBar()  # a search over a million rows takes seconds
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(160)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Reading the registrations")
        # Its room is kept while hidden: the footer does not jump when a search starts.
        policy = self.busy.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.busy.setSizePolicy(policy)
        self.busy.hide()
        footer.addWidget(self.busy)
        self.export_progress = QProgressBar()
        self.export_progress.setFixedWidth(300)  # room for its words, not a sliver
        self.export_progress.setFormat("Exporting… %p%")
        self.export_progress.setAccessibleName("Export progress")
        self.cancel_export_button = QPushButton("Cancel export")
        self.cancel_export_button.clicked.connect(self.cancel_export)
        for widget in (self.export_progress, self.cancel_export_button):
            widget.hide()
            footer.addWidget(widget)
        column.addLayout(footer)
        self._export_task = None
        self.set_body(body)
        self.filters: list[Filter] = []
        self.saved_views: dict[str, dict] = {}  # name -> filters and the sample toggle
        self._detail_json = ""

    # --- opening ---

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width = self.splitter.width()
        if not self.splitter.property("placed") and width > 0:
            card = max(260, min(420, int(width * 0.3)))
            self.splitter.setSizes([width - card - self.splitter.handleWidth(), card])

    def open(self, data_source, drill=None) -> None:
        """Show a data source with its saved filters; or, for a drill-down from a dashboard,
        exactly the registrations a KPI counts (its filter and period, nothing saved)."""
        self.data_source = data_source
        self.drill = drill
        self.back_button.setText("‹ Dashboards" if drill else "‹ Data sources")
        self.header.title.setText(data_source.title)
        self.header.subtitle.setText(
            f"{data_source.catalog.display_name} · {data_source.account.name}"
            + (" · opened from a dashboard" if drill else "")
        )
        self.header.subtitle.show()
        self.query = RegistrationQuery(
            data_source, time_zone=self.time_zone(), week_start=self.week_start()
        )
        view = json.loads(data_source.view_settings or "{}")
        self.filters = [stored_filter(f) for f in view.get("filters", [])]
        self.saved_views: dict[str, dict] = dict(view.get("views", {}))
        self.widths = {
            key: width
            for key, width in dict(view.get("widths", {})).items()
            if isinstance(width, int) and width > 0
        }
        # Only live data with test mode's sample data beside it has sample data to hide.
        mixed = len(data_source.modes) > 1
        if mixed and view.get("hide_sample") and SAMPLE_FILTER not in self.filters:
            self.filters.append(SAMPLE_FILTER)  # saved by a version with a separate toggle
        if drill is not None:
            self.filters = []
            self.query.conditions = drill_conditions(self.query, drill)
        self.hide_sample.setVisible(mixed)
        self._show_sample_toggle()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._drop_read()  # the data source shown before: moot
        previous = (self.model, self.table.selectionModel())
        self.model = RegistrationsTableModel(self.query, self.time_zone(), self)
        self.table.setModel(self.model)
        for old in previous:  # the view owns neither; each kept a page of rows, or a selection
            if old is not None:
                old.deleteLater()
        self._fitted = {}  # measured again for this data source's rows
        self.model.reader = self._read_in_background
        self.model.moot = self._drop_read
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.detail_text.clear_card()
        self._apply()
        self._show_sort_indicator()
        self._fit_columns()
        self._set_delegates()
        self.model.modelReset.connect(self._after_reset)  # after the header's own reset
        self.currencies: list[str] = []
        self._read_currencies()

    def _show_sort_indicator(self) -> None:
        keys = [f.key for f in self.model.columns]
        if self.query.sort_key in keys:
            order = (
                Qt.SortOrder.DescendingOrder
                if self.query.descending
                else Qt.SortOrder.AscendingOrder
            )
            header = self.table.horizontalHeader()
            header.blockSignals(True)  # the rows are in this order already
            header.setSortIndicator(keys.index(self.query.sort_key), order)
            header.blockSignals(False)

    def reload(self) -> None:
        """New data arrived (a sync finished): re-read counts and rows."""
        if self.model is not None:
            self.model.refresh(data_changed=True)
            self._show_status()

    # --- filters ---

    def add_filter(self, preset: tuple[str, str] | None = None) -> FilterDialog | None:
        if self.query is None:
            return None
        dialog = FilterDialog(
            list(self.query.fields.values()),
            self.data_source.data_type,
            self,
            currencies=self.currencies,
        )
        if preset:
            dialog.select(*preset)
        dialog.accepted.connect(lambda: self._add_from(dialog))
        dialog.open()
        return dialog

    def _read_currencies(self) -> None:
        """The data's currencies, most used first, for amounts typed in the Filter dialog."""
        query, data_source = self.query.snapshot(), self.data_source

        def done(found: list[str]) -> None:
            if data_source is self.data_source:
                self.currencies = found

        self.runner.run(lambda _state: query.currencies(), done, self._say, key="currencies")

    def _add_from(self, dialog: FilterDialog) -> None:
        try:
            flt = dialog.result_filter()
        except FilterError as exc:  # an amount that is not one: said, nothing added
            self.message.setText(str(exc))
            self.message.show()
            return
        self._add(flt)

    def _add(self, flt: Filter) -> None:
        self.filters.append(flt)
        self._apply(save=True)

    def remove_condition(self, condition) -> None:
        self.query.conditions = [c for c in self.query.conditions if c is not condition]
        self._apply()

    def remove_filter(self, index: int) -> None:
        del self.filters[index]
        self._apply(save=True)

    def _sample_toggled(self, hide: bool) -> None:
        if hide and SAMPLE_FILTER not in self.filters:
            self.filters.append(SAMPLE_FILTER)
        elif not hide:
            self.filters = [f for f in self.filters if f != SAMPLE_FILTER]
        self._apply(save=True)

    def _show_sample_toggle(self) -> None:
        """Ticked exactly when the Livemode = True filter is on, however it got there."""
        self.hide_sample.blockSignals(True)
        self.hide_sample.setChecked(SAMPLE_FILTER in self.filters)
        self.hide_sample.blockSignals(False)

    def _apply(self, save: bool = False) -> None:
        if self.query is None:
            return
        self.query.filters = list(self.filters)
        self.query.search = self.search.text()
        try:
            self.model.refresh()
        except FilterError as exc:
            self.filters.pop()
            self.query.filters = self.filters
            self.message.setText(str(exc))
            self.message.show()
            self.model.refresh()
            return
        self.message.hide()
        self._show_chips()
        self._show_sample_toggle()
        self._show_status()
        if save:
            self._save_view_settings()

    def save_pending(self) -> None:
        """A column width dragged in the last moments is saved now (the app is closing)."""
        if self._save_widths.isActive():
            self._save_view_settings()

    def _current_view(self) -> dict:
        return {"filters": [filter_json(f) for f in self.filters]}

    def _save_view_settings(self) -> None:
        self._save_widths.stop()  # saved here, with the rest
        if self.drill is not None or self.data_source is None:
            return  # a drill-down is a look, not a change to the data source's view
        view = {**self._current_view(), "views": self.saved_views, "widths": self.widths}
        ds_id = self.data_source.id
        # On a worker; a newer save of the same data source's view supersedes this one.
        self.runner.write(
            lambda _state: self.save_view(ds_id, view),
            lambda _done: self.view_saved.emit(ds_id),
            self._say,
            key=f"view-{ds_id}",
        )

    # --- named views ---

    def save_named_view(self, name: str) -> None:
        self.saved_views[name] = self._current_view()
        self._save_view_settings()

    def apply_named_view(self, name: str) -> None:
        view = self.saved_views[name]
        self.filters = [stored_filter(f) for f in view["filters"]]
        if view.get("hide_sample") and SAMPLE_FILTER not in self.filters:
            self.filters.append(SAMPLE_FILTER)  # a view saved with the separate toggle
        self._apply(save=True)

    def delete_named_view(self, name: str) -> None:
        self.saved_views.pop(name, None)
        self._save_view_settings()

    def _fill_views_menu(self) -> None:
        menu = self.views_menu
        menu.clear()
        menu.addAction("Save current filters as a view…", self._ask_view_name)
        if self.saved_views:
            menu.addSeparator()
            for name in sorted(self.saved_views):
                menu.addAction(name, lambda n=name: self.apply_named_view(n))
            remove = menu.addMenu("Delete a view")
            for name in sorted(self.saved_views):
                remove.addAction(name, lambda n=name: self.delete_named_view(n))

    def _ask_view_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save view", "Name of the view:")
        if ok and name.strip():
            self.save_named_view(name.strip())

    def _show_chips(self) -> None:
        while self.chips.count() > 1:
            chip = self.chips.takeAt(0).widget()
            chip.hide()  # deleteLater waits for the event loop; meanwhile it must not show
            chip.deleteLater()
        for n, flt in enumerate(self.filters):
            chip = QPushButton(f"{flt.describe(self.query.fields)}  ✕")
            chip.setObjectName("filterChip")
            chip.setToolTip("Remove this filter")
            chip.clicked.connect(lambda _=False, i=n: self.remove_filter(i))
            self.chips.insertWidget(self.chips.count() - 1, chip)
        for condition in self.query.conditions:
            chip = QPushButton(f"{condition.description}  ✕")
            chip.setObjectName("filterChip")
            chip.setProperty("fromFormula", True)
            chip.setToolTip("From the dashboard widget; click to remove")
            chip.clicked.connect(lambda _=False, c=condition: self.remove_condition(c))
            self.chips.insertWidget(self.chips.count() - 1, chip)

    def _show_status(self) -> None:
        if self.runner.busy("read"):
            return  # "Searching…" until the rows read on a worker arrive
        self.busy.hide()
        self.status.setText(
            f"{number(self.model.count)} of {count_text(self.model.total, 'registration')}"
        )

    def _drop_read(self) -> None:
        """No read on a worker any more: a pending one is cancelled (it would be moot)."""
        self.runner.cancel("read")
        self.busy.hide()

    def _read_in_background(self) -> None:
        """A search (or a filter that reads every row, see RegistrationQuery.reads_every_row)
        reads on a worker: its pass over every row takes seconds on a million.
        The table keeps the rows it has meanwhile and the status says what is happening; a
        newer refresh (a key typed, a filter, a sort, a sync) makes an older one moot."""
        model, query = self.model, self.query.snapshot()
        known_total = model.known_total()
        searched = query.search.strip()
        self.status.setText(
            f"Searching {count_text(model.total, 'registration')} for “{searched}”…"
            if searched
            else f"Filtering {count_text(model.total, 'registration')}…"
        )
        self.busy.show()

        def work(state):
            return read_stoppably(query, state, total=known_total)

        def done(reading) -> None:
            self._drop_read()
            model.apply(reading)
            self._show_status()

        def failed(error: Exception) -> None:
            self._drop_read()
            self._show_status()
            if isinstance(error, Cancelled):
                return
            self.message.setText(str(error))
            self.message.show()
            if isinstance(error, FilterError) and self.filters:
                self.filters.pop()  # as _apply does: the filter just added cannot be read
                self.query.filters = self.filters

        # Newer work of the same key cancels this one and drops what it sends (a key typed, a
        # filter, a sort, a sync); a refresh read here makes it moot too (model.moot).
        self.runner.run(work, done, failed, key="read")

    # --- fields and detail ---

    def update_fields(self) -> None:
        """Look for new fields in the background; the table stays usable meanwhile."""
        self.update_fields_button.setEnabled(False)
        self.status.setText(
            f"Looking for new fields in {count_text(self.model.total, 'registration')}…"
        )
        data_source = self.data_source
        self.runner.run(
            lambda _state: self.registrations.update_fields(data_source),
            self._fields_updated,
        )

    def _fields_updated(self, added: list) -> None:
        self.update_fields_button.setEnabled(True)
        self.query.reload_fields()
        self.model.refresh()
        names = ", ".join(f.label for f in added[:6]) + ("…" if len(added) > 6 else "")
        self.status.setText(
            f"Added {len(added)} field{'s' * (len(added) != 1)}: {names}"
            if added
            else "No new fields: the data source already lists every field in its data."
        )
        self.fields_updated.emit(added)

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        pk = self.model.pk_at(rows[0].row())
        found = self.query.detail(pk) if pk is not None else None
        if found is None:
            return
        livemode, data = found
        try:
            obj = json.loads(data)
            pretty = json.dumps(obj, indent=2, ensure_ascii=False)
        except ValueError:
            obj, pretty = {}, data
        self._detail_json = pretty
        currency = obj.get("currency") if isinstance(obj, dict) else None
        rows = []
        for field in self.query.fields.values():
            if field.key == "livemode":
                continue  # the card's Mode says it
            value = extract(obj, field.key) if isinstance(obj, dict) else None
            if isinstance(value, dict | list):
                continue  # in the stored object, folded
            shown = self.model.display(field, value, currency)
            if field.kind is Kind.BOOL and value is not None:
                shown = "Yes" if shown == "True" else "No"
            short = (
                money(value, currency, compact=True)
                if field.kind is Kind.MONEY and isinstance(value, int)
                else None
            )
            rows.append((field.label, shown, value, short))  # brands, currencies: as shown
        self.detail_text.show_registration(livemode, rows, obj)

    # --- export ---

    def _choose_export_file(self) -> None:
        name = f"{self.data_source.title}.csv".replace("/", "-")
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export registrations",
            documents_path(name),
            "CSV files (*.csv);;Excel workbooks (*.xlsx)",
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Export what the table shows, in the background, with progress and Cancel."""
        snapshot = self.query.snapshot()
        zone = self.time_zone()
        partial = path.with_name(path.name + ".partial")

        def work(state) -> int:
            def report(done: int, total: int) -> None:
                state.report((done, total))

            if path.suffix.lower() == ".xlsx":
                rows = export_xlsx(
                    snapshot, partial, time_zone=zone, cancelled=state.cancelled, progress=report
                )
            else:
                with partial.open("w", newline="", encoding="utf-8") as out:
                    rows = export_csv(
                        snapshot, out, time_zone=zone, cancelled=state.cancelled, progress=report
                    )
            partial.replace(path)  # a cancelled or failed export leaves no half file behind
            return rows

        def failed(error: Exception) -> None:
            partial.unlink(missing_ok=True)
            self._export_done()
            self.status.setText(
                "Export cancelled."
                if isinstance(error, Cancelled)
                else f"The export failed: {error}"
            )

        def succeeded(rows: int) -> None:
            self._export_done()
            self.status.setText(f"Exported {count_text(rows, 'registration')} to {path}")
            self.exported.emit(str(path))

        self.export_button.setEnabled(False)
        self.export_progress.setValue(0)
        self.export_progress.show()
        self.cancel_export_button.show()
        self._export_task = self.runner.run(
            work, succeeded, failed=failed, progress=self._export_progress
        )

    def _export_progress(self, progress: tuple[int, int]) -> None:
        done, total = progress
        self.export_progress.setValue(int(100 * done / total) if total else 100)
        self.status.setText(f"Exporting {number(done)} of {count_text(total, 'registration')}…")

    def cancel_export(self) -> None:
        if self._export_task is not None:
            self._export_task.cancel()

    def _export_done(self) -> None:
        self._export_task = None
        self.export_button.setEnabled(True)
        self.export_progress.hide()
        self.cancel_export_button.hide()

    # --- columns ---

    FITTED_ROWS = 50  # rows whose text sets a column's width when the user has not
    WIDEST = 360  # a fitted column's most: a long description should not take the table

    def _fit_columns(self) -> None:
        """Each column as wide as the user last made it, or else as its header and the text of
        the first rows need (ids, dates and amounts whole), within WIDEST. Runs after every
        reset of the model too: Qt keeps widths by column position, and once columns are
        hidden, shown or moved a position holds another field. A fitted width is measured
        once, when its column first shows."""
        header = self.table.horizontalHeader()
        text = self.table.fontMetrics()
        bold = header.font()
        bold.setBold(True)  # the theme's header text is semibold: measure with room to spare
        label = QFontMetrics(bold)
        rows = min(self.model.rowCount(), self.FITTED_ROWS)
        self._fitting = True
        try:
            for column, field in enumerate(self.model.columns):
                width = self.widths.get(field.key) or self._fitted.get(field.key)
                if width is None:
                    shown = (self.model.index(row, column).data() or "" for row in range(rows))
                    content = max((text.horizontalAdvance(t) for t in shown), default=0)
                    # Padding as the theme's cells and sections have it; the sort arrow's room.
                    width = max(content + 20, label.horizontalAdvance(field.label) + 36, 60)
                    width = self._fitted[field.key] = min(width, self.WIDEST)
                header.resizeSection(column, width)
        finally:
            self._fitting = False

    def _column_resized(self, logical: int, _old: int, new: int) -> None:
        if self._fitting or self.model is None or not 0 <= logical < len(self.model.columns):
            return
        header = self.table.horizontalHeader()
        if header.stretchLastSection() and header.visualIndex(logical) == header.count() - 1:
            return  # the last column follows the window's width, not the user's hand
        self.widths[self.model.columns[logical].key] = new
        self._save_widths.start()

    def _visible_keys_in_view_order(self) -> list[str]:
        header = self.table.horizontalHeader()
        return [self.model.columns[header.logicalIndex(v)].key for v in range(header.count())]

    def _columns_moved(self, *_args) -> None:
        self.set_columns(self._visible_keys_in_view_order())

    def set_columns(self, visible_in_order: list[str]) -> None:
        """Show these fields in this order (the column chooser and dragging both end here):
        stored on a worker, then the model's columns come in the stored order."""
        data_source = self.data_source
        self.runner.write(
            lambda _state: self.registrations.set_columns(data_source, visible_in_order),
            lambda _done: self._fields_changed(data_source),
            self._say,
        )

    def _after_reset(self) -> None:
        """The model's columns are the truth: the view's own moves (a drag) are undone, and
        each column gets its field's width."""
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        for logical in range(header.count()):
            header.moveSection(header.visualIndex(logical), logical)
        header.blockSignals(False)
        self._fit_columns()
        self._set_delegates()
        self._show_sort_indicator()

    def _set_delegates(self) -> None:
        """Amounts are never cut: shorter, then smaller, in a narrow column."""
        for column, field in enumerate(self.model.columns):
            fitted = field.kind in (Kind.MONEY, Kind.NUMBER)
            self.table.setItemDelegateForColumn(column, self._fitted_cells if fitted else None)

    def choose_columns(self) -> ColumnChooser:
        """The column chooser: a list that stays open while the user ticks (Ctrl+Shift+C)."""
        fields = self.registrations.fields(self.data_source)
        dialog = ColumnChooser(fields, self._visible_keys_in_view_order(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.set_columns(dialog.chosen()))
        dialog.open()
        return dialog

    def _column_menu(self, position) -> None:
        menu = QMenu(self)
        menu.addAction("Choose columns…\tCtrl+Shift+C", self.choose_columns)
        column = self.table.horizontalHeader().logicalIndexAt(position)
        if 0 <= column < len(self.model.columns):
            field = self.model.columns[column]
            menu.addSeparator()
            menu.addAction(
                f"Rename “{field.label}”…", lambda: self._ask_label(field.key, field.label)
            )
        menu.popup(self.table.horizontalHeader().mapToGlobal(position))

    def _ask_label(self, key: str, label: str) -> None:
        text, ok = QInputDialog.getText(
            self, "Rename field", "Name shown for this field:", text=label
        )
        if ok and text.strip():
            self.rename_field(key, text.strip())

    def rename_field(self, key: str, label: str) -> None:
        data_source = self.data_source
        self.runner.write(
            lambda _state: self.registrations.rename_field(data_source, key, label),
            lambda _done: self._fields_changed(data_source),
            self._say,
        )

    def _fields_changed(self, data_source) -> None:
        """The fields' names, order or visibility were stored: show them as stored."""
        if data_source is not self.data_source:
            return  # another data source is shown now
        self.query.reload_fields()
        self.model.refresh()
        self._show_chips()

    def _say(self, error: BaseException) -> None:
        self.message.setText(str(error))
        self.message.show()
