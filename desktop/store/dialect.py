"""The one place that knows how SQLite and PostgreSQL differ.

Services write their SQL once, in SQLite's words where both engines agree, with `?` for
parameters (numbered `?1` too); what differs they ask of the database's dialect: reading a
field from the stored JSON, a sum that is 0 over no rows, a case-blind LIKE, field
discovery, and the day totals' triggers. On PostgreSQL:

- `PostgresStore.execute_sql` turns `?` (and peewee's `%s`) into PostgreSQL's `$N` (cached
  per statement), so the same statement text runs on both.
- Booleans are SMALLINT 0 and 1, as SQLite keeps them: every filter compares them with 1 and
  0, and a Python bool binds as 1 or 0.
- The stored object is `jsonb`; it reads back as its text, as SQLite's does.
- NUMERIC (a SUM of integers, an AVG) reads back as int or float, as SQLite's numbers do.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Sequence

import peewee

from desktop.catalog import Kind


class JsonTextField(peewee.TextField):
    """A Stripe object as JSON text: TEXT on SQLite, jsonb on PostgreSQL."""

    field_type = "JSONTEXT"


class SqliteStore(peewee.SqliteDatabase):
    field_types = {**peewee.SqliteDatabase.field_types, "JSONTEXT": "TEXT"}


class PostgresStore(peewee.PostgresqlDatabase):
    field_types = {**peewee.PostgresqlDatabase.field_types, "BOOL": "SMALLINT", "JSONTEXT": "JSONB"}

    def init(self, database, **kwargs):
        _give_peewee_psycopg()
        kwargs.setdefault("prefer_psycopg3", True)
        super().init(database, **kwargs)

    def _connect(self):
        conn = super()._connect()
        conn.cursor_factory = _numbered_cursor()  # every cursor, raw ones a service asks for too
        _adapt(conn.adapters)
        # Each thread has its own connection: closed when the thread ends, not left to the
        # garbage collector (the server keeps a process per open connection).
        self._state.closer = _CloseWithThread(conn)
        return conn

    def execute_sql(self, sql, params=None):
        if params:
            sql, params = to_driver(sql, params)
        return self._execute_plain(sql, params or None)

    def _execute_plain(self, sql, params):
        # Without parameters psycopg sends the text as it is (a '%' in a literal stays one).
        self._log_query(sql, params)
        start = time.perf_counter() if self.query_hooks else None
        try:
            with peewee.__exception_wrapper__:
                cursor = self.cursor()
                cursor.execute(sql, params)
        except (peewee.OperationalError, peewee.InterfaceError):
            if not self._reconnected():
                raise
            with peewee.__exception_wrapper__:  # once more, on the new connection
                cursor = self.cursor()
                cursor.execute(sql, params)
        if start is not None:
            self._notify_hooks(sql, params, start, None)
        return cursor

    def begin(self, *args, **kwargs):
        try:
            super().begin(*args, **kwargs)
        except (peewee.OperationalError, peewee.InterfaceError):
            if not self._reconnected():
                raise
            super().begin(*args, **kwargs)  # nothing had begun: the same, on a new connection

    def _reconnected(self) -> bool:
        """After the server restarted or the network dropped, a new connection for this
        thread, when no transaction was open on the old one (its work is lost: the caller
        hears of it); True when made."""
        conn = self._state.conn
        if conn is None or not conn.broken or self._state.transactions:
            return False
        with contextlib.suppress(Exception):
            conn.close()
        self._state.reset()
        try:
            self.connect()
        except peewee.OperationalError:
            return False
        return True

    def execute(self, query, **context_options):
        # peewee's own SQL speaks psycopg's placeholders, unless an SQL("?") part was added.
        ctx = self.get_sql_context(**context_options)
        sql, params = ctx.sql(query).query()
        if params:
            sql, params = to_driver(sql, params)
        return self._execute_plain(sql, params or None)


def _give_peewee_psycopg() -> None:
    """peewee was imported without its PostgreSQL drivers (desktop/__init__.py): give it
    psycopg now, as its own import would have."""
    if peewee.psycopg is not None:
        return
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.types.json import Json, Jsonb

    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN
    peewee.psycopg = psycopg  # last: the one peewee checks


class _CloseWithThread:
    def __init__(self, conn) -> None:
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


def _adapt(adapters) -> None:
    from psycopg import postgres
    from psycopg.adapt import Dumper, Loader
    from psycopg.types.string import TextLoader

    class BoolAsSmallint(Dumper):
        oid = postgres.types["int2"].oid

        def dump(self, obj):
            return b"1" if obj else b"0"

    class NumericAsNumber(Loader):
        def load(self, data):
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEN") else int(text)

    adapters.register_dumper(bool, BoolAsSmallint)
    adapters.register_loader("numeric", NumericAsNumber)
    adapters.register_loader("jsonb", TextLoader)
    adapters.register_loader("json", TextLoader)


_PLACEHOLDERS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\?(\d*)|%s""")


