"""Commands for scripts and servers, without a window."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time

from desktop.catalog import DATA_TYPES
from desktop.collector import settle_for_imports
from desktop.paths import AppPaths
from desktop.services.accounts import AccountsService
from desktop.services.stripe.client import StaticKey, StripeClients, key_is_live
from desktop.services.sync.due import MIN_FREQUENCY, due_data_sources, seconds_until_due
from desktop.services.sync.engine import SyncEngine, SyncProgress
from desktop.services.sync.feeds import feeds_for
from desktop.store.db import StoreError
from desktop.store.models import DataSource, DataSourceStatus
from desktop.store.opening import open_store
from desktop.store.sync_lock import AccountBusy, AccountSyncLock
from desktop.store.writer import StoreWriter
from desktop.views.formatting import share_text, time_left

log = logging.getLogger(__name__)


class TerminalProgress:
    """One line of progress on a terminal (stderr); quiet lines when it is not a terminal."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr  # the stderr of the moment, not of the import
        self.tty = self.stream.isatty()
        self.lock = threading.Lock()
        self.rows: dict[tuple, SyncProgress] = {}
        self.last = 0.0
        self.started = time.monotonic()

    def __call__(self, progress: SyncProgress) -> None:
        with self.lock:
            self.rows[tuple(progress.data_source_ids)] = progress
            now = time.monotonic()
            if not self.tty or now - self.last < 0.1:
                return
            self.last = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float) -> str:
        """'[=====     ]  42 %  about 3 min left   12,345 rows  4,321 rows/s': the share
        of the history imports under way where it is known, else a busy bar."""
        total = sum(p.rows for p in self.rows.values())
        rate = total / max(1e-6, now - self.started)
        width = 24
        shares = [p.fraction for p in self.rows.values() if p.fraction is not None]
        if shares:
            share = sum(shares) / len(shares)
            filled = int(share * width)
            bar = "=" * filled + " " * (width - filled)
            lefts = [p.seconds_left for p in self.rows.values() if p.fraction is not None]
            left = None if None in lefts else max(lefts)
            said = f"{share_text(share):>5}  {time_left(left) if share < 1 else '':<24}"
        else:
            filled = int((now * 4) % width)
            bar = (" " * filled + "=" * 3 + " " * width)[:width]
            said = ""
        return f"[{bar}] {said}{total:>10,} rows  {rate:>9,.0f} rows/s "

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def sync_with_key(
    key: str,
    paths: AppPaths,
    *,
    api_base: str | None = None,
    types: list[str] | None = None,
    progress=None,
    requests_per_second: float | None = None,
    watch: WatchSchedule | None = None,
) -> dict:
    """Create the key's account and data sources if missing, sync them, return a summary.

    `requests_per_second` overrides Stripe's documented limit (benchmarks, local servers).
    With `watch`, sync again on its schedule until it is stopped; the summary is the last
    round's. Raises StoreError when the store cannot be used or another computer syncs the
    account.
    """
    types = types or list(DATA_TYPES)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_store(paths.store_target, backup_dir=paths.backup_dir)
    live = key_is_live(key)
    accounts = AccountsService()
    # The last four characters are what Stripe's Dashboard shows of a key: not a secret.
    name = f"API key …{key[-4:]}"
    account = accounts.find(auth_method="api_key", api_base=api_base, livemode=live, name=name)
    if account is None:
        account = accounts.create(
            name=name, auth_method="api_key", keyring_entry="", livemode=live, api_base=api_base
        )
    data_sources = accounts.ensure_data_sources(account, types)
    credentials = StaticKey(key)
    clients = StripeClients(lambda _account_id: (credentials, api_base))
    clients.requests_per_second = requests_per_second
    stats = clients.stats
    lock = AccountSyncLock(db, account.id, account.name)
    try:
        lock.acquire()
    except AccountBusy:
        db.close()
        raise
    writer = StoreWriter(db)
    engine = SyncEngine(writer, clients)
    ids = [d.id for d in data_sources]
    round_ids = ids  # the first round syncs them all; then each when it is due
    try:
        while True:
            started = time.monotonic()
            stopped = watch.stopped if watch is not None else (lambda: False)
            feeds = feeds_for(DataSource.select().where(DataSource.id.in_(round_ids)))
            results = engine.sync_all(feeds, progress=progress, cancelled=stopped)
            summary = _summary(ids, results, stats, time.monotonic() - started)
            if watch is None:
                break
            log.info(
                "synced %d rows of %d data source(s) in %.1f s",
                sum(summary["rows"].values()),
                len(round_ids),
                summary["seconds"],
            )
            round_ids = watch.wait_for_due(ids)
            if not round_ids:
                log.info("stopping: the last sync's rows are committed")
                break
    finally:
        writer.close()
        lock.release()
    db.close()
    return summary


