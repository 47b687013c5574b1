"""Reports: a dashboard for a period, evaluated and written to a file, now or on a schedule.

No Qt here. PDF and PNG are drawn by the views' renderer (desktop/views/report_render.py),
which the composition root or the headless command passes in as `draw`; the numbers of each
widget go to CSV or XLSX from here. Schedules run daily, weekly or monthly at a time in the
user's time zone, into a folder and optionally by e-mail; a run that fails says why in the
Alerts list and the log, and the schedule keeps its next runs.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import peewee as pw

from desktop.services.kpi.dashboards import (
    DashboardError,
    DashboardsService,
    GroupsData,
    NumberData,
    SeriesData,
    WidgetError,
    WidgetResult,
    WidgetSpec,
    specs_from_json,
)
from desktop.services.kpi.periods import (
    ALL_TIME_RANGE,
    day_span,
    day_text,
    is_period,
    period_label,
    period_range,
)
from desktop.store.models import Dashboard, DataSource, ReportSchedule, utc_now
from desktop.store.writer import write_with

log = logging.getLogger(__name__)

FORMATS = {"pdf": "PDF", "png": "PNG image", "csv": "CSV (numbers)", "xlsx": "Excel (numbers)"}
FREQUENCIES = {"daily": "Every day", "weekly": "Every week", "monthly": "Every month"}
# Names people use for the previous unit, as Stripe's and most tools' menus say them.
PERIOD_ALIASES = {
    "last_week": "previous_week",
    "last_month": "previous_month",
    "last_quarter": "previous_quarter",
    "last_year": "previous_year",
}
TEMPLATES = ("stripe-overview",)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ReportError(Exception):
    """A report that cannot be made; the message is for the user."""


def period_name(name: str) -> str | None:
    """A period the reports understand, aliases included; None when it is not one."""
    name = PERIOD_ALIASES.get(name, name)
    return name if is_period(name) else None


@dataclass(frozen=True)
class ReportData:
    """A dashboard evaluated for one period: everything a report file shows."""

    title: str
    period: str
    start: int
    end: int
    time_zone: str
    last_sync: dt.datetime | None  # naive UTC, as the store keeps it; None: never synced
    specs: list[WidgetSpec]
    results: dict[int, WidgetResult]
    made_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def period_text(self) -> str:
        """'Previous month: 1 May 2026 – 31 May 2026', in the report's time zone."""
        label = period_label(self.period)
        if (self.start, self.end) == ALL_TIME_RANGE:
            return label
        zone = ZoneInfo(self.time_zone)
        first = dt.datetime.fromtimestamp(self.start, zone).date()
        last = (dt.datetime.fromtimestamp(self.end, zone) - dt.timedelta(seconds=1)).date()
        days = day_span(first, last, year_once=False)
        return days if ".." in self.period else f"{label}: {days}"  # a range names itself

    @property
    def last_sync_text(self) -> str:
        if self.last_sync is None:
            return "Data never synced"
        local = self.last_sync.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(self.time_zone))
        return f"Data last synced {day_text(local)} {local:%H:%M}"

    def file_stem(self) -> str:
        """A file name for the report: 'Stripe overview - Previous month - 2026-06-01'."""
        made = self.made_at.astimezone(ZoneInfo(self.time_zone)).strftime("%Y-%m-%d")
        text = f"{self.title} - {period_label(self.period)} - {made}"
        return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", text).strip(" .") or "report"


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as the Alerts page lists it."""

    id: int
    dashboard: str
    when: str  # "Every Monday at 08:00"
    format: str
    delivers_to: str
    next_run: dt.datetime | None  # naive UTC
    last: str  # the last run in words, or ""
    failed: bool


Draw = Callable[[ReportData, str, Path], None]  # (report, "pdf" or "png", path)


class ReportsService:
    def __init__(
        self,
        dashboards: DashboardsService,
        writer=None,
        *,
        time_zone: Callable[[], str] = lambda: "UTC",
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.dashboards = dashboards
        self.writer = writer
        self.time_zone = time_zone
        self.now = now or (lambda: dt.datetime.now(dt.UTC))

    # --- making a report -------------------------------------------------------------------

    def prepare(
        self,
        *,
        dashboard_id: int | None = None,
        template: str | None = None,
        period: str | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> ReportData:
        """A saved dashboard (or the starter template, unsaved) evaluated for a period."""
        if template is not None:
            if template not in TEMPLATES:
                raise ReportError(f"Unknown template {template!r}; known: {', '.join(TEMPLATES)}")
            try:
                data = self.dashboards.starter_json()
            except DashboardError as exc:
                raise ReportError(str(exc)) from None
            title = data["title"]
            specs = [
                replace(spec, id=n)
                for n, spec in enumerate(specs_from_json(data["widgets"]), start=1)
            ]
            chosen = data.get("settings", {}).get("period", "this_month")
        else:
            dashboard = Dashboard.get_or_none(Dashboard.id == dashboard_id)
            if dashboard is None:
                raise ReportError("The dashboard no longer exists; it may have been deleted.")
            title = dashboard.title
            specs = self.dashboards.widgets(dashboard.id)
            chosen = self.dashboards.settings(dashboard)["period"]
        name = period_name(period) if period else chosen
        if name is None:
            raise ReportError(f"Unknown period {period!r}.")
        catalog = self.dashboards.library.catalog()
        zone = catalog.time_zone
        start, end = period_range(
            name, zone, week_start=catalog.week_start, now=self.dashboards.now()
        )
        results = self.dashboards.evaluate_all(specs, name, cancelled=cancelled)
        return ReportData(
            title, name, start, end, zone, _last_sync(results), specs, results, self.now()
        )

    def dashboard_by_title(self, title: str) -> int:
        matches = list(Dashboard.select().where(Dashboard.title == title))
        if len(matches) != 1:
            titles = ", ".join(sorted(repr(d.title) for d in Dashboard.select())) or "none"
            problem = "No dashboard" if not matches else "More than one dashboard"
            raise ReportError(f"{problem} is titled {title!r} (dashboards: {titles}).")
        return matches[0].id

    # --- schedules -------------------------------------------------------------------------

    def schedules(self) -> list[ReportSchedule]:
        return list(ReportSchedule.select().order_by(ReportSchedule.id))

    def create_schedule(
        self,
        dashboard_id: int,
        *,
        frequency: str = "weekly",
        at_time: str = "08:00",
        weekday: int = 0,
        day_of_month: int = 1,
        period: str = "previous_week",
        format: str = "pdf",
        folder: str = "",
        email_to: list[str] | tuple[str, ...] = (),
    ) -> int:
        dashboard = Dashboard.get_or_none(Dashboard.id == dashboard_id)
        if dashboard is None:
            raise ReportError("The dashboard no longer exists.")
        if frequency not in FREQUENCIES:
            raise ReportError(f"Unknown frequency {frequency!r}; known: {', '.join(FREQUENCIES)}")
        if format not in FORMATS:
            raise ReportError(f"Unknown format {format!r}; known: {', '.join(FORMATS)}")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at_time):
            raise ReportError(f"The time {at_time!r} is not HH:MM on a 24-hour clock.")
        if period_name(period) is None:
            raise ReportError(f"Unknown period {period!r}.")
        recipients = [r.strip() for r in email_to if r and r.strip()]
        if not folder.strip() and not recipients:
            raise ReportError("Choose a folder, an e-mail address, or both.")
        fields = {
            "dashboard": dashboard.id,
            "dashboard_title": dashboard.title,
            "period": period_name(period),
            "format": format,
            "frequency": frequency,
            "at_time": at_time,
            "weekday": min(max(int(weekday), 0), 6),
            "day_of_month": min(max(int(day_of_month), 1), 28),
            "folder": folder.strip(),
            "email_to": ", ".join(recipients),
        }
        probe = ReportSchedule(**fields)
        fields["next_run_at"] = next_run(probe, self.now(), self.time_zone())
        return write_with(self.writer, lambda: ReportSchedule.create(**fields).id)

    def schedule_rows(self) -> list[ScheduleRow]:
        rows = []
        for s in self.schedules():
            if s.frequency == "daily":
                when = f"Every day at {s.at_time}"
            elif s.frequency == "weekly":
                when = f"Every {WEEKDAY_NAMES[s.weekday]} at {s.at_time}"
            else:
                when = f"Every month on day {s.day_of_month} at {s.at_time}"
            when += f", {period_label(s.period).lower()}"
            targets = [t for t in (s.folder, s.email_to) if t]
            title = s.dashboard_title if s.dashboard_id else f"{s.dashboard_title} (deleted)"
            rows.append(
                ScheduleRow(
                    s.id,
                    title,
                    when,
                    FORMATS.get(s.format, s.format),
                    "; ".join(targets),
                    s.next_run_at,
                    s.last_message or "",
                    s.last_status == "failed",
                )
            )
        return rows

    def delete_schedule(self, schedule_id: int) -> None:
        write_with(
            self.writer,
            lambda: ReportSchedule.delete().where(ReportSchedule.id == schedule_id).execute(),
        )

    def due(self) -> list[ReportSchedule]:
        now = self.now().astimezone(dt.UTC).replace(tzinfo=None)
        return list(
            ReportSchedule.select()
            .where(
                ReportSchedule.enabled
                & ReportSchedule.next_run_at.is_null(False)
                & (ReportSchedule.next_run_at <= now)
            )
            .order_by(ReportSchedule.next_run_at)
        )

    def finish_run(self, schedule_id: int, status: str, message: str) -> None:
        """Record a run and move the schedule to its next time, whatever the outcome."""

        def write() -> None:
            schedule = ReportSchedule.get_or_none(ReportSchedule.id == schedule_id)
            if schedule is None:
                return
            # Past the slot this run served, even when it ran early (Run now) or late.
            after = self.now()
            if schedule.next_run_at is not None:
                after = max(after, schedule.next_run_at.replace(tzinfo=dt.UTC))
            ReportSchedule.update(
                last_run_at=utc_now(),
                last_status=status,
                last_message=message,
                next_run_at=next_run(schedule, after, self.time_zone()),
            ).where(ReportSchedule.id == schedule_id).execute()

        write_with(self.writer, write)


def _last_sync(results: dict[int, WidgetResult]) -> dt.datetime | None:
    """When the data sources the widgets read were last synced (the oldest of them)."""
    ids = {d.data_source_id for r in results.values() for d in r.drill}
    query = DataSource.select(pw.fn.MIN(DataSource.last_synced_at))
    if ids:
        query = query.where(DataSource.id.in_(ids))
    value = query.scalar()
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value


def next_run(schedule: ReportSchedule, after: dt.datetime, time_zone: str) -> dt.datetime:
    """The first time after `after` the schedule runs (naive UTC), counted in local time."""
    zone = ZoneInfo(time_zone)
    local = after.astimezone(zone)
    hour, minute = (int(p) for p in schedule.at_time.split(":"))
    day = local.date()
    for _ in range(400):
        if _runs_on(schedule, day):
            moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
            if moment > local:
                return moment.astimezone(dt.UTC).replace(tzinfo=None)
        day += dt.timedelta(days=1)
    raise ReportError("The schedule never runs.")  # unreachable: every month has a day 1-28


def _runs_on(schedule: ReportSchedule, day: dt.date) -> bool:
    if schedule.frequency == "daily":
        return True
    if schedule.frequency == "weekly":
        return day.weekday() == schedule.weekday
    return day.day == schedule.day_of_month


# --- numbers to files ----------------------------------------------------------------------

HEADER = ["Widget", "Kind", "Item", "Currency", "Value", "Previous period", "Change %"]


def widget_rows(report: ReportData, spec: WidgetSpec) -> list[list]:
    """A widget's numbers as rows under HEADER."""
    result = report.results.get(spec.id)
    if result is None:
        return []
    data = result.data
    zone = ZoneInfo(report.time_zone)
    rows: list[list] = []
    if isinstance(data, WidgetError):
        rows.append([spec.title, spec.kind, f"Error: {data.message}", "", None, None, None])
    elif isinstance(data, NumberData):
        previous = data.previous.per_currency if data.previous else {}
        if len(data.value.per_currency) > 1:
            for currency, value in data.value.per_currency.items():
                rows.append(
                    [spec.title, spec.kind, "", currency.upper(), value, previous.get(currency)]
                )
        else:
            currency = (data.value.currency or "").upper()
            before = data.previous.value if data.previous else None
            change = round(data.change, 4) if data.change is not None else None
            rows.append([spec.title, spec.kind, "", currency, data.value.value, before, change])
    elif isinstance(data, SeriesData):
        for currency, points in data.series.items():
            before = data.previous.get(currency, [])
            for index, start in enumerate(data.starts):
                day = dt.datetime.fromtimestamp(start, zone).date().isoformat()
                old = before[index] if index < len(before) else None
                rows.append(
                    [spec.title, spec.kind, day, (currency or "").upper(), points[index], old]
                )
    elif isinstance(data, GroupsData):
        for group, currency, value in data.rows:
            shown = "(empty)" if group in (None, "") else str(group)
            rows.append([spec.title, spec.kind, shown, (currency or "").upper(), value])
    return [(row + [None] * len(HEADER))[: len(HEADER)] for row in rows]


