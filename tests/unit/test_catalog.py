"""The catalog against Stripe's OpenAPI spec: every field exists there with a compatible type."""

from __future__ import annotations

import dataclasses

import pytest

from desktop.catalog import DATA_TYPES, DataType, Field, Kind, extract, field_value
from tests.spec import property_alternatives

EXPECTED_SCHEMAS = {
    "balance_transactions": "balance_transaction",
    "charges": "charge",
    "customers": "customer",
    "disputes": "dispute",
    "fee_details": "fee",
    "invoice_lines": "line_item",
    "invoices": "invoice",
    "payment_intents": "payment_intent",
    "refunds": "refund",
}


def _compatible(fld: Field, alternatives: list[dict]) -> str | None:
    """Why the spec's type does not fit the field's kind, or None when it fits."""
    types = {alt.get("type", "object") for alt in alternatives}
    formats = {alt.get("format") for alt in alternatives}
    enums = {v for alt in alternatives for v in alt.get("enum", ())}
    wanted = {
        Kind.MONEY: "integer" in types,
        Kind.NUMBER: bool(types & {"integer", "number"}),
        Kind.TEXT: "string" in types,
        Kind.BOOL: "boolean" in types,
        Kind.DATETIME: "integer" in types and "unix-time" in formats,
        Kind.ENUM: "string" in types,
        Kind.REFERENCE: "string" in types,
    }[fld.kind]
    if not wanted:
        return f"kind {fld.kind} does not fit spec types {sorted(types)} {sorted(formats - {None})}"
    if fld.kind is Kind.ENUM and enums and not set(fld.choices) <= enums:
        return f"choices not in the spec's enum: {sorted(set(fld.choices) - enums)}"
    return None


def spec_problems(data_type: DataType) -> list[str]:
    problems = []
    for fld in data_type.fields:
        if fld.from_parent:
            continue
        alternatives = property_alternatives(data_type.schema, fld.key)
        if alternatives is None:
            problems.append(f"{data_type.name}.{fld.key}: not in schema {data_type.schema}")
            continue
        reason = _compatible(fld, alternatives)
        if reason:
            problems.append(f"{data_type.name}.{fld.key}: {reason}")
    return problems


def test_nine_types_in_order_with_their_schemas():
    assert list(DATA_TYPES) == list(EXPECTED_SCHEMAS)
    assert {name: t.schema for name, t in DATA_TYPES.items()} == EXPECTED_SCHEMAS


@pytest.mark.parametrize("name", list(DATA_TYPES))
def test_every_field_exists_in_the_spec_with_a_compatible_type(name):
    assert spec_problems(DATA_TYPES[name]) == []


def test_a_renamed_field_is_caught():
    charges = DATA_TYPES["charges"]
    renamed = tuple(
        dataclasses.replace(f, key="amout") if f.key == "amount" else f for f in charges.fields
    )
    broken = dataclasses.replace(charges, fields=renamed, _by_key={})
    assert spec_problems(broken) == ["charges.amout: not in schema charge"]


def test_a_wrong_kind_is_caught():
    charges = DATA_TYPES["charges"]
    changed = tuple(
        dataclasses.replace(f, kind=Kind.DATETIME) if f.key == "amount" else f
        for f in charges.fields
    )
    broken = dataclasses.replace(charges, fields=changed, _by_key={})
    assert len(spec_problems(broken)) == 1


def test_parents_and_id_rules():
    assert DATA_TYPES["fee_details"].parent == "balance_transactions"
    assert DATA_TYPES["invoice_lines"].parent == "invoices"
    for name, data_type in DATA_TYPES.items():
        assert data_type.default_date_field == "created", name
        assert (data_type.list_path is None) == (name == "fee_details")
        if data_type.parent:
            assert data_type.id_rule != "object_id"
            assert data_type.change_feed == "with_parent"


def test_every_field_key_and_column_is_unique():
    for data_type in DATA_TYPES.values():
        columns = [f.column for f in data_type.fields]
        assert len(columns) == len(set(columns)), data_type.name


def test_field_values_tolerate_missing_and_expanded_objects():
    charges = DATA_TYPES["charges"]
    obj = {"amount": 1250, "customer": {"id": "cus_1", "object": "customer"}, "paid": True}
    assert field_value(charges.field("amount"), obj) == 1250
    assert field_value(charges.field("customer"), obj) == "cus_1"
    assert field_value(charges.field("billing_details.address.country"), obj) is None
    assert field_value(charges.field("paid"), obj) is True
    assert extract({"a": {"b": None}}, "a.b.c") is None


def test_the_compiled_extractor_agrees_with_field_value_on_odd_values():
    from desktop.catalog import compile_extractor

    odd_objects = [
        {},
        {
            "amount": 12.7,
            "created": True,
            "paid": 0,
            "customer": {"id": "cus_1"},
            "status": 5,
            "billing_details": {"address": "not an object"},
            "description": {"a": 1},
        },
        {
            "amount": "12",
            "paid": "yes",
            "customer": 7,
            "metadata": None,
            "outcome": [1, 2],
            "payment_method_details": {"card": {"brand": None, "country": "DK"}},
        },
    ]
    for data_type in DATA_TYPES.values():
        extract_all = compile_extractor(data_type.fields)
        for obj in odd_objects:
            assert extract_all((), obj) == tuple(field_value(f, obj) for f in data_type.fields)