class WatchSchedule:
    """When `sync --watch` syncs again, and the stop that SIGTERM gives it.

    Each data source syncs when its own update frequency says it is due; `every` overrides
    that with one interval for all of them. `fastest` is the shortest frequency honoured."""

    def __init__(self, every: float | None = None, fastest: float = MIN_FREQUENCY) -> None:
        self.every = every
        self.fastest = fastest
        self._stop = threading.Event()

    def stop(self, *_signal) -> None:
        self._stop.set()

    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_for_due(self, ids: list[int]) -> list[int]:
        """Wait until some of these data sources are due and return them; [] when stopped."""
        if self.every is not None:
            log.info("next sync in %g s", self.every)
            return [] if self._stop.wait(self.every) else list(ids)
        while not self.stopped():
            due = due_data_sources(ids=ids, fastest=self.fastest)
            if due:
                return due
            seconds = seconds_until_due(ids, fastest=self.fastest)
            if seconds is None:
                log.warning(
                    "nothing to sync: every data source waits for its key to be fixed "
                    "(reconnect or permissions); restart with a working key"
                )
            else:
                log.info("next sync in %.0f s", seconds)
            self._stop.wait(seconds)
        return []


def _summary(ids: list[int], results, stats, seconds: float) -> dict:
    summary: dict = {"rows": {}, "status": {}, "messages": {}}
    for ds in DataSource.select().where(DataSource.id.in_(ids)):
        summary["rows"][ds.data_type] = next(
            (r.rows.get(ds.id, 0) for r in results if ds.id in r.rows), 0
        )
        summary["status"][ds.data_type] = ds.status
        if ds.status_message:
            summary["messages"][ds.data_type] = ds.status_message
    summary.update(
        requests=stats.requests,
        retries=stats.retries,
        throttled=stats.throttled,
        seconds=round(seconds, 3),
    )
    return summary


def run_sync(args) -> int:
    key = args.api_key or os.environ.get("LEDGERBOARD_API_KEY")
    if not key:
        print("sync needs a Stripe key: --api-key KEY or LEDGERBOARD_API_KEY", file=sys.stderr)
        return 2
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    unknown = [t for t in types or () if t not in DATA_TYPES]
    if unknown:
        print(
            f"unknown data types: {', '.join(unknown)} (known: {', '.join(DATA_TYPES)})",
            file=sys.stderr,
        )
        return 2
    paths = AppPaths.in_dir(args.data_dir) if args.data_dir else AppPaths.for_user()
    paths = paths.with_database(args.database)
    progress = TerminalProgress()
    watch = None
    if args.watch:
        # A server's syncer: its log on stderr (journald keeps it), a clean stop on SIGTERM.
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
        )
        watch = WatchSchedule(args.every)
        signal.signal(signal.SIGTERM, watch.stop)
        signal.signal(signal.SIGINT, watch.stop)
    settle_for_imports()  # what is loaded is frozen, out of the import's collections
    try:
        summary = sync_with_key(
            key, paths, api_base=args.api_base, types=types, progress=progress, watch=watch
        )
    except (StoreError, OSError) as exc:
        print(f"sync cannot run: {exc}", file=sys.stderr)
        return 2
    finally:
        progress.done()
    for data_type, message in summary["messages"].items():
        print(f"{DATA_TYPES[data_type].display_name}: {message}", file=sys.stderr)
    print(json.dumps(summary))
    statuses = set(summary["status"].values())
    if statuses <= {DataSourceStatus.UP_TO_DATE}:
        return 0
    return 1 if statuses & {DataSourceStatus.NEEDS_RECONNECT} or len(statuses) == 1 else 3


def _existing_data(data_dir: str | None, database: str | None) -> AppPaths | None:
    """The data folder a reading command works on; None (said on stderr) when it has no store."""
    paths = AppPaths.in_dir(data_dir) if data_dir else AppPaths.for_user()
    paths = paths.with_database(database)
    if paths.database_url is None and not paths.database.exists():
        print(f"no Ledgerboard data in {paths.data_dir}", file=sys.stderr)
        return None
    return paths


def _settings_and_zone(paths: AppPaths):
    """The user's settings, and the time zone their periods are read in."""
    from desktop.settings import SettingsStore

    store = SettingsStore(paths.settings_file)
    settings = store.load()
    return settings, store.effective_time_zone(settings)


