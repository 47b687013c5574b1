"""A history import in windows: the created range listed as several ranges side by side, each
on its own cursor, by as many workers as hide the wait for Stripe's answers. One cursor alone
waits for every page in turn: a few hundred objects a second from Stripe."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from desktop.services.stripe.client import Cancelled, StripeApi
from desktop.services.sync.checkpoint import HistoryImport, ModeCheckpoint
from desktop.services.sync.writes import PageWrite, settle_while_stopping
from desktop.store.writer import EarlierWriteFailed

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from desktop.services.sync.engine import FeedRun

# A history import lists up to this many created ranges of one type side by side (see Workers).
WINDOWS = 8
# An answer slower than this is waited for over a network, as Stripe's (hundreds of ms): only
# then are a page's further reads made side by side and counted as waiting. From a server on
# this machine more threads only take turns for the processor, and the GUI thread's with them.
SLOW_ANSWER = 0.05  # seconds
EPOCH = 1_262_304_000  # 2010-01-01: nothing in Stripe is older (used only to split ranges)
MIN_SPLIT_PAGES = 4  # a window is split when about this many pages are left in it
DAY = 86_400


def oldest_created(
    api: StripeApi, path: str, lte: int, cancelled: Callable[[], bool] = lambda: False
) -> int | None:
    """The day the oldest object at or before `lte` was created (a time at most a day before
    it), or None when there is none. Stripe lists newest first only: a search halving the
    days since EPOCH, one object asked for each time (about 13 requests for 16 years)."""

    def any_at_or_before(moment: int) -> list[dict]:
        return api.list_page(path, limit=1, created={"lte": moment}, cancelled=cancelled)["data"]

    newest = any_at_or_before(lte)
    if not newest:
        return None
    low, high = EPOCH, min(lte, int(newest[0].get("created") or lte))
    # Something was created at or before `high`; nothing before `low` (Stripe began later).
    while high - low > DAY:
        middle = (low + high) // 2
        if any_at_or_before(middle):
            high = middle
        else:
            low = middle + 1
    return low


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


# What a checkpoint keeps of a window (asdict copies deeply, too slow for every page).
_WINDOW_STATE = tuple(f.name for f in fields(Window) if f.name != "busy")


class Windows:
    """The windows of one history import: which to list next, and splitting the largest in
    two when a worker has none. Together they cover the import's range exactly once."""

    def __init__(self, windows: list[Window]) -> None:
        self.windows = windows

    @classmethod
    def from_state(cls, history: HistoryImport) -> Windows:
        if history.windows is not None:
            return cls([Window(**w) for w in history.windows])
        # A new import, or one checkpointed before windows existed: one cursor.
        low = history.oldest if history.gte is None else None
        return cls([Window(history.lte, history.gte, history.after, low=low)])

    def coverage(self, history: HistoryImport) -> float:
        """How much of the import's created range is listed, by time: 0 at the start, 1 when
        done. What is left of a window lies between its floor and its last object listed."""
        floor = history.gte if history.gte is not None else (history.oldest or EPOCH)
        span = history.lte - floor
        if not self.windows:
            return 1.0
        if span <= 0:
            return 0.0
        left = 0
        for window in self.windows:
            top = min(window.last if window.last is not None else window.lte, history.lte)
            left += max(0, top - (window.gte if window.gte is not None else floor))
        return min(1.0, max(0.0, 1.0 - left / span))

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
    """The statistics module's median, without importing that module at the app's start."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class Workers:
    """How many workers list one history import: one, then one more at a time while the
    others mostly wait for answers ((wait + work) / work, rounded, exceeds the workers) and the
    last one added did not make answers slower. Stripe answers a page in hundreds of milliseconds
    however many are asked at once, so an import gets all `most`; a server on this machine
    answers one at a time, and more workers would only take turns with the GUI thread for the
    GIL."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.count = 1
        # (round trip, work) of the latest pages since the last worker started; bounded, as a
        # median over every page of a long import grows costly.
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


