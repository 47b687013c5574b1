"""What the registrations table reads before it changes: its columns, its counts and, for a
search or a filter that passes over every row, the rows themselves, read on a worker and
stoppable between rows. Also a dashboard's drill-down, as conditions of a registrations query.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import peewee

from desktop.services.kpi.periods import ALL_TIME_RANGE, date_span
from desktop.services.query import FieldRef
from desktop.services.registrations import Condition, RegistrationQuery
from desktop.services.stripe.errors import Cancelled

if TYPE_CHECKING:
    from desktop.services.tasks import TaskState

ROWS_READ_WHOLE = 5_000  # a search (or filter) with at most this many matches is read whole
_CHECK_EVERY = 100_000  # SQLite virtual machine steps between two looks at `cancelled`


@dataclass
class Reading:
    """What a refresh reads before the model changes: columns, counts, and maybe rows."""

    columns: list[FieldRef]
    count: int
    total: int
    pages: dict[int, list[tuple]] = field(default_factory=dict)


def read(query: RegistrationQuery, *, rows_up_to: int = 0, total: int | None = None) -> Reading:
    """The columns and counts of the query as it is now (FilterError for a bad filter), and all
    its rows when there are at most `rows_up_to`: then they are its count too, in one pass
    over the table, where a count and then pages would pass over it once each. `total`, the
    data source's rows when known: a filter or a search does not change it, and on a million
    rows counting it takes as long as the filtered count."""
    columns = query.visible_fields()
    rows = query.fetch(0, rows_up_to + 1, columns) if rows_up_to and query.narrowed() else None
    if rows is not None and len(rows) <= rows_up_to:
        count = len(rows)
    else:
        rows = None
        count = total if total is not None and not query.narrowed() else query.count()
    if total is None:
        total = query.total() if query.narrowed() else count
    reading = Reading(columns, count, total)
    if rows:
        page = RegistrationQuery.PAGE
        reading.pages = {n // page: rows[n : n + page] for n in range(0, len(rows), page)}
    return reading


def read_stoppably(
    query: RegistrationQuery, state: TaskState, *, total: int | None = None
) -> Reading:
    """`read` for a worker: a query that passes over every row (seconds on a million) stops
    between rows once `state` is cancelled, and then raises Cancelled. On SQLite through its
    progress handler; other databases finish the statement and the result is dropped."""
    connection = query.db.connection()
    interrupt = getattr(connection, "set_progress_handler", None)
    if interrupt is not None:
        interrupt(lambda: int(state.cancelled()), _CHECK_EVERY)
    try:
        return read(query, rows_up_to=ROWS_READ_WHOLE, total=total)
    except (sqlite3.OperationalError, peewee.OperationalError):
        if state.cancelled():
            raise Cancelled() from None
        raise
    finally:
        if interrupt is not None:
            interrupt(None, 0)


def drill_conditions(query: RegistrationQuery, drill) -> list[Condition]:
    """A KPI's filter and period (a kpi.binder.DrillDown) as conditions the registrations
    query applies."""
    conditions = []
    if drill.where != "1":
        conditions.append(Condition(f"Formula: {drill.description}", drill.where, drill.params))
    date = query.fields.get(drill.date_key)
    if date is not None and (drill.start, drill.end) != ALL_TIME_RANGE:
        span = date_span(drill.start, drill.end, query.time_zone)
        conditions.append(
            Condition(
                f"{date.label}: {span}",
                f"{date.sql} >= ? AND {date.sql} < ?",
                (drill.start, drill.end),
            )
        )
    return conditions
