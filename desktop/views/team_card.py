"""Settings > Team: use a shared PostgreSQL, test the connection, sync here or only view."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.services.team import TLS_MODES, SharedDatabase
from desktop.views.widgets import FORM_FIELD_WIDTH, card_form, form_label, plain_label

TLS_LABELS = {
    "prefer": "Prefer TLS",
    "require": "Require TLS",
    "verify-full": "Require TLS and check the certificate",
    "disable": "No TLS (a trusted network only)",
}


class TeamCard(QFrame):
    test_requested = Signal(object, str)  # SharedDatabase, the password typed ("" none)
    save_requested = Signal(object, str)  # SharedDatabase or None (not shared), password

    def __init__(self, shared: SharedDatabase | None, in_use: str | None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 18)
        layout.addWidget(plain_label("Team", "sectionTitle"))
        help_label = plain_label(
            "Share one PostgreSQL database with your team: one computer syncs each account, "
            "every other one shows the same numbers. Stripe keys stay on the computer that "
            "syncs; the database password stays in this computer's keychain.",
            "fieldHelp",
        )
        help_label.setWordWrap(True)
        layout.addWidget(help_label)
        self.use_shared = QCheckBox("Use a shared database")
        layout.addWidget(self.use_shared)
        form = card_form()  # as every settings card's: the fields line up with theirs
        self.host = QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(5432)
        self.database = QLineEdit()
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the keychain; empty: keep the saved one")
        self.tls = QComboBox()
        for mode in TLS_MODES:
            self.tls.addItem(TLS_LABELS[mode], mode)
        for label, field in (
            ("Host", self.host),
            ("Port", self.port),
            ("Database", self.database),
            ("User", self.user),
            ("Password", self.password),
            ("TLS", self.tls),
        ):
            field.setAccessibleName(f"Shared database: {label.lower()}")  # for screen readers
            if field is self.port:
                field.setFixedWidth(90)
            else:
                field.setMinimumWidth(FORM_FIELD_WIDTH)
            form.addRow(form_label(label), field)
        self.syncs = QRadioButton("This computer syncs")
        self.view_only = QRadioButton("View only")
        role = QButtonGroup(self)
        role.addButton(self.syncs)
        role.addButton(self.view_only)
        roles = QWidget()
        row = QHBoxLayout(roles)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(20)
        row.addWidget(self.syncs)
        row.addWidget(self.view_only)
        row.addStretch(1)
        form.addRow(form_label("This computer"), roles)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.save_button = QPushButton("Save")
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.result = plain_label("")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        if in_use:
            self.in_use = plain_label(f"In use now: {in_use}", "fieldHelp")
            layout.addWidget(self.in_use)
        self._show(shared)
        self.use_shared.toggled.connect(self._enable)
        self.test_button.clicked.connect(self._test)
        self.save_button.clicked.connect(self._save)
        self._enable(self.use_shared.isChecked())

    def shared(self) -> SharedDatabase:
        return SharedDatabase(
            host=self.host.text().strip(),
            database=self.database.text().strip(),
            user=self.user.text().strip(),
            port=self.port.value(),
            tls=self.tls.currentData(),
            this_computer_syncs=self.syncs.isChecked(),
        )

    def show_check(self, ok: bool, message: str) -> None:
        self.result.setObjectName("fieldHelp" if ok else "error")
        self.result.setText(message)
        self.test_button.setEnabled(True)

    def _show(self, shared: SharedDatabase | None) -> None:
        self.use_shared.setChecked(shared is not None)
        shared = shared or SharedDatabase("", "ledgerboard", "")
        self.host.setText(shared.host)
        self.port.setValue(shared.port)
        self.database.setText(shared.database)
        self.user.setText(shared.user)
        self.tls.setCurrentIndex(max(self.tls.findData(shared.tls), 0))
        (self.syncs if shared.this_computer_syncs else self.view_only).setChecked(True)

    def _enable(self, on: bool) -> None:
        for field in (self.host, self.port, self.database, self.user, self.password, self.tls):
            field.setEnabled(on)
        self.syncs.setEnabled(on)
        self.view_only.setEnabled(on)
        self.test_button.setEnabled(on)

    def _test(self) -> None:
        shared = self.shared()
        if not (shared.host and shared.database and shared.user):
            self.show_check(False, "Fill in the host, the database and the user first.")
            return
        self.test_button.setEnabled(False)
        self.result.setText("Connecting…")
        self.test_requested.emit(shared, self.password.text())

    def _save(self) -> None:
        shared = self.shared() if self.use_shared.isChecked() else None
        if shared is not None and not (shared.host and shared.database and shared.user):
            self.show_check(False, "Fill in the host, the database and the user first.")
            return
        self.save_requested.emit(shared, self.password.text())
        self.password.clear()
