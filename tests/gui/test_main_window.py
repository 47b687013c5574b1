"""The main window as a user meets it: empty states, navigation, remembered layout, errors."""

from __future__ import annotations

import json
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QComboBox, QLabel

from desktop.catalog import DATA_TYPES
from desktop.store.models import (
    Account,
    DataSource,
    DataSourceStatus,
    registration_model,
    utc_now,
)
from desktop.views.crash_dialog import CrashDialog


def test_first_start_shows_the_data_sources_empty_state(start_app):
    app = start_app()
    window = app.window
    assert window.current_page() == "data_sources"
    page = app.data_sources_page
    assert page.stack.currentWidget() is page.empty_state
    assert page.empty_state.title.text() == "No data sources yet"
    assert page.empty_state.isVisible()
    assert window.status_text.text() == "No data sources yet"


def test_every_pages_actions_fit_beside_the_title_or_under_it_in_a_narrow_window(start_app, qtbot):
    app = start_app()
    window = app.window
    assert window.width() >= 1280

    def assert_actions_whole(name: str) -> None:
        header = window._pages[name].header
        for index in range(header.actions.count()):
            action = header.actions.itemAt(index).widget()
            if action.isHidden():
                continue
            # Buttons keep their text whole; lists may give way to their shortest.
            least = action.minimumSizeHint() if isinstance(action, QComboBox) else action.sizeHint()
            assert action.width() >= least.width(), (name, window.width(), action)
            assert header.rect().contains(action.geometry()), (name, window.width(), action)

    for name in ("data_sources", "dashboards", "settings"):
        window.show_page(name)
        header = window._pages[name].header
        qtbot.waitUntil(lambda header=header: header.isVisible())
        assert not header.stacked  # one row at the first window's size
        assert_actions_whole(name)
    # Without a dashboard only New dashboard is there: the empty page offers the rest.
    page = window._pages["dashboards"]
    hidden = [page.picker.isHidden(), page.add_button.isHidden(), page.new_button.isHidden()]
    assert hidden == [True, True, False]
    app.dashboards.create("Monthly revenue and growth")
    page.reload()
    window.show_page("dashboards")
    assert not page.add_button.isHidden()
    subtitle = page.header.subtitle
    qtbot.waitUntil(lambda: subtitle.width() < subtitle.sizeHint().width())  # it gives way first
    assert not page.header.stacked
    subtitle.grab()  # painted: the cut text ends in "…", the whole of it is the tooltip
    assert subtitle.toolTip() == subtitle.text() == "KPIs and charts built from your data sources"
    # Too narrow for the actions beside the title: they move under it.
    window.resize(1100, window.height())
    for name in ("data_sources", "dashboards"):
        window.show_page(name)
        header = window._pages[name].header
        qtbot.waitUntil(lambda header=header: header.stacked and header.isVisible())
        qtbot.waitUntil(lambda header=header: header.actions.geometry().top() > header.title.y())
        assert header.actions.geometry().left() == header.title.x()  # under it, at the left
        assert_actions_whole(name)
    # At 900 px every Dashboards action still fits its row, a long title cut in its list.
    app.dashboards.create("Quarterly revenue overview for the board of directors")
    app.dashboards.create("<b>Board</b> & more")
    page.reload()
    window.resize(900, window.height())
    qtbot.waitUntil(lambda: page.header.width() < 700)
    assert_actions_whole("dashboards")
    # The list's tooltip holds the whole title, as typed: never taken for HTML.
    page.picker.setCurrentIndex(page.picker.findText("<b>Board</b> & more"))
    shown = QTextDocument()
    shown.setHtml(page.picker.toolTip())
    assert shown.toPlainText() == "Your dashboards: <b>Board</b> & more"


def test_menus_and_shortcuts_reach_every_page(start_app, qtbot):
    window = start_app().window
    shortcuts = {name: action.shortcut().toString() for name, action in window.page_actions.items()}
    assert shortcuts == {"data_sources": "Ctrl+1", "dashboards": "Ctrl+2", "settings": "Ctrl+,"}
    for name in ("dashboards", "settings", "data_sources"):  # each a change of page
        action = window.page_actions[name]
        with qtbot.waitSignal(window.page_changed) as blocker:
            action.trigger()
        assert blocker.args == [name]
        assert window.stack.currentWidget() is window._pages[name]
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Help"]


