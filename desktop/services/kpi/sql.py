"""An aggregate of a formula as one SQL query, for one period or a series of buckets,
optionally grouped by a field: the plain query, and the shapes that let SQLite answer from an
index or from the day totals (store.rollups) instead of reading every row."""

from __future__ import annotations

from desktop.services.kpi.binder import BoundAggregate
from desktop.store import dialect
from desktop.store.rollups import DAY


def aggregate_sql(agg: BoundAggregate, ranges, group_sql: str | None) -> tuple[str, list, bool]:
    """The query and its parameters. Its rows are (range index, [group,] [currency,] value);
    the flag is True when a bucket without rows comes back as a row whose value is NULL
    (the grouped query has no row for it)."""
    column = agg.field.sql if agg.field is not None else None
    expression = {
        "count": "COUNT(*)",
        "countunique": f"COUNT(DISTINCT {column})",
        "sum": dialect.current().total(column),
        "avg": f"AVG({column})",
        "min": f"MIN({column})",
        "max": f"MAX({column})",
    }[agg.function]
    keys = []
    if group_sql is not None:
        keys.append(group_sql)
    if agg.currency_sql is not None:
        keys.append(agg.currency_sql)
    select_keys = "".join(f"{k}, " for k in keys)
    # One range: group by the keys alone. A constant in GROUP BY would keep SQLite from
    # reading the aggregation index in currency order, and it would sort every row.
    positions = [str(n + 2) for n in range(len(keys))]
    if len(ranges) > 1:
        positions.insert(0, "1")
    group_by = f" GROUP BY {', '.join(positions)}" if positions else ""
    # Series per bucket: one small query per bucket (and currency) rather than all the
    # period's rows grouped through a temporary B-tree (see _per_bucket_sql).
    per_bucket = len(ranges) > 1 and group_sql is None and agg.date_indexed
    days = _whole_days(ranges[0]) if len(ranges) == 1 and agg.rollup else None
    if days and (group_sql is None or group_sql in agg.rollup_keys):
        sql, params = _rolled_up_sql(agg, keys, ranges[0], days)
    elif per_bucket and (agg.currency_sql in (None, "NULL") or agg.fixed_currency):
        sql, params = _per_bucket_sql(agg, expression, ranges)
    elif per_bucket and agg.one_mode_indexed is not None:
        sql, params = _per_bucket_and_currency_sql(agg, expression, ranges)
    elif len(ranges) == 1 and keys == ['"currency"'] and agg.one_mode_indexed is not None:
        sql, params = _sum_by_currency_sql(agg, expression, ranges[0])
    elif len(ranges) == 1:
        start, end = ranges[0]
        sql = (
            f'SELECT 0, {select_keys}{expression} FROM "{agg.table}" '
            f'WHERE "data_source_id" = ? AND {agg.date_sql} >= ? AND {agg.date_sql} < ? '
            f"AND ({agg.where}){group_by}"
        )
        params = [agg.data_source_id, start, end, *agg.params]
    else:
        per_bucket = False
        sql = (
            f"WITH bucket(i, s, e) AS (VALUES {_buckets(ranges)}) "
            f'SELECT bucket.i, {select_keys}{expression} FROM bucket JOIN "{agg.table}" '
            f"ON {agg.date_sql} >= bucket.s AND {agg.date_sql} < bucket.e "
            f'WHERE "data_source_id" = ? AND ({agg.where}){group_by}'
        )
        params = [*_bucket_params(ranges), agg.data_source_id, *agg.params]
    return sql, params, per_bucket


# The rows of one mode of one data source; ?1 and ?2 are numbered, so a statement can use
# them several times and give its other parameters (bare ?) after them, in order.
_ONE_MODE = '"data_source_id" = ?1 AND "livemode" = ?2'


def _buckets(ranges) -> str:
    return ", ".join("(?, ?, ?)" for _ in ranges)


def _bucket_params(ranges) -> list:
    return [v for i, (s, e) in enumerate(ranges) for v in (i, s, e)]


def _currencies_cte(table: str) -> str:
    """A loose index scan: the currencies of one mode (?1 data source, ?2 livemode), each
    found by one seek in the aggregation index instead of reading its rows."""
    return (
        f'currencies(c) AS (SELECT (SELECT MIN("currency") FROM {table} WHERE {_ONE_MODE}) '
        f'UNION ALL SELECT (SELECT MIN("currency") FROM {table} WHERE {_ONE_MODE} '
        'AND "currency" > c) FROM currencies WHERE c IS NOT NULL)'
    )


def _bucket_value(agg: BoundAggregate, expression: str, where: str) -> str:
    """The aggregate over one bucket's rows (NULL when it has none), correlated to `bucket`."""
    date = agg.date_sql
    return (
        f'(SELECT CASE WHEN COUNT(*) > 0 THEN {expression} END FROM "{agg.table}" '
        f"WHERE {where} AND {date} >= bucket.s AND {date} < bucket.e AND ({agg.where}))"
    )


