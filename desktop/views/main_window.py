"""The main window: navigation on the left, one page at a time on the right."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME, __version__
from desktop.views.about_dialog import AboutDialog
from desktop.views.icons import app_icon, themed_icon
from desktop.views.widgets import ElidedLabel, plain_label

PAGE_ROLE = Qt.ItemDataRole.UserRole


class MainWindow(QMainWindow):
    page_changed = Signal(str)

    def __init__(
        self,
        pages: dict[str, QWidget],
        window_state: QSettings,
        data_dir: Path,
        log_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self._pages = pages
        self._window_state = window_state
        self._data_dir = data_dir
        self._log_dir = log_dir
        self._new_data_source: Callable[[], None] | None = None

        self.stack = QStackedWidget()
        for page in pages.values():
            self.stack.addWidget(page)
        self.sidebar = self._build_sidebar()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(0, False)
        self.splitter.setCollapsible(1, False)
        self.splitter.setHandleWidth(1)
        self.splitter.setSizes([220, 980])
        self.setCentralWidget(self.splitter)
        self._build_menus()
        # Ends in "…" where it does not fit: no message may widen the window.
        self.status_text = ElidedLabel()  # plain text: account names, Stripe's words
        self.status_text.setContentsMargins(10, 2, 10, 2)
        self.statusBar().addWidget(self.status_text, 1)
        self.navigation.currentItemChanged.connect(self._navigated)
        self._restore_state()

    # --- construction -------------------------------------------------------------------

    def _build_sidebar(self) -> QWidget:
        sidebar = QWidget()
        sidebar.setObjectName("navigationPane")
        sidebar.setMinimumWidth(212)
        sidebar.setMaximumWidth(320)
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        brand_row = QHBoxLayout()
        brand_row.setContentsMargins(16, 6, 0, 0)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(26, 26))
        brand_row.addWidget(logo)
        brand = plain_label(APP_NAME, "brand")
        brand.setContentsMargins(0, 0, 0, 0)
        brand_row.addWidget(brand, 1)
        layout.addLayout(brand_row)
        self.demo_badge = plain_label("DEMO · Stripe simulator", "demoBadge")
        self.demo_badge.hide()
        layout.addWidget(self.demo_badge, 0, Qt.AlignmentFlag.AlignLeft)
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setAccessibleName("Pages")
        self.navigation.setIconSize(QSize(18, 18))
        self.navigation.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for section, entries in (
            ("DATA MANAGEMENT", [("data_sources", "Data sources", "data-sources")]),
            (
                "VISUALIZATION",
                [
                    ("dashboards", "Dashboards", "dashboards"),
                    ("alerts", "Alerts & reports", "bell"),
                ],
            ),
            ("GENERAL", [("settings", "Settings", "settings")]),
        ):
            header = QListWidgetItem(section)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            self.navigation.addItem(header)
            for name, label, icon in entries:
                if name in self._pages:
                    item = QListWidgetItem(themed_icon(icon, "#cbd5e1"), label)
                    item.setData(PAGE_ROLE, name)
                    self.navigation.addItem(item)
        layout.addWidget(self.navigation, 1)
        layout.addWidget(plain_label(f"Version {__version__}", "sidebarFooter"))
        return sidebar

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_data_source_action = QAction(themed_icon("plus"), "&New data source…", self)
        self.new_data_source_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_data_source_action.triggered.connect(self._request_new_data_source)
        self.new_data_source_action.setEnabled(False)
        file_menu.addAction(self.new_data_source_action)
        file_menu.addSeparator()
        open_data = file_menu.addAction(themed_icon("folder"), "Open &data folder")
        open_data.triggered.connect(lambda: self._open_folder(self._data_dir))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)

        view_menu = self.menuBar().addMenu("&View")
        self.page_actions: dict[str, QAction] = {}
        for number, (name, label) in enumerate(
            (("data_sources", "&Data sources"), ("dashboards", "Dash&boards")), start=1
        ):
            action = view_menu.addAction(label)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, n=name: self.show_page(n))
            self.page_actions[name] = action
        view_menu.addSeparator()
        settings_action = view_menu.addAction(themed_icon("settings"), "&Settings")
        settings_action.setShortcut(QKeySequence("Ctrl+,"))
        settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        settings_action.triggered.connect(lambda: self.show_page("settings"))
        self.page_actions["settings"] = settings_action

        help_menu = self.menuBar().addMenu("&Help")
        shortcuts = help_menu.addAction("&Keyboard shortcuts")
        shortcuts.setShortcut(QKeySequence("F1"))
        shortcuts.triggered.connect(self.show_shortcuts)
        logs = help_menu.addAction("Open &log folder")
        logs.triggered.connect(lambda: self._open_folder(self._log_dir))
        help_menu.addSeparator()
        about = help_menu.addAction(themed_icon("info"), f"&About {APP_NAME}")
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self.show_about)

    # --- behaviour ----------------------------------------------------------------------

    def set_demo(self, data_dir: Path) -> None:
        """Demo mode, said on every page: the sidebar's badge, the title, the status bar."""
        self.demo = True
        text = (
            "Demo mode: the data comes from a Stripe simulator on this computer and is kept "
            f"in its own folder, {data_dir}, apart from real data."
        )
        self.demo_badge.setToolTip(text)
        self.demo_badge.setAccessibleName(text)
        self.demo_badge.show()
        self.demo_status = plain_label("Demo mode", "demoStatus")
        self.demo_status.setToolTip(text)
        self.statusBar().addPermanentWidget(self.demo_status)
        item = self.navigation.currentItem()
        if item is not None:
            self._navigated(item)

    demo = False

    def set_new_data_source_handler(self, handler: Callable[[], None] | None) -> None:
        """Where "New data source" leads; without a handler the command is disabled."""
        self._new_data_source = handler
        self.new_data_source_action.setEnabled(handler is not None)

    def _request_new_data_source(self) -> None:
        if self._new_data_source is not None:
            self._new_data_source()

    def page_names(self) -> list[str]:
        return list(self._pages)

    def current_page(self) -> str:
        item = self.navigation.currentItem()
        return item.data(PAGE_ROLE) if item else ""

    def show_page(self, name: str) -> None:
        for row in range(self.navigation.count()):
            item = self.navigation.item(row)
            if item.data(PAGE_ROLE) == name:
                if self.navigation.currentItem() is item:
                    self._navigated(item)  # back from a page the menu does not list
                else:
                    self.navigation.setCurrentItem(item)
                return
        raise KeyError(name)

    def _navigated(self, item: QListWidgetItem | None) -> None:
        if item is None or not item.data(PAGE_ROLE):
            return
        name = item.data(PAGE_ROLE)
        self.stack.setCurrentWidget(self._pages[name])
        demo = " (demo)" if self.demo else ""
        self.setWindowTitle(f"{item.text()} — {APP_NAME}{demo}")
        self.page_changed.emit(name)

    def set_status(self, text: str) -> None:
        self.status_text.setText(text)

    def show_shortcuts(self) -> None:
        from desktop.views.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.shortcuts_dialog = dialog

    def show_about(self) -> None:
        AboutDialog(self._data_dir, self).exec()

    @staticmethod
    def _open_folder(path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    # --- remembered layout --------------------------------------------------------------

    def _restore_state(self) -> None:
        geometry = self._window_state.value("main/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 760)  # every page's header has room for its actions
        state = self._window_state.value("main/state")
        if state is not None:
            self.restoreState(state)
        splitter = self._window_state.value("main/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self._restore_splitters(self.stack)
        page = self._window_state.value("main/page", "data_sources")
        self.show_page(page if page in self._pages else "data_sources")

    def save_state(self) -> None:
        self._window_state.setValue("main/geometry", self.saveGeometry())
        self._window_state.setValue("main/state", self.saveState())
        self._window_state.setValue("main/splitter", self.splitter.saveState())
        for inner in self._page_splitters(self.stack):
            self._window_state.setValue(f"splitters/{inner.objectName()}", inner.saveState())
        self._window_state.setValue("main/page", self.current_page())
        self._window_state.sync()

    def add_page_off_the_menu(self, page: QWidget) -> None:
        """A page reached from another (a data source's registrations), its splitters where
        the user left them."""
        self.stack.addWidget(page)
        self._restore_splitters(page)

    def _restore_splitters(self, root: QWidget) -> None:
        for inner in self._page_splitters(root):
            state = self._window_state.value(f"splitters/{inner.objectName()}")
            if state is not None:
                inner.restoreState(state)
                inner.setProperty("placed", True)  # where the user left it, kept

    @staticmethod
    def _page_splitters(root: QWidget) -> list[QSplitter]:
        """The pages' own splitters that have a name (the registrations' table and card)."""
        return [splitter for splitter in root.findChildren(QSplitter) if splitter.objectName()]

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        super().closeEvent(event)
