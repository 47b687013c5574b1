"""Binding a formula to the store: names become data sources and fields, saved formulas
(`[Name]`) are expanded, each aggregate's filter becomes SQL (services/query's compiler), and
what the filter keeps decides which index or day totals can answer it (sql)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from desktop.catalog import DATA_TYPES, Kind
from desktop.services.kpi.syntax import (
    FUNCTIONS,
    Aggregate,
    Binary,
    Compare,
    FormulaError,
    IfNode,
    Negate,
    Number,
    Reference,
    parse,
)
from desktop.services.query import (
    FieldRef,
    FilterCompiler,
    Logic,
    Name,
    kind_word,
    read_fields,
    retired_fields,
)
from desktop.store.models import (
    DataSource,
    aggregation_index,
    indexed_dates,
    registration_model,
)
from desktop.store.rollups import rollup_for

NUMERIC_KINDS = (Kind.MONEY, Kind.NUMBER, Kind.DATETIME)


@dataclass(frozen=True)
class BoundAggregate:
    """An aggregate checked against the store, ready to run as one query."""

    function: str
    data_source_id: int
    data_source_title: str
    table: str
    field: FieldRef | None
    where: str  # the filter as SQL ("TRUE" when there is none)
    params: tuple
    filter_text: str
    date_sql: str
    date_key: str
    currency_sql: str | None  # set when the values are money, to keep currencies apart
    pos: int
    # True or False when the filter keeps only live or only sample rows, on a table whose
    # aggregation index begins (data source, livemode, currency): see sql.aggregate_sql.
    one_mode_indexed: bool | None = None
    fixed_currency: str | None = None  # money the filter keeps in one currency
    date_indexed: bool = False  # periods of date_key are found in an index
    # The rollup table whose day totals answer this aggregate for a period (store.rollups),
    # and the columns a grouping may name to be answered there too.
    rollup: str | None = None
    rollup_keys: tuple[str, ...] = ()

    @property
    def money(self) -> bool:
        return self.currency_sql is not None


@dataclass(frozen=True)
class Checked:
    """A formula whose every name is known: its tree, with aggregates bound to the store."""

    text: str
    tree: object
    aggregates: tuple[BoundAggregate, ...]

    @property
    def money(self) -> bool:
        return any(a.money for a in self.aggregates)


class Catalog:
    """The store's data sources and fields, as formulas name them."""

    def __init__(
        self,
        *,
        time_zone: str = "UTC",
        week_start: int = 0,
        saved: Callable[[str], str | None] | None = None,
        saved_names: Callable[[], list[str]] | None = None,
    ) -> None:
        self.time_zone = time_zone
        self.week_start = week_start
        self._saved = saved or (lambda _name: None)
        self._saved_names = saved_names or list
        self.data_sources = list(DataSource.select().order_by(DataSource.id))
        self._compilers: dict[int, FilterCompiler] = {}

    def source(self, data_source_id: int) -> DataSource | None:
        return next((d for d in self.data_sources if d.id == data_source_id), None)

    def compiler(self, data_source: DataSource) -> FilterCompiler:
        """The filter compiler over the data source's fields (read once per catalog)."""
        if data_source.id not in self._compilers:
            self._compilers[data_source.id] = FilterCompiler(
                read_fields(data_source),
                time_zone=self.time_zone,
                week_start=self.week_start,
                error=FormulaError,
                retired=retired_fields(data_source),
            )
        return self._compilers[data_source.id]

    def fields(self, data_source: DataSource) -> dict[str, FieldRef]:
        return self.compiler(data_source).fields

    def source_names(self) -> list[str]:
        """Names to complete and suggest: titles, and type names that are not ambiguous."""
        names = [ds.title for ds in self.data_sources]
        for name, data_type in DATA_TYPES.items():
            of_type = [ds for ds in self.data_sources if ds.data_type == name]
            if len(of_type) == 1 and data_type.display_name not in names:
                names.append(data_type.display_name)
        return names

    def find_source(self, name: Name) -> DataSource:
        wanted = " ".join(name.text.split()).lower()
        for ds in self.data_sources:
            if " ".join(ds.title.split()).lower() == wanted:
                return ds
        by_type = [
            ds
            for ds in self.data_sources
            if wanted in (ds.data_type, ds.catalog.display_name.lower())
        ]
        if len(by_type) == 1:
            return by_type[0]
        if len(by_type) > 1:
            titles = ", ".join(f'"{ds.title}"' for ds in by_type)
            raise FormulaError(
                f"'{name.text}' could be any of {titles}; write the data source's title", name.pos
            )
        raise FormulaError.unknown("data source", name.text, name.pos, self.source_names())

    def find_field(self, data_source: DataSource, name: Name) -> FieldRef:
        return self.compiler(data_source).field(name)

    def saved_text(self, name: str) -> str | None:
        return self._saved(name)

    def saved_names(self) -> list[str]:
        return self._saved_names()


def check(text: str, catalog: Catalog) -> Checked:
    """Parse the formula and bind every name; FormulaError says what and where."""
    tree = parse(text)
    aggregates: list[BoundAggregate] = []
    bound = _Binder(catalog, aggregates, (text,)).bind(tree)
    return Checked(text, bound, tuple(aggregates))


@dataclass(frozen=True)
class Bound:
    """An aggregate in the checked tree: the index of its BoundAggregate."""

    index: int


