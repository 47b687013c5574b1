"""Alerts: a number that goes above or below a value or moves by more than a share against
the previous period, or a data source whose sync has failed for too long. No Qt.

An alert fires once when its condition turns true and not again until the condition has been
false at some evaluation (no storms). That state is kept in the store, so a restart neither
repeats a firing nor forgets one. Each firing becomes an entry of the Alerts list, with the
registrations behind the value; scheduled reports add their failures to the same list.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import peewee as pw

from desktop.localization import number
from desktop.services.kpi.binder import Checked, DrillDown, check, drill_downs
from desktop.services.kpi.dashboards import Format
from desktop.services.kpi.evaluate import Evaluator, KpiValue, Slots
from desktop.services.kpi.library import FormulaLibrary
from desktop.services.kpi.periods import is_period, period_label, period_range, previous_range
from desktop.services.kpi.syntax import FormulaError
from desktop.store.models import (
    Alert,
    AlertFiring,
    DataSource,
    DataSourceStatus,
    SyncRun,
)
from desktop.store.writer import write_with

log = logging.getLogger(__name__)

CONDITIONS = {
    "above": "goes above",
    "below": "goes below",
    "change": "changes by more than (%) against the previous period",
    "sync_failed": "sync has failed for longer than (minutes)",
}
FAILING = (DataSourceStatus.FAILED, DataSourceStatus.NEEDS_RECONNECT)


class AlertError(ValueError):
    """An alert that cannot be saved as asked; the message is for the user."""


@dataclass(frozen=True)
class Firing:
    """An entry of the Alerts list, as delivery and the views need it."""

    id: int
    kind: str  # alert, report_failed, report_sent
    title: str
    message: str
    value: float | None
    at: dt.datetime  # UTC, aware
    drill: DrillDown | None
    email_to: tuple[str, ...] = ()
    alert_id: int | None = None


@dataclass(frozen=True)
class AlertRow:
    """An alert as the Alerts page lists it."""

    id: int
    name: str
    rule: str
    state: str  # in words: "Holding since the last check", "Clear", a problem
    holding: bool
    problem: str | None
    email_to: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class Reading:
    """One evaluation of an alert: whether its condition holds, and how to say so."""

    holds: bool
    value: float | None
    message: str
    drill: DrillDown | None = None


class AlertsService:
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

    # --- alerts ----------------------------------------------------------------------------

    def alerts(self) -> list[Alert]:
        return list(Alert.select().order_by(Alert.name, Alert.id))

    def create(
        self,
        name: str,
        condition: str,
        *,
        formula: str = "",
        period: str = "today",
        threshold: float = 0.0,
        data_source_id: int | None = None,
        widget_id: int | None = None,
        email_to: list[str] | tuple[str, ...] = (),
        format: Format | None = None,
    ) -> int:
        """A new alert; AlertError says what is wrong with it. It starts cleared, so a
        condition that already holds fires at the first evaluation."""
        fields = self._validated(
            name, condition, formula, period, threshold, data_source_id, email_to, format
        )
        return self._write(lambda: Alert.create(widget=widget_id, **fields).id)

    def update(self, alert_id: int, **changes) -> None:
        """Change an alert; a changed condition starts cleared again."""
        alert = Alert.get_by_id(alert_id)
        config = _config(alert)
        current = {
            "name": alert.name,
            "condition": alert.condition,
            "formula": alert.formula,
            "period": alert.period,
            "threshold": alert.threshold,
            "data_source_id": alert.data_source_id,
            "email_to": config.get("email_to", []),
            "format": Format.from_json(config.get("format")),
        }
        enabled = changes.pop("enabled", alert.enabled)
        current.update(changes)
        fields = self._validated(*current.values())
        rule = ("condition", "formula", "period", "threshold", "data_source")
        if any(
            fields[k] != getattr(alert, k if k != "data_source" else "data_source_id") for k in rule
        ):
            fields.update(active=False, last_value=None, problem=None)
        fields["enabled"] = bool(enabled)
        self._write(lambda: Alert.update(**fields).where(Alert.id == alert_id).execute())

    def delete(self, alert_id: int) -> None:
        self._write(lambda: Alert.delete().where(Alert.id == alert_id).execute())

    def _validated(
        self, name, condition, formula, period, threshold, data_source_id, email_to, format
    ) -> dict:
        if condition not in CONDITIONS:
            raise AlertError(f"Unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise AlertError("The threshold must be a number.") from None
        recipients = [r.strip() for r in email_to if r and r.strip()]
        bad = [r for r in recipients if "@" not in r or " " in r]
        if bad:
            raise AlertError(f"Not an e-mail address: {', '.join(bad)}")
        if condition == "sync_failed":
            if threshold < 0:
                raise AlertError("The number of minutes cannot be negative.")
            if data_source_id is not None and DataSource.get_or_none(id=data_source_id) is None:
                raise AlertError("That data source no longer exists.")
            formula, period = "", "today"
            default_name = "A sync has failed"
        else:
            if not formula.strip():
                raise AlertError("Write the formula of the number to watch.")
            if not is_period(period):
                raise AlertError(f"Unknown period {period!r}.")
            try:
                check(formula, self.library.catalog())
            except FormulaError as exc:
                raise AlertError(f"The formula cannot be used: {exc}") from None
            if condition == "change" and threshold <= 0:
                raise AlertError("The change must be more than 0 %.")
            default_name = formula
            data_source_id = None
        config = {"email_to": recipients, "format": (format or Format()).to_json()}
        return {
            "name": (name or "").strip()[:120] or default_name[:120],
            "condition": condition,
            "formula": formula,
            "period": period,
            "threshold": threshold,
            "data_source": data_source_id,
            "config": json.dumps(config),
        }

    def rows(self) -> list[AlertRow]:
        rows = []
        for alert in Alert.select(Alert, DataSource).join(DataSource, pw.JOIN.LEFT_OUTER):
            config = _config(alert)
            if not alert.enabled:
                state = "Switched off"
            elif alert.problem:
                state = alert.problem
            elif alert.last_checked_at is None:
                state = "Not checked yet"
            else:
                state = "Holding: fired, waits to clear" if alert.active else "Clear"
            rows.append(
                AlertRow(
                    alert.id,
                    alert.name,
                    self.describe(alert),
                    state,
                    bool(alert.active),
                    alert.problem,
                    tuple(config.get("email_to", [])),
                    bool(alert.enabled),
                )
            )
        return sorted(rows, key=lambda r: (r.name.lower(), r.id))

    def settings_of(self, alert_id: int) -> dict:
        """An alert's settings, as create() takes them (the editor's starting point)."""
        alert = Alert.get_by_id(alert_id)
        config = _config(alert)
        return {
            "name": alert.name,
            "condition": alert.condition,
            "formula": alert.formula,
            "period": alert.period,
            "threshold": alert.threshold,
            "data_source_id": alert.data_source_id,
            "email_to": list(config.get("email_to", [])),
        }

    @staticmethod
    def data_sources() -> list[tuple[int, str]]:
        return [(d.id, d.title) for d in DataSource.select().order_by(DataSource.title)]

    def describe(self, alert: Alert) -> str:
        """The rule in words: 'Gross volume (Today) goes above 1,000.00'."""
        fmt = Format.from_json(_config(alert).get("format"))
        if alert.condition == "sync_failed":
            which = alert.data_source.title if alert.data_source_id else "any data source"
            return f"The sync of {which} has failed for longer than {alert.threshold:g} min"
        what = f"{alert.formula} ({period_label(alert.period)})"
        if alert.condition == "change":
            return f"{what} changes by more than {alert.threshold:g} % against the previous period"
        return f"{what} {CONDITIONS[alert.condition]} {fmt.text(alert.threshold)}"

    # --- evaluation ------------------------------------------------------------------------

    def evaluate_all(self, cancelled: Callable[[], bool] = lambda: False) -> list[Firing]:
        """Evaluate every enabled alert once; record and return the ones that fire now."""
        alerts = list(Alert.select().where(Alert.enabled == 1).order_by(Alert.id))
        if not alerts:
            return []
        catalog = self.library.catalog()
        evaluator = Evaluator(catalog)
        checked: dict[str, Checked | FormulaError] = {}  # alerts on one number check it once
        readings: dict[int, Reading | str] = {}
        for alert in alerts:
            if cancelled():
                return []
            try:
                readings[alert.id] = self._read(alert, catalog, evaluator, checked)
            except FormulaError as exc:
                readings[alert.id] = f"The formula cannot be evaluated: {exc}"
        now = self.now()
        return self._write(lambda: self._record(alerts, readings, now))

    def _record(self, alerts, readings, now: dt.datetime) -> list[Firing]:
        stamp = now.astimezone(dt.UTC).replace(tzinfo=None)
        # Read again inside the write: another evaluation may have fired one meanwhile.
        states = dict(
            Alert.select(Alert.id, Alert.active)
            .where(Alert.id.in_([a.id for a in alerts]))
            .tuples()
        )
        # One prepared statement for all: fifty peewee updates cost more than the queries.
        db = Alert._meta.database
        table = Alert._meta.table_name
        p = db.param
        checked_at = Alert.last_checked_at.db_value(stamp)
        db.cursor().executemany(
            f'UPDATE "{table}" SET "problem" = {p}, "last_checked_at" = {p} WHERE "id" = {p}',
            [
                (reading, checked_at, alert_id)
                for alert_id, reading in readings.items()
                if isinstance(reading, str) and alert_id in states
            ],
        )
        db.cursor().executemany(
            f'UPDATE "{table}" SET "active" = {p}, "last_value" = {p}, '
            f'"last_checked_at" = {p}, "problem" = NULL WHERE "id" = {p}',
            [
                (reading.holds, reading.value, checked_at, alert_id)
                for alert_id, reading in readings.items()
                if not isinstance(reading, str) and alert_id in states
            ],
        )
        fired = []
        for alert in alerts:
            reading = readings[alert.id]
            active = states.get(alert.id)
            if active is None or isinstance(reading, str):
                continue  # deleted while it was evaluated, or it could not be
            if reading.holds and not active:
                drill = json.dumps(_drill_json(reading.drill)) if reading.drill else None
                row = AlertFiring.create(
                    alert=alert.id,
                    kind="alert",
                    at=stamp,
                    value=reading.value,
                    message=reading.message,
                    drill=drill,
                )
                config = _config(alert)
                fired.append(
                    Firing(
                        row.id,
                        "alert",
                        alert.name,
                        reading.message,
                        reading.value,
                        stamp.replace(tzinfo=dt.UTC),
                        reading.drill,
                        tuple(config.get("email_to", [])),
                        alert.id,
                    )
                )
                log.info("alert %r fired: %s", alert.name, reading.message)
        return fired

    def _read(self, alert: Alert, catalog, evaluator: Evaluator, checked: dict) -> Reading:
        if alert.condition == "sync_failed":
            return self._read_sync(alert)
        fmt = Format.from_json(_config(alert).get("format"))
        now = self.now()
        zone, week_start = catalog.time_zone, catalog.week_start
        start, end = period_range(alert.period, zone, week_start=week_start, now=now)
        if alert.formula not in checked:
            try:
                checked[alert.formula] = check(alert.formula, catalog)
            except FormulaError as exc:
                checked[alert.formula] = exc
        formula = checked[alert.formula]
        if isinstance(formula, FormulaError):
            raise formula
        current = _value(evaluator, formula, start, end)
        drills = drill_downs(formula, start, end)
        drill = drills[0] if drills else None
        label = f"{alert.name} ({period_label(alert.period).lower()})"
        if current.value is None:
            raise FormulaError(
                'it gives amounts in several currencies; add a filter such as currency = "usd"'
            )
        shown = fmt.text(current.value, current.currency)
        if alert.condition in ("above", "below"):
            limit = fmt.text(alert.threshold, current.currency)
            if alert.condition == "above":
                holds = current.value > alert.threshold
                message = f"{label} is {shown}, above {limit}"
            else:
                holds = current.value < alert.threshold
                message = f"{label} is {shown}, below {limit}"
            return Reading(holds, current.value, message, drill)
        before = previous_range(alert.period, zone, week_start=week_start, now=now)
        if before is None:
            raise FormulaError(f"{period_label(alert.period)} has no previous period to compare")
        previous = _value(evaluator, formula, *before)
        if previous.value in (None, 0):
            return Reading(False, current.value, f"{label} is {shown}; no previous value", drill)
        change = (current.value - previous.value) / abs(previous.value) * 100
        was = fmt.text(previous.value, previous.currency)
        direction = "rose" if change > 0 else "fell"
        message = (
            f"{label} {direction} {number(abs(change), 1)} % against the previous period: "
            f"{shown}, was {was}"
        )
        return Reading(abs(change) > alert.threshold, current.value, message, drill)

    def _read_sync(self, alert: Alert) -> Reading:
        query = DataSource.select()
        if alert.data_source_id is not None:
            query = query.where(DataSource.id == alert.data_source_id)
        now = self.now().astimezone(dt.UTC).replace(tzinfo=None)
        worst: tuple[float, DataSource] | None = None
        for ds in query.where(DataSource.status.in_(FAILING)):
            minutes = (now - failing_since(ds, now)).total_seconds() / 60
            if worst is None or minutes > worst[0]:
                worst = (minutes, ds)
        if worst is None or worst[0] <= alert.threshold:
            minutes = worst[0] if worst else 0.0
            return Reading(False, round(minutes, 1), "syncs are working")
        minutes, ds = worst
        why = (
            f": {ds.last_error or ds.status_message}"
            if (ds.last_error or ds.status_message)
            else ""
        )
        message = f"The sync of {ds.title} has failed for {_minutes(minutes)}{why}"
        return Reading(True, round(minutes, 1), message)

    # --- the Alerts list -------------------------------------------------------------------

    def firings(self, limit: int = 500) -> list[Firing]:
        rows = (
            AlertFiring.select(AlertFiring, Alert)
            .join(Alert, pw.JOIN.LEFT_OUTER)
            .order_by(AlertFiring.at.desc(), AlertFiring.id.desc())
            .limit(limit)
        )
        return [_firing(row) for row in rows]

    def unread(self) -> int:
        return AlertFiring.select().where(AlertFiring.read == 0).count()

    def mark_read(self) -> None:
        self._write(lambda: AlertFiring.update(read=True).where(AlertFiring.read == 0).execute())

    def note(self, kind: str, message: str, *, schedule_id: int | None = None) -> Firing:
        """An entry that is not an alert's (a scheduled report sent or failed)."""
        stamp = self.now().astimezone(dt.UTC).replace(tzinfo=None)

        def write() -> AlertFiring:
            return AlertFiring.create(kind=kind, message=message, at=stamp, schedule=schedule_id)

        return _firing(self._write(write))


