"""The Data sources page as a user reads it: the account by its business name, how often each
source updates, and every column in view in a 1024 px window."""

from __future__ import annotations

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


def test_every_column_is_in_view_at_1024_px(start_app, qtbot):
    app = start_app()
    account = Account.create(
        name="Ledgerboard Simulator", auth_method="api_key", keyring_entry="acct-1"
    )
    for data_type in ("charges", "payment_intents", "balance_transactions", "invoice_lines"):
        DataSource.create(
            account=account,
            data_type=data_type,
            title=f"Stripe {data_type.replace('_', ' ').title()}",
            status=DataSourceStatus.UP_TO_DATE,
            last_synced_at=utc_now(),
            update_frequency=3600,
        )
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