class _Binder:
    def __init__(self, catalog: Catalog, out: list[BoundAggregate], stack: tuple[str, ...]):
        self.catalog = catalog
        self.out = out
        self.stack = stack  # saved formulas being expanded, to refuse cycles

    def bind(self, node):
        if isinstance(node, Number):
            return node
        if isinstance(node, Binary):
            return Binary(node.op, self.bind(node.left), self.bind(node.right), node.pos)
        if isinstance(node, Negate):
            return Negate(self.bind(node.operand), node.pos)
        if isinstance(node, IfNode):
            return IfNode(
                self.bind(node.condition),
                self.bind(node.then),
                self.bind(node.otherwise),
                node.pos,
            )
        if isinstance(node, Compare):
            return Compare(node.op, self.bind(node.left), self.bind(node.right), node.pos)
        if isinstance(node, Logic):
            return Logic(node.op, tuple(self.bind(p) for p in node.parts))
        if isinstance(node, Reference):
            return self.reference(node.name)
        if isinstance(node, Aggregate):
            self.out.append(self.aggregate(node))
            return Bound(len(self.out) - 1)
        raise TypeError(node)  # pragma: no cover - the parser makes no other nodes

    def reference(self, name: Name):
        text = self.catalog.saved_text(name.text)
        if text is None:
            choices = list(self.catalog.saved_names()) + list(FUNCTIONS.values())
            raise FormulaError.unknown("formula", name.text, name.pos, choices)
        lowered = [s.lower() for s in self.stack[1:]]
        if name.text.lower() in lowered:
            raise FormulaError(f"The formula '{name.text}' refers to itself", name.pos)
        try:
            tree = parse(text)
            return _Binder(self.catalog, self.out, (*self.stack, name.text)).bind(tree)
        except FormulaError as exc:
            if exc.message.startswith("The formula '") and "refers to itself" in exc.message:
                raise FormulaError(exc.message, name.pos) from None
            raise FormulaError(f"In the formula '{name.text}': {exc}", name.pos) from None

    def aggregate(self, node: Aggregate) -> BoundAggregate:
        ds = self.catalog.find_source(node.source)
        compiler = self.catalog.compiler(ds)
        label = FUNCTIONS[node.function]
        ref = None
        if node.field is not None:
            ref = self.catalog.find_field(ds, node.field)
            if node.function in ("sum", "avg") and ref.kind not in (Kind.MONEY, Kind.NUMBER):
                raise FormulaError(
                    f"{label} needs a number or an amount; {ref.label} is {kind_word(ref.kind)}",
                    node.field.pos,
                )
            if node.function in ("min", "max") and ref.kind not in NUMERIC_KINDS:
                raise FormulaError(
                    f"{label} needs a number, an amount or a date; "
                    f"{ref.label} is {kind_word(ref.kind)}",
                    node.field.pos,
                )
        date_key = ds.default_date_field
        if node.date_field is not None:
            date_ref = self.catalog.find_field(ds, node.date_field)
            if date_ref.kind is not Kind.DATETIME:
                raise FormulaError(
                    f".Date needs a date field; {date_ref.label} is {kind_word(date_ref.kind)}",
                    node.date_field.pos,
                )
            date_key = date_ref.key
        where, params = ("TRUE", ())
        one_mode = currency = None
        named: set[str] = set()  # the SQL of the fields the filter tests
        if node.filter is not None:
            where, values = compiler.compile(node.filter)
            params = tuple(values)
            named = compiler.sql_named(node.filter)
            currency = compiler.fixed(node.filter, "currency")
            # Where the filter names the currencies, SQLite seeks them in the index itself.
            if aggregation_index(ds.catalog) is not None and not compiler.names(
                node.filter, "currency"
            ):
                one_mode = compiler.fixed(node.filter, "livemode")
        money = ref is not None and ref.kind is Kind.MONEY and node.function != "countunique"
        has_currency = ds.catalog.has_field("currency")
        rollup = rollup_for(ds.catalog)
        if rollup is not None:
            totals = {"count": True, "sum": ref is not None and ref.sql in _quoted(rollup.money)}
            by_day = date_key == ds.default_date_field and totals.get(node.function, False)
            if not by_day or not named <= set(_quoted(rollup.keys)):
                rollup = None
        return BoundAggregate(
            function=node.function,
            data_source_id=ds.id,
            data_source_title=ds.title,
            table=registration_model(ds.data_type)._meta.table_name,
            field=ref,
            where=where,
            params=params,
            filter_text=node.filter_text,
            date_sql=compiler.fields[date_key].sql,
            date_key=date_key,
            currency_sql='"currency"' if money and has_currency else ("NULL" if money else None),
            pos=node.pos,
            one_mode_indexed=one_mode,
            fixed_currency=currency if money and has_currency else None,
            date_indexed=date_key in indexed_dates(ds.catalog),
            rollup=rollup.table if rollup else None,
            rollup_keys=_quoted(rollup.keys) if rollup else (),
        )


def _quoted(columns) -> tuple[str, ...]:
    """Columns as a field's SQL names them."""
    return tuple(f'"{column}"' for column in columns)


@dataclass(frozen=True)
class DrillDown:
    """The registrations one aggregate of a formula counts: its data source, filter and dates."""

    data_source_id: int
    data_source_title: str
    description: str
    where: str
    params: tuple
    date_key: str
    start: int
    end: int


def drill_downs(checked: Checked, start: int, end: int) -> list[DrillDown]:
    return [
        DrillDown(
            a.data_source_id,
            a.data_source_title,
            a.filter_text or "all registrations",
            a.where,
            a.params,
            a.date_key,
            start,
            end,
        )
        for a in checked.aggregates
    ]
