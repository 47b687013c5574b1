"""The one dialog that shows an unexpected error, with the log and report paths."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.views.icons import themed_icon
from desktop.views.widgets import plain_label


class CrashDialog(QDialog):
    def __init__(
        self, report: str, log_file: Path, report_file: Path | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Ledgerboard ran into a problem")
        self.setObjectName("crashDialog")
        self.report = report
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 14)
        top = QHBoxLayout()
        picture = QLabel()
        picture.setPixmap(themed_icon("warning", "#d97706").pixmap(40, 40))
        top.addWidget(picture, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.addWidget(plain_label("Something unexpected happened", "sectionTitle"))
        explanation = plain_label(
            "Your data is safe and Ledgerboard keeps running. The details below were written "
            "to the log; keys and tokens are removed from them. If this happens again, please "
            "send the details to support."
        )
        explanation.setWordWrap(True)
        texts.addWidget(explanation)
        where = plain_label(
            f"Log: {log_file}" + (f"\nReport: {report_file}" if report_file else ""), "fieldHelp"
        )
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where.setWordWrap(True)
        texts.addWidget(where)
        top.addSpacing(10)
        top.addLayout(texts, 1)
        layout.addLayout(top)
        self.details = QPlainTextEdit(report)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(620, 220)
        layout.addWidget(self.details, 1)
        buttons = QDialogButtonBox()
        copy = QPushButton("Copy details")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.report))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        open_logs = QPushButton("Open log folder")
        open_logs.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file.parent)))
        )
        buttons.addButton(open_logs, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class CrashDialogPresenter(QObject):
    """Shows crash reports on the GUI thread, whichever thread the error happened on."""

    _report = Signal(str, object)
    shown = Signal(object)  # the CrashDialog, for tests and the self-test

    def __init__(self, log_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._log_file = log_file
        self._dialog: CrashDialog | None = None
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def present(self, report: str, report_file: Path | None) -> None:
        """Callable from any thread: the dialog opens on the GUI thread."""
        self._report.emit(report, report_file)

    @Slot(str, object)
    def _show(self, report: str, report_file: Path | None) -> None:
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.details.appendPlainText("\n" + report)
            return
        self._dialog = CrashDialog(report, self._log_file, report_file)
        self._dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog.destroyed.connect(self._forget)
        self._dialog.show()
        self.shown.emit(self._dialog)

    @Slot()
    def _forget(self) -> None:
        self._dialog = None
