"""Help > About Ledgerboard."""

from __future__ import annotations

import platform
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop import APP_NAME, __version__
from desktop.views.icons import app_icon
from desktop.views.widgets import plain_label


class AboutDialog(QDialog):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 16)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        title = plain_label(APP_NAME, "pageTitle")
        texts.addWidget(title)
        texts.addWidget(plain_label(f"Version {__version__}", "pageSubtitle"))
        blurb = plain_label(
            "Your Stripe data on your own computer, turned into live KPIs and dashboards. "
            "Ledgerboard reads from Stripe and never changes anything in your account."
        )
        blurb.setWordWrap(True)
        texts.addSpacing(8)
        texts.addWidget(blurb)
        details = plain_label(
            f"Data folder: {data_dir}\n"
            f"Qt {qVersion()} · PySide6 {PySide6.__version__} · "
            f"Python {platform.python_version()} · {platform.system()}",
            "fieldHelp",
        )
        details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details.setWordWrap(True)
        texts.addSpacing(8)
        texts.addWidget(details)
        top.addSpacing(12)
        top.addLayout(texts, 1)
        layout.addLayout(top)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
