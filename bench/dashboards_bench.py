"""Formulas and dashboards at a million registrations: a filtered Sum for this year, a daily
line chart over a year from query to painted, and the Stripe overview refreshed and drawn."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import CACHE, Result, SimulatorProcess, median, open_copy
from bench.registrations_bench import _build_database

# The simulated data's clock: "this year" and "the last 365 days" are counted from here.
NOW = dt.datetime.fromtimestamp(1_780_000_000, dt.UTC)
STORE_SIZE = 200_000  # charges; with the eight other types about a million registrations
STORE = CACHE / f"dashboard-store-{STORE_SIZE}"


def _build_store() -> Path:
    """Every type synced from a simulator of 200,000 charges (cached; about two minutes)."""
    database = STORE / "ledgerboard.sqlite"
    if database.exists():
        return database
    from desktop.headless import sync_with_key
    from desktop.paths import AppPaths

    partial = STORE.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with SimulatorProcess("--size", str(STORE_SIZE), "--seed", "12") as simulator:
        sync_with_key(
            "sk_live_benchmark000001",
            AppPaths.in_dir(partial),
            api_base=simulator.url,
            requests_per_second=1e6,
        )
    from desktop.store.db import open_database

    db = open_database(partial / "ledgerboard.sqlite")
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.rmtree(STORE, ignore_errors=True)
    partial.rename(STORE)
    return database


def formulas_and_dashboards() -> list[Result]:
    from desktop.app import create_qt_application

    create_qt_application([])
    return [_sum_this_year(), _daily_chart(), _starter_refresh()]


def _sum_this_year() -> Result:
    from desktop.services.kpi.binder import Catalog
    from desktop.services.kpi.evaluate import evaluate
    from desktop.services.kpi.periods import period_range

    db, work = open_copy(_build_database())
    start, end = period_range("this_year", "UTC", now=NOW)
    text = 'Sum(Charges, amount, status = "succeeded" and livemode = true)'
    runs = []
    for _ in range(7):
        began = time.perf_counter()
        value = evaluate(text, Catalog(), start, end)  # parse, check, one query
        runs.append((time.perf_counter() - began) * 1000)
    rows = db.execute_sql(
        'SELECT COUNT(*) FROM "registrations_charges" WHERE livemode AND created >= ? '
        "AND created < ?",
        (start, end),
    ).fetchone()[0]
    db.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    usd = value.per_currency.get("usd", 0)
    return Result(
        "formulas_sum_this_year",
        median(runs),
        "ms",
        100,
        False,
        runs,
        f"{text} over 1,000,000 charges, {rows:,} live ones this year; "
        f"{len(value.per_currency)} currencies (USD {usd:,.2f})",
    )


def _daily_chart() -> Result:
    from desktop.services.kpi.dashboards import DashboardsService, SeriesData, WidgetSpec
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.views.dashboard_tiles import make_tile

    db, work = open_copy(_build_database())
    service = DashboardsService(FormulaLibrary(), now=lambda: NOW)
    spec = WidgetSpec(
        kind="line",
        title="Gross volume (USD)",
        formula='Sum(Charges, amount, status = "succeeded" and livemode = true '
        'and currency = "usd")',
        period="last_365_days",
        bucket="day",
        id=1,
    )
    several = WidgetSpec(**{**spec.__dict__, "formula": spec.formula.rsplit(" and ", 1)[0] + ")"})
    tile = make_tile(spec, "UTC")
    tile.resize(900, 360)
    runs, several_runs = [], []
    for _ in range(5):
        began = time.perf_counter()
        result = service.evaluate(spec, "last_365_days")
        tile.set_result(result)
        tile.grab()  # painted
        runs.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        service.evaluate(several, "last_365_days")
        several_runs.append((time.perf_counter() - began) * 1000)
    assert isinstance(result.data, SeriesData)
    points = len(result.data.starts)
    db.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    return Result(
        "formulas_daily_line_chart_year",
        median(runs),
        "ms",
        300,
        False,
        runs,
        f"{points} daily points of a Sum in one currency over 1,000,000 charges, query to "
        f"painted; the same Sum per currency (six lines) takes {median(several_runs):,.0f} ms "
        "to compute",
    )


def _starter_refresh() -> Result:
    from desktop.services.kpi.dashboards import DashboardsService, WidgetError
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.store.models import registration_model
    from desktop.views.dashboard_grid import DashboardGrid
    from desktop.views.dashboard_tiles import make_tile

    db, work = open_copy(_build_store())
    total = sum(
        registration_model(name).select().count()
        for name in (
            "balance_transactions",
            "charges",
            "customers",
            "disputes",
            "fee_details",
            "invoice_lines",
            "invoices",
            "payment_intents",
            "refunds",
        )
    )
    service = DashboardsService(FormulaLibrary(), now=lambda: NOW)
    dashboard = service.create_starter()
    specs = service.widgets(dashboard)
    grid = DashboardGrid()
    grid.resize(1400, 1000)
    grid.set_tiles([make_tile(spec, "UTC") for spec in specs])
    by_period: dict[str, list[float]] = {"this_month": [], "this_year": []}
    for _ in range(3):
        for period, runs in by_period.items():
            began = time.perf_counter()
            results = service.refresh(dashboard, period=period)
            for widget_id, result in results.items():
                grid.tiles[widget_id].set_result(result)
            grid.grab()
            runs.append((time.perf_counter() - began) * 1000)
    month, year = median(by_period["this_month"]), median(by_period["this_year"])
    runs = by_period["this_year"] if year >= month else by_period["this_month"]
    errors = [r.data.message for r in results.values() if isinstance(r.data, WidgetError)]
    assert not errors, errors
    db.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    return Result(
        "dashboard_starter_refresh",
        max(month, year),
        "ms",
        1000,
        False,
        runs,
        f"Stripe overview, {len(specs)} widgets with previous-period comparisons, over "
        f"{total:,} registrations of nine types, queries and painting: this month "
        f"{month:,.0f} ms, this year {year:,.0f} ms (the slower is the figure)",
    )


BENCHMARKS = {"formulas_dashboards": formulas_and_dashboards}
