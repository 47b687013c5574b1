"""Sync: import every selected data type, then keep it exact. No Qt here.

The unit of work is a *feed*: one list endpoint of one account and the data sources it fills.
Fee Details ride on Balance Transactions and Invoice Lines on Invoices, so a parent and its
derived rows always arrive together and commit in one transaction.

Per feed and mode (live, or test for sample data):

1. Backfill. Take the events cursor first, then list newest-first with `created[lte]` fixed at
   the start and `starting_after`; each page's rows and the new checkpoint commit together, so a
   killed sync resumes from its checkpoint without duplicates or gaps. The created range is
   listed in windows side by side (see `Windows`): one cursor waits for every page in turn.
2. Incremental. Apply `/v1/events` since the cursor oldest-first, using the event's object when
   its `api_version` is the pinned one and re-reading the object otherwise; deletion events
   remove the row. A cursor older than Stripe's 30-day retention re-imports everything (and
   says so), sweeping rows the re-import did not see. Balance transactions have no events:
   new ones come by created cursor, and pending ones are re-read until available.

Fetching runs on the caller's thread, writing through the store's single writer, one page
apart, so the network and the disk work at the same time. A page is plain statements, built on
the thread that read it; the writer runs them in its own process (StoreWriter.submit_statements).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from desktop.catalog import DATA_TYPES
from desktop.services.gui_first import GuiFirst
from desktop.services.stripe.client import (
    Cancelled,
    InvalidRequest,
    NeedsReconnect,
    NotPermitted,
    StripeApi,
    StripeRequestError,
    TransientError,
    pinned_api_version,
)
from desktop.services.sync.checkpoint import Checkpoint, EventsCursor, HistoryImport, ModeCheckpoint
from desktop.services.sync.feeds import Feed
from desktop.services.sync.history import SLOW_ANSWER, HistoryRun, Windows
from desktop.services.sync.rows import child_objects, chunks
from desktop.services.sync.writes import PageWrite, settle_while_stopping
from desktop.store import dialect
from desktop.store.db import StoreError
from desktop.store.models import (
    Account,
    AccountStatus,
    DataSource,
    DataSourceStatus,
    SyncRun,
    utc_now,
)
from desktop.store.writer import StoreWriter, WriteChain

log = logging.getLogger(__name__)

EVENT_RETENTION = 30 * 86_400
RETENTION_MARGIN = 3_600  # re-import an hour before Stripe would have dropped the cursor
PAGE = 100
# Threads of one feed for the reads a page needs beyond itself, shared by its workers: the
# lines of invoices past the ten Stripe embeds, and objects whose events came in another API
# version. One after another, a page with a dozen of them waits a dozen round trips.
READERS = 16
# The time left is said once the import has gone this far, at a pace measured this long.
MEASURED_SHARE = 0.01
MEASURED_SECONDS = 2.0


@dataclass
class SyncProgress:
    data_source_ids: list[int]
    phase: str
    rows: int
    rate: float
    notice: str | None = None
    # A history import's share done (by created time, every mode it imports counted alike)
    # and the seconds left at the pace so far; None where not known (a sync of changes).
    fraction: float | None = None
    seconds_left: float | None = None


@dataclass
class FeedResult:
    feed: Feed
    rows: dict[int, int] = field(default_factory=dict)  # data source id -> rows written
    status: str = DataSourceStatus.UP_TO_DATE
    message: str | None = None
    notice: str | None = None


# --- the engine ------------------------------------------------------------------------


class SyncEngine:
    """Runs feeds against Stripe clients, writing through the store's one writer."""

    def __init__(
        self,
        writer: StoreWriter,
        api_for: Callable[[int, bool], StripeApi],
        now: Callable[[], float] = time.time,
        gui_first: GuiFirst | None = None,
        slow_answer: float = SLOW_ANSWER,
    ) -> None:
        self.writer = writer
        self.slow_answer = slow_answer  # seconds: a slower answer came over a network
        self.api_for = api_for  # (account id, live) -> StripeApi
        self.now = now
        # Each page's rows are built after giving way to a GUI thread waiting for the GIL.
        self.gui_first = gui_first or GuiFirst()

    def sync_all(
        self, feeds: list[Feed], *, progress=None, cancelled=lambda: False, max_parallel: int = 8
    ) -> list[FeedResult]:
        """Sync feeds side by side (they share each account's rate limiter)."""
        if not feeds:
            return []
        with ThreadPoolExecutor(
            max_workers=min(max_parallel, len(feeds)), thread_name_prefix="sync"
        ) as pool:
            futures = [
                pool.submit(self.sync_feed, f, progress=progress, cancelled=cancelled)
                for f in feeds
            ]
            return [f.result() for f in futures]

    def sync_feed(self, feed: Feed, *, progress=None, cancelled=lambda: False) -> FeedResult:
        run = FeedRun(self, feed, progress or (lambda p: None), cancelled)
        return run.execute()


