"""The one writer: every write to the store goes through it, each in a transaction: on its
thread, or a sync's pages in its process (below), each kind in the order submitted.

Readers (views, the sync's look-ups) use their own connections; SQLite in WAL mode lets them
read while this thread writes. Work is a plain function of no arguments; `submit` returns a
Future whose result or exception is the function's.

A sync's pages are plain statements (`submit_statements`), and with a SQLite file those run in
the writer process (`desktop.store.writer_process`), beside this process rather than taking
turns with it for the GIL. Both open their transactions with BEGIN IMMEDIATE: a deferred one
that read first would fail with SQLITE_BUSY_SNAPSHOT when the other wrote meanwhile, where an
immediate one waits for the lock (busy_timeout).
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import peewee

from desktop.store.db import SQLITE_PRAGMAS, StoreError, sqlite_path
from desktop.store.dialect import dialect_of
from desktop.store.writer_process import (
    ChainStopped,
    Statement,
    WriterProcess,
    WriterProcessDied,
    execute_all,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def write_with(writer: StoreWriter | None, work: Callable[[], T]) -> T:
    """A write on the app's one writer, or right here in scripts that own the database."""
    return writer.run(work) if writer is not None else work()


class EarlierWriteFailed(StoreError):
    """A write queued after one of the same chain failed: not made."""


class WriteChain:
    """Writes that each count on the ones queued before them (a sync's pages: each checkpoint
    claims the rows before it). Once one fails, none after it commits."""

    _keys = itertools.count(1)

    def __init__(self) -> None:
        self.key = next(self._keys)
        self.failed = False

    def note(self, future: Future) -> None:
        if future.exception() is not None:
            self.failed = True


# PostgreSQL takes the pages of several feeds side by side, each on its own connection: one
# connection's server process was what an import waited for (it used a core; the app a fifth
# of one). A chain's writes in flight share one lane, in order; a chain with none in flight
# takes the lane with the fewest waiting, so two busy feeds do not queue behind each other.
LANES = 4


class StoreWriter:
    def __init__(self, db: peewee.Database, *, own_process: bool = True) -> None:
        """own_process: statements for a SQLite file run in the writer process. Without one
        (False, an in-memory database) they run on this thread; on PostgreSQL, a chain's on
        one of LANES threads, each with its own connection."""
        self._db = db
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._lanes = (
            [
                ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"store-writer-{n}")
                for n in range(LANES)
            ]
            if isinstance(db, peewee.PostgresqlDatabase)
            else []
        )
        self._waiting = [0] * len(self._lanes)  # writes queued or running, per lane
        self._placed: dict[int, tuple[int, int]] = {}  # chain key -> (lane, writes in flight)
        self._placing = threading.Lock()
        path = sqlite_path(db)
        on_disk = path is not None and str(path) not in ("", ":memory:")
        self._process = (
            WriterProcess(str(path), SQLITE_PRAGMAS) if own_process and on_disk else None
        )
        self._begin = ("IMMEDIATE",) if isinstance(db, peewee.SqliteDatabase) else ()
        self._dialect = dialect_of(db)
        self._closed = False
        self._local = threading.local()

    def submit(self, work: Callable[[], T]) -> Future[T]:
        return self._executor.submit(self._run, work)

    def run(self, work: Callable[[], T]) -> T:
        """Submit and wait; on the writer thread itself (a write that makes other writes),
        inside the transaction already open. Never from the GUI thread: views write through
        their Runner, on a worker."""
        if getattr(self._local, "writing", False):
            return work()
        return self.submit(work).result()

    def submit_statements(
        self,
        statements: list[Statement],
        chain: WriteChain,
        then: Callable[[list[int]], T],
    ) -> Future[T]:
        """The statements as one transaction, after every write of `chain` submitted before
        (and on SQLite after every write); the future's result is `then` of their row counts.
        Refused (EarlierWriteFailed) once a write of `chain` failed."""
        done: Future[T] = Future()
        done.add_done_callback(chain.note)  # before any later write of the chain is made
        if self._lanes:
            lane = self._place(chain.key)
            done.add_done_callback(lambda _done: self._leave(chain.key, lane))
            self._lanes[lane].submit(self._here, statements, chain, then, done)
        elif self._process is None:
            self._executor.submit(self._here, statements, chain, then, done)
        else:
            packed = WriterProcess.pack(chain.key, statements)
            self._executor.submit(self._send, packed, chain, then, done)
        return done

    def _place(self, key: int) -> int:
        with self._placing:
            lane, flying = self._placed.get(key, (None, 0))
            if lane is None:
                lane = min(range(len(self._lanes)), key=self._waiting.__getitem__)
            self._placed[key] = (lane, flying + 1)
            self._waiting[lane] += 1
            return lane

    def _leave(self, key: int, lane: int) -> None:
        with self._placing:
            self._waiting[lane] -= 1
            _lane, flying = self._placed[key]
            if flying == 1:
                del self._placed[key]
            else:
                self._placed[key] = (lane, flying - 1)

    def pragma(self, sql: str) -> None:
        """A PRAGMA on every connection that writes (this thread's and the process's)."""
        self.run(lambda: self._db.execute_sql(sql))
        if self._process is not None:
            self._executor.submit(self._process.pragma, sql).result()

    def wait_queued(self) -> None:
        """Until everything submitted so far has been run here or sent to the process."""
        for executor in (*self._lanes, self._executor):
            executor.submit(lambda: None).result()

    @property
    def process_id(self) -> int | None:
        """The writer process's id while it runs (it starts with the first page)."""
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Finish queued work, then end the writer process and close this thread's own
        connection. Once is enough; again does nothing."""
        if self._closed:
            return
        self._closed = True
        for lane in self._lanes:
            lane.submit(self._close_connection).result()
            lane.shutdown(wait=True)
        self._executor.submit(self._close_connections).result()
        self._executor.shutdown(wait=True)

    # --- on the writer thread ---

    def _run(self, work: Callable[[], T]) -> T:
        self._local.writing = True
        try:
            with self._db.atomic(*self._begin):
                return work()
        except Exception as exc:
            translated = _in_words(exc)
            if translated is exc:
                raise
            raise translated from exc
        finally:
            self._local.writing = False

    def _here(self, statements, chain: WriteChain, then, done: Future) -> None:
        if chain.failed:
            done.set_exception(_refused())
            return
        try:
            prepared = self._dialect.statements(statements)
            counts = self._run(lambda: execute_all(self._db.cursor(), prepared))
            result = then(counts)
        except Exception as exc:
            done.set_exception(exc)
        else:
            done.set_result(result)

    def _send(self, packed: bytes, chain: WriteChain, then, done: Future) -> None:
        def settle(answered: Future) -> None:  # on the thread that reads the answers
            try:
                result = then(answered.result())
            except Exception as exc:
                done.set_exception(_in_words(exc))
            else:
                done.set_result(result)

        if chain.failed:  # known here already: not even sent
            done.set_exception(_refused())
            return
        self._process.write(packed, chain.key).add_done_callback(settle)

    def _close_connections(self) -> None:
        if self._process is not None:
            self._process.close()
        self._close_connection()

    def _close_connection(self) -> None:
        """This thread's connection (peewee keeps one per thread)."""
        if not self._db.is_closed():
            self._db.close()


