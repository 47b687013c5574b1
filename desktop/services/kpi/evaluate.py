"""Evaluating a checked formula: values per currency (money never mixes currencies), the
arithmetic and If over them, division by zero as an empty value, and a KPI's value for a
period. Each aggregate is one query (sql), run once per Evaluator however often it appears."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from desktop.catalog import minor_unit_divisor
from desktop.services.kpi.binder import Bound, BoundAggregate, Catalog, Checked, check
from desktop.services.kpi.periods import ALL_TIME_RANGE
from desktop.services.kpi.sql import aggregate_sql
from desktop.services.kpi.syntax import Binary, FormulaError, IfNode, Negate, Number
from desktop.services.query import Logic
from desktop.store.models import DataSource

# A value is a mapping from currency to number: {None: 3.0} for a plain number, {"usd": 12.5,
# "eur": 3.0} for money, {} for a sum of no money at all. A number is None when it is empty.
Value = dict


@dataclass(frozen=True)
class Slots:
    """Where a formula is evaluated: time ranges [start, end), optionally split by a field."""

    ranges: tuple[tuple[int, int], ...]
    group_by: str | None = None


@dataclass
class Evaluation:
    """Values of one formula per (range index, group)."""

    values: dict[tuple[int, object], Value]
    groups: list = field(default_factory=list)
    money: bool = False


class Evaluator:
    """Runs checked formulas. Identical aggregates run once per Evaluator (a refresh)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._cache: dict[tuple, dict] = {}
        self.queries = 0  # how many SQL queries ran, for tests and benchmarks

    def evaluate(self, checked: Checked, slots: Slots) -> Evaluation:
        results = [self._run(agg, slots) for agg in checked.aggregates]
        groups: list = [None]
        if slots.group_by is not None:
            seen: dict = {}
            for result in results:
                for _index, group in result:
                    seen.setdefault(group, None)
            groups = list(seen)
        values = {}
        for index in range(len(slots.ranges)):
            for group in groups:
                cell = _Cell(results, checked.aggregates, index, group)
                values[(index, group)] = cell.value(checked.tree)
        return Evaluation(values, groups if slots.group_by is not None else [], checked.money)

    def _run(self, agg: BoundAggregate, slots: Slots) -> dict:
        group_sql = None
        if slots.group_by is not None:
            ds = self.catalog.source(agg.data_source_id)
            fields = self.catalog.fields(ds)
            if slots.group_by not in fields:
                raise FormulaError(
                    f"{agg.data_source_title} has no field '{slots.group_by}' to group by",
                    agg.pos,
                )
            group_sql = fields[slots.group_by].sql
        key = (agg, slots.ranges, group_sql)
        if key not in self._cache:
            self._cache[key] = self._query(agg, slots.ranges, group_sql)
        return self._cache[key]

    def _query(self, agg: BoundAggregate, ranges, group_sql: str | None) -> dict:
        """{(range index, group): {currency: number}} from one SQL query."""
        sql, params, per_bucket = aggregate_sql(agg, ranges, group_sql)
        self.queries += 1
        rows = DataSource._meta.database.execute_sql(sql, params).fetchall()
        result: dict = {}
        for row in rows:
            index = row[0]
            group = _group_value(row[1], agg) if group_sql is not None else None
            currency = row[-2] if agg.currency_sql is not None else None
            number = row[-1]
            if number is None and per_bucket:
                continue  # a bucket without rows: as the grouped query, which has no row for it
            if agg.currency_sql is not None:
                if number is None:
                    continue
                currency = (currency or "").lower() or None
                number = number / minor_unit_divisor(currency)
            elif number is not None:
                number = float(number)
            result.setdefault((index, group), {})[currency] = number
        return result


def _group_value(value, agg: BoundAggregate):
    if value is None or value == "":
        return None
    return value


