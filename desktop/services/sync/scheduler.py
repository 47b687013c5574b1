"""Each data source syncs at its update frequency, and once soon after the app starts."""

from __future__ import annotations

import datetime as dt
import logging

import peewee as pw
from PySide6.QtCore import QObject, QTimer

from desktop.services.sync.service import SyncService
from desktop.store.models import (
    Account,
    AccountStatus,
    DataSource,
    DataSourceStatus,
    SyncRun,
    utc_now,
)

log = logging.getLogger(__name__)

MIN_FREQUENCY = 60  # seconds: the fastest a user can ask for
CHECK_EVERY_MS = 15_000
WAITING_FOR_USER = (DataSourceStatus.NEEDS_RECONNECT, DataSourceStatus.NOT_PERMITTED)


def due_data_sources(now: dt.datetime | None = None) -> list[int]:
    """Data sources whose last attempt is older than their update frequency (or never ran).

    Those that wait for the user (reconnect, permissions) are left alone until they act.
    """
    now = now or utc_now()
    last_attempts = dict(
        SyncRun.select(SyncRun.data_source, pw.fn.MAX(SyncRun.started_at))
        .group_by(SyncRun.data_source)
        .tuples()
    )
    candidates = (
        DataSource.select(DataSource.id, DataSource.update_frequency)
        .join(Account)
        .where(
            DataSource.status.not_in(WAITING_FOR_USER) & (Account.status == AccountStatus.CONNECTED)
        )
        .tuples()
    )
    due = []
    for ds_id, frequency in candidates:
        at = last_attempts.get(ds_id)
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        if at is None or (now - at).total_seconds() >= max(MIN_FREQUENCY, frequency):
            due.append(ds_id)
    return due


class Scheduler(QObject):
    def __init__(self, sync_service: SyncService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sync_service = sync_service
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_EVERY_MS)
        self.timer.timeout.connect(self.run_due)

    def start(self, first_check_ms: int = 1_500) -> None:
        """Check every 15 seconds; the first check (the catch-up after start) comes soon."""
        QTimer.singleShot(first_check_ms, self, self.run_due)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def run_due(self) -> list[int]:
        due = [ds for ds in due_data_sources() if ds not in self.sync_service.running()]
        if due:
            log.info("scheduled sync of %d data source(s)", len(due))
            return self.sync_service.sync(due)
        return []
