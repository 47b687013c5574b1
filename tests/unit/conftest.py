"""Store fixtures: a real SQLite file, migrated to the current schema."""

from __future__ import annotations

from collections.abc import Iterator

import peewee
import pytest

from desktop.paths import AppPaths
from desktop.store.db import open_database
from desktop.store.migrations import migrate


@pytest.fixture
def db(app_paths: AppPaths) -> Iterator[peewee.Database]:
    database = open_database(app_paths.database)
    migrate(database, backup_dir=app_paths.backup_dir)
    yield database
    database.close()


@pytest.fixture
def harness_for(db):
    """SyncHarness instances on the test's store, closed after the test."""
    from tests.syncing import SyncHarness

    made = []

    def make(simulator, **kwargs) -> SyncHarness:
        harness = SyncHarness(db, simulator, **kwargs)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
