"""Which fields the registrations table shows: one checkable list that stays open while the
user ticks, with a search, and every field named so that two never read alike."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.views.widgets import plain_label

KeyRole = Qt.ItemDataRole.UserRole


def distinct_labels(fields: list[tuple[str, str, bool]]) -> dict[str, str]:
    """Each field's label, with its key beside it where two fields share a label
    ("Payment method" is both a charge's payment_method and its details' type)."""
    counts = Counter(label for _key, label, _shown in fields)
    return {
        key: f"{label} ({key})" if counts[label] > 1 else label for key, label, _shown in fields
    }


class ColumnChooser(QDialog):
    """Tick the columns to show; they show in the order they have (new ones at the end)."""

    def __init__(
        self, fields: list[tuple[str, str, bool]], shown: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Columns")
        self.setObjectName("columnChooser")
        self._shown = list(shown)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("Tick the fields the table shows.", "fieldHelp"))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a field…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find a field")
        self.search.textChanged.connect(self._find)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setAccessibleName("Fields")
        self.list.setUniformItemSizes(True)
        labels = distinct_labels(fields)
        for key, _label, _visible in fields:
            item = QListWidgetItem(labels[key])
            item.setData(KeyRole, key)
            item.setToolTip(key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if key in shown else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.setMinimumHeight(min(360, 24 * max(6, len(fields))))
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.all_button = QPushButton("Show all")
        self.all_button.clicked.connect(lambda: self._set_all(True))
        self.none_button = QPushButton("Hide all")
        self.none_button.clicked.connect(lambda: self._set_all(False))
        row.addWidget(self.all_button)
        row.addWidget(self.none_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(360, 480)

    def _find(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.list.count()):
            item = self.list.item(row)
            found = needle in item.text().lower() or needle in item.data(KeyRole).lower()
            item.setHidden(bool(needle) and not found)

    def _set_all(self, on: bool) -> None:
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        for row in range(self.list.count()):
            if not self.list.item(row).isHidden():
                self.list.item(row).setCheckState(state)

    def chosen(self) -> list[str]:
        """The ticked fields: those shown before in their order, then the newly ticked."""
        ticked = [
            self.list.item(r).data(KeyRole)
            for r in range(self.list.count())
            if self.list.item(r).checkState() == Qt.CheckState.Checked
        ]
        return [k for k in self._shown if k in ticked] + [k for k in ticked if k not in self._shown]
