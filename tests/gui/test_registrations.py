"""The registrations view, walking the seed's steps: Update fields, Livemode appears,
Filter > Livemode = True hides the sample rows, and the count agrees with SQL."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence

from desktop.store.models import DataSource, registration_model
from tests.syncing import import_into

# On the data folder's SQLite file, then on a PostgreSQL database (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_target")


@pytest.fixture
def imported(start_app, qtbot, make_simulator):
    """A started app whose store holds charges and customers, live and sample."""
    app = start_app()
    simulator = make_simulator(size=600, seed=9)
    harness = import_into(app._db, simulator, ("charges", "customers"))
    app._refresh_lists()
    return app, harness


def open_charges(app, qtbot):
    charges = DataSource.get(DataSource.data_type == "charges")
    page = app.registrations_page
    app.open_data_source(charges.id)
    assert app.window.stack.currentWidget() is page
    return page, charges


def add_filter_through_the_dialog(page, key, op, value=None):
    """Filter (Ctrl+F) > field, operator, value > OK, as a user adds a filter."""
    dialog = page.add_filter(preset=(key, op))
    assert (dialog.field().key, dialog.operator_box.currentData()) == (key, op)
    if op == "one_of":
        for i in range(dialog.choices.count()):
            item = dialog.choices.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in value else Qt.CheckState.Unchecked
            )
    elif value is not None:
        dialog.text_value.setText(str(value))
    dialog.accept()


def test_the_seeds_livemode_steps(imported, qtbot):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    table = registration_model("charges")
    total = table.select().where(table.data_source == charges.id).count()
    assert page.status.text() == f"{total:,} of {total:,} registrations"

    assert "livemode" not in {f.key for f in page.query.visible_fields()}
    with qtbot.waitSignal(page.fields_updated, timeout=30_000) as found:
        page.update_fields()  # in the background: the table stays usable
        assert not page.update_fields_button.isEnabled()
    added = found.args[0]
    assert "livemode" in {f.key for f in added}
    assert "Livemode" in [
        page.model.headerData(c, Qt.Orientation.Horizontal) for c in range(page.model.columnCount())
    ]

    dialog = page.add_filter(preset=("livemode", "is_true"))
    assert dialog.field().label == "Livemode"
    assert dialog.operator_box.currentText() == "= True"
    with qtbot.waitSignal(page.view_saved, timeout=10_000):  # remembered, on a worker
        dialog.accept()
    live = table.select().where((table.data_source == charges.id) & (table.livemode == 1)).count()
    assert 0 < live < total
    assert page.status.text() == f"{live:,} of {total:,} registrations"
    livemode_column = [f.key for f in page.model.columns].index("livemode")
    shown = {
        page.model.index(r, livemode_column).data() for r in range(min(200, page.model.rowCount()))
    }
    assert shown == {"True"}
    chips = [page.chips.itemAt(i).widget().text() for i in range(page.chips.count() - 1)]
    assert chips == ["Livemode = True  ✕"]
    # The filter is remembered for the data source.
    assert json.loads(DataSource.get_by_id(charges.id).view_settings)["filters"] == [
        {"key": "livemode", "op": "is_true", "value": None}
    ]
    page.remove_filter(0)
    assert page.status.text() == f"{total:,} of {total:,} registrations"

    page.hide_sample.setChecked(True)  # the quick toggle does the same
    assert page.status.text() == f"{live:,} of {total:,} registrations"


def test_the_sample_data_toggle_shows_only_where_there_is_sample_data(imported, qtbot):
    app, harness = imported
    page, _charges = open_charges(app, qtbot)
    assert page.hide_sample.isVisible()
    (refunds,) = app.accounts.ensure_data_sources(
        harness.account, ["refunds"], include_test_data=False
    )
    refunds.view_settings = json.dumps({"hide_sample": True})  # as if saved, to be ignored
    refunds.save()
    app.open_data_source(refunds.id)
    assert app.window.stack.currentWidget() is page
    assert not page.hide_sample.isVisible()
    assert not page.hide_sample.isChecked()


def test_the_table_model_passes_qtmodeltester(imported, qtbot, qtmodeltester):
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    qtmodeltester.check(page.model)


def test_sorting_money_and_text_from_stripe_shown_as_text(imported, qtbot):
    app, _harness = imported
    customers = DataSource.get(DataSource.data_type == "customers")
    app.open_data_source(customers.id)
    page = app.registrations_page
    names = [f.key for f in page.model.columns].index("name")
    values = {page.model.index(r, names).data() for r in range(page.model.rowCount())}
    assert "<b>bold</b><img src=x>" in values  # a plain-text cell, never markup
    page, _charges = open_charges(app, qtbot)
    amount = [f.key for f in page.model.columns].index("amount")
    shown = page.model.index(0, amount).data()
    assert shown.endswith((" USD", " EUR", " GBP", " JPY", " DKK", " SEK"))


@pytest.mark.parametrize("order", [Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder])
def test_sorting_by_amount_orders_within_each_currency_and_says_so(imported, qtbot, order):
    from desktop.views.registrations_model import PkRole

    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    model = page.model
    amount = [f.key for f in model.columns].index("amount")
    page.table.sortByColumn(amount, order)
    rows = model.rowCount()
    shown = [model.index(r, amount).data() for r in range(rows)]  # the last page read backwards
    pairs = [
        (text.rsplit(" ", 1)[1], model.index(r, amount).data(Qt.ItemDataRole.UserRole))
        for r, text in enumerate(shown)
    ]
    descending = order == Qt.SortOrder.DescendingOrder
    assert pairs == sorted(pairs, reverse=descending)  # by currency, then amount
    currencies = [c for c, _a in pairs]
    assert len(set(currencies)) > 1
    assert currencies == sorted(currencies, reverse=descending)  # each currency together
    assert len({model.index(r, amount).data(PkRole) for r in range(rows)}) == rows
    header = model.headerData(amount, Qt.Orientation.Horizontal)
    assert header == "Amount · by currency"


def test_a_filter_with_a_bad_value_is_refused_in_words(imported, qtbot):
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    qtbot.waitUntil(lambda: bool(page.currencies))  # amounts are typed in units of one
    add_filter_through_the_dialog(page, "amount", ">", "a lot")
    assert page.message.isVisible() and "is not an amount" in page.message.text()
    assert page.filters == []


def test_the_detail_pane_shows_the_stored_object(imported, qtbot):
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    page.table.selectRow(0)
    card = page.detail_text
    text = card.toPlainText()
    assert text.startswith(("Mode: Live", "Mode: Sample (test mode)"))
    assert "\nAmount: " in text and "\nBilling country: " in text  # every field, labelled
    assert "True" not in text and "False" not in text  # Yes and No, as a person says it
    amount = page.model.index(0, [f.key for f in page.model.columns].index("amount")).data()
    assert f"\nAmount: {amount}\n" in text  # with its currency, as the table shows it
    created = page.model.index(0, [f.key for f in page.model.columns].index("created")).data()
    assert f"\nCreated: {created}\n" in text  # the user's zone, the app's one date format
    # The stored object is below, folded: its nested parts open on demand.
    stored = card.topLevelItem(card.topLevelItemCount() - 1)
    assert stored.text(0) == "Stored object" and not stored.isExpanded()
    keys = {stored.child(n).text(0): stored.child(n) for n in range(stored.childCount())}
    assert keys["object"].text(1) == "charge"
    assert keys["outcome"].childCount() > 0 and not keys["outcome"].isExpanded()
    # An id is copied whole with Ctrl+C.
    card.setCurrentItem(keys["id"])
    card.setFocus()
    qtbot.keySequence(card, QKeySequence.StandardKey.Copy)
    assert QGuiApplication.clipboard().text() == keys["id"].text(1)
    assert keys["id"].text(1).startswith("ch_")


def test_the_card_takes_a_share_of_the_width_and_keeps_where_the_user_drags_it(
    imported, qtbot, start_app
):
    """At 1920 px the card had taken a third of the page and cut the table's columns; at
    1024 px it left the table two. Now 30 %, from 260 to 420 px, until the user drags the
    handle; the next start puts it back there. Empty, the card says what to do whole."""
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    card = page.detail_text.parentWidget()
    for width, expected in ((1024, 260), (1920, 420)):
        app.window.resize(width, 800)
        qtbot.waitUntil(lambda width=width: app.window.width() == width)
        qtbot.waitUntil(lambda expected=expected: card.width() == expected)
    assert page.table.width() > 2 * card.width()
    assert page.detail_text.topLevelItemCount() == 0  # the hint is drawn, not an item
    # Inside the offscreen screen (800 x 600), as a restored window's geometry must be.
    app.window.resize(790, 560)
    qtbot.waitUntil(lambda: app.window.width() == 790)
    splitter = page.splitter
    splitter.moveSplitter(splitter.width() - 300, 1)  # as a drag of the handle does
    qtbot.waitUntil(lambda: abs(card.width() - 300) <= splitter.handleWidth())
    dragged = card.width()
    app.window.resize(760, 560)
    qtbot.waitUntil(lambda: app.window.width() == 760)
    assert card.width() == dragged  # the table gives way, not the user's card
    app = start_app()  # closes the first window, which saves its state
    page, _charges = open_charges(app, qtbot)
    qtbot.waitUntil(lambda: page.detail_text.parentWidget().width() == dragged)


def test_the_last_row_of_the_table_is_right(imported, qtbot):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    table = registration_model("charges")
    oldest = (
        table.select()
        .where(table.data_source == charges.id)
        .order_by(table.created.asc(), table.pk.asc())
        .first()
    )
    last = page.model.rowCount() - 1
    assert page.model.pk_at(last) == oldest.pk


def test_export_writes_what_the_view_shows_with_progress(imported, qtbot, tmp_path):
    import csv

    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    page.hide_sample.setChecked(True)
    target = tmp_path / "charges.csv"
    with qtbot.waitSignal(page.exported, timeout=30_000):
        page.export_to(target)
        assert page.export_progress.isVisible() and not page.export_button.isEnabled()
    with target.open(encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    table = registration_model("charges")
    live = table.select().where((table.data_source == charges.id) & (table.livemode == 1)).count()
    assert len(rows) == live
    assert rows[0]["Currency code"] in {"USD", "EUR", "GBP", "JPY", "DKK", "SEK"}
    assert "T" in rows[0]["Created"] and rows[0]["Created"].endswith("+00:00")
    assert not (tmp_path / "charges.csv.partial").exists()
    assert not page.export_progress.isVisible()


def test_a_cancelled_export_leaves_no_file(imported, qtbot, tmp_path):
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    target = tmp_path / "cancelled.csv"
    page.export_to(target)
    page.cancel_export()
    qtbot.waitUntil(lambda: page.export_button.isEnabled(), timeout=30_000)
    cancelled = page.status.text() == "Export cancelled." and not target.exists()
    finished = page.status.text().startswith("Exported") and target.exists()
    assert cancelled or finished  # a small export may finish before Cancel lands
    assert not (tmp_path / "cancelled.csv.partial").exists()


def test_reimport_and_delete_a_data_source(imported, qtbot):
    app, harness = imported
    charges = DataSource.get(DataSource.data_type == "charges")
    customers = DataSource.get(DataSource.data_type == "customers")
    # The app's own sync service re-imports: point its account at the simulator's keys.
    from desktop.services.secrets import SecretStore

    account = charges.account
    SecretStore().put(
        "sim-keys", {"live": harness.credentials.live_key, "test": harness.credentials.test_key}
    )
    account.keyring_entry = "sim-keys"
    account.save()
    table = registration_model("charges")
    before = table.select().count()
    with qtbot.waitSignal(app.sync_service.finished, timeout=60_000):
        app.reimport_data_source(charges.id)
    assert table.select().count() == before
    assert DataSource.get_by_id(charges.id).status == "up_to_date"

    with qtbot.waitSignal(app.data_source_changed, timeout=30_000):
        app.delete_data_source(customers.id)
    assert DataSource.select().count() == 1
    assert registration_model("customers").select().count() == 0
    assert [s.data_type for s in app.data_sources.summaries()] == ["charges"]


def test_columns_can_be_hidden_and_reordered_and_are_remembered(imported, qtbot):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    keys = [f.key for f in page.model.columns]
    assert keys[:3] == ["id", "created", "amount"]
    page.set_columns(["amount", "id", "status"])  # stored on a worker, then shown
    qtbot.waitUntil(lambda: [f.key for f in page.model.columns] == ["amount", "id", "status"])
    header = page.table.horizontalHeader()
    header.moveSection(2, 0)  # drag Status to the front
    qtbot.waitUntil(lambda: [f.key for f in page.model.columns] == ["status", "amount", "id"])
    assert [header.logicalIndex(v) for v in range(header.count())] == [0, 1, 2]
    app.open_data_source(charges.id)  # opened again: remembered
    assert [f.key for f in page.model.columns] == ["status", "amount", "id"]


def test_columns_fit_their_text_and_keep_the_width_the_user_gives_them(imported, qtbot):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    header = page.table.horizontalHeader()
    keys = [f.key for f in page.model.columns]
    metrics = page.table.fontMetrics()
    for key in ("id", "created", "amount_captured"):
        column = keys.index(key)
        widest = max(
            metrics.horizontalAdvance(page.model.index(r, column).data() or "")
            for r in range(min(50, page.model.rowCount()))
        )
        assert header.sectionSize(column) > widest  # ids and dates whole, not "ch_0000bb7…"
        label = page.model.columns[column].label
        assert header.sectionSize(column) > header.fontMetrics().horizontalAdvance(label)
    assert header.textElideMode() == Qt.TextElideMode.ElideRight  # narrowed: "Amount capt…"

    created = keys.index("created")
    fitted = header.sectionSize(created)
    header.resizeSection(created, fitted + 77)  # as dragging the column's edge does
    page.hide_sample.setChecked(True)  # the model resets
    assert header.sectionSize(created) == fitted + 77
    assert header.sectionSize(keys.index("id")) != header.defaultSectionSize()
    qtbot.waitUntil(
        lambda: (
            json.loads(DataSource.get_by_id(charges.id).view_settings or "{}")
            .get("widths", {})
            .get("created")
            == fitted + 77
        )
    )
    app.open_data_source(charges.id)  # opened again: remembered
    assert header.sectionSize([f.key for f in page.model.columns].index("created")) == fitted + 77
    page.set_columns([k for k in keys if k != "id"])  # the columns shift: widths follow fields
    qtbot.waitUntil(lambda: "id" not in [f.key for f in page.model.columns])
    shown = [f.key for f in page.model.columns]
    assert header.sectionSize(shown.index("created")) == fitted + 77
    assert header.sectionSize(shown.index("amount")) == page._fitted["amount"]


def test_a_search_reads_in_the_background_and_the_latest_wins(imported, qtbot):
    """On a million rows a search's LIKE takes seconds: it must not hold the window."""
    from PySide6.QtWidgets import QApplication

    from desktop.services.query import Filter
    from desktop.services.registrations import RegistrationQuery

    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    total = page.model.total

    def matches(text: str) -> int:
        query = RegistrationQuery(charges)
        query.search = text
        return query.count()

    first = page.model.index(0, 0).data()
    wanted = first[:-2]  # an id's start: a few registrations
    assert 0 < matches(wanted) < total
    page.search.setText("zzz-nowhere")
    page._apply()  # what the search box's pause does
    assert page.status.text().startswith("Searching")
    assert page.busy.isVisible()
    assert page.model.count == total  # the rows shown stay until the search's arrive
    page.search.setText(wanted)
    page._apply()  # typed on: the first search is moot
    qtbot.waitUntil(lambda: not page.busy.isVisible(), timeout=10_000)
    expected = matches(wanted)
    assert page.status.text() == f"{expected:,} of {total:,} registrations"
    assert page.model.count == expected
    assert page.model.index(0, 0).data().startswith(wanted)

    page.search.setText("zzz-nowhere")
    page._apply()
    page.search.setText("")  # cleared before the search ends: its rows never land
    page._apply()
    assert page.status.text() == f"{total:,} of {total:,} registrations"
    qtbot.waitUntil(lambda: app.tasks._pool.activeThreadCount() == 0, timeout=10_000)
    QApplication.processEvents()
    assert page.model.count == total and not page.busy.isVisible()

    # A filter that looks inside text reads every row too.
    add_filter_through_the_dialog(page, "description", "contains", "a")
    assert page.status.text().startswith("Filtering")
    qtbot.waitUntil(lambda: not page.busy.isVisible(), timeout=10_000)
    query = RegistrationQuery(charges)
    query.filters = [Filter("description", "contains", "a")]
    assert 0 < page.model.count == query.count() < total
    assert page.status.text() == f"{query.count():,} of {total:,} registrations"