def test_window_layout_and_page_are_remembered(start_app, qtbot):
    window = start_app().window
    window.resize(760, 540)  # inside the offscreen screen (800 x 600), which geometry respects
    window.splitter.setSizes([236, 523])
    qtbot.waitUntil(lambda: window.sidebar.width() == 236)
    window.show_page("settings")
    app = start_app()  # closes the first window, which saves its state
    window = app.window
    assert (window.width(), window.height()) == (760, 540)
    assert window.sidebar.width() == 236
    assert window.current_page() == "settings"


def test_settings_changes_are_saved_as_they_are_made(start_app, app_paths):
    app = start_app()
    page = app.settings_page
    page.time_zone.setCurrentIndex(page.time_zone.findData("Europe/Copenhagen"))
    page.week_start.setCurrentIndex(6)
    saved = json.loads(app_paths.settings_file.read_text())
    assert saved["time_zone"] == "Europe/Copenhagen"
    assert saved["week_start"] == 6
    app = start_app()
    assert app.settings_page.time_zone.currentData() == "Europe/Copenhagen"
    assert app.settings_page.week_start.currentText() == "Sunday"


def test_settings_fit_a_1024_px_window_and_every_cards_fields_line_up(start_app, qtbot):
    """With an account connected, its name, details, status and two buttons side by side
    had made the page scroll sideways at 1024 px; the Team card's fields had run the
    card's whole width, out of line with every other card's."""
    from PySide6.QtWidgets import QScrollArea

    app = start_app()
    account = Account.create(
        name="Ledgerboard Simulator",
        auth_method="api_key",
        keyring_entry="acct-1",
        livemode=False,
        status="needs_reconnect",
    )
    for data_type in DATA_TYPES:
        DataSource.create(account=account, data_type=data_type, title=data_type)
    app.window.resize(1024, 700)
    app.window.show_page("settings")
    app.data_sources_page.refresh()
    app.accounts_card.set_accounts(app.accounts.rows())
    reconnect, _disconnect = app.accounts_card.buttons[account.id]
    qtbot.waitUntil(lambda: app.window.width() == 1024 and reconnect.isVisible())
    app.window.grab()
    scroll = app.settings_page.findChild(QScrollArea)
    assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width()
    assert not scroll.horizontalScrollBar().isVisible()
    page, team = app.settings_page, app.team_card
    left = page.time_zone.mapTo(scroll.widget(), page.time_zone.rect().topLeft()).x()
    for field in (team.host, team.database, team.tls):
        assert field.mapTo(scroll.widget(), field.rect().topLeft()).x() == left
        assert field.width() == page.time_zone.width()
    assert not team.use_shared.isChecked() and not team.host.isEnabled()


def test_existing_data_sources_are_listed(start_app, app_paths, qtbot):
    app = start_app()
    account = Account.create(name="Acme Ltd", auth_method="api_key", keyring_entry="acct-1")
    ds = DataSource.create(account=account, data_type="charges", title="<b>Stripe</b> Charges")
    charges = registration_model("charges")
    for i in range(3):
        charges.create(data_source=ds, stripe_id=f"ch_{i}", livemode=True, data="{}")
    app.data_sources_page.refresh()
    page = app.data_sources_page
    assert page.stack.currentWidget() is not page.empty_state
    model = page.model
    # The registrations are counted on a worker (a large account's take hundreds of ms).
    assert model.index(0, model.REGISTRATIONS).data() == "…"
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "3", timeout=10_000)
    charges.create(data_source=ds, stripe_id="ch_3", livemode=True, data="{}")
    app.data_sources_page.refresh()
    assert (
        model.index(0, model.REGISTRATIONS).data() == "3"
    )  # the last count until the new one arrives
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "4", timeout=10_000)
    charges.delete().where(charges.stripe_id == "ch_3").execute()
    app.data_sources_page.refresh()
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "3", timeout=10_000)
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert row == [
        "<b>Stripe</b> Charges",
        "Acme Ltd",
        "Live",
        "3",
        "never · every 5 min",
        "Waiting for first import",
    ]
    # A status from Stripe's own words is shown as they are, in the tooltip too.
    message = "Stripe refused a request: <b>No such customer</b> & more"
    DataSource.update(status_message=message).where(DataSource.id == ds.id).execute()
    app.data_sources_page.refresh()
    tooltip = QTextDocument()
    tooltip.setHtml(model.index(0, model.STATUS).data(Qt.ItemDataRole.ToolTipRole))
    assert tooltip.toPlainText() == message


