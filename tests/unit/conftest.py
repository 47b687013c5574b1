"""Store fixtures: a real SQLite file and a real PostgreSQL database, migrated to the
current schema (each test that takes `db` runs on both)."""

from __future__ import annotations

from collections.abc import Iterator

import peewee
import pytest

from desktop.paths import AppPaths
from desktop.store.db import open_database
from desktop.store.migrations import migrate


@pytest.fixture
def db(app_paths: AppPaths, store_target: str) -> Iterator[peewee.Database]:
    database = open_database(store_target)
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