def test_rows_a_sync_stores_show_in_the_counts_though_filters_reuse_the_total(imported, qtbot):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    table = registration_model("charges")
    total = page.model.total
    page.hide_sample.setChecked(True)  # a filter: the total is not counted again
    live = page.model.count
    row = table.select().where((table.data_source == charges.id) & (table.livemode == 1)).get()
    fields = {k: v for k, v in row.__data__.items() if k != "pk"}
    table.create(**{**fields, "stripe_id": "ch_storedbyasync"})  # as a sync would store it
    page.reload()  # the app's answer to a finished sync
    assert page.status.text() == f"{live + 1:,} of {total + 1:,} registrations"


def test_a_data_sources_settings_are_edited_and_kept(imported, qtbot):
    app, _harness = imported
    charges = DataSource.get(DataSource.data_type == "charges")
    page = app.data_sources_page
    row = next(r for r in range(page.model.rowCount()) if page.model.summary(r).id == charges.id)
    page.table.selectRow(row)
    assert page.settings_button.isVisible() and page.settings_button.isEnabled()
    with qtbot.waitSignal(page.settings_requested) as clicked:
        page.settings_button.click()  # the user's way in: the button on the list
    assert clicked.args == [charges.id]
    dialog = app.edit_data_source(charges.id)
    assert dialog.title.text() == "Stripe Charges"
    dialog.title.setText("  ")
    dialog._save()
    assert dialog.isVisible() and "title" in dialog.problem.text()
    dialog.title.setText("Card payments")
    dialog.frequency.setCurrentIndex(dialog.frequency.findData(60))
    with qtbot.waitSignal(app.data_source_changed):
        dialog._save()
    saved = DataSource.get_by_id(charges.id)
    assert (saved.title, saved.update_frequency) == ("Card payments", 60)
    titles = [app.data_sources_page.model.index(r, 0).data() for r in range(2)]
    assert "Card payments" in titles


