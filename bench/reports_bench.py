"""Reports and alerts at a million registrations: the Stripe overview (13 widgets) evaluated
and drawn to a vector PDF, and 50 alerts evaluated as after a sync."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import Result, median, open_copy
from bench.dashboards_bench import NOW, _build_store

TYPES = (
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


def _registrations() -> int:
    from desktop.store.models import registration_model

    return sum(registration_model(name).select().count() for name in TYPES)


def reports_and_alerts() -> list[Result]:
    from desktop.app import create_qt_application

    create_qt_application([])
    return [_starter_pdf(), _fifty_alerts()]


def _starter_pdf() -> Result:
    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.services.kpi.reports import ReportsService, write_report
    from desktop.views.report_render import draw_report

    db, work = open_copy(_build_store())
    total = _registrations()
    dashboards = DashboardsService(FormulaLibrary(), now=lambda: NOW)
    reports = ReportsService(dashboards, now=lambda: NOW)
    dashboard_id = dashboards.create_starter()
    folder = Path(tempfile.mkdtemp())
    by_period: dict[str, list[float]] = {"this_month": [], "this_year": []}
    drawing: list[float] = []
    for _ in range(3):
        for period, runs in by_period.items():
            began = time.perf_counter()
            report = reports.prepare(dashboard_id=dashboard_id, period=period)
            drawn = time.perf_counter()
            path = write_report(report, "pdf", folder / f"{period}.pdf", draw_report)
            runs.append((time.perf_counter() - began) * 1000)
            drawing.append((time.perf_counter() - drawn) * 1000)
    size = path.stat().st_size
    month, year = median(by_period["this_month"]), median(by_period["this_year"])
    runs = by_period["this_year"] if year >= month else by_period["this_month"]
    db.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return Result(
        "report_starter_pdf",
        max(month, year),
        "ms",
        2000,
        False,
        runs,
        f"Stripe overview, {len(report.specs)} widgets over {total:,} registrations, "
        f"evaluated and drawn to a vector PDF ({size / 1024:,.0f} KiB): this month "
        f"{month:,.0f} ms, this year {year:,.0f} ms (the slower is the figure); drawing "
        f"alone {median(drawing):,.0f} ms",
    )


def _fifty_alerts() -> Result:
    from desktop.services.kpi.alerts import AlertsService
    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.store.models import Alert, DataSource

    db, work = open_copy(_build_store())
    total = _registrations()
    library = FormulaLibrary()
    formulas = [
        w["formula"]
        for w in DashboardsService(library).starter_json()["widgets"]
        if w["kind"] in ("number", "gauge") and "currency" not in w["formula"]
    ]
    # Money in several currencies cannot cross one threshold: each sum watched in USD.
    formulas = [
        re.sub(
            r"(Sum\((?:[^()]|\([^()]*\))*?)livemode = true\)",
            r'\1livemode = true and currency = "usd")',
            f,
        )
        for f in formulas
    ]
    service = AlertsService(library, now=lambda: NOW)
    periods = ("today", "this_month", "last_30_days", "this_year")
    conditions = (("above", 100.0), ("below", 10.0), ("change", 20.0))
    n = 0
    while n < 48:
        formula = formulas[n % len(formulas)]
        period = periods[(n // len(formulas)) % len(periods)]
        condition, threshold = conditions[n % len(conditions)]
        service.create(f"Alert {n}", condition, formula=formula, period=period, threshold=threshold)
        n += 1
    for ds in DataSource.select().limit(2):
        service.create(f"Sync {ds.title}", "sync_failed", data_source_id=ds.id, threshold=30)
    assert Alert.select().count() == 50
    runs, fired = [], 0
    for _ in range(7):
        began = time.perf_counter()
        fired += len(service.evaluate_all())
        runs.append((time.perf_counter() - began) * 1000)
    problems = [a.problem for a in Alert.select() if a.problem]
    assert not problems, problems
    db.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    return Result(
        "alerts_evaluate_50",
        median(runs),
        "ms",
        200,
        False,
        runs,
        f"50 alerts (the starter's {len(formulas)} numbers x above, below, change x four "
        f"periods, and two sync checks) over {total:,} registrations, evaluated and their "
        f"state written in one transaction; {fired} fired on the first run",
    )


BENCHMARKS = {"reports_alerts": reports_and_alerts}