# A re-read answered with an object of another type or id: kept out of the store.
_NOT_OURS: dict = {}


class FeedRun:
    def __init__(self, engine: SyncEngine, feed: Feed, progress, cancelled) -> None:
        self.engine = engine
        self.feed = feed
        self.progress = progress
        self.cancelled = cancelled
        self.writer = engine.writer
        self.result = FeedResult(feed, rows=dict.fromkeys(feed.data_source_ids, 0))
        self.started = time.monotonic()
        self.total_rows = 0
        self._phase = "Starting"
        self.state = Checkpoint()
        self._imports: list[bool] = []  # the modes whose history this run imports
        self._fraction: float | None = None
        self._clock: tuple[float, float] | None = None  # (when, fraction) as the import began
        self._in_flight: Future | None = None
        self._count_lock = threading.Lock()
        self._writes = WriteChain()
        self._apis: list[StripeApi] = []  # the clients this run made requests with
        self.children = [DATA_TYPES[t] for t in feed.targets if DATA_TYPES[t].parent]
        self.reads_lines = any(child.name == "invoice_lines" for child in self.children)
        # READERS, shared by the import's workers: a pool per page would multiply the threads.
        self._readers: ThreadPoolExecutor | None = None
        self._readers_lock = threading.Lock()
        self.parent_target = feed.targets.get(feed.parent.name)
        self.event_types = frozenset(feed.event_types)
        self._skipped: set[tuple[str, object]] = set()
        # The registrations this run stored, per data source (by hash: a million fit in tens
        # of megabytes), so that one written twice counts once.
        self._stored: dict[int, set[int]] = {}
        self._measured: set[str] = set()  # tables whose statistics this run made sure of

    # --- top level ---

    def execute(self) -> FeedResult:
        try:
            return self._execute()
        finally:
            if self._readers is not None:
                self._readers.shutdown(wait=True, cancel_futures=True)

    def _execute(self) -> FeedResult:
        feed = self.feed
        runs = self.writer.run(self._start_runs)
        try:
            self.state = Checkpoint.from_json(DataSource.get_by_id(feed.leader_id).sync_state)
            self._imports = [
                live
                for live in feed.modes
                if not self.state.mode(live).backfilled_at or self.state.mode(live).history
            ]
            for live in feed.modes:
                api = self.engine.api_for(feed.account_id, live)
                self._apis.append(api)
                self._sync_mode(api, live)
            self._drain()
            self.writer.run(lambda: self._finish(runs, DataSourceStatus.UP_TO_DATE, None))
        except Cancelled:
            self._drain(ignore_errors=True)
            self.result.status, self.result.message = "cancelled", "The sync was cancelled."
            self.writer.run(lambda: self._finish(runs, None, None, cancelled=True))
        except NeedsReconnect as exc:
            self._fail(runs, DataSourceStatus.NEEDS_RECONNECT, exc.message, account=True)
        except NotPermitted as exc:
            self._fail(runs, DataSourceStatus.NOT_PERMITTED, exc.message)
        except (TransientError, StripeRequestError, StoreError) as exc:
            self._fail(runs, DataSourceStatus.FAILED, getattr(exc, "message", str(exc)))
        return self.result

    def _fail(self, runs, status: str, message: str, account: bool = False) -> None:
        self._drain(ignore_errors=True)
        self.result.status, self.result.message = status, message
        log.warning("sync of %s failed: %s", self.feed.title(), message)
        try:
            self.writer.run(lambda: self._finish(runs, status, message, account=account))
        except StoreError as exc:  # the store itself is away (a shared database restarting)
            log.warning("could not record why the sync of %s failed: %s", self.feed.title(), exc)

    def _start_runs(self) -> dict[int, int]:
        now = utc_now()
        ids = {}
        for ds_id in self.feed.data_source_ids:
            DataSource.update(status=DataSourceStatus.SYNCING).where(
                DataSource.id == ds_id
            ).execute()
            ids[ds_id] = SyncRun.create(data_source=ds_id, kind="sync", started_at=now).id
        return ids

    def _finish(self, runs, status, message, *, account=False, cancelled=False) -> None:
        now = utc_now()
        # Only the clients this run made: asking the engine for another mode's would make one,
        # and a mode whose key is missing would raise here, inside the write that records why.
        requests = sum(api.stats.requests for api in self._apis)
        for ds_id, run_id in runs.items():
            SyncRun.update(
                finished_at=now,
                rows=self.result.rows.get(ds_id, 0),
                requests=requests,
                status="cancelled"
                if cancelled
                else ("succeeded" if status == DataSourceStatus.UP_TO_DATE else "failed"),
                error=message,
            ).where(SyncRun.id == run_id).execute()
            if cancelled:
                previous = (
                    DataSourceStatus.UP_TO_DATE
                    if DataSource.get_by_id(ds_id).last_synced_at
                    else DataSourceStatus.NEW
                )
                DataSource.update(status=previous).where(DataSource.id == ds_id).execute()
                continue
            changes = {"status": status, "status_message": message or self.result.notice}
            if status == DataSourceStatus.UP_TO_DATE:
                changes.update(last_synced_at=now, last_error=None)
            else:
                changes["last_error"] = message
            DataSource.update(**changes).where(DataSource.id == ds_id).execute()
        if account:
            Account.update(status=AccountStatus.NEEDS_RECONNECT, status_message=message).where(
                Account.id == self.feed.account_id
            ).execute()

    # --- per mode ---

    def _sync_mode(self, api: StripeApi, live: bool) -> None:
        mode = self.state.mode(live)
        polled = mode.events.polled_at if mode.events else None
        now = int(self.engine.now())
        if (
            self.feed.event_types
            and mode.backfilled_at
            and polled is not None
            and polled < now - EVENT_RETENTION + RETENTION_MARGIN
        ):
            self._restart_backfill(
                mode,
                "Ledgerboard was away longer than the 30 days Stripe "
                "keeps changes, so it re-imported everything to stay exact.",
            )
        if not mode.backfilled_at or mode.history:
            self._backfill(api, live, mode)
        if self.feed.event_types:
            try:
                self._apply_events(api, live, mode)
            except InvalidRequest as exc:
                if exc.code != "resource_missing":
                    raise
                self._restart_backfill(
                    mode,
                    "Stripe no longer had the last change Ledgerboard "
                    "applied, so it re-imported everything to stay exact.",
                )
                self._backfill(api, live, mode)
                self._apply_events(api, live, mode)
        else:
            self._created_cursor_pass(api, live, mode)

    def _restart_backfill(self, mode: ModeCheckpoint, notice: str) -> None:
        log.warning("%s: %s", self.feed.title(), notice)
        mode.backfilled_at = None
        mode.history = None
        mode.notice = notice
        self.result.notice = notice
        self.report("Re-importing", notice)

    def _backfill(self, api: StripeApi, live: bool, mode: ModeCheckpoint) -> None:
        history = mode.history
        if not history:
            start = int(self.engine.now())
            mode.generation += 1
            history = mode.history = HistoryImport(start, self._history_since() or None)
            if self.feed.event_types:
                newest = api.list_page(
                    "/v1/events",
                    limit=1,
                    extra={"types": list(self.feed.event_types)},
                    cancelled=self.cancelled,
                )["data"]
                mode.events = EventsCursor(
                    newest[0]["id"] if newest else None,
                    newest[0]["created"] if newest else start,
                    start,
                )
            else:
                mode.newest_created = start
        windows = Windows.from_state(history)
        history.windows, history.after = windows.state(), None
        self._submit(self._enqueue(live, mode, [], [], {}))  # the cursor before any row
        self._drain()
        HistoryRun(self, api, live, mode, windows).run()

    def _history_since(self) -> int | None:
        since = DataSource.get_by_id(self.feed.leader_id).history_since
        return int(since.replace(tzinfo=dt.UTC).timestamp()) if since else None

    def _apply_events(self, api: StripeApi, live: bool, mode: ModeCheckpoint) -> None:
        now = int(self.engine.now())
        if mode.events is None:
            mode.events = EventsCursor(None, now, now)
        events = mode.events
        if events.cursor and events.since < now - EVENT_RETENTION + RETENTION_MARGIN:
            # A quiet account: the cursor event itself is about to expire, but nothing was
            # missed since the last poll; continue by time from then (re-applying is harmless).
            polled = events.polled_at if events.polled_at is not None else now
            events.cursor, events.since = None, polled - 60
        self._read_events(api, live, mode)
        events.polled_at = now
        self._submit(self._enqueue(live, mode, [], [], {}))

    def _read_events(self, api: StripeApi, live: bool, mode: ModeCheckpoint) -> None:
        events = mode.events
        types = list(self.feed.event_types)
        if events.cursor is None:
            # No event existed at the start: read everything since then, newest first.
            collected, after = [], None
            while True:
                page = api.list_page(
                    "/v1/events",
                    starting_after=after,
                    created={"gte": events.since},
                    extra={"types": types},
                    cancelled=self.cancelled,
                )
                collected += page["data"]
                if not page.get("has_more") or not page["data"]:
                    break
                after = page["data"][-1]["id"]
            collected.reverse()
            for chunk in chunks(collected, PAGE):
                self._apply_event_page(api, live, mode, chunk)
            return
        while True:
            self.report("Applying changes")
            page = api.list_page(
                "/v1/events",
                ending_before=events.cursor,
                extra={"types": types},
                cancelled=self.cancelled,
            )
            if not page["data"]:
                return
            self._apply_event_page(api, live, mode, list(reversed(page["data"])))
            if not page.get("has_more"):
                return

    def _apply_event_page(
        self, api: StripeApi, live: bool, mode: ModeCheckpoint, events: list[dict]
    ) -> None:
        """Events oldest first: resolve each to its object's state, then write them at once."""
        # The last event of each object decides; an object is re-read at most once a page.
        actions: dict[str, dict | None] = {}
        stale: set[str] = set()
        pinned = pinned_api_version()
        asked = self.event_types
        for event in events:
            obj = (event.get("data") or {}).get("object") or {}
            object_id = obj.get("id")
            if not object_id:
                continue  # invoice.upcoming and the like describe no stored object
            # A server may send what was not asked for (Stripe's mock server ignores types[]).
            if event.get("type") not in asked:
                self._skip_once("event type", event.get("type"))
                continue
            if obj.get("object") != self.feed.parent.schema:
                self._skip_once("object", obj.get("object"))
                continue
            stale.discard(object_id)
            if event["type"] in self.feed.parent.deletion_events:
                actions[object_id] = None
            elif event.get("api_version") == pinned:
                actions[object_id] = obj
            else:
                stale.add(object_id)
                actions[object_id] = None
        stale_ids = list(stale)
        reread = self._side_by_side(api, lambda object_id: self._reread(api, object_id), stale_ids)
        for object_id, obj in zip(stale_ids, reread, strict=True):
            if obj is _NOT_OURS:
                del actions[object_id]  # neither stored nor deleted: it is not one of ours
            else:
                actions[object_id] = obj
        upserts = [o for o in actions.values() if o is not None]
        deletes = [i for i, o in actions.items() if o is None]
        lines = self.full_children(api, upserts)
        newest = events[-1]
        mode.events.cursor, mode.events.since = newest["id"], newest["created"]
        self._submit(self._enqueue(live, mode, upserts, deletes, lines))

    def _reread(self, api: StripeApi, object_id: str) -> dict | None:
        """The object as it is now, in the pinned version; None when Stripe no longer has it."""
        try:
            obj = api.get(f"{self.feed.parent.list_path}/{object_id}", cancelled=self.cancelled)
        except InvalidRequest as exc:
            if exc.http_status == 404:
                return None
            raise
        if obj.get("id") != object_id or obj.get("object") != self.feed.parent.schema:
            self._skip_once("re-read answer", f"{obj.get('object')} {obj.get('id')}")
            return _NOT_OURS
        return None if obj.get("deleted") else obj

    def _skip_once(self, what: str, value) -> None:
        """Say once a run what the feed passed over, and why."""
        with self._count_lock:
            if (what, value) in self._skipped:
                return
            self._skipped.add((what, value))
        log.warning(
            "%s: skipped an event whose %s %r is not what it asked for (%s)",
            self.feed.title(),
            what,
            value,
            self.feed.parent.schema,
        )

    def _created_cursor_pass(self, api: StripeApi, live: bool, mode: ModeCheckpoint) -> None:
        """No events: read everything created since the newest known row or the oldest
        still-pending one, whichever is older."""
        start = mode.newest_created or int(self.engine.now())
        if mode.pending_since is not None:
            start = min(start, mode.pending_since)
        mode.pending_since = None
        after = None
        while True:
            self.report("Applying changes")
            page = api.list_page(
                self.feed.parent.list_path,
                starting_after=after,
                created={"gte": start},
                cancelled=self.cancelled,
            )
            objects = page["data"]
            self.note_pending(mode, objects)
            if objects:
                after = objects[-1]["id"]
                mode.newest_created = max(
                    mode.newest_created or 0, max(o.get("created") or 0 for o in objects)
                )
            children = self.full_children(api, objects)
            self._submit(self._enqueue(live, mode, objects, [], children))
            if not page.get("has_more") or not objects:
                return

    @staticmethod
    def note_pending(mode: ModeCheckpoint, objects: list[dict]) -> None:
        pending = [
            o["created"]
            for o in objects
            if o.get("status") == "pending" and o.get("object") == "balance_transaction"
        ]
        if pending:
            current = mode.pending_since
            mode.pending_since = min(pending) if current is None else min(current, *pending)

    def full_children(
        self, api: StripeApi, objects: list[dict], processor: list[float] | None = None
    ) -> dict[str, list[tuple[str, dict]]]:
        """Derived rows per parent id; invoice lines past the first page are fetched in full
        (the processor time that took is added to `processor`)."""
        result: dict[str, list[tuple[str, dict]]] = {}
        for child in self.children:
            whole = (
                self._with_all_lines_each(api, objects, processor if processor is not None else [])
                if child.name == "invoice_lines"
                else objects
            )
            for obj in whole:
                result.setdefault(obj["id"], []).extend(
                    (child.name, *item) for item in child_objects(child, obj)
                )  # type: ignore[misc]
        return result

    def _with_all_lines_each(
        self, api: StripeApi, invoices: list[dict], processor: list[float]
    ) -> list[dict]:
        """Each invoice with every line; those with more than the embedded page are read side
        by side, through the account's one rate limiter."""
        more = [
            i for i, invoice in enumerate(invoices) if (invoice.get("lines") or {}).get("has_more")
        ]
        read = self._side_by_side(
            api, lambda i: self._timed_lines(api, invoices[i], processor), more
        )
        whole = list(invoices)
        for i, invoice in zip(more, read, strict=True):
            whole[i] = invoice
        return whole

    def _side_by_side(self, api: StripeApi, read: Callable, items: list) -> list:
        """read(item) for each item, by the feed's READERS threads when `api` answers slowly
        (the engine's slow_answer), else one after another; the results in order, and the
        first failure raised (the reads not started yet are dropped)."""
        if len(items) < 2 or api.last_round_trip() < self.engine.slow_answer:
            return [read(item) for item in items]
        with self._readers_lock:
            if self._readers is None:
                name = f"{threading.current_thread().name}-reads"
                self._readers = ThreadPoolExecutor(READERS, thread_name_prefix=name)
            pool = self._readers
        reads = [pool.submit(read, item) for item in items]
        try:
            return [each.result() for each in reads]
        finally:
            for each in reads:
                each.cancel()

    def _timed_lines(self, api: StripeApi, invoice: dict, processor: list[float]) -> dict:
        began = time.thread_time()
        try:
            return self._with_all_lines(api, invoice)
        finally:
            processor.append(time.thread_time() - began)  # list.append: one at a time

    def _with_all_lines(self, api: StripeApi, invoice: dict) -> dict:
        """The invoice with every line: the embedded first page, then the rest by cursor."""
        lines = invoice.get("lines") or {}
        if not lines.get("has_more"):
            return invoice
        collected = list(lines.get("data") or [])
        after = collected[-1]["id"] if collected else None
        path = f"/v1/invoices/{invoice['id']}/lines"
        while True:
            page = api.list_page(path, starting_after=after, cancelled=self.cancelled)
            collected += page["data"]
            if not page.get("has_more") or not page["data"]:
                break
            after = page["data"][-1]["id"]
        return dict(invoice, lines={**lines, "data": collected, "has_more": False})

    # --- writing ---

    def _submit(self, future: Future) -> None:
        """Keep at most one queued transaction (see _enqueue) in flight: this waits for the
        previous one, so the next page is fetched while this one is written, and an error
        surfaces before the cursor moves on."""
        previous, self._in_flight = self._in_flight, future
        if previous is not None:
            self.count(previous.result())
        if self.cancelled():
            raise Cancelled()

    def _enqueue(
        self,
        live: bool,
        mode: ModeCheckpoint,
        upserts: list[dict],
        deletes: list[str],
        children: dict,
        sweep: bool = False,
    ) -> Future:
        """Queue one transaction: rows, derived rows, deletions and the checkpoint as the state
        is now. The writer runs them in the order queued, so a checkpoint never claims a page
        that was queued after it."""
        self.engine.gui_first.give_way()
        return self.enqueue_page(self.page(live, mode, upserts, deletes, children), sweep)

    def page(
        self,
        live: bool,
        mode: ModeCheckpoint,
        upserts: list[dict],
        deletes: list[str],
        children: dict,
    ) -> PageWrite:
        """A page's rows as statements, made before the checkpoint that goes with them is
        known (a history import's workers build theirs outside its lock)."""
        generation = max(1, mode.generation)
        return PageWrite(
            self.feed,
            live,
            generation,
            upserts,
            deletes,
            children,
            self.parent_target,
            self.children,
        )

    def enqueue_page(self, page: PageWrite, sweep: bool = False) -> Future:
        """Queue a page's transaction with the checkpoint as the state is now."""
        statements = page.checkpointed(self.state.to_json(), sweep)
        new = [table for table in page.filled if table not in self._measured]
        if new:  # after its first rows, each table's statistics (the planner's, see dialect)
            self._measured.update(new)
            statements += dialect.current().first_statistics(new)
        return self.writer.submit_statements(statements, self._writes, page.committed)

    def _drain(self, ignore_errors: bool = False) -> None:
        if self._in_flight is None:
            return
        future, self._in_flight = self._in_flight, None
        written = settle_while_stopping(future) if ignore_errors else future.result()
        if written is not None:
            self.count(written)

    def count(self, written: dict[int, int]) -> None:
        """Add a committed page's rows to the run's: each registration once."""
        keys_by_source = getattr(written, "keys_by_source", {})
        with self._count_lock:
            for ds_id, rows in written.items():
                keys = keys_by_source.get(ds_id)
                if keys is not None:
                    seen = self._stored.setdefault(ds_id, set())
                    before = len(seen)
                    seen.update(map(hash, keys))
                    rows = len(seen) - before
                self.result.rows[ds_id] = self.result.rows.get(ds_id, 0) + rows
                self.total_rows += rows
        self.report(None)

    def note_coverage(self, live: bool, coverage: float) -> None:
        """A mode's history import lists `coverage` of its range (see Windows.coverage)."""
        if live not in self._imports:  # imported again after all (Stripe lost the cursor)
            self._imports.append(live)
        fraction = (self._imports.index(live) + coverage) / len(self._imports)
        with self._count_lock:
            self._fraction = fraction
            if self._clock is None:
                self._clock = (time.monotonic(), fraction)

    def report(self, phase: str | None, notice: str | None = None) -> None:
        if phase:
            self._phase = phase
        # Under the lock: the workers' reports arrive in the order of what they say.
        with self._count_lock:
            now = time.monotonic()
            fraction, clock = self._fraction, self._clock
            left = None
            if fraction is not None and clock is not None:
                gained, taken = fraction - clock[1], now - clock[0]
                if fraction >= 1.0:
                    left = 0.0
                elif gained >= MEASURED_SHARE and taken >= MEASURED_SECONDS:
                    left = (1.0 - fraction) * taken / gained
            self.progress(
                SyncProgress(
                    self.feed.data_source_ids,
                    self._phase,
                    self.total_rows,
                    self.total_rows / max(1e-6, now - self.started),
                    notice,
                    fraction,
                    left,
                )
            )