def test_a_first_import_shows_no_count_from_before_it(start_app, qtbot):
    """The list keeps the last count until a sync's recount arrives, except after a first
    import: the count from before it (0) would sit beside "Up to date"."""
    app = start_app()
    account = Account.create(name="Acme Ltd", auth_method="api_key", keyring_entry="acct-1")
    ds = DataSource.create(account=account, data_type="charges", title="Charges")
    page = app.data_sources_page
    page.refresh()
    model = page.model
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "0", timeout=10_000)
    charges = registration_model("charges")
    for i in range(2):
        charges.create(data_source=ds, stripe_id=f"ch_{i}", livemode=True, data="{}")
    DataSource.update(status=DataSourceStatus.UP_TO_DATE, last_synced_at=utc_now()).where(
        DataSource.id == ds.id
    ).execute()
    page.refresh()
    assert model.index(0, model.STATUS).data() == "Up to date"
    assert model.index(0, model.REGISTRATIONS).data() == "…"
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "2", timeout=10_000)
    charges.create(data_source=ds, stripe_id="ch_2", livemode=True, data="{}")
    page.refresh()
    assert (
        model.index(0, model.REGISTRATIONS).data() == "2"
    )  # a later sync: the last count until the new one
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "3", timeout=10_000)


class Emitter(QObject):
    fired = Signal()


def test_an_exception_in_a_slot_opens_the_crash_dialog_and_the_app_keeps_running(
    start_app, qtbot, app_paths, expected_log_warnings
):
    app = start_app()
    start_app.expected_crashes = 1

    def broken_slot():
        raise RuntimeError("boom in a slot with sk_test_secret123")

    emitter = Emitter()
    emitter.fired.connect(broken_slot)
    with qtbot.waitSignal(app.crash_presenter.shown, timeout=5000) as blocker:
        emitter.fired.emit()
    dialog: CrashDialog = blocker.args[0]
    assert "RuntimeError: boom in a slot" in dialog.report
    assert "secret123" not in dialog.report
    assert dialog.isVisible()
    log_text = app_paths.log_file.read_text()
    assert "boom in a slot" in log_text and "secret123" not in log_text
    # The app goes on working.
    app.window.show_page("dashboards")
    assert app.window.current_page() == "dashboards"
    dialog.close()


def test_an_exception_in_a_worker_thread_reaches_the_crash_dialog(
    start_app, qtbot, expected_log_warnings
):
    app = start_app()
    start_app.expected_crashes = 1

    def work():
        raise ValueError("worker failed")

    with qtbot.waitSignal(app.crash_presenter.shown, timeout=5000) as blocker:
        thread = threading.Thread(target=work, name="worker")
        thread.start()
        thread.join()
    assert "ValueError: worker failed" in blocker.args[0].report
    assert "thread worker" in blocker.args[0].report
    blocker.args[0].close()


def test_the_about_dialog_names_the_version(start_app, qtbot):
    from desktop import __version__
    from desktop.views.about_dialog import AboutDialog

    app = start_app()
    dialog = AboutDialog(app.paths.data_dir, app.window)
    qtbot.addWidget(dialog)
    texts = [w.text() for w in dialog.findChildren(QLabel)]
    assert f"Version {__version__}" in texts
    assert dialog.findChildren(QLabel)[0].textFormat() != Qt.TextFormat.RichText


