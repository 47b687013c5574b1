"""The sync engine in the background: one thread per account, results as Qt signals.

The GUI asks `sync(ids)`; work for a data source already syncing is coalesced into one more run
after it, so two syncs of one data source never overlap. Progress and results arrive as signals
emitted on the GUI thread. `shutdown` cancels and waits, so closing the app loses nothing: what
was committed stays, and the next start resumes from the checkpoints.

Why plain threads polled by a GUI-thread timer rather than QThreads emitting signals: the sync
is Qt-free, and keeping every Qt call on the GUI thread means no signal ever carries Python
objects across threads (several worker threads report at once). Progress is picked up ten
times a second, which is as often as a person can read it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from desktop.services.gui_first import BEAT_MS, GuiFirst
from desktop.services.secrets import SecretStore, SecretsUnavailable
from desktop.services.stripe.client import NeedsReconnect, StripeClients
from desktop.services.stripe.connections import name_from_stripe
from desktop.services.sync.engine import FeedResult, SyncEngine, SyncProgress
from desktop.services.sync.feeds import feeds_for
from desktop.store.models import Account, DataSource
from desktop.store.writer import StoreWriter

log = logging.getLogger(__name__)

TokenRefresher = Callable[[Account, bool], str | None]


class AccountCredentials:
    """An account's secrets from the keyring: one per mode (`live`, `test`) or one `key`."""

    def __init__(
        self, account: Account, secrets: SecretStore, refresher: TokenRefresher | None = None
    ) -> None:
        self.account = account
        self.secrets = secrets
        self.refresher = refresher

    def secret(self, live: bool) -> str:
        stored = self.secrets.get(self.account.keyring_entry)
        key = stored.get("live" if live else "test")
        if not key and live == bool(self.account.livemode):
            key = stored.get("key")  # an API key reads its own mode only
        if not key:
            mode = "live" if live else "test-mode"
            raise NeedsReconnect(
                f"No {mode} key or token is stored for this account; reconnect it."
            )
        return key

    def refresh(self, live: bool) -> str | None:
        return self.refresher(self.account, live) if self.refresher else None


class _AccountSync(threading.Thread):
    """Syncs a set of an account's data sources, feeds side by side. Touches no Qt object."""

    def __init__(self, service: SyncService, account_id: int, ds_ids: set[int]) -> None:
        super().__init__(name=f"sync-account-{account_id}", daemon=True)
        self.service = service
        self.account_id = account_id
        self.ds_ids = ds_ids
        self.cancel_event = threading.Event()
        self.results: list[FeedResult] = []
        self.problem: str | None = None  # reported on the GUI thread when the thread ends

    def run(self) -> None:
        try:
            data_sources = list(DataSource.select().where(DataSource.id.in_(list(self.ds_ids))))
            self._name_account()
            self.results = self.service.engine.sync_all(
                feeds_for(data_sources),
                progress=self.service.note_progress,
                cancelled=self.cancel_event.is_set,
            )
        except SecretsUnavailable as exc:
            log.warning("cannot sync account %s: %s", self.account_id, exc)
            self.problem = str(exc)
        except Exception:
            log.exception("sync of account %s failed unexpectedly", self.account_id)
            self.problem = (
                "A sync stopped because of an unexpected error; the details are in the log."
            )

    def _name_account(self) -> None:
        """An account named by a stand-in ('Stripe acct_…') takes Stripe's name for it."""
        account = Account.get_or_none(Account.id == self.account_id)
        if account is None:
            return
        engine = self.service.engine
        try:
            api = engine.api_for(account.id, bool(account.livemode))
            name_from_stripe(account, api, engine.writer.run)
        except Exception as exc:  # the sync goes on; the name waits for the next one
            log.info("account %s keeps its name for now: %s", account.id, exc)


