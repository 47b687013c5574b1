"""Team mode: PostgreSQL side by side with SQLite in one run.

- team_ingest: all nine types from the unthrottled simulator, into PostgreSQL and into SQLite
  in turns (objects/s, and the ratio).
- team_reads: the million-registration targets on PostgreSQL (the registrations page, a KPI
  Sum for this year, the starter dashboard), each beside the same figure on SQLite, and ten
  viewers refreshing the starter dashboard at once while a sync writes into the same database.

The server is the tests' throwaway one (tests/postgres.py) started durable (fsync on; commits
not waited for, as SQLite's WAL with synchronous=NORMAL does not wait for the disk either).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import Result, SimulatorProcess, Stopwatch, median, open_copy
from desktop.collector import settle_for_imports
from desktop.headless import sync_with_key
from desktop.paths import AppPaths

LIVE_KEY = "sk_live_benchmark000001"


def _server():
    from tests.postgres import PostgresServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"team benchmarks need PostgreSQL: {reason}")
    server = PostgresServer(durable=True)
    server.start()
    return server


def ingest() -> Result:
    settle_for_imports()
    server = _server()
    pg, sqlite = [], []
    try:
        with SimulatorProcess("--size", "30000", "--seed", "3", "--warm", "all") as simulator:
            for _ in range(3):
                for runs, on_postgres in ((pg, True), (sqlite, False)):
                    with tempfile.TemporaryDirectory() as data_dir:
                        paths = AppPaths.in_dir(data_dir)
                        url = server.new_database() if on_postgres else None
                        with Stopwatch() as watch:
                            summary = sync_with_key(
                                LIVE_KEY,
                                paths.with_database(url),
                                api_base=simulator.url,
                                requests_per_second=1e6,
                            )
                        rows = sum(summary["rows"].values())
                        runs.append(rows / watch.seconds)
                        if url:
                            server.drop_database(url)
    finally:
        server.stop()
    return Result(
        "team_ingest_postgresql",
        median(pg),
        "objects/s",
        10_000,
        True,
        pg,
        f"{rows:,} rows of nine types per run; SQLite in the same run {median(sqlite):,.0f} "
        f"objects/s, PostgreSQL at {median(pg) / median(sqlite):.2f} × SQLite's",
    )


def reads() -> list[Result]:
    from bench.dashboards_bench import NOW, _build_store
    from bench.registrations_bench import _build_database, page_figures
    from desktop.app import create_qt_application
    from desktop.store.copy import copy_store
    from desktop.store.dialect import SqliteStore
    from desktop.store.opening import open_store

    create_qt_application([])
    server = _server()
    results: list[Result] = []
    try:
        # The registrations page over 1,000,000 charges: SQLite, then the same rows in PG.
        db, work = open_copy(_build_database())
        sqlite_page = page_figures("sqlite_registrations")
        db.close()
        url = server.new_database()
        target = open_store(url)
        source = SqliteStore(str(work))
        with Stopwatch() as copying:
            copy_store(source, target)
        source.close()
        shutil.rmtree(work.parent, ignore_errors=True)
        target.execute_sql("ANALYZE")
        pg_page = page_figures("team_registrations")
        for mine, theirs in zip(pg_page, sqlite_page, strict=True):
            mine.note = (mine.note + "; " if mine.note else "") + (
                f"SQLite {theirs.value:,.1f} {theirs.unit}"
            )
        pg_page[0].note += f"; copied into PostgreSQL in {copying.seconds:,.0f} s"
        results += pg_page
        target.close()
        server.drop_database(url)

        # KPI Sum and the starter dashboard over the nine types' ~1,000,000 registrations.
        db, work = open_copy(_build_store())
        sqlite_kpi = _sum_this_year(NOW)
        sqlite_starter = _starter(NOW)
        db.close()
        url = server.new_database()
        target = open_store(url)
        source = SqliteStore(str(work))
        copy_store(source, target)
        source.close()
        shutil.rmtree(work.parent, ignore_errors=True)
        target.execute_sql("ANALYZE")
        kpi = _sum_this_year(NOW)
        starter = _starter(NOW)
        results.append(
            Result(
                "team_kpi_sum_this_year",
                median(kpi),
                "ms",
                100,
                False,
                kpi,
                f"SQLite {median(sqlite_kpi):,.1f} ms",
            )
        )
        results.append(
            Result(
                "team_starter_dashboard_refresh",
                median(starter),
                "ms",
                1000,
                False,
                starter,
                f"this year, queries only; SQLite {median(sqlite_starter):,.0f} ms",
            )
        )
        results.append(_viewers_during_a_sync(url, NOW))
        target.close()
        server.drop_database(url)
    finally:
        server.stop()
    return results


def _sum_this_year(now) -> list[float]:
    from desktop.services.kpi.binder import Catalog
    from desktop.services.kpi.evaluate import evaluate
    from desktop.services.kpi.periods import period_range

    start, end = period_range("this_year", "UTC", now=now)
    text = 'Sum(Charges, amount, status = "succeeded" and livemode = true)'
    runs = []
    for _ in range(7):
        began = time.perf_counter()
        evaluate(text, Catalog(), start, end)
        runs.append((time.perf_counter() - began) * 1000)
    return runs


def _starter(now, runs: int = 3) -> list[float]:
    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary

    service = DashboardsService(FormulaLibrary(), now=lambda: now)
    dashboard = service.create_starter(f"Stripe overview {time.monotonic()}")
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        service.refresh(dashboard, period="this_year")
        times.append((time.perf_counter() - began) * 1000)
    return times


def _viewers_during_a_sync(url: str, now) -> Result:
    """Ten viewers (threads, each with its own connection) refresh the starter dashboard
    over and over while a sync of a second account writes into the same database."""
    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary

    service = DashboardsService(FormulaLibrary(), now=lambda: now)
    dashboard = service.create_starter("Viewers")
    syncing = threading.Event()
    done = threading.Event()
    worst: list[float] = []
    refreshes = [0]
    lock = threading.Lock()

    def viewer() -> None:
        syncing.wait()
        mine = 0.0
        while not done.is_set():
            began = time.perf_counter()
            service.refresh(dashboard, period="this_year")
            mine = max(mine, time.perf_counter() - began)
            with lock:
                refreshes[0] += 1
        with lock:
            worst.append(mine * 1000)

    threads = [threading.Thread(target=viewer) for _ in range(10)]
    for thread in threads:
        thread.start()
    with (
        SimulatorProcess("--size", "20000", "--seed", "5", "--warm", "all") as simulator,
        tempfile.TemporaryDirectory() as data_dir,
    ):
        syncing.set()
        with Stopwatch() as watch:
            summary = sync_with_key(
                "sk_live_benchmarkviewer1",
                AppPaths.in_dir(data_dir).with_database(url),
                api_base=simulator.url,
                requests_per_second=1e6,
            )
        done.set()
    for thread in threads:
        thread.join()
    rows = sum(summary["rows"].values())
    return Result(
        "team_ten_viewers_refresh_during_sync",
        max(worst),
        "ms",
        2000,
        False,
        sorted(worst),
        f"the slowest refresh of any viewer, {refreshes[0]} refreshes of the starter dashboard "
        f"(this year) while a sync wrote {rows:,} rows in {watch.seconds:,.0f} s",
    )


BENCHMARKS = {"team_ingest": ingest, "team_reads": reads}
