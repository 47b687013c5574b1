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

import collections
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from itertools import chain

import orjson

from desktop.catalog import DATA_TYPES, DataType, IdRule, compile_extractor
from desktop.services.gui_first import GuiFirst
from desktop.services.stripe.client import (
    Cancelled,
    NeedsReconnect,
    NotPermitted,
    StripeApi,
    StripeRequestError,
    TransientError,
    pinned_api_version,
)
from desktop.store.db import StoreError
from desktop.store.models import (
    Account,
    AccountStatus,
    DataSource,
    DataSourceStatus,
    SyncRun,
    registration_model,
    utc_now,
)
from desktop.store.writer import EarlierWriteFailed, StoreWriter, WriteChain
from desktop.store.writer_process import Statement, execute_all

log = logging.getLogger(__name__)

EVENT_RETENTION = 30 * 86_400
RETENTION_MARGIN = 3_600  # re-import an hour before Stripe would have dropped the cursor
PAGE = 100
# Bound values one statement may carry: SQLite's limit before 3.32, the oldest we may meet
# (see TableRows.upsert).
MAX_VARIABLES = 999
# A history import lists up to this many created ranges of one type side by side: Stripe
# answers a page of 100 in a few hundred milliseconds, so one cursor alone reads a few hundred
# objects a second, far below its limits (25 requests a second for one list, 100 in all).
# Only as many as hide the wait for answers work at once (see Workers).
WINDOWS = 8
# Threads of one feed for the reads a page needs beyond itself, for all its workers: the lines
# of invoices that go on past the ten Stripe embeds, and the objects whose events came in
# another API version. One after another, a page with a dozen of them waited a dozen round
# trips: from a simulator answering in 0.2 s, as Stripe does, an import of 160,000 rows took
# 161 s, 140 of them for the invoices alone; side by side, 19 s (at 90 requests a second of the
# 100 allowed). Eight threads took 25 s.
READERS = 16
# An answer slower than this is waited for over a network, as Stripe's (hundreds of ms): only
# then are those reads made side by side, and the time they take counted as waiting (see
# _Backfill._list_page). A server on this machine answers in milliseconds, and more threads only
# took turns for the processor: during an unthrottled import of all nine types the GUI thread's
# timer came late by 17-24 ms at the 99th percentile (its target 20) against 10-15 without.
SLOW_ANSWER = 0.05  # seconds
# For what orjson cannot write: an integer past 64 bits, or a lone surrogate (escaped, as
# ensure_ascii does, the text stays storable). allow_nan=False: what is stored must stay
# valid JSON for SQLite's JSON functions (no parser here lets NaN in).
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def encode_json(obj: dict) -> str:
    """An object as the compact JSON text a row stores; orjson writes it several times
    faster than the json module, which an import does for every object."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        return _ENCODE(obj)


# --- rows ------------------------------------------------------------------------------


class TableRows:
    """Turns Stripe objects of one type into rows of its registrations table, and the SQL
    that writes them."""

    BASE = ("data_source_id", "stripe_id", "parent_id", "livemode", "generation", "data")

    def __init__(self, data_type: DataType) -> None:
        self.data_type = data_type
        model = registration_model(data_type.name)
        self.table = model._meta.table_name
        self.fields = data_type.fields
        self._extract = compile_extractor(self.fields)
        columns = [*self.BASE, *(f.column for f in self.fields)]
        self.width = len(columns)
        self.rows_per_statement = max(1, MAX_VARIABLES // self.width)
        quoted = ", ".join(f'"{c}"' for c in columns)
        self._marks = "(" + ", ".join("?" for _ in columns) + ")"
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns[2:])
        self._insert = f'INSERT INTO "{self.table}" ({quoted}) VALUES '
        self._conflict = f' ON CONFLICT ("data_source_id", "stripe_id") DO UPDATE SET {updates}'
        self._upsert_many: dict[int, str] = {}

    def upsert(self, cursor, rows: list[tuple]) -> None:
        """Write rows here (scripts and tests that own the database)."""
        execute_all(cursor, self.upsert_statements(rows))

    def upsert_statements(self, rows: list[tuple]) -> list[Statement]:
        """The statements that write rows, as many to a statement as MAX_VARIABLES allows (30
        charges, 52 customers). Measured when the writer was a thread of this process: once a
        row (executemany) it spent half its time taking turns for the GIL; ten rows a statement
        took ingest to 15,500 objects/s, the most allowed to 17,200 (three pairs side by side).
        A whole page to one statement, on a SQLite without the limit, had made the GUI thread
        wait longer (the timer's ticks up to 90 ms late during a sync)."""
        size = self.rows_per_statement
        statements = []
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            sql = self._upsert_many.get(len(chunk))
            if sql is None:
                marks = ", ".join(self._marks for _ in chunk)
                sql = self._upsert_many[len(chunk)] = self._insert + marks + self._conflict
            statements.append((sql, list(chain.from_iterable(chunk))))
        return statements

    def row(
        self,
        ds_id: int,
        stripe_id: str,
        parent_id: str | None,
        live: bool,
        generation: int,
        obj: dict,
    ) -> tuple:
        data = encode_json(obj)
        return self._extract((ds_id, stripe_id, parent_id, int(live), generation, data), obj)

    def delete_ids(self, ds_id: int, ids: list[str]) -> list[Statement]:
        return self._delete_where(ds_id, "stripe_id", ids)

    def delete_children(self, ds_id: int, parent_ids: list[str]) -> list[Statement]:
        return self._delete_where(ds_id, "parent_id", parent_ids)

    def _delete_where(self, ds_id: int, column: str, values: list[str]) -> list[Statement]:
        statements = []
        for chunk in _chunks(values, 500):
            marks = ", ".join("?" for _ in chunk)
            where = f'"data_source_id" = ? AND "{column}" IN ({marks})'
            statements.append((f'DELETE FROM "{self.table}" WHERE {where}', (ds_id, *chunk)))
        return statements

    def sweep(self, ds_id: int, live: bool, generation: int) -> Statement:
        """Deletes the rows of one mode that an import of `generation` did not write."""
        return (
            f'DELETE FROM "{self.table}" WHERE "data_source_id" = ? AND "livemode" = ? '
            'AND "generation" < ?',
            (ds_id, int(live), generation),
        )


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_TABLE_ROWS: dict[str, TableRows] = {}


def table_rows(type_name: str) -> TableRows:
    if type_name not in _TABLE_ROWS:
        _TABLE_ROWS[type_name] = TableRows(DATA_TYPES[type_name])
    return _TABLE_ROWS[type_name]


def child_objects(child: DataType, parent: dict) -> list[tuple[str, dict]]:
    """The derived rows of one parent object: (stable id, object with the parent's fields)."""
    items = parent.get(child.parent_list_field) or []
    if isinstance(items, dict):  # invoice.lines is a list object
        items = items.get("data") or []
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        obj = dict(item)
        if child.name == "fee_details":
            obj.update(
                balance_transaction=parent["id"],
                created=parent.get("created"),
                available_on=parent.get("available_on"),
            )
        else:
            obj.update(invoice=parent["id"], created=parent.get("created"))
        if child.id_rule is IdRule.PARENT_AND_INDEX:
            stable_id = f"{parent['id']}/{index}"
        else:
            stable_id = f"{parent['id']}/{item.get('id') or index}"
        result.append((stable_id, obj))
    return result


# --- feeds -----------------------------------------------------------------------------


@dataclass
class Feed:
    """One list endpoint of one account, and the data sources (by type) it fills."""

    account_id: int
    parent: DataType
    targets: dict[str, int]  # data type name -> data source id
    leader_id: int  # the data source that keeps the feed's checkpoints
    modes: tuple[bool, ...]  # live and/or test

    @property
    def data_source_ids(self) -> list[int]:
        return list(self.targets.values())

    @property
    def event_types(self) -> tuple[str, ...]:
        return self.parent.event_types

    def title(self) -> str:
        return " + ".join(DATA_TYPES[t].display_name for t in self.targets)


def feeds_for(data_sources: Iterable[DataSource]) -> list[Feed]:
    """Group data sources into feeds: derived types join their parent type's feed."""
    feeds: dict[tuple[int, str], Feed] = {}
    for ds in sorted(data_sources, key=lambda d: (d.account_id, d.id)):
        data_type = DATA_TYPES[ds.data_type]
        parent = DATA_TYPES[data_type.parent] if data_type.parent else data_type
        key = (ds.account_id, parent.name)
        modes = ds.modes
        feed = feeds.get(key)
        if feed is None:
            feed = feeds[key] = Feed(ds.account_id, parent, {}, ds.id, modes)
        feed.targets[data_type.name] = ds.id
        feed.modes = tuple(sorted(set(feed.modes) | set(modes), reverse=True))
        if data_type.name == parent.name:
            feed.leader_id = ds.id  # the parent's own data source keeps the checkpoints
    return list(feeds.values())


@dataclass
class SyncProgress:
    data_source_ids: list[int]
    phase: str
    rows: int
    rate: float
    notice: str | None = None


@dataclass
class FeedResult:
    feed: Feed
    rows: dict[int, int] = field(default_factory=dict)  # data source id -> rows written
    status: str = DataSourceStatus.UP_TO_DATE
    message: str | None = None
    notice: str | None = None


def _mode_key(live: bool) -> str:
    return "live" if live else "test"


# --- the engine ------------------------------------------------------------------------


class SyncEngine:
    """Runs feeds against Stripe clients, writing through the store's one writer."""

    def __init__(
        self,
        writer: StoreWriter,
        api_for: Callable[[int, bool], StripeApi],
        now: Callable[[], float] = time.time,
        gui_first: GuiFirst | None = None,
    ) -> None:
        self.writer = writer
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
        run = _FeedRun(self, feed, progress or (lambda p: None), cancelled)
        return run.execute()


class _FeedRun:
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
        self.state: dict = {}
        self._in_flight: Future | None = None
        self._count_lock = threading.Lock()
        self._writes = WriteChain()
        self._apis: list[StripeApi] = []  # the clients this run made requests with
        self.children = [DATA_TYPES[t] for t in feed.targets if DATA_TYPES[t].parent]
        self.reads_lines = any(child.name == "invoice_lines" for child in self.children)
        # READERS, shared by the import's workers: a pool per page made a server on this
        # machine take turns among up to 32 threads (4% slower).
        self._readers: ThreadPoolExecutor | None = None
        self._readers_lock = threading.Lock()
        self.parent_target = feed.targets.get(feed.parent.name)

    # --- top level ---

    def execute(self) -> FeedResult:
        try:
            return self._execute()
        finally:
            if self._readers is not None:
                self._readers.shutdown(wait=True, cancel_futures=True)

    def _execute(self) -> FeedResult:
        import stripe  # the SDK, imported by the first client made (stripe_api)

        feed = self.feed
        runs = self.writer.run(self._start_runs)
        try:
            self.state = json.loads(DataSource.get_by_id(feed.leader_id).sync_state or "{}")
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
        except stripe.StripeError as exc:
            message = f"Stripe refused a request: {exc.user_message or exc}"
            self._fail(runs, DataSourceStatus.FAILED, message)
        return self.result

    def _fail(self, runs, status: str, message: str, account: bool = False) -> None:
        self._drain(ignore_errors=True)
        self.result.status, self.result.message = status, message
        log.warning("sync of %s failed: %s", self.feed.title(), message)
        self.writer.run(lambda: self._finish(runs, status, message, account=account))

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
        import stripe

        mode = self.state.setdefault(_mode_key(live), {})
        polled = mode.get("events", {}).get("polled_at")
        now = int(self.engine.now())
        if (
            self.feed.event_types
            and mode.get("backfilled_at")
            and polled is not None
            and polled < now - EVENT_RETENTION + RETENTION_MARGIN
        ):
            self._restart_backfill(
                mode,
                "Ledgerboard was away longer than the 30 days Stripe "
                "keeps changes, so it re-imported everything to stay exact.",
            )
        if not mode.get("backfilled_at") or mode.get("backfill"):
            self._backfill(api, live, mode)
        if self.feed.event_types:
            try:
                self._apply_events(api, live, mode)
            except stripe.InvalidRequestError as exc:
                if getattr(exc, "code", None) != "resource_missing":
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

    def _restart_backfill(self, mode: dict, notice: str) -> None:
        log.warning("%s: %s", self.feed.title(), notice)
        mode["backfilled_at"] = None
        mode["backfill"] = None
        mode["notice"] = notice
        self.result.notice = notice
        self._report("Re-importing", notice)

    def _backfill(self, api: StripeApi, live: bool, mode: dict) -> None:
        backfill = mode.get("backfill")
        if not backfill:
            start = int(self.engine.now())
            mode["generation"] = mode.get("generation", 0) + 1
            since = self._history_since()
            backfill = mode["backfill"] = {"lte": start, "gte": since or None}
            if self.feed.event_types:
                newest = api.list_page(
                    "/v1/events",
                    limit=1,
                    extra={"types": list(self.feed.event_types)},
                    cancelled=self.cancelled,
                )["data"]
                mode["events"] = {
                    "cursor": newest[0]["id"] if newest else None,
                    "since": newest[0]["created"] if newest else start,
                    "polled_at": start,
                }
            else:
                mode["newest_created"] = start
        windows = Windows.from_state(backfill)
        backfill["windows"] = windows.state()
        self._submit(self._enqueue(live, mode, [], [], {}))  # the cursor before any row
        self._drain()
        _Backfill(self, api, live, mode, windows).run()

    def _history_since(self) -> int | None:
        since = DataSource.get_by_id(self.feed.leader_id).history_since
        return int(since.replace(tzinfo=dt.UTC).timestamp()) if since else None

    def _apply_events(self, api: StripeApi, live: bool, mode: dict) -> None:
        now = int(self.engine.now())
        events_state = mode.setdefault("events", {"cursor": None, "since": now, "polled_at": now})
        if (
            events_state.get("cursor")
            and events_state["since"] < now - EVENT_RETENTION + RETENTION_MARGIN
        ):
            # A quiet account: the cursor event itself is about to expire, but nothing was
            # missed since the last poll; continue by time from then (re-applying is harmless).
            events_state.update(cursor=None, since=events_state.get("polled_at", now) - 60)
        self._read_events(api, live, mode)
        mode["events"]["polled_at"] = now
        self._submit(self._enqueue(live, mode, [], [], {}))

    def _read_events(self, api: StripeApi, live: bool, mode: dict) -> None:
        events_state = mode["events"]
        types = list(self.feed.event_types)
        if events_state.get("cursor") is None:
            # No event existed at the start: read everything since then, newest first.
            collected, after = [], None
            while True:
                page = api.list_page(
                    "/v1/events",
                    starting_after=after,
                    created={"gte": events_state["since"]},
                    extra={"types": types},
                    cancelled=self.cancelled,
                )
                collected += page["data"]
                if not page.get("has_more") or not page["data"]:
                    break
                after = page["data"][-1]["id"]
            collected.reverse()
            for chunk in _chunks(collected, PAGE):
                self._apply_event_page(api, live, mode, chunk)
            return
        while True:
            self._report("Applying changes")
            page = api.list_page(
                "/v1/events",
                ending_before=events_state["cursor"],
                extra={"types": types},
                cancelled=self.cancelled,
            )
            if not page["data"]:
                return
            self._apply_event_page(api, live, mode, list(reversed(page["data"])))
            if not page.get("has_more"):
                return

    def _apply_event_page(self, api: StripeApi, live: bool, mode: dict, events: list[dict]) -> None:
        """Events oldest first: resolve each to its object's state, then write them at once."""
        # The last event of each object decides; an object is re-read at most once a page.
        actions: dict[str, dict | None] = {}
        stale: set[str] = set()
        pinned = pinned_api_version()
        for event in events:
            obj = (event.get("data") or {}).get("object") or {}
            object_id = obj.get("id")
            if not object_id:
                continue  # invoice.upcoming and the like describe no stored object
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
        actions.update(zip(stale_ids, reread, strict=True))
        upserts = [o for o in actions.values() if o is not None]
        deletes = [i for i, o in actions.items() if o is None]
        lines = self._full_children(api, upserts)
        newest = events[-1]
        mode["events"].update(cursor=newest["id"], since=newest["created"])
        self._submit(self._enqueue(live, mode, upserts, deletes, lines))

    def _reread(self, api: StripeApi, object_id: str) -> dict | None:
        """The object as it is now, in the pinned version; None when Stripe no longer has it."""
        import stripe

        try:
            obj = api.get(f"{self.feed.parent.list_path}/{object_id}", cancelled=self.cancelled)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise
        return None if obj.get("deleted") else obj

    def _created_cursor_pass(self, api: StripeApi, live: bool, mode: dict) -> None:
        """No events: read everything created since the newest known row or the oldest
        still-pending one, whichever is older."""
        start = mode.get("newest_created") or int(self.engine.now())
        pending = mode.get("pending_since")
        if pending is not None:
            start = min(start, pending)
        mode["pending_since"] = None
        after = None
        while True:
            self._report("Applying changes")
            page = api.list_page(
                self.feed.parent.list_path,
                starting_after=after,
                created={"gte": start},
                cancelled=self.cancelled,
            )
            objects = page["data"]
            self._note_pending(mode, objects)
            if objects:
                after = objects[-1]["id"]
                mode["newest_created"] = max(
                    mode.get("newest_created") or 0, max(o.get("created") or 0 for o in objects)
                )
            children = self._full_children(api, objects)
            self._submit(self._enqueue(live, mode, objects, [], children))
            if not page.get("has_more") or not objects:
                return

    @staticmethod
    def _note_pending(mode: dict, objects: list[dict]) -> None:
        pending = [
            o["created"]
            for o in objects
            if o.get("status") == "pending" and o.get("object") == "balance_transaction"
        ]
        if pending:
            current = mode.get("pending_since")
            mode["pending_since"] = min(pending) if current is None else min(current, *pending)

    def _full_children(
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
        (SLOW_ANSWER), else one after another; the results in order, and the first failure
        raised (the reads not started yet are dropped)."""
        if len(items) < 2 or api.last_round_trip() < SLOW_ANSWER:
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
            self._count(previous.result())
        if self.cancelled():
            raise Cancelled()

    def _enqueue(
        self,
        live: bool,
        mode: dict,
        upserts: list[dict],
        deletes: list[str],
        children: dict,
        sweep: bool = False,
    ) -> Future:
        """Queue one transaction: rows, derived rows, deletions and the checkpoint as the state
        is now. The writer runs them in the order queued, so a checkpoint never claims a page
        that was queued after it."""
        self.engine.gui_first.give_way()
        return self._enqueue_page(self._page(live, mode, upserts, deletes, children), sweep)

    def _page(
        self, live: bool, mode: dict, upserts: list[dict], deletes: list[str], children: dict
    ) -> _PageWrite:
        """A page's rows as statements, made before the checkpoint that goes with them is
        known (a history import's workers build theirs outside its lock)."""
        generation = mode.get("generation", 1)
        return _PageWrite(
            self.feed,
            live,
            generation,
            upserts,
            deletes,
            children,
            self.parent_target,
            self.children,
        )

    def _enqueue_page(self, page: _PageWrite, sweep: bool = False) -> Future:
        """Queue a page's transaction with the checkpoint as the state is now."""
        statements = page.checkpointed(encode_json(self.state), sweep)
        return self.writer.submit_statements(statements, self._writes, page.committed)

    def _drain(self, ignore_errors: bool = False) -> None:
        if self._in_flight is None:
            return
        future, self._in_flight = self._in_flight, None
        written = _settle_while_stopping(future) if ignore_errors else future.result()
        if written is not None:
            self._count(written)

    def _count(self, written: dict[int, int]) -> None:
        with self._count_lock:
            for ds_id, rows in written.items():
                self.result.rows[ds_id] = self.result.rows.get(ds_id, 0) + rows
                self.total_rows += rows
        self._report(None)

    def _report(self, phase: str | None, notice: str | None = None) -> None:
        if phase:
            self._phase = phase
        elapsed = max(1e-6, time.monotonic() - self.started)
        self.progress(
            SyncProgress(
                self.feed.data_source_ids,
                self._phase,
                self.total_rows,
                self.total_rows / elapsed,
                notice,
            )
        )


# --- history in windows -------------------------------------------------------------------

EPOCH = 1_262_304_000  # 2010-01-01: nothing in Stripe is older (used only to split ranges)
MIN_SPLIT_PAGES = 4  # a window is split when about this many pages are left in it


@dataclass
class Window:
    """One created range of a history import, listed newest first on its own cursor."""

    lte: int
    gte: int | None  # None: everything older
    after: str | None = None  # the last object listed
    last: int | None = None  # its created: what is left is at most this old
    first: int | None = None  # the created of the first object listed
    low: int | None = None  # an unbounded window's oldest created, as far as is known
    pages: int = 0
    busy: bool = field(default=False, compare=False)

    def state(self) -> dict:
        return {name: getattr(self, name) for name in _WINDOW_STATE}

    def pages_left(self) -> float | None:
        """Pages still to list, were the objects spread evenly over time; None before the
        first page."""
        if not self.pages or self.last is None:
            return None
        floor = self.gte if self.gte is not None else (self.low or EPOCH)
        return self.pages * (self.last - floor) / max(1, self.first - self.last)


# What a checkpoint keeps of a window (asdict, which copies deeply, cost 3% of an import).
_WINDOW_STATE = tuple(f.name for f in fields(Window) if f.name != "busy")


class Windows:
    """The windows of one history import: which to list next, and splitting the largest in
    two when a worker has none. Together they cover the import's range exactly once."""

    def __init__(self, windows: list[Window]) -> None:
        self.windows = windows

    @classmethod
    def from_state(cls, backfill: dict) -> Windows:
        if "windows" in backfill:
            return cls([Window(**w) for w in backfill["windows"]])
        # A new import, or one checkpointed before windows existed: one cursor.
        return cls([Window(backfill["lte"], backfill.get("gte"), backfill.get("after"))])

    def state(self) -> list[dict]:
        return [w.state() for w in self.windows]

    def __bool__(self) -> bool:
        return bool(self.windows)

    def claim(self) -> tuple[Window | None, bool]:
        """A window to list next, and whether it was split off another; (None, False) when
        there is none to take now."""
        for window in self.windows:
            if not window.busy:
                window.busy = True
                return window, False
        estimates = [(w.pages_left(), w) for w in self.windows]
        largest = max(
            ((left, w) for left, w in estimates if left is not None),
            key=lambda item: item[0],
            default=None,
        )
        if largest is not None and largest[0] >= MIN_SPLIT_PAGES:
            window = self.split(largest[1])
            if window is not None:
                window.busy = True
                return window, True
        return None, False

    def estimate_pending(self) -> bool:
        """A window's first page is on its way: after it, one may be worth splitting."""
        return any(w.busy and not w.pages for w in self.windows)

    def split(self, window: Window) -> Window | None:
        """Give the older half of what is left in `window` to a new window."""
        floor = window.gte if window.gte is not None else (window.low or EPOCH)
        middle = (floor + window.last + 1) // 2
        if not floor < middle <= window.last:
            return None
        older = Window(middle - 1, window.gte, low=window.low if window.gte is None else None)
        window.gte, window.low = middle, None
        self.windows.insert(self.windows.index(window) + 1, older)
        return older

    def record(self, window: Window, objects: list[dict], has_more: bool) -> int:
        """Note a page listed for `window` and release it; returns how many of the objects
        (newest first) are its own. A split while the page was on its way gave the older ones
        to another window, and then this one is done."""
        kept = len(objects)
        if window.gte is not None:
            while kept and (objects[kept - 1].get("created") or 0) < window.gte:
                kept -= 1
        window.pages += 1
        window.busy = False
        if kept:
            window.after = objects[kept - 1]["id"]
            window.last = objects[kept - 1].get("created") or window.last
            if window.first is None:
                window.first = objects[0].get("created") or window.last
        if not has_more or kept < len(objects):
            self.windows.remove(window)
        return kept


def _median(values: list[float]) -> float:
    """The statistics module's median; importing that module took 16 ms of the app's start."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class Workers:
    """How many workers list one history import: one, then one more at a time while the
    others mostly wait for answers ((wait + work) / work, rounded, exceeds the workers) and the
    last one added did not make answers slower. Stripe answers a page in hundreds of milliseconds
    however many are asked at once, so an import gets all `most`; a server on this machine
    answers one at a time, and more workers would only take turns with the GUI thread for the
    GIL (eight made its timer's ticks up to 70 ms late, one 20 ms)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.count = 1
        # (round trip, work) of the latest pages since the last worker started; a bounded
        # window, as a median over every page of a long import cost 5% of its time.
        self.timings: collections.deque[tuple[float, float]] = collections.deque(maxlen=16)
        self.alone: float | None = None  # the round trip while one worker asked alone

    def page_done(self, round_trip: float, work: float) -> bool:
        """Note a page's timings; True when one more worker should start (it is counted)."""
        self.timings.append((round_trip, max(work, 1e-4)))
        if self.count >= self.most or len(self.timings) < 3:
            return False
        wait = _median([t for t, _ in self.timings])
        work = _median([w for _, w in self.timings])
        if self.count == 1:  # the answers to compare later ones with, while one asks alone
            self.alone = wait
        if wait > 1.5 * self.alone or round((wait + work) / work) <= self.count:
            return False
        self.timings.clear()  # judge the next one by answers that came while it worked
        self.count += 1
        return True


class _Backfill:
    """One mode's history import: up to WINDOWS workers list its windows side by side.

    Every change to the windows and the checkpoint it leads to are made under one lock, in
    the order the writer will commit them, so what a commit records is always what earlier
    commits stored."""

    def __init__(
        self, run: _FeedRun, api: StripeApi, live: bool, mode: dict, windows: Windows
    ) -> None:
        self.feed_run = run
        self.api = api
        self.live = live
        self.mode = mode
        self.windows = windows
        self.lte = mode["backfill"]["lte"]
        self.lock = threading.Condition()
        self.failure: BaseException | None = None
        self.helpers: list[threading.Thread] = []
        self.workers = Workers(WINDOWS)

    def run(self) -> None:
        self._work()
        for helper in self.helpers:
            helper.join()
        if self.failure is not None:
            raise self.failure

    def _work(self) -> None:
        pending: list[Future] = []
        try:
            while (window := self._claim(pending)) is not None:
                self._list_page(window, pending)
                while len(pending) > 1:  # one write in flight, as in _FeedRun._submit
                    self.feed_run._count(pending.pop(0).result())
                if self.feed_run.cancelled():
                    raise Cancelled()
            for future in pending:
                self.feed_run._count(future.result())
        except BaseException as exc:
            with self.lock:
                if self.failure is None or isinstance(self.failure, EarlierWriteFailed):
                    self.failure = exc  # the write that failed first says why
                self.lock.notify_all()
            for future in pending:
                written = _settle_while_stopping(future)
                if written is not None:
                    self.feed_run._count(written)

    def _claim(self, pending: list[Future]) -> Window | None:
        with self.lock:
            while self.failure is None and self.windows:
                window, split = self.windows.claim()
                if window is not None:
                    if split:  # the new window is recorded before any of its rows
                        pending.append(self._enqueue())
                    return window
                if not self.windows.estimate_pending():
                    return None
                self.lock.wait()
            return None

    def _list_page(self, window: Window, pending: list[Future]) -> None:
        run = self.feed_run
        run._report("Importing history")
        created = {"lte": window.lte}
        if window.gte is not None:
            created["gte"] = window.gte
        started = time.monotonic()
        page = self.api.list_page(
            run.feed.parent.list_path,
            starting_after=window.after,
            created=created,
            cancelled=run.cancelled,
        )
        round_trip = self.api.last_round_trip()
        objects = page["data"]
        # Reading invoices' further lines is waiting for answers too, all but the processor
        # time it takes: with Stripe's round trips, counted as work, it had kept an import of
        # invoices to two workers where eight were worth it (161 s against 20 for 160,000
        # rows at 0.2 s an answer). From a server on this machine (SLOW_ANSWER) it stays work.
        processor: list[float] = []
        reading_lines = time.monotonic()
        children = run._full_children(self.api, objects, processor)
        if run.reads_lines and round_trip >= SLOW_ANSWER:
            round_trip += max(0.0, time.monotonic() - reading_lines - sum(processor))
        # The rows are built before taking the lock: the other workers go on meanwhile.
        run.engine.gui_first.give_way()
        rows = run._page(self.live, self.mode, objects, [], children)
        with self.lock:
            kept = self.windows.record(window, objects, bool(page.get("has_more")))
            if kept < len(objects):  # the page reached into a window listed by another
                objects = objects[:kept]
                rows = run._page(self.live, self.mode, objects, [], children)
            run._note_pending(self.mode, objects)
            pending.append(self._enqueue(rows))
            self.lock.notify_all()
            work = time.monotonic() - started - round_trip
            more = bool(self.windows) and self.workers.page_done(round_trip, work)
        if more:
            helper = threading.Thread(
                target=self._work, name=f"{threading.current_thread().name}-w{len(self.helpers)}"
            )
            self.helpers.append(helper)
            helper.start()

    def _enqueue(self, rows: _PageWrite | None = None) -> Future:
        """Called under the lock: a page's rows (none: the checkpoint alone) with the
        checkpoint as the windows are now."""
        run = self.feed_run
        finished = not self.windows
        if finished:
            self.mode["backfill"] = None
            self.mode["backfilled_at"] = self.lte
        else:
            self.mode["backfill"]["windows"] = self.windows.state()
        rows = rows or run._page(self.live, self.mode, [], [], {})
        return run._enqueue_page(rows, sweep=finished)


def _settle_while_stopping(future: Future) -> dict[int, int] | None:
    """The rows a queued write of a stopping sync stored, or None when it failed: logged, not
    raised (one that an earlier failure stopped says nothing new)."""
    try:
        return future.result()
    except EarlierWriteFailed:
        return None
    except Exception:
        log.exception("a queued write failed while the sync was stopping")
        return None


class _PageWrite:
    """One transaction: a page's rows, derived rows and deletions, then its checkpoint.

    Its statements are built when it is made, on the thread that read the page, and it keeps
    no Stripe object: the one writer, through which every page of every type passes, then only
    writes (building the rows and freeing the page's objects took a third of its time)."""

    def __init__(
        self,
        feed: Feed,
        live: bool,
        generation: int,
        upserts: list[dict],
        deletes: list[str],
        children: dict[str, list],
        parent_target: int | None,
        child_types: list[DataType],
    ) -> None:
        self.feed = feed
        self.live = live
        self.generation = generation
        self.written: dict[int, int] = {}  # data source id -> rows written
        self.statements: list[Statement] = []
        ids = [o["id"] for o in upserts]
        replaced = ids + deletes  # the parents whose derived rows are written anew
        if parent_target is not None:
            rows = table_rows(feed.parent.name)
            mode_of = (
                (lambda o: bool(o.get("livemode")))
                if feed.parent.has_own_livemode
                else (lambda o: live)
            )
            built = [
                rows.row(parent_target, o["id"], None, mode_of(o), generation, o) for o in upserts
            ]
            self.statements += rows.upsert_statements(built)
            self.statements += rows.delete_ids(parent_target, deletes)
            self.written[parent_target] = len(upserts) + len(deletes)
        for child in child_types:
            target = feed.targets[child.name]
            rows = table_rows(child.name)
            mode_of = (
                (lambda o: bool(o.get("livemode", live)))
                if child.has_own_livemode
                else (lambda o: live)
            )
            built = [
                rows.row(target, stable_id, parent_id, mode_of(o), generation, o)
                for parent_id in ids
                for (name, stable_id, o) in children.get(parent_id, ())
                if name == child.name
            ]
            self.statements += rows.delete_children(target, replaced)
            self.statements += rows.upsert_statements(built)
            self.written[target] = len(built)
        self.sweeps = slice(0)

    def checkpointed(self, state_json: str, sweep: bool) -> list[Statement]:
        """The statements, then the sweep of what an import did not see (when it ends one) and
        the checkpoint."""
        statements = list(self.statements)
        if sweep and self.generation > 1:
            first = len(statements)
            statements += [
                table_rows(type_name).sweep(ds_id, self.live, self.generation)
                for type_name, ds_id in self.feed.targets.items()
            ]
            self.sweeps = slice(first, len(statements))
        table = DataSource._meta.table_name
        sql = f'UPDATE "{table}" SET "sync_state" = ? WHERE "id" = ?'
        statements.append((sql, (state_json, self.feed.leader_id)))
        return statements

    def committed(self, counts: list[int]) -> dict[int, int]:
        """The rows written per data source, once the writer has committed the statements."""
        swept = sum(counts[self.sweeps])
        if swept:
            log.info("re-import removed %d rows Stripe no longer has", swept)
        return self.written