class SyncService(QObject):
    started = Signal(list)  # data source ids
    progress = Signal(object)  # SyncProgress
    finished = Signal(list)  # data source ids that finished
    results = Signal(list)  # FeedResult list of one account's run
    problem = Signal(str)  # a problem the user must hear about

    def __init__(
        self,
        writer: StoreWriter,
        secrets: SecretStore,
        refresher: TokenRefresher | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.secrets = secrets
        self.refresher = refresher
        self.gui_first = GuiFirst()
        self.clients = StripeClients(self._account, gui_first=self.gui_first)
        self.engine = SyncEngine(writer, self.clients, gui_first=self.gui_first)
        self._threads: dict[int, _AccountSync] = {}
        self._queued: dict[int, set[int]] = {}
        self.stats = self.clients.stats
        self._stopping = False
        # Workers only note their progress; the GUI thread emits it (see the module's note).
        self._progress_lock = threading.Lock()
        self._latest_progress: dict[tuple[int, ...], SyncProgress] = {}
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(100)
        self._progress_timer.timeout.connect(self._emit_progress)
        # While syncs run, the GUI thread beats so that their threads give way (gui_first).
        self._beat_timer = QTimer(self)
        self._beat_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._beat_timer.setInterval(BEAT_MS)
        self._beat_timer.timeout.connect(self.gui_first.beat)

    def _account(self, account_id: int) -> tuple[AccountCredentials, str | None]:
        account = Account.get_by_id(account_id)
        return AccountCredentials(account, self.secrets, self.refresher), account.api_base

    @property
    def requests_per_second(self) -> float | None:
        """None: Stripe's documented read limits. A number: for local servers (the simulator
        in demo mode and benchmarks), which have no such limit."""
        return self.clients.requests_per_second

    @requests_per_second.setter
    def requests_per_second(self, value: float | None) -> None:
        self.clients.requests_per_second = value

    def note_progress(self, progress: SyncProgress) -> None:
        """Called on worker threads: keep the newest progress of each feed."""
        with self._progress_lock:
            self._latest_progress[tuple(progress.data_source_ids)] = progress

    def _emit_progress(self) -> None:
        """On the GUI thread: emit the newest progress, then the end of finished syncs."""
        with self._progress_lock:
            latest, self._latest_progress = self._latest_progress, {}
        for progress in latest.values():
            self.progress.emit(progress)
        for account_id, thread in list(self._threads.items()):
            if not thread.is_alive():
                self._thread_done(account_id, thread)
        if not self._threads:
            self._progress_timer.stop()
            self._stop_beating()

    def forget_account(self, account_id: int) -> None:
        """Drop cached clients after the account's secrets changed (reconnect)."""
        self.clients.forget(account_id)

    def running(self) -> set[int]:
        return {ds for thread in self._threads.values() for ds in thread.ds_ids}

    def sync(self, data_source_ids: list[int] | None = None) -> list[int]:
        """Start syncing these data sources (all when None); returns the ids started now."""
        if self._stopping:
            return []
        query = DataSource.select(DataSource.id, DataSource.account)
        if data_source_ids is not None:
            query = query.where(DataSource.id.in_(data_source_ids))
        by_account: dict[int, set[int]] = {}
        for ds in query:
            by_account.setdefault(ds.account_id, set()).add(ds.id)
        started: list[int] = []
        for account_id, ids in by_account.items():
            thread = self._threads.get(account_id)
            if thread is not None:
                # Busy: run these once more afterwards (coalesced), never alongside.
                self._queued.setdefault(account_id, set()).update(ids)
                continue
            started += self._start(account_id, ids)
        return started

    def _start(self, account_id: int, ids: set[int]) -> list[int]:
        thread = _AccountSync(self, account_id, ids)
        self._threads[account_id] = thread
        self.started.emit(sorted(ids))
        self._progress_timer.start()
        if not self._beat_timer.isActive():
            self.gui_first.beat()  # the threads see a beat from their first page on
            self._beat_timer.start()
        thread.start()
        return sorted(ids)

    def _thread_done(self, account_id: int, thread: _AccountSync) -> None:
        if self._threads.get(account_id) is thread:
            del self._threads[account_id]
        if thread.problem:
            self.problem.emit(thread.problem)
        self.results.emit(thread.results)
        self.finished.emit(sorted(thread.ds_ids))
        queued = self._queued.pop(account_id, None)
        if queued and not self._stopping:
            self._start(account_id, queued)

    def _stop_beating(self) -> None:
        self._beat_timer.stop()
        self.gui_first.stop()

    def wait_idle(self, data_source_ids: list[int], timeout: float = 30) -> None:
        """Block (a worker thread, never the GUI) until those data sources are not syncing."""
        for thread in list(self._threads.values()):
            if thread.ds_ids & set(data_source_ids):
                thread.join(timeout)

    def cancel(self, data_source_ids: list[int] | None = None) -> None:
        for account_id, thread in list(self._threads.items()):
            if data_source_ids is None or thread.ds_ids & set(data_source_ids):
                self._queued.pop(account_id, None)
                thread.cancel_event.set()

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Cancel every sync and wait for the threads; committed work stays."""
        self._stopping = True
        self._stop_beating()  # this thread waits now: the others need not give way to it
        self._queued.clear()
        for thread in self._threads.values():
            thread.cancel_event.set()
        for account_id, thread in list(self._threads.items()):
            thread.join(timeout_ms / 1000)
            if thread.is_alive():
                log.error("sync thread %s did not stop in time", thread.name)
            else:
                del self._threads[account_id]
        self._progress_timer.stop()