def _per_bucket_sql(agg: BoundAggregate, expression: str, ranges) -> tuple[str, list]:
    """A series of one currency (or none): each bucket read on its own in the index, by a
    subquery: grouping a year of days in one query puts every row through a temporary B-tree
    (bench/RESULTS.md has the figures)."""
    key, key_params = "", []
    if agg.currency_sql == "NULL":
        key = "NULL, "
    elif agg.currency_sql is not None:
        key, key_params = "?, ", [agg.fixed_currency]
    value = _bucket_value(agg, expression, '"data_source_id" = ?')
    sql = f"WITH bucket(i, s, e) AS (VALUES {_buckets(ranges)}) "
    sql += f"SELECT bucket.i, {key}{value} FROM bucket"
    return sql, [*_bucket_params(ranges), *key_params, agg.data_source_id, *agg.params]


def _per_bucket_and_currency_sql(agg: BoundAggregate, expression: str, ranges) -> tuple[str, list]:
    """A series per currency of one mode: each bucket of each currency read on its own, the
    currencies found by a loose index scan, where grouping would read every row of the mode.
    Rows without a currency make a series of their own."""
    in_currency = _bucket_value(agg, expression, _ONE_MODE + ' AND "currency" = c')
    without = _bucket_value(agg, expression, _ONE_MODE + ' AND "currency" IS NULL')
    currencies = _currencies_cte('"' + agg.table + '"')
    sql = (
        f"WITH RECURSIVE {currencies}, "
        f"bucket(i, s, e) AS (VALUES {_buckets(ranges)}) "
        f"SELECT bucket.i, c, {in_currency} FROM bucket, currencies WHERE c IS NOT NULL "
        f"UNION ALL SELECT bucket.i, NULL, {without} FROM bucket"
    )
    # ?1 and ?2 are numbered; then the buckets, then the filter's parameters for each use.
    params = [agg.data_source_id, agg.one_mode_indexed, *_bucket_params(ranges)]
    return sql, [*params, *agg.params * 2]


def _whole_days(period) -> tuple[int, int] | None:
    """The whole UTC days [first, last) inside a period, None when there are none. Day 0 is
    left to the rows: the rollup's day 0 also holds the day before 1970 (integer division)."""
    start, end = period
    first, last = max(1, -(-start // DAY)), end // DAY
    return (first, last) if first < last else None


def _rolled_up_sql(agg: BoundAggregate, keys: list[str], period, days) -> tuple[str, list]:
    """A Count or Sum for one period from the rollup's totals of its whole UTC days, and from
    the rows for the hours before the first and after the last (store.rollups): a few hundred
    day rows for a year, instead of every index entry. The filter names only columns the
    rollup has, so it reads the same there."""
    start, end = period
    first, last = days
    total = dialect.current().total(agg.field.sql) if agg.function == "sum" else None
    rolled, raw = (total, total) if total else ('SUM("rows")', "COUNT(*)")
    named = "".join(f"{key} AS k{n}, " for n, key in enumerate(keys))
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    parts = [
        f'SELECT {named}{rolled} AS v, SUM("rows") AS n FROM "{agg.rollup}" '
        f'WHERE "data_source_id" = ? AND "day" >= ? AND "day" < ? AND ({agg.where}){group}'
    ]
    params: list = [agg.data_source_id, first, last, *agg.params]
    for low, high in ((start, first * DAY), (last * DAY, end)):
        if low < high:
            parts.append(
                f'SELECT {named}{raw}, COUNT(*) FROM "{agg.table}" '
                f'WHERE "data_source_id" = ? AND {agg.date_sql} >= ? AND {agg.date_sql} < ? '
                f"AND ({agg.where}){group}"
            )
            params += [agg.data_source_id, low, high, *agg.params]
    value = dialect.current().total("v") if total else "COALESCE(SUM(v), 0)"
    outer = "".join(f"k{n}, " for n in range(len(keys)))
    # Grouped, a group whose rows were all deleted keeps a day row of none: left out, as the
    # rows themselves would have no group for it.
    grouped = f" GROUP BY {outer[:-2]} HAVING SUM(n) > 0" if keys else ""
    sql = f"SELECT 0, {outer}{value} FROM ({' UNION ALL '.join(parts)}) AS part{grouped}"
    return sql, params


def _sum_by_currency_sql(agg: BoundAggregate, expression: str, period) -> tuple[str, list]:
    """The usual KPI, an amount per currency of one mode in a period, read from the
    aggregation index (data source, livemode, currency, date, ...) one currency at a time.

    Grouped in one pass, SQLite reads every row of the mode in the index, whatever the period,
    as the currency comes before the date. Here the currencies are found first, a few index
    seeks (a loose index scan), and each is then read for the period alone. Rows without a
    currency are summed on their own, as the grouped query would."""
    table, date = f'"{agg.table}"', agg.date_sql
    period_where = f"{date} >= ?3 AND {date} < ?4 AND ({agg.where})"
    sql = (
        f"WITH RECURSIVE {_currencies_cte(table)} "
        f'SELECT 0, "currency", {expression} FROM {table} WHERE {_ONE_MODE} '
        f'AND "currency" IN (SELECT c FROM currencies) AND {period_where} GROUP BY 2 '
        f"UNION ALL SELECT 0, NULL, {expression} FROM {table} WHERE {_ONE_MODE} "
        f'AND "currency" IS NULL AND {period_where} GROUP BY 2'
    )
    start, end = period
    # ?1 to ?4 are numbered; the filter's own parameters follow, once for each of its uses.
    return sql, [agg.data_source_id, agg.one_mode_indexed, start, end, *agg.params * 2]
