"""Syncs run off the GUI thread, report back as signals, never overlap, and stop cleanly."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QThread

from desktop.services.accounts import AccountsService
from desktop.services.secrets import SecretStore
from desktop.services.sync.scheduler import due_data_sources
from desktop.store.models import DataSource, SyncRun, registration_model, utc_now

KEY = "sk_live_backgroundsync1"


@pytest.fixture
def pace_from_the_start(monkeypatch):
    """The time left is said from the first pages on, not after two seconds of them."""
    from desktop.services.sync import engine

    monkeypatch.setattr(engine, "MEASURED_SECONDS", 0.0)


def connect_account(simulator, types=("charges", "customers")):
    accounts = AccountsService()
    account = accounts.create(
        name="Simulated Ltd",
        auth_method="api_key",
        keyring_entry="account-test-1",
        livemode=True,
        api_base=simulator.base_url,
    )
    SecretStore().put("account-test-1", {"key": KEY})
    return account, accounts.ensure_data_sources(account, types)


def test_sync_runs_in_the_background_and_reports_on_the_gui_thread(start_app, qtbot, simulator):
    app = start_app()
    _account, data_sources = connect_account(simulator)
    threads = set()
    app.sync_service.progress.connect(
        lambda p: threads.add(QThread.currentThread() is QCoreApplication.instance().thread())
    )
    with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
        started = app.sync_service.sync()
    assert sorted(started) == sorted(d.id for d in data_sources)
    assert threads == {True}
    charges = registration_model("charges")
    assert charges.select().count() == simulator.dataset.count("charges", True)
    page = app.data_sources_page
    assert page.stack.currentWidget() is not page.empty_state
    rows = {
        page.model.summary(r).type_name: page.model.index(r, page.model.STATUS).data()
        for r in range(page.model.rowCount())
    }
    assert rows == {"Charges": "Up to date", "Customers": "Up to date"}
    assert app.window.status_text.text() == "2 data sources"


def test_two_requests_for_one_data_source_never_overlap(start_app, qtbot, simulator):
    app = start_app()
    _account, data_sources = connect_account(simulator, types=("charges",))
    finished = []
    app.sync_service.finished.connect(finished.append)
    assert app.sync_service.sync() == [data_sources[0].id]
    assert app.sync_service.sync() == []  # queued behind the running one
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=30_000)
    runs = list(SyncRun.select().order_by(SyncRun.started_at))
    assert len(runs) == 2
    assert runs[0].finished_at <= runs[1].started_at


def test_closing_the_app_mid_sync_stops_cleanly_and_resumes_exactly(
    start_app, qtbot, make_simulator
):
    simulator = make_simulator(size=20_000, rate_limit=60)
    app = start_app()
    connect_account(simulator, types=("charges",))
    charges = registration_model("charges")
    with qtbot.waitSignal(app.sync_service.progress, timeout=30_000):
        app.sync_service.sync()
    qtbot.waitUntil(lambda: charges.select().count() >= 300, timeout=30_000)
    app.window.close()
    app.shutdown()
    assert not app.sync_service.running()
    assert not app.sync_service.gui_first.beating
    ds = DataSource.get()
    assert ds.status in ("new", "up_to_date")  # not left "syncing"
    partial = charges.select().count()
    assert 0 < partial < simulator.dataset.count("charges", True)
    windows = json.loads(ds.sync_state)["live"]["backfill"]["windows"]
    assert any(window["after"] for window in windows)
    simulator.config.rate_limit = None
    simulator.limiter = None
    app = start_app()
    with qtbot.waitSignal(app.sync_service.finished, timeout=60_000):
        app.sync_service.sync()
    ids = [r.stripe_id for r in charges.select(charges.stripe_id)]
    assert len(ids) == len(set(ids)) == simulator.dataset.count("charges", True)


def test_due_data_sources_follow_the_update_frequency(start_app, simulator):
    start_app()
    _account, (charges, customers) = connect_account(simulator)
    assert set(due_data_sources()) == {charges.id, customers.id}  # never synced
    now = utc_now()
    SyncRun.create(data_source=charges, kind="sync", started_at=now - dt.timedelta(seconds=100))
    SyncRun.create(data_source=customers, kind="sync", started_at=now - dt.timedelta(seconds=400))
    assert due_data_sources(now) == [customers.id]  # both every 5 minutes
    DataSource.update(update_frequency=60).where(DataSource.id == charges.id).execute()
    assert set(due_data_sources(now)) == {charges.id, customers.id}
    DataSource.update(status="needs_reconnect").where(DataSource.id == customers.id).execute()
    assert due_data_sources(now) == [charges.id]


def test_the_scheduler_catches_up_soon_after_start(start_app, qtbot, simulator):
    app = start_app()
    connect_account(simulator, types=("customers",))
    with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
        app.start_background_work(first_check_ms=10)
    assert DataSource.get().status == "up_to_date"
    assert app.scheduler.run_due() == []  # just synced: nothing is due


def test_disconnect_then_reconnect_an_api_key_account(start_app, qtbot, simulator):
    app = start_app()
    account, _ = connect_account(simulator, types=("customers",))
    with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
        app.sync_service.sync()
    app._disconnect_account(account.id)  # on a worker: the window says when it is done
    qtbot.waitUntil(lambda: "is disconnected" in app.window.status_text.text(), timeout=10_000)
    assert SecretStore().get(account.keyring_entry) == {}
    assert DataSource.get().status == "needs_reconnect"
    rows = app.accounts.rows()
    assert [(r.name, r.status) for r in rows] == [("Simulated Ltd", "disconnected")]
    assert app.accounts_card.buttons[account.id][1].isEnabled() is False
    with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
        app.replace_key(account, "sk_live_replacementkey01")
    assert SecretStore().get(account.keyring_entry) == {"key": "sk_live_replacementkey01"}
    assert DataSource.get().status == "up_to_date"
    assert app.accounts.rows()[0].status == "connected"


def test_the_list_shows_a_running_syncs_progress(
    start_app, qtbot, make_simulator, pace_from_the_start
):
    simulator = make_simulator(size=6000, rate_limit=80)
    app = start_app()
    connect_account(simulator, types=("charges",))
    app._refresh_lists()
    model = app.data_sources_page.model
    with qtbot.waitSignal(app.sync_service.progress, timeout=30_000):
        app.sync_service.sync()
    assert app.sync_service.gui_first.beating  # so that the sync's threads give way to it
    # Its share done and time left in the cell; its phase and rows in the cell's tooltip.
    qtbot.waitUntil(lambda: " % · " in model.index(0, model.STATUS).data(), timeout=20_000)
    assert re.fullmatch(r"\d+ % · (< 1|\d+) min left", model.index(0, model.STATUS).data())
    tip = model.index(0, model.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert re.fullmatch(r"Importing history · \d+ % · .* left · [\d,]+ rows", tip), tip
    qtbot.waitUntil(lambda: model.index(0, model.STATUS).data() == "Up to date", timeout=60_000)
    assert not app.sync_service.running()
    assert not app.sync_service.gui_first.beating


def test_the_wizard_says_each_imports_share_done_and_time_left(
    start_app, qtbot, pace_from_the_start
):
    app = start_app(demo=True, demo_size=6_000)
    app.simulator.config.latency = 0.005  # answers that take a while, as Stripe's do
    wizard = app.open_new_data_source()
    wizard.go_next()
    wizard.key_option.setChecked(True)
    wizard.key_field.setText(KEY)
    wizard.check_key_button.click()
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=10_000)
    wizard.go_next()
    for name, box in wizard.type_boxes.items():
        box.setChecked(name == "charges")
    seen: list[tuple[str, int, int]] = []

    def look(_progress) -> None:  # after the wizard has drawn it
        (ds_id,) = wizard.progress_labels
        bar = wizard.progress_bars[ds_id]
        seen.append((wizard.progress_labels[ds_id].text(), bar.maximum(), bar.value()))

    app.sync_service.progress.connect(look)
    with qtbot.waitSignals([wizard.finished_import, wizard.counted], timeout=60_000):
        wizard.go_next()
    shares = [(text, value) for text, maximum, value in seen if maximum == 1000]
    assert shares, seen
    assert [value for _text, value in shares] == sorted(value for _text, value in shares)
    assert any(
        re.fullmatch(r"Importing history · \d+ % · about \d+ min left · [\d,]+ rows", text)
        or re.fullmatch(r"Importing history · \d+ % · less than a minute left · [\d,]+ rows", text)
        for text, _value in shares
    ), shares
    (label,) = wizard.progress_labels.values()
    assert label.text().startswith("Done · ")


def test_an_account_named_by_its_id_takes_stripes_name_at_its_next_sync(
    start_app, qtbot, simulator
):
    from desktop.store.models import Account

    app = start_app()
    account, _ = connect_account(simulator, types=("customers",))
    for stand_in in ("Stripe acct_1Nv0FGQ9RKHgCVdK", "Stripe (key …ync1)"):
        Account.update(name=stand_in).where(Account.id == account.id).execute()
        with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
            app.sync_service.sync()
        assert Account.get_by_id(account.id).name == "Ledgerboard Simulator"
    # A name the user gave is theirs.
    Account.update(name="Our shop").where(Account.id == account.id).execute()
    with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
        app.sync_service.sync()
    assert Account.get_by_id(account.id).name == "Our shop"
    assert [r.name for r in app.accounts.rows()] == ["Our shop"]