def _open_or_say(paths: AppPaths, command: str):
    """The store; None when it cannot be opened, said on stderr ("kpi cannot run: ...")."""
    try:
        return open_store(paths.store_target, backup_dir=paths.backup_dir)
    except StoreError as exc:
        print(f"{command} cannot run: {exc}", file=sys.stderr)
        return None


def run_export(args) -> int:
    from desktop.services.query import FilterError
    from desktop.services.registrations import RegistrationQuery, export_csv, export_xlsx

    paths = _existing_data(args.data_dir, args.database)
    if paths is None or (db := _open_or_say(paths, "export")) is None:
        return 2
    matches = list(DataSource.select().where(DataSource.title == args.data_source))
    if len(matches) != 1:
        titles = ", ".join(sorted(d.title for d in DataSource.select())) or "none"
        problem = "no" if not matches else "more than one"
        print(
            f"{problem} data source is titled {args.data_source!r} (data sources: {titles})",
            file=sys.stderr,
        )
        return 2
    settings, zone = _settings_and_zone(paths)
    # Dates in the filter are the user's, as in the registrations view and formulas.
    query = RegistrationQuery(matches[0], time_zone=zone, week_start=settings.week_start)
    try:
        query.add_text_filter(args.filter)
        query.count()  # refuses a filter that cannot run, before any output
    except FilterError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    if args.format == "xlsx":
        if not args.output:
            print("export: --format xlsx writes a file: give --output FILE", file=sys.stderr)
            return 2
        rows = export_xlsx(query, args.output, time_zone=zone)
    elif args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            rows = export_csv(query, out, time_zone=zone)
    else:
        rows = export_csv(query, sys.stdout, time_zone=zone)
        sys.stdout.flush()
    print(f"exported {rows:,} registrations", file=sys.stderr)
    db.close()
    return 0


