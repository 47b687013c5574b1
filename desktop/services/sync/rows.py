"""What a page of Stripe objects becomes in the store: rows of a registrations table (the
catalog's columns beside the object's JSON), derived rows of its children, and the SQL that
writes them. Plain statements, so the writer process can run them without the models."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import chain

import orjson

from desktop.catalog import DATA_TYPES, DataType, IdRule, compile_extractor
from desktop.store.dialect import current, dialect_of
from desktop.store.models import registration_model
from desktop.store.writer_process import Statement, execute_all

# Bound values one statement may carry: SQLite's limit before 3.32, the oldest we may meet
# (see TableRows.upsert).
MAX_VARIABLES = 999

# For what orjson cannot write: an integer past 64 bits, or a lone surrogate (escaped, as
# ensure_ascii does, the text stays storable). allow_nan=False: what is stored must stay
# valid JSON for SQLite's JSON functions (no parser here lets NaN in).
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def encode_json(obj: dict) -> str:
    """An object as the compact JSON text a row stores; orjson writes it several times
    faster than the json module, which an import does for every object."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        return _ENCODE(obj)


class TableRows:
    """Turns Stripe objects of one type into rows of its registrations table, and the SQL
    that writes them."""

    BASE = ("data_source_id", "stripe_id", "parent_id", "livemode", "generation", "data")

    def __init__(self, data_type: DataType) -> None:
        self.data_type = data_type
        model = registration_model(data_type.name)
        self.table = model._meta.table_name
        self.fields = data_type.fields
        self._extract = compile_extractor(self.fields)
        columns = [*self.BASE, *(f.column for f in self.fields)]
        self.width = len(columns)
        self.rows_per_statement = max(1, MAX_VARIABLES // self.width)
        quoted = ", ".join(f'"{c}"' for c in columns)
        self._marks = "(" + ", ".join("?" for _ in columns) + ")"
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns[2:])
        self._insert = f'INSERT INTO "{self.table}" ({quoted}) VALUES '
        self._conflict = f' ON CONFLICT ("data_source_id", "stripe_id") DO UPDATE SET {updates}'
        self._upsert_many: dict[int, str] = {}

    def upsert(self, db, rows: list[tuple]) -> None:
        """Write rows here (scripts and tests that own the database)."""
        execute_all(db.cursor(), dialect_of(db).statements(self.upsert_statements(rows)))

    def upsert_statements(self, rows: list[tuple]) -> list[Statement]:
        """The statements that write rows, as many to a statement as MAX_VARIABLES allows (30
        charges, 52 customers): one row a statement spends its time taking turns for the GIL,
        and a whole page to one statement (where SQLite allows it) makes the GUI thread wait."""
        size = self.rows_per_statement
        statements = []
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            sql = self._upsert_many.get(len(chunk))
            if sql is None:
                marks = ", ".join(self._marks for _ in chunk)
                sql = self._upsert_many[len(chunk)] = self._insert + marks + self._conflict
            statements.append((sql, list(chain.from_iterable(chunk))))
        return statements

    def row(
        self,
        ds_id: int,
        stripe_id: str,
        parent_id: str | None,
        live: bool,
        generation: int,
        obj: dict,
    ) -> tuple:
        data = encode_json(obj)
        return self._extract((ds_id, stripe_id, parent_id, int(live), generation, data), obj)

    def delete_ids(self, ds_id: int, ids: list[str]) -> list[Statement]:
        return self._delete_where(ds_id, "stripe_id", ids)

    def delete_children(self, ds_id: int, parent_ids: list[str]) -> list[Statement]:
        return self._delete_where(ds_id, "parent_id", parent_ids)

    def _delete_where(self, ds_id: int, column: str, values: list[str]) -> list[Statement]:
        statements = []
        for chunk in chunks(values, 500):
            one_of, params = current().one_of(f'"{column}"', chunk)
            where = f'"data_source_id" = ? AND {one_of}'
            statements.append((f'DELETE FROM "{self.table}" WHERE {where}', (ds_id, *params)))
        return statements

    def sweep(self, ds_id: int, live: bool, generation: int) -> Statement:
        """Deletes the rows of one mode that an import of `generation` did not write."""
        return (
            f'DELETE FROM "{self.table}" WHERE "data_source_id" = ? AND "livemode" = ? '
            'AND "generation" < ?',
            (ds_id, int(live), generation),
        )


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_TABLE_ROWS: dict[str, TableRows] = {}


def table_rows(type_name: str) -> TableRows:
    if type_name not in _TABLE_ROWS:
        _TABLE_ROWS[type_name] = TableRows(DATA_TYPES[type_name])
    return _TABLE_ROWS[type_name]


def child_objects(child: DataType, parent: dict) -> list[tuple[str, dict]]:
    """The derived rows of one parent object: (stable id, object with the parent's fields)."""
    items = parent.get(child.parent_list_field) or []
    if isinstance(items, dict):  # invoice.lines is a list object
        items = items.get("data") or []
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        obj = dict(item)
        if child.name == "fee_details":
            obj.update(
                balance_transaction=parent["id"],
                created=parent.get("created"),
                available_on=parent.get("available_on"),
            )
        else:
            obj.update(invoice=parent["id"], created=parent.get("created"))
        if child.id_rule is IdRule.PARENT_AND_INDEX:
            stable_id = f"{parent['id']}/{index}"
        else:
            stable_id = f"{parent['id']}/{item.get('id') or index}"
        result.append((stable_id, obj))
    return result
