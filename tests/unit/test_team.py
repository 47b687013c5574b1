"""Team mode on a shared PostgreSQL: one syncer per account, told apart by computer."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest

from desktop.services.accounts import AccountsService
from desktop.store.sync_lock import AccountBusy, AccountSyncLock

pytestmark = pytest.mark.parametrize("store_target", ["postgresql"], indirect=True)


def make_account(simulator=None):
    return AccountsService().create(
        name="Acme",
        auth_method="api_key",
        keyring_entry="",
        livemode=True,
        api_base=simulator.base_url if simulator else None,
    )


def test_a_second_computer_is_told_in_words_which_one_syncs_the_account(db):
    account = make_account()
    office = AccountSyncLock(db, account.id, account.name)
    office.acquire(computer="office-server")
    laptop = AccountSyncLock(db, account.id, account.name)
    with pytest.raises(AccountBusy) as refused:
        laptop.acquire(computer="finance-laptop")
    assert refused.value.holder == "office-server"
    assert "The computer 'office-server' is syncing the account 'Acme'" in str(refused.value)
    other = make_account()
    with AccountSyncLock(db, other.id):  # another account is free to sync elsewhere
        pass
    office.release()
    laptop.acquire(computer="finance-laptop")  # free again once the holder lets go
    laptop.release()


def test_the_sync_command_refuses_an_account_another_computer_syncs(db, simulator, store_target):
    key = "sk_live_teamtests00001"
    env = {**os.environ, "LEDGERBOARD_API_KEY": key, "LEDGERBOARD_COMPUTER_NAME": "laptop"}
    command = [sys.executable, "-m", "desktop", "sync", "--api-base", simulator.base_url]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    from desktop.store.models import Account

    account = Account.get(Account.api_base == simulator.base_url)
    before = simulator.request_count
    with AccountSyncLock(db, account.id, account.name) as held:
        held.release()
        held.acquire(computer="office-server")
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert "'office-server' is syncing the account" in second.stderr
    assert simulator.request_count == before  # not one request to Stripe


def test_sync_watch_keeps_syncing_and_stops_cleanly_on_sigterm(db, make_simulator, store_target):
    """`sync --watch` on a server: syncs, syncs again on its schedule (the clock's new
    charges arrive), logs, and on SIGTERM lets go of the account and exits 0."""
    import signal
    import time

    from desktop.store.models import registration_model

    simulator = make_simulator(size=300, seed=3, frozen_clock=False, clock_interval=0.2)
    env = {**os.environ, "LEDGERBOARD_API_KEY": "sk_live_watchtests0001"}
    command = [sys.executable, "-m", "desktop", "sync", "--watch", "--every", "0.5"]
    with subprocess.Popen(
        [*command, "--api-base", simulator.base_url, "--types", "charges"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while sum("synced" in line for line in lines) < 3:
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stderr.readline())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopping: the last sync's rows are committed" in err
    assert json.loads(out.strip().splitlines()[-1])["status"] == {"charges": "up_to_date"}
    charges = registration_model("charges")
    assert charges.select().count() > 0
    from desktop.store.models import Account

    account = Account.get(Account.api_base == simulator.base_url)
    with AccountSyncLock(db, account.id):  # let go: another computer may take over
        pass


def test_a_read_only_role_views_everything_and_hears_why_it_cannot_change_anything(
    db, store_target, postgres_server, app_paths, qtbot
):
    """The README's GRANTs for a read-only role: the store opens with everything readable,
    marked view only, and the app says in words that changes need write rights."""
    import peewee

    from desktop.store.opening import VIEW_ONLY_MESSAGE, open_store

    make_account()
    database = store_target.rsplit("/", 1)[1]
    postgres_server.admin(
        "DO $$ BEGIN CREATE ROLE ledgerboard_view LOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    with psycopg_connect(store_target) as owner:  # the README's GRANTs, as the owner
        owner.execute(f'GRANT CONNECT ON DATABASE "{database}" TO ledgerboard_view')
        owner.execute("GRANT USAGE ON SCHEMA public TO ledgerboard_view")
        owner.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO ledgerboard_view")
    db.close()
    viewer_url = postgres_server.url(database, user="ledgerboard_view")
    viewer = open_store(viewer_url)
    try:
        assert viewer.view_only
        from desktop.store.models import Account, DataSource

        assert [a.name for a in Account.select()] == ["Acme"]
        assert DataSource.select().count() == 0  # readable, though there are none yet
        with pytest.raises(peewee.ProgrammingError, match="permission denied"):
            Account.create(name="Mallory", auth_method="api_key", keyring_entry="")
    finally:
        viewer.close()
    from desktop.app import Application, create_qt_application

    create_qt_application([])
    app = Application(app_paths.with_database(viewer_url))
    try:
        window = app.start()
        qtbot.addWidget(window)
        assert app.view_only
        assert window.status_text.text() == VIEW_ONLY_MESSAGE
        assert "needs write rights" in VIEW_ONLY_MESSAGE
    finally:
        app.shutdown()


def psycopg_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def test_postgresql_restarted_in_the_middle_of_a_sync_then_the_sync_resumes_exact(
    db, make_simulator, harness_for, postgres_server, expected_log_warnings
):
    """The server stops at once (as a crash would) and starts again while pages are being
    written: what was committed stays, the sync says what went wrong, and the next one
    resumes from its checkpoint and ends exact. Connections come back by themselves."""
    import threading

    from desktop.store.models import registration_model
    from tests.syncing import store_differences

    simulator = make_simulator(size=3000, seed=8, latency=0.01)
    harness = harness_for(simulator, types=("charges", "customers"), include_test_data=False)
    restarted = threading.Event()

    def restart_when_rows_arrive() -> None:
        charges = registration_model("charges")
        while not restarted.is_set():
            if charges.select().count() > 300:
                postgres_server.restart()
                restarted.set()
                return
            threading.Event().wait(0.05)

    watcher = threading.Thread(target=restart_when_rows_arrive)
    watcher.start()
    harness.sync()
    watcher.join(timeout=60)
    assert restarted.is_set()
    second = harness.sync()  # on connections made anew, this thread's among them
    assert {r.status for r in second} == {"up_to_date"}, [r.message for r in second]
    assert store_differences(harness, modes=(True,)) == []


def test_store_copy_moves_a_local_store_to_postgresql_and_checks_the_counts(
    store_target, app_paths, make_simulator, capsys, monkeypatch
):
    """From the data folder's SQLite file into the (empty) PostgreSQL test database."""
    from desktop.__main__ import main
    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.store.db import open_database
    from desktop.store.opening import open_store
    from tests.syncing import import_into, rollup_differences

    monkeypatch.delenv("LEDGERBOARD_DATABASE_URL")  # the copy reads the data folder's file
    postgres_url = store_target
    db = open_store(app_paths.database)
    simulator = make_simulator(size=400, seed=6)
    import_into(db, simulator, ("charges", "refunds", "balance_transactions"))
    dashboards = DashboardsService(FormulaLibrary())
    dashboards.create_starter()
    totals = (
        'SELECT COUNT(*), SUM("amount"), MIN("stripe_id") FROM "registrations_charges" '
        'UNION ALL SELECT 0, 0, CAST("data" AS TEXT) FROM "registrations_charges" '
        'WHERE "stripe_id" = (SELECT MIN("stripe_id") FROM "registrations_charges")'
    )
    here = db.execute_sql(totals).fetchall()
    db.close()

    assert main(["store", "copy", "--to", postgres_url, "--data-dir", str(app_paths.data_dir)]) == 0
    out, err = capsys.readouterr()
    assert "every table's count matches" in err
    assert "registrations_charges" in out and "DIFFERS" not in out
    target = open_database(postgres_url)
    try:
        from desktop.store.models import Dashboard, registration_model

        there = target.execute_sql(totals).fetchall()
        assert there[0] == here[0] and json.loads(there[1][2]) == json.loads(here[1][2])
        assert registration_model("charges").select().count() > 0
        assert Dashboard.select().count() == 1
        assert rollup_differences(target) == []  # the day totals made by its triggers
        # Vacuumed: a count of the registrations reads the index alone.
        (visible, pages) = target.execute_sql(
            "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'registrations_charges'"
        ).fetchone()
        assert pages > 0 and visible == pages
        make_account()  # new ids follow the copied ones
        # A second copy into the same database is refused in words, changing nothing.
        target.close()
        assert (
            main(["store", "copy", "--to", postgres_url, "--data-dir", str(app_paths.data_dir)])
            == 2
        )
        assert "has Ledgerboard data already" in capsys.readouterr().err
    finally:
        target.close()


