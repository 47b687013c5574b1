"""History imports in windows: created ranges listed side by side, each object exactly once."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.services.sync.checkpoint import HistoryImport
from desktop.services.sync.history import Window, Windows, Workers
from desktop.store.models import registration_model
from tests.syncing import store_differences

PAGE = 100


class StripeList:
    """Stripe's list semantics over (id, created) pairs: newest first, `created` bounds, a
    cursor that continues after an object whatever the bounds."""

    def __init__(self, created: list[int]) -> None:
        objects = [{"id": f"ob_{n:06d}", "created": c} for n, c in enumerate(created)]
        self.ordered = sorted(objects, key=lambda o: (o["created"], o["id"]), reverse=True)
        self.position = {o["id"]: n for n, o in enumerate(self.ordered)}

    def page(self, lte: int, gte: int | None, after: str | None) -> tuple[list[dict], bool]:
        start = self.position[after] + 1 if after else 0
        matching = [
            o
            for o in self.ordered[start:]
            if o["created"] <= lte and (gte is None or o["created"] >= gte)
        ]
        return matching[:PAGE], len(matching) > PAGE


def import_in_windows(
    created: list[int],
    lte: int,
    gte: int | None,
    workers: int,
    rng: random.Random,
    kills: float = 0.02,
) -> tuple[list[str], int]:
    """Workers claim windows, ask for pages and record the answers in a random interleaving,
    and the import is now and then killed and resumed from its state. Returns the ids
    recorded, and how many pages were asked for. The share of the range listed only grows,
    through kills too, and is whole at the end."""
    stripe = StripeList(created)
    history = HistoryImport(lte, gte)
    windows = Windows.from_state(history)
    covered = windows.coverage(history)
    recorded: list[str] = []
    asked = 0
    in_flight: dict[int, tuple[Window, list[dict], bool]] = {}  # worker -> its page
    holding: dict[int, Window] = {}
    while windows:
        worker = rng.randrange(workers)
        if rng.random() < kills:  # killed: pages on their way are lost; resume from the state
            windows = Windows.from_state(HistoryImport(lte, gte, windows.state()))
            in_flight.clear()
            holding.clear()
            continue
        if worker in in_flight:  # the answer arrives
            window, objects, has_more = in_flight.pop(worker)
            kept = windows.record(window, objects, has_more)
            recorded += [o["id"] for o in objects[:kept]]
            del holding[worker]
            assert windows.coverage(history) >= covered
            covered = windows.coverage(history)
        elif worker in holding:  # ask for the next page of its window, as bounded now
            window = holding[worker]
            asked += 1
            in_flight[worker] = (window, *stripe.page(window.lte, window.gte, window.after))
        else:
            window, _split = windows.claim()
            if window is not None:
                holding[worker] = window
    assert windows.coverage(history) == 1.0
    return recorded, asked


@settings(max_examples=120, deadline=None)
@given(
    count=st.integers(0, 2500),
    spread=st.integers(1, 100_000_000),
    recent=st.floats(0, 1),
    burst=st.floats(0, 0.5),
    since=st.one_of(st.none(), st.integers(1_550_000_000, 1_680_000_000)),
    workers=st.integers(1, 6),
    seed=st.integers(0, 2**32),
)
def test_every_object_in_range_is_recorded_exactly_once(
    count, spread, recent, burst, since, workers, seed
):
    """Objects spread over up to three years, a share of them recent (a business that grew,
    so the first pages overestimate what is left and pages on their way cross splits), some
    in bursts within the same seconds (Stripe orders those by id), with or without a history
    limit."""
    rng = random.Random(seed)
    top = 1_600_000_000 + spread

    def created() -> int:
        draw = rng.random()
        if draw < burst:
            return 1_650_000_000 + rng.randrange(100)
        if draw < burst + recent * (1 - burst):
            return top - rng.randrange(max(1, spread // 200))
        return 1_600_000_000 + rng.randrange(spread)

    stamps = [created() for _ in range(count)]
    lte = 1_710_000_000
    recorded, _asked = import_in_windows(stamps, lte, since, workers, rng)
    expected = sorted(
        f"ob_{n:06d}" for n, c in enumerate(stamps) if c <= lte and (since is None or c >= since)
    )
    assert sorted(recorded) == expected


def test_a_page_that_crosses_a_split_keeps_only_its_own_objects():
    """A dense recent day, then a sparse past: the next page, asked before the split, reaches
    below it; those objects are the new window's."""
    stripe = StripeList(
        [1_000_000 - n for n in range(100)] + [500_000 - 5_000 * n for n in range(60)]
    )
    windows = Windows.from_state(HistoryImport(1_000_000, 0))
    window, _ = windows.claim()
    objects, has_more = stripe.page(window.lte, window.gte, window.after)
    assert windows.record(window, objects, has_more) == 100
    window, _ = windows.claim()
    on_its_way = stripe.page(window.lte, window.gte, window.after)
    older, split = windows.claim()
    assert split and window.gte == older.lte + 1
    kept = windows.record(window, *on_its_way)
    assert 0 < kept < len(on_its_way[0])
    assert min(o["created"] for o in on_its_way[0][:kept]) >= window.gte
    assert window not in windows.windows  # done: what is older is the new window's
    listed = [o["id"] for o in on_its_way[0][:kept]]
    while True:
        objects, has_more = stripe.page(older.lte, older.gte, older.after)
        listed += [o["id"] for o in objects[: windows.record(older, objects, has_more)]]
        if older not in windows.windows:
            break
        windows.claim()
    assert sorted(listed) == sorted(o["id"] for o in stripe.ordered[100:])


