"""Objects in the shapes of an older API version, for events marked with it.

Stripe renders an event's object in the API version the event was created with. The
simulator's objects have the pinned version's shapes; an event marked 2023-08-16 gets the
object as that version showed it, so a client that stored it instead of re-reading the
object would store fields the pinned version no longer has (and miss the ones it added).
What moved is Stripe's 2025-03-31.basil change to invoices and their lines, and the
links from charges and payment intents to invoices it removed.
"""

from __future__ import annotations

from typing import Protocol

OLD_API_VERSION = "2023-08-16"

# Keys the pinned version added that 2023-08-16 did not have, per object.
_ADDED = {
    "invoice": (
        "amount_overpaid",
        "automatically_finalizes_at",
        "confirmation_secret",
        "customer_account",
        "issuer",
        "parent",
        "payments",
        "rendering",
        "status_details",
        "threshold_reason",
        "total_pretax_credit_amounts",
        "total_taxes",
    ),
    "line_item": (
        "invoice",
        "parent",
        "pretax_credit_amounts",
        "pricing",
        "quantity_decimal",
        "subtotal",
        "taxes",
    ),
    "charge": (),
    "payment_intent": ("customer_account", "excluded_payment_method_types", "managed_payments"),
}


class Links(Protocol):
    """What an old shape needs that the pinned one keeps in invoice payments."""

    def invoice_paid_by(self, payment_intent_id: str | None) -> str | None: ...

    def payment_of_invoice(self, invoice_id: str) -> tuple[str | None, str | None]:
        """(payment intent, charge) that paid the invoice, or (None, None)."""
        ...


def in_version(obj: dict, version: str, links: Links) -> dict:
    """`obj` as `version` renders it (2023-08-16 linked charges, intents and invoices
    directly, where the pinned version has invoice payments)."""
    if version != OLD_API_VERSION:
        return obj
    kind = obj.get("object")
    if kind == "invoice":
        return _old_invoice(obj, links)
    if kind == "line_item":
        return _old_line(obj)
    if kind == "charge":
        return dict(obj, invoice=links.invoice_paid_by(obj.get("payment_intent")))
    if kind == "payment_intent":
        old = _without(obj, _ADDED["payment_intent"])
        old["invoice"] = links.invoice_paid_by(obj.get("id"))
        return old
    return obj


def _without(obj: dict, keys) -> dict:
    return {k: v for k, v in obj.items() if k not in keys}


def _old_invoice(invoice: dict, links: Links) -> dict:
    old = _without(invoice, _ADDED["invoice"])
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    paid = invoice.get("status") == "paid"
    payment_intent, charge = links.payment_of_invoice(invoice["id"]) if paid else (None, None)
    taxes = invoice.get("total_taxes") or []
    tax = sum(t["amount"] for t in taxes)
    old.update(
        paid=paid,
        paid_out_of_band=False,
        subscription=details.get("subscription"),
        subscription_details={"metadata": details.get("metadata")},
        tax=tax or None,
        total_tax_amounts=[
            {
                "amount": t["amount"],
                "inclusive": False,
                "tax_rate": "txr_old",
                "taxability_reason": t.get("taxability_reason"),
                "taxable_amount": t.get("taxable_amount"),
            }
            for t in taxes
        ],
        charge=charge,
        payment_intent=payment_intent,
        discount=None,
        application_fee_amount=None,
        quote=None,
        rendering_options=None,
        transfer_data=None,
    )
    lines = invoice.get("lines")
    if isinstance(lines, dict):
        old["lines"] = dict(lines, data=[_old_line(line) for line in lines.get("data") or ()])
    return old


def _old_line(line: dict) -> dict:
    old = _without(line, _ADDED["line_item"])
    parent = line.get("parent") or {}
    sub = parent.get("subscription_item_details")
    item = parent.get("invoice_item_details")
    details = sub or item or {}
    pricing = (line.get("pricing") or {}).get("price_details") or {}
    amount = line.get("amount")
    old.update(
        amount_excluding_tax=amount,
        price={
            "id": pricing.get("price"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": 0,
            "currency": line.get("currency"),
            "custom_unit_amount": None,
            "livemode": line.get("livemode"),
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": pricing.get("product"),
            "recurring": None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        },
        proration=bool(details.get("proration")),
        proration_details={"credited_items": None},
        tax_amounts=[
            {
                "amount": t["amount"],
                "inclusive": False,
                "tax_rate": "txr_old",
                "taxability_reason": t.get("taxability_reason"),
                "taxable_amount": t.get("taxable_amount"),
            }
            for t in line.get("taxes") or ()
        ],
        tax_rates=[],
        type="subscription" if sub else "invoiceitem",
        unit_amount_excluding_tax=str(amount),
    )
    if sub:
        old["subscription_item"] = sub.get("subscription_item")
    elif item:
        old["invoice_item"] = item.get("invoice_item")
    return old
