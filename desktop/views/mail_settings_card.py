"""Settings for alerts and reports: the SMTP server that sends them, its password (kept in
the system keychain), a Send test that says in words what failed, and running in the tray."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from desktop.services.mail import SECURITY
from desktop.settings import Settings
from desktop.views.widgets import FORM_FIELD_WIDTH, card_form, form_label, plain_label

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class MailSettingsCard(QFrame):
    changed = Signal(dict)  # Settings fields by name
    password_entered = Signal(str)
    test_requested = Signal(str, str)  # the address to send the test to, a password typed

    def __init__(
        self,
        settings: Settings,
        *,
        has_password: bool,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 18)
        layout.setSpacing(6)
        layout.addWidget(plain_label("Alerts & reports", "sectionTitle"))  # as in the sidebar
        # Where the password is kept is said when Settings shows (show_password_place):
        # finding the keychain must wait until the window is up.
        self.help_label = plain_label(
            "Alerts and scheduled reports can be e-mailed through your own mail server.",
            "fieldHelp",
        )
        self.help_label.setWordWrap(True)
        layout.addWidget(self.help_label)
        form = card_form()
        layout.addLayout(form)

        self.tray = QCheckBox("Keep running in the tray when the window closes")
        self.tray.setToolTip(
            "Alerts and scheduled reports go on; quit from the icon in the notification area"
        )
        self.tray.setChecked(settings.keep_running_in_tray)
        form.addRow(form_label("Alerts"), self.tray)
        self.host = QLineEdit(settings.smtp_host)
        self.host.setPlaceholderText("smtp.example.com")
        self.host.setMinimumWidth(FORM_FIELD_WIDTH)
        form.addRow(form_label("SMTP server"), self.host)
        row = QHBoxLayout()
        self.security = QComboBox()
        for key, text in SECURITY.items():
            self.security.addItem(text, key)
        self.security.setCurrentIndex(max(0, self.security.findData(settings.smtp_security)))
        row.addWidget(self.security)
        self.port = QSpinBox()
        self.port.setRange(1, 65_535)
        self.port.setValue(settings.smtp_port)
        self.port.setFixedWidth(90)
        self.security.setMinimumWidth(200)
        row.addSpacing(12)
        row.addWidget(plain_label("Port"))
        row.addWidget(self.port)
        row.addStretch(1)
        form.addRow(form_label("Security"), row)
        self.username = QLineEdit(settings.smtp_username)
        self.username.setPlaceholderText("user name (often the e-mail address)")
        self.username.setMinimumWidth(FORM_FIELD_WIDTH)
        form.addRow(form_label("User name"), self.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMinimumWidth(FORM_FIELD_WIDTH)
        self.set_has_password(has_password)
        form.addRow(form_label("Password"), self.password)
        self.sender = QLineEdit(settings.smtp_sender)
        self.sender.setPlaceholderText("Ledgerboard <reports@example.com>")
        self.sender.setMinimumWidth(FORM_FIELD_WIDTH)
        form.addRow(form_label("From"), self.sender)
        test_row = QHBoxLayout()
        self.test_to = QLineEdit()
        self.test_to.setPlaceholderText("you@example.com")
        self.test_to.setMinimumWidth(240)
        test_row.addWidget(self.test_to, 1)
        self.test_button = QPushButton("Send test")
        self.test_button.clicked.connect(self._test)
        test_row.addWidget(self.test_button)
        form.addRow(form_label("Test"), test_row)
        self.test_result = plain_label("")
        self.test_result.setWordWrap(True)
        self.test_result.setMinimumWidth(FORM_FIELD_WIDTH)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(form_label(""), self.test_result)
        for field, name in (  # read with their labels by a screen reader
            (self.host, "SMTP server"),
            (self.security, "Security"),
            (self.port, "Port"),
            (self.username, "User name"),
            (self.password, "Password"),
            (self.sender, "From"),
            (self.test_to, "Send a test to"),
        ):
            field.setAccessibleName(name)

        self.tray.toggled.connect(self._changed)
        for field in (self.host, self.username, self.sender):
            field.editingFinished.connect(self._changed)
        self.port.valueChanged.connect(self._changed)
        self.security.currentIndexChanged.connect(self._security_changed)
        self.password.editingFinished.connect(self._password)

    def show_password_place(self, place: str) -> None:
        """Where the password is kept, as Settings says it of keys ("in the system
        keychain", "in memory only, until Ledgerboard closes (demo mode)")."""
        self.help_label.setText(
            "Alerts and scheduled reports can be e-mailed through your own mail server. "
            f"The password is kept {place}."
        )

    def set_has_password(self, has: bool) -> None:
        self.password.setPlaceholderText(
            "saved in the system keychain (type to replace)" if has else "not set"
        )

    def _security_changed(self) -> None:
        port = self.port.value()
        if port in DEFAULT_PORTS.values():  # the user's own port stays
            self.port.setValue(DEFAULT_PORTS[self.security.currentData()])
        self._changed()

    def values(self) -> dict:
        return {
            "keep_running_in_tray": self.tray.isChecked(),
            "smtp_host": self.host.text().strip(),
            "smtp_port": self.port.value(),
            "smtp_security": self.security.currentData(),
            "smtp_username": self.username.text().strip(),
            "smtp_sender": self.sender.text().strip(),
        }

    def _changed(self, *_args) -> None:
        self.changed.emit(self.values())

    def _password(self) -> None:
        if self.password.text():
            self.password_entered.emit(self.password.text())
            self.password.clear()
            self.set_has_password(True)

    def _test(self) -> None:
        typed = self.password.text()
        if typed:  # stored by the test's own work, before it sends
            self.password.clear()
            self.set_has_password(True)
        self._changed()
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("color: #475569;")
        self.test_result.setText("Sending…")
        self.test_requested.emit(self.test_to.text().strip(), typed)

    def show_test_result(self, text: str, ok: bool) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setStyleSheet(f"color: {'#15803d' if ok else '#b91c1c'};")
        self.test_result.setText(text)
