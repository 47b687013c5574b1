"""Settings > Connected accounts: each Stripe account, with Disconnect and Reconnect."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.accounts import AccountRow
from desktop.views.widgets import confirm, plain_label

STATUS_TEXT = {
    "connected": "Connected",
    "needs_reconnect": "Needs reconnecting",
    "disconnected": "Disconnected",
}


class AccountsCard(QFrame):
    disconnect_requested = Signal(int)
    reconnect_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 18)
        layout.addWidget(plain_label("Connected accounts", "sectionTitle"))
        help_text = plain_label(
            "Disconnecting removes an account's keys from this computer (and revokes a browser "
            "login); its imported data stays until you delete the data sources.",
            "fieldHelp",
        )
        help_text.setWordWrap(True)
        layout.addWidget(help_text)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(16)
        self.grid.setVerticalSpacing(8)
        layout.addLayout(self.grid)
        self.empty = plain_label("No account is connected yet.", "fieldHelp")
        layout.addWidget(self.empty)
        self.buttons: dict[int, tuple[QPushButton, QPushButton]] = {}

    def set_accounts(self, rows: list[AccountRow]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.buttons.clear()
        self.empty.setVisible(not rows)
        for n, row in enumerate(rows):
            method = "Browser login" if row.method == "oauth" else "API key"
            mode = "live" if row.livemode else "test mode"
            # The name with its details under it: side by side, they and the buttons had
            # made the card wider than the page at 1024 px.
            named = QWidget()
            lines = QVBoxLayout(named)
            lines.setContentsMargins(0, 0, 0, 0)
            lines.setSpacing(2)
            lines.addWidget(plain_label(row.name))
            details = f"{method}, {mode}, {row.data_sources} data sources"
            lines.addWidget(plain_label(details, "fieldHelp"))
            self.grid.addWidget(named, n, 0)
            self.grid.addWidget(plain_label(STATUS_TEXT.get(row.status, row.status)), n, 1)
            actions = QHBoxLayout()
            reconnect = QPushButton("Reconnect…")
            reconnect.clicked.connect(lambda _=False, i=row.id: self.reconnect_requested.emit(i))
            disconnect = QPushButton("Disconnect")
            disconnect.setEnabled(row.status != "disconnected")
            disconnect.clicked.connect(lambda _=False, r=row: self._confirm_disconnect(r))
            actions.addWidget(reconnect)
            actions.addWidget(disconnect)
            holder = QWidget()
            holder.setLayout(actions)
            self.grid.addWidget(holder, n, 2)
            self.buttons[row.id] = (reconnect, disconnect)
        self.grid.setColumnStretch(0, 1)

    def _confirm_disconnect(self, row: AccountRow) -> None:
        if confirm(
            self,
            "Disconnect account",
            f"Disconnect {row.name}? Its keys are removed from this computer and syncing stops. "
            "The data already imported stays.",
        ):
            self.disconnect_requested.emit(row.id)
