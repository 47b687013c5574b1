"""When each data source is due to sync: its last attempt and its own update frequency.

Qt-free, for the window's scheduler and for `sync --watch` alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import peewee as pw

from desktop.store.models import (
    Account,
    AccountStatus,
    DataSource,
    DataSourceStatus,
    SyncRun,
    utc_now,
)

MIN_FREQUENCY = 60  # seconds: the fastest a user can ask for
WAITING_FOR_USER = (DataSourceStatus.NEEDS_RECONNECT, DataSourceStatus.NOT_PERMITTED)


def next_attempts(
    ids: Collection[int] | None = None, fastest: float = MIN_FREQUENCY
) -> dict[int, dt.datetime | None]:
    """When each data source should sync next (None: it never ran); those that wait for the
    user (reconnect, permissions) are left out until they act."""
    last_attempts = dict(
        SyncRun.select(SyncRun.data_source, pw.fn.MAX(SyncRun.started_at))
        .group_by(SyncRun.data_source)
        .tuples()
    )
    where = DataSource.status.not_in(WAITING_FOR_USER) & (Account.status == AccountStatus.CONNECTED)
    if ids is not None:
        where &= DataSource.id.in_(list(ids))
    candidates = (
        DataSource.select(DataSource.id, DataSource.update_frequency)
        .join(Account)
        .where(where)
        .tuples()
    )
    attempts: dict[int, dt.datetime | None] = {}
    for ds_id, frequency in candidates:
        at = last_attempts.get(ds_id)
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        attempts[ds_id] = None if at is None else at + dt.timedelta(seconds=max(fastest, frequency))
    return attempts


def due_data_sources(
    now: dt.datetime | None = None,
    ids: Collection[int] | None = None,
    fastest: float = MIN_FREQUENCY,
) -> list[int]:
    """Data sources whose last attempt is older than their update frequency (or never ran)."""
    now = now or utc_now()
    return [ds_id for ds_id, at in next_attempts(ids, fastest).items() if at is None or at <= now]


def seconds_until_due(
    ids: Collection[int], now: dt.datetime | None = None, fastest: float = MIN_FREQUENCY
) -> float | None:
    """Until the first of these data sources is due (0: one is); None when none can be."""
    now = now or utc_now()
    times = list(next_attempts(ids, fastest).values())
    if not times:
        return None
    if any(at is None for at in times):
        return 0.0
    return max(0.0, min((at - now).total_seconds() for at in times))
