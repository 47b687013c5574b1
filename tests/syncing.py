"""Helpers for sync tests: an engine against a simulator, and the store-equals-Stripe check."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from desktop.catalog import DATA_TYPES, field_value
from desktop.services.accounts import AccountsService
from desktop.services.stripe.client import RateLimiter, RequestStats, RetryPolicy, StripeApi
from desktop.services.sync.engine import SyncEngine
from desktop.services.sync.feeds import feeds_for
from desktop.services.sync.rows import child_objects
from desktop.store.models import DataSource, registration_model
from desktop.store.rollups import rollup_for
from desktop.store.writer import StoreWriter

LIVE_KEY = "sk_live_synctests0001"
TEST_KEY = "sk_test_synctests0001"


@dataclass
class TwoKeys:
    """Credentials with one key per mode, like an OAuth account with a sample-data token."""

    live_key: str = LIVE_KEY
    test_key: str = TEST_KEY

    def secret(self, live: bool) -> str:
        return self.live_key if live else self.test_key

    def refresh(self, live: bool) -> str | None:
        return None


class SyncHarness:
    """A store, an account with data sources, and an engine pointed at a simulator."""

    def __init__(
        self,
        db,
        simulator,
        types=tuple(DATA_TYPES),
        *,
        include_test_data=True,
        credentials=None,
        rate=5_000.0,
        writer_process=True,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.db = db
        self.simulator = simulator
        accounts = AccountsService()
        self.account = accounts.create(
            name="Sim",
            auth_method="api_key",
            keyring_entry="",
            livemode=True,
            api_base=simulator.base_url,
        )
        self.data_sources = accounts.ensure_data_sources(
            self.account, types, include_test_data=include_test_data
        )
        self.credentials = credentials or TwoKeys()
        self.stats = RequestStats()
        self.apis: dict[bool, StripeApi] = {}
        self.rate = rate
        # Quick retries unless a test asks for the app's own (a storm of 429s does).
        self.retry = retry or RetryPolicy(attempts=12, base_delay=0.01, max_delay=0.2)
        self.writer = StoreWriter(db, own_process=writer_process)
        self.engine = SyncEngine(self.writer, self.api_for, now=simulator.clock.now)

    def api_for(self, account_id: int, live: bool) -> StripeApi:
        if live not in self.apis:
            self.apis[live] = StripeApi(
                self.credentials,
                live,
                api_base=self.simulator.base_url,
                limiter=RateLimiter(self.rate, start_share=1.0),
                stats=self.stats,
                retry=self.retry,
            )
        return self.apis[live]

    def sync(self, **kwargs):
        data_sources = DataSource.select().where(
            DataSource.id.in_([d.id for d in self.data_sources])
        )
        return self.engine.sync_all(feeds_for(data_sources), **kwargs)

    def close(self) -> None:
        self.writer.close()

    def data_source(self, type_name: str) -> DataSource:
        return DataSource.get(
            (DataSource.account == self.account) & (DataSource.data_type == type_name)
        )


def expected_objects(simulator, type_name: str, live: bool) -> dict[str, dict]:
    """What Stripe holds now, keyed by the id the store uses."""
    ds = simulator.dataset
    data_type = DATA_TYPES[type_name]
    if not data_type.parent:
        return {o["id"]: o for o in ds.iterate(type_name, live)}
    result = {}
    for parent in ds.iterate(data_type.parent, live):
        if type_name == "invoice_lines":
            parent = dict(parent, lines={"data": ds.invoice_lines(parent["id"])})
        for stable_id, obj in child_objects(data_type, parent):
            result[stable_id] = obj
    return result


def assert_stored_part_is_whole(simulator, type_name: str) -> None:
    """After a sync that stopped part way: some live objects are stored, not all, and each
    one stored is exactly as Stripe has it."""
    stored = {r.stripe_id: json.loads(r.data) for r in registration_model(type_name).select()}
    expected = {o["id"]: o for o in simulator.dataset.iterate(type_name, True)}
    assert 0 < len(stored) < len(expected)
    assert all(stored[i] == expected[i] for i in stored)


def store_differences(harness: SyncHarness, modes=(True, False)) -> list[str]:
    """Every way the store differs from the simulator, type by type, field by field."""
    problems = []
    for ds in harness.data_sources:
        model = registration_model(ds.data_type)
        data_type = DATA_TYPES[ds.data_type]
        rows = list(model.select().where(model.data_source == ds.id).dicts())
        stored_ids = [r["stripe_id"] for r in rows]
        if len(stored_ids) != len(set(stored_ids)):
            problems.append(f"{ds.data_type}: duplicate rows")
        expected = {}
        for live in modes:
            expected.update(
                {
                    k: (live, v)
                    for k, v in expected_objects(harness.simulator, ds.data_type, live).items()
                }
            )
        missing = set(expected) - set(stored_ids)
        extra = set(stored_ids) - set(expected)
        if missing:
            problems.append(f"{ds.data_type}: {len(missing)} missing, e.g. {sorted(missing)[:3]}")
        if extra:
            problems.append(f"{ds.data_type}: {len(extra)} not in Stripe, e.g. {sorted(extra)[:3]}")
        for row in rows:
            if row["stripe_id"] not in expected:
                continue
            live, obj = expected[row["stripe_id"]]
            if json.loads(row["data"]) != obj:
                problems.append(f"{ds.data_type} {row['stripe_id']}: stored object differs")
                continue
            if bool(row["livemode"]) != live:
                problems.append(f"{ds.data_type} {row['stripe_id']}: livemode {row['livemode']}")
            for fld in data_type.fields:
                if row[fld.column] != field_value(fld, obj):
                    problems.append(
                        f"{ds.data_type} {row['stripe_id']}.{fld.key}: "
                        f"{row[fld.column]!r} != {field_value(fld, obj)!r}"
                    )
        if len(problems) > 20:
            break
    return problems + rollup_differences(DataSource._meta.database)


def rollup_differences(db) -> list[str]:
    """Where the day totals the triggers kept differ from the rows counted again."""
    problems = []
    for data_type in DATA_TYPES.values():
        rollup = rollup_for(data_type)
        if rollup is None:
            continue
        width = len(rollup.key_columns)
        columns = ", ".join(f'"{c}"' for c in (*rollup.key_columns, "rows", *rollup.money))
        kept = {
            tuple(row[:width]): tuple(row[width:])
            for row in db.execute_sql(f'SELECT {columns} FROM "{rollup.table}"').fetchall()
            # A day whose rows were all deleted keeps a row of zeros.
            if any(row[width:])
        }
        counted = {
            tuple(row[:width]): tuple(row[width:])
            for row in db.execute_sql(rollup.recount()).fetchall()
        }
        if kept != counted:
            wrong = sorted(set(kept.items()) ^ set(counted.items()), key=str)[:3]
            problems.append(f"{rollup.table}: {len(wrong)}+ day totals differ, e.g. {wrong}")
    return problems


def import_into(db, simulator, types, **options) -> SyncHarness:
    """Data sources of these types, synced once from the simulator (the engine closed)."""
    harness = SyncHarness(db, simulator, types=types, **options)
    try:
        harness.sync()
    finally:
        harness.close()
    return harness


@contextlib.contextmanager
def traced(db, statements: list[str]):
    """The statements run on the store meanwhile (this thread's), on either backend."""
    from desktop.store.dialect import POSTGRES, dialect_of

    if dialect_of(db) is POSTGRES:
        target = getattr(db, "obj", db)

        def hook(event) -> None:
            statements.append(event.sql)

        target.query_hooks.append(hook)
        try:
            yield
        finally:
            target.query_hooks.remove(hook)
        return
    connection = db.connection()
    connection.set_trace_callback(statements.append)
    try:
        yield
    finally:
        connection.set_trace_callback(None)
