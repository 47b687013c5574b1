"""Day totals of the usual KPIs, kept by the database itself (SQLite's triggers, or PL/pgSQL).

A KPI such as Sum(Charges, amount, status = "succeeded" and livemode = true) for this year read
every one of the year's charges in the aggregation index, hundreds of thousands of entries for a
busy account. Each type with an aggregation index (models.AGGREGATED_MONEY)
also has a rollup table: per data source, mode, UTC day, currency and status (or type), how many
rows and the sum of each amount. Triggers on the registrations table keep it in the same
transaction as every insert, update and delete, so it can never disagree with the rows.

A period is read as its whole UTC days from the rollup and the hours at either end from the
rows (formulas._rolled_up_sql): exact in every time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from desktop.catalog import DataType
from desktop.store.dialect import POSTGRES, SQLITE, dialect_of
from desktop.store.models import AGGREGATED_MONEY, kind_column

DAY = 86_400  # seconds: the rollup's days are UTC days, day = date // DAY


@dataclass(frozen=True)
class Rollup:
    """The rollup table of one registrations table, and the SQL that keeps it."""

    table: str  # rollup_<type>
    source: str  # registrations_<type>
    date: str  # the registrations column of the default date field
    kind: str | None  # models.kind_column: a status, type or reporting category
    money: tuple[str, ...]  # the amounts summed, as registrations columns

    @property
    def key_columns(self) -> tuple[str, ...]:
        """A day row's key, in the order of its index."""
        return ("data_source_id", "livemode", "day", "currency", *filter(None, [self.kind]))

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns a filter or a grouping may name to be answered from the rollup."""
        return ("livemode", "currency", *filter(None, [self.kind]))

    def create(self, dialect=SQLITE) -> list[str]:
        """The table, its index and its triggers, for a database that has none of them."""
        big = dialect.big_integer  # SQLite's INTEGER is 64 bits already
        kind = [f'"{self.kind}" TEXT'] if self.kind else []
        sums = [f'"{m}" {big} NOT NULL' for m in self.money]
        columns = [
            '"data_source_id" INTEGER NOT NULL REFERENCES "data_source" ("id") ON DELETE CASCADE',
            '"livemode" INTEGER NOT NULL',
            f'"day" {big} NOT NULL',
            '"currency" TEXT',
            *kind,
            f'"rows" {big} NOT NULL',
            *sums,
        ]
        key = self._key_list
        triggers = self._pg_triggers() if dialect is POSTGRES else self._triggers()
        return [
            f'CREATE TABLE "{self.table}" ({", ".join(columns)})',
            f'CREATE INDEX "{self.table}_key" ON "{self.table}" ({key})',
            *triggers,
        ]

    def fill(self) -> str:
        """Totals for the rows already stored (a database from before rollups)."""
        key = self._key_list
        return f'INSERT INTO "{self.table}" ({key}, "rows"{self._money_list}) {self.recount()}'

    def recount(self) -> str:
        """The totals counted from the rows: key columns, rows, then each amount."""
        sums = "".join(f', COALESCE(SUM("{m}"), 0)' for m in self.money)
        key = self._key_list
        select_key = key.replace('"day"', f'"{self.date}" / {DAY}')
        return (
            f'SELECT {select_key}, COUNT(*){sums} FROM "{self.source}" '
            f'WHERE "{self.date}" IS NOT NULL GROUP BY {select_key}'
        )

    @property
    def trigger_names(self) -> tuple[str, ...]:
        return tuple(f"{self.table}_{event}" for event in ("insert", "delete", "update"))

    # --- the triggers ---

    @property
    def _key_list(self) -> str:
        return ", ".join(f'"{c}"' for c in self.key_columns)

    @property
    def _money_list(self) -> str:
        return "".join(f', "{m}"' for m in self.money)

    def _key_values(self, row: str) -> list[str]:
        """A registration's (NEW or OLD) values of the key columns."""
        return [
            f'{row}."{self.date}" / {DAY}' if column == "day" else f'{row}."{column}"'
            for column in self.key_columns
        ]

    def _matches(self, row: str) -> str:
        """The rollup row of a registration; IS, so that NULLs match."""
        pairs = zip(self.key_columns, self._key_values(row), strict=True)
        return " AND ".join(f'"{column}" IS {value}' for column, value in pairs)

    def _add(self, row: str) -> str:
        """Count a registration in: its day's row grows, or is made."""
        grow = "".join(f', "{m}" = "{m}" + COALESCE({row}."{m}", 0)' for m in self.money)
        values = self._key_values(row)
        amounts = "".join(f', COALESCE({row}."{m}", 0)' for m in self.money)
        key = self._key_list
        dated = f'{row}."{self.date}" IS NOT NULL'
        return (
            f'UPDATE "{self.table}" SET "rows" = "rows" + 1{grow} '
            f"WHERE {dated} AND {self._matches(row)}; "
            f'INSERT INTO "{self.table}" ({key}, "rows"{self._money_list}) '
            f"SELECT {', '.join(values)}, 1{amounts} WHERE {dated} AND changes() = 0;"
        )

    def _remove(self, row: str) -> str:
        """Count a registration out. A day's row may reach zero rows and stay: readers skip
        groups without rows, as a query of the rows themselves has none."""
        shrink = "".join(f', "{m}" = "{m}" - COALESCE({row}."{m}", 0)' for m in self.money)
        return (
            f'UPDATE "{self.table}" SET "rows" = "rows" - 1{shrink} '
            f'WHERE {row}."{self.date}" IS NOT NULL AND {self._matches(row)};'
        )

    # --- PostgreSQL: the same three triggers, in PL/pgSQL ---

    def _pg_matches(self, row: str) -> str:
        """= for the key columns that are never NULL, so the key index finds the day's rows."""
        pairs = zip(self.key_columns, self._key_values(row), strict=True)
        return " AND ".join(
            f'"{column}" = {value}'
            if column in ("data_source_id", "livemode", "day")
            else f'"{column}" IS NOT DISTINCT FROM {value}'
            for column, value in pairs
        )

    def _pg_add(self, row: str) -> str:
        grow = "".join(f', "{m}" = "{m}" + COALESCE({row}."{m}", 0)' for m in self.money)
        amounts = "".join(f', COALESCE({row}."{m}", 0)' for m in self.money)
        return (
            f'IF {row}."{self.date}" IS NOT NULL THEN '
            f'UPDATE "{self.table}" SET "rows" = "rows" + 1{grow} WHERE {self._pg_matches(row)}; '
            f'IF NOT FOUND THEN INSERT INTO "{self.table}" ({self._key_list}, "rows"'
            f"{self._money_list}) VALUES ({', '.join(self._key_values(row))}, 1{amounts}); "
            "END IF; END IF;"
        )

    def _pg_remove(self, row: str) -> str:
        shrink = "".join(f', "{m}" = "{m}" - COALESCE({row}."{m}", 0)' for m in self.money)
        return (
            f'IF {row}."{self.date}" IS NOT NULL THEN '
            f'UPDATE "{self.table}" SET "rows" = "rows" - 1{shrink} '
            f"WHERE {self._pg_matches(row)}; END IF;"
        )

    def _pg_triggers(self) -> list[str]:
        insert, delete, update = self.trigger_names
        watched = [c for c in self.key_columns if c != "day"] + [self.date, *self.money]
        changed = " OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in watched)
        of = ", ".join(f'"{c}"' for c in watched)
        bodies = {
            insert: ("INSERT", "", self._pg_add("NEW")),
            delete: ("DELETE", "", self._pg_remove("OLD")),
            update: (
                f"UPDATE OF {of}",
                f" WHEN ({changed})",
                self._pg_remove("OLD") + " " + self._pg_add("NEW"),
            ),
        }
        statements = []
        for name, (event, when, body) in bodies.items():
            statements += [
                f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS '
                f"$$ BEGIN {body} RETURN NULL; END $$",
                f'CREATE TRIGGER "{name}" AFTER {event} ON "{self.source}" FOR EACH ROW{when} '
                f'EXECUTE FUNCTION "{name}"()',
            ]
        return statements

    def _triggers(self) -> list[str]:
        insert, delete, update = self.trigger_names
        watched = [c for c in self.key_columns if c != "day"] + [self.date, *self.money]
        changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in watched)
        of = ", ".join(f'"{c}"' for c in watched)
        return [
            f'CREATE TRIGGER "{insert}" AFTER INSERT ON "{self.source}" '
            f"BEGIN {self._add('NEW')} END",
            f'CREATE TRIGGER "{delete}" AFTER DELETE ON "{self.source}" '
            f"BEGIN {self._remove('OLD')} END",
            # A re-import rewrites every row it reads; most change nothing the rollup holds.
            f'CREATE TRIGGER "{update}" AFTER UPDATE OF {of} ON "{self.source}" '
            f"WHEN {changed} BEGIN {self._remove('OLD')} {self._add('NEW')} END",
        ]


