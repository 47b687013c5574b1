"""The simulator against Stripe's rules, driven by the official stripe SDK over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
import stripe

from desktop.simulator.dataset import EVENT_RETENTION, SETTLEMENT_CURRENCY
from desktop.simulator.versions import OLD_API_VERSION
from tests.sdk_models import SDK_CLASSES, annotations_of, fixtures, model_problems
from tests.spec import schema_errors

LIVE_KEY = "sk_live_simulatortest01"
TEST_KEY = "sk_test_simulatortest01"
TYPES = {
    "balance_transactions": "balance_transaction",
    "charges": "charge",
    "customers": "customer",
    "disputes": "dispute",
    "invoices": "invoice",
    "invoice_payments": "invoice_payment",
    "payment_intents": "payment_intent",
    "payouts": "payout",
    "refunds": "refund",
}
# Properties Stripe returns only when asked for (expand[]): the fixtures show them anyway.
INCLUDABLE = {"charge": {"refunds"}, "invoice": {"payments"}}


def sdk_problems(schema: str, obj: dict) -> list[str]:
    """Why an object does not have the pinned version's shape: keys or values the pinned SDK's
    typed class does not declare, or keys of Stripe's newest fixture (that the SDK declares)
    it lacks."""
    cls = SDK_CLASSES[schema]
    problems = model_problems(obj, cls)
    fixture = fixtures().get(schema)
    if fixture is not None:
        wanted = set(fixture) & set(annotations_of(cls)) - INCLUDABLE.get(schema, set())
        problems += [
            f"{key}: in Stripe's newest fixture, missing" for key in sorted(wanted - set(obj))
        ]
    return problems


def client(simulator, key=LIVE_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": simulator.base_url, "connect": simulator.base_url},
        max_network_retries=0,
    )


def listing(sdk: stripe.StripeClient, type_name: str):
    return getattr(sdk.v1, type_name)


@pytest.mark.parametrize("type_name", list(TYPES))
@pytest.mark.parametrize("key", [LIVE_KEY, TEST_KEY])
def test_auto_pagination_returns_every_object_exactly_once(simulator, type_name, key):
    live = key == LIVE_KEY
    expected = [o["id"] for o in simulator.dataset.iterate(type_name, live)]
    assert expected, f"no {type_name} in {'live' if live else 'test'} mode"
    seen = [
        o.id
        for o in listing(client(simulator, key), type_name).list({"limit": 100}).auto_paging_iter()
    ]
    assert seen == expected
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize("type_name", list(TYPES))
def test_a_page_of_every_type_has_the_pinned_versions_shape(simulator, type_name):
    for key in (LIVE_KEY, TEST_KEY):
        response = requests.get(
            f"{simulator.base_url}/v1/{type_name}",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        body = response.json()
        assert response.status_code == 200
        assert body["object"] == "list" and body["url"] == f"/v1/{type_name}"
        assert body["data"], (type_name, key)
        for obj in body["data"]:
            assert sdk_problems(TYPES[type_name], obj) == [], obj["id"]
            for line in (obj.get("lines") or {}).get("data", ()):
                assert sdk_problems("line_item", line) == [], line["id"]


def test_the_shape_check_names_a_2023_field():
    invoice = dict(fixtures()["invoice"], paid=True)
    invoice.pop("subscription")  # the fixtures carry it; the pinned SDK does not declare it
    assert sdk_problems("invoice", invoice) == ["paid: not declared by Invoice"]
    charge = dict(fixtures()["charge"])
    del charge["source"]
    assert sdk_problems("charge", charge) == ["source: in Stripe's newest fixture, missing"]


def test_invoice_lines_beyond_the_first_ten_are_listed_in_full(simulator):
    invoice_id = simulator.dataset.object_id("in", 5)
    sdk = client(simulator)
    invoice = sdk.v1.invoices.retrieve(invoice_id)
    assert len(invoice.lines.data) == 10 and invoice.lines.has_more
    lines = list(sdk.v1.invoices.line_items.list(invoice_id, {"limit": 100}).auto_paging_iter())
    assert len(lines) == 250
    assert len({line.id for line in lines}) == 250
    assert sum(line.amount for line in lines) == invoice.subtotal
    assert sum(line.amount + sum(t.amount for t in line.taxes) for line in lines) == invoice.total
    raw = requests.get(
        f"{simulator.base_url}/v1/invoices/{invoice_id}/lines",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {LIVE_KEY}"},
        timeout=10,
    ).json()  # the SDK turns decimal strings into Decimals; the check speaks of the JSON
    for line in raw["data"]:
        assert sdk_problems("line_item", line) == []


def _settled(ds, amount: int, currency: str, bt: dict) -> int:
    """An amount in a charge's currency in the settlement currency, at the balance
    transaction's own exchange rate (Stripe's: amount in A x rate = amount in B, in units)."""
    if currency == SETTLEMENT_CURRENCY:
        assert bt["exchange_rate"] is None
        return amount
    units = amount / (1 if currency == "jpy" else 100)
    return round(units * bt["exchange_rate"] * 100)


def test_related_objects_agree(simulator):
    ds = simulator.dataset
    for live in (True, False):
        charges = {c["id"]: c for c in ds.iterate("charges", live)}
        refunded: dict[str, int] = {}
        for refund in ds.iterate("refunds", live):
            charge = charges[refund["charge"]]
            refunded[charge["id"]] = refunded.get(charge["id"], 0) + refund["amount"]
            assert refund["currency"] == charge["currency"]
            bt = ds.get("balance_transactions", refund["balance_transaction"])
            assert bt["source"] == refund["id"] and bt["currency"] == SETTLEMENT_CURRENCY
            assert bt["amount"] == -_settled(ds, refund["amount"], refund["currency"], bt)
        for charge_id, amount in refunded.items():
            assert charges[charge_id]["amount_refunded"] == amount
        for dispute in ds.iterate("disputes", live):
            charge = charges[dispute["charge"]]
            assert charge["disputed"]
            withdrawal, *reversal = dispute["balance_transactions"]
            assert withdrawal["reporting_category"] == "dispute"
            assert withdrawal["amount"] == -_settled(
                ds, charge["amount"], charge["currency"], withdrawal
            )
            if dispute["status"] == "won":
                assert [r["reporting_category"] for r in reversal] == ["dispute_reversal"]
                assert reversal[0]["amount"] == -withdrawal["amount"]
                assert ds.get("balance_transactions", reversal[0]["id"]) == reversal[0]
            else:
                assert reversal == []
        payments = {p["invoice"]: p for p in ds.iterate("invoice_payments", live)}
        for invoice in ds.iterate("invoices", live):
            payment = payments.get(invoice["id"])
            assert (payment is not None) == (invoice["status"] == "paid"), invoice["id"]
            if payment:
                intent = ds.get("payment_intents", payment["payment"]["payment_intent"])
                charge = charges[intent["latest_charge"]]
                assert charge["amount"] == invoice["total"] == payment["amount_paid"]
                assert charge["customer"] == invoice["customer"]
                assert (
                    invoice["status_transitions"]["paid_at"]
                    == payment["status_transitions"]["paid_at"]
                )
            taxes = sum(t["amount"] for t in invoice["total_taxes"])
            assert invoice["total"] == invoice["subtotal"] + taxes
        for charge in charges.values():
            if charge["customer"]:
                customer = ds.get("customers", charge["customer"])
                assert customer.get("deleted") or customer["livemode"] is live
                if not customer.get("deleted"):
                    assert customer["created"] <= charge["created"]
            if charge["balance_transaction"]:
                bt = ds.get("balance_transactions", charge["balance_transaction"])
                assert bt["currency"] == SETTLEMENT_CURRENCY
                assert bt["amount"] == _settled(ds, charge["amount"], charge["currency"], bt)
                assert bt["fee"] == sum(f["amount"] for f in bt["fee_details"])
                assert {f["currency"] for f in bt["fee_details"]} == {SETTLEMENT_CURRENCY}
            intent = ds.get("payment_intents", charge["payment_intent"])
            assert intent["latest_charge"] == charge["id"]
        # Each automatic payout pays what became available on its day, in its mode.
        bts = list(ds.iterate("balance_transactions", live))
        payouts = [b for b in bts if b["type"] == "payout"]
        assert payouts
        # Automatic payouts run before the first charge of a day: each pays what became
        # available since the day of the charge before it (in either mode).
        created = sorted(c["created"] for m in (True, False) for c in ds.iterate("charges", m))
        for bt in payouts:
            day = bt["created"] // 86_400 * 86_400
            before = [c for c in created if c < bt["created"]]
            since = before[-1] // 86_400 * 86_400 if before else 0
            due = sum(
                b["net"] for b in bts if since < b["available_on"] <= day and b["type"] != "payout"
            )
            assert -bt["amount"] == due > 0
            payout = ds.get("payouts", bt["source"])
            assert payout["amount"] == due and payout["balance_transaction"] == bt["id"]
    currencies = {c["currency"] for c in ds.iterate("charges", True)}
    assert {"usd", "eur", "jpy"} <= currencies
    assert any(c["metadata"] for c in ds.iterate("charges", True))
    categories = {b["reporting_category"] for b in ds.iterate("balance_transactions", True)}
    assert categories >= {
        "charge",
        "refund",
        "dispute",
        "dispute_reversal",
        "payout",
        "fee",
        "other_adjustment",
    }
    statuses = {i["status"] for i in ds.iterate("invoices", True)}
    assert statuses >= {"paid", "open", "void", "uncollectible"}
    fees = {f["type"] for b in ds.iterate("balance_transactions", True) for f in b["fee_details"]}
    assert fees >= {"stripe_fee", "application_fee", "tax"}
    deleted = [c for c in range(ds.customer_count) if not ds.customer_kept(c)]
    assert deleted and ds.get("customers", ds.object_id("cus", deleted[0]))["deleted"] is True
    partial = [c for c in ds.iterate("charges", True) if 0 < c["amount_refunded"] < c["amount"]]
    assert partial


def test_an_invoice_shows_its_payments_when_asked(simulator):
    ds = simulator.dataset
    paid = next(i for i in ds.iterate("invoices", True) if i["status"] == "paid")
    sdk = client(simulator)
    invoice = sdk.v1.invoices.retrieve(paid["id"], {"expand": ["payments"]})
    assert "payments" not in paid
    (payment,) = invoice.payments.data
    assert payment.invoice == paid["id"] and payment.status == "paid"
    listed = sdk.v1.invoice_payments.list({"invoice": paid["id"]}).data
    assert [p.id for p in listed] == [payment.id]
    subscription = (
        paid["parent"]["subscription_details"]["subscription"] if paid["parent"] else None
    )
    if subscription:
        by_subscription = sdk.v1.invoices.list({"subscription": subscription, "limit": 100}).data
        assert paid["id"] in {i.id for i in by_subscription}


def test_expand(simulator):
    sdk = client(simulator)
    page = sdk.v1.charges.list(
        {"limit": 20, "expand": ["data.customer", "data.balance_transaction"]}
    )
    expanded = [c for c in page.data if c.customer is not None]
    assert expanded and all(c.customer.object == "customer" for c in expanded)
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        sdk.v1.charges.list({"expand": ["data.amount"]})


def test_error_cases_come_back_as_the_sdks_exceptions(make_simulator):
    simulator = make_simulator(
        size=120, restricted_keys={"rk_test_restricted1": frozenset({"charges"})}
    )
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client(simulator).v1.charges.list({"colour": "blue"})
    assert unknown.value.http_status == 400 and unknown.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        client(simulator).v1.charges.list({"limit": 101})
    assert too_many.value.param == "limit"
    with pytest.raises(stripe.AuthenticationError):
        client(simulator, "sk_test_").v1.charges.list()
    with pytest.raises(stripe.AuthenticationError):
        client(simulator, "rk_test_undeclared1").v1.charges.list()
    response = requests.get(f"{simulator.base_url}/v1/charges", timeout=10)
    assert (
        response.status_code == 401
        and "did not provide an API key" in response.json()["error"]["message"]
    )
    restricted = client(simulator, "rk_test_restricted1")
    assert restricted.v1.charges.list({"limit": 1}).data
    with pytest.raises(stripe.PermissionError) as denied:
        restricted.v1.disputes.list()
    assert denied.value.http_status == 403 and "rak_disputes_read" in denied.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client(simulator).v1.charges.retrieve("ch_doesnotexist")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    simulator.revoke_key(LIVE_KEY)
    with pytest.raises(stripe.AuthenticationError):
        client(simulator).v1.charges.list()


def test_rate_limit_answers_429(make_simulator):
    simulator = make_simulator(size=120, rate_limit=3)
    sdk = client(simulator)
    with pytest.raises(stripe.RateLimitError) as limited:
        for _ in range(10):
            sdk.v1.balance.retrieve()
    assert limited.value.http_status == 429


def test_faults_fail_requests_in_every_way(make_simulator):
    simulator = make_simulator(size=120, faults=0.6, slow_seconds=0.05)
    outcomes = set()
    for _ in range(60):
        try:
            response = requests.get(
                f"{simulator.base_url}/v1/charges",
                headers={"Authorization": f"Bearer {LIVE_KEY}"},
                timeout=10,
            )
        except requests.ConnectionError:
            outcomes.add("dropped")
            continue
        except requests.exceptions.ChunkedEncodingError:
            outcomes.add("truncated")
            continue
        if response.status_code == 500:
            assert response.json()["error"]["type"] == "api_error"
            outcomes.add("500")
        else:
            try:
                response.json()
                outcomes.add("ok")
            except json.JSONDecodeError:
                outcomes.add("truncated")
    assert outcomes == {"ok", "500", "dropped", "truncated"}


def test_the_clock_creates_updates_deletes_and_emits_events(simulator):
    sdk = client(simulator)
    before = {c.id for c in sdk.v1.customers.list({"limit": 100}).auto_paging_iter()}
    events = simulator.tick(40, seconds_between=300)
    types = {e["type"] for e in events}
    assert {"charge.succeeded", "charge.refunded", "refund.created", "customer.deleted"} <= types
    listed = list(sdk.v1.events.list({"limit": 100}).auto_paging_iter())
    live_events = [e for e in events if e["livemode"]]
    assert [e.id for e in listed] == [e["id"] for e in reversed(live_events)]
    raw = requests.get(
        f"{simulator.base_url}/v1/events",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {LIVE_KEY}"},
        timeout=10,
    ).json()["data"]
    old_shapes = 0
    for event in raw:
        assert schema_errors("event", event) == []
        obj = event["data"]["object"]
        if event["api_version"] == OLD_API_VERSION:
            # As 2023-08-16 showed it: Stripe's spec of that version, the one in shared/.
            if obj.get("object") in ("invoice", "charge", "payment_intent"):
                assert schema_errors(obj["object"], obj) == [], event["id"]
                old_shapes += 1
        else:
            assert event["api_version"] == simulator.dataset.api_version
            if obj.get("object") in SDK_CLASSES and not obj.get("deleted"):
                assert model_problems(obj, SDK_CLASSES[obj["object"]]) == [], event["id"]
    assert old_shapes
    assert {e.api_version for e in listed} == {simulator.dataset.api_version, "2023-08-16"}
    only = list(
        sdk.v1.events.list({"types": ["customer.deleted"], "limit": 100}).auto_paging_iter()
    )
    assert only and {e.type for e in only} == {"customer.deleted"}
    deleted = only[0].data.object.id
    after = {c.id for c in sdk.v1.customers.list({"limit": 100}).auto_paging_iter()}
    assert deleted in before and deleted not in after
    assert sdk.v1.customers.retrieve(deleted).to_dict().get("deleted") is True
    new_charges = [
        e["data"]["object"]["id"] for e in live_events if e["type"] == "charge.succeeded"
    ]
    newest = sdk.v1.charges.list({"limit": 3}).data
    assert newest[0].id == new_charges[-1]


def test_events_older_than_30_days_disappear(simulator):
    simulator.tick(3)
    sdk = client(simulator)
    assert sdk.v1.events.list().data
    simulator.clock.advance(EVENT_RETENTION + 60)
    assert sdk.v1.events.list().data == []


def test_a_pending_balance_transaction_becomes_available(make_simulator):
    simulator = make_simulator(size=3000)  # some charges of the last two days are still pending
    sdk = client(simulator)
    pending = [
        b for b in sdk.v1.balance_transactions.list({"limit": 100}).data if b.status == "pending"
    ]
    assert pending
    simulator.clock.advance(3 * 86_400)
    again = sdk.v1.balance_transactions.retrieve(pending[0].id)
    assert again.status == "available"
    # Listed again: the page was served once already, and is not served from before.
    listed = {b.id: b.status for b in sdk.v1.balance_transactions.list({"limit": 100}).data}
    assert {listed[b.id] for b in pending} == {"available"}


@pytest.mark.parametrize("type_name", [*TYPES, "invoice_lines"])
def test_pages_of_objects_encoded_once_are_the_bytes_of_a_whole_encoding(simulator, type_name):
    """The simulator splices common pages from objects it encoded before: the bytes must be
    those of the list object encoded in one go, on the first request and on later ones."""
    ds = simulator.dataset
    if type_name == "invoice_lines":
        invoice = ds.object_id("in", 5)  # 250 lines
        path, objects = f"/v1/invoices/{invoice}/lines", ds.invoice_lines(invoice)
    else:
        path, objects = f"/v1/{type_name}", list(ds.iterate(type_name, True))
    expected = json.dumps(
        {"object": "list", "data": objects[:100], "has_more": len(objects) > 100, "url": path},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    for _ in range(2):
        response = requests.get(
            f"{simulator.base_url}{path}",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {LIVE_KEY}"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.content == expected


def _all_pages(simulator, path: str, key: str) -> list[bytes]:
    bodies, after = [], None
    while True:
        response = requests.get(
            f"{simulator.base_url}{path}",
            params={"limit": 100, **({"starting_after": after} if after else {})},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert response.status_code == 200
        bodies.append(response.content)
        page = response.json()
        if not page["has_more"]:
            return bodies
        after = page["data"][-1]["id"]


def test_a_warmed_simulator_serves_every_page_as_a_cold_one_does(make_simulator, monkeypatch):
    """--warm encodes every object of a type before the first answer and keeps them all, past
    the budget that bounds what is kept otherwise: the pages are the same bytes, and no object
    is built while they are served. "all" names every type."""
    from desktop.simulator import dataset

    cold = make_simulator(size=600, seed=21)
    tables = tuple(cold.dataset.tables)
    monkeypatch.setattr(dataset, "TEXT_BUDGET", 0)
    warm = make_simulator(size=600, seed=21, warm=("all",))
    built = []

    def recorded(build):
        def build_and_note(index):
            built.append(build(index))
            return built[-1]

        return build_and_note

    for table in warm.dataset.tables.values():
        monkeypatch.setattr(table, "build", recorded(table.build))
    for type_name in tables:
        for key in (LIVE_KEY, TEST_KEY):
            path = f"/v1/{type_name}"
            assert _all_pages(warm, path, key) == _all_pages(cold, path, key), (type_name, key)
    # Only a pending balance transaction is built again: it becomes available with time.
    assert {(o["object"], o["status"]) for o in built} <= {("balance_transaction", "pending")}


def test_a_million_charges_are_served_without_building_them(make_simulator):
    simulator = make_simulator(size=1_000_000, seed=3)
    sdk = client(simulator)
    page = sdk.v1.charges.list({"limit": 100})
    assert len(page.data) == 100 and page.has_more
    assert page.data[0].id == simulator.dataset.object_id("ch", 999_999)
    oldest = sdk.v1.charges.list(
        {"limit": 5, "starting_after": simulator.dataset.object_id("ch", 1)}
    )
    assert [c.id for c in oldest.data] == [simulator.dataset.object_id("ch", 0)]
    assert not oldest.has_more


def test_balance_checks_a_key_cheaply(simulator):
    balance = client(simulator).v1.balance.retrieve()
    assert balance.object == "balance" and balance.livemode is True
    assert schema_errors("balance", balance.to_dict()) == []


def test_command_line_prints_the_listening_line():
    command = [sys.executable, "-m", "desktop", "simulator", "--port", "0", "--size", "200"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:")
            url = line.removeprefix("listening on ")
            response = requests.get(
                f"{url}/v1/charges", headers={"Authorization": f"Bearer {LIVE_KEY}"}, timeout=10
            )
            assert response.status_code == 200
        finally:
            process.terminate()


def test_command_line_names_the_types_warm_can_take():
    command = [sys.executable, "-m", "desktop", "simulator", "--size", "50", "--warm", "charges,x"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2 and finished.stdout == ""
    assert "--warm: no type x; the simulator lists charges, " in finished.stderr