def test_named_views_and_renamed_fields_are_kept(imported, qtbot):

    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    add_filter_through_the_dialog(page, "status", "one_of", ["failed"])
    failed = page.model.count
    page.save_named_view("Failed payments")
    with qtbot.waitSignal(page.view_saved, timeout=10_000):
        page.remove_filter(0)  # saved on a worker
    assert page.model.count > failed
    app.open_data_source(charges.id)  # reopened: the saved view is still there
    assert list(page.saved_views) == ["Failed payments"]
    page.apply_named_view("Failed payments")
    assert page.model.count == failed
    page.delete_named_view("Failed payments")
    assert page.saved_views == {}

    page.rename_field("status", "Outcome status")
    qtbot.waitUntil(
        lambda: (
            "Outcome status"
            in [
                page.model.headerData(c, Qt.Orientation.Horizontal)
                for c in range(page.model.columnCount())
            ]
        )
    )
    assert "Outcome status" in [
        page.model.headerData(c, Qt.Orientation.Horizontal) for c in range(page.model.columnCount())
    ]
    assert page.chips.itemAt(0).widget().text().startswith("Outcome status")


def test_a_date_range_filter_from_the_dialog(imported, qtbot):
    import datetime as dt

    from PySide6.QtCore import QDateTime

    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    dialog = page.add_filter(preset=("created", "between"))
    assert dialog.date_from.isVisible() and not dialog.low_value.isVisible()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    dialog.date_from.setDateTime(QDateTime.fromSecsSinceEpoch(int(start.timestamp())))
    dialog.date_to.setDateTime(QDateTime.fromSecsSinceEpoch(int(end.timestamp())))
    dialog.accept()
    table = registration_model("charges")
    expected = (
        table.select()
        .where(
            (table.data_source == charges.id)
            & table.created.between(int(start.timestamp()), int(end.timestamp()))
        )
        .count()
    )
    assert page.model.count == expected


