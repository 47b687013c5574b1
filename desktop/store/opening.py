"""The one way the app and the command line open the store: open the database, bring it to
today's schema (backed up first when it is older), and prove with a real write that it takes
changes, so that a full disk or a read-only folder is said in words before any work starts."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import peewee

from desktop.store.db import check_writable, open_database
from desktop.store.migrations import migrate

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


def open_store(target: str | Path, *, backup_dir: Path | None = None) -> peewee.Database:
    """The database at `target` (a SQLite file or a URL), migrated and checked; StoreError
    in words when it cannot be used, and then nothing is left open."""
    db = open_database(target, **connect_options(target))
    try:
        report = migrate(db, backup_dir=backup_dir)
        if report.backup:
            log.info("database backed up to %s before upgrading", report.backup)
        check_writable(db)
    except BaseException:
        db.close()
        raise
    return db
