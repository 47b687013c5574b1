"""Dashboards and their widgets: persistence, JSON files, templates and evaluation. No Qt.

A dashboard is a grid of widgets twelve columns wide. A widget is a formula, a kind (number,
line, area, bar, table, gauge), a period (its own, or the dashboard's) and display settings.
Evaluating a widget gives plain data the views draw: a number with its change against the
previous period, a series over time, or values grouped by a field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import peewee as pw

from desktop.catalog import DATA_TYPES, minor_unit_divisor
from desktop.localization import number, short_number
from desktop.paths import resource_path
from desktop.services.kpi.binder import Checked, DrillDown, check, drill_downs
from desktop.services.kpi.evaluate import Evaluator, KpiValue, Slots
from desktop.services.kpi.library import FormulaLibrary
from desktop.services.kpi.periods import (
    ALL_TIME,
    is_period,
    period_range,
    previous_range,
)
from desktop.services.kpi.syntax import FormulaError
from desktop.services.query import FilterCompiler
from desktop.store.models import Account, Dashboard, DataSource, Widget, utc_now
from desktop.store.writer import write_with

GRID_COLUMNS = 12
_LIVE_ONLY = re.compile(r"\blivemode\s*=\s*true\b", re.IGNORECASE)
WIDGET_KINDS = {
    "number": "Number",
    "line": "Line chart",
    "area": "Area chart",
    "bar": "Bar chart",
    "table": "Table / leaderboard",
    "gauge": "Gauge",
}
FORMAT_STYLES = {"number": "Number", "money": "Money", "percent": "Percent", "duration": "Duration"}
BUCKETS = {"day": "Day", "week": "Week", "month": "Month"}
DEFAULT_SIZE = {
    "number": (3, 2),
    "gauge": (3, 2),
    "line": (6, 4),
    "area": (6, 4),
    "bar": (6, 4),
    "table": (6, 4),
}
FILE_FORMAT = "ledgerboard-dashboard"
MAX_BUCKETS = 800  # a daily chart over two years; longer ranges are drawn by week or month


class DashboardError(ValueError):
    """A dashboard file or change that cannot be used; the message is for the user."""


# --- display settings ----------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    style: str = "number"  # number, money, percent, duration
    decimals: int = 0
    prefix: str = ""
    suffix: str = ""
    lower_is_better: bool = False

    @classmethod
    def from_json(cls, data) -> Format:
        data = data if isinstance(data, dict) else {}
        style = data.get("style") if data.get("style") in FORMAT_STYLES else "number"
        decimals = data.get("decimals", 0)
        decimals = min(max(int(decimals), 0), 6) if isinstance(decimals, int | float) else 0
        return cls(
            style,
            decimals,
            str(data.get("prefix", ""))[:20],
            str(data.get("suffix", ""))[:20],
            bool(data.get("lower_is_better", False)),
        )

    def to_json(self) -> dict:
        return {
            "style": self.style,
            "decimals": self.decimals,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "lower_is_better": self.lower_is_better,
        }

    def text(
        self, value: float | None, currency: str | None = None, *, compact: bool = False
    ) -> str:
        """The value as the user reads it: 12,345.60 USD, 4.2 %, 3 h 05 min; '–' when empty.
        `compact` abbreviates a large number where room is short (23.6k DKK, 1.25M), always
        keeping its currency."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        if self.style == "duration":
            body = _duration(value)
        elif self.style == "percent":
            body = f"{number(value, self.decimals)} %"
        else:
            decimals = self.decimals
            if self.style == "money" and currency and minor_unit_divisor(currency) == 1:
                decimals = 0
            body = compact_number(value) if compact else number(value, decimals)
            if self.style == "money" and currency:
                body = f"{body} {currency.upper()}"
        return f"{self.prefix}{body}{self.suffix}"


def compact_number(value: float) -> str:
    """12,345.6 -> '12.3k', 1,250,000 -> '1.25M'; below a thousand as a whole number."""
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{short_number(float(f'{value / limit:.3g}'))}{suffix}"
    return number(value)


