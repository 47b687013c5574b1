"""No write to the store makes the GUI thread wait: every view and the app write through their
Runner, on a worker. A check on the app's one writer records each write asked for on the GUI
thread while the main flows are driven as a user would."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QDialogButtonBox


def watch_the_writer(app) -> list[str]:
    """Every synchronous write asked for on the GUI thread, by the code that asked."""
    asked_on_gui: list[str] = []
    run = app.writer.run

    def checked(work):
        if threading.current_thread() is threading.main_thread():
            asked_on_gui.append(getattr(work, "__qualname__", repr(work)))
        return run(work)

    app.writer.run = checked
    return asked_on_gui


def test_the_main_flows_never_write_on_the_gui_thread(start_app, qtbot):
    app = start_app(demo=True, demo_size=600)
    asked_on_gui = watch_the_writer(app)

    # Data sources > New data source, with a pasted key.
    wizard = app.open_new_data_source()
    wizard.go_next()
    wizard.key_field.setText("sk_test_pastedkey00000001")
    wizard.check_key()
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    wizard.go_next()
    for name, box in wizard.type_boxes.items():
        box.setChecked(name in ("charges", "customers"))
    with qtbot.waitSignal(wizard.finished_import, timeout=120_000):
        wizard.go_next()
    wizard.close()
    charges = next(s for s in app.data_sources.summaries() if s.data_type == "charges")

    # The registrations page: a filter (its view is saved), columns, a renamed field.
    app.open_data_source(charges.id)
    page = app.registrations_page
    dialog = page.add_filter(preset=("livemode", "is_false"))
    with qtbot.waitSignal(page.view_saved, timeout=10_000):
        dialog.accept()
    page.set_columns(["amount", "id", "status"])
    qtbot.waitUntil(lambda: [f.key for f in page.model.columns] == ["amount", "id", "status"])
    page.rename_field("status", "Outcome")
    qtbot.waitUntil(lambda: page.model.columns[2].label == "Outcome")

    # A data source's settings, then a re-import.
    with qtbot.waitSignal(app.data_source_changed, timeout=10_000):
        settings = app.edit_data_source(charges.id)
        settings.title.setText("Payments")
        settings.accept()
    assert app.data_sources.get(charges.id).title == "Payments"
    with qtbot.waitSignal(app.data_source_changed, timeout=30_000):
        app.reimport_data_source(charges.id)

    # Dashboards: the starter template, a widget, a saved formula, a rename.
    dashboards = app.dashboards_page
    with qtbot.waitSignal(dashboards.refreshed, timeout=30_000):
        dashboards.new_starter()
    editor = dashboards.edit_widget(None)
    editor.title.setText("All charges")
    editor.formula.setText("Count(Charges)")
    qtbot.waitUntil(lambda: editor.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled())
    with qtbot.waitSignal(dashboards.refreshed, timeout=30_000):
        editor.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    formulas = dashboards.open_saved_formulas()
    formulas.name.setText("Every charge")
    formulas.formula.setText("Count(Charges)")
    with qtbot.waitSignal(formulas.saved, timeout=10_000):
        formulas.save()
    formulas.reject()

    # Settings > Connected accounts: Disconnect.
    (account,) = app.accounts.rows()
    app._disconnect_account(account.id)
    qtbot.waitUntil(lambda: "is disconnected" in app.window.status_text.text(), timeout=10_000)

    # And deleting a data source.
    customers = next(s for s in app.data_sources.summaries() if s.data_type == "customers")
    with qtbot.waitSignal(app.data_source_changed, timeout=30_000):
        app.delete_data_source(customers.id)
    assert [s.data_type for s in app.data_sources.summaries()] == ["charges"]

    assert asked_on_gui == []


def test_changes_reach_the_store_in_the_order_they_were_made(qtbot):
    """Two changes made one after the other (a widget moved twice) are written in that
    order, though each runs on a worker: the second waits for the first."""
    from desktop.services.tasks import Runner, TaskRunner

    tasks = TaskRunner()
    runner = Runner(tasks)
    landed: list[int] = []
    gate = threading.Event()

    def first(_state) -> None:
        gate.wait(timeout=1)  # opened by the second, were it to run alongside
        landed.append(1)

    def second(_state) -> None:
        landed.append(2)
        gate.set()

    runner.write(first)
    with qtbot.waitSignal(runner.write(second).finished, timeout=10_000):
        pass
    tasks.shutdown()
    assert landed == [1, 2]