@functools.lru_cache(maxsize=4096)
def to_numbered(sql: str) -> str:
    """SQLite's `?` and `?N` (and peewee's `%s`) as PostgreSQL's own `$N`, numbered as SQLite
    numbers them, so the parameters stay as they are. psycopg's raw cursor sends `$N` as it
    is: its `%s` parsing, in Python, had cost a sync's writes more than the server's work."""
    highest = 0
    pieces: list[str] = []
    last = 0
    for match in _PLACEHOLDERS.finditer(sql):
        token = match.group(0)
        if token[0] in "'\"":
            continue  # a literal or a name: a `?` in it is no parameter
        pieces.append(sql[last : match.start()])
        last = match.end()
        number = int(match.group(1)) if match.group(1) else highest + 1
        highest = max(highest, number)
        pieces.append(f"${number}")
    pieces.append(sql[last:])
    return "".join(pieces)


@functools.cache
def _numbered_cursor():
    """psycopg's raw cursor (`$N` sent as it is), taking SQLite's `?` and `%s` as well."""
    import psycopg

    class NumberedCursor(psycopg.RawCursor):
        def execute(self, query, params=None, **options):
            if params and isinstance(query, str):
                query = to_numbered(query)
            return super().execute(query, params, **options)

        def executemany(self, query, params_seq, **options):
            if isinstance(query, str):
                query = to_numbered(query)
            return super().executemany(query, params_seq, **options)

    return NumberedCursor


def to_driver(sql: str, params: Sequence) -> tuple[str, Sequence]:
    """A statement with `?` parameters as PostgreSQL (psycopg's raw cursor) takes it."""
    return to_numbered(sql), params


# --- the dialects ---------------------------------------------------------------------------


class SqliteDialect:
    name = "sqlite"
    like = "LIKE"  # case-blind for ASCII already
    big_integer = "INTEGER"

    def json_field(self, key: str, kind: Kind) -> str:
        path = "$" + "".join(f'."{part}"' for part in key.split("."))
        return "json_extract(\"data\", '{}')".format(path.replace("'", "''"))

    def total(self, expression: str) -> str:
        """A sum that is 0, not NULL, over no rows."""
        return f"TOTAL({expression})"

    def one_of(self, column: str, values: Sequence) -> tuple[str, list]:
        """A column equal to one of the values: (SQL, its parameters)."""
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    def statements(self, statements):
        return statements

    def first_statistics(self, tables: Sequence[str]) -> list[tuple[str, tuple]]:
        """Statistics for tables that have none (PostgreSQL's planner needs them)."""
        return []

    def trigger_names(self, db: peewee.Database, table: str) -> set[str]:
        rows = db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        ).fetchall()
        return {name for (name,) in rows}

    def metadata_types_sql(self, table: str) -> str:
        """(key, JSON type) of every metadata key in a data source's rows (? = its id)."""
        return f"""SELECT meta.key, MIN(meta.type)
            FROM "{table}" AS r, json_each(r.data, '$.metadata') AS meta
            WHERE r.data_source_id = ? AND instr(r.data, '"metadata":{{}}') = 0
              AND json_valid(r.data)
            GROUP BY meta.key"""

    def scalar_types_sql(self, table: str) -> str:
        """(dotted key, JSON type) of the scalars nested up to ?3 levels in the newest ?2 rows
        of a data source (?1), outside metadata and arrays."""
        # SQLite quotes some labels in fullkey ($.outcome."risk_score"): drop the quotes.
        return f"""SELECT replace(substr(node.fullkey, 3), '"', ''), MIN(node.type)
            FROM (SELECT data FROM "{table}" WHERE data_source_id = ?1 AND json_valid(data)
                  ORDER BY pk DESC LIMIT ?2) AS r, json_tree(r.data) AS node
            WHERE node.type NOT IN ('object', 'array', 'null')
              AND node.fullkey NOT LIKE '%[%'
              AND node.fullkey NOT LIKE '$.metadata.%'
              AND CAST(node.key AS TEXT) NOT LIKE '%.%'
              AND (length(node.fullkey) - length(replace(node.fullkey, '.', ''))) <= ?3
            GROUP BY 1"""