def test_history_is_a_data_source_setting(imported, qtbot):
    import datetime as dt

    app, _harness = imported
    charges = DataSource.get(DataSource.data_type == "charges")
    dialog = app.edit_data_source(charges.id)
    assert dialog.history_all.isChecked() and not dialog.history_date.isEnabled()
    dialog.history_since.setChecked(True)
    dialog.history_date.setDate(dt.date(2026, 1, 1))
    with qtbot.waitSignal(app.data_source_changed):
        dialog._save()
    assert DataSource.get_by_id(charges.id).history_since == dt.datetime(2026, 1, 1)


def test_a_relative_period_filter(imported, qtbot):
    from desktop.services.kpi.periods import period_range

    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    dialog = page.add_filter(preset=("created", "in_period"))
    assert dialog.period.isVisible() and dialog.period.currentText() == "This month"
    dialog.period.setCurrentIndex(dialog.period.findData("previous_year"))
    dialog.accept()
    start, end = period_range("previous_year", app.settings_store.effective_time_zone(app.settings))
    table = registration_model("charges")
    expected = (
        table.select()
        .where((table.data_source == charges.id) & (table.created >= start) & (table.created < end))
        .count()
    )
    assert page.model.count == expected > 0
    assert page.chips.itemAt(0).widget().text().startswith("Created is in previous year")


