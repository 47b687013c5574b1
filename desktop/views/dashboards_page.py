"""Visualization > Dashboards: pick a dashboard, its period, add and arrange widgets.

Every query runs in the background (the view's `Runner`); the page only draws results. The
page refreshes when asked (after each sync), on the dashboard's own timer, and with F5.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.services.kpi.binder import DrillDown
from desktop.services.kpi.dashboards import SeriesData, WidgetResult, WidgetSpec
from desktop.services.kpi.editing import FormulaAssistant
from desktop.services.kpi.periods import (
    DASHBOARD_PERIODS,
    custom_period,
    is_custom,
    period_label,
    period_range,
)
from desktop.services.kpi.syntax import FormulaError
from desktop.services.tasks import Runner
from desktop.views.dashboard_grid import DashboardGrid
from desktop.views.dashboard_tiles import make_tile, value_lines
from desktop.views.formatting import QT_DATE, date_span
from desktop.views.formulas_dialog import SavedFormulasDialog
from desktop.views.widget_editor import WidgetEditor
from desktop.views.widgets import (
    EmptyState,
    Page,
    confirm,
    documents_path,
    plain_label,
    plain_tooltip,
    primary_button,
)

CUSTOM = "custom"  # the period combo's "Custom range…" item


class DashboardsPage(Page):
    new_dashboard_requested = Signal()
    drill_requested = Signal(object)  # a DrillDown
    refreshed = Signal(int)  # dashboard id, after its widgets show new values
    listed = Signal(int)  # how many dashboards there are, after the list was read again
    alert_requested = Signal(object, str)  # a number's WidgetSpec, the dashboard's period

    def __init__(
        self,
        service,
        runner: Runner,
        time_zone: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Dashboards", "KPIs and charts built from your data sources", parent)
        self.service = service
        self.formulas = FormulaAssistant(service.library)
        self.runner = runner.for_view(self)
        self.time_zone = time_zone
        self.dashboard_id: int | None = None
        self.results: dict[int, WidgetResult] = {}
        self.slideshow = None
        self._last_period = "this_month"

        self.picker = QComboBox()
        # The lists give way in a narrow window (their text then ends in "…"), so that the
        # buttons keep theirs whole: at 900 px every action fits in its row.
        self.picker.setMinimumContentsLength(4)
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.picker.setMaximumWidth(280)
        self.picker.setToolTip("Your dashboards")
        self.picker.currentIndexChanged.connect(self._picked)
        self.header.add_action(self.picker)
        self.period = QComboBox()
        for key, label in DASHBOARD_PERIODS.items():
            self.period.addItem(label, key)
        self.period.addItem("Custom range…", CUSTOM)
        self.period.setMinimumContentsLength(8)
        self.period.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.period.setToolTip("The period the dashboard's widgets show")
        self.period.currentIndexChanged.connect(self._period_changed)
        self.header.add_action(self.period)
        self.add_button = primary_button("Add widget", "plus")
        self.add_button.clicked.connect(lambda: self.edit_widget(None))
        self.header.add_action(self.add_button)
        self.new_button = QPushButton("New dashboard")
        self.new_menu = QMenu(self)
        self.new_menu.addAction("Blank dashboard…", self.new_blank)
        self.new_menu.addAction("From template: Stripe overview", self.new_starter)
        self.new_menu.addAction("Import from a file…", self.import_file)
        self.new_button.setMenu(self.new_menu)
        self.header.add_action(self.new_button)
        self.more_button = QPushButton("⋯")
        self.more_button.setToolTip("Refresh, slideshow, export, rename, delete")
        self.more_menu = QMenu(self)
        self.more_menu.aboutToShow.connect(self._fill_more_menu)
        self.more_button.setMenu(self.more_menu)
        self.header.add_action(self.more_button)
        for button in (self.add_button, self.new_button, self.more_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, button.sizePolicy().verticalPolicy())

        self.stack = QStackedWidget()
        self.empty_state = EmptyState(
            "dashboards",
            "No dashboards yet",
            "Dashboards turn your registrations into live numbers and charts: gross volume, "
            "refunds, new customers, paid invoices. They refresh after every sync.",
            hint="Start from the Stripe overview template, or build your own KPIs with formulas.",
        )
        self.starter_button = primary_button("Create the Stripe overview", "dashboards")
        self.starter_button.clicked.connect(self.new_starter)
        self.empty_button = QPushButton("Blank dashboard")
        self.empty_button.clicked.connect(self.new_blank)
        self.empty_state.add_button(self.starter_button)
        self.empty_state.add_button(self.empty_button)
        self.stack.addWidget(self.empty_state)

        board = QWidget()
        board_layout = QVBoxLayout(board)
        board_layout.setContentsMargins(0, 0, 0, 0)
        self.message = plain_label("", "pageMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        board_layout.addWidget(self.message)
        self.grid = DashboardGrid()
        self.grid.placed.connect(self._placed)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(self.grid)
        board_layout.addWidget(self.scroll, 1)
        self.no_widgets = EmptyState(
            "chart",
            "This dashboard is empty",
            "Add a widget: a number, a chart over time, a bar chart by status or currency, "
            "a leaderboard, or a gauge against a target.",
        )
        add = primary_button("Add widget", "plus")
        add.clicked.connect(lambda: self.edit_widget(None))
        self.no_widgets.add_button(add)
        board_layout.addWidget(self.no_widgets, 1)
        self.stack.addWidget(board)
        self.set_body(self.stack)
        self.create_buttons = [self.new_button, self.starter_button, self.empty_button]

        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        QShortcut(QKeySequence("F11"), self, self.start_slideshow)
        QShortcut(QKeySequence("Ctrl+Shift+N"), self, lambda: self.edit_widget(None))
        self._loaded = False  # dashboards are read when the page is first shown, not at start

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._loaded:
            self.reload()

    # dashboards

    def reload(self, select: int | None = None) -> None:
        """Read the list of dashboards again and show `select` (or the current one)."""
        self._loaded = True
        dashboards = self.service.dashboards()
        wanted = select or self.dashboard_id
        self.picker.blockSignals(True)
        self.picker.clear()
        for dashboard in dashboards:
            self.picker.addItem(dashboard.title, dashboard.id)
        index = self.picker.findData(wanted)
        self.picker.setCurrentIndex(index if index >= 0 else 0)
        self.picker.blockSignals(False)
        has_any = bool(dashboards)
        # Without a dashboard they have nothing to act on; the empty page offers the first one.
        for widget in (self.picker, self.period, self.add_button, self.more_button):
            widget.setVisible(has_any)
        self.stack.setCurrentIndex(1 if has_any else 0)
        self._picked()
        self.listed.emit(len(dashboards))

    def _picked(self) -> None:
        self.dashboard_id = self.picker.currentData()
        if self.dashboard_id is None:
            self.timer.stop()
            self.grid.set_tiles([])
            return
        dashboard = self.service.dashboard(self.dashboard_id)
        # A narrow window cuts the title in the list; the tooltip keeps it whole.
        self.picker.setToolTip(plain_tooltip(f"Your dashboards: {self.picker.currentText()}"))
        settings = self.service.settings(dashboard)
        self.period.blockSignals(True)
        index = self.period.findData(settings["period"])
        if index < 0:
            self.period.insertItem(
                self.period.count() - 1,
                shown_period(settings["period"], self.time_zone()),
                settings["period"],
            )
            index = self.period.findData(settings["period"])
        self.period.setCurrentIndex(index)
        self._last_period = settings["period"]
        self.period.blockSignals(False)
        self.timer.start(settings["refresh_minutes"] * 60_000)
        self._build_tiles()
        self.refresh()

    def _build_tiles(self) -> None:
        specs = self.service.widgets(self.dashboard_id)
        zone = self.time_zone()
        tiles = []
        for spec in specs:
            tile = make_tile(spec, zone)
            tile.edit_requested.connect(self._edit_by_id)
            tile.remove_requested.connect(self.remove_widget)
            tile.drill_requested.connect(self.drill)
            tile.alert_requested.connect(self._alert_on)
            tiles.append(tile)
            if spec.id in self.results:
                tile.set_result(replace(self.results[spec.id], spec=spec))
        self.grid.set_tiles(tiles)
        self.no_widgets.setVisible(not specs)
        self.scroll.setVisible(bool(specs))

    def _alert_on(self, widget_id: int) -> None:
        tile = self.grid.tiles.get(widget_id)
        if tile is not None:
            period = self.period.currentData()
            self.alert_requested.emit(tile.spec, period if period != CUSTOM else "this_month")

    def _write(self, work: Callable[[], object], then=None, failed=None) -> None:
        """A change to the store, made on a worker (never on the GUI thread); `then` draws
        what it returned, and a failure is said on the page."""
        self.runner.write(
            lambda _state: work(),
            then,
            failed or (lambda exc: self.show_message(f"The change was not saved: {exc}")),
        )

    def new_blank(self) -> None:
        title, ok = QInputDialog.getText(self, "New dashboard", "Name of the dashboard:")
        if ok:
            self._write(lambda: self.service.create(title), self.reload)

    def new_starter(self) -> None:
        self._write(
            self.service.create_starter,
            self.reload,
            lambda exc: QMessageBox.information(self, "Stripe overview", str(exc)),
        )

    def import_file(self, path: str | None = None) -> None:
        """Read a dashboard's JSON file, then add it on a worker and show it."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a dashboard", documents_path(), "Ledgerboard dashboard (*.json)"
            )
            if not path:
                return
        name = Path(path).name
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            self.show_message(f"Could not import {name}: {exc}")
            return
        self._write(
            lambda: self.service.import_json(text),
            self.reload,
            lambda exc: self.show_message(f"Could not import {name}: {exc}"),
        )

    def export_file(self, path: str | None = None) -> bool:
        if self.dashboard_id is None:
            return False
        if path is None:
            title = self.picker.currentText() or "dashboard"
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Export the dashboard",
                documents_path(f"{title}.json"),
                "Ledgerboard dashboard (*.json)",
            )
            if not path:
                return False
        try:
            data = self.service.export_json(self.dashboard_id)
            Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False), "utf-8")
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror or exc}")
            return False
        self.show_message(f"Exported to {path}.", error=False)
        return True

    def rename(self) -> None:
        title, ok = QInputDialog.getText(
            self, "Rename dashboard", "Name of the dashboard:", text=self.picker.currentText()
        )
        if ok and title.strip():
            dashboard_id = self.dashboard_id
            self._write(
                lambda: self.service.update(dashboard_id, title=title),
                lambda _done: self.reload(),
            )

    def delete(self) -> None:
        name = self.picker.currentText()
        if confirm(self, "Delete dashboard", f"Delete the dashboard “{name}” and its widgets?"):
            dashboard_id = self.dashboard_id

            def deleted(_done) -> None:
                if self.dashboard_id == dashboard_id:
                    self.dashboard_id = None
                self.results = {}
                self.reload()

            self._write(lambda: self.service.delete(dashboard_id), deleted)

    def _period_changed(self) -> None:
        if self.period.currentData() == CUSTOM:
            self.choose_custom_period()
            return
        self._last_period = self.period.currentData()
        if self.dashboard_id is not None:
            dashboard_id, period = self.dashboard_id, self.period.currentData()
            self._write(lambda: self.service.update(dashboard_id, period=period))
            self.refresh()  # the period is the page's: the saved one only opens it next time

    def _fill_more_menu(self) -> None:
        menu = self.more_menu
        menu.clear()
        menu.addAction("Refresh now\tF5", self.refresh)
        menu.addAction("Slideshow (full screen)\tF11", self.start_slideshow)
        refresh = menu.addMenu("Refresh every")
        for minutes in (1, 5, 15, 60):
            action = refresh.addAction(
                f"{minutes} minute{'s' if minutes > 1 else ''}",
                lambda m=minutes: self.set_refresh_minutes(m),
            )
            action.setCheckable(True)
            action.setChecked(self.timer.interval() == minutes * 60_000)
        menu.addAction("Saved formulas…", self.open_saved_formulas)
        menu.addSeparator()
        menu.addAction("Rename…", self.rename)
        menu.addAction("Export as JSON…", self.export_file)
        menu.addSeparator()
        menu.addAction("Delete dashboard…", self.delete)

    def open_saved_formulas(self) -> SavedFormulasDialog:
        dialog = SavedFormulasDialog(self.formulas, self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self.refresh)  # widgets may use a changed formula
        dialog.open()
        return dialog

    def choose_custom_period(self) -> QDialog:
        """Two dates, both included; the dashboard keeps the range as its period."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Custom range")
        form = QFormLayout(dialog)
        today = QDate.currentDate()
        first, last = QDateEdit(today.addDays(-29)), QDateEdit(today)
        for edit in (first, last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(QT_DATE)
        form.addRow("From", first)
        form.addRow("To (included)", last)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)

        def chosen(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                name = custom_period(first.date().toPython(), last.date().toPython())
                self.set_period(name)
            else:
                self.set_period(self._last_period)

        dialog.finished.connect(chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        dialog.first, dialog.last = first, last
        return dialog

    def set_period(self, name: str) -> None:
        index = self.period.findData(name)
        if index < 0:
            self.period.blockSignals(True)
            self.period.insertItem(
                self.period.count() - 1, shown_period(name, self.time_zone()), name
            )
            self.period.blockSignals(False)
            index = self.period.findData(name)
        self.period.setCurrentIndex(index)
        if self.period.currentData() == name and name == self._last_period:
            return
        self._period_changed()

    def set_refresh_minutes(self, minutes: int) -> None:
        dashboard_id = self.dashboard_id
        self._write(lambda: self.service.update(dashboard_id, refresh_minutes=minutes))
        self.timer.start(minutes * 60_000)

    # widgets

    def _edit_by_id(self, widget_id: int) -> None:
        spec = next((s for s in self.service.widgets(self.dashboard_id) if s.id == widget_id), None)
        if spec is not None:
            self.edit_widget(spec)

    def edit_widget(self, spec: WidgetSpec | None) -> WidgetEditor | None:
        if self.dashboard_id is None:
            return None
        editor = WidgetEditor(
            spec, self.formulas, self.period.currentData(), self._preview, parent=self
        )
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.accepted.connect(lambda: self.save_widget(editor.spec()))
        editor.open()
        return editor

    def save_widget(self, spec: WidgetSpec) -> None:
        dashboard_id = self.dashboard_id

        def save() -> int | None:
            if spec.id is None:
                return self.service.add_widget(dashboard_id, spec)
            self.service.update_widget(spec)
            return None

        def saved(added: int | None) -> None:
            # A new widget is shown where it landed, once its value is in: scrolled to, said.
            self._added = added
            self.results.pop(spec.id, None)
            if dashboard_id == self.dashboard_id:
                self._build_tiles()
                self.refresh()

        self._write(save, saved)

    def remove_widget(self, widget_id: int) -> None:
        spec = next((s for s in self.service.widgets(self.dashboard_id) if s.id == widget_id), None)
        if spec and confirm(self, "Remove widget", f"Remove “{spec.title}” from the dashboard?"):

            def removed(_done) -> None:
                self.results.pop(widget_id, None)
                self._build_tiles()

            self._write(lambda: self.service.remove_widget(widget_id), removed)

    def _placed(self, places: dict) -> None:
        self._write(lambda: self.service.place_widgets(places))

    def _preview(self, spec: WidgetSpec, period: str, show: Callable[[str], None]) -> None:
        preview_spec = replace(spec, kind="number", period=period)

        def work(_state):
            return self.service.evaluate(preview_spec, period)

        def done(result: WidgetResult) -> None:
            data = result.data
            if hasattr(data, "message"):
                show(data.message)
            else:
                show(" · ".join(value_lines(data.value, spec.format)))

        self.runner.run(work, done, lambda exc: show(str(exc)), key="preview")

    # values

    def refresh(self) -> None:
        """Evaluate every widget in the background; stale answers are dropped."""
        if self.dashboard_id is None:
            return
        dashboard_id = self.dashboard_id
        period = self.period.currentData()
        specs = [tile.spec for tile in self.grid.tiles.values()]  # as shown: not read again

        def work(state):
            results = self.service.refresh(dashboard_id, period=period, cancelled=state.cancelled)
            return results, self.service.test_mode_notice(specs)

        def done(answer: tuple[dict, str | None]) -> None:
            if not isValid(self) or dashboard_id != self.dashboard_id:
                return  # closed, or another dashboard shown
            results, notice = answer
            self.results = results
            for widget_id, result in results.items():
                tile = self.grid.tiles.get(widget_id)
                if tile is not None:
                    tile.set_result(replace(result, spec=tile.spec))
            if notice:
                self.show_message(notice, state="notice")
            else:
                self.message.hide()
            self._show_added()
            self.refreshed.emit(dashboard_id)

        def failed(exc: Exception) -> None:
            self.show_message(f"The dashboard could not be refreshed: {exc}")

        # A newer refresh (another period, a sync, the timer) cancels this one; what an
        # older one sends is dropped.
        self.runner.run(work, done, failed, key="refresh")

    _added: int | None = None  # a widget just added, to show once the values are in

    def _show_added(self) -> None:
        tile = self.grid.tiles.get(self._added) if self._added is not None else None
        self._added = None
        if tile is None:
            return
        self.grid.layout_now()
        self.scroll.ensureWidgetVisible(tile, 0, 20)
        tile.mark_added()
        self.show_message(f"Added “{tile.spec.title}”.", error=False)

    def show_message(self, text: str, *, error: bool = True, state: str | None = None) -> None:
        """A line over the dashboard: an error, news ("ok"), or a standing "notice"."""
        self.message.setText(text)
        self.message.setProperty("state", state or ("error" if error else "ok"))
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.show()

    # drill-down

    def drill(self, widget_id: int, point=None) -> None:
        """Open the registrations behind a widget, a chart point or a bar (asks which data
        source when the formula has several)."""
        result = self.results.get(widget_id)
        if result is None or not result.drill:
            return
        targets = self.drill_targets(result, point)
        if len(targets) == 1:
            self.drill_requested.emit(targets[0])
            return
        menu = QMenu(self)
        for target in targets:
            menu.addAction(
                f"{target.data_source_title}: {target.description}",
                lambda t=target: self.drill_requested.emit(t),
            )
        menu.popup(QCursor.pos())

    def drill_targets(self, result: WidgetResult, point) -> list[DrillDown]:
        targets = list(result.drill)
        if isinstance(point, int) and isinstance(result.data, SeriesData):
            starts = result.data.starts
            if 0 <= point < len(starts):
                end = starts[point + 1] if point + 1 < len(starts) else result.end
                targets = [replace(t, start=starts[point], end=end) for t in targets]
        elif isinstance(point, tuple) and point[0] == "group":
            try:
                targets = [
                    self.service.drill_group(t, result.spec.group_by, point[1]) for t in targets
                ]
            except FormulaError as exc:
                self.show_message(str(exc))
                return []
        return targets

    # slideshow

    def start_slideshow(self):
        from desktop.views.slideshow import Slideshow

        if not self.service.dashboards():
            return None
        self.slideshow = Slideshow(self.service, self.runner, self.time_zone())
        self.slideshow.show_dashboard(self.dashboard_id)
        return self.slideshow


def shown_period(name: str, time_zone: str) -> str:
    """A period's name in the picker; a custom range in the app's date format."""
    if is_custom(name):
        return date_span(*period_range(name, time_zone), time_zone)
    return period_label(name)
