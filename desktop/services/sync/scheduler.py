"""Each data source syncs at its update frequency, and once soon after the app starts."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer

from desktop.services.sync.due import due_data_sources
from desktop.services.sync.service import SyncService

log = logging.getLogger(__name__)

CHECK_EVERY_MS = 15_000


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
