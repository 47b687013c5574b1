"""The Filter button's dialog: field, operator, value, with operators that fit the field."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.catalog import DATA_TYPES, Kind
from desktop.services.kpi.periods import PERIODS
from desktop.services.query import (
    OPERATOR_LABELS,
    OPERATORS,
    FieldRef,
    Filter,
    amount_in_minor_units,
)
from desktop.views.formatting import QT_DATE_TIME
from desktop.views.widgets import plain_label, primary_accept

NO_VALUE = ("is_empty", "is_not_empty", "is_true", "is_false")


class FilterDialog(QDialog):
    def __init__(
        self,
        fields: list[FieldRef],
        data_type: str,
        parent: QWidget | None = None,
        currencies: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add filter")
        # Amounts are typed as the table shows them, in one of the data's currencies.
        self.currency_box = QComboBox()
        self.currency_box.setAccessibleName("Currency")
        for currency in currencies or []:
            self.currency_box.addItem(currency.upper(), currency)
        self.fields = sorted(fields, key=lambda f: f.label.lower())
        self.data_type = DATA_TYPES[data_type]
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.field_box = QComboBox()
        for field in self.fields:
            self.field_box.addItem(field.label, field.key)
        self.operator_box = QComboBox()
        form.addRow("Field", self.field_box)
        form.addRow("Operator", self.operator_box)
        self.values = QWidget()  # shows the one editor the operator needs
        self.text_value = QLineEdit()
        self.number_hint = plain_label("", "fieldHelp")
        self.low_value = QLineEdit()
        self.high_value = QLineEdit()
        self.date_value = QDateTimeEdit(QDateTime.currentDateTime())
        self.date_value.setCalendarPopup(True)
        self.date_value.setDisplayFormat(QT_DATE_TIME)
        self.date_from = QDateTimeEdit(QDateTime.currentDateTime().addMonths(-1))
        self.date_to = QDateTimeEdit(QDateTime.currentDateTime())
        for editor in (self.date_from, self.date_to):
            editor.setCalendarPopup(True)
            editor.setDisplayFormat(QT_DATE_TIME)
        date_range = QWidget()
        date_range_layout = QFormLayout(date_range)
        date_range_layout.setContentsMargins(0, 0, 0, 0)
        date_range_layout.addRow("From", self.date_from)
        date_range_layout.addRow("To", self.date_to)
        self.period = QComboBox()
        for key, label in PERIODS.items():
            self.period.addItem(label, key)
        self.period.setCurrentIndex(self.period.findData("this_month"))
        self.choices = QListWidget()
        between = QWidget()
        between_layout = QFormLayout(between)
        between_layout.setContentsMargins(0, 0, 0, 0)
        between_layout.addRow("From", self.low_value)
        between_layout.addRow("To", self.high_value)
        self.choices.setMaximumHeight(150)
        values_layout = QVBoxLayout(self.values)
        values_layout.setContentsMargins(0, 0, 0, 0)
        self.editors = [
            self.text_value,
            between,
            self.date_value,
            self.choices,
            date_range,
            self.period,
        ]
        for widget in self.editors:
            values_layout.addWidget(widget)
        self.value_label = plain_label("Value")
        form.addRow(self.value_label, self.values)
        self.currency_label = plain_label("Currency")
        form.addRow(self.currency_label, self.currency_box)
        self.number_hint.setWordWrap(True)
        form.addRow("", self.number_hint)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add filter")
        primary_accept(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.field_box.currentIndexChanged.connect(self._field_changed)
        self.operator_box.currentIndexChanged.connect(self._operator_changed)
        self.setMinimumWidth(420)
        self._field_changed()

    def field(self) -> FieldRef:
        return self.fields[self.field_box.currentIndex()]

    def select(self, key: str, op: str | None = None) -> None:
        """Preselect a field (and an operator), as the Livemode shortcut does."""
        self.field_box.setCurrentIndex(max(0, self.field_box.findData(key)))
        if op:
            self.operator_box.setCurrentIndex(max(0, self.operator_box.findData(op)))

    def _field_changed(self) -> None:
        field = self.field()
        self.operator_box.clear()
        for op in OPERATORS[field.kind]:
            self.operator_box.addItem(OPERATOR_LABELS[op], op)
        self.choices.clear()
        if field.kind is Kind.ENUM and self.data_type.has_field(field.key):
            for choice in self.data_type.field(field.key).choices:
                item = QListWidgetItem(choice)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.choices.addItem(item)
        self.number_hint.setText(
            "Type the amount as the table shows it (10.00); it applies to rows in this currency."
            if self._typed_in_units()
            else ""
        )
        self._operator_changed()

    def _typed_in_units(self) -> bool:
        return self.field().kind is Kind.MONEY and self.currency_box.count() > 0

    def _operator_changed(self) -> None:
        op = self.operator_box.currentData()
        kind = self.field().kind
        if op in NO_VALUE or op is None:
            shown = None
        elif op == "one_of":
            shown = self.choices
        elif kind is Kind.DATETIME and op in ("before", "after"):
            shown = self.date_value
        elif op == "in_period":
            shown = self.period
        elif op == "between" and kind is Kind.DATETIME:
            shown = self.editors[4]
        elif op == "between":
            shown = self.editors[1]
        else:
            shown = self.text_value
        for editor in self.editors:
            editor.setVisible(editor is shown)
        self.values.setVisible(shown is not None)
        self.value_label.setVisible(shown is not None)
        in_units = shown is not None and self._typed_in_units()
        self.currency_box.setVisible(in_units)
        self.currency_label.setVisible(in_units)
        self.number_hint.setVisible(in_units)
        self.adjustSize()

    def result_filter(self) -> Filter:
        field = self.field()
        op = self.operator_box.currentData()
        if op in NO_VALUE:
            return Filter(field.key, op)
        if op == "one_of":
            picked = [
                self.choices.item(i).text()
                for i in range(self.choices.count())
                if self.choices.item(i).checkState() == Qt.CheckState.Checked
            ]
            return Filter(field.key, op, picked)
        if field.kind is Kind.DATETIME and op in ("before", "after"):
            moment = self.date_value.dateTime().toPython()
            return Filter(
                field.key, op, int(moment.replace(tzinfo=moment.tzinfo or dt.UTC).timestamp())
            )
        if op == "in_period":
            return Filter(field.key, op, self.period.currentData())
        if op == "between" and field.kind is Kind.DATETIME:
            low, high = (
                int(e.dateTime().toSecsSinceEpoch()) for e in (self.date_from, self.date_to)
            )
            return Filter(field.key, op, (low, high))
        if op == "between":
            low, high = self.low_value.text().strip(), self.high_value.text().strip()
            if self._typed_in_units():
                currency = self.currency_box.currentData()
                units = (amount_in_minor_units(v, currency) for v in (low, high))
                return Filter(field.key, op, tuple(units), currency)
            return Filter(field.key, op, (low, high))
        text = self.text_value.text().strip()
        if self._typed_in_units() and op not in NO_VALUE:
            currency = self.currency_box.currentData()
            return Filter(field.key, op, amount_in_minor_units(text, currency), currency)
        return Filter(field.key, op, text)
