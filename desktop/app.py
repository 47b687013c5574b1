"""Composition root: paths, logging, database, services and the main window, in that order.

Every step of start-up is logged. One `shutting_down` signal is emitted when the app closes;
every service that holds a thread, a timer or a connection is hooked to it where it is made.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

from desktop import APP_NAME, __version__
from desktop.collector import settle_for_imports
from desktop.crash import CrashReporter
from desktop.logs import setup_logging
from desktop.paths import AppPaths, resource_path, resources_dir
from desktop.services.accounts import AccountsService
from desktop.services.data_sources import DataSourcesService
from desktop.services.kpi.alerts import AlertError, AlertsService, Firing
from desktop.services.kpi.binder import DrillDown
from desktop.services.kpi.dashboards import DashboardError, DashboardsService
from desktop.services.kpi.library import FormulaLibrary
from desktop.services.kpi.reports import (
    ReportError,
    ReportsService,
    deliver_run,
    finish,
    prepare_run,
    render_run,
)
from desktop.services.kpi.syntax import FormulaError
from desktop.services.mail import MailError
from desktop.services.query import FilterError
from desktop.services.registrations import RegistrationsService
from desktop.services.secrets import SecretStore, SecretsUnavailable
from desktop.services.store_changes import StoreChangesWatcher
from desktop.services.stripe.connections import ConnectionError_, ConnectionsService
from desktop.services.stripe.errors import Cancelled
from desktop.services.stripe.oauth import (
    LOGIN_TIMEOUT,
    LoginError,
    ProviderProfile,
    login_profile,
    simulator_profile,
)
from desktop.services.sync.engine import SyncProgress
from desktop.services.sync.scheduler import Scheduler
from desktop.services.sync.service import SyncService
from desktop.services.tasks import Runner, TaskRunner
from desktop.services.team import (
    SharedDatabase,
    TeamSettingsStore,
    save_password,
    test_connection,
)
from desktop.settings import Settings, SettingsStore, publisher_login
from desktop.store.db import StoreError, check_folder_writable, shown_target
from desktop.store.models import Account
from desktop.store.opening import VIEW_ONLY_MESSAGE, open_store
from desktop.store.writer import StoreWriter
from desktop.views.accounts_card import AccountsCard
from desktop.views.alert_dialogs import AlertDialog, ScheduleDialog
from desktop.views.alerts_page import AlertsPage
from desktop.views.crash_dialog import CrashDialogPresenter
from desktop.views.dashboards_page import DashboardsPage
from desktop.views.data_source_settings import DataSourceSettingsDialog
from desktop.views.data_sources_page import DataSourcesPage
from desktop.views.formatting import (
    count_text,
    sync_progress,
    sync_progress_short,
    use_system_locale,
)
from desktop.views.icons import app_icon
from desktop.views.mail_settings_card import MailSettingsCard
from desktop.views.main_window import MainWindow
from desktop.views.new_source_wizard import NewDataSourceWizard, WizardServices
from desktop.views.registrations_page import RegistrationsPage
from desktop.views.report_render import draw_report
from desktop.views.settings_page import SettingsPage
from desktop.views.team_card import TeamCard
from desktop.views.tray import AlertsTray
from desktop.views.widgets import SortArrowStyle

log = logging.getLogger(__name__)
GUI_SWITCH_INTERVAL = 0.001  # seconds; see Application.start
ALERTS_INTERVAL_MS = 60_000  # alerts between syncs (periods roll over) and due schedules


class StartupError(Exception):
    """Start-up cannot continue; the message is for the user."""


def create_qt_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, styled; reused when one exists (tests)."""
    qt_app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    qt_app.setApplicationName(APP_NAME)
    qt_app.setApplicationDisplayName(APP_NAME)
    qt_app.setApplicationVersion(__version__)
    qt_app.setOrganizationName(APP_NAME)
    qt_app.setDesktopFileName("ledgerboard")
    if not isinstance(qt_app.style(), SortArrowStyle):
        qt_app.setStyle(SortArrowStyle("Fusion"))
    qt_app.setWindowIcon(app_icon())
    use_system_locale()  # numbers and month names as the user's language writes them
    style = resource_path("theme.qss").read_text(encoding="utf-8")
    qt_app.setStyleSheet(style.replace("{resources}", resources_dir().as_posix()))
    return qt_app


