"""Data sources > New data source: the wizard. It renders NewSourceFlow's steps; the rules
(what Next needs, what the defaults are) live in the flow, the work in services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.catalog import DATA_TYPES
from desktop.services.accounts import AccountsService
from desktop.services.data_sources import DataSourcesService
from desktop.services.new_source_flow import ConnectMethod, NewSourceFlow, Step
from desktop.services.stripe.connections import ConnectionError_, ConnectionsService, KeyCheck
from desktop.services.stripe.errors import Cancelled
from desktop.services.stripe.oauth import LoginError, OAuthClient, ProviderProfile, Tokens
from desktop.services.sync.engine import SyncProgress
from desktop.services.sync.service import SyncService
from desktop.services.tasks import Runner
from desktop.settings import UPDATE_FREQUENCIES
from desktop.views.formatting import count_text, frequency_text, sync_progress
from desktop.views.icons import themed_icon
from desktop.views.widgets import plain_label, plain_tooltip, primary_button

STEP_TITLES = {
    Step.SOURCE: ("Choose a data source", "Where should Ledgerboard get the data from?"),
    Step.CONNECT: (
        "Connect Stripe",
        "Ledgerboard only reads: it never changes anything in Stripe.",
    ),
    Step.TYPES: (
        "Select data types",
        "Each data type becomes one data source; its rows are registrations.",
    ),
    Step.IMPORT: (
        "Importing",
        "You can close this window; the import continues in the background.",
    ),
}
KEY_HELP = (
    "Create a restricted key in the Stripe Dashboard (Developers > API keys > Create restricted "
    "key) with Read access to: Balance transaction sources, Charges, Customers, Disputes, "
    "Events, Invoices, PaymentIntents and Refunds. The key is kept in this computer's keychain."
)


@dataclass
class WizardServices:
    connections: ConnectionsService
    accounts: AccountsService
    sync: SyncService
    runner: Runner
    profile: ProviderProfile | None  # the browser login's provider; None: not set up
    api_base: str | None = None  # where keys are checked and data is read (None: Stripe)
    default_frequency: int = 300
    demo: bool = False
    login_timeout: float = 300  # seconds the browser has to come back
    data_sources: DataSourcesService | None = None  # counts a finished import's rows


class NewDataSourceWizard(QDialog):
    """The four steps, Back / Next / Cancel, and the import's progress."""

    finished_import = Signal(list)  # ids of the new data sources
    authorize_url_ready = Signal(str)  # for tests and the copyable link
    counted = Signal()  # the finished rows say their registrations

    def __init__(
        self,
        services: WizardServices,
        open_url: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New data source")
        self.setObjectName("newSourceWizard")
        self.services = services
        self.runner = services.runner.for_view(self)
        self.flow = NewSourceFlow()
        self.open_url = open_url or (lambda url: QDesktopServices.openUrl(QUrl(url)))
        self._login_task = None
        self._pending_tokens: list[Tokens] | None = None
        self._pending_key: str | None = None
        self._existing_account = None  # the account a login turned out to renew
        self._new_ids: list[int] = []
        self._outcomes: dict[int, str] = {}  # data source id -> how its import ended
        self._import_finished = False
        self.setMinimumSize(760, 600)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        header = QFrame()
        header.setObjectName("pageHeader")
        header_layout = QVBoxLayout(header)
        header_layout.setContentsMargins(28, 18, 28, 14)
        self.step_label = plain_label("", "fieldHelp")
        self.title = plain_label("", "pageTitle")
        self.subtitle = plain_label("", "pageSubtitle")
        self.subtitle.setWordWrap(True)
        for widget in (self.step_label, self.title, self.subtitle):
            header_layout.addWidget(widget)
        layout.addWidget(header)

        self.stack = QStackedWidget()
        self.source_page = self._build_source_page()
        self.connect_page = self._build_connect_page()
        self.types_page = self._build_types_page()
        self.import_page = self._build_import_page()
        for page in (self.source_page, self.connect_page, self.types_page, self.import_page):
            self.stack.addWidget(page)
        layout.addWidget(self.stack, 1)

        footer = QFrame()
        footer.setObjectName("pageHeader")
        buttons = QHBoxLayout(footer)
        buttons.setContentsMargins(28, 12, 28, 12)
        self.blocker_label = plain_label("", "fieldHelp")
        self.blocker_label.setWordWrap(True)
        buttons.addWidget(self.blocker_label, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(self.go_back)
        self.next_button = primary_button("Next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.go_next)
        for button in (self.cancel_button, self.back_button, self.next_button):
            buttons.addWidget(button)
        layout.addWidget(footer)
        QShortcut(QKeySequence("Alt+Left"), self, self.go_back)

        services.sync.progress.connect(self._import_progress)
        services.sync.results.connect(self._import_results)
        self._show_step()

    # --- step 1: source ---

    def _build_source_page(self) -> QWidget:
        page, column = _page()
        self.stripe_card = QRadioButton("  Stripe")
        self.stripe_card.setObjectName("sourceCard")
        self.stripe_card.setChecked(True)
        self.stripe_card.setIcon(themed_icon("data-sources", "#635bff"))
        column.addWidget(self.stripe_card)
        text = plain_label(
            "Payments, customers, invoices, refunds, disputes, fees and balance transactions "
            "from your Stripe account, in live mode and, if you like, with test-mode sample data."
        )
        text.setWordWrap(True)
        text.setContentsMargins(28, 0, 0, 0)
        column.addWidget(text)
        column.addStretch(1)
        return page

    # --- step 2: connect ---

    def _build_connect_page(self) -> QWidget:
        page, column = _page()
        secrets = self.services.connections.secrets
        if self.services.demo and not secrets.keychain_available():
            # The simulator's keys are worth nothing outside this run: no question to ask.
            secrets.keep_for_this_session_only(demo=True)
        self.flow.keychain = secrets.keychain_available() or secrets.session_only
        # Without a keychain the choice comes first, said once, before anything connects.
        self.keychain_warning = plain_label(
            "This computer has no keychain Ledgerboard can use (such as GNOME Keyring or "
            "KWallet), and Ledgerboard never writes keys to a plain file. To connect, let "
            "Ledgerboard keep the keys in memory until it closes.",
            "fieldHelp",
        )
        self.keychain_warning.setWordWrap(True)
        self.keychain_warning.setStyleSheet("color: #b45309;")
        self.session_only = QCheckBox(
            "Keep keys only until Ledgerboard closes (you will connect again next time)"
        )
        self.session_only.toggled.connect(self._session_only_toggled)
        column.addWidget(self.keychain_warning)
        column.addWidget(self.session_only)
        column.addSpacing(6)
        self.keychain_warning.setVisible(not self.flow.keychain)
        self.session_only.setVisible(not self.flow.keychain)
        self.method_group = QButtonGroup(self)
        self.browser_option = QRadioButton("Log in with Stripe in your browser (recommended)")
        self.key_option = QRadioButton("Use a restricted API key")
        self.method_group.addButton(self.browser_option)
        self.method_group.addButton(self.key_option)
        self.browser_option.toggled.connect(self._method_changed)

        column.addWidget(self.browser_option)
        browser_box = QWidget()
        browser = QVBoxLayout(browser_box)
        browser.setContentsMargins(28, 0, 0, 8)
        profile = self.services.profile
        demo = (
            " In demo mode this is the Stripe simulator's page: any email and password work."
            if self.services.demo
            else ""
        )
        self.browser_help = plain_label(
            "Your browser opens Stripe's page; sign in and click Approve, then come back here."
            + demo
            if profile and profile.configured
            else (
                profile.not_configured_reason()
                if profile
                else "Log in with Stripe is not set up on this computer."
            )
            + " Use a restricted API key instead: it is Stripe's recommendation for software "
            "that runs on your own computer.",
            "fieldHelp",
        )
        self.browser_help.setWordWrap(True)
        browser.addWidget(self.browser_help)
        row = QHBoxLayout()
        self.login_button = primary_button("Log in with Stripe")
        self.login_button.clicked.connect(self.start_login)
        self.cancel_login_button = QPushButton("Cancel login")
        self.cancel_login_button.clicked.connect(self.cancel_login)
        self.cancel_login_button.hide()
        row.addWidget(self.login_button)
        row.addWidget(self.cancel_login_button)
        row.addStretch(1)
        browser.addLayout(row)
        self.login_busy = QProgressBar()
        self.login_busy.setRange(0, 0)
        self.login_busy.setMaximumHeight(6)
        self.login_busy.setTextVisible(False)
        self.login_busy.hide()
        browser.addWidget(self.login_busy)
        self.login_link = plain_label("", "fieldHelp")
        self.login_link.setWordWrap(True)
        self.login_link.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.login_link.hide()
        browser.addWidget(self.login_link)
        self.copy_link_button = QPushButton("Copy link")
        self.copy_link_button.hide()
        self.copy_link_button.clicked.connect(self._copy_link)
        browser.addWidget(self.copy_link_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(browser_box)
        self.browser_box = browser_box

        column.addWidget(self.key_option)
        key_box = QWidget()
        key = QVBoxLayout(key_box)
        key.setContentsMargins(28, 0, 0, 0)
        key_help = plain_label(KEY_HELP, "fieldHelp")
        key_help.setWordWrap(True)
        key.addWidget(key_help)
        row = QHBoxLayout()
        self.key_field = QLineEdit()
        self.key_field.setPlaceholderText("rk_live_…")
        self.key_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_field.returnPressed.connect(self.check_key)
        self.check_key_button = QPushButton("Check key")
        self.check_key_button.clicked.connect(self.check_key)
        row.addWidget(self.key_field, 1)
        row.addWidget(self.check_key_button)
        key.addLayout(row)
        column.addWidget(key_box)
        self.key_box = key_box

        self.connect_status = plain_label("")
        self.connect_status.setObjectName("connectStatus")
        self.connect_status.setWordWrap(True)
        column.addSpacing(8)
        column.addWidget(self.connect_status)
        column.addStretch(1)
        if profile and profile.configured:
            self.browser_option.setChecked(True)
        else:
            self.browser_option.setEnabled(False)
            self.login_button.setEnabled(False)
            self.key_option.setChecked(True)
        self._method_changed()
        return page

    def _session_only_toggled(self, chosen: bool) -> None:
        self.flow.session_only_accepted = chosen
        if chosen:
            self.services.connections.secrets.keep_for_this_session_only()
        self._method_changed()
        self._refresh_buttons()

    def _method_changed(self) -> None:
        browser = self.browser_option.isChecked()
        self.flow.method = ConnectMethod.BROWSER if browser else ConnectMethod.API_KEY
        # Nothing connects before keys have a place to be kept.
        can_keep = self.flow.keychain or self.flow.session_only_accepted
        self.browser_box.setEnabled(can_keep and browser and self.browser_option.isEnabled())
        self.key_box.setEnabled(can_keep and not browser)

    def start_login(self) -> None:
        profile = self.services.profile
        if profile is None:
            return
        client = OAuthClient(profile)
        try:
            attempt = client.begin()
        except LoginError as exc:
            self._set_connect_status(str(exc), error=True)
            return
        url = attempt.authorize_url
        self.login_link.setProperty("url", url)
        self.login_link.setText(f"If no browser opened, open this link yourself:\n{url}")
        for widget in (
            self.login_busy,
            self.login_link,
            self.copy_link_button,
            self.cancel_login_button,
        ):
            widget.show()
        self.login_button.setEnabled(False)
        self._set_connect_status("Waiting for you to approve in the browser…")
        include_sample = profile.can_read_sample_data

        def work(state):
            tokens = client.finish(
                attempt, cancelled=state.cancelled, timeout=self.services.login_timeout
            )
            found = [tokens]
            if include_sample and tokens.live:
                sample = self.services.connections.sample_token(profile, tokens)
                if sample is not None:
                    found.append(sample)
            return found, self.services.connections.token_business_name(profile, tokens)

        self._login_task = self.runner.run(
            work, self._logged_in, self._login_failed, key="oauth-login"
        )
        self.authorize_url_ready.emit(url)
        self.open_url(url)

    def cancel_login(self) -> None:
        if self._login_task is not None:
            self._login_task.cancel()

    def _login_done(self) -> None:
        self._login_task = None
        for widget in (
            self.login_busy,
            self.cancel_login_button,
            self.copy_link_button,
            self.login_link,
        ):
            widget.hide()
        self.login_button.setEnabled(True)

    def _logged_in(self, found: tuple[list[Tokens], str | None]) -> None:
        tokens, business = found
        self._login_done()
        self._pending_tokens = tokens
        self._pending_key = None
        modes = " and ".join("live" if t.live else "test-mode (sample)" for t in tokens)
        # As Stripe names it: the business, and its id beside it only to tell accounts apart.
        account_id = tokens[0].stripe_user_id
        account = business or account_id or "your account"
        services = self.services
        existing = services.accounts.find_connected_stripe_account(
            services.profile.name, tokens[0].stripe_user_id
        )
        self._existing_account = existing
        self.flow.set_connected(
            business or f"Stripe {account}", sample_data_possible=any(not t.live for t in tokens)
        )
        if existing is None:
            named = f"{business} ({account_id})" if business and account_id else account
            self._set_connect_status(f"Connected to {named} with {modes} access.", ok=True)
        else:
            # The same Stripe account again: renew its login now, and offer only what is new.
            self._set_connect_status(f"{account} was connected already: renewing its login…")

            def renewed(_account) -> None:
                services.sync.forget_account(existing.id)
                self.flow.set_already_imported(services.accounts.imported_types(existing))
                self._set_connect_status(
                    f"{account} was connected already: its login is renewed and its data "
                    "sources sync again. You can add the data types it does not have yet.",
                    ok=True,
                )
                self._refresh_buttons()

            self.runner.write(
                lambda _state: services.connections.connect_with_tokens(
                    services.profile, tokens, name=existing.name, existing=existing
                ),
                renewed,
                lambda error: self._set_connect_status(
                    f"Could not renew the login: {error}", error=True
                ),
                key="renew",
            )
        self._refresh_buttons()

    def _login_failed(self, error: Exception) -> None:
        self._login_done()
        if isinstance(error, Cancelled):
            self._set_connect_status("Login cancelled.")
        elif isinstance(error, LoginError):
            self._set_connect_status(str(error), error=True)
        else:
            self._set_connect_status(f"The login failed: {error}", error=True)

    def check_key(self) -> None:
        key = self.key_field.text().strip()
        problem = self.services.connections.key_problem(key)
        if problem:
            self._set_connect_status(problem, error=True)
            return
        self.check_key_button.setEnabled(False)
        self._set_connect_status("Checking the key with Stripe…")
        api_base = self.services.api_base

        def work(_state) -> KeyCheck:
            return self.services.connections.check_key(key, api_base)

        self.runner.run(
            work, lambda check: self._key_checked(key, check), self._key_failed, key="key-check"
        )

    def _key_checked(self, key: str, check: KeyCheck) -> None:
        self.check_key_button.setEnabled(True)
        self._pending_key = key
        self._pending_tokens = None
        readable = sum(check.readable.values())
        mode = "live" if check.live else "test-mode (sample data only)"
        self.flow.set_connected(
            check.business_name or f"Stripe (key …{key[-4:]})",
            # A key reads its own mode only: a live key no sample data, and a test key's
            # data is all sample data, imported as such without asking.
            sample_data_possible=False,
            readable=check.readable,
            reasons=check.reasons,
        )
        whose = f" for {check.business_name}" if check.business_name else ""
        self._set_connect_status(
            f"The key works{whose}: {mode}, and it can read {readable} of the 9 data types.",
            ok=True,
        )
        self._refresh_buttons()

    def _key_failed(self, error: Exception) -> None:
        self.check_key_button.setEnabled(True)
        message = (
            str(error) if isinstance(error, ConnectionError_) else f"The check failed: {error}"
        )
        self._set_connect_status(message, error=True)

    def _set_connect_status(self, text: str, *, ok: bool = False, error: bool = False) -> None:
        self.connect_status.setText(text)
        color = "#15803d" if ok else ("#b91c1c" if error else "#334155")
        self.connect_status.setStyleSheet(f"color: {color}; font-weight: 600;")

    # --- step 3: data types and advanced settings ---

    def _build_types_page(self) -> QWidget:
        page, column = _page(scroll=True)
        top = QHBoxLayout()
        top.addWidget(plain_label("Select the data to import", "sectionTitle"), 1)
        self.select_all_button = QPushButton("Select all")
        self.select_all_button.clicked.connect(self._select_all_or_clear)
        top.addWidget(self.select_all_button)
        column.addLayout(top)
        self.type_boxes: dict[str, QCheckBox] = {}
        self.type_notes: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        for row, (name, data_type) in enumerate(DATA_TYPES.items()):
            box = QCheckBox(data_type.display_name)
            box.setObjectName(f"type_{name}")
            box.toggled.connect(self._selection_changed)
            note = plain_label(data_type.description, "fieldHelp")
            note.setWordWrap(True)
            grid.addWidget(box, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(note, row, 1)
            self.type_boxes[name] = box
            self.type_notes[name] = note
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)

        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setStyleSheet("QToolButton { border: none; font-weight: 600; }")
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        column.addSpacing(10)
        column.addWidget(self.advanced_toggle)
        self.advanced_box = QFrame()
        self.advanced_box.setObjectName("card")
        advanced = QVBoxLayout(self.advanced_box)
        advanced.setContentsMargins(16, 12, 16, 14)
        self.per_type_form = QFormLayout()
        advanced.addWidget(
            plain_label("Titles and the date field formulas use by default", "fieldHelp")
        )
        advanced.addLayout(self.per_type_form)
        form = QFormLayout()
        self.frequency = QComboBox()
        for seconds in UPDATE_FREQUENCIES:
            self.frequency.addItem(frequency_text(seconds), seconds)
        self.frequency.setCurrentIndex(
            max(0, self.frequency.findData(self.services.default_frequency))
        )
        form.addRow("Update frequency", self.frequency)
        history = QHBoxLayout()
        self.history_all = QRadioButton("All history")
        self.history_since = QRadioButton("Since")
        self.history_all.setChecked(True)
        self.history_date = QDateEdit(QDate.currentDate().addYears(-1))
        self.history_date.setCalendarPopup(True)
        self.history_date.setDisplayFormat("d MMM yyyy")
        self.history_date.setEnabled(False)
        self.history_since.toggled.connect(self.history_date.setEnabled)
        for widget in (self.history_all, self.history_since, self.history_date):
            history.addWidget(widget)
        history.addStretch(1)
        form.addRow("History to import", history)
        self.sample_data = QCheckBox("Also import test-mode (sample) data, told apart by Livemode")
        form.addRow("Which data", self.sample_data)
        advanced.addLayout(form)
        self.advanced_box.hide()
        column.addWidget(self.advanced_box)
        column.addStretch(1)
        return page

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.advanced_box.setVisible(shown)

    def _copy_link(self) -> None:
        QGuiApplication.clipboard().setText(self.login_link.property("url") or "")
        self.copy_link_button.setText("Copied ✓")  # said where the eye is
        self.copy_link_button.setAccessibleDescription("The link is on the clipboard")

        def back() -> None:
            if isValid(self.copy_link_button):
                self.copy_link_button.setText("Copy link")
                self.copy_link_button.setAccessibleDescription("")

        QTimer.singleShot(2_000, back)

    def _select_all_or_clear(self) -> None:
        if self.flow.all_selected():
            self.flow.set_selected([])
            for box in self.type_boxes.values():
                box.blockSignals(True)
                box.setChecked(False)
                box.blockSignals(False)
            self._selection_changed()
        else:
            self._select_all()

    def _select_all(self) -> None:
        self.flow.select_all()
        wanted = set(self.flow.selected)
        for name, box in self.type_boxes.items():
            box.blockSignals(True)  # one update for the whole selection, not one per box
            box.setChecked(name in wanted)
            box.blockSignals(False)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.flow.set_selected([n for n, box in self.type_boxes.items() if box.isChecked()])
        self.select_all_button.setText("Clear all" if self.flow.all_selected() else "Select all")
        self._rebuild_per_type_form()
        self._refresh_buttons()

    def _rebuild_per_type_form(self) -> None:
        while self.per_type_form.rowCount():
            self.per_type_form.removeRow(0)
        self.title_fields: dict[str, QLineEdit] = {}
        self.date_field_boxes: dict[str, QComboBox] = {}
        for name in self.flow.selected:
            row = QHBoxLayout()
            title = QLineEdit(self.flow.title(name))
            title.textChanged.connect(lambda text, n=name: self._title_changed(n, text))
            dates = QComboBox()
            for key, label in self.flow.date_field_choices(name):
                dates.addItem(label, key)
            dates.setCurrentIndex(max(0, dates.findData(self.flow.date_field(name))))
            dates.currentIndexChanged.connect(
                lambda _i, n=name, d=dates: self.flow.advanced.date_fields.__setitem__(
                    n, d.currentData()
                )
            )
            row.addWidget(title, 2)
            row.addWidget(dates, 1)
            self.per_type_form.addRow(DATA_TYPES[name].display_name, row)
            self.title_fields[name] = title
            self.date_field_boxes[name] = dates

    def _title_changed(self, name: str, text: str) -> None:
        self.flow.advanced.titles[name] = text
        self._refresh_buttons()

    def _show_types(self) -> None:
        for name, _display, description, why_not in self.flow.choices():
            box = self.type_boxes[name]
            box.setEnabled(why_not is None)
            if why_not:
                box.setChecked(False)
            self.type_notes[name].setText(
                f"{description}  —  {why_not}" if why_not else description
            )
        self.sample_data.setEnabled(self.flow.sample_data_possible)
        self.sample_data.setToolTip(
            ""
            if self.flow.sample_data_possible
            else "This connection reads one mode only; log in with Stripe to add sample data."
        )
        if self.services.demo and self.flow.sample_data_possible:
            self.sample_data.setChecked(True)
        if not self.flow.selected:
            self._select_all()

    # --- step 4: import ---

    def _build_import_page(self) -> QWidget:
        page, column = _page()
        self.import_rows = QGridLayout()
        self.import_rows.setHorizontalSpacing(14)
        self.import_rows.setVerticalSpacing(3)
        column.addLayout(self.import_rows)
        self.import_status = plain_label("", "fieldHelp")
        self.import_status.setWordWrap(True)
        column.addSpacing(10)
        column.addWidget(self.import_status)
        column.addStretch(1)
        self.progress_bars: dict[int, QProgressBar] = {}
        self.progress_labels: dict[int, QLabel] = {}
        return page

    def start_import(self) -> None:
        advanced = self.flow.advanced
        advanced.update_frequency = self.frequency.currentData()
        advanced.include_sample_data = (
            self.sample_data.isChecked() and self.flow.sample_data_possible
        )
        advanced.history_since = (
            self.history_date.date().toPython() if self.history_since.isChecked() else None
        )
        services = self.services
        tokens, key, flow = self._pending_tokens, self._pending_key, self.flow

        def connect():
            if tokens is not None:
                return services.connections.connect_with_tokens(
                    services.profile, tokens, name=flow.connection_name
                )
            return services.connections.connect_with_key(
                key, name=flow.connection_name, api_base=services.api_base
            )

        since = advanced.history_since
        options = dict(
            include_test_data=advanced.include_sample_data,
            update_frequency=advanced.update_frequency,
            history_since=dt.datetime.combine(since, dt.time()) if since else None,
            titles={n: flow.title(n).strip() for n in flow.selected},
            default_date_fields={n: flow.date_field(n) for n in flow.selected},
        )
        selected = list(flow.selected)
        self.import_status.setText("Creating the data sources…")
        self.runner.write(
            lambda _state: services.accounts.connect_and_create(connect, selected, **options),
            self._created,
            # The keychain or the disk: said in words, nothing half-made.
            lambda exc: self.import_status.setText(f"Could not create the data sources: {exc}"),
            key="create",
        )

    def _created(self, data_sources: list) -> None:
        services = self.services
        self._new_ids = [ds.id for ds in data_sources]
        self._created_sources = list(data_sources)
        for row, ds in enumerate(data_sources):
            name = plain_label(ds.title)
            bar = QProgressBar()
            # Busy until the import knows how far back the account's history reaches (Stripe
            # does not say how many rows there are); then the share of it listed.
            bar.setRange(0, 0)
            bar.setTextVisible(False)
            bar.setAccessibleName(f"Import of {ds.title}")
            label = plain_label("Waiting…", "fieldHelp")
            label.setContentsMargins(0, 0, 0, 7)  # the gap before the next data type
            # Under its bar, so that the bars keep one width however long the words grow
            # ("Importing history · 42 % · about 1 h 20 min left · 1,234,567 rows").
            self.import_rows.addWidget(name, 2 * row, 0)
            self.import_rows.addWidget(bar, 2 * row, 1)
            self.import_rows.addWidget(label, 2 * row + 1, 1)
            self.progress_bars[ds.id] = bar
            self.progress_labels[ds.id] = label
        self.import_rows.setColumnStretch(1, 1)
        self.import_status.setText(
            "Importing… the first rows appear in seconds; large accounts take longer."
        )
        services.sync.sync(self._new_ids)

    def _import_progress(self, progress: SyncProgress) -> None:
        for ds_id in progress.data_source_ids:
            if ds_id in self.progress_labels and ds_id not in self._outcomes:
                self.progress_labels[ds_id].setText(
                    sync_progress(
                        progress.phase,
                        progress.rows,
                        progress.fraction,
                        progress.seconds_left,
                        progress.rate,
                    )
                )
                if progress.fraction is not None:
                    bar = self.progress_bars[ds_id]
                    bar.setRange(0, 1000)
                    bar.setValue(round(progress.fraction * 1000))

    def _import_results(self, results: list) -> None:
        if not self._new_ids or self._import_finished:
            return
        for result in results:
            for ds_id in result.rows:
                if ds_id not in self.progress_bars:
                    continue
                bar = self.progress_bars[ds_id]
                bar.setRange(0, 1)
                bar.setValue(1)
                done = result.status == "up_to_date"
                text = "Done" if done else (result.message or result.status)
                self.progress_labels[ds_id].setText(text)
                self.progress_labels[ds_id].setToolTip(plain_tooltip(result.message or ""))
            for ds_id in result.rows:
                self._outcomes[ds_id] = result.status
        if set(self._outcomes) >= set(self._new_ids):
            self._count_done()
            ok = set(self._outcomes.values()) == {"up_to_date"}
            self.import_status.setText(
                "All data types are imported and will stay up to date."
                if ok
                else "Some data types could not be imported; the reasons are beside them."
            )
            self.next_button.setText("Open data sources")
            self.next_button.setEnabled(True)
            self._import_finished = True
            # The heading says it is over, as the rows do.
            self.title.setText("Import finished" if ok else "Import finished with problems")
            self.subtitle.setText(
                "Each data source now stays up to date in the background."
                if ok
                else "The data types that could not be imported say why beside them."
            )
            self.finished_import.emit(self._new_ids)

    def _count_done(self) -> None:
        """Each finished row says how many registrations it brought, counted as the data
        sources list counts them (rows written include updates of the same object)."""
        counter = self.services.data_sources
        done = [ds for ds in self._created_sources if self._outcomes.get(ds.id) == "up_to_date"]
        if counter is None or not done:
            return

        def counted(counts: dict[int, int]) -> None:
            for ds_id, count in counts.items():
                label = self.progress_labels.get(ds_id)
                if label is not None:
                    label.setText(f"Done · {count_text(count, 'registration')}")
            self.counted.emit()

        self.runner.run(lambda _state: counter.registration_counts(done), counted, key="count")

    # --- navigation ---

    def go_next(self) -> None:
        if self.flow.step is Step.IMPORT:
            self.accept()
            return
        problem = self.flow.blocker()
        if problem:
            self.blocker_label.setText(problem)
            return
        self.flow.next()
        if self.flow.step is Step.TYPES:
            self._show_types()
        if self.flow.step is Step.IMPORT:
            self.start_import()
        self._show_step()

    def go_back(self) -> None:
        self.flow.back()
        self._show_step()

    def _show_step(self) -> None:
        step = self.flow.step
        index = self.flow.ORDER.index(step)
        self.stack.setCurrentIndex(index)
        title, subtitle = STEP_TITLES[step]
        self.step_label.setText(f"Step {index + 1} of 4")
        self.title.setText(title)
        self.subtitle.setText(subtitle)
        self.back_button.setEnabled(index > 0 and step is not Step.IMPORT)
        self.cancel_button.setText("Close" if step is Step.IMPORT else "Cancel")
        if step is Step.IMPORT:
            self.next_button.setText("Open data sources")
            self.next_button.setEnabled(False)
        else:
            self.next_button.setText("Import" if step is Step.TYPES else "Next")
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        if self.flow.step is Step.IMPORT:
            self.blocker_label.setText("")
            return
        problem = self.flow.blocker()
        self.next_button.setEnabled(problem is None)
        if problem and self.keychain_warning.isVisibleTo(self):
            problem = "" if problem == self.flow.KEYCHAIN_BLOCKER else problem  # said above
        self.blocker_label.setText(problem or "")

    def reject(self) -> None:
        self.cancel_login()
        super().reject()


def _page(scroll: bool = False) -> tuple[QWidget, QVBoxLayout]:
    inner = QWidget()
    inner.setObjectName("page")
    column = QVBoxLayout(inner)
    column.setContentsMargins(28, 20, 28, 20)
    column.setSpacing(8)
    if not scroll:
        return inner, column
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(inner)
    return area, column
