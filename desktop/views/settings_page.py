"""Settings: regional settings, defaults for new data sources, where the data lives."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.settings import (
    UPDATE_FREQUENCIES,
    WEEKDAYS,
    Settings,
    system_time_zone,
    zone_names,
)
from desktop.views.formatting import frequency_text
from desktop.views.icons import themed_icon
from desktop.views.widgets import (
    FORM_FIELD_WIDTH,
    ElidedLabel,
    Page,
    card_form,
    form_label,
    plain_label,
)


def _add_row(form: QFormLayout, label: str, field: QWidget) -> None:
    """A form row whose label has the same width in every card, so the fields line up."""
    text = form_label(label)
    text.setBuddy(field)  # read with its label by a screen reader, reached by it
    field.setAccessibleName(label)
    form.addRow(text, field)


class SettingsPage(Page):
    settings_changed = Signal(object)  # Settings
    # Where keys are kept, said each time the page shows ("in the system keychain"): for the
    # cards that keep a secret of their own (the mail password).
    keys_place_said = Signal(str)

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        log_dir: Path,
        parent: QWidget | None = None,
        accounts_card: QWidget | None = None,
        more_cards: tuple[QWidget, ...] = (),
        keys_place: Callable[[], str] | None = None,
    ) -> None:
        super().__init__("Settings", "Changes are saved as you make them", parent)
        self._settings = settings
        self._keys_place = keys_place or (lambda: "in the system keychain")

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("page")
        column = QVBoxLayout(body)
        column.setContentsMargins(28, 20, 28, 28)
        column.setSpacing(16)

        regional, form = self._card("Regional", "Periods such as “this week” use these.")
        self.time_zone = QComboBox()
        self.time_zone.setEditable(True)
        self.time_zone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.time_zone.addItem(f"System time zone ({system_time_zone()})", "")
        for zone in sorted(zone_names()):
            self.time_zone.addItem(zone, zone)
        self.time_zone.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.time_zone.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.time_zone.setMinimumWidth(FORM_FIELD_WIDTH)
        self.time_zone.lineEdit().setAccessibleName("Time zone")
        _add_row(form, "Time zone", self.time_zone)
        self.week_start = QComboBox()
        self.week_start.addItems(WEEKDAYS)
        self.week_start.setMinimumWidth(FORM_FIELD_WIDTH)
        _add_row(form, "Weeks start on", self.week_start)
        column.addWidget(regional)

        syncing, form = self._card("Data sources", "Defaults for data sources you add from now on.")
        self.update_frequency = QComboBox()
        for seconds in UPDATE_FREQUENCIES:
            self.update_frequency.addItem(frequency_text(seconds), seconds)
        self.update_frequency.setMinimumWidth(FORM_FIELD_WIDTH)
        _add_row(form, "Update frequency", self.update_frequency)
        column.addWidget(syncing)

        if accounts_card is not None:
            column.addWidget(accounts_card)
        for card in more_cards:
            column.addWidget(card)

        storage, form = self._card("Your data", "")
        self.storage_help = storage.help_label  # says where keys are once shown
        _add_row(form, "Data folder", self._folder_row(data_dir))
        _add_row(form, "Log folder", self._folder_row(log_dir))
        column.addWidget(storage)
        column.addStretch(1)
        scroll.setWidget(body)
        self.set_body(scroll)

        self._show(settings)
        self.time_zone.currentIndexChanged.connect(self._changed)
        self.week_start.currentIndexChanged.connect(self._changed)
        self.update_frequency.currentIndexChanged.connect(self._changed)

    def _show_keys_place(self) -> None:
        """Where keys are, as it is now: the keychain, or memory when the user chose it (or
        demo mode did) for want of one."""
        place = self._keys_place()
        self.storage_help.setText(
            "Everything Ledgerboard imports stays in this folder. Keys and tokens are kept "
            f"{place}, never in these files."
        )
        self.keys_place_said.emit(place)

    def showEvent(self, event) -> None:
        # Each time (a wizard may have chosen memory since), and after the page is painted:
        # finding the keychain can take a while, and never before the window shows.
        QTimer.singleShot(0, self, self._show_keys_place)
        super().showEvent(event)

    @staticmethod
    def _card(title: str, help_text: str) -> tuple[QFrame, QFormLayout]:
        card = QFrame()
        card.setObjectName("card")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 16, 20, 18)
        layout.setSpacing(6)
        layout.addWidget(plain_label(title, "sectionTitle"))
        help_label = plain_label(help_text, "fieldHelp")
        help_label.setWordWrap(True)
        card.help_label = help_label
        layout.addWidget(help_label)
        form = card_form()
        layout.addLayout(form)
        return card, form

    @staticmethod
    def _folder_row(path: Path) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        # A long path gives up its middle ("/home/…/Ledgerboard") before the page scrolls
        # sideways; whole in its tooltip, and the button opens the folder.
        label = ElidedLabel(str(path))
        label.mode = Qt.TextElideMode.ElideMiddle
        label.setMinimumWidth(120)
        layout.addWidget(label, 1)
        button = QPushButton(themed_icon("folder"), "Open")
        button.setToolTip(f"Show {path} in the file manager")
        button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        layout.addWidget(button)
        return row

    def _show(self, settings: Settings) -> None:
        index = self.time_zone.findData(settings.time_zone)
        self.time_zone.setCurrentIndex(max(index, 0))
        self.week_start.setCurrentIndex(settings.week_start)
        self.update_frequency.setCurrentIndex(
            max(self.update_frequency.findData(settings.default_update_frequency), 0)
        )

    def _changed(self) -> None:
        # Only what this page shows changes: the other cards' settings stay as they are.
        self._settings = dataclasses.replace(
            self._settings,
            time_zone=self.time_zone.currentData() or "",
            week_start=self.week_start.currentIndex(),
            default_update_frequency=self.update_frequency.currentData(),
        )
        self.settings_changed.emit(self._settings)

    def update_settings(self, settings: Settings) -> None:
        """Settings changed elsewhere (another card): kept, without showing or emitting."""
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings
