"""The Data sources page as a user reads it: the account by its business name, how often each
source updates, and every column in view in a 1024 px window."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt

from desktop.store.models import Account, DataSource, DataSourceStatus, utc_now


def test_a_pasted_key_names_the_account_as_stripe_does(start_app, qtbot):
    app = start_app(demo=True, demo_size=300)
    wizard = app.open_new_data_source()
    wizard.go_next()
    wizard.key_field.setText("sk_test_pastedkey00000001")
    wizard.check_key()
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    # The simulator's GET /v1/account, read with the key: its Dashboard display name.
    assert wizard.flow.connection_name == "Ledgerboard Simulator"
    assert "The key works for Ledgerboard Simulator" in wizard.connect_status.text()
    wizard.close()


def four_data_sources(account_name: str, **fields) -> None:
    """Four data sources of one account, "Stripe Balance Transactions" the longest title."""
    account = Account.create(name=account_name, auth_method="api_key", keyring_entry="acct-1")
    for data_type in ("charges", "payment_intents", "balance_transactions", "invoice_lines"):
        DataSource.create(
            account=account,
            data_type=data_type,
            title=f"Stripe {data_type.replace('_', ' ').title()}",
            update_frequency=3600,
            **{"status": DataSourceStatus.UP_TO_DATE, **fields},
        )


def test_every_column_is_in_view_at_1024_px(start_app, qtbot):
    app = start_app()
    four_data_sources("Ledgerboard Simulator", last_synced_at=utc_now())
    page = app.data_sources_page
    page.refresh()
    app.window.resize(1024, 700)
    qtbot.waitUntil(lambda: app.window.width() == 1024 and page.table.isVisible())
    model, table = page.model, page.table
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "0", timeout=10_000)
    table.grab()
    assert not table.horizontalScrollBar().isVisible()
    header = table.horizontalHeader()
    for column, name in enumerate(model.COLUMNS):
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= table.viewport().width(), name
        if name != "Title":  # the one that gives way, ending in "…", whole in its tooltip
            assert header.sectionSize(column) >= header.sectionSizeFromContents(column).width()
    title = model.index(model.rowCount() - 1, 0)
    assert header.sectionSize(0) >= table.sizeHintForIndex(title).width()  # whole here
    status = model.index(0, model.STATUS)
    assert header.sectionSize(model.STATUS) >= table.sizeHintForIndex(status).width()
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert row[1] == "Ledgerboard Simulator" and row[4] == "just now · every hour"
    assert "acct_" not in " ".join(row)
    assert model.COLUMNS.index("Status") == model.STATUS


def test_a_long_account_name_gives_way_before_the_titles_while_a_sync_runs(start_app, qtbot):
    """At 1024 px, a long business name beside a sync's progress had left every title
    reading "Stripe …": the Account column ends in "…" first, whole in its tooltip."""
    app = start_app()
    name = "Ledgerboard Simulator Europe GmbH & Co. KG"
    four_data_sources(name, status=DataSourceStatus.SYNCING)
    page = app.data_sources_page
    page.refresh()
    model, table = page.model, page.table
    ids = [model.summary(row).id for row in range(model.rowCount())]
    model.set_progress(ids, "42 % · 3 min left", "Importing history · 12,345 rows")
    app.window.resize(1024, 700)
    qtbot.waitUntil(lambda: app.window.width() == 1024 and page.table.isVisible())
    qtbot.waitUntil(lambda: model.index(0, model.REGISTRATIONS).data() == "0", timeout=10_000)
    table.grab()
    header = table.horizontalHeader()
    assert not table.horizontalScrollBar().isVisible()
    for row in range(model.rowCount()):  # every title whole
        assert header.sectionSize(0) >= table.sizeHintForIndex(model.index(row, 0)).width()
    account_cell = model.index(0, model.ACCOUNT)
    heading = header.sectionSizeHint(model.ACCOUNT)
    whole = table.sizeHintForIndex(account_cell).width()
    assert heading <= header.sectionSize(model.ACCOUNT) < whole
    # Whole, and shown as plain text: "&" as itself, not the start of a markup entity.
    assert html.escape(name) in account_cell.data(Qt.ItemDataRole.ToolTipRole)
    # In a wide window the whole name is back.
    app.window.resize(1600, 900)
    qtbot.waitUntil(lambda: app.window.width() == 1600)
    qtbot.waitUntil(lambda: header.sectionSize(model.ACCOUNT) >= whole)