def test_the_toolbar_moves_its_buttons_under_the_search_in_a_narrow_window(imported, qtbot):
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    window = app.window
    buttons = (page.update_fields_button, page.views_button, page.export_button)
    window.resize(1280, window.height())
    middle = page.search.geometry().center().y

    def one_row() -> bool:
        return all(abs(b.geometry().center().y() - middle()) <= 2 for b in buttons)

    qtbot.waitUntil(lambda: not page.toolbar.stacked and page.toolbar.width() > 900)
    qtbot.waitUntil(one_row)
    qtbot.waitUntil(lambda: page.toolbar.height() < 2 * page.search.height())  # and one tall
    window.resize(800, window.height())
    qtbot.waitUntil(lambda: page.toolbar.stacked)
    qtbot.waitUntil(lambda: page.update_fields_button.y() > page.search.y())
    assert page.search.width() >= page.search.minimumWidth()  # whole, as every button
    assert page.update_fields_button.x() == page.search.x()  # under it, at the left
    for button in buttons:
        assert button.width() >= button.sizeHint().width(), button.text()
        assert page.toolbar.rect().contains(button.geometry()), button.text()


def test_text_from_stripe_is_shown_as_plain_text_everywhere(imported, qtbot):
    """A business name, a title and a description are anyone's to write: markup in them is
    shown as written by the widgets that show it (the page's header, chips, detail pane, the
    data sources list and the status bar), never interpreted."""
    from PySide6.QtWidgets import QLabel, QPushButton

    from desktop.store.models import Account

    app, _harness = imported
    markup = "<b>Acme</b><img src=x>"
    Account.update(name=markup).execute()
    DataSource.update(title=f"{markup} charges").where(DataSource.data_type == "charges").execute()
    table = registration_model("charges")
    first = table.select().order_by(table.id).first()
    table.update(
        description=markup, data=json.dumps({"id": first.stripe_id, "description": markup})
    ).where(table.id == first.id).execute()
    app._refresh_lists()
    page, _charges = open_charges(app, qtbot)
    add_filter_through_the_dialog(page, "description", "contains", "<b>Acme")
    qtbot.waitUntil(lambda: page.model.count == 1 and not page.busy.isVisible(), timeout=10_000)
    page.table.selectRow(0)
    app.window.set_status(f"Stripe refused a request: {markup}")

    shown = [w for w in app.window.findChildren(QLabel) if "<b>Acme" in w.text()]
    assert {page.header.title, page.header.subtitle, app.window.status_text} <= set(shown)
    assert [w for w in shown if w.textFormat() != Qt.TextFormat.PlainText] == []
    chips = [w.text() for w in app.window.findChildren(QPushButton) if "<b>Acme" in w.text()]
    assert chips == ["Description contains <b>Acme  ✕"]
    assert markup in page.detail_text.toPlainText()
    model = app.data_sources_page.model
    cells = {model.index(r, c).data() for r in range(model.rowCount()) for c in range(5)}
    assert f"{markup} charges" in cells


def test_hide_sample_data_and_the_livemode_chip_are_one_state(imported, qtbot):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)

    def chips() -> list[str]:
        return [page.chips.itemAt(i).widget().text() for i in range(page.chips.count() - 1)]

    page.hide_sample.setChecked(True)
    assert chips() == ["Livemode = True  ✕"]  # ticking the box shows its chip
    live = page.model.count
    page.remove_filter(0)  # the chip's ✕
    assert not page.hide_sample.isChecked() and chips() == []
    assert page.model.count > live
    add_filter_through_the_dialog(page, "livemode", "is_true")
    assert page.hide_sample.isChecked() and page.model.count == live
    page.hide_sample.setChecked(False)  # unticking removes the chip: sample data shows
    assert chips() == [] and page.model.count > live
    # A view saved by the version with a separate toggle opens as the chip (written once the
    # page's own saves of this view have landed, which would otherwise overwrite it).
    qtbot.waitUntil(
        lambda: not page.runner.busy(f"view-{charges.id}") and not page._save_widths.isActive()
    )
    charges.view_settings = json.dumps({"filters": [], "hide_sample": True})
    charges.save()
    app.open_data_source(charges.id)
    assert page.hide_sample.isChecked() and chips() == ["Livemode = True  ✕"]
    assert page.model.count == live


def test_the_sort_arrow_points_the_way_the_values_go(imported, qtbot):
    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    header = page.table.horizontalHeader()

    def arrow_rows() -> list[int]:
        """Dark pixels per row of the sorted section's arrow, top to bottom."""
        section = header.sortIndicatorSection()
        image = header.grab().toImage()
        right = header.sectionViewportPosition(section) + header.sectionSize(section)
        rows = []
        for y in range(image.height()):
            dark = sum(
                image.pixelColor(x, y).lightness() < 160 for x in range(right - 24, right - 2)
            )
            if dark:
                rows.append(dark)
        return rows

    created = [f.key for f in page.model.columns].index("created")
    header.resizeSection(created, 260)  # the arrow apart from the text
    assert header.sortIndicatorSection() == created  # newest first, as it opens
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    rows = arrow_rows()
    assert rows and rows[0] > rows[-1]  # ▼: wide at the top
    page.table.sortByColumn(created, Qt.SortOrder.AscendingOrder)
    rows = arrow_rows()
    assert rows and rows[0] < rows[-1]  # ▲ for oldest first