def test_the_connection_test_says_in_words_what_is_wrong(
    db, store_target, postgres_server, memory_keyring
):
    """Settings > Team's Test connection against a real server: each failure in words."""
    from urllib.parse import urlsplit

    from desktop.services.team import SharedDatabase, save_password, test_connection
    from desktop.store.models import SchemaVersion

    database = urlsplit(store_target).path.lstrip("/")
    port = postgres_server.port
    shared = SharedDatabase("127.0.0.1", database, postgres_server.USER, port=port, tls="disable")
    checked = test_connection(shared)
    assert checked.ok and checked.can_write and "read and write" in checked.message

    with socket_closed() as free_port:
        away = SharedDatabase("127.0.0.1", database, "anyone", port=free_port, tls="disable")
        assert "cannot be reached" in test_connection(away).message

    locked = postgres_server.PASSWORD_USER
    postgres_server.admin(
        f"DO $$ BEGIN CREATE ROLE {locked} LOGIN PASSWORD 'right horse'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    with_password = SharedDatabase("127.0.0.1", database, locked, port=port, tls="disable")
    refused = test_connection(with_password, "wrong horse")
    assert not refused.ok and "refused the user 'ledgerboard_password'" in refused.message
    assert (
        "may not read Ledgerboard's tables" in test_connection(with_password, "right horse").message
    )
    save_password(with_password, "right horse")  # the keyring's, when none is typed
    assert "may not read" in test_connection(with_password).message
    assert "wrong horse" not in refused.message and "right horse" not in refused.message

    gone = SharedDatabase("127.0.0.1", "no_such_db", postgres_server.USER, port=port, tls="disable")
    assert "has no database named 'no_such_db'" in test_connection(gone).message

    SchemaVersion.create(version=99, description="from the future")
    newer = test_connection(shared)
    assert not newer.ok and "newer Ledgerboard (schema version 99)" in newer.message


@contextlib.contextmanager
def socket_closed():
    """A port on 127.0.0.1 where nothing listens."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


def _open_at_once(url: str, barrier, failures) -> None:
    from desktop.store.opening import open_store

    barrier.wait()
    try:
        open_store(url).close()
    except Exception as exc:  # said to the test, which fails on it
        failures.put(f"{type(exc).__name__}: {exc}")


def test_desktops_opening_a_new_shared_database_at_once_make_its_schema_once(store_target):
    """Six computers start against an empty team database in the same moment (the first
    morning, or after an upgrade): each waits for the one making the tables and indexes."""
    import multiprocessing

    from desktop.store.migrations import LATEST_VERSION, current_version
    from desktop.store.opening import open_store

    spawn = multiprocessing.get_context("spawn")
    barrier, failures = spawn.Barrier(6), spawn.Queue()
    computers = [
        spawn.Process(target=_open_at_once, args=(store_target, barrier, failures))
        for _ in range(6)
    ]
    for computer in computers:
        computer.start()
    for computer in computers:
        computer.join(120)
    said = []
    while not failures.empty():
        said.append(failures.get())
    assert said == []
    assert [computer.exitcode for computer in computers] == [0] * 6
    db = open_store(store_target)
    try:
        assert current_version(db) == LATEST_VERSION
    finally:
        db.close()


def test_feeds_pages_commit_side_by_side_each_feeds_in_order(db, store_target):
    """On PostgreSQL a feed whose write waits (here on a lock this test holds) holds up its
    own later pages, not another feed's: those commit on another connection meanwhile."""
    import psycopg

    from desktop.store.writer import StoreWriter, WriteChain

    holder = psycopg.connect(store_target, autocommit=True)  # another computer, say
    holder.execute("SELECT pg_advisory_lock(4242)")
    writer = StoreWriter(db)
    slow, quick = WriteChain(), WriteChain()
    try:
        waiting = writer.submit_statements(
            [("SELECT pg_advisory_xact_lock(4242)", [])], slow, lambda counts: "first"
        )
        behind = writer.submit_statements([("SELECT 1", [])], slow, lambda counts: "second")
        beside = writer.submit_statements([("SELECT 1", [])], quick, lambda counts: "other")
        assert beside.result(timeout=10) == "other"
        assert not waiting.done() and not behind.done()  # in order, behind the first
        holder.execute("SELECT pg_advisory_unlock(4242)")
        assert waiting.result(timeout=10) == "first" and behind.result(timeout=10) == "second"
    finally:
        holder.close()
        writer.close()
