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
        results.append(_viewers_during_a_sync(url, NOW, every=2.0))
        results.append(_viewers_during_a_sync(url, NOW, every=0))
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


def _viewer(url: str, now, ready, go, done, results, every: float) -> None:
    """One viewer, in its own process as on its own computer: its own connection and its own
    interpreter (threads of one process would take turns for one GIL, which ten desktops do
    not). From `go` until `done` it refreshes the starter dashboard at each tick of `every`
    seconds of the wall clock, as every viewer does when its poll (every 2 s) sees a sync's
    commit: all ten at once. With `every` 0, over and over, as fast as it can."""
    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.store.models import Dashboard
    from desktop.store.opening import open_store

    db = open_store(url)
    service = DashboardsService(FormulaLibrary(), now=lambda: now)
    dashboard = Dashboard.get(Dashboard.title == "Viewers")
    service.refresh(dashboard, period="this_year")  # connected and warmed, as an open app is
    ready.release()
    go.wait()
    worst, count = 0.0, 0
    while not done.is_set():
        if every:  # wait for the next tick, which every viewer's clock shares
            done.wait(every - time.time() % every)
            if done.is_set():
                break
        began = time.perf_counter()
        service.refresh(dashboard, period="this_year")
        worst = max(worst, time.perf_counter() - began)
        count += 1
    db.close()
    results.put((worst * 1000, count))


def _viewers_during_a_sync(url: str, now, every: float = 2.0) -> Result:
    """Ten viewers (processes, each with its own connection) refresh the starter dashboard
    at once, every `every` seconds (0: over and over), while a sync of a second account
    writes into the same database."""
    import multiprocessing

    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.store.models import Dashboard

    if not Dashboard.select().where(Dashboard.title == "Viewers").exists():
        DashboardsService(FormulaLibrary(), now=lambda: now).create_starter("Viewers")
    spawn = multiprocessing.get_context("spawn")
    ready, go, done, results = spawn.Semaphore(0), spawn.Event(), spawn.Event(), spawn.Queue()
    arguments = (url, now, ready, go, done, results, every)
    viewers = [spawn.Process(target=_viewer, args=arguments) for _ in range(10)]
    for viewer in viewers:
        viewer.start()
    for _ in viewers:
        ready.acquire()
    with (
        SimulatorProcess("--size", "20000", "--seed", "5", "--warm", "all") as simulator,
        tempfile.TemporaryDirectory() as data_dir,
    ):
        go.set()
        with Stopwatch() as watch:
            summary = sync_with_key(
                f"sk_live_benchmarkviewer{2 if every else 3}",  # a new account each time
                AppPaths.in_dir(data_dir).with_database(url),
                api_base=simulator.url,
                requests_per_second=1e6,
            )
        done.set()
    outcomes = [results.get() for _ in viewers]
    for viewer in viewers:
        viewer.join()
    worst = sorted(ms for ms, _count in outcomes)
    rows = sum(summary["rows"].values())
    return Result(
        "team_ten_viewers_refresh_during_sync"
        if every
        else "team_ten_viewers_over_and_over_during_sync",
        max(worst),
        "ms",
        2000,
        False,
        worst,
        ("all ten at once every 2 s; " if every else "each refreshing again at once; ")
        + "the slowest refresh of any of ten viewer processes, "
        f"{sum(n for _ms, n in outcomes)} refreshes of the starter dashboard (this year) while "
        f"a sync wrote {rows:,} rows in {watch.seconds:,.0f} s; on this machine's {os.cpu_count()} "
        f"cores, shared by the server, the sync and every viewer",
    )


BENCHMARKS = {"team_ingest": ingest, "team_reads": reads}
