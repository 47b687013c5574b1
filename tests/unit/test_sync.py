"""The sync engine against the simulator over HTTP, into a real SQLite file."""

from __future__ import annotations

import json

import peewee
import pytest

from desktop.simulator.dataset import EVENT_RETENTION
from desktop.store.dialect import POSTGRES, dialect_of
from desktop.store.models import Account, DataSource, SyncRun, registration_model
from tests.syncing import LIVE_KEY, TwoKeys, store_differences


def test_backfill_of_hundreds_of_pages_equals_the_simulator_exactly(make_simulator, harness_for):
    simulator = make_simulator(size=8000, seed=11)
    harness = harness_for(simulator)
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}
    assert harness.stats.requests > 300
    assert store_differences(harness) == []
    for ds in DataSource.select():
        assert ds.status == "up_to_date" and ds.last_synced_at is not None
    assert SyncRun.select().where(SyncRun.status == "succeeded").count() == 9


def test_without_a_writer_process_pages_are_written_on_the_writer_thread(
    make_simulator, harness_for
):
    """An in-memory or PostgreSQL store has no writer process: the same pages, derived rows
    and checkpoints go through the writer thread, and a second sync finds nothing to change."""
    simulator = make_simulator(size=1500, seed=13)
    types = ("charges", "balance_transactions", "fee_details", "invoices", "invoice_lines")
    harness = harness_for(simulator, types=types, writer_process=False)
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}
    assert harness.writer.process_id is None
    assert store_differences(harness) == []
    harness.sync()
    assert store_differences(harness) == []


def test_an_invoice_with_250_lines_yields_250_rows(simulator, harness_for):
    harness = harness_for(simulator, types=("invoice_lines",))
    harness.sync()
    invoice_id = simulator.dataset.object_id("in", 5)
    lines = registration_model("invoice_lines")
    assert lines.select().where(lines.parent_id == invoice_id).count() == 250
    assert store_differences(harness) == []


def test_stripes_indented_bodies_are_stored_compact_and_exact(make_simulator, harness_for):
    """api.stripe.com sends JSON indented by two spaces; the simulator does when asked. The
    store keeps each object compact, equal to what was sent."""
    import requests

    simulator = make_simulator(size=400, seed=12, indent=2)
    body = requests.get(
        f"{simulator.base_url}/v1/charges?limit=2",
        headers={"Authorization": f"Bearer {LIVE_KEY}"},
        timeout=10,
    ).text
    assert body.startswith('{\n  "object": "list",\n  "data": [\n    {\n      "id": "ch_')
    harness = harness_for(simulator)
    harness.sync()
    assert store_differences(harness) == []
    if dialect_of(harness.db) is POSTGRES:
        return  # jsonb keeps no text, only the parsed object (and prints it with spaces)
    for data_source in harness.data_sources:
        model = registration_model(data_source.data_type)
        texts = [
            row.data for row in model.select(model.data).where(model.data_source == data_source)
        ]
        assert texts and all("\n" not in t and '": ' not in t for t in texts), data_source.data_type


def test_incremental_sync_with_the_clock_and_faults_stays_exact(make_simulator, harness_for):
    simulator = make_simulator(size=1500, seed=5)
    harness = harness_for(simulator)
    harness.sync()
    simulator.config.faults = 0.1
    simulator.config.slow_seconds = 0.02
    for _round in range(3):
        events = simulator.tick(15, seconds_between=240)
        assert events
        results = harness.sync()
        assert {r.status for r in results} == {"up_to_date"}, [r.message for r in results]
    simulator.config.faults = 0.0
    assert harness.stats.retries > 0
    assert store_differences(harness) == []
    customers = registration_model("customers")
    deleted = [
        e["data"]["object"]["id"]
        for e in simulator.dataset.events
        if e["type"] == "customer.deleted"
    ]
    assert deleted
    assert customers.select().where(customers.stripe_id.in_(deleted)).count() == 0