def test_parallel_windows_ask_for_few_more_pages_than_one_cursor():
    rng = random.Random(5)
    created = [1_600_000_000 + rng.randrange(30_000_000) for _ in range(20_000)]
    recorded, asked = import_in_windows(created, 1_700_000_000, None, 4, random.Random(9), kills=0)
    assert len(recorded) == 20_000
    one_cursor = math.ceil(20_000 / PAGE)
    assert asked <= one_cursor * 1.1, (asked, one_cursor)


def test_a_checkpoint_from_before_windows_resumes_on_its_cursor():
    windows = Windows.from_state(
        HistoryImport.from_state({"lte": 1_700_000_000, "gte": None, "after": "ch_123"})
    )
    (window,) = windows.windows
    assert (window.lte, window.gte, window.after) == (1_700_000_000, None, "ch_123")


def test_stripe_like_latency_is_hidden_by_listing_windows_side_by_side(make_simulator, harness_for):
    """Each answer takes 30 ms, as Stripe's take hundreds: one cursor would wait for every
    page in turn. The import lists several ranges of charges at once and stays exact."""
    simulator = make_simulator(size=6000, seed=8, latency=0.03)
    harness = harness_for(simulator, types=("charges",), include_test_data=False)
    (result,) = harness.sync()
    assert result.status == "up_to_date", result.message
    assert simulator.most_at_once["/v1/charges"] >= 3
    assert store_differences(harness, modes=(True,)) == []
    rows = registration_model("charges").select().count()
    pages = math.ceil(rows / PAGE)
    # Beyond the pages, the events cursor and poll, few requests: each window ends on a page
    # not quite full, and splitting a history of unknown age tries a few empty ranges first;
    # the search for the oldest object's day asks for one object at a time, 14 times here.
    assert harness.stats.requests <= pages + 2 + 14 + 10, (harness.stats.requests, pages)


def grow(workers: Workers, answer, work: float, pages: int = 200) -> int:
    """Feed `pages` page timings, the round trip given by answer(workers now)."""
    for _ in range(pages):
        workers.page_done(answer(workers.count), work)
    return workers.count


def test_workers_grow_while_answers_are_slow_however_many_ask():
    """Stripe: a page comes in 300 ms whether one or eight are asked at once."""
    assert grow(Workers(8), lambda _count: 0.3, work=0.01) == 8


def test_workers_stop_growing_when_answers_come_one_at_a_time():
    """A server on this machine answers one request after the other: with two asking, each
    waits for the other's answer too, and a third would only add turns for the GIL."""
    assert grow(Workers(8), lambda count: 0.012 * count, work=0.005) == 2


def test_one_worker_when_the_work_is_the_wait():
    """Answers that come faster than a page is stored: another worker would not help."""
    assert grow(Workers(8), lambda _count: 0.002, work=0.008) == 1


def test_workers_judge_by_the_latest_answers():
    """Answers that turn slow in a long import (Stripe under load, a slower network) bring
    workers in after a few pages, not after as many pages again as came before."""
    workers = Workers(8)
    assert grow(workers, lambda _count: 0.002, work=0.008, pages=2000) == 1
    assert grow(workers, lambda _count: 0.3, work=0.008, pages=40) > 1


def test_the_lines_of_a_pages_invoices_are_read_side_by_side(make_simulator, harness_for):
    """Stripe embeds an invoice's first ten lines; with answers as slow as Stripe's, the rest of
    each invoice on a page are read at once (sync.READERS), not one invoice after another, and
    the import stays exact. From a server on this machine, one after another (SLOW_ANSWER)."""
    nearby = make_simulator(size=1500, seed=8)
    harness = harness_for(nearby, types=("invoices", "invoice_lines"), include_test_data=False)
    # Nearby means faster than the threshold, on a machine of any speed or load: here the
    # threshold is a second, far above a loaded machine's local answers, and far below the
    # 80 ms answers of the second half's default 50 ms threshold.
    harness.engine.slow_answer = 1.0
    harness.sync()
    assert nearby.most_at_once["/v1/invoices/*/lines"] == 1
    assert store_differences(harness, modes=(True,)) == []

    simulator = make_simulator(size=6000, seed=8, latency=0.08)
    harness = harness_for(simulator, types=("invoices", "invoice_lines"), include_test_data=False)
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}, [r.message for r in results]
    assert simulator.most_at_once["/v1/invoices/*/lines"] >= 3
    # Waiting for lines is waiting for answers: more pages of invoices are listed at once.
    assert simulator.most_at_once["/v1/invoices"] >= 2
    assert store_differences(harness, modes=(True,)) == []


def test_the_share_listed_follows_the_created_range_from_the_oldest_object():
    """A year of one object a day from the oldest: after half the days are listed (newest
    first), half the import is done, though the range could reach back to 2010."""
    day = 86_400
    top = 1_700_000_000
    stripe = StripeList([top - n * day for n in range(366)])
    history = HistoryImport(top, None, oldest=top - 365 * day)
    windows = Windows.from_state(history)
    assert windows.coverage(history) == 0.0
    window, _ = windows.claim()
    objects, has_more = stripe.page(window.lte, window.gte, window.after)
    windows.record(window, objects, has_more)
    assert windows.coverage(history) == pytest.approx(99 / 365, abs=0.01)
    window, _ = windows.claim()
    objects, has_more = stripe.page(window.lte, window.gte, window.after)
    windows.record(window, objects[:83], True)
    assert windows.coverage(history) == pytest.approx(0.5, abs=0.01)
