"""One syncer per account, enforced by the database: on PostgreSQL a session advisory lock per
account, held on a connection of its own for as long as the sync runs.

The lock's connection names its computer (`application_name`), so a second computer that
asks is told which one holds it, from pg_stat_activity; no table to keep, and a syncer that
dies (SIGKILL, a power cut) lets go with its connection. A SQLite file needs none: one app
per data folder holds its lock file already.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket

import peewee

from desktop.store.db import StoreError

log = logging.getLogger(__name__)

# The advisory lock's first key: Ledgerboard's ("LB"); the second is the account's id.
LOCK_SPACE = 0x4C42
APPLICATION_PREFIX = "Ledgerboard sync on "


def computer_name() -> str:
    """How this computer is named to others: LEDGERBOARD_COMPUTER_NAME, else its host name."""
    return os.environ.get("LEDGERBOARD_COMPUTER_NAME") or socket.gethostname()


class AccountBusy(StoreError):
    """Another computer syncs this account now."""

    def __init__(self, account_name: str, holder: str | None) -> None:
        self.holder = holder
        who = f"The computer {holder!r}" if holder else "Another computer"
        super().__init__(
            f"{who} is syncing the account {account_name!r} right now, and only one computer "
            "syncs an account at a time. This computer shows the same numbers as they "
            "arrive; to sync from here instead, stop the sync there first."
        )


class AccountSyncLock:
    """The right to sync one account. `acquire` raises AccountBusy when another holds it."""

    def __init__(self, db: peewee.Database, account_id: int, account_name: str = "") -> None:
        self._db = getattr(db, "obj", db)
        self.account_id = account_id
        self.account_name = account_name or f"#{account_id}"
        self._conn = None

    @property
    def shared(self) -> bool:
        return isinstance(self._db, peewee.PostgresqlDatabase)

    def acquire(self, computer: str | None = None) -> None:
        if not self.shared or self._conn is not None:
            return
        import psycopg

        computer = computer or computer_name()
        conn = psycopg.connect(
            **self._connect_params(), application_name=f"{APPLICATION_PREFIX}{computer}"[:63]
        )
        conn.autocommit = True
        got = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, self.account_id)
        ).fetchone()[0]
        if not got:
            holder = self._holder(conn)
            conn.close()
            raise AccountBusy(self.account_name, holder)
        self._conn = conn
        log.info("this computer (%s) syncs account %s", computer, self.account_id)

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a lost connection has let go already
                self._conn.close()
            self._conn = None

    def __enter__(self) -> AccountSyncLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _connect_params(self) -> dict:
        params = dict(self._db.connect_params)
        params.pop("prefer_psycopg3", None)
        return {"conninfo": self._db.database, **params}

    def _holder(self, conn) -> str | None:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks AS l "
            "JOIN pg_stat_activity AS a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s "
            "AND l.objid = %s AND l.objsubid = 2",
            (LOCK_SPACE, self.account_id),
        ).fetchone()
        if row is None or not row[0]:
            return None
        return row[0].removeprefix(APPLICATION_PREFIX)
