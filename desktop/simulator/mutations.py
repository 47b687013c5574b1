"""Change over time: each tick creates, updates and deletes objects and emits their events.

Created objects are kept in full as the table's dynamic objects; changed static objects are
kept as overrides. Every change emits the event Stripe would, with `api_version`, `created`
and `data.object`; one event in three carries an older API version, as events of an account
whose default version is older than the client's do, so that clients must re-read those.
"""

from __future__ import annotations

import random

from desktop.simulator.dataset import (
    BT_CHARGE,
    BT_KINDS,
    DAY,
    DISPUTE_FEE,
    SETTLEMENT_CURRENCY,
    Dataset,
    _code,
    _fee,
)
from desktop.simulator.versions import OLD_API_VERSION


class Mutations:
    def __init__(self, dataset: Dataset, seed: int | None = None) -> None:
        self.ds = dataset
        self.rng = random.Random(dataset.seed * 1_000_003 + (seed or 0))
        self._event_count = 0
        # The last day whose funds were paid out: the static history's payouts end there.
        self.paid_out_through = dataset.charge_created(dataset.size - 1) // DAY * DAY
        # The first static balance transaction the history's payouts did not pay out.
        self.static_unpaid = _first_slot_created_at_or_after(dataset, self.paid_out_through - DAY)

    # --- the tick ------------------------------------------------------------------------

    def tick(self) -> list[dict]:
        """One step of activity; returns the events it emitted, oldest first."""
        with self.ds.lock:
            before = len(self.ds.events)
            for _ in range(self.rng.randint(1, 3)):
                self.new_payment()
            roll = self.rng.random
            if roll() < 0.5:
                self.refund_charge()
            if roll() < 0.25:
                self.new_dispute()
            if roll() < 0.3:
                self.close_dispute()
            if roll() < 0.3:
                self.pay_invoice()
            if roll() < 0.1:
                self.close_invoice()
            if roll() < 0.15:
                self.finalize_draft_invoice()
            if roll() < 0.3:
                self.update_customer()
            if roll() < 0.15:
                self.new_draft_invoice()
            if roll() < 0.15:
                self.delete_draft_invoice()
            if roll() < 0.1:
                self.delete_customer()
            self.pay_out()
            return self.ds.events[before:]

    def run(self, ticks: int, seconds_between: int = 60) -> list[dict]:
        events = []
        for _ in range(ticks):
            self.ds.clock.advance(seconds_between)
            events += self.tick()
        return events

    # --- helpers -------------------------------------------------------------------------

    def _emit(self, event_type: str, obj: dict, previous: dict | None = None) -> None:
        self._event_count += 1
        version = OLD_API_VERSION if self._event_count % 3 == 0 else None
        self.ds.add_event(event_type, obj, previous=previous, api_version=version)

    def _add(self, type_name: str, obj: dict) -> dict:
        table = self.ds.tables[type_name]
        table.dynamic[obj["id"]] = obj
        table.dynamic_order.append(obj["id"])
        return obj

    def _new_id(self, type_name: str) -> tuple[int, str]:
        table = self.ds.tables[type_name]
        index = table.next_index
        table.next_index += 1
        return index, self.ds.object_id(table.prefix, index)

    def _current(self, type_name: str, object_id: str) -> dict | None:
        table = self.ds.tables[type_name]
        if object_id in table.dynamic:
            return table.dynamic[object_id]
        return self.ds.get(type_name, object_id)

    def _store(self, type_name: str, obj: dict) -> None:
        table = self.ds.tables[type_name]
        if obj["id"] in table.dynamic:
            table.dynamic[obj["id"]] = obj
        else:
            table.overrides[obj["id"]] = obj

    def _pick(self, type_name: str, accept, tries: int = 40) -> dict | None:
        """A random existing object (recent dynamic ones or any static one) that `accept`s."""
        table = self.ds.tables[type_name]
        for _ in range(tries):
            if table.dynamic_order and self.rng.random() < 0.4:
                object_id = self.rng.choice(table.dynamic_order)
            elif table.count:
                index = self.rng.randrange(table.count)
                if not table.exists(index):
                    continue
                object_id = self.ds.object_id(table.prefix, index)
            else:
                return None
            if object_id in table.deleted:
                continue
            obj = self._current(type_name, object_id)
            if obj is not None and accept(obj):
                return obj
        return None

    # --- changes -------------------------------------------------------------------------

    def _settled_bt(self, charge: dict, amount: int, fees, source, kind, category, text):
        """A new balance transaction in the settlement currency for `amount` in the charge's
        currency, at today's rate, kept with the charge's mode."""
        ds, now = self.ds, self.ds.clock.now()
        _, txn = self._new_id("balance_transactions")
        settled, rate = ds.settle(abs(amount), charge["currency"], now)
        settled = settled if amount >= 0 else -settled
        if fees == "charge":
            index = ds.parse_id("ch", charge["id"]) or 0
            fees = ds.charge_fees(index, settled, charge["currency"], rate)
        bt = ds._bt_object(
            txn, settled, fees, SETTLEMENT_CURRENCY, now, source, kind, category, text, rate
        )
        bt["_live"] = charge["livemode"]
        self._add("balance_transactions", bt)
        return bt

    def new_payment(
        self,
        description: str | None = None,
        customer: dict | None = None,
        amount: int | None = None,
        currency: str | None = None,
    ) -> tuple[dict, dict]:
        ds, now = self.ds, self.ds.clock.now()
        charges, intents = ds.tables["charges"], ds.tables["payment_intents"]
        n = charges.next_index
        charges.next_index = intents.next_index = n + 1
        charge = ds.charge(n)
        intent = ds.payment_intent(n)
        description = description or f"Order #{n:07d}"
        if customer is not None:  # paying an invoice: its customer, amount and currency
            failed = False
            charge.update(
                customer=customer["id"],
                amount=amount,
                amount_captured=amount,
                currency=currency,
                status="succeeded",
                paid=True,
                captured=True,
                failure_code=None,
                failure_message=None,
                application=None,
                application_fee=None,
                application_fee_amount=None,
                livemode=customer["livemode"],
            )
            intent.update(
                customer=customer["id"],
                amount=amount,
                amount_received=amount,
                currency=currency,
                status="succeeded",
                last_payment_error=None,
                application_fee_amount=None,
                livemode=customer["livemode"],
                payment_method=charge["payment_method"],
            )
        failed = charge["status"] == "failed"
        charge.update(
            created=now,
            amount_refunded=0,
            refunded=False,
            disputed=False,
            description=description,
            balance_transaction=None,
        )
        if not failed:
            bt = self._settled_bt(
                charge, charge["amount"], "charge", charge["id"], "charge", "charge", description
            )
            charge["balance_transaction"] = bt["id"]
        intent.update(created=now, description=description)
        self._add("payment_intents", intent)
        self._emit("payment_intent.created", dict(intent, status="requires_payment_method"))
        self._add("charges", charge)
        if failed:
            self._emit("charge.failed", charge)
            self._emit("payment_intent.payment_failed", intent)
        else:
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.succeeded", intent)
        return charge, intent

    def refund_charge(self) -> None:
        """A full refund, or a partial one (a charge may be refunded in parts)."""
        charge = self._pick(
            "charges",
            lambda c: (
                c["status"] == "succeeded"
                and not c["disputed"]
                and c["amount_refunded"] < c["amount"]
            ),
        )
        if charge is None:
            return
        ds, now = self.ds, self.ds.clock.now()
        _, refund_id = self._new_id("refunds")
        left = charge["amount"] - charge["amount_refunded"]
        amount = left if self.rng.random() < 0.6 else max(1, left // 3)
        bt = self._settled_bt(
            charge, -amount, [], refund_id, "refund", "refund", "REFUND FOR CHARGE"
        )
        refund = dict(ds.refund(0))
        refund.update(
            id=refund_id,
            amount=amount,
            balance_transaction=bt["id"],
            charge=charge["id"],
            created=now,
            currency=charge["currency"],
            customer=charge["customer"],
            payment_intent=charge["payment_intent"],
            payment_method=charge["payment_method"],
            reason="requested_by_customer",
            _live=charge["livemode"],
        )
        self._add("refunds", refund)
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        refunded = charge["amount_refunded"] + amount
        updated = dict(charge, amount_refunded=refunded, refunded=refunded == charge["amount"])
        self._store("charges", updated)
        self._emit("charge.refunded", updated, previous)
        self._emit("refund.created", refund)

    def new_dispute(self) -> None:
        charges = self.ds.tables["charges"]
        recent = [charges.dynamic[i] for i in charges.dynamic_order[-50:]]
        candidates = [
            c
            for c in recent
            if c["status"] == "succeeded" and not c["disputed"] and c["amount_refunded"] == 0
        ]
        if not candidates or not self.ds.tables["disputes"].count:
            return  # no static dispute to take the evidence fields' shape from
        charge = self.rng.choice(candidates)
        ds, now = self.ds, self.ds.clock.now()
        _, dispute_id = self._new_id("disputes")
        fee = [_fee(DISPUTE_FEE, SETTLEMENT_CURRENCY, "Dispute fee", "stripe_fee")]
        bt = self._settled_bt(
            charge,
            -charge["amount"],
            fee,
            dispute_id,
            "adjustment",
            "dispute",
            "Chargeback withdrawal",
        )
        dispute = dict(ds.dispute(0))
        dispute.update(
            id=dispute_id,
            amount=charge["amount"],
            balance_transactions=[_public_copy(bt)],
            charge=charge["id"],
            created=now,
            currency=charge["currency"],
            evidence_details=dict(
                dispute["evidence_details"],
                due_by=now + 14 * DAY,
                has_evidence=False,
                submission_count=0,
            ),
            livemode=charge["livemode"],
            payment_intent=charge["payment_intent"],
            reason="fraudulent",
            status="needs_response",
        )
        self._add("disputes", dispute)
        updated = dict(charge, disputed=True)
        self._store("charges", updated)
        self._emit("charge.dispute.created", dispute)
        self._emit("charge.updated", updated, {"disputed": False})

    def close_dispute(self) -> None:
        """Won: the funds come back (a dispute_reversal balance transaction); lost: they
        stay withdrawn."""
        dispute = self._pick(
            "disputes", lambda d: d["status"] in ("needs_response", "under_review")
        )
        if dispute is None:
            return
        won = self.rng.random() < 0.5
        updated = dict(dispute, status="won" if won else "lost")
        if won:
            withdrawal = dispute["balance_transactions"][0]
            ds, now = self.ds, self.ds.clock.now()
            _, txn = self._new_id("balance_transactions")
            bt = ds._bt_object(
                txn,
                -withdrawal["amount"],
                [],
                SETTLEMENT_CURRENCY,
                now,
                dispute["id"],
                "adjustment",
                "dispute_reversal",
                "Chargeback reversal",
                withdrawal["exchange_rate"],
            )
            bt["_live"] = dispute["livemode"]
            self._add("balance_transactions", bt)
            updated["balance_transactions"] = [withdrawal, _public_copy(bt)]
        self._store("disputes", updated)
        if won:
            self._emit("charge.dispute.funds_reinstated", updated)
        self._emit("charge.dispute.closed", updated, {"status": dispute["status"]})

    def pay_invoice(self) -> None:
        """An open invoice paid by a new payment, recorded as an invoice payment."""
        invoice = self._pick("invoices", lambda i: i["status"] == "open" and i["customer"])
        if invoice is None:
            return
        ds, now = self.ds, self.ds.clock.now()
        customer = ds.get("customers", invoice["customer"]) or {}
        customer = {"id": invoice["customer"], "livemode": invoice["livemode"], **customer}
        charge, intent = self.new_payment(
            f"Payment for invoice {invoice['id']}",
            customer,
            invoice["amount_due"],
            invoice["currency"],
        )
        _, payment_id = self._new_id("invoice_payments")
        payment = {
            "id": payment_id,
            "object": "invoice_payment",
            "amount_paid": invoice["amount_due"],
            "amount_requested": invoice["amount_due"],
            "created": now,
            "currency": invoice["currency"],
            "invoice": invoice["id"],
            "is_default": True,
            "livemode": invoice["livemode"],
            "payment": {"payment_intent": intent["id"], "type": "payment_intent"},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": now},
        }
        self._add("invoice_payments", payment)
        ds.paid_invoices[intent["id"]] = invoice["id"]
        ds.intent_charges[intent["id"]] = charge["id"]
        transitions = dict(invoice["status_transitions"], paid_at=now)
        updated = dict(
            invoice,
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            attempted=True,
            attempt_count=invoice["attempt_count"] + 1,
            status_transitions=transitions,
        )
        self._store("invoices", updated)
        self._emit("invoice_payment.paid", payment)
        self._emit("invoice.paid", updated, {"status": "open"})

    def close_invoice(self) -> None:
        """An open invoice voided, or marked uncollectible after its attempts failed."""
        invoice = self._pick("invoices", lambda i: i["status"] == "open")
        if invoice is None:
            return
        now = self.ds.clock.now()
        if self.rng.random() < 0.5:
            status, stamp, event = "void", "voided_at", "invoice.voided"
            changes = {"amount_remaining": 0}
        else:
            status, stamp = "uncollectible", "marked_uncollectible_at"
            event = "invoice.marked_uncollectible"
            changes = {"attempted": True}
        transitions = dict(invoice["status_transitions"], **{stamp: now})
        updated = dict(invoice, status=status, status_transitions=transitions, **changes)
        self._store("invoices", updated)
        self._emit(event, updated, {"status": "open"})

    def new_draft_invoice(self) -> None:
        customer = self._pick("customers", lambda c: not c.get("deleted"))
        if customer is None or self.ds.tables["invoices"].count < 2:
            return
        ds, now = self.ds, self.ds.clock.now()
        _, invoice_id = self._new_id("invoices")
        template = ds.invoice(1)  # a subscription's invoice
        count = self.rng.choice((1, 2, 3, 12, 120))
        currency = customer.get("currency") or "usd"
        lines = []
        for k in range(count):
            line = dict(ds.invoice_line(1, k % ds.invoice_line_count(1)))
            line["id"] = "il_" + invoice_id[3:] + _code(k, 4)
            line["livemode"] = customer["livemode"]
            line["currency"] = currency
            line["invoice"] = invoice_id
            line["taxes"] = []
            lines.append(line)
        total = sum(line["amount"] for line in lines)
        invoice = dict(template)
        invoice.update(
            id=invoice_id,
            status="draft",
            attempted=False,
            attempt_count=0,
            amount_due=total,
            amount_paid=0,
            amount_remaining=total,
            subtotal=total,
            subtotal_excluding_tax=total,
            total=total,
            total_excluding_tax=total,
            total_taxes=[],
            created=now,
            effective_at=None,
            customer=customer["id"],
            customer_email=customer.get("email"),
            customer_name=customer.get("name"),
            currency=currency,
            livemode=customer["livemode"],
            number=None,
            hosted_invoice_url=None,
            status_transitions={
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            lines={
                "data": lines[:10],
                "has_more": count > 10,
                "object": "list",
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            _all_lines=lines,
        )
        self._add("invoices", invoice)
        self._emit("invoice.created", invoice)

    def delete_draft_invoice(self) -> None:
        table = self.ds.tables["invoices"]
        drafts = [
            table.dynamic[i]
            for i in table.dynamic_order
            if i not in table.deleted and table.dynamic[i]["status"] == "draft"
        ]
        if not drafts:
            return
        invoice = self.rng.choice(drafts)
        table.deleted.add(invoice["id"])
        self._emit("invoice.deleted", invoice)

    def finalize_draft_invoice(self) -> None:
        table = self.ds.tables["invoices"]
        drafts = [
            table.dynamic[i]
            for i in table.dynamic_order
            if i not in table.deleted and table.dynamic[i]["status"] == "draft"
        ]
        if not drafts:
            return
        invoice = self.rng.choice(drafts)
        now = self.ds.clock.now()
        transitions = dict(invoice["status_transitions"], finalized_at=now)
        updated = dict(
            invoice,
            status="open",
            effective_at=now,
            number=f"SIM-{invoice['id'][-6:].upper()}",
            hosted_invoice_url=f"https://invoice.stripe.com/i/{invoice['id']}",
            status_transitions=transitions,
        )
        self._store("invoices", updated)
        self._emit("invoice.finalized", updated, {"status": "draft"})

    def pay_out(self) -> None:
        """Automatic payouts: each day that began since the last, the funds of each mode that
        became available that day go to the bank, as a payout and its balance transaction."""
        ds, now = self.ds, self.ds.clock.now()
        while self.paid_out_through + DAY <= now:
            self.paid_out_through += DAY
            day = self.paid_out_through
            for live in (True, False):
                table = ds.tables["balance_transactions"]
                # Static funds that became available since the history's last payout day
                # (created up to its end), then those of objects made since.
                amount = sum(
                    ds.balance_transaction_net(s)
                    for s in range(self.static_unpaid, table.count)
                    if s % BT_KINDS >= BT_CHARGE
                    and ds._bt_live(s) == live
                    and ds._bt_exists(s)
                    and day - DAY < ds.available_on(ds._bt_created(s)) <= day
                )
                amount += sum(
                    bt["net"]
                    for bt in (table.dynamic[i] for i in table.dynamic_order)
                    if day - DAY < bt["available_on"] <= day
                    and bt["type"] != "payout"
                    and bt["_live"] == live
                )
                if amount <= 0:
                    continue
                _, payout_id = self._new_id("payouts")
                _, txn = self._new_id("balance_transactions")
                bt = ds._bt_object(
                    txn,
                    -amount,
                    [],
                    SETTLEMENT_CURRENCY,
                    now,
                    payout_id,
                    "payout",
                    "payout",
                    "STRIPE PAYOUT",
                )
                bt.update(available_on=now, status="available", _live=live)
                self._add("balance_transactions", bt)
                payout = dict(
                    ds.payout_template(),
                    id=payout_id,
                    amount=amount,
                    balance_transaction=txn,
                    created=now,
                    arrival_date=day + 2 * DAY,
                    livemode=live,
                    status="in_transit",
                )
                self._add("payouts", payout)
                self._emit("payout.created", payout)

    def update_customer(self) -> None:
        customer = self._pick("customers", lambda c: not c.get("deleted"))
        if customer is None:
            return
        email = f"updated.{self.rng.randrange(10**6)}@example.com"
        updated = dict(customer, email=email)
        self._store("customers", updated)
        self._emit("customer.updated", updated, {"email": customer["email"]})

    def delete_customer(self) -> None:
        customer = self._pick("customers", lambda c: not c.get("deleted"))
        if customer is None:
            return
        self.ds.tables["customers"].deleted.add(customer["id"])
        self._emit("customer.deleted", customer)


def _first_slot_created_at_or_after(ds: Dataset, moment: int) -> int:
    table = ds.tables["balance_transactions"]
    lo, hi = 0, table.count
    while lo < hi:
        mid = (lo + hi) // 2
        if table.created(mid) < moment:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _public_copy(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}
