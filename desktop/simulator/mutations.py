"""Change over time: each tick creates, updates and deletes objects and emits their events.

Created objects are kept in full as the table's dynamic objects; changed static objects are
kept as overrides. Every change emits the event Stripe would, with `api_version`, `created`
and `data.object`; one event in three carries an older API version, as events of an account
whose default version is older than the client's do, so that clients must re-read those.
"""

from __future__ import annotations

import random

from desktop.simulator.dataset import (
    DAY,
    OLD_API_VERSION,
    Dataset,
    _code,
)


class Mutations:
    def __init__(self, dataset: Dataset, seed: int | None = None) -> None:
        self.ds = dataset
        self.rng = random.Random(dataset.seed * 1_000_003 + (seed or 0))
        self._event_count = 0

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
            if roll() < 0.3:
                self.update_customer()
            if roll() < 0.15:
                self.new_draft_invoice()
            if roll() < 0.15:
                self.delete_draft_invoice()
            if roll() < 0.1:
                self.delete_customer()
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

    def new_payment(self) -> None:
        ds, now = self.ds, self.ds.clock.now()
        charges, intents = ds.tables["charges"], ds.tables["payment_intents"]
        n = charges.next_index
        charges.next_index = intents.next_index = n + 1
        charge = ds.charge(n)
        failed = charge["status"] == "failed"
        description = f"Order #{n:07d}"
        txn = None
        if not failed:
            _, txn = self._new_id("balance_transactions")
            fees = ds.charge_fees(n, charge["amount"], charge["currency"])
            bt = ds._bt_object(
                txn,
                charge["amount"],
                fees,
                charge["currency"],
                now,
                charge["id"],
                "charge",
                "charge",
                description,
            )
            bt["_live"] = charge["livemode"]
            self._add("balance_transactions", bt)
        charge.update(
            created=now,
            amount_refunded=0,
            refunded=False,
            disputed=False,
            invoice=None,
            description=description,
            balance_transaction=txn,
        )
        intent = ds.payment_intent(n)
        intent.update(created=now, invoice=None, description=description)
        self._add("payment_intents", intent)
        self._emit("payment_intent.created", dict(intent, status="requires_payment_method"))
        self._add("charges", charge)
        if failed:
            self._emit("charge.failed", charge)
            self._emit("payment_intent.payment_failed", intent)
        else:
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.succeeded", intent)

    def refund_charge(self) -> None:
        charge = self._pick(
            "charges",
            lambda c: (
                c["status"] == "succeeded"
                and not c["refunded"]
                and not c["disputed"]
                and c["amount_refunded"] == 0
            ),
        )
        if charge is None:
            return
        ds, now = self.ds, self.ds.clock.now()
        _, refund_id = self._new_id("refunds")
        _, txn = self._new_id("balance_transactions")
        full = self.rng.random() < 0.7
        amount = charge["amount"] if full else max(1, charge["amount"] // 2)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": txn,
            "charge": charge["id"],
            "created": now,
            "currency": charge["currency"],
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "reason": "requested_by_customer",
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
            "_live": charge["livemode"],
        }
        bt = ds._bt_object(
            txn,
            -amount,
            [],
            charge["currency"],
            now,
            refund_id,
            "refund",
            "refund",
            "REFUND FOR CHARGE",
        )
        bt["_live"] = charge["livemode"]
        self._add("balance_transactions", bt)
        self._add("refunds", refund)
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        updated = dict(charge, amount_refunded=amount, refunded=full)
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
        if not candidates:
            return
        if not self.ds.tables["disputes"].count:
            return  # no static dispute to take the evidence fields' shape from
        charge = self.rng.choice(candidates)
        ds, now = self.ds, self.ds.clock.now()
        _, dispute_id = self._new_id("disputes")
        _, txn = self._new_id("balance_transactions")
        fee = 1500 if charge["currency"] != "jpy" else 2000
        bt = ds._bt_object(
            txn,
            -charge["amount"],
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": charge["currency"],
                    "description": "Dispute fee",
                    "type": "stripe_fee",
                }
            ],
            charge["currency"],
            now,
            dispute_id,
            "adjustment",
            "dispute",
            "Chargeback withdrawal",
        )
        bt["_live"] = charge["livemode"]
        self._add("balance_transactions", bt)
        dispute = dict(ds.dispute(0))
        dispute.update(
            id=dispute_id,
            amount=charge["amount"],
            balance_transactions=[_public_copy(bt)],
            charge=charge["id"],
            created=now,
            currency=charge["currency"],
            evidence_details={
                "due_by": now + 14 * DAY,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            is_charge_refundable=False,
            livemode=charge["livemode"],
            metadata={},
            object="dispute",
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
        dispute = self._pick(
            "disputes", lambda d: d["status"] in ("needs_response", "under_review")
        )
        if dispute is None:
            return
        outcome = "won" if self.rng.random() < 0.5 else "lost"
        updated = dict(dispute, status=outcome)
        self._store("disputes", updated)
        self._emit("charge.dispute.closed", updated, {"status": dispute["status"]})

    def pay_invoice(self) -> None:
        invoice = self._pick("invoices", lambda i: i["status"] == "open")
        if invoice is None:
            return
        now = self.ds.clock.now()
        transitions = dict(invoice["status_transitions"], paid_at=now)
        updated = dict(
            invoice,
            status="paid",
            paid=True,
            paid_out_of_band=True,
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            attempted=True,
            status_transitions=transitions,
        )
        self._store("invoices", updated)
        self._emit("invoice.paid", updated, {"status": "open", "paid": False})

    def new_draft_invoice(self) -> None:
        customer = self._pick("customers", lambda c: not c.get("deleted"))
        if customer is None or not self.ds.tables["invoices"].count:
            return
        ds, now = self.ds, self.ds.clock.now()
        _, invoice_id = self._new_id("invoices")
        template = ds.invoice(0)
        count = self.rng.choice((1, 2, 3, 12, 120))
        lines = []
        for k in range(count):
            line = dict(ds.invoice_line(0, k % ds.invoice_line_count(0)))
            line["id"] = "il_" + invoice_id[3:] + _code(k, 4)
            line["livemode"] = customer["livemode"]
            line["currency"] = customer.get("currency") or "usd"
            lines.append(line)
        total = sum(line["amount"] for line in lines)
        invoice = dict(template)
        invoice.update(
            id=invoice_id,
            status="draft",
            paid=False,
            attempted=False,
            attempt_count=0,
            amount_due=total,
            amount_paid=0,
            amount_remaining=total,
            subtotal=total,
            subtotal_excluding_tax=total,
            total=total,
            total_excluding_tax=total,
            created=now,
            effective_at=None,
            customer=customer["id"],
            customer_email=customer.get("email"),
            customer_name=customer.get("name"),
            currency=customer.get("currency") or "usd",
            livemode=customer["livemode"],
            charge=None,
            payment_intent=None,
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


def _public_copy(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}