def test_events_in_an_older_api_version_are_re_read(simulator, harness_for):
    """Events marked 2023-08-16 carry that version's shapes (invoice.paid, charge.invoice, a
    line's price and type): stored as they came, the rows would differ from Stripe's objects
    in the pinned version, and the store would hold fields that version no longer has."""
    harness = harness_for(simulator, types=("charges", "customers", "invoices", "invoice_lines"))
    harness.sync()
    events = simulator.tick(20)
    old = [e for e in events if e["api_version"] != simulator.dataset.api_version]
    old_kinds = {e["data"]["object"].get("object") for e in old}
    assert {"charge", "invoice"} <= old_kinds
    assert all("paid" in e["data"]["object"] for e in old if e["type"].startswith("invoice."))
    harness.sync()
    assert store_differences(harness) == []
    charges = registration_model("charges")
    invoices = registration_model("invoices")
    assert charges.select().where(charges.data.cast("text").contains('"invoice":')).count() == 0
    assert invoices.select().where(invoices.data.cast("text").contains('"paid":')).count() == 0
    assert invoices.select().where(invoices.data.cast("text").contains('"parent":')).count() > 0


def test_events_not_asked_for_or_of_another_object_are_skipped(
    make_simulator, harness_for, expected_log_warnings, caplog
):
    """Against a server that ignores types[] (Stripe's mock server does) and answers any id: a
    plan's events, in an older version so that they would be re-read by id, reach every feed.
    None is stored under a data type, each reason is logged once, and the store stays exact."""
    from desktop.simulator.versions import OLD_API_VERSION

    simulator = make_simulator(size=300, seed=7, mock_quirks=True)
    types = ("charges", "customers", "invoices", "invoice_lines", "refunds")
    harness = harness_for(simulator, types=types)
    harness.sync()
    plan = {"id": "plan_1SimQuirk", "object": "plan", "active": True, "livemode": True}
    simulator.dataset.add_event("plan.created", plan, api_version=OLD_API_VERSION)
    simulator.dataset.add_event("charge.updated", plan, api_version=OLD_API_VERSION)
    simulator.tick(8)
    caplog.clear()
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}, [r.message for r in results]
    assert store_differences(harness) == []
    for type_name in types:
        model = registration_model(type_name)
        assert model.select().where(model.stripe_id.contains("plan_")).count() == 0, type_name
    skipped = [r.getMessage() for r in caplog.records if "skipped an event" in r.getMessage()]
    assert len(skipped) == len(set(skipped))
    assert any("event type 'plan.created'" in m for m in skipped)
    assert any("Charges: skipped an event whose object 'plan'" in m for m in skipped)


def test_a_catch_up_pass_counts_a_registration_it_read_again_once(make_simulator, harness_for):
    """Balance transactions have no events: a catch-up pass lists from the newest one the
    import stored, which it reads again; the run stores it once and says so."""
    simulator = make_simulator(size=3000)  # the last two days' are pending, and read again
    harness = harness_for(simulator, types=("balance_transactions",), include_test_data=False)
    (result,) = harness.sync()
    bts = registration_model("balance_transactions")
    pending = [b.created for b in bts.select().where(bts.status == "pending")]
    assert pending
    assert result.rows[harness.data_sources[0].id] == bts.select().count()
    since = bts.select().where(bts.created >= min(pending)).count()
    simulator.clock.advance(60)
    (again,) = harness.sync()  # everything since the oldest pending one, read again, once
    assert again.rows[harness.data_sources[0].id] == since


def test_a_storm_of_429s_slows_the_sync_and_it_still_ends_exact(make_simulator, harness_for):
    """The client starts five times faster than the simulator allows (8 requests a second, a
    pace any machine exceeds): requests are answered 429. With the app's own retry policy they
    are retried, the account's limiter comes down towards what the server takes, and the
    import ends complete; a 429 taken as fatal, or a limiter that does not slow down, fails."""
    from desktop.services.stripe.client import RetryPolicy

    simulator = make_simulator(size=300, seed=5, rate_limit=8)
    types = ("charges", "customers", "invoices", "invoice_lines", "refunds")
    harness = harness_for(simulator, types=types, rate=40.0, retry=RetryPolicy())
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}, [r.message for r in results]
    assert harness.stats.throttled >= 3
    # Each mode has its limiter; the one that met the 429s came down.
    rates = [api.limiter.rate for api in harness.apis.values()]
    assert rates and min(rates) < 0.6 * 40, rates
    simulator.tick(10)
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}, [r.message for r in results]
    assert store_differences(harness) == []


