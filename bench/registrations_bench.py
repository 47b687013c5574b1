"""The registrations view on 1,000,000 registrations in one data source, real widgets offscreen."""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import CACHE, Result, median, open_copy

ROWS = 1_000_000
DATABASE = CACHE / f"registrations-{ROWS}.sqlite"


def _build_database() -> Path:
    """One data source of a million charges made by the simulator's generator, stored the
    way a sync stores them (cached: built once, about a minute)."""
    if DATABASE.exists():
        return DATABASE
    from desktop.services.accounts import AccountsService
    from desktop.services.sync.rows import table_rows
    from desktop.simulator.dataset import Clock, Dataset
    from desktop.store.db import open_database
    from desktop.store.migrations import migrate

    CACHE.mkdir(parents=True, exist_ok=True)
    partial = DATABASE.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = open_database(partial)
    migrate(db)
    accounts = AccountsService()
    account = accounts.create(name="Bench", auth_method="api_key", keyring_entry="", livemode=True)
    (ds,) = accounts.ensure_data_sources(account, ["charges"], include_test_data=True)
    dataset = Dataset(seed=11, size=ROWS, clock=Clock(1_780_000_000, frozen=True))
    rows = table_rows("charges")
    batch = []
    for live in (True, False):
        for obj in dataset.iterate("charges", live):
            batch.append(rows.row(ds.id, obj["id"], None, obj["livemode"], 1, obj))
            if len(batch) == 5_000:
                with db.atomic():
                    rows.upsert(db, batch)
                batch.clear()
    with db.atomic():
        rows.upsert(db, batch)
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    partial.rename(DATABASE)
    return DATABASE


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def registrations_view() -> list[Result]:
    """The app's registrations page itself (filter chips, status line, fitted columns), as a
    user opens it from Data sources, offscreen."""
    source = _build_database()

    from desktop.app import create_qt_application

    create_qt_application([])
    db, work = open_copy(source)
    try:
        return page_figures("registrations")
    finally:
        db.close()
        shutil.rmtree(work.parent, ignore_errors=True)  # a 2 GB copy: never left behind


def page_figures(prefix: str) -> list[Result]:
    """The page's figures on the store the models are bound to (SQLite, or PostgreSQL in
    bench/team_bench.py), named prefix_open_first_paint and so on."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from desktop.services.registrations import RegistrationQuery, RegistrationsService
    from desktop.store.models import DataSource
    from desktop.views.registrations_page import RegistrationsPage

    qt = QApplication.instance()
    ds = DataSource.get(DataSource.data_type == "charges")

    def save_view(ds_id: int, view: dict) -> None:  # as the app saves it (without its writer)
        DataSource.update(view_settings=json.dumps(view)).where(DataSource.id == ds_id).execute()

    rss_before = _rss_mb()
    opens, filters, sorts, ends = [], [], [], []
    for _ in range(5):
        DataSource.update(view_settings=None).where(DataSource.id == ds.id).execute()
        page = RegistrationsPage(
            RegistrationsService(),
            time_zone=lambda: "UTC",
            save_view=save_view,
            runner=_Unrun(),
        )
        page.resize(1400, 800)
        page.show()
        start = time.perf_counter()
        page.open(DataSource.get_by_id(ds.id))
        page.grab()  # painted: the first rows were read and drawn
        opens.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        page.hide_sample.setChecked(True)  # Livemode = True, counted in the status line
        filters.append((time.perf_counter() - start) * 1000)
        model = page.model

        amount = [f.key for f in model.columns].index("amount")
        start = time.perf_counter()
        page.table.sortByColumn(amount, Qt.SortOrder.DescendingOrder)
        page.grab()
        sorts.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        page.table.scrollToBottom()
        page.grab()
        ends.append((time.perf_counter() - start) * 1000)
        page.close()
        page.deleteLater()
        qt.processEvents()
    growth = _rss_mb() - rss_before
    count = model.count
    amounts = []  # a filter on an amount alone, in no one currency: the amount index is
    for _ in range(5):  # keyed (data source, currency, amount)
        query = RegistrationQuery(DataSource.get_by_id(ds.id), time_zone="UTC")
        query.add_text_filter("amount > 100000")
        start = time.perf_counter()
        over = query.count()
        amounts.append((time.perf_counter() - start) * 1000)
    note = (
        f"{ROWS:,} charges in one data source, on the registrations page as the app opens it; "
        f"{count:,} live after the filter"
    )
    return [
        Result(f"{prefix}_open_first_paint", median(opens), "ms", 150, False, opens, note),
        Result(f"{prefix}_livemode_filter_count", median(filters), "ms", 200, False, filters),
        Result(
            f"{prefix}_amount_filter_count",
            median(amounts),
            "ms",
            200,
            False,
            amounts,
            f"amount > 100000 in any currency: {over:,} rows",
        ),
        Result(f"{prefix}_sort_by_amount", median(sorts), "ms", 500, False, sorts),
        Result(f"{prefix}_jump_to_end", median(ends), "ms", 150, False, ends),
        Result(f"{prefix}_memory_growth", growth, "MB", 200, False, [growth]),
    ]


BENCHMARKS = {"registrations_view": registrations_view}


class _Unrun:
    """The page's Runner, running nothing: the figures are the page's own reads and paints,
    as they were when the page took a function that ran nothing (a search is not measured)."""

    def for_view(self, _view) -> _Unrun:
        return self

    def run(self, *_args, **_kwargs) -> None:
        return None

    write = run

    def cancel(self, _key: str) -> None:
        return None

    def busy(self, _key: str) -> bool:
        return False
