"""The registrations view on 1,000,000 registrations in one data source, real widgets offscreen."""

from __future__ import annotations

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
    from desktop.services.sync import table_rows
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
                    rows.upsert(db.cursor(), batch)
                batch.clear()
    with db.atomic():
        rows.upsert(db.cursor(), batch)
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    partial.rename(DATABASE)
    return DATABASE


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def registrations_view() -> list[Result]:
    source = _build_database()

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTableView

    from desktop.app import create_qt_application
    from desktop.services.registrations import Filter, RegistrationQuery
    from desktop.store.models import DataSource
    from desktop.views.registrations_model import RegistrationsTableModel

    qt = create_qt_application([])
    db, work = open_copy(source)
    ds = DataSource.get(DataSource.data_type == "charges")
    rss_before = _rss_mb()
    opens, filters, sorts, ends = [], [], [], []
    for _ in range(5):
        start = time.perf_counter()
        query = RegistrationQuery(ds)
        model = RegistrationsTableModel(query, "UTC")
        model.refresh()
        view = QTableView()
        view.resize(1200, 700)
        view.setModel(model)
        view.grab()  # painted: the first rows were read and drawn
        opens.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        query.filters = [Filter("livemode", "is_true")]
        model.refresh()
        filters.append((time.perf_counter() - start) * 1000)

        amount = [f.key for f in model.columns].index("amount")
        start = time.perf_counter()
        model.sort(amount, Qt.SortOrder.DescendingOrder)
        view.grab()
        sorts.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        view.scrollToBottom()
        view.grab()
        ends.append((time.perf_counter() - start) * 1000)
        view.deleteLater()
        qt.processEvents()
    growth = _rss_mb() - rss_before
    count = model.count
    db.close()
    shutil.rmtree(work.parent, ignore_errors=True)  # a 2 GB copy: never left behind
    note = f"{ROWS:,} charges in one data source; {count:,} live after the filter"
    return [
        Result("registrations_open_first_paint", median(opens), "ms", 150, False, opens, note),
        Result("registrations_livemode_filter_count", median(filters), "ms", 200, False, filters),
        Result("registrations_sort_by_amount", median(sorts), "ms", 500, False, sorts),
        Result("registrations_jump_to_end", median(ends), "ms", 150, False, ends),
        Result("registrations_memory_growth", growth, "MB", 200, False, [growth]),
    ]


BENCHMARKS = {"registrations_view": registrations_view}
