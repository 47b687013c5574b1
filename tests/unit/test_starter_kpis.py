"""The starter dashboard's KPIs against Stripe's own definitions, computed here from the
simulator's objects as Stripe documents them (never from Ledgerboard's SQL), on an account
that pays out daily and takes payments in several currencies, settled in US dollars."""

from __future__ import annotations

import datetime as dt

import pytest

from desktop.services.kpi.dashboards import DashboardsService, NumberData
from desktop.services.kpi.library import FormulaLibrary
from desktop.simulator.dataset import SETTLEMENT_CURRENCY
from desktop.store.models import DataSource, registration_model
from tests.syncing import traced


def _period(name: str, now: dt.datetime) -> tuple[int, int]:
    if name == "this_month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    else:
        start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1)
    return int(start.timestamp()), int(end.timestamp())


def stripes_definitions(ds, start: int, end: int) -> dict[str, tuple[float, str | None]]:
    """Each starter KPI, by Stripe's definition, over live objects created in [start, end):
    (value, currency); money in the settlement currency's units, as Stripe's Dashboard shows."""

    def during(moment) -> bool:
        return moment is not None and start <= moment < end

    def settled(txn_id: str) -> dict:
        return ds.get("balance_transactions", txn_id)

    charges = [c for c in ds.iterate("charges", True) if during(c["created"])]
    succeeded = [c for c in charges if c["status"] == "succeeded"]
    # Gross volume: successful payments, in the currency the balance received them in.
    gross = sum(settled(c["balance_transaction"])["amount"] for c in succeeded)
    charge_fees = sum(settled(c["balance_transaction"])["fee"] for c in succeeded)
    stripe_charge_fees = sum(
        f["amount"]
        for c in succeeded
        for f in settled(c["balance_transaction"])["fee_details"]
        if f["type"] == "stripe_fee"
    )
    refunds = sum(
        -settled(r["balance_transaction"])["amount"]
        for r in ds.iterate("refunds", True)
        if during(r["created"]) and r["status"] == "succeeded"
    )
    disputes = dispute_fees = 0
    for dispute in ds.iterate("disputes", True):
        for bt in dispute["balance_transactions"]:
            if during(bt["created"]):
                disputes -= bt["amount"]
                dispute_fees += bt["fee"]
    # Fees Stripe billed on their own (Radar, Billing), not on a payment.
    billed = sum(
        -b["amount"]
        for b in ds.iterate("balance_transactions", True)
        if during(b["created"]) and b["type"] == "stripe_fee"
    )
    fees = charge_fees + dispute_fees + billed
    paid_invoices = sum(
        1
        for i in ds.iterate("invoices", True)
        if i["status"] == "paid" and during(i["status_transitions"]["paid_at"])
    )
    customers = sum(1 for c in ds.iterate("customers", True) if during(c["created"]))
    usd = SETTLEMENT_CURRENCY
    return {
        "Gross volume · settlement currency": (gross / 100, usd),
        # Stripe: gross volume minus refunds, disputes and fees; payouts are not sales.
        "Net volume · settlement currency": ((gross - refunds - disputes - fees) / 100, usd),
        "Refunds · settlement currency": (refunds / 100, usd),
        "Disputes · settlement currency": (disputes / 100, usd),
        "Stripe fees · settlement currency": (
            (stripe_charge_fees + dispute_fees + billed) / 100,
            usd,
        ),
        "New customers": (customers, None),
        "Paid invoices": (paid_invoices, None),
        "Failed payments": (sum(1 for c in charges if c["status"] == "failed"), None),
    }


