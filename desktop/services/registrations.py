"""Registrations: the rows of one data source, and the fields a data source lists.

All querying is SQL (JSON1 for fields that live only in the stored object); nothing loops over
rows in Python. Fields and filters are services/query's, the language formulas use too.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import peewee as pw

from desktop.catalog import Kind
from desktop.services.query import FieldRef, Filter, FilterCompiler, parse_filter, read_fields
from desktop.store.dialect import dialect_of
from desktop.store.models import DataSource, DataSourceField, registration_model
from desktop.store.writer import write_with

# Update fields reads nested values from this many of the newest rows; metadata keys from all.
DISCOVERY_SAMPLE = 2_000
MAX_DEPTH = 3  # billing_details.address.country

_DATE_KEYS = {"created", "available_on", "due_date", "due_by", "start", "end", "date"}
_MONEY_WORDS = ("amount", "fee", "net", "balance", "total", "subtotal", "tax")


@dataclass(frozen=True)
class DiscoveredField:
    key: str
    label: str
    kind: Kind


def field_label(key: str) -> str:
    """'livemode' -> 'Livemode'; 'metadata.plan' -> 'Plan (metadata)';
    'billing_details.address.country' -> 'Billing details address country'."""
    if key.startswith("metadata."):
        name = key.removeprefix("metadata.")
        return f"{name.replace('_', ' ').capitalize()} (metadata)"
    return re.sub(r"[._]+", " ", key).strip().capitalize()


def infer_kind(key: str, json_type: str) -> Kind:
    last = key.rsplit(".", 1)[-1]
    if json_type in ("true", "false"):
        return Kind.BOOL
    if json_type == "real":
        return Kind.NUMBER
    if json_type == "integer":
        if last in _DATE_KEYS or last.endswith("_at"):
            return Kind.DATETIME
        if not key.startswith("metadata.") and any(w in last for w in _MONEY_WORDS):
            return Kind.MONEY
        return Kind.NUMBER
    return Kind.TEXT


class RegistrationsService:
    def __init__(self, writer=None) -> None:
        self.writer = writer  # the store's one writer; None in scripts that own the database

    def discover_fields(self, data_source: DataSource) -> list[DiscoveredField]:
        """Fields seen in the stored data that the data source does not list yet."""
        model = registration_model(data_source.data_type)
        table = model._meta.table_name
        db = model._meta.database
        known = {
            f.key
            for f in DataSourceField.select(DataSourceField.key).where(
                DataSourceField.data_source == data_source
            )
        }
        found: dict[str, str] = {}
        if "livemode" not in known:
            found["livemode"] = "true"
        # Metadata keys anywhere in the data source: they are what users filter by.
        sql_dialect = dialect_of(db)
        rows = db.execute_sql(sql_dialect.metadata_types_sql(table), (data_source.id,)).fetchall()
        for key, json_type in rows:
            found.setdefault(
                f"metadata.{key}",
                json_type if json_type in ("true", "false", "integer", "real") else "text",
            )
        # Other scalar values, nested up to three levels, from the newest rows.
        rows = db.execute_sql(
            sql_dialect.scalar_types_sql(table), (data_source.id, DISCOVERY_SAMPLE, MAX_DEPTH)
        ).fetchall()
        for key, json_type in rows:
            found.setdefault(key, json_type)
        return [
            DiscoveredField(key, field_label(key), infer_kind(key, json_type))
            for key, json_type in sorted(found.items())
            if key not in known
        ]

    def update_fields(self, data_source: DataSource) -> list[DiscoveredField]:
        """Add the discovered fields to the data source (custom, visible); returns them.

        Reading a million objects takes seconds: callers run this off the GUI thread."""
        discovered = self.discover_fields(data_source)
        if not discovered:
            return []
        write_with(self.writer, lambda: self._add_fields(data_source, discovered))
        return discovered

    def fields(self, data_source: DataSource) -> list[tuple[str, str, bool]]:
        """(key, label, visible) of every listed field, in their order."""
        return [
            (f.key, f.label, f.visible)
            for f in DataSourceField.select()
            .where(DataSourceField.data_source == data_source)
            .order_by(DataSourceField.position)
        ]

    def rename_field(self, data_source: DataSource, key: str, label: str) -> None:
        def write() -> None:
            DataSourceField.update(label=label).where(
                (DataSourceField.data_source == data_source) & (DataSourceField.key == key)
            ).execute()

        write_with(self.writer, write)

    def set_columns(self, data_source: DataSource, visible_in_order: list[str]) -> None:
        """Show these fields in this order; hide the rest (kept after them, in their order)."""
        keys = [k for k, _label, _visible in self.fields(data_source)]
        order = visible_in_order + [k for k in keys if k not in visible_in_order]

        def write() -> None:
            for position, key in enumerate(order):
                DataSourceField.update(visible=key in visible_in_order, position=position).where(
                    (DataSourceField.data_source == data_source) & (DataSourceField.key == key)
                ).execute()

        write_with(self.writer, write)

    def _add_fields(self, data_source: DataSource, discovered: list[DiscoveredField]) -> None:
        position = (
            DataSourceField.select(pw.fn.MAX(DataSourceField.position))
            .where(DataSourceField.data_source == data_source)
            .scalar()
            or 0
        )
        taken = {
            label
            for (label,) in DataSourceField.select(DataSourceField.label)
            .where(DataSourceField.data_source == data_source)
            .tuples()
        }

        def distinct(f: DiscoveredField) -> str:
            """A label no other field of the data source has: a charge's payment_method
            would read "Payment method" beside the catalog's method type of that name."""
            label = f.label if f.label not in taken else f"{f.label} ({f.key})"
            taken.add(label)
            return label

        with DataSourceField._meta.database.atomic():
            DataSourceField.insert_many(
                [
                    {
                        "data_source": data_source.id,
                        "key": f.key,
                        "label": distinct(f),
                        "kind": str(f.kind),
                        "custom": True,
                        "visible": f.key == "livemode" or f.key.startswith("metadata."),
                        "position": position + n,
                    }
                    for n, f in enumerate(discovered, start=1)
                ]
            ).execute()


