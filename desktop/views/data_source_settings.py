"""Data sources > Settings…: a data source's title, default date field and update frequency."""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.catalog import DATA_TYPES, Kind
from desktop.services.data_sources import DataSourceSettings
from desktop.settings import UPDATE_FREQUENCIES
from desktop.views.formatting import frequency_text
from desktop.views.widgets import plain_label, primary_accept


class DataSourceSettingsDialog(QDialog):
    def __init__(
        self, current: DataSourceSettings, data_type: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{current.title}: settings")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.title = QLineEdit(current.title)
        self.date_field = QComboBox()
        for fld in DATA_TYPES[data_type].fields:
            if fld.kind is Kind.DATETIME:
                self.date_field.addItem(fld.label, fld.key)
        self.date_field.setCurrentIndex(
            max(0, self.date_field.findData(current.default_date_field))
        )
        self.frequency = QComboBox()
        for seconds in UPDATE_FREQUENCIES:
            self.frequency.addItem(frequency_text(seconds), seconds)
        self.frequency.setCurrentIndex(max(0, self.frequency.findData(current.update_frequency)))
        self.history_all = QRadioButton("All history")
        self.history_since = QRadioButton("Since")
        start = current.history_since or QDate.currentDate().addYears(-1).toPython()
        self.history_date = QDateEdit(start)
        self.history_date.setCalendarPopup(True)
        self.history_date.setDisplayFormat("d MMM yyyy")
        self.history_since.toggled.connect(self.history_date.setEnabled)
        (self.history_since if current.history_since else self.history_all).setChecked(True)
        self.history_date.setEnabled(current.history_since is not None)
        history = QHBoxLayout()
        for widget in (self.history_all, self.history_since, self.history_date):
            history.addWidget(widget)
        history.addStretch(1)
        form.addRow("Title", self.title)
        form.addRow("Default date field", self.date_field)
        form.addRow("Update frequency", self.frequency)
        form.addRow("History", history)
        layout.addLayout(form)
        help_text = plain_label(
            "The default date field is the one periods such as “this month” use in formulas, "
            "and the order of the registrations. A changed history applies when the data "
            "source is re-imported.",
            "fieldHelp",
        )
        help_text.setWordWrap(True)
        layout.addWidget(help_text)
        self.problem = plain_label("", "fieldHelp")
        self.problem.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        primary_accept(buttons)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)

    def settings(self) -> DataSourceSettings:
        since = self.history_date.date().toPython() if self.history_since.isChecked() else None
        return DataSourceSettings(
            self.title.text().strip(),
            self.date_field.currentData(),
            self.frequency.currentData(),
            since,
        )

    def _save(self) -> None:
        if not self.title.text().strip():
            self.problem.setText("Give the data source a title.")
            return
        self.accept()