def test_the_window_shows_before_the_keychain_is_looked_for(start_app, monkeypatch):
    """Finding the keychain took 80 ms before the window showed (more where it has to be
    woken); the browser login's profile, which may hold a platform secret, is made when first
    needed."""
    import keyring

    asked = []
    real = keyring.get_keyring
    monkeypatch.setattr(keyring, "get_keyring", lambda: asked.append(1) or real())
    app = start_app()
    assert asked == []
    assert app.login_profile.name == "stripe_connect"
    assert asked
    assert app.connections.profiles == {"stripe_connect": app.login_profile}


def test_a_long_status_message_never_widens_the_window(start_app, qtbot):
    app = start_app()
    window = app.window
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024)
    fields = ", ".join(f"Metadata field number {n}" for n in range(17))
    window.set_status(f"Added 17 fields: {fields}")
    window.grab()  # laid out and painted with the message
    assert window.width() == 1024
    assert window.minimumSizeHint().width() < 1024
    text = window.status_text
    assert text.toolTip() == text.text()  # cut, and whole in its tooltip
    window.resize(900, 700)
    qtbot.waitUntil(lambda: window.width() == 900)  # and it shrinks while the message shows


def test_demo_mode_shows_on_every_page_and_settings_say_where_keys_are(start_app, qtbot):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # the memory_keyring fixture puts its own back
    app = start_app(demo=True, demo_size=300)
    window = app.window
    for name in ("data_sources", "dashboards", "settings"):
        window.show_page(name)
        assert window.demo_badge.isVisible() and window.demo_status.isVisible()
        assert window.windowTitle().endswith("(demo)")
    assert str(app.paths.data_dir) in window.demo_badge.toolTip()
    help_text = app.settings_page.storage_help
    qtbot.waitUntil(lambda: "no keychain" in help_text.text())
    assert "system keychain" not in help_text.text()
    wizard = app.open_new_data_source()
    wizard.go_next()  # demo mode keeps the simulator's keys in memory
    wizard.close()
    window.show_page("data_sources")
    window.show_page("settings")
    qtbot.waitUntil(
        lambda: "in memory only, until Ledgerboard closes (demo mode)" in help_text.text()
    )
    # The mail password's place too, not "the system keychain" that is not there.
    mail_help = app.mail_card.help_label
    qtbot.waitUntil(lambda: "The password is kept in memory only, until" in mail_help.text())


def test_settings_say_the_keychain_when_it_is_used(start_app, qtbot):
    app = start_app()
    app.window.show_page("settings")
    assert not app.window.demo_badge.isVisible()
    help_text = app.settings_page.storage_help
    qtbot.waitUntil(lambda: "kept in the system keychain" in help_text.text())


def test_the_status_bar_speaks_of_the_page_shown(start_app, qtbot):
    app = start_app()
    window = app.window
    account = Account.create(name="Acme Ltd", auth_method="api_key", keyring_entry="acct-1")
    DataSource.create(account=account, data_type="charges", title="Charges")
    app._refresh_lists()
    window.show_page("data_sources")
    assert window.status_text.text() == "1 data source"
    window.show_page("dashboards")
    assert window.status_text.text() == "No dashboards yet"
    window.show_page("settings")
    assert window.status_text.text() == ""
    window.show_page("data_sources")
    assert window.status_text.text() == "1 data source"


def test_help_lists_every_keyboard_shortcut_the_window_answers(start_app, qtbot):
    from PySide6.QtGui import QAction, QKeySequence, QShortcut

    from desktop.views.shortcuts_dialog import SHORTCUTS

    app = start_app()
    window = app.window
    listed = {
        QKeySequence(keys).toString() for keys, _what, _where in SHORTCUTS if ", " not in keys
    }
    found = {s.key().toString() for s in window.findChildren(QShortcut)}
    found |= {
        a.shortcut().toString() for a in window.findChildren(QAction) if not a.shortcut().isEmpty()
    }
    assert found and found <= listed, found - listed
    (help_action,) = [a for a in window.findChildren(QAction) if a.shortcut().toString() == "F1"]
    help_action.trigger()  # F1, or Help > Keyboard shortcuts
    dialog = window.shortcuts_dialog
    qtbot.waitUntil(dialog.isVisible)
    shown = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert {"Add a filter", "Slideshow (full screen)", "Choose columns"} <= shown
    dialog.close()