def rollup_for(data_type: DataType) -> Rollup | None:
    money = AGGREGATED_MONEY.get(data_type.name)
    if not money or not data_type.has_field("currency"):
        return None
    return Rollup(
        table=f"rollup_{data_type.name}",
        source=f"registrations_{data_type.name}",
        date=data_type.field(data_type.default_date_field).column,
        kind=kind_column(data_type),
        money=tuple(data_type.field(m).column for m in money),
    )


def ensure_rollup(db: pw.Database, data_type: DataType) -> bool:
    """Create the type's rollup and fill it from its rows, when the database has none yet;
    True when it did. Run inside the caller's transaction, after the registrations table."""
    rollup = rollup_for(data_type)
    if rollup is None:
        return False
    dialect = dialect_of(db)
    if db.table_exists(rollup.table):
        present = dialect.trigger_names(db, rollup.source)
        columns = {c.name for c in db.get_columns(rollup.table)}
        if present >= set(rollup.trigger_names) and columns >= set(rollup.key_columns):
            return False
        # Triggers lost (a tool that rebuilt the table), or totals kept by another key (an
        # older version's): they cannot answer, and are made again from the rows.
        for name in rollup.trigger_names:
            on = f' ON "{rollup.source}"' if dialect is POSTGRES else ""
            db.execute_sql(f'DROP TRIGGER IF EXISTS "{name}"{on}')
        db.execute_sql(f'DROP TABLE "{rollup.table}"')
    for statement in rollup.create(dialect):
        db.execute_sql(statement)
    db.execute_sql(rollup.fill())
    return True
