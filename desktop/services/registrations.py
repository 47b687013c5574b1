"""Registrations: the rows of one data source, and the fields a data source lists.

All querying is SQL (JSON1 for fields that live only in the stored object); nothing loops over
rows in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import peewee as pw

from desktop.catalog import Kind
from desktop.store.models import DataSource, DataSourceField, registration_model

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
        rows = db.execute_sql(
            f"""SELECT meta.key, MIN(meta.type)
                FROM "{table}" AS r, json_each(r.data, '$.metadata') AS meta
                WHERE r.data_source_id = ? AND json_valid(r.data)
                GROUP BY meta.key""",
            (data_source.id,),
        ).fetchall()
        for key, json_type in rows:
            found.setdefault(
                f"metadata.{key}",
                json_type if json_type in ("true", "false", "integer", "real") else "text",
            )
        # Other scalar values, nested up to three levels, from the newest rows.
        rows = db.execute_sql(
            # SQLite quotes some labels in fullkey ($.outcome."risk_score"): drop the quotes.
            f"""SELECT replace(substr(node.fullkey, 3), '"', ''), MIN(node.type)
                FROM (SELECT data FROM "{table}" WHERE data_source_id = ? AND json_valid(data)
                      ORDER BY pk DESC LIMIT ?) AS r, json_tree(r.data) AS node
                WHERE node.type NOT IN ('object', 'array', 'null')
                  AND node.fullkey NOT LIKE '%[%'
                  AND node.fullkey NOT LIKE '$.metadata.%'
                  AND CAST(node.key AS TEXT) NOT LIKE '%.%'
                  AND (length(node.fullkey) - length(replace(node.fullkey, '.', ''))) <= ?
                GROUP BY 1""",
            (data_source.id, DISCOVERY_SAMPLE, MAX_DEPTH),
        ).fetchall()
        for key, json_type in rows:
            found.setdefault(key, json_type)
        return [
            DiscoveredField(key, field_label(key), infer_kind(key, json_type))
            for key, json_type in sorted(found.items())
            if key not in known
        ]

    def update_fields(self, data_source: DataSource) -> list[DiscoveredField]:
        """Add the discovered fields to the data source (custom, visible); returns them."""
        discovered = self.discover_fields(data_source)
        if not discovered:
            return []
        position = (
            DataSourceField.select(pw.fn.MAX(DataSourceField.position))
            .where(DataSourceField.data_source == data_source)
            .scalar()
            or 0
        )
        with DataSourceField._meta.database.atomic():
            DataSourceField.insert_many(
                [
                    {
                        "data_source": data_source.id,
                        "key": f.key,
                        "label": f.label,
                        "kind": str(f.kind),
                        "custom": True,
                        "visible": f.key == "livemode" or f.key.startswith("metadata."),
                        "position": position + n,
                    }
                    for n, f in enumerate(discovered, start=1)
                ]
            ).execute()
        return discovered