@pytest.mark.parametrize("period", ["this_month", "this_year"])
def test_the_starter_kpis_are_what_stripe_calls_them(make_simulator, harness_for, period):
    simulator = make_simulator(size=6000, seed=11)
    ds = simulator.dataset
    harness = harness_for(simulator)
    harness.sync()
    simulator.tick(40, seconds_between=600)  # past midnight: a payout made while we watch
    harness.sync()
    now = dt.datetime.fromtimestamp(simulator.clock.now(), dt.UTC)
    start, end = _period(period, now)
    live_charges = [c for c in ds.iterate("charges", True) if start <= c["created"] < end]
    assert len({c["currency"] for c in live_charges}) >= 3
    payouts = [
        b
        for b in ds.iterate("balance_transactions", True)
        if b["type"] == "payout" and start <= b["created"] < end
    ]
    assert payouts and any(p["id"] in ds.tables["balance_transactions"].dynamic for p in payouts)

    service = DashboardsService(FormulaLibrary(), now=lambda: now)
    dashboard = service.create_starter()
    statements: list[str] = []
    with traced(DataSource._meta.database, statements):
        shown = {r.spec.title: r.data for r in service.refresh(dashboard, period=period).values()}
    # The settlement-currency KPIs filter by reporting category, which the day totals carry:
    # their whole days are read there, not from every row of the period.
    assert any("rollup_balance_transactions" in sql for sql in statements)
    expected = stripes_definitions(ds, start, end)
    for title, (value, currency) in expected.items():
        data = shown[title]
        assert isinstance(data, NumberData), (title, data)
        assert (data.value.start, data.value.end) == (start, end)
        assert data.value.currency == currency, title
        assert data.value.value == pytest.approx(value, abs=1e-6), title
    assert expected["Net volume · settlement currency"][0] > 0
    # What the starter dashboard showed before: every balance transaction's net, payouts too.
    everything = sum(
        b["net"] for b in ds.iterate("balance_transactions", True) if start <= b["created"] < end
    )
    paid_out = -sum(p["amount"] for p in payouts)
    assert abs(everything / 100 - expected["Net volume · settlement currency"][0]) > (
        paid_out / 200
    )


def test_no_money_in_a_period_is_still_money(simulator, harness_for):
    """A Sum of nothing reads 0.00 USD, in the currency it had before or the account's usual
    one, never a bare 0.00."""
    from desktop.services.kpi.dashboards import Format, WidgetSpec

    harness_for(simulator, types=("charges",)).sync()
    now = dt.datetime.fromtimestamp(simulator.clock.now(), dt.UTC)
    service = DashboardsService(FormulaLibrary(), now=lambda: now)
    nothing = WidgetSpec(
        "number",
        "Disputed volume",
        'Sum(Charges, amount, status = "no such status" and livemode = true)',
        format=Format("money", 2),
    )
    data = service.evaluate(nothing, "this_month").data
    assert isinstance(data, NumberData)
    assert data.value.value == 0 and data.value.currency == "usd"
    assert nothing.format.text(data.value.value, data.value.currency) == "0.00 USD"
    assert data.previous.value == 0 and data.previous.currency == "usd"  # "1 – 5 Nov: 0.00 USD"
    # An account connected in test mode only: the currency of its (test) charges.
    charges = registration_model("charges")
    charges.delete().where(charges.livemode == 1).execute()
    charges.update(currency="eur").execute()
    assert service.evaluate(nothing, "this_month").data.value.currency == "eur"
    count = WidgetSpec("number", "None", 'Count(Charges, status = "no such status")')
    assert service.evaluate(count, "this_month").data.value.currency is None  # not money


@pytest.mark.parametrize(
    "types",
    [
        ("charges", "refunds", "customers", "balance_transactions", "disputes", "invoices"),
        ("charges", "customers"),
        ("charges",),
    ],
)
def test_the_starter_leaves_no_hole_where_a_widget_was_left_out(simulator, harness_for, types):
    """Without some data types some widgets are left out: the others close up, none with a
    hole beside it as tall as itself (where a left-out widget stood), none overlapping."""
    harness_for(simulator, types=types).sync()
    service = DashboardsService(FormulaLibrary())
    specs = service.widgets(service.create_starter())
    cells = [(s.x + dx, s.y + dy) for s in specs for dx in range(s.w) for dy in range(s.h)]
    assert len(cells) == len(set(cells))  # no two widgets overlap
    for spec in specs:
        beside = [(spec.x - 1, row) in cells for row in range(spec.y, spec.y + spec.h)]
        assert spec.x == 0 or any(beside), (spec.title, spec.x, spec.y)