def _duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(round(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    if minutes:
        return f"{sign}{minutes} min {secs:02d} s"
    return f"{sign}{secs} s"


@dataclass(frozen=True)
class WidgetSpec:
    """A widget as stored: what to compute and how to show it, and where it sits."""

    kind: str
    title: str
    formula: str
    period: str | None = None  # None: the dashboard's period
    format: Format = field(default_factory=Format)
    target: float | None = None
    bucket: str = "day"
    compare: bool = False
    group_by: str | None = None
    top: int = 10
    x: int = 0
    y: int = 0
    w: int = 3
    h: int = 2
    id: int | None = None

    def config(self) -> dict:
        return {
            "period": self.period,
            "format": self.format.to_json(),
            "target": self.target,
            "bucket": self.bucket,
            "compare": self.compare,
            "group_by": self.group_by,
            "top": self.top,
        }

    @classmethod
    def from_parts(cls, kind, title, formula, config, x=0, y=0, w=None, h=None, id=None):
        """A spec from stored or imported parts; unknown or wrong settings fall back to defaults."""
        if kind not in WIDGET_KINDS:
            raise DashboardError(f"Unknown widget type {kind!r}; known: {', '.join(WIDGET_KINDS)}")
        if not isinstance(formula, str) or not formula.strip():
            raise DashboardError(f"The widget {title!r} has no formula.")
        config = config if isinstance(config, dict) else {}
        period = config.get("period")
        target = config.get("target")
        top = config.get("top", 10)
        default_w, default_h = DEFAULT_SIZE[kind]
        w = _int(w, default_w, 1, GRID_COLUMNS)
        return cls(
            kind=kind,
            title=str(title or WIDGET_KINDS[kind])[:120],
            formula=formula,
            period=period if isinstance(period, str) and is_period(period) else None,
            format=Format.from_json(config.get("format")),
            target=float(target)
            if isinstance(target, int | float) and not isinstance(target, bool)
            else None,
            bucket=config.get("bucket") if config.get("bucket") in BUCKETS else "day",
            compare=bool(config.get("compare", False)),
            group_by=str(config["group_by"]) if config.get("group_by") else None,
            top=_int(top, 10, 1, 100),
            x=_int(x, 0, 0, GRID_COLUMNS - w),
            y=_int(y, 0, 0, 1_000),
            w=w,
            h=_int(h, default_h, 1, 12),
            id=id,
        )


def _int(value, default: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(min(max(int(value), low), high))


# --- evaluated data ------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberData:
    value: KpiValue
    previous: KpiValue | None
    change: float | None  # percent against the previous period, None when it cannot be said
    status: str | None  # good, warning, bad against the target; None without one
    progress: float | None  # value / target, for the gauge


@dataclass(frozen=True)
class SeriesData:
    starts: list[int]  # bucket starts, Unix seconds
    series: dict[str | None, list[float | None]]  # per currency (None: a plain number)
    previous: dict[str | None, list[float | None]]  # the previous period, bucket by bucket
    bucket: str


@dataclass(frozen=True)
class GroupsData:
    rows: list[tuple[object, str | None, float | None]]  # (group, currency, value), best first
    field_label: str


@dataclass(frozen=True)
class WidgetError:
    message: str


@dataclass(frozen=True)
class WidgetResult:
    spec: WidgetSpec
    data: NumberData | SeriesData | GroupsData | WidgetError
    start: int
    end: int
    drill: list[DrillDown] = field(default_factory=list)


# --- the service ---------------------------------------------------------------------------


class DashboardsService:
    def __init__(
        self,
        library: FormulaLibrary,
        writer=None,
        *,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.library = library
        self.writer = writer
        self.now = now or (lambda: dt.datetime.now(dt.UTC))

    def _write(self, work):
        return write_with(self.writer, work)

    # dashboards

    def dashboards(self) -> list[Dashboard]:
        return list(Dashboard.select().order_by(Dashboard.position, Dashboard.id))

    def dashboard(self, dashboard_id: int) -> Dashboard:
        return Dashboard.get_by_id(dashboard_id)

    def settings(self, dashboard: Dashboard) -> dict:
        try:
            data = json.loads(dashboard.settings or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        period = data.get("period")
        refresh = data.get("refresh_minutes")
        return {
            "period": period if isinstance(period, str) and is_period(period) else "this_month",
            "refresh_minutes": _int(refresh, 5, 1, 24 * 60),
            "slideshow_seconds": _int(data.get("slideshow_seconds"), 30, 5, 3_600),
        }

    def create(self, title: str, settings: dict | None = None) -> int:
        title = title.strip() or "Untitled dashboard"

        def write() -> int:
            position = Dashboard.select().count()
            return Dashboard.create(
                title=title[:120],
                position=position,
                settings=json.dumps(settings or {"period": "this_month", "refresh_minutes": 5}),
            ).id

        return self._write(write)

    def update(self, dashboard_id: int, *, title: str | None = None, **settings) -> None:
        def write() -> None:
            dashboard = Dashboard.get_by_id(dashboard_id)
            merged = {**self.settings(dashboard), **settings}
            changes = {"settings": json.dumps(merged), "updated_at": utc_now()}
            if title is not None and title.strip():
                changes["title"] = title.strip()[:120]
            Dashboard.update(**changes).where(Dashboard.id == dashboard_id).execute()

        self._write(write)

    def delete(self, dashboard_id: int) -> None:
        self._write(lambda: Dashboard.delete().where(Dashboard.id == dashboard_id).execute())

    # widgets

    def widgets(self, dashboard_id: int) -> list[WidgetSpec]:
        specs = []
        for row in Widget.select().where(Widget.dashboard == dashboard_id).order_by(Widget.id):
            try:
                config = json.loads(row.config or "{}")
            except ValueError:
                config = {}
            try:
                specs.append(
                    WidgetSpec.from_parts(
                        row.kind, row.title, row.formula, config, row.x, row.y, row.w, row.h, row.id
                    )
                )
            except DashboardError:
                continue  # a row no version of the app writes
        return specs

    def add_widget(self, dashboard_id: int, spec: WidgetSpec) -> int:
        def write() -> int:
            x, y = spec.x, spec.y
            if spec.id is None and spec.y == 0 and spec.x == 0:
                x, y = self._free_place(dashboard_id, spec.w, spec.h)
            return Widget.create(
                dashboard=dashboard_id,
                kind=spec.kind,
                title=spec.title,
                formula=spec.formula,
                config=json.dumps(spec.config()),
                x=x,
                y=y,
                w=spec.w,
                h=spec.h,
            ).id

        return self._write(write)

    def _free_place(self, dashboard_id: int, w: int, h: int) -> tuple[int, int]:
        """The first cell, in reading order, where a w × h widget fits beside the others: a
        new widget fills a gap before it goes below everything."""
        taken = [
            (r.x, r.y, r.w, r.h) for r in Widget.select().where(Widget.dashboard == dashboard_id)
        ]
        w = min(max(w, 1), GRID_COLUMNS)
        bottom = max((y + hh for _x, y, _w, hh in taken), default=0)
        for y in range(bottom + 1):
            for x in range(GRID_COLUMNS - w + 1):
                if not any(
                    x < ox + ow and ox < x + w and y < oy + oh and oy < y + h
                    for ox, oy, ow, oh in taken
                ):
                    return x, y
        return 0, bottom

    def update_widget(self, spec: WidgetSpec) -> None:
        def write() -> None:
            Widget.update(
                kind=spec.kind,
                title=spec.title,
                formula=spec.formula,
                config=json.dumps(spec.config()),
                x=spec.x,
                y=spec.y,
                w=spec.w,
                h=spec.h,
            ).where(Widget.id == spec.id).execute()

        self._write(write)

    def place_widgets(self, places: dict[int, tuple[int, int, int, int]]) -> None:
        """Move and resize widgets at once: {widget id: (x, y, w, h)}."""

        def write() -> None:
            for widget_id, (x, y, w, h) in places.items():
                Widget.update(x=x, y=y, w=w, h=h).where(Widget.id == widget_id).execute()

        self._write(write)

    def remove_widget(self, widget_id: int) -> None:
        self._write(lambda: Widget.delete().where(Widget.id == widget_id).execute())

    # files and templates

    def export_json(self, dashboard_id: int) -> dict:
        dashboard = Dashboard.get_by_id(dashboard_id)
        widgets = self.widgets(dashboard_id)
        used = {
            name
            for name in self.library.names()
            if any(f"[{name.lower()}]" in w.formula.lower() for w in widgets)
        }
        return {
            "format": FILE_FORMAT,
            "version": 1,
            "title": dashboard.title,
            "settings": self.settings(dashboard),
            "formulas": [
                {"name": name, "text": self.library.text_of(name)} for name in sorted(used)
            ],
            "widgets": [
                {
                    "kind": w.kind,
                    "title": w.title,
                    "formula": w.formula,
                    "config": w.config(),
                    "x": w.x,
                    "y": w.y,
                    "w": w.w,
                    "h": w.h,
                }
                for w in widgets
            ],
        }

    def import_json(self, text: str | bytes, *, title: str | None = None) -> int:
        """A new dashboard from an exported file; DashboardError says what is wrong with it."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
            raise DashboardError(f"The file is not valid JSON{where}: it may be damaged.") from None
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise DashboardError("This file is not a Ledgerboard dashboard.")
        if not isinstance(data.get("version"), int) or data["version"] > 1:
            raise DashboardError(
                "This dashboard was saved by a newer Ledgerboard; update Ledgerboard to open it."
            )
        specs = specs_from_json(data.get("widgets", []))
        formulas = data.get("formulas", [])
        formulas = formulas if isinstance(formulas, list) else []
        for item in formulas:
            if not isinstance(item, dict):
                continue
            name, text_ = item.get("name"), item.get("text")
            new = isinstance(name, str) and isinstance(text_, str)
            if new and self.library.text_of(name) is None:
                try:
                    self.library.save(name, text_)
                except FormulaError:
                    pass  # the widgets that use it show why
        settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
        dashboard_id = self.create(title or str(data.get("title") or "Imported dashboard"), {})
        self.update(dashboard_id, **{k: v for k, v in settings.items() if isinstance(k, str)})
        for spec in specs:
            self.add_widget(dashboard_id, spec)
        return dashboard_id

    def create_starter(self, title: str = "Stripe overview") -> int:
        """The Stripe overview template, over the data sources that exist (live data only).

        Raises DashboardError when no data source it needs has been imported."""
        return self.import_json(json.dumps(self.starter_json()), title=title)

    def starter_json(self) -> dict:
        """The Stripe overview as a dashboard file for the data sources that exist, unsaved."""
        template = json.loads(resource_path("templates", "stripe_overview.json").read_text())
        by_type: dict[str, DataSource] = {}
        for ds in DataSource.select().order_by(DataSource.id):
            by_type.setdefault(ds.data_type, ds)
        widgets = []
        for widget in template["widgets"]:
            if not all(t in by_type for t in widget["requires"]):
                continue
            # A stand-in for when the better source is missing (charge currency, not settled).
            if any(t in by_type for t in widget.get("only_without", ())):
                continue
            formula, widget_title = widget["formula"], widget["title"]
            for type_name, ds in by_type.items():
                formula = formula.replace("{" + type_name + "}", json.dumps(ds.title))
            if "{main_currency}" in formula:
                currency = _main_currency(by_type["charges"])
                formula = formula.replace("{main_currency}", json.dumps(currency))
                widget_title = widget_title.replace("{MAIN_CURRENCY}", currency.upper())
            widget = {k: v for k, v in widget.items() if k != "only_without"}
            widgets.append({**widget, "formula": formula, "title": widget_title})
        if not widgets:
            names = ", ".join(DATA_TYPES[t].display_name for t in ("charges", "customers"))
            raise DashboardError(f"Import a data source such as {names} first.")
        template["widgets"] = _compact(_widen_into_holes(_compact(widgets)))
        return template

    # evaluation

    def refresh(
        self,
        dashboard_id: int,
        *,
        period: str | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> dict[int, WidgetResult]:
        """Every widget of the dashboard evaluated; one refresh shares identical queries."""
        dashboard = Dashboard.get_by_id(dashboard_id)
        period = period or self.settings(dashboard)["period"]
        return self.evaluate_all(self.widgets(dashboard_id), period, cancelled=cancelled)

    @staticmethod
    def test_mode_notice(specs: list[WidgetSpec]) -> str | None:
        """Words for a dashboard (its widgets) whose KPIs count live data where every
        connected account is in test mode: they read 0, and a user coming from Stripe's
        Dashboard, which shows test data in test mode, should be told why. None otherwise."""
        if not any(_LIVE_ONLY.search(spec.formula) for spec in specs):
            return None
        accounts = Account.select()
        if not accounts.exists() or accounts.where(Account.livemode == 1).exists():
            return None
        return (
            "Only test mode is connected, and these KPIs count live data (livemode = true), "
            "so they read 0. Connect your live account in Data sources to see your "
            "business's numbers, or take livemode = true out of a widget's formula to "
            "count test data."
        )

    def evaluate_all(
        self,
        specs: list[WidgetSpec],
        period: str,
        *,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> dict[int, WidgetResult]:
        """Widgets evaluated for a period, sharing identical queries; keyed by widget id."""
        catalog = self.library.catalog()
        evaluator = Evaluator(catalog)
        results = {}
        for spec in specs:
            if cancelled():
                break
            results[spec.id] = self.evaluate(spec, period, catalog=catalog, evaluator=evaluator)
        return results

    def evaluate(
        self, spec: WidgetSpec, period: str, *, catalog=None, evaluator=None
    ) -> WidgetResult:
        catalog = catalog or self.library.catalog()
        evaluator = evaluator or Evaluator(catalog)
        period = spec.period or period
        now = self.now()
        zone, week_start = catalog.time_zone, catalog.week_start
        start, end = period_range(period, zone, week_start=week_start, now=now)
        try:
            checked = check(spec.formula, catalog)
            if spec.kind in ("number", "gauge"):
                data = self._number(spec, checked, evaluator, period, start, end)
            elif spec.kind in ("line", "area"):
                data = self._series(spec, checked, evaluator, period, start, end)
            else:
                data = self._groups(spec, checked, catalog, evaluator, start, end)
        except FormulaError as exc:
            return WidgetResult(spec, WidgetError(str(exc)), start, end)
        return WidgetResult(spec, data, start, end, drill_downs(checked, start, end))

    def _number(self, spec, checked: Checked, evaluator, period, start, end) -> NumberData:
        catalog = evaluator.catalog
        current = KpiValue.of(
            evaluator.evaluate(checked, Slots(((start, end),))).values[(0, None)],
            start,
            end,
            checked.money,
        )
        previous = None
        before = previous_range(
            period,
            catalog.time_zone,
            week_start=catalog.week_start,
            now=self.now(),
            elapsed_only=True,
        )
        if before is not None:
            previous = KpiValue.of(
                evaluator.evaluate(checked, Slots((before,))).values[(0, None)],
                *before,
                checked.money,
            )
        if checked.money:
            # No money in a period is still money: 0.00 USD, not a bare 0.00, in the currency
            # of the other period, or else the usual one; the comparison line's too.
            values = [v for v in (current, previous) if v is not None]
            if any(v.currency is None and not v.per_currency for v in values):
                given = [v.currency for v in values if v.currency]
                currency = given[0] if given else _usual_currency()
                current, previous = (
                    _in_currency(current, currency),
                    _in_currency(previous, currency),
                )
        change = None
        if previous is not None and _comparable(current, previous):
            now_value, then = current.value, previous.value
            if now_value is not None and then not in (None, 0):
                change = (now_value - then) / abs(then) * 100
        status = progress = None
        if spec.target is not None and current.value is not None and len(current.per_currency) <= 1:
            progress = current.value / spec.target if spec.target else None
            status = _status(current.value, spec.target, spec.format.lower_is_better)
        return NumberData(current, previous, change, status, progress)

    def _series(self, spec, checked: Checked, evaluator, period, start, end) -> SeriesData:
        catalog = evaluator.catalog
        zone = ZoneInfo(catalog.time_zone)
        if period == ALL_TIME:
            start = self._first_date(checked, evaluator) or start
            end = int(self.now().timestamp())
        bucket = spec.bucket
        starts = bucket_starts(start, end, bucket, zone, catalog.week_start)
        while len(starts) > MAX_BUCKETS and bucket != "month":
            bucket = "week" if bucket == "day" else "month"
            starts = bucket_starts(start, end, bucket, zone, catalog.week_start)
        ranges = tuple(zip(starts, [*starts[1:], end], strict=True))
        series = _by_currency(evaluator.evaluate(checked, Slots(ranges)), len(ranges))
        now = self.now().timestamp()
        for points in series.values():  # days still to come are empty, not zero
            for index, bucket_start in enumerate(starts):
                if bucket_start > now:
                    points[index] = None
        previous: dict = {}
        if spec.compare and period != ALL_TIME:
            before = previous_range(
                period, catalog.time_zone, week_start=catalog.week_start, now=self.now()
            )
            if before is not None:
                old = bucket_starts(before[0], before[1], bucket, zone, catalog.week_start)
                old_ranges = tuple(zip(old, [*old[1:], before[1]], strict=True))
                previous = _by_currency(
                    evaluator.evaluate(checked, Slots(old_ranges)), len(old_ranges)
                )
                previous = {
                    c: (v + [None] * len(ranges))[: len(ranges)] for c, v in previous.items()
                }
        return SeriesData(starts, series, previous, bucket)

    def _first_date(self, checked: Checked, evaluator) -> int | None:
        db = DataSource._meta.database
        firsts = []
        for agg in checked.aggregates:
            first = db.execute_sql(
                f'SELECT MIN({agg.date_sql}) FROM "{agg.table}" WHERE "data_source_id" = ?',
                (agg.data_source_id,),
            ).fetchone()[0]
            if first is not None:
                firsts.append(int(first))
        return min(firsts) if firsts else None

    def _groups(self, spec, checked: Checked, catalog, evaluator, start, end) -> GroupsData:
        if not spec.group_by:
            raise FormulaError("Choose a field to group by")
        evaluation = evaluator.evaluate(checked, Slots(((start, end),), group_by=spec.group_by))
        rows = []
        for group in evaluation.groups:
            for currency, value in evaluation.values[(0, group)].items():
                rows.append((group, currency, value))
        rows.sort(key=lambda r: (r[2] is None, -(r[2] or 0)))
        if spec.kind == "table" or len(rows) > spec.top:
            rows = rows[: spec.top]
        label = spec.group_by
        ds_id = checked.aggregates[0].data_source_id if checked.aggregates else None
        if ds_id is not None:
            ds = catalog.source(ds_id)
            ref = catalog.fields(ds).get(spec.group_by)
            label = ref.label if ref else label
        return GroupsData(rows, label)

    def drill_group(self, target: DrillDown, group_by: str, group) -> DrillDown:
        """Narrow a drill-down to one group of a bar chart or table row."""
        catalog = self.library.catalog()
        ds = catalog.source(target.data_source_id)
        ref = catalog.fields(ds).get(group_by) if ds is not None else None
        if ref is None:
            raise FormulaError(f"{target.data_source_title} has no field '{group_by}'")
        if group is None:
            # the compiler's "is empty": '' only for text (PostgreSQL compares no number to it)
            clause, params = FilterCompiler.sql(ref, "is_empty", [])
            shown = "is empty"
        else:
            clause, params, shown = f"{ref.sql} = ?", (group,), f"= {group}"
        described = "" if target.description == "all registrations" else target.description
        return replace(
            target,
            where=f"({target.where}) AND {clause}",
            params=(*target.params, *params),
            description=" and ".join(p for p in (described, f"{ref.label} {shown}") if p),
        )


def specs_from_json(raw_widgets) -> list[WidgetSpec]:
    """The widgets of a dashboard file, in order; DashboardError says which one is damaged."""
    if not isinstance(raw_widgets, list):
        raise DashboardError("The dashboard's widgets are not a list: the file is damaged.")
    specs = []
    for n, raw in enumerate(raw_widgets, start=1):
        if not isinstance(raw, dict):
            raise DashboardError(f"Widget {n} is not an object: the file is damaged.")
        try:
            specs.append(
                WidgetSpec.from_parts(
                    raw.get("kind"),
                    raw.get("title"),
                    raw.get("formula"),
                    raw.get("config"),
                    raw.get("x", 0),
                    raw.get("y", 0),
                    raw.get("w"),
                    raw.get("h"),
                )
            )
        except DashboardError as exc:
            raise DashboardError(f"Widget {n}: {exc}") from None
    return specs


def _main_currency(charges: DataSource) -> str:
    """The currency with the most live charges (Stripe's default currency, in effect)."""
    return _usual_currency(charges.id) or "usd"


def _usual_currency(data_source_id: int | None = None) -> str | None:
    """The currency of most live charges, of one data source or of every account; without
    live charges (an account connected in test mode), of most charges; None without any."""
    from desktop.store.models import registration_model

    table = registration_model("charges")
    for mode in (table.livemode == 1, table.livemode == 0):
        where = mode if data_source_id is None else mode & (table.data_source == data_source_id)
        row = (
            table.select(table.currency, pw.fn.COUNT(table.pk).alias("n"))
            .where(where)
            .group_by(table.currency)
            .order_by(pw.SQL("n").desc())
            .first()
        )
        if row and row.currency:
            return row.currency.lower()
    return None


def _in_currency(value: KpiValue | None, currency: str | None) -> KpiValue | None:
    """A money value without a currency (no money in its period) in `currency`."""
    if value is None or value.currency is not None or value.per_currency:
        return value
    return dataclasses.replace(value, currency=currency)


def _comparable(a: KpiValue, b: KpiValue) -> bool:
    return (
        len(a.per_currency) <= 1
        and len(b.per_currency) <= 1
        and (a.currency == b.currency or None in (a.currency, b.currency))
    )


def _status(value: float, target: float, lower_is_better: bool) -> str:
    """Green at or past the target, yellow within a fifth of it, red beyond."""
    if lower_is_better:
        if value <= target:
            return "good"
        return "warning" if value <= target * 1.2 or (target == 0 and value == 0) else "bad"
    if value >= target:
        return "good"
    return "warning" if value >= target * 0.8 else "bad"


def _by_currency(evaluation, count: int) -> dict[str | None, list[float | None]]:
    """Series per currency from an evaluation over `count` buckets (a plain number: None)."""
    currencies = {c for value in evaluation.values.values() for c in value}
    if currencies - {None}:
        currencies.discard(None)  # an average with no rows in a bucket is empty, not a series
    if not currencies:
        return {None: [0.0] * count}
    series: dict[str | None, list[float | None]] = {
        c: [None] * count for c in sorted(currencies, key=str)
    }
    for (index, _group), value in evaluation.values.items():
        sum_of_nothing = not value
        for currency, points in series.items():
            if currency in value:
                points[index] = value[currency]
            elif sum_of_nothing or (set(value) - {None}):
                points[index] = 0.0  # no rows in this currency in this bucket
    return series


def bucket_starts(start: int, end: int, bucket: str, zone: ZoneInfo, week_start: int) -> list[int]:
    """Starts of the days, weeks or months from `start` to `end`, in local time (DST-safe)."""
    local = dt.datetime.fromtimestamp(start, zone)
    day = local.date()
    if bucket == "week":
        day -= dt.timedelta(days=(day.weekday() - week_start) % 7)
    elif bucket == "month":
        day = day.replace(day=1)
    starts = []
    while True:
        moment = int(dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp())
        if moment >= end:
            break
        starts.append(max(moment, start))
        if bucket == "day":
            day += dt.timedelta(days=1)
        elif bucket == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return starts or [start]


def _widen_into_holes(widgets: list[dict]) -> list[dict]:
    """A widget with free columns to its left, over its whole height (where a widget was
    left out), takes them: the row reads full, with no hole at its start."""
    placed = [dict(w) for w in sorted(widgets, key=lambda w: (w["y"], w["x"]))]
    for widget in placed:
        while widget["x"] > 0 and not _covered(placed, widget, widget["x"] - 1):
            widget["x"] -= 1
            widget["w"] += 1
    return placed


def _covered(widgets: list[dict], beside: dict, column: int) -> bool:
    """Whether another widget covers `column` in any of the rows `beside` spans."""
    top, bottom = beside["y"], beside["y"] + beside["h"]
    return any(
        o is not beside
        and o["x"] <= column < o["x"] + o["w"]
        and top < o["y"] + o["h"]
        and o["y"] < bottom
        for o in widgets
    )


def _compact(widgets: list[dict]) -> list[dict]:
    """Pack template widgets upwards after some were left out for lack of data sources."""
    placed: list[tuple[int, int, int, int]] = []
    result = []
    for widget in sorted(widgets, key=lambda w: (w["y"], w["x"])):
        x, w, h = widget["x"], widget["w"], widget["h"]
        y = 0
        while any(
            x < px + pw and px < x + w and y < py + ph and py < y + h for px, py, pw, ph in placed
        ):
            y += 1
        placed.append((x, y, w, h))
        result.append({**widget, "y": y})
    return result