def test_pending_balance_transactions_are_re_read_until_available(make_simulator, harness_for):
    simulator = make_simulator(size=3000)
    harness = harness_for(simulator, types=("balance_transactions", "fee_details"))
    harness.sync()
    bts = registration_model("balance_transactions")
    assert bts.select().where(bts.status == "pending").count() > 0
    simulator.clock.advance(3 * 86_400)
    harness.sync()
    assert bts.select().where(bts.status == "pending").count() == 0
    assert store_differences(harness) == []


def test_a_key_that_cannot_read_disputes_syncs_everything_else(
    make_simulator, harness_for, expected_log_warnings
):
    allowed = frozenset(
        set(
            [
                "balance_transactions",
                "charges",
                "customers",
                "invoices",
                "payment_intents",
                "refunds",
                "events",
            ]
        )
    )
    simulator = make_simulator(size=300, restricted_keys={"rk_live_nodisputes1": allowed})
    harness = harness_for(
        simulator, include_test_data=False, credentials=TwoKeys(live_key="rk_live_nodisputes1")
    )
    harness.sync()
    statuses = {ds.data_type: ds.status for ds in DataSource.select()}
    assert statuses.pop("disputes") == "not_permitted"
    assert set(statuses.values()) == {"up_to_date"}
    message = harness.data_source("disputes").status_message
    assert "rak_disputes_read" in message and "Grant it read access" in message
    problems = store_differences(harness, modes=(True,))
    assert problems and all(p.startswith("disputes: ") and "missing" in p for p in problems)


def test_a_revoked_key_needs_reconnect_and_keeps_the_data(
    simulator, harness_for, expected_log_warnings
):
    harness = harness_for(simulator, types=("charges",), include_test_data=False)
    harness.sync()
    charges = registration_model("charges")
    before = charges.select().count()
    simulator.revoke_key(LIVE_KEY)
    results = harness.sync()
    assert results[0].status == "needs_reconnect"
    assert "Reconnect the account" in results[0].message
    assert harness.data_source("charges").status == "needs_reconnect"
    assert Account.get_by_id(harness.account.id).status == "needs_reconnect"
    assert charges.select().count() == before


def test_a_cursor_older_than_30_days_re_imports_and_says_so(
    simulator, harness_for, expected_log_warnings
):
    harness = harness_for(simulator, types=("customers",), include_test_data=False)
    harness.sync()
    simulator.tick(5)
    simulator.clock.advance(EVENT_RETENTION + 86_400)
    # While Ledgerboard was away, a customer was deleted and its event has expired since.
    table = simulator.dataset.tables["customers"]
    gone = next(c["id"] for c in simulator.dataset.iterate("customers", True))
    table.deleted.add(gone)
    results = harness.sync()
    assert results[0].notice and "30 days" in results[0].notice
    assert "30 days" in harness.data_source("customers").status_message
    assert store_differences(harness, modes=(True,)) == []


def test_a_quiet_account_does_not_re_import(simulator, harness_for):
    harness = harness_for(simulator, types=("customers",), include_test_data=False)
    harness.sync()
    simulator.tick(2)
    for _ in range(4):  # polled every ten days: the cursor event itself expires meanwhile
        simulator.clock.advance(10 * 86_400)
        results = harness.sync()
        assert results[0].notice is None
    simulator.tick(3)
    harness.sync()
    assert store_differences(harness, modes=(True,)) == []


def test_cancel_keeps_what_was_committed_and_resumes(make_simulator, harness_for):
    simulator = make_simulator(size=3000)
    harness = harness_for(simulator, types=("charges",), include_test_data=False)
    pages = []

    def cancel_after_five_pages():
        return len(pages) >= 5

    results = harness.sync(progress=pages.append, cancelled=cancel_after_five_pages)
    assert results[0].status == "cancelled"
    charges = registration_model("charges")
    partial = charges.select().count()
    assert 0 < partial < 2600
    state = json.loads(harness.data_source("charges").sync_state)
    assert any(window["after"] for window in state["live"]["backfill"]["windows"])
    results = harness.sync()
    assert results[0].status == "up_to_date"
    assert store_differences(harness, modes=(True,)) == []


