"""The one way the app and the command line open the store: open the database, bring it to
today's schema (backed up first when it is older), and prove with a real write that it takes
changes, so that a full disk or a read-only folder is said in words before any work starts."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import peewee

from desktop.store.db import StoreError, check_writable, open_database
from desktop.store.migrations import LATEST_VERSION, current_version, migrate

log = logging.getLogger(__name__)


# The keyring service under which each computer keeps its shared database's password.
DATABASE_KEYRING_SERVICE = "Ledgerboard database"


def keyring_entry(url: str) -> str:
    """The keyring user name of a database URL's password: user@host:port/database."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.username or ''}@{parts.hostname or ''}{port}{parts.path}"


def connect_options(target: str | Path) -> dict:
    """The password of a PostgreSQL URL without one, from the keyring; none when the URL has
    one or the keyring has none (libpq then reads PGPASSFILE or ~/.pgpass itself)."""
    text = str(target)
    if not text.startswith(("postgresql://", "postgres://")) or urlsplit(text).password:
        return {}
    import keyring  # only for a shared database: the app starts without it (test_cli)
    import keyring.errors

    try:
        password = keyring.get_password(DATABASE_KEYRING_SERVICE, keyring_entry(text))
    except keyring.errors.KeyringError:
        log.info("no keyring to ask for the database password; PGPASSFILE may have it")
        return {}
    return {"password": password} if password else {}


VIEW_ONLY_MESSAGE = (
    "View only: this computer's database user may read the shared database but not change "
    "it, so changing dashboards, formulas or data sources needs write rights (README, team "
    "mode: the syncing role's GRANTs)."
)


def view_only(db: peewee.Database) -> bool:
    """Whether the database user may read the store but not change it (a read-only role)."""
    if not isinstance(db, peewee.PostgresqlDatabase):
        return False
    row = db.execute_sql(
        "SELECT has_table_privilege(to_regclass('data_source'), 'INSERT')"
        " FROM (SELECT 1) AS one WHERE to_regclass('data_source') IS NOT NULL"
    ).fetchone()
    return row is not None and not row[0]


def open_store(target: str | Path, *, backup_dir: Path | None = None) -> peewee.Database:
    """The database at `target` (a SQLite file or a URL), migrated and checked; StoreError
    in words when it cannot be used, and then nothing is left open. A shared database whose
    user may only read is opened as it is, marked `view_only` (nothing to migrate or write)."""
    db = open_database(target, **connect_options(target))
    try:
        if view_only(db):
            _check_readable_schema(db)
            db.view_only = True
            log.info("the shared database is open to view only")
            return db
        db.view_only = False
        report = migrate(db, backup_dir=backup_dir)
        if report.backup:
            log.info("database backed up to %s before upgrading", report.backup)
        check_writable(db)
    except BaseException:
        db.close()
        raise
    return db


def _check_readable_schema(db: peewee.Database) -> None:
    """A viewer cannot migrate: its schema must be the one this version writes."""
    version = current_version(db)
    if version > LATEST_VERSION:
        migrate(db)  # refuses a newer schema in words, before changing anything
    if version < LATEST_VERSION:
        raise StoreError(
            f"The shared database has an older schema (version {version}) than this "
            f"Ledgerboard uses ({LATEST_VERSION}), and this computer may only read it. Start "
            "the syncing computer (or `sync`) with this version once to upgrade it."
        )
