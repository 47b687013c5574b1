"""Schema migrations, from the first version on.

A new database gets the current schema and is stamped with the latest version. An older one is
copied to backups/ first, then upgraded one numbered step at a time, each in a transaction.
Registration tables follow the catalog: a field the catalog gained since the file was written
becomes a new column, filled from the stored JSON, so no re-import is needed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run_operations

from desktop.catalog import DATA_TYPES, DataType, field_value
from desktop.store.db import StoreError, sqlite_path
from desktop.store.models import (
    CORE_MODELS,
    REGISTRATION_MODELS,
    Alert,
    AlertFiring,
    ReportSchedule,
    SavedFormula,
    SchemaVersion,
    build_registration_model,
    column_for,
)
from desktop.store.rollups import ensure_rollup

log = logging.getLogger(__name__)

BACKFILL_BATCH = 5_000


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[pw.Database], None]


def _add_view_settings(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    # Nullable: a NOT NULL column makes peewee rebuild the table on SQLite.
    run_operations(migrator.add_column("data_source", "view_settings", pw.TextField(null=True)))


def _add_saved_formulas(db: pw.Database) -> None:
    db.create_tables([SavedFormula])


def _follow_moved_fields(db: pw.Database) -> None:
    """The API version the SDK pins (2026-10-28) moved some fields (an invoice's subscription
    under parent.subscription_details, a line's price under pricing.price_details): each data
    source's field list and saved view name them by their new key, and lists the catalog's new
    fields (hidden). Formulas and dashboards keep the old names, which the filter compiler
    resolves (DataType.moved); the columns are copied over by _reconcile_registrations."""
    q = db.param
    sources = db.execute_sql('SELECT "id", "data_type", "view_settings" FROM "data_source"')
    for ds_id, type_name, view_settings in sources.fetchall():
        data_type = DATA_TYPES.get(type_name)
        if data_type is None:
            continue
        keys = {
            row[0]
            for row in db.execute_sql(
                f'SELECT "key" FROM "data_source_field" WHERE "data_source_id" = {q}', (ds_id,)
            ).fetchall()
        }
        for old, new in data_type.moved.items():
            if old in keys and new not in keys:
                db.execute_sql(
                    f'UPDATE "data_source_field" SET "key" = {q}, "kind" = {q} '
                    f'WHERE "data_source_id" = {q} AND "key" = {q}',
                    (new, str(data_type.field(new).kind), ds_id, old),
                )
                keys = (keys - {old}) | {new}
        position = db.execute_sql(
            'SELECT COALESCE(MAX("position"), 0) FROM "data_source_field" '
            f'WHERE "data_source_id" = {q}',
            (ds_id,),
        ).fetchone()[0]
        for fld in data_type.fields:
            if fld.key not in keys:
                position += 1
                db.execute_sql(
                    'INSERT INTO "data_source_field" ("data_source_id", "key", "label", "kind", '
                    f'"custom", "visible", "position") VALUES ({q}, {q}, {q}, {q}, {q}, {q}, {q})',
                    (ds_id, fld.key, fld.label, str(fld.kind), False, False, position),
                )
        if view_settings and data_type.moved:
            moved = _moved_view(view_settings, data_type.moved)
            if moved != view_settings:
                db.execute_sql(
                    f'UPDATE "data_source" SET "view_settings" = {q} WHERE "id" = {q}',
                    (moved, ds_id),
                )


def _moved_view(text: str, moved) -> str:
    """A data source's saved view settings with moved fields named by their new keys."""
    try:
        view = json.loads(text)
    except ValueError:
        return text
    if not isinstance(view, dict):
        return text

    def filters(items):
        if not isinstance(items, list):
            return items
        return [
            {**f, "key": moved.get(f.get("key"), f.get("key"))} if isinstance(f, dict) else f
            for f in items
        ]

    if "filters" in view:
        view["filters"] = filters(view["filters"])
    if isinstance(view.get("views"), dict):
        view["views"] = {
            name: {**v, "filters": filters(v.get("filters"))} if isinstance(v, dict) else v
            for name, v in view["views"].items()
        }
    if isinstance(view.get("widths"), dict):
        view["widths"] = {moved.get(k, k): w for k, w in view["widths"].items()}
    return json.dumps(view)


def _add_alerts_and_reports(db: pw.Database) -> None:
    db.create_tables([Alert, ReportSchedule, AlertFiring])


# Version 1 is the initial schema; each later change appends a Migration here.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "data sources remember their filters", _add_view_settings),
    Migration(3, "formulas saved by name", _add_saved_formulas),
    Migration(4, "fields the pinned API version moved keep their meaning", _follow_moved_fields),
    Migration(5, "alerts, report schedules and the alerts list", _add_alerts_and_reports),
)
LATEST_VERSION = 1 + len(MIGRATIONS)