def test_a_history_import_says_how_much_is_done_and_the_time_left(
    make_simulator, harness_for, monkeypatch
):
    """Stripe does not say how many objects there are: the import measures how much of the
    time since the oldest object it has listed, in every mode it imports, and the time left at
    that pace."""
    from desktop.services.sync import engine

    monkeypatch.setattr(engine, "MEASURED_SECONDS", 0.0)  # the pace from the first pages on
    simulator = make_simulator(size=4000, seed=8, latency=0.01)
    harness = harness_for(simulator, types=("charges",), include_test_data=False)
    seen = []
    (result,) = harness.sync(progress=seen.append)
    assert result.status == "up_to_date", result.message
    fractions = [p.fraction for p in seen if p.fraction is not None]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    # Said from the first pages on (once the oldest day is found, beside them), bit by bit.
    assert len({round(f, 2) for f in fractions if 0 < f < 1}) >= 5, fractions
    lefts = [p.seconds_left for p in seen if p.fraction is not None and p.fraction < 1]
    assert any(left is not None and left > 0 for left in lefts)
    # Once done, a sync of the changes since does not pretend to know a share.
    seen.clear()
    harness.sync(progress=seen.append)
    assert seen and all(p.fraction is None for p in seen)


@pytest.mark.parametrize("live", [True, False])
def test_the_oldest_objects_day_is_found_by_halving(simulator, harness_for, live):
    from desktop.services.sync.history import DAY, oldest_created
    from tests.syncing import expected_objects

    harness = harness_for(simulator, types=("charges",))
    api = harness.api_for(harness.account.id, live)
    oldest = min(o["created"] for o in expected_objects(simulator, "charges", live).values())
    before = harness.stats.requests
    found = oldest_created(api, "/v1/charges", simulator.clock.now())
    assert oldest - DAY <= found <= oldest
    assert harness.stats.requests - before <= 15
    assert oldest_created(api, "/v1/charges", oldest - 1) is None


def test_reimporting_a_derived_type_restores_it_exactly(simulator, harness_for):
    from desktop.services.data_sources import DataSourcesService

    harness = harness_for(simulator, types=("invoices", "invoice_lines"), include_test_data=False)
    harness.sync()
    lines = registration_model("invoice_lines")
    count = lines.select().count()
    DataSourcesService().reset(harness.data_source("invoice_lines").id)
    assert lines.select().count() == 0
    assert harness.data_source("invoices").sync_state == "{}"  # the feed's checkpoints
    harness.sync()
    assert lines.select().count() == count
    assert store_differences(harness, modes=(True,)) == []


@pytest.mark.parametrize("writer_process", [True, False], ids=["process", "thread"])
def test_after_a_failed_write_no_later_checkpoint_of_the_import_commits(
    simulator, harness_for, writer_process
):
    """Writes are queued ahead of the writer. When one fails (a full disk), a later, smaller
    one might still fit, and its checkpoint would claim the failed page's rows as stored."""
    from desktop.services.sync.engine import FeedRun
    from desktop.services.sync.feeds import feeds_for
    from desktop.store.writer import EarlierWriteFailed

    harness = harness_for(
        simulator, types=("charges",), include_test_data=False, writer_process=writer_process
    )
    (feed,) = feeds_for([harness.data_source("charges")])
    run = FeedRun(harness.engine, feed, lambda _progress: None, lambda: False)
    mode = run.state.mode(True)
    mode.newest_created = 1
    charge = next(simulator.dataset.iterate("charges", True))
    failing = run._enqueue(True, mode, [dict(charge, id={"not": "an id"})], [], {})
    mode.newest_created = 2
    later = run._enqueue(True, mode, [], [], {})
    # sqlite3's words, or psycopg's
    with pytest.raises(Exception, match=r"type 'dict' is not supported|cannot adapt type 'dict'"):
        failing.result()
    with pytest.raises(EarlierWriteFailed):
        later.result()
    assert harness.data_source("charges").sync_state == "{}"
    assert registration_model("charges").select().count() == 0


@pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)
def test_every_types_write_statement_fits_the_oldest_sqlite_variable_limit(db):
    """SQLite before 3.32 takes at most 999 bound values a statement: a page of each type is
    written on a connection held to that."""
    import sqlite3

    from desktop.catalog import DATA_TYPES
    from desktop.services.sync.rows import table_rows

    db.connection().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    db.execute_sql("PRAGMA foreign_keys = OFF")  # rows of data source 1, which is not made here
    for name in DATA_TYPES:
        rows = table_rows(name)
        page = [rows.row(1, f"x_{i}", None, True, 1, {"id": f"x_{i}"}) for i in range(100)]
        with db.atomic():
            rows.upsert(db, page)
        stored = db.execute_sql(f'SELECT COUNT(*) FROM "{rows.table}"').fetchone()[0]
        assert stored == 100, name


@pytest.mark.parametrize("store_target", ["postgresql"], indirect=True)
def test_a_first_import_into_postgresql_gives_each_table_statistics_with_its_first_rows(
    simulator, harness_for, db
):
    """Each page deletes the fee details of the balance transactions it writes anew. In a new
    database the planner had no statistics: a prepared delete's generic plan, made at the
    first pages, took `data_source_id = ?` to pick out few rows and kept reading every
    earlier fee detail of the data source for each page, a third of an import's time by the
    end. Autovacuum measures a table only after a minute. Now the first rows a sync writes
    into a table come with its statistics."""
    types = ("balance_transactions", "fee_details", "customers")
    harness = harness_for(simulator, types=types)
    harness.sync()
    measured = {
        table
        for (table,) in db.execute_sql(
            "SELECT DISTINCT tablename FROM pg_stats WHERE attname = 'data_source_id'"
        ).fetchall()
    }
    assert {f"registrations_{name}" for name in types} <= measured
    assert "registrations_charges" not in measured  # not synced here: no rows to measure


def test_an_account_in_test_mode_reads_test_mode_only_though_sample_data_was_asked(
    simulator, harness_for
):
    """A test key reads test mode only: asking it for live data too (the wizard once let a
    test key tick "Also import test-mode (sample) data") read its sample data as live first,
    labelled live where the object has no Livemode of its own, and twice the requests."""
    harness = harness_for(simulator, types=("balance_transactions", "refunds"))
    Account.update(livemode=False).where(Account.id == harness.account.id).execute()
    assert all(ds.include_test_data for ds in harness.data_sources)
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}
    assert set(harness.apis) == {False}  # not one request in live mode
    assert store_differences(harness, modes=(False,)) == []
    for type_name in ("balance_transactions", "refunds"):
        rows = registration_model(type_name)
        assert rows.select().where(rows.livemode == 1).count() == 0


def test_an_api_key_reads_its_own_mode_only(expected_log_warnings):
    from desktop.services.secrets import SecretStore
    from desktop.services.stripe.client import NeedsReconnect
    from desktop.services.sync.service import AccountCredentials

    secrets = SecretStore()
    secrets.keep_for_this_session_only()  # warns: no keychain here
    secrets.put("acct-key", {"key": "sk_live_only000001"})
    secrets.put("acct-oauth", {"live": "live-token", "test": "test-token"})
    live_key = Account(livemode=True, keyring_entry="acct-key", auth_method="api_key")
    assert AccountCredentials(live_key, secrets).secret(True) == "sk_live_only000001"
    with pytest.raises(NeedsReconnect, match="test-mode"):
        AccountCredentials(live_key, secrets).secret(False)  # never the live key for test mode
    oauth = Account(livemode=True, keyring_entry="acct-oauth", auth_method="oauth")
    assert AccountCredentials(oauth, secrets).secret(False) == "test-token"


def test_a_mode_without_a_key_ends_the_sync_in_words_not_stuck_syncing(
    simulator, harness_for, expected_log_warnings
):
    """A live and sample account whose test-mode token is gone from the keychain: the live
    pass imports, the test pass cannot start, and the sync ends saying so."""
    from desktop.services.stripe.client import NeedsReconnect

    class LiveOnly(TwoKeys):
        def secret(self, live: bool) -> str:
            if not live:
                raise NeedsReconnect("No test-mode key or token is stored for this account.")
            return super().secret(live)

    harness = harness_for(simulator, types=("charges",), credentials=LiveOnly())
    (result,) = harness.sync()
    assert result.status == "needs_reconnect"
    ds = harness.data_source("charges")
    assert ds.status == "needs_reconnect" and "test-mode" in ds.status_message
    assert SyncRun.get(SyncRun.data_source == ds.id).status == "failed"


