"""Saved formulas: named formulas that widgets and other formulas reuse as [Name]."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.kpi.syntax import FormulaError
from desktop.views.formula_edit import FormulaEdit
from desktop.views.widgets import confirm, plain_label


class SavedFormulasDialog(QDialog):
    saved = Signal(str)  # the name, once stored
    refused = Signal(str)  # why the formula was not stored

    def __init__(self, helper, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner.for_view(self)
        self.setWindowTitle("Saved formulas")
        self.setMinimumSize(760, 360)
        self.helper = helper
        self.library = helper.library
        self.editing: str | None = None  # the saved name being edited; None for a new one
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._selected)
        left.addWidget(self.list, 1)
        new = QPushButton("New formula")
        new.clicked.connect(self.new)
        left.addWidget(new)
        layout.addLayout(left, 1)
        right = QVBoxLayout()
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("Average order value")
        form.addRow("Name", self.name)
        self.formula = FormulaEdit(helper.check_error, helper.words)
        form.addRow("Formula", self.formula)
        right.addLayout(form)
        self.message = plain_label("", "formulaMessage")
        self.message.setWordWrap(True)
        right.addWidget(self.message)
        self.usage = plain_label("", "fieldHelp")
        self.usage.setWordWrap(True)
        right.addWidget(self.usage)
        right.addStretch(1)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        self.save_button = QPushButton("Save formula")
        self.save_button.setProperty("primary", True)
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.save_button)
        right.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        right.addWidget(close)
        layout.addLayout(right, 2)
        self.formula.validated.connect(self._validated)
        self.reload()
        if not self.library.names():
            self.new()

    def reload(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for name in self.library.names():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
            if name == select:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._selected(self.list.currentItem())

    def _selected(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None:
            return
        self.editing = item.data(Qt.ItemDataRole.UserRole)
        self.name.setText(self.editing)
        self.formula.setText(self.library.text_of(self.editing) or "")
        users = self.library.used_by(self.editing)
        self.usage.setText(
            f"Write [{self.editing}] to use it. Used by: {', '.join(users)}."
            if users
            else f"Write [{self.editing}] in a widget or another formula to use it."
        )
        self.delete_button.setEnabled(True)

    def new(self) -> None:
        self.list.clearSelection()
        self.editing = None
        self.name.clear()
        self.formula.setText("")
        self.usage.setText("")
        self.delete_button.setEnabled(False)
        self.name.setFocus()

    def _validated(self, error: FormulaError | None) -> None:
        self.message.setText(str(error) if error else "")
        self.message.setProperty("state", "error" if error else "")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.save_button.setEnabled(error is None and bool(self.formula.text().strip()))

    def save(self) -> None:
        """Check and store the formula on a worker; `saved` or `refused` tells how it went."""
        name, text, old_name = self.name.text(), self.formula.text().strip(), self.editing

        def stored(_done) -> None:
            self.reload(select=" ".join(name.split()))
            self.message.setText("Saved.")
            self.saved.emit(name)

        def failed(exc: BaseException) -> None:
            self.message.setText(str(exc))
            self.message.setProperty("state", "error")
            self.message.style().polish(self.message)
            self.refused.emit(str(exc))

        self.runner.write(
            lambda _state: self.library.save(name, text, old_name=old_name), stored, failed
        )

    def delete(self) -> None:
        if self.editing is None:
            return
        users = self.library.used_by(self.editing)
        warning = f" It is used by {', '.join(users)}, which will stop working." if users else ""
        if confirm(self, "Delete formula", f"Delete the formula “{self.editing}”?{warning}"):
            name = self.editing

            def deleted(_done) -> None:
                self.new()
                self.reload()

            self.runner.write(lambda _state: self.library.delete(name), deleted, self._say)

    def _say(self, error: BaseException) -> None:
        self.message.setText(str(error))