def test_a_narrow_amount_column_never_cuts_an_amount_or_its_currency(imported, qtbot):
    from PySide6.QtGui import QFontMetricsF
    from PySide6.QtWidgets import QStyleOptionViewItem

    app, _harness = imported
    app.window.resize(1024, 700)
    page, _charges = open_charges(app, qtbot)
    amount = [f.key for f in page.model.columns].index("amount")
    page.table.sortByColumn(amount, Qt.SortOrder.DescendingOrder)  # the largest first
    page.table.horizontalHeader().resizeSection(amount, 80)
    delegate = page.table.itemDelegateForColumn(amount)
    assert delegate is not None
    for row in range(20):
        index = page.model.index(row, amount)
        option = QStyleOptionViewItem()
        option.rect = page.table.visualRect(index)
        option.font = page.table.font()
        shown, font = delegate.fitted(option, index)
        full = index.data()
        assert shown.split()[-1] == full.split()[-1], (full, shown)  # the currency stays
        assert QFontMetricsF(font).horizontalAdvance(shown) <= option.rect.width() - 12, shown
    # The detail card beside it, at 1024 px: its amounts keep their currency too.
    page.table.selectRow(0)
    card = page.detail_text
    card.grab()
    assert not card.horizontalScrollBar().isVisible()
    rows = {
        card.topLevelItem(n).text(0): card.topLevelItem(n) for n in range(card.topLevelItemCount())
    }
    index = card.indexFromItem(rows["Amount"], 1)
    option = QStyleOptionViewItem()
    option.rect = card.visualRect(index)
    option.font = card.font()
    shown, font = card.itemDelegateForColumn(1).fitted(option, index)
    assert shown.split()[-1] == rows["Amount"].text(1).split()[-1], shown
    assert QFontMetricsF(font).horizontalAdvance(shown) <= option.rect.width() - 12, shown
    assert option.rect.right() <= card.viewport().width()


def test_long_messages_never_widen_the_window_and_the_busy_bar_does_not_jump(imported, qtbot):
    from types import SimpleNamespace

    app, _harness = imported
    window = app.window
    window.resize(1024, 700)
    page, _charges = open_charges(app, qtbot)
    qtbot.waitUntil(lambda: window.width() == 1024)
    added = [SimpleNamespace(label=f"Metadata field number {n}") for n in range(17)]
    page._fields_updated(added)  # as Update fields ends: "Added 17 fields: …"
    window.grab()
    assert page.status.text().startswith("Added 17 fields: ")
    assert window.width() == 1024 and window.minimumSizeHint().width() < 1024
    assert page.status.toolTip() == page.status.text()  # cut on screen, whole here
    page.message.setText("A filter could not be read: " + "very long reason " * 30)
    page.message.show()
    window.grab()
    assert window.width() == 1024 and window.minimumSizeHint().width() < 1024
    # A search's busy bar takes room kept for it: the status line does not move.
    before = page.status.geometry()
    page.busy.show()
    window.grab()
    assert page.status.geometry() == before
    page.busy.hide()
    # The export's bar has room for its words.
    page.export_progress.setValue(45)
    page.export_progress.show()
    window.grab()
    words = page.export_progress.fontMetrics().horizontalAdvance(page.export_progress.text())
    assert page.export_progress.width() >= words + 40
    page.export_progress.hide()


def test_the_column_chooser_stays_open_names_each_field_once_and_is_remembered(imported, qtbot):
    from PySide6.QtWidgets import QListWidget

    from desktop.views.column_chooser import ColumnChooser, KeyRole

    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    with qtbot.waitSignal(page.fields_updated, timeout=30_000):
        page.update_fields()  # finds payment_method beside the catalog's "Payment method"
    qtbot.keySequence(page, "Ctrl+Shift+C")  # reachable without a mouse
    (dialog,) = page.findChildren(ColumnChooser)
    qtbot.waitUntil(lambda: dialog.isVisible())
    items = dialog.findChild(QListWidget)
    labels = [items.item(r).text() for r in range(items.count())]
    assert len(labels) == len(set(labels)), labels  # no two fields read alike
    assert items.height() < 600  # one scrolling column, not a menu the height of the screen
    shown = [f.key for f in page.model.columns]
    status = next(r for r in range(items.count()) if items.item(r).data(KeyRole) == "status")
    amount = next(r for r in range(items.count()) if items.item(r).data(KeyRole) == "amount")
    items.item(status).setCheckState(Qt.CheckState.Unchecked)
    items.item(amount).setCheckState(Qt.CheckState.Unchecked)
    assert dialog.isVisible()  # ticking does not close it
    dialog.search.setText("payment")
    assert items.item(status).isHidden()
    dialog.accept()
    wanted = [k for k in shown if k not in ("status", "amount")]
    qtbot.waitUntil(lambda: [f.key for f in page.model.columns] == wanted, timeout=10_000)
    app.open_data_source(charges.id)
    assert [f.key for f in page.model.columns] == wanted