# --- querying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A WHERE clause made elsewhere (a formula's filter), shown by its description."""

    description: str
    sql: str
    params: tuple = ()


class RegistrationQuery:
    """Filters, search and sort over one data source, compiled to SQL with bound parameters."""

    PAGE = 200

    def __init__(
        self, data_source: DataSource, *, time_zone: str = "UTC", week_start: int = 0
    ) -> None:
        self.data_source = data_source
        self.time_zone = time_zone  # periods such as "this month" are the user's
        self.week_start = week_start
        self.model = registration_model(data_source.data_type)
        self.table = self.model._meta.table_name
        self.db = self.model._meta.database
        self.data_type = data_source.catalog
        self.fields = read_fields(data_source)
        self.filters: list[Filter] = []
        # Conditions the view cannot edit, such as a KPI formula's filter on a drill-down.
        self.conditions: list[Condition] = []
        self.search = ""
        self.sort_key = data_source.default_date_field
        self.descending = True

    def snapshot(self) -> RegistrationQuery:
        """The query as it is now, to read on another thread while this one changes: its own
        filters, conditions, search and order (its fields are shared; they are only ever
        replaced, never changed in place)."""
        copied = copy.copy(self)
        copied.filters, copied.conditions = list(self.filters), list(self.conditions)
        return copied

    def reload_fields(self) -> None:
        """Read the data source's fields again (after Update fields or a rename)."""
        self.fields = read_fields(self.data_source)

    def visible_fields(self) -> list[FieldRef]:
        listed = (
            DataSourceField.select(DataSourceField.key)
            .where(
                (DataSourceField.data_source == self.data_source) & (DataSourceField.visible == 1)
            )
            .order_by(DataSourceField.position)
        )
        return [self.fields[f.key] for f in listed if f.key in self.fields]

    # --- WHERE ---

    def _where(self) -> tuple[str, list]:
        clauses = ['"data_source_id" = ?']
        params: list = [self.data_source.id]
        compiler = self.compiler()
        for flt in self.filters:
            clause, values = compiler.compile(flt)
            clauses.append(clause)
            params += values
        for condition in self.conditions:
            clauses.append(f"({condition.sql})")
            params += list(condition.params)
        if self.search.strip():
            like = f"%{self.search.strip()}%"
            searchable = [
                c
                for c in self.data_type.search_fields
                if any(f.column == c for f in self.data_type.fields)
            ]
            if searchable:
                like_op = dialect_of(self.db).like
                clauses.append("(" + " OR ".join(f'"{c}" {like_op} ?' for c in searchable) + ")")
                params += [like] * len(searchable)
        return " AND ".join(clauses), params

    def compiler(self) -> FilterCompiler:
        return FilterCompiler(self.fields, time_zone=self.time_zone, week_start=self.week_start)

    def add_text_filter(self, text: str) -> None:
        """Keep only the rows a filter text selects (`status = "failed" or amount > 1000`,
        services/query's language, as a formula's filter); FilterError says what and where."""
        tree = parse_filter(text)
        if tree is not None:
            sql, params = self.compiler().compile(tree)
            self.conditions.append(Condition(" ".join(text.split()), sql, tuple(params)))

    # --- reading ---

    def narrowed(self) -> bool:
        """Whether filters, conditions or a search may leave rows out (count < total)."""
        return bool(self.filters or self.conditions or self.search.strip())

    def reads_every_row(self) -> bool:
        """Whether counting passes over every stored row: a search, a filter that looks
        inside text (contains, does not equal), or one on a field Update fields found (read
        from each row's JSON). On a million rows that takes seconds."""
        if self.search.strip():
            return True
        for flt in self.filters:
            field = self.fields.get(flt.key)
            if field is not None and (
                flt.op in ("contains", "not_equals") or not field.sql.startswith('"')
            ):
                return True
        return False

    def count(self) -> int:
        where, params = self._where()
        return self.db.execute_sql(
            f'SELECT COUNT(*) FROM "{self.table}" WHERE {where}', params
        ).fetchone()[0]

    def total(self) -> int:
        return self.db.execute_sql(
            f'SELECT COUNT(*) FROM "{self.table}" WHERE "data_source_id" = ?',
            (self.data_source.id,),
        ).fetchone()[0]

    def sorts_by_currency(self) -> bool:
        """Whether the sort is by an amount, which is ordered within each currency: 3,631,755
        JPY is not more than 40,000.00 USD, and raw minor units across currencies read as
        unsorted."""
        field = self.fields.get(self.sort_key)
        return (
            field is not None and field.kind is Kind.MONEY and self.data_type.has_field("currency")
        )

    def _order(self, reverse: bool = False) -> str:
        field = self.fields.get(self.sort_key) or self.fields[self.data_source.default_date_field]
        descending = self.descending != reverse
        direction = "DESC" if descending else "ASC"
        by_currency = f'"currency" {direction}, ' if self.sorts_by_currency() else ""
        return f'{by_currency}{field.sql} {direction}, "pk" {direction}'

    def fetch(
        self, offset: int, limit: int, columns: list[FieldRef], total: int | None = None
    ) -> list[tuple]:
        """Rows [offset, offset+limit) in the current order: (pk, currency, *column values).

        Near the end the query runs in the reverse order with a small offset, so jumping to
        the last row of a million costs what the first does."""
        where, params = self._where()
        select = ", ".join(['"pk"', self._currency_sql()] + [c.sql for c in columns])
        reverse = total is not None and offset > total // 2
        if reverse:
            limit, offset = min(limit, total - offset), max(0, total - offset - limit)
        sql = (
            f'SELECT {select} FROM "{self.table}" WHERE {where} '
            f"ORDER BY {self._order(reverse=reverse)} LIMIT ? OFFSET ?"
        )
        rows = self.db.execute_sql(sql, [*params, limit, offset]).fetchall()
        return rows[::-1] if reverse else rows

    def _currency_sql(self) -> str:
        return '"currency"' if self.data_type.has_field("currency") else "NULL"

    def currencies(self) -> list[str]:
        """The data source's currencies, the most used first (amount filters offer them)."""
        if not self.data_type.has_field("currency"):
            return []
        rows = self.db.execute_sql(
            f'SELECT "currency", COUNT(*) AS n FROM "{self.table}" WHERE "data_source_id" = ? '
            'AND "currency" IS NOT NULL GROUP BY "currency" ORDER BY n DESC, "currency"',
            (self.data_source.id,),
        ).fetchall()
        return [currency for currency, _n in rows]

    def detail(self, pk: int) -> tuple[bool, str] | None:
        """One registration's Livemode and its stored JSON, or None when it is gone."""
        row = self.db.execute_sql(
            f'SELECT "livemode", "data" FROM "{self.table}" WHERE "pk" = ?', (pk,)
        ).fetchone()
        return (bool(row[0]), row[1]) if row else None


