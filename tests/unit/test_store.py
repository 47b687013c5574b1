"""The store on a real SQLite file: pragmas, schema, migrations, read-only files."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import stat
from pathlib import Path

import peewee
import pytest

from desktop.catalog import DATA_TYPES
from desktop.store import migrations
from desktop.store.db import StoreError, check_writable, open_database
from desktop.store.dialect import POSTGRES, dialect_of
from desktop.store.migrations import LATEST_VERSION, current_version, migrate
from desktop.store.models import (
    Account,
    Alert,
    AlertFiring,
    DataSource,
    ReportSchedule,
    SavedFormula,
    SchemaVersion,
    build_registration_model,
    registration_model,
)

V1_DUMP = Path(__file__).resolve().parents[1] / "data" / "ledgerboard-schema-v1.sql"


def make_data_source(data_type: str = "charges") -> DataSource:
    account = Account.create(name="Acme", auth_method="api_key", keyring_entry="account-1")
    return DataSource.create(account=account, data_type=data_type, title=f"Stripe {data_type}")


@pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)
def test_sqlite_is_in_wal_mode_with_foreign_keys_and_a_busy_timeout(db):
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_a_new_database_has_every_table_at_the_latest_version(db):
    assert current_version(db) == LATEST_VERSION
    tables = set(db.get_tables())
    for name in DATA_TYPES:
        assert f"registrations_{name}" in tables
    assert {
        "account",
        "data_source",
        "data_source_field",
        "dashboard",
        "widget",
        "sync_run",
        "alert",
        "report_schedule",
        "alert_firing",
    } <= tables


def test_registration_tables_have_typed_columns_and_indexes(db):
    columns = {c.name: c.data_type.upper() for c in db.get_columns("registrations_charges")}
    assert columns["amount"] in ("INTEGER", "BIGINT")  # 64 bits on both
    assert columns["billing_details__address__country"] == "TEXT"
    assert columns["livemode"] in ("INTEGER", "SMALLINT")
    assert columns["data"] in ("TEXT", "JSONB")
    indexes = {tuple(i.columns) for i in db.get_indexes("registrations_charges")}
    assert ("data_source_id", "stripe_id") in indexes
    # The period index: the status and the card brand ride along for counts by either.
    period = ("data_source_id", "livemode", "created", "status")
    assert (*period, "payment_method_details__card__brand") in indexes
    # The KPI index: money by currency in a period, read without touching the rows.
    assert (
        "data_source_id",
        "livemode",
        "currency",
        "created",
        "status",
        "amount",
    ) in indexes
    assert ("data_source_id", "currency", "amount") in indexes  # amounts sort by currency first


def test_the_same_stripe_object_cannot_be_stored_twice_in_a_data_source(db):
    ds = make_data_source()
    charges = registration_model("charges")
    charges.create(data_source=ds, stripe_id="ch_1", livemode=True, data="{}")
    with pytest.raises(peewee.IntegrityError):
        charges.create(data_source=ds, stripe_id="ch_1", livemode=True, data="{}")


def test_deleting_a_data_source_deletes_its_registrations(db):
    ds = make_data_source()
    charges = registration_model("charges")
    charges.create(data_source=ds, stripe_id="ch_1", livemode=True, data="{}")
    ds.delete_instance()
    assert charges.select().count() == 0


def test_migrate_twice_changes_nothing(db, app_paths):
    report = migrate(db, backup_dir=app_paths.backup_dir)
    assert not report.changed
    assert report.backup is None
    assert SchemaVersion.select().count() == 1


def test_a_version_1_file_is_upgraded_without_losing_rows(tmp_path, app_paths):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(V1_DUMP.read_text())
    con.close()
    db = open_database(path)
    report = migrate(db, backup_dir=app_paths.backup_dir)
    assert current_version(db) == LATEST_VERSION
    assert report.to_version == LATEST_VERSION
    charges = registration_model("charges")
    assert sorted(r.amount for r in charges.select()) == [990, 1250, 50000]
    assert [a.name for a in Account.select()] == ["Acme Ltd"]
    assert DataSource.select().count() == 2
    assert report.backup is not None and report.backup.exists()
    assert {ds.view_settings for ds in DataSource.select()} == {None}  # added by version 2
    assert SavedFormula.select().count() == 0  # the table version 3 adds
    SavedFormula.create(name="Gross", text="Sum(Charges, amount)")
    # Version 4's tables: an alert on a data source of the old file, its firing, a schedule.
    alert = Alert.create(name="Sync down", condition="sync_failed", data_source=1, threshold=30)
    AlertFiring.create(alert=alert, kind="alert", message="fired")
    ReportSchedule.create(dashboard_title="Gone", folder=str(tmp_path))
    assert [f.alert.name for f in AlertFiring.select()] == ["Sync down"]
    db.close()


def test_catalog_fields_added_since_a_file_was_written_become_filled_columns(tmp_path, app_paths):
    """An older catalog had fewer charge fields; the upgrade adds and fills them from JSON."""
    path = tmp_path / "old-catalog.sqlite"
    db = open_database(path)
    migrate(db, catalog=[])  # core tables only, as an old version would leave them
    charges = DATA_TYPES["charges"]
    older = dataclasses.replace(
        charges,
        fields=tuple(
            f
            for f in charges.fields
            if f.key not in ("billing_details.address.country", "disputed")
        ),
        _by_key={},
    )
    old_model = build_registration_model(older)
    db.create_tables([old_model])
    ds = make_data_source()
    obj = {
        "id": "ch_1",
        "amount": 700,
        "disputed": True,
        "billing_details": {"address": {"country": "DK"}},
    }
    old_model.create(
        data_source=ds, stripe_id="ch_1", livemode=True, data=json.dumps(obj), amount=700
    )

    report = migrate(db, backup_dir=app_paths.backup_dir)

    assert set(report.added_columns) == {
        "registrations_charges.billing_details__address__country",
        "registrations_charges.disputed",
    }
    assert report.backup is not None and report.backup.exists()
    row = registration_model("charges").get()
    assert (row.amount, row.disputed, row.billing_details__address__country) == (700, True, "DK")
    # The backup holds the file as it was: without the new columns.
    with sqlite3.connect(report.backup) as copy:
        backup_columns = {r[1] for r in copy.execute("PRAGMA table_info(registrations_charges)")}
    copy.close()
    assert "disputed" not in backup_columns and "amount" in backup_columns
    db.close()


def test_an_older_schema_version_is_backed_up_before_migrating(tmp_path, app_paths, monkeypatch):
    applied = []
    step = migrations.Migration(2, "test step", lambda db: applied.append(current_version(db)))
    monkeypatch.setattr(migrations, "MIGRATIONS", (step,))
    monkeypatch.setattr(migrations, "LATEST_VERSION", 2)
    db = open_database(tmp_path / "v1.sqlite")
    with sqlite3.connect(tmp_path / "v1.sqlite") as con:
        con.executescript(V1_DUMP.read_text())
    con.close()
    report = migrate(db, backup_dir=app_paths.backup_dir)
    assert applied == [1]
    assert current_version(db) == 2
    assert report.backup is not None and report.backup.exists()
    with sqlite3.connect(report.backup) as copy:
        assert copy.execute("SELECT MAX(version) FROM schema_version").fetchone() == (1,)
    copy.close()
    db.close()


def test_a_database_from_a_newer_version_is_refused_in_words(db):
    SchemaVersion.create(version=LATEST_VERSION + 1, description="from the future")
    with pytest.raises(StoreError, match="newer Ledgerboard"):
        migrate(db)


def test_a_read_only_database_file_is_refused_in_words(tmp_path):
    path = tmp_path / "ro.sqlite"
    db = open_database(path)
    migrate(db)
    db.close()
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP)
    try:
        with pytest.raises(StoreError, match="read-only"):
            open_database(path)
    finally:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def test_check_writable_passes_on_a_healthy_database(db):
    check_writable(db)


def test_accounts_store_no_secret_only_the_keyring_entry_name():
    columns = set(Account._meta.fields)
    assert "keyring_entry" in columns
    assert not columns & {"api_key", "secret", "token", "access_token", "refresh_token"}


def test_indexes_an_older_version_made_are_dropped_on_migration(db):
    db.execute_sql(
        'CREATE INDEX "registrations_charges_data_source_id_livemode_created" '
        'ON "registrations_charges" ("data_source_id", "livemode", "created")'
    )
    db.execute_sql(  # the period index before the card brand rode along
        'CREATE INDEX "registrations_charges_data_source_id_livemode_created_status" '
        'ON "registrations_charges" ("data_source_id", "livemode", "created", "status")'
    )
    migrate(db)
    indexes = {
        index.name: tuple(index.columns) for index in db.get_indexes("registrations_charges")
    }
    assert "registrations_charges_data_source_id_livemode_created" not in indexes
    assert "registrations_charges_data_source_id_livemode_created_status" not in indexes
    period = ("data_source_id", "livemode", "created", "status")
    assert (*period, "payment_method_details__card__brand") in indexes.values()


def test_day_totals_follow_every_write_and_are_made_where_they_are_missing(db):
    from tests.syncing import rollup_differences

    ds, other = make_data_source(), make_data_source()
    charges = registration_model("charges")
    day = 86_400
    charges.insert_many(
        [
            {
                "data_source": (ds, other)[n % 2],
                "stripe_id": f"ch_{n}",
                "livemode": n % 3 != 0,
                "data": "{}",
                "created": 1_780_000_000 + n * 20_000 if n != 7 else None,
                "currency": ("usd", "eur", None)[n % 3],
                "status": ("succeeded", "failed", "pending", None)[n % 4],
                "amount": n * 100 if n % 5 else None,
            }
            for n in range(80)
        ]
    ).execute()
    chosen = [f"ch_{n}" for n in range(0, 80, 7)]
    charges.update(created=charges.created + 2 * day).where(charges.stripe_id.in_(chosen)).execute()
    charges.update(status="failed", currency="usd").where(charges.stripe_id << chosen[:4]).execute()
    charges.update(amount=7).where(
        charges.stripe_id << [f"ch_{n}" for n in range(3, 80, 11)]
    ).execute()
    charges.update(livemode=True).where(charges.stripe_id << ["ch_0", "ch_3"]).execute()
    charges.update(data='{"seen": 1}').where(charges.stripe_id << ["ch_1", "ch_2"]).execute()
    charges.update(created=1_780_000_000).where(charges.stripe_id == "ch_7").execute()
    charges.delete().where(charges.stripe_id << [f"ch_{n}" for n in range(1, 80, 9)]).execute()
    assert rollup_differences(db) == []
    assert db.execute_sql("SELECT COUNT(*) FROM rollup_charges").fetchone()[0] > 20

    # A database from before day totals: they are counted from its rows.
    on = " ON registrations_charges" if dialect_of(db) is POSTGRES else ""
    for event in ("insert", "delete", "update"):
        db.execute_sql(f"DROP TRIGGER rollup_charges_{event}{on}")
    db.execute_sql("DROP TABLE rollup_charges")
    migrate(db)
    assert rollup_differences(db) == []
    # Triggers lost (a tool rebuilt the table): the totals are counted again.
    db.execute_sql(f"DROP TRIGGER rollup_charges_delete{on}")
    charges.delete().where(charges.stripe_id << ["ch_4", "ch_5"]).execute()
    assert rollup_differences(db) != []
    migrate(db)
    assert rollup_differences(db) == []
    charges.delete().where(charges.stripe_id << ["ch_6", "ch_8"]).execute()
    assert rollup_differences(db) == []

    DataSource.delete().where(DataSource.id == ds.id).execute()  # its rows go, and its totals
    left = "SELECT COUNT(*) FROM rollup_charges WHERE data_source_id = ?"
    assert db.execute_sql(left, (ds.id,)).fetchone()[0] == 0
    assert rollup_differences(db) == []


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--data-source", "Stripe Charges"],
        ["kpi", "Count(Charges)"],
        ["sync", "--api-key", "sk_test_neverused00001"],
        ["report", "--template", "stripe-overview", "--format", "csv", "--output", "{dir}/r.csv"],
        ["alerts", "check"],
    ],
)
def test_every_command_opens_the_store_one_way(command, db, app_paths, store_target, capsys):
    """The app and each command open the store with open_store: a database from a newer
    Ledgerboard is refused in words with exit code 2, before any work (no request, no row)."""
    from desktop.__main__ import main

    SchemaVersion.create(version=LATEST_VERSION + 1, description="from the future")
    shared = ["--database", store_target] if dialect_of(db) is POSTGRES else []
    command = [part.format(dir=app_paths.data_dir) for part in command]
    assert main([*command, "--data-dir", str(app_paths.data_dir), *shared]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "newer Ledgerboard" in err and "Traceback" not in err
    named = "alerts check" if command[0] == "alerts" else command[0]
    assert err.startswith(f"{named} cannot run: ")
    assert not (app_paths.data_dir / "r.csv").exists()


RELEASE_DUMP = Path(__file__).resolve().parents[1] / "data" / "ledgerboard-release-v3.sql"
RELEASE_PRICE = "price_00000000c5d6990196a6dda8"


def test_a_store_of_the_release_before_keeps_what_names_moved_fields(tmp_path, app_paths):
    """A store written by the release whose catalog read Stripe's 2023 shapes (made by it,
    kept as tests/data/ledgerboard-release-v3.sql): saved formulas, a dashboard, filters and
    views name an invoice's `subscription` and a line's `price.id` and `type`, which the
    pinned version moved. After the upgrade each counts what it counted before."""
    from desktop.services.kpi.dashboards import DashboardsService, GroupsData
    from desktop.services.kpi.evaluate import evaluate
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.services.kpi.periods import ALL_TIME, ALL_TIME_RANGE
    from desktop.services.registrations import Filter, RegistrationQuery

    path = tmp_path / "release.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(RELEASE_DUMP.read_text())
        # What the release's own columns said.
        subscribed = con.execute(
            "SELECT COUNT(*) FROM registrations_invoices WHERE subscription IS NOT NULL"
        ).fetchone()[0]
        by_subscription = dict(
            con.execute(
                "SELECT subscription, COUNT(*) FROM registrations_invoices GROUP BY subscription"
            ).fetchall()
        )
        price_total = con.execute(
            "SELECT SUM(amount) FROM registrations_invoice_lines WHERE price__id = ?",
            (RELEASE_PRICE,),
        ).fetchone()[0]
        setup_fees = con.execute(
            "SELECT COUNT(*) FROM registrations_invoice_lines WHERE type = 'invoiceitem'"
        ).fetchone()[0]
    con.close()
    assert 0 < subscribed < sum(by_subscription.values()) and price_total and setup_fees
    db = open_database(path)
    report = migrate(db, backup_dir=app_paths.backup_dir)
    assert report.from_version == 3 and current_version(db) == LATEST_VERSION

    invoices = registration_model("invoices")
    moved = invoices.parent__subscription_details__subscription
    assert invoices.select().where(moved.is_null(False)).count() == subscribed
    library = FormulaLibrary()
    catalog = library.catalog()
    assert evaluate("[Subscription invoices]", catalog, *ALL_TIME_RANGE).value == subscribed
    value = evaluate("[One price]", catalog, *ALL_TIME_RANGE)
    assert value.value * 100 == pytest.approx(price_total)

    service = DashboardsService(library)
    (board,) = service.dashboards()
    shown = {r.spec.title: r.data for r in service.refresh(board.id, period=ALL_TIME).values()}
    groups = shown["Invoices by subscription"]
    assert isinstance(groups, GroupsData)
    assert {group: count for group, _currency, count in groups.rows} == by_subscription
    assert shown["Subscriptions"].value.value == subscribed
    assert shown["Setup fees"].value.value == setup_fees

    for data_source in DataSource.select():
        keys = {f.key for f in data_source.fields}
        assert not keys & set(data_source.catalog.moved), data_source.data_type
        assert {f.key for f in data_source.catalog.fields} <= keys
        view = json.loads(data_source.view_settings or "{}")
        query = RegistrationQuery(data_source)
        query.filters = [Filter(f["key"], f["op"], f.get("value")) for f in view.get("filters", [])]
        expected = subscribed if data_source.data_type == "invoices" else None
        if data_source.data_type == "invoice_lines":
            lines = registration_model("invoice_lines")
            expected = lines.select().where(lines.pricing__price_details__price == RELEASE_PRICE)
            expected = expected.count()
            assert view["filters"][0]["key"] == "pricing.price_details.price"
        if expected is not None:
            assert query.count() == expected > 0, data_source.data_type
    invoices_view = json.loads(DataSource.get(DataSource.data_type == "invoices").view_settings)
    assert invoices_view["views"]["Subscriptions"]["filters"][0]["key"] == moved.name.replace(
        "__", "."
    )
    assert invoices_view["widths"] == {"parent.subscription_details.subscription": 180}
    db.close()


def test_day_totals_kept_by_an_older_key_are_made_again_from_the_rows(db):
    """Balance transactions' day totals were keyed by status; they are keyed by reporting
    category now. A store whose totals have the old key gets new ones, from its rows."""
    from desktop.store.rollups import ensure_rollup, rollup_for

    data_type = DATA_TYPES["balance_transactions"]
    rollup = rollup_for(data_type)
    assert rollup.kind == "reporting_category"
    old = dataclasses.replace(rollup, kind="status")
    on = f' ON "{rollup.source}"' if dialect_of(db) is POSTGRES else ""
    for name in rollup.trigger_names:
        db.execute_sql(f'DROP TRIGGER IF EXISTS "{name}"{on}')
    db.execute_sql(f'DROP TABLE "{rollup.table}"')
    for statement in old.create(dialect_of(db)):
        db.execute_sql(statement)
    assert "reporting_category" not in {c.name for c in db.get_columns(rollup.table)}
    assert ensure_rollup(db, data_type)
    assert "reporting_category" in {c.name for c in db.get_columns(rollup.table)}
    assert not ensure_rollup(db, data_type)  # now as it should be: left alone