def write_csv(report: ReportData, path: Path) -> None:
    with _replacing(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for spec in report.specs:
            for row in widget_rows(report, spec):
                writer.writerow(["" if v is None else v for v in row])


def write_xlsx(report: ReportData, path: Path) -> None:
    """One sheet per widget, and a first sheet that says what the report is."""
    from openpyxl import Workbook

    book = Workbook()
    about = book.active
    about.title = "Report"
    for line in (
        [report.title],
        [report.period_text],
        [f"Time zone: {report.time_zone}"],
        [report.last_sync_text],
    ):
        about.append(line)
    used: set[str] = {"Report"}
    for spec in report.specs:
        name = re.sub(r"[\[\]:*?/\\]", " ", spec.title)[:28].strip() or "Widget"
        base, n = name, 2
        while name.lower() in {u.lower() for u in used}:
            name, n = f"{base[:25]} {n}", n + 1
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append(HEADER)
        for row in widget_rows(report, spec):
            sheet.append(row)
    with _replacing(path) as temporary:
        book.save(temporary)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Write to a temporary file beside `path`, then put it in place: a failed write never
    leaves half a report where the last good one was."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".ledgerboard-", suffix=path.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def write_report(report: ReportData, format: str, path: Path, draw: Draw | None) -> Path:
    """The report as a file; OSError (folder gone, read-only, disk full) is the caller's to
    say in words, see `file_problem`."""
    path = Path(path)
    if format == "csv":
        write_csv(report, path)
    elif format == "xlsx":
        write_xlsx(report, path)
    elif format in ("pdf", "png"):
        if draw is None:
            raise ReportError(f"{FORMATS[format]} needs the renderer, which is not available.")
        with _replacing(path) as temporary:
            draw(report, format, temporary)
    else:
        raise ReportError(f"Unknown format {format!r}; known: {', '.join(FORMATS)}")
    return path


def file_problem(exc: OSError, folder: Path) -> str:
    """An OSError from writing a report, in words."""
    if not folder.exists():
        return f"The folder {folder} does not exist any more; choose another in the schedule."
    if isinstance(exc, PermissionError) or not os.access(folder, os.W_OK):
        return f"The folder {folder} is read-only; choose another or allow writing to it."
    return f"The report could not be written to {folder}: {exc.strerror or exc}."


# --- running a schedule --------------------------------------------------------------------

Send = Callable[[list[str], str, str, list[Path]], None]  # to, subject, body, attachments


@dataclass(frozen=True)
class RunOutcome:
    schedule_id: int
    ok: bool
    message: str
    files: list[Path] = field(default_factory=list)


def run_schedule(
    service: ReportsService,
    schedule_id: int,
    *,
    draw: Draw | None,
    send: Send | None,
    workspace: Path,
    note: Callable[[str, str, int], None] | None = None,
) -> RunOutcome:
    """One run of a schedule, from evaluation to delivery, on the calling thread (headless and
    tests; the app splits it so that only drawing happens on the GUI thread)."""
    try:
        schedule, report = prepare_run(service, schedule_id)
        rendered = render_run(schedule, report, draw, workspace)
    except (ReportError, OSError) as exc:
        return finish(service, schedule_id, False, _said(exc), [], note)
    return deliver_run(service, schedule, report, rendered, send, note)


def prepare_run(service: ReportsService, schedule_id: int) -> tuple[ReportSchedule, ReportData]:
    schedule = ReportSchedule.get_or_none(ReportSchedule.id == schedule_id)
    if schedule is None:
        raise ReportError("The schedule was deleted.")
    if schedule.dashboard_id is None:
        raise ReportError(
            f"The dashboard {schedule.dashboard_title!r} was deleted; this schedule has "
            "nothing to send. Delete the schedule or point it at another dashboard."
        )
    return schedule, service.prepare(dashboard_id=schedule.dashboard_id, period=schedule.period)


def render_run(
    schedule: ReportSchedule, report: ReportData, draw: Draw | None, workspace: Path
) -> Path:
    """The report drawn into the app's own workspace first: a folder that has gone away must
    not stop the e-mail, nor a mail server the file."""
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / f"{report.file_stem()}.{schedule.format}"
    return write_report(report, schedule.format, path, draw)


def deliver_run(
    service: ReportsService,
    schedule: ReportSchedule,
    report: ReportData,
    rendered: Path,
    send: Send | None,
    note: Callable[[str, str, int], None] | None = None,
) -> RunOutcome:
    problems, done, files = [], [], []
    if schedule.folder:
        folder = Path(schedule.folder)
        target = folder / rendered.name
        try:
            if not folder.is_dir():
                raise FileNotFoundError(str(folder))
            with _replacing(target) as temporary:
                temporary.write_bytes(rendered.read_bytes())
            files.append(target)
            done.append(f"saved to {target}")
        except OSError as exc:
            problems.append(file_problem(exc, folder))
    recipients = [r.strip() for r in schedule.email_to.split(",") if r.strip()]
    if recipients:
        from desktop.services.mail import MailError

        subject = f"{report.title}: {report.period_text}"
        body = (
            f"{report.title}\n{report.period_text}\nTime zone: {report.time_zone}\n"
            f"{report.last_sync_text}\n\nThe report is attached ({FORMATS[schedule.format]}).\n"
            "Sent by Ledgerboard on a schedule.\n"
        )
        try:
            if send is None:
                raise MailError("E-mail is not set up in Settings.")
            send(recipients, subject, body, [rendered])
            done.append(f"e-mailed to {', '.join(recipients)}")
        except MailError as exc:
            problems.append(str(exc))
    rendered.unlink(missing_ok=True)
    if problems:
        message = f"The scheduled report {report.title!r} failed: " + " ".join(problems)
        if done:
            message += f" (It was {' and '.join(done)}.)"
        return finish(service, schedule.id, False, message, files, note)
    return finish(
        service, schedule.id, True, f"{report.title!r} {' and '.join(done)}.", files, note
    )


def finish(service, schedule_id, ok, message, files, note) -> RunOutcome:
    if ok:
        log.info("scheduled report %d: %s", schedule_id, message)
    else:
        log.warning("scheduled report %d: %s", schedule_id, message)
    service.finish_run(schedule_id, "sent" if ok else "failed", message)
    if note is not None:
        note("report_sent" if ok else "report_failed", message, schedule_id)
    return RunOutcome(schedule_id, ok, message, files)


def _said(exc: BaseException) -> str:
    if isinstance(exc, ReportError):
        return f"The scheduled report failed: {exc}"
    return f"The scheduled report could not be drawn: {exc}"