class _Cell:
    """Evaluates the checked tree for one (range, group)."""

    def __init__(self, results, aggregates, index, group) -> None:
        self.results = results
        self.aggregates = aggregates
        self.index = index
        self.group = group

    def value(self, node) -> Value:
        if isinstance(node, Number):
            return {None: node.value}
        if isinstance(node, Bound):
            agg = self.aggregates[node.index]
            found = self.results[node.index].get((self.index, self.group))
            if found:
                return dict(found)
            if agg.function in ("count", "countunique", "sum"):
                return {} if agg.money else {None: 0.0}
            return {None: None}
        if isinstance(node, Negate):
            return {c: (None if v is None else -v) for c, v in self.value(node.operand).items()}
        if isinstance(node, Binary):
            return combine(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, IfNode):
            return self.value(node.then if self.truth(node.condition) else node.otherwise)
        raise TypeError(node)  # pragma: no cover

    def truth(self, node) -> bool:
        if isinstance(node, Logic):
            if node.op == "not":
                return not self.truth(node.parts[0])
            results = (self.truth(p) for p in node.parts)
            return all(results) if node.op == "and" else any(results)
        left, right = (
            single(self.value(node.left), node.pos),
            single(self.value(node.right), node.pos),
        )
        if left is None or right is None:
            return False
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]


def single(value: Value, pos: int | None = None) -> float | None:
    """One number from a value: empty money is 0; several currencies cannot be one number."""
    if not value:
        return 0.0
    if len(value) > 1:
        raise FormulaError(
            "This compares amounts in several currencies; filter one currency "
            '(currency = "usd") to compare them',
            pos,
        )
    return next(iter(value.values()))


def combine(op: str, left: Value, right: Value) -> Value:
    """Arithmetic on values, currency by currency; a plain number applies to every currency."""
    if not left and not right:
        return {}
    if set(left) <= {None} and set(right) <= {None}:
        return {None: _arith(op, left.get(None, 0.0), right.get(None, 0.0))}
    if set(left) <= {None} and left:
        return {c: _arith(op, left[None], v) for c, v in right.items()}
    if set(right) <= {None} and right:
        return {c: _arith(op, v, right[None]) for c, v in left.items()}
    additive = op in ("+", "-")
    result = {}
    for currency in list(dict.fromkeys([*left, *right])):
        a = left.get(currency, 0.0 if additive else None)
        b = right.get(currency, 0.0 if additive else None)
        result[currency] = _arith(op, a, b)
    return result


def _arith(op: str, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None  # division by zero: an empty value, not an error
    return a / b


# --- one KPI value -------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiValue:
    """A formula's value for a period: one number, or one per currency."""

    value: float | None
    currency: str | None
    per_currency: dict[str, float | None]
    start: int
    end: int
    money: bool

    @classmethod
    def of(cls, value: Value, start: int, end: int, money: bool) -> KpiValue:
        currencies = {c: v for c, v in value.items() if c is not None}
        if len(currencies) > 1:
            return cls(None, None, dict(sorted(currencies.items())), start, end, money)
        if currencies:
            ((currency, number),) = currencies.items()
            return cls(number, currency, {currency: number}, start, end, money)
        number = value.get(None, 0.0) if value else 0.0
        return cls(number, None, {}, start, end, money)

    def as_json(self, time_zone: str) -> dict:
        """value, currency (or values per currency), start and end in ISO 8601."""
        zone = ZoneInfo(time_zone)
        result: dict = {"value": self.value}
        if len(self.per_currency) > 1:
            result["values"] = self.per_currency
        elif self.currency:
            result["currency"] = self.currency
        all_time = (self.start, self.end) == ALL_TIME_RANGE
        for name, seconds in (("start", self.start), ("end", self.end)):
            result[name] = (
                None if all_time else dt.datetime.fromtimestamp(seconds, zone).isoformat()
            )
        return result


def evaluate(
    text: str, catalog: Catalog, start: int, end: int, evaluator: Evaluator | None = None
) -> KpiValue:
    checked = check(text, catalog)
    evaluation = (evaluator or Evaluator(catalog)).evaluate(checked, Slots(((start, end),)))
    return KpiValue.of(evaluation.values[(0, None)], start, end, checked.money)
