"""Alerts and reports in the real window: an alert made in its editor fires into the tray and
the Alerts list once, and opens the registrations behind it; Send test says what failed;
a scheduled report runs from the list."""

from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from desktop.store.models import Alert
from tests.gui.test_writes_off_the_gui_thread import watch_the_writer
from tests.syncing import import_into
from tests.unit.test_mail_and_schedules import (
    PASSWORD,
    USER,
    Inbox,
    authenticator,
    free_port,
)

SHOTS = os.environ.get("LEDGERBOARD_SCREENSHOTS")  # a folder: the pages saved as PNG there


@pytest.fixture
def app(start_app, make_simulator):
    app = start_app()
    simulator = make_simulator(size=300, seed=9)
    import_into(app._db, simulator, ("charges", "refunds"))
    app._refresh_lists()
    return app


def save_alert(qtbot, dialog, *, outcome: str = "saved", **fields):
    dialog.name.setText(fields.get("name", ""))
    dialog.condition.setCurrentIndex(dialog.condition.findData(fields["condition"]))
    dialog.formula.setText(fields.get("formula", ""))
    dialog.period.setCurrentIndex(dialog.period.findData(fields.get("period", "all_time")))
    dialog.threshold.setValue(fields.get("threshold", 0))
    with qtbot.waitSignal(getattr(dialog, outcome), timeout=10_000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_an_alert_made_in_the_editor_fires_once_into_the_tray_and_the_list(app, qtbot):
    page = app.alerts_page
    asked_on_gui = watch_the_writer(app)
    app.window.show_page("alerts")
    dialog = app.open_alert_editor()
    save_alert(
        qtbot,
        dialog,
        name="Too many",
        condition="above",
        formula="Count(Nothing)",
        outcome="refused",
    )
    assert dialog.isVisible()
    assert "The formula cannot be used" in dialog.message.text()
    save_alert(
        qtbot, dialog, name="Many charges", condition="above", formula="Count(Charges)", threshold=5
    )
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: len(app.tray.shown) == 1, timeout=20_000)
    title, message = app.tray.shown[0]
    assert title == "Ledgerboard: Many charges"
    assert message.startswith("Many charges (all time) is ")
    qtbot.waitUntil(lambda: page.recent.rowCount() == 1, timeout=10_000)
    assert page.recent.item(0, 2).text() == "Many charges"
    assert page.alert_table.item(0, 2).text() == "Holding: fired, waits to clear"

    # Checked again (a sync, the timer): it holds, so it stays quiet.
    checked = Alert.get().last_checked_at
    app.check_alerts()
    qtbot.waitUntil(lambda: Alert.get().last_checked_at != checked, timeout=10_000)
    qtbot.waitUntil(lambda: not app.runner.busy("alerts-check"), timeout=10_000)
    assert len(app.tray.shown) == 1
    assert page.recent.rowCount() == 1

    page.open_firing(0)
    assert app.window.stack.currentWidget() is app.registrations_page
    assert app.registrations_page.data_source.data_type == "charges"
    assert asked_on_gui == []
    if SHOTS:
        for size in ((1024, 700), (1920, 1080)):
            app.window.resize(*size)
            app.window.show_page("alerts")
            app.window.grab().save(os.path.join(SHOTS, f"alerts-{size[0]}.png"))


@pytest.fixture
def smtp():
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield inbox, port
    controller.stop()


def test_send_test_says_in_words_what_failed_then_sends(
    app, start_app, qtbot, smtp, memory_keyring
):
    inbox, port = smtp
    asked_on_gui = watch_the_writer(app)
    card = app.mail_card
    app.window.show_page("settings")
    card.host.setText("127.0.0.1")
    card.host.editingFinished.emit()
    card.security.setCurrentIndex(card.security.findData("none"))
    card.port.setValue(port)
    card.username.setText(USER)
    card.username.editingFinished.emit()
    card.password.setText("not it")
    card.password.editingFinished.emit()
    assert card.password.text() == ""  # handed to the keychain, not kept in the field
    qtbot.waitUntil(lambda: ("Ledgerboard", "smtp") in memory_keyring.secrets, timeout=5_000)
    assert app.settings_store.load().smtp_port == port
    card.test_to.setText("me@example.com")
    card.test_button.click()
    qtbot.waitUntil(lambda: card.test_button.isEnabled(), timeout=20_000)
    assert "refused the user name or password" in card.test_result.text()
    card.password.setText(PASSWORD)
    card.test_button.click()
    qtbot.waitUntil(lambda: card.test_button.isEnabled(), timeout=20_000)
    assert card.test_result.text() == "Sent to me@example.com. Check that it arrived."
    assert [m["Subject"] for m in inbox.messages] == ["Ledgerboard test message"]
    assert PASSWORD not in app.paths.settings_file.read_text()
    assert asked_on_gui == []
    again = start_app()  # the card learns from the keychain, on a worker, that it has one
    placeholder = again.mail_card.password.placeholderText
    qtbot.waitUntil(lambda: placeholder().startswith("saved in the system keychain"))
    assert again.mail_card.host.text() == "127.0.0.1"
    if SHOTS:
        from PySide6.QtWidgets import QScrollArea

        for size in ((1024, 700), (1920, 1080)):
            app.window.resize(*size)
            app.settings_page.findChild(QScrollArea).ensureWidgetVisible(card)
            app.window.grab().save(os.path.join(SHOTS, f"settings-{size[0]}.png"))