class HistoryRun:
    """One mode's history import: up to WINDOWS workers list its windows side by side.

    Every change to the windows and the checkpoint it leads to are made under one lock, in
    the order the writer will commit them, so what a commit records is always what earlier
    commits stored."""

    def __init__(
        self, run: FeedRun, api: StripeApi, live: bool, mode: ModeCheckpoint, windows: Windows
    ) -> None:
        self.feed_run = run
        self.api = api
        self.live = live
        self.mode = mode
        self.windows = windows
        self.history = mode.history
        self.lte = mode.history.lte
        self.lock = threading.Condition()
        self.failure: BaseException | None = None
        self.helpers: list[threading.Thread] = []
        self.workers = Workers(WINDOWS)
        self.finished = False

    def run(self) -> None:
        self._note_coverage()  # where the range's floor is known already
        probe = None
        if self.history.gte is None and self.history.oldest is None:
            # How far back the range reaches, found beside the listing: the first rows come
            # as soon as without it, and how much is done is said once it is known.
            probe = threading.Thread(
                target=self._find_oldest, name=f"{threading.current_thread().name}-oldest"
            )
            probe.start()
        self._work()
        for helper in self.helpers:
            helper.join()
        self.finished = True
        if probe is not None:
            probe.join()
        if self.failure is not None:
            raise self.failure

    def _find_oldest(self) -> None:
        run = self.feed_run
        try:
            oldest = oldest_created(
                self.api,
                run.feed.parent.list_path,
                self.lte,
                lambda: self.finished or self.failure is not None or run.cancelled(),
            )
        except Cancelled:
            return
        except Exception as exc:  # the import goes on; only its share done stays unknown
            log.info("could not find the oldest %s: %s", run.feed.parent.name, exc)
            return
        with self.lock:
            self.history.oldest = oldest if oldest is not None else self.lte
            for window in self.windows.windows:
                if window.gte is None:
                    window.low = self.history.oldest
            self._note_coverage()

    def _note_coverage(self) -> None:
        """How much is listed, once the range's floor is known (its bound, or the oldest
        object's day)."""
        if self.history.gte is not None or self.history.oldest is not None:
            self.feed_run.note_coverage(self.live, self.windows.coverage(self.history))

    def _work(self) -> None:
        pending: list[Future] = []
        try:
            while (window := self._claim(pending)) is not None:
                self._list_page(window, pending)
                while len(pending) > 1:  # one write in flight, as in FeedRun._submit
                    self.feed_run.count(pending.pop(0).result())
                if self.feed_run.cancelled():
                    raise Cancelled()
            for future in pending:
                self.feed_run.count(future.result())
        except BaseException as exc:
            with self.lock:
                if self.failure is None or isinstance(self.failure, EarlierWriteFailed):
                    self.failure = exc  # the write that failed first says why
                self.lock.notify_all()
            for future in pending:
                written = settle_while_stopping(future)
                if written is not None:
                    self.feed_run.count(written)

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
        run.report("Importing history")
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
        # Reading invoices' further lines is waiting for answers too, all but its processor
        # time: counted as work, Stripe's round trips would keep invoices to too few workers.
        # From a server on this machine (engine.slow_answer) it stays work.
        processor: list[float] = []
        reading_lines = time.monotonic()
        children = run.full_children(self.api, objects, processor)
        if run.reads_lines and round_trip >= run.engine.slow_answer:
            round_trip += max(0.0, time.monotonic() - reading_lines - sum(processor))
        # The rows are built before taking the lock: the other workers go on meanwhile.
        run.engine.gui_first.give_way()
        rows = run.page(self.live, self.mode, objects, [], children)
        with self.lock:
            kept = self.windows.record(window, objects, bool(page.get("has_more")))
            self._note_coverage()
            if kept < len(objects):  # the page reached into a window listed by another
                objects = objects[:kept]
                rows = run.page(self.live, self.mode, objects, [], children)
            run.note_pending(self.mode, objects)
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

    def _enqueue(self, rows: PageWrite | None = None) -> Future:
        """Called under the lock: a page's rows (none: the checkpoint alone) with the
        checkpoint as the windows are now."""
        run = self.feed_run
        finished = not self.windows
        if finished:
            self.mode.history = None
            self.mode.backfilled_at = self.lte
        else:
            self.mode.history.windows = self.windows.state()
        rows = rows or run.page(self.live, self.mode, [], [], {})
        return run.enqueue_page(rows, sweep=finished)