def failing_since(ds: DataSource, now: dt.datetime) -> dt.datetime:
    """When the data source's syncs started failing: its first failed run after the last
    one that succeeded (naive UTC, as the store keeps times)."""
    last_good = (
        SyncRun.select(pw.fn.MAX(SyncRun.started_at))
        .where((SyncRun.data_source == ds.id) & (SyncRun.status == "succeeded"))
        .scalar()
    )
    failed = SyncRun.select(pw.fn.MIN(SyncRun.started_at)).where(
        (SyncRun.data_source == ds.id) & (SyncRun.status == "failed")
    )
    if last_good is not None:
        failed = failed.where(SyncRun.started_at > last_good)
    first = failed.scalar()
    return _naive(first) if first is not None else now


def _naive(value) -> dt.datetime:
    if isinstance(value, str):  # SQLite hands back text for a computed MIN/MAX
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=None)


def _minutes(minutes: float) -> str:
    if minutes < 120:
        return f"{number(minutes)} min"
    return f"{number(minutes / 60, 1)} h"


def _value(evaluator: Evaluator, checked, start: int, end: int) -> KpiValue:
    values = evaluator.evaluate(checked, Slots(((start, end),))).values[(0, None)]
    return KpiValue.of(values, start, end, checked.money)


def _config(alert: Alert) -> dict:
    try:
        data = json.loads(alert.config or "{}")
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _drill_json(drill: DrillDown) -> dict:
    return {**dataclasses.asdict(drill), "params": list(drill.params)}


def _drill_from(text: str | None) -> DrillDown | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        return DrillDown(**{**data, "params": tuple(data["params"])})
    except (ValueError, TypeError, KeyError):
        return None


def _firing(row: AlertFiring) -> Firing:
    alert = row.alert if row.alert_id is not None else None
    if alert is not None:
        title = alert.name
    elif row.kind == "alert":
        title = "Deleted alert"
    else:
        title = "Scheduled report"
    at = row.at if isinstance(row.at, dt.datetime) else dt.datetime.fromisoformat(str(row.at))
    return Firing(
        row.id,
        row.kind,
        title,
        row.message,
        row.value,
        at.replace(tzinfo=dt.UTC),
        _drill_from(row.drill),
        alert_id=row.alert_id,
    )
