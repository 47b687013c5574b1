"""The editors of an alert and of a scheduled report. Each saves through a function it is
given, on a worker (its Runner); a refusal (an alert or schedule that cannot be saved) is shown
in the dialog, in words, and the dialog stays open."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.services.kpi.alerts import CONDITIONS, AlertError
from desktop.services.kpi.periods import DASHBOARD_PERIODS
from desktop.services.kpi.reports import FORMATS, FREQUENCIES, WEEKDAY_NAMES, ReportError
from desktop.views.widgets import plain_label

CONDITION_TEXT = {
    "above": "Goes above",
    "below": "Goes below",
    "change": "Changes by more than … % vs the previous period",
    "sync_failed": "Sync failing for longer than … minutes",
}


def _recipients(text: str) -> list[str]:
    return [r.strip() for r in text.replace(";", ",").split(",") if r.strip()]


class _SavingDialog(QDialog):
    saved = Signal()
    refused = Signal(str)

    def __init__(
        self, title: str, save: Callable[[dict], None], runner, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(600)
        self._save = save
        self.runner = runner.for_view(self)
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.layout_.addLayout(self.form)
        self.message = plain_label("", "fieldError")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #dc2626;")
        self.layout_.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.layout_.addWidget(self.buttons)

    def values(self) -> dict:
        raise NotImplementedError

    def save(self) -> None:
        values = self.values()
        save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save_button.setEnabled(False)
        self.message.setText("")

        def done(_result) -> None:
            save_button.setEnabled(True)
            self.saved.emit()
            self.accept()

        def failed(exc: BaseException) -> None:
            save_button.setEnabled(True)
            known = isinstance(exc, AlertError | ReportError)  # others are logged as bugs
            self.message.setText(str(exc) if known else f"It could not be saved: {exc}")
            self.refused.emit(str(exc))

        self.runner.run(lambda _state: self._save(values), done, failed, key="save")


class AlertDialog(_SavingDialog):
    """An alert: on a number (a formula for a period) or on the syncs' health."""

    def __init__(
        self,
        save: Callable[[dict], None],
        runner,
        data_sources: list[tuple[int, str]],
        initial: dict | None = None,
        *,
        has_mail: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        initial = initial or {}
        title = "Edit alert" if initial.get("id") else "New alert"
        super().__init__(title, save, runner, parent)
        self.name = QLineEdit(initial.get("name", ""))
        self.name.setPlaceholderText("e.g. Big refund day")
        self.form.addRow("Name", self.name)
        self.condition = QComboBox()
        for key in CONDITIONS:
            self.condition.addItem(CONDITION_TEXT[key], key)
        self.condition.setCurrentIndex(max(0, self.condition.findData(initial.get("condition"))))
        self.form.addRow("Alert when", self.condition)
        self.formula = QLineEdit(initial.get("formula", ""))
        self.formula.setPlaceholderText('Sum(Charges, amount, currency = "usd")')
        self.form.addRow("Number (formula)", self.formula)
        self.period = QComboBox()
        for key, text in DASHBOARD_PERIODS.items():
            self.period.addItem(text, key)
        self.period.setCurrentIndex(max(0, self.period.findData(initial.get("period", "today"))))
        self.form.addRow("Over", self.period)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(-1e12, 1e12)
        self.threshold.setDecimals(2)
        self.threshold.setGroupSeparatorShown(True)
        self.threshold.setValue(float(initial.get("threshold", 0)))
        self.form.addRow("Value", self.threshold)
        self.data_source = QComboBox()
        self.data_source.addItem("Any data source", None)
        for ds_id, title in data_sources:
            self.data_source.addItem(title, ds_id)
        self.data_source.setCurrentIndex(
            max(0, self.data_source.findData(initial.get("data_source_id")))
        )
        self.form.addRow("Data source", self.data_source)
        self.email = QLineEdit(", ".join(initial.get("email_to", [])))
        self.email.setPlaceholderText(
            "also e-mail to (optional)" if has_mail else "set up e-mail in Settings first"
        )
        self.form.addRow("E-mail to", self.email)
        self.condition.currentIndexChanged.connect(self._condition_changed)
        self._condition_changed()

    def _condition_changed(self) -> None:
        condition = self.condition.currentData()
        on_number = condition != "sync_failed"
        for field in (self.formula, self.period):
            field.setEnabled(on_number)
        self.data_source.setEnabled(not on_number)
        label = self.form.labelForField(self.threshold)
        label.setText({"change": "Percent", "sync_failed": "Minutes"}.get(condition, "Value"))

    def values(self) -> dict:
        return {
            "name": self.name.text(),
            "condition": self.condition.currentData(),
            "formula": self.formula.text(),
            "period": self.period.currentData(),
            "threshold": self.threshold.value(),
            "data_source_id": self.data_source.currentData(),
            "email_to": _recipients(self.email.text()),
        }


class ScheduleDialog(_SavingDialog):
    """A dashboard sent out daily, weekly or monthly, into a folder and/or by e-mail."""

    def __init__(
        self,
        save: Callable[[dict], None],
        runner,
        dashboards: list[tuple[int, str]],
        *,
        time_zone: str,
        has_mail: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Schedule a report", save, runner, parent)
        self.dashboard = QComboBox()
        for dashboard_id, title in dashboards:
            self.dashboard.addItem(title, dashboard_id)
        self.form.addRow("Dashboard", self.dashboard)
        self.period = QComboBox()
        for key, text in DASHBOARD_PERIODS.items():
            self.period.addItem(text, key)
        self.period.setCurrentIndex(self.period.findData("previous_week"))
        self.form.addRow("Period", self.period)
        self.format = QComboBox()
        for key, text in FORMATS.items():
            self.format.addItem(text, key)
        self.form.addRow("Format", self.format)
        self.frequency = QComboBox()
        for key, text in FREQUENCIES.items():
            self.frequency.addItem(text, key)
        self.frequency.setCurrentIndex(self.frequency.findData("weekly"))
        self.form.addRow("Send", self.frequency)
        self.weekday = QComboBox()
        self.weekday.addItems(WEEKDAY_NAMES)
        self.form.addRow("On", self.weekday)
        self.day = QSpinBox()
        self.day.setRange(1, 28)
        self.day.setPrefix("day ")
        self.form.addRow("On the", self.day)
        self.at = QTimeEdit(QTime(8, 0))
        self.at.setDisplayFormat("HH:mm")
        self.form.addRow(f"At ({time_zone})", self.at)
        folder_row = QHBoxLayout()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder to save each report in (optional)")
        folder_row.addWidget(self.folder, 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        folder_row.addWidget(browse)
        self.form.addRow("Folder", folder_row)
        self.email = QLineEdit()
        self.email.setPlaceholderText(
            "e-mail to (optional)" if has_mail else "set up e-mail in Settings first"
        )
        self.form.addRow("E-mail to", self.email)
        self.frequency.currentIndexChanged.connect(self._frequency_changed)
        self._frequency_changed()

    def _frequency_changed(self) -> None:
        frequency = self.frequency.currentData()
        for field, shown in ((self.weekday, "weekly"), (self.day, "monthly")):
            field.setVisible(frequency == shown)
            self.form.labelForField(field).setVisible(frequency == shown)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save reports in", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def values(self) -> dict:
        return {
            "dashboard_id": self.dashboard.currentData(),
            "period": self.period.currentData(),
            "format": self.format.currentData(),
            "frequency": self.frequency.currentData(),
            "weekday": self.weekday.currentIndex(),
            "day_of_month": self.day.value(),
            "at_time": self.at.time().toString("HH:mm"),
            "folder": self.folder.text(),
            "email_to": _recipients(self.email.text()),
        }
