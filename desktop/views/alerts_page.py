"""Alerts & reports: what fired (and which scheduled reports failed), the alerts themselves,
and the scheduled reports. A firing opens the registrations behind its value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.views.formatting import short_number, timestamp
from desktop.views.widgets import Page, confirm, draw_placeholder, plain_label, primary_button

KIND_TEXT = {"alert": "Alert", "report_failed": "Report failed", "report_sent": "Report sent"}
BAD = QColor("#dc2626")
MUTED = QColor("#64748b")


class _Table(QTableWidget):
    """A table that says, while it has no rows, what would be in it and how to get some."""

    def __init__(self, rows: int, columns: int, empty: str) -> None:
        super().__init__(rows, columns)
        self.empty_text = empty

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.rowCount():
            draw_placeholder(self.viewport(), self.empty_text)


def _table(headers: list[str], stretch: int, empty: str) -> QTableWidget:
    table = _Table(0, len(headers), empty)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    for column in range(len(headers)):
        mode = (
            QHeaderView.ResizeMode.Stretch
            if column == stretch
            else (QHeaderView.ResizeMode.ResizeToContents)
        )
        header.setSectionResizeMode(column, mode)
    table.setMinimumHeight(150)
    return table


def _item(text: str, data=None, colour: QColor | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)  # a table item never reads its text as rich text
    item.setToolTip(text)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    if colour is not None:
        item.setForeground(colour)
    return item


class AlertsPage(Page):
    drill_requested = Signal(object)  # a DrillDown
    new_alert_requested = Signal()
    edit_alert_requested = Signal(int)
    new_schedule_requested = Signal()
    run_schedule_requested = Signal(int)

    def __init__(
        self,
        alerts,
        reports,
        runner,
        time_zone: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Alerts & reports",
            "Told when a number moves; the numbers sent out on schedule",
            parent,
        )
        self.alerts = alerts
        self.reports = reports
        self.runner = runner.for_view(self)
        self.time_zone = time_zone
        self.firings: list = []
        self.reloads = 0
        new_alert = primary_button("New alert…", "plus")
        new_alert.clicked.connect(self.new_alert_requested)
        self.header.add_action(new_alert)
        new_schedule = QPushButton("Schedule a report…")
        new_schedule.clicked.connect(self.new_schedule_requested)
        self.header.add_action(new_schedule)
        self.create_buttons = [new_alert, new_schedule]

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("page")
        column = QVBoxLayout(body)
        column.setContentsMargins(28, 20, 28, 28)
        column.setSpacing(16)

        card, layout = self._card(
            "Recent",
            "Alerts that fired and scheduled reports, newest first. Double-click an alert "
            "to open the registrations behind its value.",
        )
        self.recent = _table(
            ["When", "What", "Name", "Value", "Details"],
            4,
            "Nothing yet: alerts that fire and reports that are sent show here.",
        )
        self.recent.cellDoubleClicked.connect(lambda row, _c: self.open_firing(row))
        self.recent.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.recent)
        self.open_button = QPushButton("Open registrations")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(lambda: self.open_firing(self.recent.currentRow()))
        layout.addLayout(self._buttons(self.open_button))
        column.addWidget(card)

        card, layout = self._card(
            "Alerts",
            "Checked after every sync and every few minutes, in the background. An alert "
            "fires once when its condition becomes true, and again only after it cleared.",
        )
        self.alert_table = _table(
            ["Name", "Rule", "State", "E-mail"],
            1,
            "No alerts yet. New alert… watches a number, such as gross volume or failed "
            "payments, and tells you when it goes above or below a value, or changes by "
            "more than a percentage.",
        )
        self.alert_table.cellDoubleClicked.connect(lambda row, _c: self._edit(row))
        layout.addWidget(self.alert_table)
        edit = QPushButton("Edit…")
        edit.clicked.connect(lambda: self._edit(self.alert_table.currentRow()))
        delete = QPushButton("Delete")
        delete.clicked.connect(self._delete_alert)
        layout.addLayout(self._buttons(edit, delete))
        column.addWidget(card)

        card, layout = self._card(
            "Scheduled reports",
            "A dashboard for a period, as PDF, PNG, CSV or Excel, into a folder or by e-mail "
            "(set up e-mail in Settings). Times are in your time zone.",
        )
        self.schedule_table = _table(
            ["Dashboard", "When", "Format", "To", "Last run"],
            4,
            "No scheduled reports yet. Schedule a report… sends a dashboard every day, week "
            "or month, by e-mail or into a folder.",
        )
        layout.addWidget(self.schedule_table)
        run_now = QPushButton("Run now")
        run_now.clicked.connect(self._run_now)
        delete_schedule = QPushButton("Delete")
        delete_schedule.clicked.connect(self._delete_schedule)
        layout.addLayout(self._buttons(run_now, delete_schedule))
        column.addWidget(card)
        column.addStretch(1)
        scroll.setWidget(body)
        self.set_body(scroll)

    @staticmethod
    def _card(title: str, help_text: str) -> tuple[QFrame, QVBoxLayout]:
        card = QFrame()
        card.setObjectName("card")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 16, 20, 18)
        layout.setSpacing(8)
        layout.addWidget(plain_label(title, "sectionTitle"))
        help_label = plain_label(help_text, "fieldHelp")
        help_label.setWordWrap(True)
        layout.addWidget(help_label)
        return card, layout

    @staticmethod
    def _buttons(*buttons: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        for button in buttons:
            row.addWidget(button)
        return row

    # --- loading --------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.reload()
        self.runner.run(lambda _state: self.alerts.mark_read(), key="read")

    def reload(self) -> None:
        def work(_state):
            return self.alerts.firings(), self.alerts.rows(), self.reports.schedule_rows()

        self.runner.run(work, lambda result: self.show_rows(*result), key="reload")

    def show_rows(self, firings, alerts, schedules) -> None:
        zone = ZoneInfo(self.time_zone())
        self.firings = firings
        self.recent.setRowCount(len(firings))
        for row, firing in enumerate(firings):
            bad = firing.kind == "report_failed"
            value = "" if firing.value is None else short_number(firing.value)
            cells = [
                _local(firing.at, zone),
                KIND_TEXT.get(firing.kind, firing.kind),
                firing.title,
                value,
                firing.message,
            ]
            for column, text in enumerate(cells):
                self.recent.setItem(row, column, _item(text, colour=BAD if bad else None))
        self._selection_changed()
        self.alert_table.setRowCount(len(alerts))
        for row, alert in enumerate(alerts):
            colour = BAD if alert.problem else (None if alert.enabled else MUTED)
            cells = [alert.name, alert.rule, alert.state, ", ".join(alert.email_to)]
            for column, text in enumerate(cells):
                self.alert_table.setItem(row, column, _item(text, alert.id, colour))
        self.schedule_table.setRowCount(len(schedules))
        for row, schedule in enumerate(schedules):
            next_run = (
                f" Next: {_local(schedule.next_run.replace(tzinfo=dt.UTC), zone)}."
                if schedule.next_run
                else ""
            )
            cells = [
                schedule.dashboard,
                schedule.when,
                schedule.format,
                schedule.delivers_to,
                (schedule.last or "Not run yet.") + next_run,
            ]
            colour = BAD if schedule.failed else None
            for column, text in enumerate(cells):
                self.schedule_table.setItem(row, column, _item(text, schedule.id, colour))
        self.reloads += 1

    # --- actions --------------------------------------------------------------------------

    def _selection_changed(self) -> None:
        row = self.recent.currentRow()
        has = 0 <= row < len(self.firings) and self.firings[row].drill is not None
        self.open_button.setEnabled(has and bool(self.recent.selectedItems()))

    def open_firing(self, row: int) -> None:
        if 0 <= row < len(self.firings) and self.firings[row].drill is not None:
            self.drill_requested.emit(self.firings[row].drill)

    def _selected_id(self, table: QTableWidget, row: int) -> int | None:
        item = table.item(row, 0) if row >= 0 else None
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _edit(self, row: int) -> None:
        alert_id = self._selected_id(self.alert_table, row)
        if alert_id is not None:
            self.edit_alert_requested.emit(alert_id)

    def _delete_alert(self) -> None:
        alert_id = self._selected_id(self.alert_table, self.alert_table.currentRow())
        if alert_id is None:
            return
        name = self.alert_table.item(self.alert_table.currentRow(), 0).text()
        if confirm(self, "Delete alert", f"Delete the alert “{name}”? Its firings stay listed."):
            self.runner.run(lambda _state: self.alerts.delete(alert_id), lambda _r: self.reload())

    def _run_now(self) -> None:
        schedule_id = self._selected_id(self.schedule_table, self.schedule_table.currentRow())
        if schedule_id is not None:
            self.run_schedule_requested.emit(schedule_id)

    def _delete_schedule(self) -> None:
        schedule_id = self._selected_id(self.schedule_table, self.schedule_table.currentRow())
        if schedule_id is None:
            return
        if confirm(self, "Delete scheduled report", "Stop sending this report?"):
            self.runner.run(
                lambda _state: self.reports.delete_schedule(schedule_id), lambda _r: self.reload()
            )


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    return timestamp(int(moment.timestamp()), zone)