# --- export --------------------------------------------------------------------------------


def export_xlsx(
    query: RegistrationQuery,
    path,
    *,
    progress=None,
    cancelled=lambda: False,
    time_zone: str = "UTC",
) -> int:
    """The same rows as export_csv, as an Excel workbook (written row by row, little memory).

    Dates are written as text in ISO 8601: Excel has no time zones."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(query.data_source.title[:31] or "Registrations")
    rows = export_csv(
        query,
        _SheetWriter(sheet),
        progress=progress,
        cancelled=cancelled,
        time_zone=time_zone,
        text_as_is=True,  # the sheet's cells are typed: text is never read as a formula
    )
    book.save(path)
    return rows


class _SheetWriter:
    """What csv.writer needs from a stream, writing rows to a worksheet instead."""

    def __init__(self, sheet) -> None:
        from openpyxl.cell import WriteOnlyCell

        self.sheet = sheet
        self._text_cell = WriteOnlyCell

    def writerow(self, row) -> None:
        self.sheet.append([self._cell(value) for value in row])

    def _cell(self, value):
        if not isinstance(value, str):
            return value
        try:
            if value.replace(".", "", 1).lstrip("-").isdigit():
                return float(value)
        except ValueError:
            pass
        # openpyxl writes a text that starts with "=" as a formula: this one stays text.
        cell = self._text_cell(self.sheet, value=value)
        cell.data_type = "s"
        return cell


# A cell that starts so is a formula to a spreadsheet, and text from Stripe (a customer's name,
# a description, a metadata key) is anyone's to write: "=HYPERLINK(...)" must stay text when
# the CSV is opened in Excel. OWASP's advice against CSV injection: a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(
    query: RegistrationQuery,
    out,
    *,
    progress=None,
    cancelled=lambda: False,
    time_zone: str = "UTC",
    text_as_is: bool = False,
) -> int:
    """Write the query's rows (its filters, search and order) as CSV to a text stream.

    Columns are the data source's visible fields; money as the currency's units with the
    currency code in its own column, dates in ISO 8601 in the given zone. Text that a
    spreadsheet would run as a formula gets a leading apostrophe (see _FORMULA_START), unless
    `text_as_is` (a writer of typed cells). Returns the rows written; raises Cancelled (from
    stripe_api) when asked to stop."""
    import csv
    import datetime as dt
    from zoneinfo import ZoneInfo

    from desktop.catalog import minor_unit_divisor
    from desktop.services.stripe.errors import Cancelled

    zone = ZoneInfo(time_zone)
    columns = query.visible_fields()
    writer = out if hasattr(out, "writerow") else csv.writer(out)
    text = (lambda value: value) if text_as_is else _inert
    writer.writerow([text(c.label) for c in columns] + ["Currency code"])
    total = query.count()
    written = 0
    while written < total:
        if cancelled():
            raise Cancelled()
        rows = query.fetch(written, 5_000, columns)
        if not rows:
            break
        for row in rows:
            currency = row[1]
            values = []
            for column, value in zip(columns, row[2:], strict=True):
                if value is None:
                    values.append("")
                elif column.kind is Kind.MONEY and isinstance(value, int):
                    divisor = minor_unit_divisor(currency)
                    values.append(f"{value / divisor:.2f}" if divisor != 1 else str(value))
                elif column.kind is Kind.DATETIME and isinstance(value, int | float):
                    values.append(
                        dt.datetime.fromtimestamp(value, dt.UTC).astimezone(zone).isoformat()
                    )
                elif column.kind is Kind.BOOL:
                    values.append("True" if value in (1, True) else "False")
                elif isinstance(value, str):
                    values.append(text(value))
                else:
                    values.append(value)
            writer.writerow([*values, (currency or "").upper()])
        written += len(rows)
        if progress:
            progress(written, total)
    return written