def test_a_scheduled_report_runs_from_the_list_into_a_folder(app, qtbot, tmp_path):
    dashboard_id = app.dashboards.create_starter()
    folder = tmp_path / "out"
    folder.mkdir()
    app.reports.create_schedule(dashboard_id, folder=str(folder), period="all_time")
    asked_on_gui = watch_the_writer(app)
    app.window.show_page("alerts")
    page = app.alerts_page
    qtbot.waitUntil(lambda: page.schedule_table.rowCount() == 1, timeout=10_000)
    page.schedule_table.selectRow(0)
    page._run_now()
    qtbot.waitUntil(lambda: any(folder.iterdir()), timeout=30_000)
    (report,) = folder.iterdir()
    assert report.name.startswith("Stripe overview - All time - ") and report.suffix == ".pdf"
    qtbot.waitUntil(lambda: page.recent.rowCount() == 1, timeout=10_000)
    assert page.recent.item(0, 1).text() == "Report sent"
    assert asked_on_gui == []


def test_alert_me_on_a_dashboard_number_starts_from_its_formula_and_period(app, qtbot):
    from desktop.views.alert_dialogs import AlertDialog

    page = app.dashboards_page
    dashboard_id = app.dashboards.create_starter()  # a test's setup, not the GUI's write
    app.window.show_page("dashboards")
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(dashboard_id)
    tile = next(t for t in page.grid.tiles.values() if t.spec.title == "Failed payments")
    asked_on_gui = watch_the_writer(app)
    tile._fill_menu()
    action = next(a for a in tile.menu.actions() if a.text() == "Alert me when it moves…")
    action.trigger()
    dialog = app.window.findChild(AlertDialog)
    assert dialog.formula.text() == tile.spec.formula
    assert dialog.period.currentData() == page.period.currentData()
    assert dialog.name.text() == "Failed payments"
    dialog.threshold.setValue(3)
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    alert = Alert.get()
    assert (alert.widget_id, alert.formula, alert.threshold) == (tile.spec.id, tile.spec.formula, 3)
    assert asked_on_gui == []


def test_an_alert_that_fired_stays_quiet_after_a_restart(app, start_app, qtbot):
    app.alerts.create("Many charges", "above", formula="Count(Charges)", period="all_time")
    app.check_alerts()
    qtbot.waitUntil(lambda: len(app.tray.shown) == 1, timeout=20_000)
    again = start_app()  # closes the first; the same data folder
    checked = Alert.get().last_checked_at
    again.check_alerts()
    qtbot.waitUntil(lambda: Alert.get().last_checked_at != checked, timeout=20_000)
    qtbot.waitUntil(lambda: not again.runner.busy("alerts-check"), timeout=10_000)
    assert again.tray.shown == []
    again.window.show_page("alerts")
    qtbot.waitUntil(lambda: again.alerts_page.recent.rowCount() == 1, timeout=10_000)


def test_each_empty_list_says_what_would_be_in_it(start_app, qtbot):
    """Three blank boxes under their headings had looked unfinished: each empty list now
    says, in its own muted words, what shows there and which button makes some."""
    from desktop.views.widgets import PLACEHOLDER_COLOUR

    app = start_app()
    app.window.resize(1024, 700)
    app.window.show_page("alerts")
    page = app.alerts_page
    qtbot.waitUntil(lambda: page.alert_table.isVisible())

    def muted_pixels(table) -> int:
        image = table.viewport().grab().toImage()
        return sum(
            image.pixelColor(x, y).name() == PLACEHOLDER_COLOUR
            for x in range(0, image.width(), 2)
            for y in range(0, image.height(), 2)
        )

    for table, words in (
        (page.recent, "Nothing yet"),
        (page.alert_table, "New alert…"),
        (page.schedule_table, "Schedule a report…"),
    ):
        assert table.rowCount() == 0 and words in table.empty_text
        assert muted_pixels(table) > 20  # drawn
    page.alert_table.setRowCount(1)  # a row: the words give way
    assert muted_pixels(page.alert_table) == 0
