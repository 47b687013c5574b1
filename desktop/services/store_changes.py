"""Changes another computer commits to a shared database, seen by a cheap poll.

In team mode another computer's sync never reaches this one's SyncService: a viewer syncs
nothing itself, and a computer that syncs some accounts does not sync the others. Every page a
sync commits moves its data source's checkpoint (and a finished sync its status and time), so
a poll of the data sources' few rows, every couple of seconds on a thread of its own, sees each
commit: the app then refreshes as after its own sync. What this computer's own syncs change is
left out (the app is told when they start and finish): it refreshes after those already.
A poll that fails says
so once, in words, and the next one that works says the database is back; the store's
connection reconnects by itself (store.dialect).
"""

from __future__ import annotations

import logging
import threading

import peewee
from PySide6.QtCore import QObject, Signal

from desktop.store.models import DataSource

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class StoreChangesWatcher(QObject):
    changed = Signal(list)  # ids of the data sources whose state moved
    connection_lost = Signal(str)  # in words
    connection_back = Signal()

    def __init__(self, db: peewee.Database, interval: float = POLL_SECONDS, parent=None) -> None:
        super().__init__(parent)
        self._db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[int, tuple] | None = None
        self._lost = False
        self._own_lock = threading.Lock()
        self._own_running: set[int] = set()
        self._own_finished: set[int] = set()  # since a poll read the rows

    def own_sync_started(self, ids: list[int]) -> None:
        """This computer syncs these data sources now: their changes are its own."""
        with self._own_lock:
            self._own_running.update(ids)

    def own_sync_finished(self, ids: list[int]) -> None:
        with self._own_lock:
            self._own_running.difference_update(ids)
            self._own_finished.update(ids)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="store-changes", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        try:
            while True:
                self.poll()
                if self._stop.wait(self.interval):
                    return
        finally:
            if not self._db.is_closed():
                self._db.close()  # this thread's own connection

    def poll(self) -> None:
        with self._own_lock:
            finished_before_read = set(self._own_finished)
        try:
            rows = self._db.execute_sql(
                f'SELECT "id", "status", "last_synced_at", "sync_state" '
                f'FROM "{DataSource._meta.table_name}"'
            ).fetchall()
        except peewee.DatabaseError as exc:
            if not self._lost:
                self._lost = True
                log.info("the shared database cannot be reached: %s", exc)
                self.connection_lost.emit(
                    "The shared database cannot be reached; Ledgerboard shows the numbers it "
                    "last read and tries again every few seconds."
                )
            if not self._db.is_closed():
                self._db.close()
            return
        if self._lost:
            self._lost = False
            log.info("the shared database is back")
            self.connection_back.emit()
        now = {row[0]: tuple(row[1:]) for row in rows}
        with self._own_lock:
            # A sync that finished after the read may have committed before it: its changes
            # stay its own until the next poll's read.
            own = self._own_running | self._own_finished
            self._own_finished -= finished_before_read
        if self._seen is not None:
            moved = sorted(
                i
                for i in now.keys() | self._seen.keys()
                if now.get(i) != self._seen.get(i) and i not in own
            )
            if moved:
                self.changed.emit(moved)
        self._seen = now