class Application(QObject):
    """Owns everything that lives as long as the app: the store, the services, the window."""

    shutting_down = Signal()
    data_source_changed = Signal(int)  # deleted or reset

    def __init__(
        self,
        paths: AppPaths,
        parent: QObject | None = None,
        *,
        demo: bool = False,
        open_url=None,
        demo_size: int = 20_000,
        login_timeout: float | None = None,
        login: ProviderProfile | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.demo = demo
        self.open_url = open_url  # how the wizard opens the login page (tests drive a browser)
        self.simulator = None
        self.demo_size = demo_size
        self.login_timeout = login_timeout
        self.window: MainWindow | None = None
        self._log_handler: logging.Handler | None = None
        self._lock: QLockFile | None = None
        self._db = None
        self.store_changes: StoreChangesWatcher | None = None
        self.crash_reporter: CrashReporter | None = None
        self.crash_presenter: CrashDialogPresenter | None = None
        self._shut_down = False
        self._back_page = "data_sources"  # where the registrations page's Back goes
        # See login_profile; given: a login other than the settings' (the simulator through
        # an exchange service, in tests).
        self._profile: ProviderProfile | None = login
        self._profile_lock = threading.Lock()  # a sync's token refresh may ask first
        self._schedules_running: set[int] = set()

    def start(self) -> MainWindow:
        try:
            self.paths.data_dir.mkdir(parents=True, exist_ok=True)
            check_folder_writable(self.paths.data_dir)
        except OSError as exc:
            raise StartupError(
                f"Ledgerboard cannot create its data folder {self.paths.data_dir}: {exc}"
            ) from exc
        except StoreError as exc:  # before the log: it lives in the same folder
            raise StartupError(str(exc)) from exc
        self._log_handler = setup_logging(self.paths.log_file)
        log.info("starting %s %s, data folder %s", APP_NAME, __version__, self.paths.data_dir)
        # The GUI thread waits a switch interval for each sync thread that takes the GIL first.
        sys.setswitchinterval(GUI_SWITCH_INTERVAL)
        self._take_lock()
        self._install_crash_reporter()
        # Settings > Team: a shared database chosen here, unless --database says otherwise.
        self.team_store = TeamSettingsStore(self.paths.data_dir / "team.json")
        self.team = self.team_store.load()
        if self.paths.database_url is None and self.team is not None:
            self.paths = self.paths.with_database(self.team.url)
        try:
            self._db = open_store(self.paths.store_target, backup_dir=self.paths.backup_dir)
        except StoreError as exc:
            log.error("store unavailable: %s", exc)
            raise StartupError(str(exc)) from exc
        log.info("database ready at %s", shown_target(self.paths.store_target))
        self.settings_store = SettingsStore(self.paths.settings_file)
        self.settings = self.settings_store.load()
        self.writer = StoreWriter(self._db)
        self.data_sources = DataSourcesService(self.writer)
        self.registrations = RegistrationsService(self.writer)
        self.formulas = FormulaLibrary(
            self.writer,
            settings=lambda: (
                self.settings_store.effective_time_zone(self.settings),
                self.settings.week_start,
            ),
        )
        self.dashboards = DashboardsService(self.formulas, self.writer)
        self.alerts = AlertsService(self.formulas, self.writer)
        self.reports = ReportsService(
            self.dashboards,
            self.writer,
            time_zone=lambda: self.settings_store.effective_time_zone(self.settings),
        )
        self.secrets = SecretStore()
        self.tasks = TaskRunner(parent=self)
        # Failures a view shows itself are the user's to read, not bugs to log.
        self.runner = Runner(
            self.tasks,
            expected_errors=(
                Cancelled,
                FilterError,
                FormulaError,
                DashboardError,
                AlertError,
                ReportError,
                MailError,
                ConnectionError_,
                LoginError,
                SecretsUnavailable,
                OSError,
            ),
        )
        self.api_base = self._start_demo() if self.demo else None
        self.connections = ConnectionsService(self.secrets, self._login_profiles, self.writer)
        self.accounts = AccountsService(self.writer)
        self.sync_service = SyncService(
            self.writer, self.secrets, refresher=self.connections.refresher, parent=self
        )
        self.scheduler = Scheduler(self.sync_service, parent=self)
        # Stopped in this order when the app closes: no new syncs, then the views' work,
        # the running syncs (their commits land), the writer, and the demo's simulator.
        for stop in (
            self.scheduler.stop,
            self.tasks.shutdown,
            self.sync_service.shutdown,
            self.writer.close,
        ):
            self.shutting_down.connect(stop)
        if self.simulator is not None:
            self.shutting_down.connect(self.simulator.stop)
        log.info("services ready")
        self.window = self._build_window()
        self.sync_service.progress.connect(self._sync_progress)
        self.sync_service.finished.connect(self._sync_finished)
        self.sync_service.problem.connect(self.window.set_status)
        self.dashboards_page.refreshed.connect(lambda _id: self.check_alerts())
        # "No dashboards yet" in the status bar no longer, once the first one is made; a
        # reload that changes no count leaves the status bar's message alone.
        self._dashboards_listed: int | None = None
        self.dashboards_page.listed.connect(self._dashboards_counted)
        self.tray = AlertsTray(app_icon(), self)
        self.tray.open_requested.connect(self.show_window)
        self.tray.message_clicked.connect(lambda: self.show_window("alerts"))
        self.tray.quit_requested.connect(self.quit)
        self.window.installEventFilter(self)
        self.alerts_timer = QTimer(self)
        self.alerts_timer.timeout.connect(self.check_alerts)
        self.alerts_timer.timeout.connect(self.run_due_schedules)
        self.shutting_down.connect(self.alerts_timer.stop)
        self.shutting_down.connect(self.tray.hide)
        self.window.page_changed.connect(
            lambda _name: None if self.sync_service.running() else self._show_counts()
        )
        if self.paths.database_url:
            self._watch_shared_database()
        if self.view_only:
            self.window.set_status(VIEW_ONLY_MESSAGE)
        log.info("main window built")
        return self.window

    @property
    def view_only(self) -> bool:
        """The shared database lets this computer's user read, not change (a read-only role)."""
        return bool(getattr(self._db, "view_only", False))

    @property
    def syncs_here(self) -> bool:
        """Whether this computer syncs: not with a read-only role, nor when Settings > Team
        says View only for the shared database in use."""
        chosen_view_only = (
            self.team is not None
            and not self.team.this_computer_syncs
            and self.paths.database_url == self.team.url
        )
        return not (self.view_only or chosen_view_only)

    def _watch_shared_database(self) -> None:
        """Team mode: what another computer's sync commits shows here within seconds, on a
        computer that syncs other accounts too (its own syncs it hears of from its service)."""
        self.store_changes = StoreChangesWatcher(self._db, parent=self)
        self.sync_service.started.connect(self.store_changes.own_sync_started)
        self.sync_service.finished.connect(self.store_changes.own_sync_finished)
        self.shutting_down.connect(self.store_changes.stop)
        self.store_changes.changed.connect(self._sync_finished)
        self.store_changes.connection_lost.connect(self.window.set_status)
        self.store_changes.connection_back.connect(
            lambda: self.window.set_status("The shared database is reachable again.")
        )
        self.store_changes.start()

    def _start_demo(self) -> str:
        """Demo mode: the Stripe simulator, and its browser login; where data is read from."""
        from desktop.simulator.server import Simulator, SimulatorConfig

        self.simulator = Simulator(SimulatorConfig(seed=1, size=self.demo_size, clock_interval=20))
        url = self.simulator.start()
        log.info("demo mode: the Stripe simulator listens on %s", url)
        oauth = self.simulator.oauth
        self._profile = simulator_profile(url, oauth.live_secret, oauth.test_secret)
        return url

    @property
    def login_profile(self) -> ProviderProfile:
        """The browser login's provider, made when first needed (the wizard, a token refresh):
        a platform secret the user owns is in the keychain, and finding the keychain is too slow
        to hold the window back (longer still where it has to be woken)."""
        with self._profile_lock:
            if self._profile is None:
                settings = self.settings
                try:
                    available = self.secrets.available()
                    platform = self.secrets.get("oauth-platform") if available else {}
                except SecretsUnavailable:
                    platform = {}
                login = settings.login(publisher_login())
                self._profile = login_profile(
                    login.provider,
                    login.client_id,
                    login.token_exchange_url,
                    live_secret=platform.get("live"),
                    test_secret=platform.get("test"),
                )
            return self._profile

    def _login_profiles(self) -> dict[str, ProviderProfile]:
        profile = self.login_profile
        return {profile.name: profile}

    def open_new_data_source(self) -> NewDataSourceWizard:
        services = WizardServices(
            connections=self.connections,
            accounts=self.accounts,
            sync=self.sync_service,
            runner=self.runner,
            profile=self.login_profile,
            api_base=self.api_base,
            default_frequency=self.settings.default_update_frequency,
            demo=self.demo,
            login_timeout=self.login_timeout or LOGIN_TIMEOUT,
            data_sources=self.data_sources,
        )
        wizard = NewDataSourceWizard(services, open_url=self.open_url, parent=self.window)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.accepted.connect(lambda: self.window.show_page("data_sources"))
        wizard.finished_import.connect(lambda _ids: self._refresh_lists())
        wizard.show()
        return wizard

    def start_background_work(self, first_check_ms: int = 1_500) -> None:
        """Scheduled syncs: a catch-up soon after start, then at each update frequency; alerts
        and scheduled reports every minute."""
        if not self.syncs_here:
            return  # a viewer syncs nothing, and alerts and reports run where syncing happens
        self.scheduler.start(first_check_ms)
        self.alerts_timer.start(ALERTS_INTERVAL_MS)
        QTimer.singleShot(first_check_ms, self.run_due_schedules)

    def _sync_progress(self, progress: SyncProgress) -> None:
        text = sync_progress(
            progress.phase, progress.rows, progress.fraction, progress.seconds_left
        )
        short = sync_progress_short(progress.phase, progress.fraction, progress.seconds_left)
        self.window.set_status(text)
        self.data_sources_page.model.set_progress(progress.data_source_ids, short, text)

    def _sync_finished(self, ids: list[int]) -> None:
        self.check_alerts()
        self._refresh_lists()  # and the counts in the status bar, once nothing syncs
        self.dashboards_page.refresh()
        shown = self.registrations_page.data_source
        if (
            shown is not None
            and shown.id in ids
            and self.window.stack.currentWidget() is self.registrations_page
        ):
            self.registrations_page.reload()

    def _take_lock(self) -> None:
        self._lock = QLockFile(str(self.paths.lock_file))
        self._lock.setStaleLockTime(0)  # a lock whose process is gone is stale at once
        if not self._lock.tryLock(200):
            info = self._lock.getLockInfo()  # (pid, host, app), or empty if unreadable
            pid, host = (info[0], info[1]) if len(info) >= 2 else ("unknown", "")
            raise StartupError(
                f"Ledgerboard is already running with the data folder {self.paths.data_dir} "
                f"(process {pid} on {host or 'this computer'}). Switch to that window, or "
                "start this one with another --data-dir."
            )

    def _install_crash_reporter(self) -> None:
        self.crash_presenter = CrashDialogPresenter(self.paths.log_file, self)
        self.crash_reporter = CrashReporter(self.paths.crash_dir, self.crash_presenter.present)
        self.crash_reporter.install()

    def _build_window(self) -> MainWindow:
        window_state = QSettings(str(self.paths.window_state_file), QSettings.Format.IniFormat)
        self.data_sources_page = DataSourcesPage(self.data_sources, runner=self.runner)
        self.dashboards_page = DashboardsPage(
            self.dashboards,
            runner=self.runner,
            time_zone=lambda: self.settings_store.effective_time_zone(self.settings),
        )
        self.dashboards_page.drill_requested.connect(self.open_drill_down)
        self.dashboards_page.alert_requested.connect(self.open_alert_for_widget)
        self.alerts_page = AlertsPage(
            self.alerts,
            self.reports,
            runner=self.runner,
            time_zone=lambda: self.settings_store.effective_time_zone(self.settings),
        )
        self.alerts_page.drill_requested.connect(self.open_drill_down)
        self.alerts_page.new_alert_requested.connect(lambda: self.open_alert_editor())
        self.alerts_page.edit_alert_requested.connect(self.open_alert_editor)
        self.alerts_page.new_schedule_requested.connect(self.open_schedule_editor)
        self.alerts_page.run_schedule_requested.connect(self.run_schedule)
        self.mail_card = MailSettingsCard(self.settings, has_password=False)
        if self.settings.smtp_username:  # the keychain is slow to wake: asked on a worker
            self.runner.run(
                lambda _state: bool(self._mail_password()), self.mail_card.set_has_password
            )
        self.mail_card.changed.connect(self._mail_settings_changed)
        self.mail_card.password_entered.connect(self._save_mail_password)
        self.mail_card.test_requested.connect(self.send_test_mail)
        self.accounts_card = AccountsCard()
        self.accounts_card.disconnect_requested.connect(self._disconnect_account)
        self.accounts_card.reconnect_requested.connect(self._reconnect_account)
        self.team_card = TeamCard(
            self.team, shown_target(self.paths.database_url) if self.paths.database_url else None
        )
        self.team_card.test_requested.connect(self._test_shared_database)
        self.team_card.save_requested.connect(self._save_shared_database)
        self.settings_page = SettingsPage(
            self.settings,
            self.paths.data_dir,
            self.paths.log_dir,
            accounts_card=self.accounts_card,
            more_cards=(self.mail_card, self.team_card),
            keys_place=self._keys_place,
        )
        self.settings_page.settings_changed.connect(self._save_settings)
        self.settings_page.keys_place_said.connect(self.mail_card.show_password_place)
        self.registrations_page = RegistrationsPage(
            self.registrations,
            time_zone=lambda: self.settings_store.effective_time_zone(self.settings),
            save_view=self.data_sources.save_view,
            runner=self.runner,
            week_start=lambda: self.settings.week_start,
        )
        self.registrations_page.back_requested.connect(
            lambda: self.window.show_page(self._back_page)
        )
        self.registrations_page.sync_requested.connect(lambda ds: self.sync_service.sync([ds]))
        self.data_sources_page.open_requested.connect(self.open_data_source)
        self.data_sources_page.sync_requested.connect(lambda ds: self.sync_service.sync([ds]))
        self.data_sources_page.delete_requested.connect(self.delete_data_source)
        self.data_sources_page.settings_requested.connect(self.edit_data_source)
        self.data_sources_page.reset_requested.connect(self.reimport_data_source)
        pages = {
            "data_sources": self.data_sources_page,
            "dashboards": self.dashboards_page,
            "alerts": self.alerts_page,
            "settings": self.settings_page,
        }
        window = MainWindow(pages, window_state, self.paths.data_dir, self.paths.log_dir)
        # Reached from a data source, not the menu.
        window.add_page_off_the_menu(self.registrations_page)
        self.data_sources_page.new_data_source_requested.connect(self.open_new_data_source)
        window.set_new_data_source_handler(self.open_new_data_source)
        if self.demo:
            window.set_demo(self.paths.data_dir)
        self.window = window
        self._refresh_lists()
        return window

    def _keys_place(self) -> str:
        """Where the secret store keeps keys now, in words for Settings."""
        if self.secrets.session_only:
            why = "demo mode" if self.demo else "this computer has no keychain"
            return f"in memory only, until Ledgerboard closes ({why})"
        if self.secrets.keychain_available():
            return "in the system keychain"
        return (
            "nowhere yet: this computer has no keychain, and Ledgerboard asks before it "
            "keeps any in memory"
        )

    def edit_data_source(self, ds_id: int) -> DataSourceSettingsDialog:
        ds = self.data_sources.get(ds_id)
        dialog = DataSourceSettingsDialog(
            self.data_sources.settings(ds_id), ds.data_type, self.window
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def save() -> None:
            chosen = dialog.settings()
            self.runner.write(
                lambda _state: self.data_sources.save_settings(ds_id, chosen),
                lambda _done: self._data_source_changed(ds_id),
                self._say_failure,
            )

        dialog.accepted.connect(save)
        dialog.open()
        return dialog

    def delete_data_source(self, ds_id: int) -> None:
        self._change_data_source(ds_id, self.data_sources.delete, "Deleted.", sync_after=False)

    def reimport_data_source(self, ds_id: int) -> None:
        self._change_data_source(ds_id, self.data_sources.reset, "Re-importing…", sync_after=True)

    def _change_data_source(self, ds_id: int, change, done_text: str, *, sync_after: bool) -> None:
        """Stop its sync, then delete in the background (a million rows take seconds)."""
        self.sync_service.cancel([ds_id])
        self.window.set_status("Deleting registrations…")

        def work(_state) -> None:
            self.sync_service.wait_idle([ds_id])
            change(ds_id)

        def finished(_result) -> None:
            self.window.set_status(done_text)
            if sync_after:
                self.sync_service.sync([ds_id])
            self._data_source_changed(ds_id)

        self.runner.write(work, finished, self._say_failure)

    def _data_source_changed(self, ds_id: int) -> None:
        self._refresh_lists()
        self.data_source_changed.emit(ds_id)

    def _say_failure(self, error: BaseException) -> None:
        self.window.set_status(str(error))

    def open_data_source(self, ds_id: int) -> None:
        self.registrations_page.open(self.data_sources.get(ds_id))
        self._back_page = "data_sources"
        self.window.stack.setCurrentWidget(self.registrations_page)
        self._show_counts()  # the page has its own status line

    def open_drill_down(self, drill: DrillDown) -> None:
        """The registrations a KPI counts: its filter and period over its data source."""
        ds = self.data_sources.find(drill.data_source_id)
        if ds is None:
            self.window.set_status(f"{drill.data_source_title} no longer exists.")
            return
        self.registrations_page.open(ds, drill=drill)
        self._back_page = "dashboards"
        self.window.stack.setCurrentWidget(self.registrations_page)
        self._show_counts()

    def _refresh_lists(self) -> None:
        self.data_sources_page.refresh()
        self.accounts_card.set_accounts(self.accounts.rows())
        if not self.sync_service.running():
            self._show_counts()

    def _disconnect_account(self, account_id: int) -> None:
        self.sync_service.cancel()
        account = self.accounts.get(account_id)

        def disconnected(_done) -> None:
            self.sync_service.forget_account(account_id)
            self._refresh_lists()
            self.window.set_status(f"{account.name} is disconnected; its data stays.")

        self.runner.write(
            lambda _state: self.connections.disconnect(account), disconnected, self._say_failure
        )

    def _reconnect_account(self, account_id: int) -> None:
        """Browser logins: the wizard recognises the same Stripe account and renews it.
        API keys: a new key replaces the old one once Stripe accepts it."""
        account = self.accounts.get(account_id)
        if account.auth_method == "oauth":
            self.open_new_data_source()
            return
        key, ok = QInputDialog.getText(
            self.window,
            "Reconnect account",
            f"A new restricted key for {account.name}:",
            QLineEdit.EchoMode.Password,
        )
        if ok and key.strip():
            self.replace_key(account, key.strip())

    def replace_key(self, account: Account, key: str) -> None:
        problem = self.connections.key_problem(key)
        if problem:
            self.window.set_status(problem)
            return
        self.window.set_status(f"Checking the new key for {account.name}…")

        def check(_state):
            self.connections.check_key(key, account.api_base)
            self.connections.connect_with_key(
                key, name=account.name, api_base=account.api_base, existing=account
            )

        def accepted(_result) -> None:
            self.sync_service.forget_account(account.id)
            self._refresh_lists()
            self.window.set_status(f"{account.name} is reconnected; its data sources sync again.")
            self.sync_service.sync([ds.id for ds in account.data_sources])

        self.runner.write(check, accepted, self._say_failure, key=f"replace-key-{account.id}")

    def _dashboards_counted(self, count: int) -> None:
        if count != self._dashboards_listed:
            self._dashboards_listed = count
            self._show_counts()

    def _show_counts(self) -> None:
        """The status bar speaks of the page shown: the data sources' count on their page,
        the dashboards' on theirs, nothing on the others."""
        page = (
            self.window.current_page()
            if self.window.stack.currentWidget()
            in (self.data_sources_page, self.dashboards_page, self.settings_page)
            else ""
        )
        if page == "data_sources":
            count = self.data_sources.count()
            text = "No data sources yet" if count == 0 else count_text(count, "data source")
        elif page == "dashboards":
            count = len(self.dashboards.dashboards())
            text = "No dashboards yet" if count == 0 else count_text(count, "dashboard")
        else:
            text = ""
        self.window.set_status(text)

    def _test_shared_database(self, shared: SharedDatabase, password: str) -> None:
        self.tasks.start(
            lambda _state: test_connection(shared, password or None),
            key="team-test",
            on_success=lambda check: self.team_card.show_check(check.ok, check.message),
        )

    def _save_shared_database(self, shared: SharedDatabase | None, password: str) -> None:
        def save() -> None:
            if shared is not None and password:
                save_password(shared, password)
            self.team_store.save(shared)

        def saved(_result) -> None:
            where = "the shared database" if shared else "this folder's own store"
            self.team_card.show_check(True, f"Saved: Ledgerboard uses {where} from its next start.")

        self.tasks.start(lambda _state: save(), key="team-save", on_success=saved)

    def _save_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.settings_store.save(settings)
        log.info("settings saved")

    # --- alerts and reports ---------------------------------------------------------------

    def check_alerts(self) -> None:
        """Evaluate every alert in the background; a newer check replaces one on its way."""
        if self._shut_down:
            return
        self.runner.run(
            lambda state: self.alerts.evaluate_all(state.cancelled),
            self._deliver_firings,
            key="alerts-check",
        )

    def _deliver_firings(self, firings: list[Firing]) -> None:
        if not firings or self._shut_down:
            return
        for firing in firings[:5]:
            self.tray.notify(f"Ledgerboard: {firing.title}", firing.message)
        if len(firings) > 5:
            self.tray.notify("Ledgerboard", f"{len(firings) - 5} more alerts fired.")
        self.window.set_status(f"Alert: {firings[0].message}")
        self.alerts_page.reload()
        for firing in firings:
            if firing.email_to:
                self._mail_in_background(
                    list(firing.email_to),
                    f"Ledgerboard alert: {firing.title}",
                    f"{firing.message}\n\nSent by Ledgerboard.\n",
                    [],
                    what=f"the alert {firing.title!r}",
                )

    def _mail_password(self) -> str | None:
        try:
            return self.secrets.get("smtp").get("password") if self.secrets.available() else None
        except SecretsUnavailable:
            return None

    def send_mail(self, to, subject, body, attachments) -> None:
        """Mail through the user's SMTP server (any thread); MailError says what failed."""
        from desktop.services.mail import MailSettings, send_mail

        mail = MailSettings.of(self.settings)
        password = self._mail_password() if mail.username else None
        send_mail(mail, password, to, subject, body, attachments)

    def _mail_in_background(self, to, subject, body, attachments, *, what: str) -> None:
        def work(_state) -> bool:
            try:
                self.send_mail(to, subject, body, attachments)
            except MailError as exc:
                message = f"E-mail about {what} was not sent: {exc}"
                log.warning("%s", message)
                self.alerts.note("report_failed", message)
                return False
            return True

        self.runner.run(work, lambda sent: None if sent else self.alerts_page.reload())

    def _mail_settings_changed(self, changes: dict) -> None:
        import dataclasses

        self._save_settings(dataclasses.replace(self.settings, **changes).validated())
        self.settings_page.update_settings(self.settings)

    def _save_mail_password(self, password: str) -> None:
        def failed(exc: BaseException) -> None:
            self.mail_card.show_test_result(str(exc), False)
            self.mail_card.set_has_password(False)

        self.runner.run(
            lambda _state: self.secrets.put("smtp", {"password": password}),
            None,
            failed,
            key="mail-password",
        )

    def send_test_mail(self, to: str, password: str = "") -> None:
        if not to:
            self.mail_card.show_test_result("Give an address to send the test to.", False)
            return

        def work(_state) -> None:
            if password:  # typed with the click: kept before it is used
                self.secrets.put("smtp", {"password": password})
            self.send_mail(
                [to],
                "Ledgerboard test message",
                "This is a test from Ledgerboard: alerts and reports can reach you by e-mail.\n",
                [],
            )

        self.runner.run(
            work,
            lambda _r: self.mail_card.show_test_result(
                f"Sent to {to}. Check that it arrived.", True
            ),
            lambda exc: self.mail_card.show_test_result(str(exc), False),
            key="mail-test",
        )

    def open_alert_editor(
        self, alert_id: int | None = None, initial: dict | None = None, widget=None
    ):
        if alert_id is not None:
            initial = {**self.alerts.settings_of(alert_id), "id": alert_id}

        def save(values: dict) -> None:  # on a worker
            if alert_id is None:
                if widget is not None:  # the number's format, and where it came from
                    values.update(widget_id=widget.id, format=widget.format)
                self.alerts.create(**values)
            else:
                self.alerts.update(alert_id, **values)

        dialog = AlertDialog(
            save,
            self.runner,
            self.alerts.data_sources(),
            initial,
            has_mail=bool(self.settings.smtp_host),
            parent=self.window,
        )
        dialog.saved.connect(self.alerts_page.reload)
        dialog.saved.connect(self.check_alerts)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_alert_for_widget(self, spec, period: str):
        """An alert on a dashboard's number: its formula, its period, its current value."""
        initial = {
            "name": spec.title,
            "condition": "above",
            "formula": spec.formula,
            "period": spec.period or period,
            "threshold": spec.target or 0,
        }
        return self.open_alert_editor(initial=initial, widget=spec)

    def open_schedule_editor(self) -> ScheduleDialog | None:
        dashboards = [(d.id, d.title) for d in self.dashboards.dashboards()]
        if not dashboards:
            self.window.set_status("Make a dashboard first; a report sends a dashboard.")
            return None

        def save(values: dict) -> None:  # on a worker
            self.reports.create_schedule(values.pop("dashboard_id"), **values)

        dialog = ScheduleDialog(
            save,
            self.runner,
            dashboards,
            time_zone=self.settings_store.effective_time_zone(self.settings),
            has_mail=bool(self.settings.smtp_host),
            parent=self.window,
        )
        dialog.saved.connect(self.alerts_page.reload)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def run_due_schedules(self) -> None:
        if self._shut_down:
            return
        for schedule in self.reports.due():
            if schedule.id not in self._schedules_running:  # a long run is not started twice
                self.run_schedule(schedule.id)

    def run_schedule(self, schedule_id: int) -> None:
        """Evaluate on a worker, draw on the GUI thread (widgets live there), deliver on a
        worker again; every outcome, and every write, ends in the Alerts list off this thread."""
        workspace = self.paths.data_dir / "reports-in-progress"
        self._schedules_running.add(schedule_id)

        def note(kind: str, message: str, sid: int) -> None:
            self.alerts.note(kind, message, schedule_id=sid)

        def ended(outcome) -> None:
            self._schedules_running.discard(schedule_id)
            self.alerts_page.reload()
            if not outcome.ok:
                self.tray.notify("Ledgerboard: a scheduled report failed", outcome.message)
                self.window.set_status(outcome.message)

        def forget(_exc: BaseException) -> None:  # a bug, in the log: the next minute retries
            self._schedules_running.discard(schedule_id)

        def failed(exc: BaseException) -> None:
            message = str(exc) if isinstance(exc, ReportError) else f"The report failed: {exc}"
            self.runner.run(
                lambda _state: finish(self.reports, schedule_id, False, message, [], note),
                ended,
                forget,
            )

        def prepared(prepared_run) -> None:
            schedule, report = prepared_run
            try:
                rendered = render_run(schedule, report, draw_report, workspace)
            except (ReportError, OSError) as exc:
                failed(ReportError(f"The scheduled report could not be drawn: {exc}"))
                return
            self.runner.run(
                lambda _state: deliver_run(
                    self.reports, schedule, report, rendered, self.send_mail, note
                ),
                ended,
                forget,
            )

        self.runner.run(
            lambda _state: prepare_run(self.reports, schedule_id),
            prepared,
            failed,
            key=f"schedule-{schedule_id}",
        )

    # --- the window and the tray ----------------------------------------------------------

    def eventFilter(self, watched, event) -> bool:
        from PySide6.QtCore import QEvent

        if (
            watched is self.window
            and event.type() == QEvent.Type.Close
            and self.settings.keep_running_in_tray
            and self.tray.available
            and not self._shut_down
        ):
            event.ignore()
            self.window.save_state()
            self.window.hide()
            self.tray.notify(
                "Ledgerboard keeps running",
                "Alerts and scheduled reports go on. Quit from the icon's menu.",
            )
            return True
        return super().eventFilter(watched, event)

    def show_window(self, page: str | None = None) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        if page:
            self.window.show_page(page)

    def quit(self) -> None:
        self.shutdown()
        QApplication.quit()

    def shutdown(self) -> None:
        """Stop everything, once: services first, then the store, then the log."""
        if self._shut_down:
            return
        self._shut_down = True
        log.info("shutting down")
        if self.window is not None:
            self.window.save_state()
            self.registrations_page.save_pending()  # before the tasks and the writer stop
        # Every service hooked this when it was made, in the order to stop them (see start).
        self.shutting_down.emit()
        if self._db is not None and not self._db.is_closed():
            self._db.close()
        if self.crash_reporter:
            self.crash_reporter.uninstall()
        if self._lock is not None:
            self._lock.unlock()
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler.close()


def run_gui(paths: AppPaths, *, demo: bool = False) -> int:
    qt_app = create_qt_application()
    app = Application(paths, demo=demo)
    try:
        window = app.start()
    except StartupError as exc:
        QMessageBox.critical(None, f"{APP_NAME} cannot start", str(exc))
        app.shutdown()
        return 2
    qt_app.aboutToQuit.connect(app.shutdown)
    window.show()
    settle_for_imports()  # what the start made lives as long as the app (desktop.collector)
    app.start_background_work()
    if os.environ.get("LEDGERBOARD_STARTUP_PROBE"):  # bench/app_bench.py startup: shown, then quit
        QTimer.singleShot(0, lambda: (print("window shown", flush=True), qt_app.quit()))
    return qt_app.exec()


def run_self_test(paths: AppPaths) -> int:
    """Start offscreen, open every main view once, and report; 0 when all went well."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    qt_app = create_qt_application()
    app = Application(paths)
    problems: list[str] = []
    try:
        window = app.start()
    except StartupError as exc:
        print(f"self-test failed: {exc}", file=sys.stderr)
        app.shutdown()
        return 2
    app.crash_presenter.shown.connect(lambda dialog: problems.append(dialog.report))
    window.show()
    for name in window.page_names():
        window.show_page(name)
        qt_app.processEvents()
        if window.grab().isNull():
            problems.append(f"the {name} page could not be drawn")
        else:
            print(f"self-test: {name} page opened")
    window.close()
    qt_app.processEvents()
    app.shutdown()
    if problems:
        print("self-test failed:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    print(f"self-test passed: {APP_NAME} {__version__}, data folder {Path(paths.data_dir)}")
    return 0