class _LateClock:
    """A clock whose sleeps always wake late, as a thread's do: by a third of what was asked."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds * 4 / 3


def test_the_rate_limiter_keeps_its_rate_though_every_wake_is_late():
    from desktop.services.stripe.client import RateLimiter

    clock = _LateClock()
    limiter = RateLimiter(100, start_share=1.0, clock=lambda: clock.now, sleep=clock.sleep)
    granted = []
    for _ in range(1000):
        limiter.acquire()
        granted.append(clock.now)
    # Late wakes are made up from what it saved: 1,000 requests at 100/s in about ten seconds
    # (a bucket of one request lost each lateness for good: 13.3 s).
    assert granted[-1] < 10.1
    # And it never runs ahead of its rate by more than it may save.
    for index, moment in enumerate(granted):
        assert index + 1 <= limiter.most + moment * 100 + 1e-9


def test_objects_whose_events_came_in_another_version_are_re_read_side_by_side(
    make_simulator, harness_for
):
    """An event in another API version is read again in the pinned one: with answers as slow
    as Stripe's, the stale objects of a page of events are read at once, not one round trip
    after another."""
    simulator = make_simulator(size=300, seed=3)
    harness = harness_for(simulator, types=("charges", "customers"), include_test_data=False)
    harness.sync()
    events = simulator.tick(60)
    stale = [e for e in events if e["api_version"] != simulator.dataset.api_version]
    assert len(stale) >= 4
    simulator.config.latency = 0.08
    simulator.most_at_once.clear()
    harness.sync()
    at_once = [simulator.most_at_once.get(f"/v1/{name}/*", 0) for name in ("charges", "customers")]
    assert max(at_once) >= 2, simulator.most_at_once
    assert store_differences(harness, modes=(True,)) == []


def test_sync_watch_syncs_each_data_source_at_its_own_update_frequency(
    app_paths, db, store_target, simulator
):
    """A server's `sync --watch` keeps each data source on the frequency set in its settings:
    charges every second (the shortest honoured is lowered for the test) and customers hourly,
    so after the first round only charges syncs again."""
    import threading

    from desktop.headless import WatchSchedule, sync_with_key

    paths = app_paths.with_database(store_target if "://" in store_target else None)
    types = ["charges", "customers"]
    sync_with_key(LIVE_KEY, paths, api_base=simulator.base_url, types=types)
    DataSource.update(update_frequency=1).where(DataSource.data_type == "charges").execute()
    DataSource.update(update_frequency=3600).where(DataSource.data_type == "customers").execute()
    charges = DataSource.get(DataSource.data_type == "charges")
    customers = DataSource.get(DataSource.data_type == "customers")

    class ObservedSchedule(WatchSchedule):
        """The real schedule; the test hears which data sources each round after the first
        syncs."""

        def __init__(self) -> None:
            super().__init__(fastest=0)
            self.rounds: list[list[int]] = []
            self.enough = threading.Event()

        def wait_for_due(self, ids):
            due = super().wait_for_due(ids)
            if due:
                self.rounds.append(sorted(due))
            if len(self.rounds) >= 3:
                self.enough.set()
            return due

    watch = ObservedSchedule()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = sync_with_key(
                LIVE_KEY, paths, api_base=simulator.base_url, types=types, watch=watch
            )
        except BaseException as exc:  # the test reports it
            outcome["error"] = exc
        finally:
            watch.enough.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert watch.enough.wait(60), "the watch never synced charges three times more"
    finally:
        watch.stop()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert watch.rounds[:3] == [[charges.id]] * 3
    runs = dict(
        SyncRun.select(SyncRun.data_source, peewee.fn.COUNT(SyncRun.id))
        .group_by(SyncRun.data_source)
        .tuples()
    )
    assert runs[customers.id] == 2  # the one-shot sync and the watch's first round
    assert runs[charges.id] >= 4  # and at least two more, at its own frequency
    assert outcome["summary"]["status"]["customers"] == "up_to_date"
