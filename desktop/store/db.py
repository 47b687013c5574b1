"""Opening the database: SQLite (WAL, foreign keys, busy timeout) by default, or any URL.

Models bind to the `database` proxy; the composition root initialises it once with
`open_database()`. Peewee keeps one connection per thread, so readers in worker threads use
their own connections while all writes go through the sync writer.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import time
from pathlib import Path

import peewee

from desktop.store.dialect import PostgresStore, SqliteStore

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = (
    # For a new file: rows hold their Stripe object (1–3 KB), which 16 KB pages import faster.
    ("page_size", 16384),
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("busy_timeout", 10_000),
    # WAL with synchronous=NORMAL stays consistent after a crash; only the last commits
    # before a power cut can be lost, never the file.
    ("synchronous", "normal"),
    ("cache_size", -64_000),  # 64 MB page cache
    ("temp_store", "memory"),
)


# sqlite3's adapter search fails slowly for None and bool, on every parameter of every row;
# found at once, they bind as before: NULL, and 1 or 0.
sqlite3.register_adapter(type(None), lambda value: value)
sqlite3.register_adapter(bool, int)


class StoreError(Exception):
    """A problem with the database that the user must hear about in words."""


def is_url(target: str | Path) -> bool:
    return "://" in str(target)


def open_database(target: str | Path, **connect_options) -> peewee.Database:
    """Open a SQLite file (created if missing) or a database URL, and bind the models to it.
    connect_options go to the driver of a PostgreSQL URL (a password from the keyring)."""
    text = str(target)
    if text.startswith("sqlite:///"):  # a SQLite URL gets the same pragmas as a path
        db = _open_sqlite(Path(text.removeprefix("sqlite:///")))
    elif text.startswith(("postgresql://", "postgres://")):
        db = PostgresStore("postgresql://" + text.split("://", 1)[1], **connect_options)
    elif is_url(text):
        from playhouse import db_url  # it imports peewee's PostgreSQL extension, and psycopg

        db = db_url.connect(text)
    else:
        db = _open_sqlite(Path(text))
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise StoreError(
            f"Ledgerboard could not open its database at {shown_target(text)}: {exc}"
        ) from exc
    return db


def marked_read_only(path: Path) -> bool:
    """No write bit at all: the user (or an administrator) made it read-only on purpose.

    Checked explicitly because the OS lets root write anyway, and Ledgerboard honours it."""
    return path.exists() and not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def check_folder_writable(folder: Path) -> None:
    """StoreError in words when the data folder cannot take new files (SQLite's journal)."""
    if marked_read_only(folder) or (folder.exists() and not os.access(folder, os.W_OK)):
        raise StoreError(
            f"The data folder {folder} is read-only, and Ledgerboard needs to write there "
            "(its database keeps a journal beside it). Make the folder writable again, or "
            "start with another --data-dir; nothing in it has been changed."
        )


def _open_sqlite(path: Path) -> peewee.SqliteDatabase:
    check_folder_writable(path.parent)
    if path.exists() and not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        # Marked read-only: honour that even for a user (root) the OS would let write.
        raise StoreError(
            f"The database file {path} is read-only, and Ledgerboard needs to write to it. "
            "Make the file writable again (or start with another --data-dir); "
            "nothing in it has been changed."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Ledgerboard cannot create its data folder {path.parent}: {exc}") from exc
    return SqliteStore(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False)


def check_writable(db: peewee.Database) -> None:
    """Prove with a real write that the database accepts changes; StoreError otherwise."""
    try:
        with db.atomic():
            db.execute_sql("CREATE TABLE IF NOT EXISTS write_check (at INTEGER)")
            db.execute_sql("DELETE FROM write_check")
            db.execute_sql(f"INSERT INTO write_check (at) VALUES ({db.param})", (int(time.time()),))
    except (peewee.OperationalError, sqlite3.OperationalError) as exc:
        raise StoreError(
            f"Ledgerboard cannot write to its database ({exc}). Check that the disk has free "
            "space and that the data folder is writable; nothing stored has been changed."
        ) from exc


def shown_target(target: str | Path) -> str:
    """A database's path or URL as it may be shown and logged: without a password."""
    text = str(target)
    if not is_url(text):
        return text
    scheme, rest = text.split("://", 1)
    where, at, host = rest.rpartition("@")
    if at and ":" in where:
        where = where.split(":", 1)[0] + ":***"
    host = re.sub(r"password=[^&]*", "password=***", host)
    return f"{scheme}://{where}{at}{host}"


def sqlite_path(db: peewee.Database) -> Path | None:
    return Path(db.database) if isinstance(db, peewee.SqliteDatabase) else None
