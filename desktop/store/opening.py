"""The one way the app and the command line open the store: open the database, bring it to
today's schema (backed up first when it is older), and prove with a real write that it takes
changes, so that a full disk or a read-only folder is said in words before any work starts."""

from __future__ import annotations

import logging
from pathlib import Path

import peewee

from desktop.store.db import check_writable, open_database
from desktop.store.migrations import migrate

log = logging.getLogger(__name__)


def open_store(target: str | Path, *, backup_dir: Path | None = None) -> peewee.Database:
    """The database at `target` (a SQLite file or a URL), migrated and checked; StoreError
    in words when it cannot be used, and then nothing is left open."""
    db = open_database(target)
    try:
        report = migrate(db, backup_dir=backup_dir)
        if report.backup:
            log.info("database backed up to %s before upgrading", report.backup)
        check_writable(db)
    except BaseException:
        db.close()
        raise
    return db