# A jsonb value's type in SQLite's JSON1 words (true, false, integer, real, text, ...).
_PG_JSON_TYPE = """CASE jsonb_typeof({v})
    WHEN 'boolean' THEN {v}::text
    WHEN 'number' THEN CASE WHEN {v}::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
    WHEN 'string' THEN 'text' ELSE jsonb_typeof({v}) END"""


class PostgresDialect:
    name = "postgresql"
    like = "ILIKE"
    big_integer = "BIGINT"

    def json_field(self, key: str, kind: Kind) -> str:
        path = "ARRAY[{}]".format(
            ", ".join("'{}'".format(p.replace("'", "''")) for p in key.split("."))
        )
        if kind in (Kind.MONEY, Kind.NUMBER, Kind.DATETIME):
            return (
                f"(CASE WHEN jsonb_typeof(\"data\" #> {path}) = 'number' "
                f'THEN ("data" #>> {path})::numeric END)'
            )
        if kind is Kind.BOOL:
            return f"(CASE \"data\" #> {path} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
        return f'("data" #>> {path})'

    def total(self, expression: str) -> str:
        return f"COALESCE(SUM({expression}), 0)"

    def one_of(self, column: str, values: Sequence) -> tuple[str, list]:
        """One array parameter, not one parameter a value: a prepared statement's generic
        plan builds `IN ($2, $3, ...)` anew for every row it reads and cannot look the values
        up in an index (a sync's deletes of replaced fee details read every earlier one)."""
        return f"{column} = ANY(?)", [list(values)]

    def statements(self, statements):
        return [to_driver(sql, params) for sql, params in statements]

    def first_statistics(self, tables: Sequence[str]) -> list[tuple[str, tuple]]:
        """ANALYZE, in the same transaction, of each table that has no statistics yet (a new
        store's first import). Without them the planner takes `data_source_id = ?` to pick
        out 1 row in 200, and the deletes of a page's replaced fee details read every earlier
        fee detail of the data source: the import slowed as it went, a third of its time in
        them. Autovacuum comes by only after a minute, and then only when the table has grown
        by a tenth. ANALYZE counts this transaction's own rows; the statistics (one data
        source's rows, say) stay true as the table grows."""
        return [
            (
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = "
                f"current_schema() AND tablename = '{table}') THEN ANALYZE \"{table}\"; "
                "END IF; END $$",
                (),
            )
            for table in tables
        ]

    def trigger_names(self, db: peewee.Database, table: str) -> set[str]:
        rows = db.execute_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
            (f'"{table}"',),
        ).fetchall()
        return {name for (name,) in rows}

    def metadata_types_sql(self, table: str) -> str:
        kind = _PG_JSON_TYPE.format(v="meta.value")
        return f"""SELECT meta.key, MIN({kind})
            FROM "{table}" AS r, jsonb_each(CASE WHEN jsonb_typeof(r.data -> 'metadata')
                = 'object' THEN r.data -> 'metadata' ELSE '{{}}'::jsonb END) AS meta
            WHERE r.data_source_id = ?
            GROUP BY meta.key"""

    def scalar_types_sql(self, table: str) -> str:
        kind = _PG_JSON_TYPE.format(v="node.value")
        return f"""WITH RECURSIVE node(path, value, depth) AS (
                SELECT e.key, e.value, 1
                FROM (SELECT data FROM "{table}" WHERE data_source_id = ?1
                      ORDER BY pk DESC LIMIT ?2) AS r, jsonb_each(r.data) AS e
                WHERE jsonb_typeof(r.data) = 'object' AND position('.' in e.key) = 0
                UNION ALL
                SELECT node.path || '.' || e.key, e.value, node.depth + 1
                FROM node, jsonb_each(node.value) AS e
                WHERE jsonb_typeof(node.value) = 'object' AND node.depth < ?3
                  AND node.path != 'metadata' AND position('.' in e.key) = 0
            )
            SELECT path, MIN({kind}) FROM node
            WHERE jsonb_typeof(value) NOT IN ('object', 'array', 'null')
            GROUP BY 1"""


SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()


def dialect_of(db) -> SqliteDialect | PostgresDialect:
    """The dialect of a database, or of the one the models' proxy is bound to."""
    target = getattr(db, "obj", db)  # a DatabaseProxy
    return POSTGRES if isinstance(target, peewee.PostgresqlDatabase) else SQLITE


def current() -> SqliteDialect | PostgresDialect:
    """The dialect of the store the models are bound to (one per process)."""
    from desktop.store.db import database

    return dialect_of(database)