@dataclass
class MigrationReport:
    from_version: int
    to_version: int
    backup: Path | None = None
    added_columns: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.from_version != self.to_version or bool(self.added_columns)


def current_version(db: pw.Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    return SchemaVersion.select(pw.fn.MAX(SchemaVersion.version)).scalar() or 0


def migrate(
    db: pw.Database,
    *,
    backup_dir: Path | None = None,
    catalog: Iterable[DataType] | None = None,
) -> MigrationReport:
    """Bring the database to the latest schema; back it up first when it is an older one.

    On a shared database one computer at a time: ten desktops opening it at once after an
    upgrade would otherwise each add the same index, and all but one fail."""
    if not isinstance(db, pw.PostgresqlDatabase):
        return _migrate(db, backup_dir, catalog)
    db.execute_sql("SELECT pg_advisory_lock(%s, %s)", (MIGRATION_LOCK, 0))
    try:
        return _migrate(db, backup_dir, catalog)
    finally:
        db.execute_sql("SELECT pg_advisory_unlock(%s, %s)", (MIGRATION_LOCK, 0))


# The advisory lock migrations take on PostgreSQL ("LM"; a syncer's are "LB", store.sync_lock).
MIGRATION_LOCK = 0x4C4D


def _migrate(
    db: pw.Database, backup_dir: Path | None, catalog: Iterable[DataType] | None
) -> MigrationReport:
    version = current_version(db)
    report = MigrationReport(from_version=version, to_version=LATEST_VERSION)
    if version > LATEST_VERSION:
        raise StoreError(
            f"This database was written by a newer Ledgerboard (schema version {version}); "
            f"this version understands up to {LATEST_VERSION}. Update Ledgerboard to open it."
        )
    if version == 0 and not _has_core_tables(db):
        with db.atomic():
            db.create_tables(CORE_MODELS)
            SchemaVersion.create(version=LATEST_VERSION, description="initial schema")
        log.info("created a new database at schema version %d", LATEST_VERSION)
    elif version < LATEST_VERSION:
        report.backup = backup_database(db, backup_dir, f"v{version}")
        # SQLite's advice for schema changes: foreign keys off, so that a rebuilt table never
        # cascades a delete into the rows that point at it; checked again afterwards.
        sqlite = isinstance(db, pw.SqliteDatabase)
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = OFF")
        try:
            for step in MIGRATIONS:
                if step.version > version:
                    with db.atomic():
                        step.apply(db)
                        SchemaVersion.create(version=step.version, description=step.description)
                    log.info("migrated database to version %d: %s", step.version, step.description)
            if sqlite and db.execute_sql("PRAGMA foreign_key_check").fetchall():
                raise StoreError(
                    "The database upgrade left broken references; the backup "
                    f"at {report.backup} holds the data as it was."
                )
        finally:
            if sqlite:
                db.execute_sql("PRAGMA foreign_keys = ON")
    types = list(catalog) if catalog is not None else list(DATA_TYPES.values())
    for data_type in types:
        report.added_columns += _reconcile_registrations(db, data_type, backup_dir, report)
    return report


def _has_core_tables(db: pw.Database) -> bool:
    return any(db.table_exists(m._meta.table_name) for m in CORE_MODELS[1:])


def backup_database(db: pw.Database, backup_dir: Path | None, label: str) -> Path | None:
    """Copy a SQLite database to backup_dir with SQLite's online backup; None for other DBs."""
    source = sqlite_path(db)
    if source is None or backup_dir is None:
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backup_dir / f"{source.stem}-{label}-{stamp}.sqlite"
    with sqlite3.connect(target) as copy:
        db.connection().backup(copy)
    copy.close()
    log.info("backed up the database to %s before migrating", target)
    return target


def _reconcile_registrations(
    db: pw.Database, data_type: DataType, backup_dir: Path | None, report: MigrationReport
) -> list[str]:
    model = REGISTRATION_MODELS.get(data_type.name) or build_registration_model(data_type)
    table = model._meta.table_name
    if not db.table_exists(table):
        with db.atomic():
            db.create_tables([model])
            ensure_rollup(db, data_type)
        return []
    existing = {c.name for c in db.get_columns(table)}
    missing = [f for f in data_type.fields if f.column not in existing]
    if missing:
        if report.backup is None:
            report.backup = backup_database(db, backup_dir, "catalog")
        migrator = SchemaMigrator.from_database(db)
        with db.atomic():
            operations = [
                migrator.add_column(table, f.column, column_for(f.kind, f.column)) for f in missing
            ]
            run_operations(*operations)
            _backfill_columns(db, table, missing)
            _copy_moved_columns(db, table, data_type, missing, existing)
        log.info("added %d catalog columns to %s", len(missing), table)
    _drop_stale_indexes(db, model)
    model._schema.create_indexes(safe=True)
    with db.atomic():
        if ensure_rollup(db, data_type):
            log.info("day totals for %s made from its rows", table)
    return [f"{table}.{f.column}" for f in missing]


def _copy_moved_columns(db: pw.Database, table: str, data_type: DataType, added, existing):
    """A moved field's new column takes the old column's values where the stored object has
    the old shape (rows imported before the catalog followed the pinned version)."""
    for old, new in data_type.moved.items():
        old_column, new_column = old.replace(".", "__"), data_type.field(new).column
        if old_column in existing and any(f.column == new_column for f in added):
            db.execute_sql(
                f'UPDATE "{table}" SET "{new_column}" = "{old_column}" '
                f'WHERE "{new_column}" IS NULL AND "{old_column}" IS NOT NULL'
            )


def _drop_stale_indexes(db: pw.Database, model) -> None:
    """Indexes an older version made that today's model does not: they only slow writes."""
    table = model._meta.table_name
    wanted = {index._name for index in model._meta.fields_to_index()}
    for index in db.get_indexes(table):
        constraint = index.name == f"{table}_pkey"  # PostgreSQL's primary key
        if index.name.startswith(f"{table}_") and index.name not in wanted and not constraint:
            db.execute_sql(f'DROP INDEX IF EXISTS "{index.name}"')
            log.info("dropped the index %s, which this version no longer uses", index.name)


def _backfill_columns(db: pw.Database, table: str, fields) -> None:
    """Fill new columns from each row's stored JSON, with the same rules the sync uses."""
    assignments = ", ".join(f'"{f.column}" = {db.param}' for f in fields)
    update = f'UPDATE "{table}" SET {assignments} WHERE "pk" = {db.param}'
    select = (
        f'SELECT "pk", "data" FROM "{table}" WHERE "pk" > {db.param} '
        f'ORDER BY "pk" LIMIT {BACKFILL_BATCH}'
    )
    last_id = 0
    while True:
        rows = db.execute_sql(select, (last_id,)).fetchall()
        if not rows:
            return
        updates = []
        for row_id, data in rows:
            obj = json.loads(data) if data else {}
            updates.append([field_value(f, obj) for f in fields] + [row_id])
        db.cursor().executemany(update, updates)
        last_id = rows[-1][0]
