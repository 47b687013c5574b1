"""The catalog against the API version the SDK pins: every field path exists in the pinned
SDK's typed classes with a compatible type, and in Stripe's newest fixtures."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import stripe

from desktop.catalog import DATA_TYPES, DataType, Field, Kind, extract, field_value
from desktop.store.models import registration_model
from tests.sdk_models import SDK_CLASSES, fixture_problem, fixtures, kind_problem, path_alternatives

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
# Stripe's newest fixtures, per schema: a fee is one of a balance transaction's fee_details,
# and the fixture's list of them is empty, so fees are held against the SDK alone.
FIXTURE_OBJECTS = {schema: schema for schema in EXPECTED_SCHEMAS.values() if schema != "fee"}


def _paths(fld: Field) -> tuple[str, ...]:
    return fld.sources if fld.derive is not None else (fld.key,)


def field_path_problems(data_type: DataType) -> list[str]:
    """Each catalog field whose path the pinned SDK does not declare, or declares with a type
    the field's kind does not fit, or that Stripe's newest fixture contradicts; named."""
    cls = SDK_CLASSES[data_type.schema]
    fixture = fixtures().get(FIXTURE_OBJECTS.get(data_type.schema, ""))
    problems = []
    for fld in data_type.fields:
        if fld.from_parent:
            continue
        for path in _paths(fld):
            alternatives = path_alternatives(cls, path)
            if alternatives is None:
                problems.append(
                    f"{data_type.name}.{fld.key}: {path} is not in the pinned SDK's "
                    f"{cls.__qualname__} (API version {stripe.api_version})"
                )
                continue
            if fld.derive is None:
                reason = kind_problem(fld.kind.value, fld.choices, alternatives)
                if reason:
                    problems.append(f"{data_type.name}.{fld.key}: {reason}")
            if fixture is not None:
                reason = fixture_problem(fixture, cls, path)
                if reason:
                    problems.append(f"{data_type.name}.{fld.key}: {reason}")
    return problems


def test_nine_types_in_order_with_their_schemas():
    assert list(DATA_TYPES) == list(EXPECTED_SCHEMAS)
    assert {name: t.schema for name, t in DATA_TYPES.items()} == EXPECTED_SCHEMAS


def test_the_pinned_sdk_is_the_version_the_catalog_follows():
    assert stripe.api_version == "2026-10-28.endive"


@pytest.mark.parametrize("name", list(DATA_TYPES))
def test_every_field_path_exists_in_the_pinned_sdk_and_the_newest_fixtures(name):
    assert field_path_problems(DATA_TYPES[name]) == []


def _with_field(data_type: DataType, target: str, **changes) -> DataType:
    changed = tuple(
        dataclasses.replace(f, **changes) if f.key == target else f for f in data_type.fields
    )
    return dataclasses.replace(data_type, fields=changed, _by_key={}, moved={})


@pytest.mark.parametrize(
    ("name", "key", "old_path"),
    [
        ("invoices", "parent.subscription_details.subscription", "subscription"),
        ("invoice_lines", "pricing.price_details.price", "price.id"),
        ("charges", "payment_intent", "invoice"),
        ("invoices", "total", "charge"),
        ("invoices", "total", "payment_intent"),
        ("invoices", "total", "paid"),
        ("invoices", "total", "tax"),
        ("invoice_lines", "quantity", "type"),
        ("invoice_lines", "quantity", "proration"),
        ("payment_intents", "latest_charge", "invoice"),
    ],
)
def test_a_field_put_back_on_its_2023_path_is_named(name, key, old_path):
    broken = _with_field(DATA_TYPES[name], key, key=old_path)
    problems = field_path_problems(broken)
    assert problems and all(p.startswith(f"{name}.{old_path}: ") for p in problems), problems


def test_a_derived_field_reading_a_removed_path_is_named():
    broken = _with_field(DATA_TYPES["invoices"], "tax", sources=("tax",))
    assert field_path_problems(broken) == [
        f"invoices.tax: tax is not in the pinned SDK's Invoice (API version {stripe.api_version})"
    ]


def test_a_wrong_kind_and_unknown_choices_are_caught():
    charges = DATA_TYPES["charges"]
    assert len(field_path_problems(_with_field(charges, "amount", kind=Kind.DATETIME))) == 0
    assert field_path_problems(_with_field(charges, "amount", kind=Kind.BOOL)) == [
        "charges.amount: kind bool does not fit the SDK's ['int']"
    ]
    bts = DATA_TYPES["balance_transactions"]
    broken = _with_field(bts, "type", choices=("charge", "obligation_payout"))
    assert field_path_problems(broken) == [
        "balance_transactions.type: choices the SDK does not list: ['obligation_payout']"
    ]


def fixture_objects() -> dict[str, dict]:
    """Stripe's newest fixture objects per catalog schema, completed where a fixture is sparse
    about what the catalog reads (an invoice's taxes, a balance transaction's fees, a line's
    price): values in the shapes the pinned SDK declares."""
    objects = {schema: dict(fixtures()[schema]) for schema in FIXTURE_OBJECTS.values()}
    invoice = objects["invoice"]
    invoice["total_taxes"] = [
        {
            "amount": 80,
            "tax_behavior": "exclusive",
            "tax_rate_details": None,
            "taxability_reason": "standard_rated",
            "taxable_amount": 1000,
            "type": "tax_rate_details",
        }
    ]
    objects["balance_transaction"]["fee_details"] = [
        {
            "amount": 59,
            "application": None,
            "currency": "usd",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    line = dict(objects["line_item"], id="il_1Pgc6sB7WZ01zgkWFnxLrLCq")
    line["pricing"] = dict(line["pricing"], price_details={"price": "price_1", "product": "p_1"})
    invoice["lines"] = dict(invoice["lines"], data=[line])
    return objects


class _FixtureAccount(ThreadingHTTPServer):
    """Stripe's newest fixture objects served on 127.0.0.1 as an account holding one of each:
    its list endpoints, retrieval by id, an invoice's lines, and no events. What a
    Stripe-compatible server answers (stripe-mock serves these fixtures); not the simulator,
    whose objects Ledgerboard's own tests shaped."""

    def __init__(self, objects: dict[str, dict]) -> None:
        by_path = {
            f"/v1/{name}": objects[schema]
            for name, schema in EXPECTED_SCHEMAS.items()
            if schema in objects
        }
        by_path["/v1/invoices/" + objects["invoice"]["id"] + "/lines"] = None
        lines = objects["invoice"]["lines"]["data"]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path in by_path:
                    data = lines if by_path[path] is None else [by_path[path]]
                    if "starting_after" in self.path or "created%5Bgte%5D" in self.path:
                        data = []  # one page; nothing newer than the history
                    body = {"object": "list", "data": data, "has_more": False, "url": path}
                elif path == "/v1/events":
                    body = {"object": "list", "data": [], "has_more": False, "url": path}
                else:
                    body = next((o for o in by_path.values() if o and path.endswith(o["id"])), None)
                raw = json.dumps(body).encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        super().__init__(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.clock = _Now()


class _Now:
    def now(self) -> int:
        return int(time.time())


def test_an_import_of_the_newest_fixtures_fills_every_column_they_carry(harness_for):
    """The sync, over HTTP, from an account of Stripe's newest fixture objects: every catalog
    column the objects carry a value for is filled, and an empty one is one they lack."""
    objects = fixture_objects()
    server = _FixtureAccount(objects)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        harness = harness_for(server, include_test_data=False)
        results = harness.sync()
        assert {r.status for r in results} == {"up_to_date"}, [r.message for r in results]
    finally:
        server.shutdown()
        server.server_close()
    from desktop.services.sync.rows import child_objects

    expected = {
        name: [(o["id"], o)]
        for name, schema in EXPECTED_SCHEMAS.items()
        if (o := objects.get(schema)) is not None
    }
    expected["fee_details"] = child_objects(
        DATA_TYPES["fee_details"], objects["balance_transaction"]
    )
    expected["invoice_lines"] = child_objects(DATA_TYPES["invoice_lines"], objects["invoice"])
    for name, items in expected.items():
        data_type = DATA_TYPES[name]
        model = registration_model(name)
        rows = {r["stripe_id"]: r for r in model.select().dicts()}
        assert set(rows) == {stable_id for stable_id, _ in items}, name
        for stable_id, obj in items:
            row = rows[stable_id]
            for fld in data_type.fields:
                # What the object holds where the pinned version keeps the field (a derived
                # field's sources), not what the catalog makes of it.
                values = [extract(obj, path) for path in _paths(fld)]
                carried = [v for v in values if v is not None]
                if fld.derive is None and carried and isinstance(carried[0], dict | list):
                    carried = []  # an object where a value is expected stays in the JSON
                filled = row[fld.column] is not None
                assert filled == bool(carried), f"{name}.{fld.key}: {row[fld.column]!r}"


def test_moved_and_retired_fields_are_declared_consistently():
    for data_type in DATA_TYPES.values():
        for old, new in data_type.moved.items():
            assert data_type.has_field(new) and not data_type.has_field(old)
        for key in data_type.retired:
            assert not data_type.has_field(key)


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