def test_amounts_are_typed_as_the_table_shows_them_and_old_filters_keep_their_meaning(
    imported, qtbot
):
    app, _harness = imported
    page, charges = open_charges(app, qtbot)
    qtbot.waitUntil(lambda: bool(page.currencies))
    assert page.currencies[0] == "usd"  # the most used first
    dialog = page.add_filter(preset=("amount", ">"))
    assert dialog.currency_box.isVisible() and dialog.currency_box.currentData() == "usd"
    dialog.text_value.setText("10.00")
    with qtbot.waitSignal(page.view_saved, timeout=10_000):
        dialog.accept()
    table = registration_model("charges")
    mine = table.data_source == charges.id
    expected = table.select().where(mine & (table.currency == "usd") & (table.amount > 1000))
    assert page.model.count == expected.count() > 0
    chips = [page.chips.itemAt(i).widget().text() for i in range(page.chips.count() - 1)]
    assert chips == ["Amount > 10.00 USD  ✕"]
    saved = json.loads(DataSource.get_by_id(charges.id).view_settings)["filters"]
    assert saved == [{"key": "amount", "op": ">", "value": 1000, "currency": "usd"}]
    app.open_data_source(charges.id)  # kept as it was meant
    assert page.model.count == expected.count()
    # A filter saved before amounts had a currency still means minor units, and says so.
    charges = DataSource.get_by_id(charges.id)
    charges.view_settings = json.dumps({"filters": [{"key": "amount", "op": ">", "value": 1000}]})
    charges.save()
    app.open_data_source(charges.id)
    before = table.select().where(mine & (table.amount > 1000))
    assert page.model.count == before.count()
    chips = [page.chips.itemAt(i).widget().text() for i in range(page.chips.count() - 1)]
    assert chips == ["Amount > 1000 (minor units)  ✕"]
    # Yen have no minor unit: 1,250 JPY is 1250.
    qtbot.waitUntil(lambda: "jpy" in page.currencies)
    dialog = page.add_filter(preset=("amount", "between"))
    dialog.currency_box.setCurrentIndex(dialog.currency_box.findData("jpy"))
    dialog.low_value.setText("1,250")
    dialog.high_value.setText("100000")
    flt = dialog.result_filter()
    assert (flt.value, flt.currency) == ((1250, 100_000), "jpy")
    dialog.reject()


def test_the_export_dialog_starts_in_documents_and_keeps_a_light_places_pane(
    imported, qtbot, monkeypatch, tmp_path
):
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QFileDialog, QWidget

    app, _harness = imported
    page, _charges = open_charges(app, qtbot)
    asked = []
    # Stands in for the modal dialog (it would wait for a person): what it is asked to open.
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *args, **kw: asked.append(args) or ("", "")
    )
    page._choose_export_file()
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert asked and asked[0][2].startswith(documents or str(tmp_path.home()))
    assert asked[0][2].endswith(".csv")
    # Qt's own dialog, as Linux without a portal shows it: its places pane is light.
    dialog = QFileDialog(page, "Export registrations", documents)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    places = dialog.findChild(QWidget, "sidebar")
    image = places.grab().toImage()
    assert image.pixelColor(places.width() // 2, places.height() - 4).lightness() > 200
    dialog.close()


def test_every_control_on_every_page_has_an_accessible_name(imported, qtbot):
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QWidget,
    )

    app, _harness = imported
    _page, charges = open_charges(app, qtbot)
    window = app.window
    unnamed = []
    for name in ("data_sources", "dashboards", "settings", "registrations"):
        if name == "registrations":
            app.open_data_source(charges.id)
        else:
            window.show_page(name)
        for widget in window.findChildren(QWidget):
            if not widget.isVisible() or widget.parent().inherits("QLineEdit"):
                continue  # a line edit's own clear button is Qt's
            if isinstance(widget, QAbstractButton):
                named = widget.text().strip() or widget.accessibleName() or widget.toolTip()
            elif isinstance(widget, QComboBox | QLineEdit | QAbstractSpinBox | QAbstractItemView):
                if widget.inherits("QHeaderView"):
                    continue  # its table's
                named = widget.accessibleName() or (  # a combo's or spin box's own editor
                    isinstance(widget, QLineEdit)
                    and (
                        widget.parent().inherits("QComboBox")
                        or widget.parent().inherits("QAbstractSpinBox")
                    )
                )
            else:
                continue
            if not named:
                unnamed.append((name, type(widget).__name__, widget.objectName()))
    assert unnamed == []
