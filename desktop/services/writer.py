"""The one writer: every write to the store runs on this thread, in a transaction.

Readers (views, the sync's look-ups) use their own connections; SQLite in WAL mode lets them
read while this thread writes. Work is a plain function of no arguments; `submit` returns a
Future whose result or exception is the function's.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import peewee

from desktop.store.db import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")


def write_with(writer: StoreWriter | None, work: Callable[[], T]) -> T:
    """A write on the app's one writer, or right here in scripts that own the database."""
    return writer.run(work) if writer is not None else work()


class StoreWriter:
    def __init__(self, db: peewee.Database) -> None:
        self._db = db
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    def submit(self, work: Callable[[], T]) -> Future[T]:
        return self._executor.submit(self._run, work)

    def run(self, work: Callable[[], T]) -> T:
        """Submit and wait."""
        return self.submit(work).result()

    def _run(self, work: Callable[[], T]) -> T:
        try:
            with self._db.atomic():
                return work()
        except (peewee.OperationalError, sqlite3.OperationalError) as exc:
            # On a full disk SQLite may roll the transaction back itself; the rollback that
            # follows then fails ("no transaction is active") and hides the cause behind it.
            text = " ".join(str(e).lower() for e in _chain(exc))
            if "full" in text:
                raise StoreError(
                    "The disk is full, so Ledgerboard could not save the latest data. Nothing "
                    "was lost: free some space and the sync continues where it stopped."
                ) from exc
            if "readonly" in text or "read-only" in text:
                raise StoreError(
                    "The data folder became read-only, so Ledgerboard could not save the latest "
                    "data. Nothing was lost: make it writable and the sync continues."
                ) from exc
            raise

    def close(self) -> None:
        """Finish queued work and close the writer thread's own connection."""
        self._executor.submit(lambda: self._db.is_closed() or self._db.close()).result()
        self._executor.shutdown(wait=True)


def _chain(exc: BaseException):
    """The exception and the ones it was raised while handling."""
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc, seen = exc.__context__ or exc.__cause__, seen + 1