def _refused() -> EarlierWriteFailed:
    return EarlierWriteFailed("An earlier write of this import failed, so this one was not made.")


def _in_words(exc: BaseException) -> BaseException:
    """A full disk, a read-only folder or a writer process that died as a StoreError in
    words (caused by `exc`); any other exception as it is."""
    translated = _translated(exc)
    if translated is not exc:
        translated.__cause__ = exc
    return translated


def _translated(exc: BaseException) -> BaseException:
    if isinstance(exc, ChainStopped):
        return _refused()
    if isinstance(exc, WriterProcessDied):
        return StoreError(
            f"Ledgerboard's background writer stopped unexpectedly ({exc}), so the latest data "
            "was not saved. Nothing was lost: the next sync continues where it stopped."
        )
    if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)) and _connection_lost(exc):
        return StoreError(
            "The connection to the shared database was lost (the server restarted, or the "
            "network dropped), so the latest data was not saved. Nothing was lost: the next "
            "sync continues where it stopped, on a new connection."
        )
    if isinstance(exc, (peewee.OperationalError, sqlite3.OperationalError)):
        # On a full disk SQLite may roll the transaction back itself; the rollback that
        # follows then fails ("no transaction is active") and hides the cause behind it.
        text = " ".join(str(e).lower() for e in _chain(exc))
        if "full" in text:
            return StoreError(
                "The disk is full, so Ledgerboard could not save the latest data. Nothing "
                "was lost: free some space and the sync continues where it stopped."
            )
        if "readonly" in text or "read-only" in text:
            return StoreError(
                "The data folder became read-only, so Ledgerboard could not save the latest "
                "data. Nothing was lost: make it writable and the sync continues."
            )
    return exc


def _connection_lost(exc: BaseException) -> bool:
    """A PostgreSQL connection that broke (psycopg's words), as opposed to a bad statement."""
    text = " ".join(str(e).lower() for e in _chain(exc))
    return any(
        words in text
        for words in (
            "connection is closed",
            "server closed the connection",
            "terminating connection",
            "connection failed",
        )
    )


def _chain(exc: BaseException):
    """The exception and the ones it was raised while handling."""
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc, seen = exc.__context__ or exc.__cause__, seen + 1
