"""Moving a store to the team's database: `python -m desktop store copy --to postgresql://…`.

Every table's rows (accounts, data sources and their fields, sync history, dashboards, widgets,
formulas, registrations) are copied as they are, ids kept, into a target that has the current
schema and no data yet; the day totals are made by the target's own triggers. Nothing secret
is in a store (keys and tokens stay in each computer's keyring), so nothing secret moves.
Afterwards each table's rows are counted on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import peewee

from desktop.store.db import StoreError
from desktop.store.dialect import dialect_of
from desktop.store.models import CORE_MODELS, REGISTRATION_MODELS, Account, SchemaVersion

BATCH = 2_000


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


def copied_tables() -> list[str]:
    """Tables in an order that keeps every reference valid (parents first)."""
    core = [m._meta.table_name for m in CORE_MODELS if m is not SchemaVersion]
    return core + [m._meta.table_name for m in REGISTRATION_MODELS.values()]


def copy_store(
    source: peewee.Database,
    target: peewee.Database,
    progress: Callable[[str, int, int], None] = lambda table, done, total: None,
) -> list[TableCount]:
    """Copy every row of `source` into `target` (both at the current schema, the target
    empty); the counts of both sides, table by table. StoreError in words when the target
    has data already."""
    if target.execute_sql(f'SELECT COUNT(*) FROM "{Account._meta.table_name}"').fetchone()[0]:
        raise StoreError(
            "The target database has Ledgerboard data already; copy into an empty one (nothing "
            "was changed)."
        )
    tables = copied_tables()
    to_target = dialect_of(target)
    if isinstance(target, peewee.PostgresqlDatabase):
        # The copy is on the disk when it says so, whatever the server's default; and only
        # then may VACUUM mark its rows visible to all (_ready_for_reading).
        target.execute_sql("SET synchronous_commit = on")
    with target.atomic():
        for table in tables:
            wanted = [c.name for c in target.get_columns(table)]
            have = {c.name for c in source.get_columns(table)}
            columns = [c for c in wanted if c in have]
            quoted = ", ".join(f'"{c}"' for c in columns)
            total = source.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            insert = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" for _ in columns)})'
            sql, _ = to_target.statements([(insert, [None] * len(columns))])[0]
            cursor = source.execute_sql(f'SELECT {quoted} FROM "{table}" ORDER BY 1')
            done = 0
            progress(table, done, total)
            while rows := cursor.fetchmany(BATCH):
                target.cursor().executemany(sql, rows)
                done += len(rows)
                progress(table, done, total)
            _follow_sequence(target, table, columns)
    _ready_for_reading(target, tables, progress)
    return [
        TableCount(
            table,
            source.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0],
            target.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0],
        )
        for table in tables
    ]


def _ready_for_reading(
    target: peewee.Database, tables: list[str], progress: Callable[[str, int, int], None]
) -> None:
    """PostgreSQL: vacuumed and analysed now, as autovacuum would in a while. Until a table's
    pages are marked all-visible, counting a million registrations reads every row from the
    table as well as from the index: the first viewers' opens took 250-450 ms, not 80."""
    if not isinstance(target, peewee.PostgresqlDatabase):
        return
    for done, table in enumerate(tables):
        progress("(preparing for reading)", done, len(tables))
        target.execute_sql(f'VACUUM (ANALYZE) "{table}"')
    progress("(preparing for reading)", len(tables), len(tables))


def _follow_sequence(target: peewee.Database, table: str, columns: list[str]) -> None:
    """PostgreSQL hands out ids from a sequence: it starts after the ids copied."""
    if not isinstance(target, peewee.PostgresqlDatabase):
        return
    key = "pk" if "pk" in columns else "id"
    target.execute_sql(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{key}'), "
        f'COALESCE((SELECT MAX("{key}") FROM "{table}"), 0) + 1, false)'
    )