def run_kpi(args) -> int:
    """`kpi FORMULA`: one line of JSON on success; the editor's message and exit 2 otherwise."""
    from desktop.services.kpi.evaluate import evaluate
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.services.kpi.periods import is_period, period_range
    from desktop.services.kpi.syntax import FormulaError
    from desktop.settings import zone_names

    paths = _existing_data(args.data_dir, args.database)
    if paths is None:
        return 2
    settings, zone = _settings_and_zone(paths)
    zone = args.tz or zone
    if zone not in zone_names():
        print(
            f"kpi: unknown time zone {zone!r}; use a name such as Europe/Copenhagen",
            file=sys.stderr,
        )
        return 2
    if not is_period(args.period):
        print(
            f"kpi: unknown period {args.period!r}; use this_month, previous_year, "
            "last_30_days, all_time or a range such as 2026-01-01..2026-03-31",
            file=sys.stderr,
        )
        return 2
    if (db := _open_or_say(paths, "kpi")) is None:
        return 2
    try:
        library = FormulaLibrary(settings=lambda: (zone, settings.week_start))
        start, end = period_range(args.period, zone, week_start=settings.week_start)
        result = evaluate(args.formula, library.catalog(), start, end)
    except FormulaError as exc:
        print(f"kpi: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(json.dumps(result.as_json(zone)))
    return 0


def _mail_sender(settings):
    """How headless commands send mail: the SMTP settings, the password from the keyring."""
    from desktop.services.mail import SECRET_ENTRY, MailError, MailSettings, send_mail
    from desktop.services.secrets import SecretStore, SecretsUnavailable

    mail = MailSettings.of(settings)

    def send(to, subject, body, attachments) -> None:
        password = None
        if mail.username:
            try:
                password = SecretStore().get(SECRET_ENTRY).get("password")
            except SecretsUnavailable as exc:
                raise MailError(str(exc)) from None
        send_mail(mail, password, to, subject, body, attachments)

    return send


def run_report(args) -> int:
    """`report`: a dashboard drawn offscreen to a file; exit 2 with the reason in words."""
    from pathlib import Path

    from desktop.services.kpi.dashboards import DashboardsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.services.kpi.reports import (
        FORMATS,
        ReportError,
        ReportsService,
        file_problem,
        period_name,
        write_report,
    )
    from desktop.services.mail import MailError

    paths = _existing_data(args.data_dir, args.database)
    if paths is None:
        return 2
    if args.period and period_name(args.period) is None:
        print(
            f"report: unknown period {args.period!r}; use this_month, last_month, "
            "previous_year, last_30_days, all_time or a range such as 2026-01-01..2026-03-31",
            file=sys.stderr,
        )
        return 2
    output = Path(args.output)
    if not output.parent.is_dir():
        print(f"report: the folder {output.parent} does not exist", file=sys.stderr)
        return 2
    settings, zone = _settings_and_zone(paths)
    if (db := _open_or_say(paths, "report")) is None:
        return 2
    try:
        library = FormulaLibrary(settings=lambda: (zone, settings.week_start))
        reports = ReportsService(DashboardsService(library), time_zone=lambda: zone)
        dashboard_id = reports.dashboard_by_title(args.dashboard) if args.dashboard else None
        report = reports.prepare(
            dashboard_id=dashboard_id, template=args.template, period=args.period
        )
        draw = None
        if args.format in ("pdf", "png"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window, no display needed
            from desktop.app import create_qt_application
            from desktop.views.report_render import draw_report

            create_qt_application([])
            draw = draw_report
        write_report(report, args.format, output, draw)
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"report: {file_problem(exc, output.parent)}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"report: {report.title}, {report.period_text}, written to {output}", file=sys.stderr)
    if args.email:
        try:
            _mail_sender(settings)(
                args.email,
                f"{report.title}: {report.period_text}",
                f"{report.title}\n{report.period_text}\nTime zone: {report.time_zone}\n"
                f"{report.last_sync_text}\n\nThe report is attached ({FORMATS[args.format]}).\n",
                [output],
            )
        except MailError as exc:
            print(f"report: not e-mailed: {exc}", file=sys.stderr)
            return 3
        print(f"report: e-mailed to {', '.join(args.email)}", file=sys.stderr)
    return 0


def run_alerts_check(args) -> int:
    """`alerts check`: 1 when an alert fired, 0 when none did, 2 when it could not run."""
    from desktop.services.kpi.alerts import AlertsService
    from desktop.services.kpi.library import FormulaLibrary
    from desktop.services.mail import MailError

    paths = _existing_data(args.data_dir, args.database)
    if paths is None or (db := _open_or_say(paths, "alerts check")) is None:
        return 2
    settings, zone = _settings_and_zone(paths)
    try:
        service = AlertsService(FormulaLibrary(settings=lambda: (zone, settings.week_start)))
        fired = service.evaluate_all()
        alerts = service.alerts()
        fired_ids = {f.alert_id for f in fired}
        for firing in fired:
            print(f"FIRED {firing.title}: {firing.message}")
        for alert in alerts:
            if alert.id in fired_ids:
                continue
            if alert.problem:
                print(f"PROBLEM {alert.name}: {alert.problem}")
            elif alert.active:
                print(f"HOLDING {alert.name}: {service.describe(alert)}")
    finally:
        db.close()
    send = _mail_sender(settings)
    for firing in fired:
        if firing.email_to:
            try:
                send(
                    list(firing.email_to), f"Ledgerboard alert: {firing.title}", firing.message, []
                )
            except MailError as exc:
                print(f"alerts: {firing.title} not e-mailed: {exc}", file=sys.stderr)
    print(f"alerts: {len(alerts)} checked, {len(fired)} fired", file=sys.stderr)
    return 1 if fired else 0


def run_store_copy(args) -> int:
    """`store copy --to URL`: this store into an empty shared database, counts checked."""
    from desktop.store.copy import copy_store
    from desktop.store.db import open_database, shown_target
    from desktop.store.opening import connect_options

    paths = _existing_data(args.data_dir, args.database)
    if paths is None:
        return 2
    try:
        # Both brought to this version's schema first; then read and written side by side.
        open_store(paths.store_target, backup_dir=paths.backup_dir).close()
        target = open_store(args.to)
        source = open_database(paths.store_target, **connect_options(paths.store_target))
    except StoreError as exc:
        print(f"store copy cannot run: {exc}", file=sys.stderr)
        return 2
    progress = CopyProgress()
    try:
        counts = copy_store(source, target, progress)
    except StoreError as exc:
        print(f"store copy: {exc}", file=sys.stderr)
        return 2
    finally:
        progress.done()
        source.close()
        target.close()
    wrong = [c for c in counts if not c.equal]
    for count in counts:
        mark = "ok" if count.equal else "DIFFERS"
        print(f"{count.table:40} {count.source:>12,} {count.target:>12,}  {mark}")
    if wrong:
        print(
            f"store copy: {len(wrong)} tables differ; the target is not to be used", file=sys.stderr
        )
        return 1
    print(f"copied to {shown_target(args.to)}; every table's count matches", file=sys.stderr)
    return 0


class CopyProgress:
    """A progress bar per table on a terminal (stderr); nothing when it is not one."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = 0.0

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + " " * (width - filled)
        self.stream.write(f"\r{table[:32]:32} [{bar}] {done:>10,}/{total:<10,}")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
