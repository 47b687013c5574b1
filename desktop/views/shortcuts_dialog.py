"""Help > Keyboard shortcuts: every key the app answers, in one list."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

from desktop.views.widgets import plain_label, primary_accept

# (keys, what they do, where): the shortcuts made across the views, written once here and
# checked against them by a test.
SHORTCUTS = (
    ("Ctrl+N", "New data source", "Everywhere"),
    ("Ctrl+1", "Data sources", "Everywhere"),
    ("Ctrl+2", "Dashboards", "Everywhere"),
    ("Ctrl+,", "Settings", "Everywhere"),
    ("F1", "Keyboard shortcuts (this list)", "Everywhere"),
    ("Ctrl+Q", "Quit", "Everywhere"),
    ("Ctrl+F", "Add a filter", "Registrations"),
    ("Ctrl+Shift+C", "Choose columns", "Registrations"),
    ("Enter", "Open the selected data source", "Data sources"),
    ("Ctrl+C", "Copy the selected value", "Registration details"),
    ("Ctrl+Shift+N", "Add a widget", "Dashboards"),
    ("F5", "Refresh the dashboard", "Dashboards"),
    ("F11", "Slideshow (full screen)", "Dashboards"),
    ("Right, Left", "Next or previous page", "Slideshow"),
    ("Space", "Pause or go on", "Slideshow"),
    ("Esc", "End the slideshow", "Slideshow"),
    ("Ctrl+Space", "Complete a name", "Formula editor"),
    ("Alt+Left", "Back", "New data source"),
)


def native(keys: str) -> str:
    """As this platform writes the keys (⌘ on a Mac)."""
    if ", " in keys:  # two keys
        return keys
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText) or keys


class ShortcutsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("Every action also has its button or menu.", "fieldHelp"))
        self.table = QTableWidget(len(SHORTCUTS), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (keys, action, where) in enumerate(SHORTCUTS):
            for column, text in enumerate((native(keys), action, where)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        primary_accept(buttons)
        layout.addWidget(buttons)
        self.resize(560, 520)
