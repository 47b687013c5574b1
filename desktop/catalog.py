"""The nine Stripe data types Ledgerboard imports, as data.

This module is the only place that knows a data type: where Stripe lists it, what its parent
is, how a row gets its id, which date field formulas use by default, its typed fields, and how
changes reach us. Everything else (store, sync, views, formulas) reads it from here.

Field keys are paths into the Stripe object (``billing_details.address.country``), as the API
version the SDK pins puts them (2026-10-28 today; tests/unit/test_catalog.py walks every path
through the pinned SDK's typed classes and Stripe's newest fixtures). A field the object lacks is
simply empty. Fields marked ``from_parent`` are not in Stripe's schema for the object: the sync
copies them from the parent (a fee's balance transaction, a line's invoice). A ``derived`` field
keeps a name whose path Stripe removed while its meaning survives elsewhere in the object: its
value is computed from the paths in ``sources``.

Fields that moved keep working in what users saved: ``DataType.moved`` maps the old key to the
new one (the filter compiler resolves it, and the store copies old columns over), and
``DataType.retired`` names those whose concept the pinned version dropped: a store made before
keeps them as fields read from its rows' stored JSON, and a formula naming one is told where
the concept went.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    MONEY = "money"  # integer in the currency's minor unit; the currency is in `currency`
    NUMBER = "number"
    TEXT = "text"
    BOOL = "bool"
    DATETIME = "datetime"  # Unix seconds, UTC
    ENUM = "enum"
    REFERENCE = "reference"  # id of another Stripe object (expanded objects are stored by id)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: Kind
    choices: tuple[str, ...] = ()
    from_parent: bool = False
    # A derived field: its value from the object, reading only the paths in `sources`.
    derive: Callable[[dict], object] | None = None
    sources: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """SQL column name for this field in the type's registrations table."""
        return self.key.replace(".", "__")


class IdRule(StrEnum):
    OBJECT_ID = "object_id"  # the Stripe object's own `id`
    PARENT_AND_INDEX = "parent_and_index"  # `<parent id>/<position in parent's list>`
    PARENT_AND_ID = "parent_and_id"  # `<parent id>/<object id>`: ids only unique per parent


class ChangeFeed(StrEnum):
    EVENTS = "events"
    CREATED_CURSOR = "created_cursor"  # no events: new rows by created, pending rows re-read
    WITH_PARENT = "with_parent"


@dataclass(frozen=True)
class DataType:
    name: str  # the command line's name, also the key in DATA_TYPES
    display_name: str
    description: str
    schema: str  # component schema name in Stripe's OpenAPI spec
    list_path: str | None  # None for types derived from a parent's objects
    parent: str | None
    parent_list_field: str | None  # where the rows sit in the parent object
    id_rule: IdRule
    default_date_field: str
    change_feed: ChangeFeed
    event_types: tuple[str, ...]
    fields: tuple[Field, ...]
    deletion_events: tuple[str, ...] = ()
    # When Stripe's schema has no `livemode`, the mode of the key or token that read the row.
    has_own_livemode: bool = True
    search_fields: tuple[str, ...] = ("id",)
    # Keys of fields the pinned API version moved: old key -> the key of the field now.
    moved: Mapping[str, str] = dc_field(default_factory=dict, compare=False)
    # Fields whose concept the pinned version removed: key -> (label, kind, where it went).
    retired: Mapping[str, tuple[str, Kind, str]] = dc_field(default_factory=dict, compare=False)
    _by_key: dict[str, Field] = dc_field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({f.key: f for f in self.fields})
        if self.default_date_field not in self._by_key:
            raise ValueError(f"{self.name}: default date field {self.default_date_field!r}")
        if self._by_key[self.default_date_field].kind is not Kind.DATETIME:
            raise ValueError(f"{self.name}: default date field must be a datetime field")
        for old, new in self.moved.items():
            if new not in self._by_key or old in self._by_key:
                raise ValueError(f"{self.name}: moved field {old!r} -> {new!r}")

    def field(self, key: str) -> Field:
        return self._by_key[key]

    def has_field(self, key: str) -> bool:
        return key in self._by_key

    @property
    def date_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind is Kind.DATETIME)

    @property
    def is_derived(self) -> bool:
        return self.parent is not None


def _f(key: str, label: str, kind: Kind, *choices: str, from_parent: bool = False) -> Field:
    return Field(key, label, kind, tuple(choices), from_parent)


def _derived(
    key: str, label: str, kind: Kind, sources: tuple[str, ...], derive, *choices: str
) -> Field:
    return Field(key, label, kind, tuple(choices), derive=derive, sources=sources)


def _invoice_paid(obj: dict):
    """Stripe removed `invoice.paid` (2025-03-31.basil): an invoice is paid when its status is."""
    status = obj.get("status")
    return None if status is None else status == "paid"


def _invoice_tax(obj: dict):
    """`invoice.tax` became the list `total_taxes` (basil): the tax is the sum of its amounts."""
    taxes = obj.get("total_taxes")
    if not isinstance(taxes, list):
        return None
    return sum(t.get("amount") or 0 for t in taxes if isinstance(t, dict))


_LINE_TYPES = {"subscription_item_details": "subscription", "invoice_item_details": "invoiceitem"}


def _line_type(obj: dict):
    """`line.type` became `parent.type` (basil), named after the details it points to; the
    values users filter on stay those Stripe used before."""
    parent = obj.get("parent")
    kind = parent.get("type") if isinstance(parent, dict) else None
    return _LINE_TYPES.get(kind, kind)


def _line_proration(obj: dict):
    """`line.proration` moved into the parent's details (basil): whichever the line has."""
    parent = obj.get("parent")
    if not isinstance(parent, dict):
        return None
    for name in ("subscription_item_details", "invoice_item_details"):
        details = parent.get(name)
        if isinstance(details, dict) and details.get("proration") is not None:
            return details["proration"]
    return None


M, N, T, B, D, E, R = (
    Kind.MONEY,
    Kind.NUMBER,
    Kind.TEXT,
    Kind.BOOL,
    Kind.DATETIME,
    Kind.ENUM,
    Kind.REFERENCE,
)

_BALANCE_TRANSACTION_TYPES = (  # the pinned SDK's list
    "adjustment",
    "advance",
    "advance_funding",
    "anticipation_repayment",
    "application_fee",
    "application_fee_refund",
    "charge",
    "climate_order_purchase",
    "climate_order_refund",
    "connect_collection_transfer",
    "contribution",
    "fee_credit_funding",
    "inbound_transfer",
    "inbound_transfer_reversal",
    "issuing_authorization_hold",
    "issuing_authorization_release",
    "issuing_dispute",
    "issuing_dispute_provisional_credit",
    "issuing_dispute_provisional_credit_reversal",
    "issuing_transaction",
    "obligation_outbound",
    "obligation_reversal_inbound",
    "payment",
    "payment_failure_refund",
    "payment_network_reserve_hold",
    "payment_network_reserve_release",
    "payment_refund",
    "payment_reversal",
    "payment_unreconciled",
    "payout",
    "payout_cancel",
    "payout_failure",
    "payout_minimum_balance_hold",
    "payout_minimum_balance_release",
    "refund",
    "refund_failure",
    "reserve_hold",
    "reserve_release",
    "reserve_transaction",
    "reserved_funds",
    "stripe_balance_payment_debit",
    "stripe_balance_payment_debit_reversal",
    "stripe_fee",
    "stripe_fx_fee",
    "tax_fee",
    "tax_fund",
    "topup",
    "topup_reversal",
    "transfer",
    "transfer_cancel",
    "transfer_failure",
    "transfer_refund",
)

_CATALOG: tuple[DataType, ...] = (
    DataType(
        name="balance_transactions",
        display_name="Balance Transactions",
        description="Every movement of funds in the balance: charges, refunds, fees, payouts.",
        schema="balance_transaction",
        list_path="/v1/balance_transactions",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.CREATED_CURSOR,
        event_types=(),
        has_own_livemode=False,
        search_fields=("id", "description", "source"),
        fields=(
            _f("id", "ID", T),
            _f("created", "Created", D),
            _f("available_on", "Available on", D),
            _f("amount", "Amount", M),
            _f("fee", "Fee", M),
            _f("net", "Net", M),
            _f("currency", "Currency", T),
            _f("exchange_rate", "Exchange rate", N),
            _f("type", "Type", E, *_BALANCE_TRANSACTION_TYPES),
            _f("reporting_category", "Reporting category", T),
            _f("status", "Status", E, "available", "pending"),
            _f("source", "Source", R),
            _f("description", "Description", T),
        ),
    ),
    DataType(
        name="charges",
        display_name="Charges",
        description="Attempts to move money into the account: card payments and other methods.",
        schema="charge",
        list_path="/v1/charges",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.EVENTS,
        event_types=(
            "charge.captured",
            "charge.expired",
            "charge.failed",
            "charge.pending",
            "charge.refunded",
            "charge.succeeded",
            "charge.updated",
        ),
        search_fields=("id", "description", "receipt_email", "billing_details__name", "customer"),
        retired=MappingProxyType(
            {"invoice": ("Invoice", Kind.REFERENCE, "an invoice's payments name its charge")}
        ),
        fields=(
            _f("id", "ID", T),
            _f("created", "Created", D),
            _f("amount", "Amount", M),
            _f("amount_captured", "Amount captured", M),
            _f("amount_refunded", "Amount refunded", M),
            _f("currency", "Currency", T),
            _f("status", "Status", E, "failed", "pending", "succeeded"),
            _f("paid", "Paid", B),
            _f("captured", "Captured", B),
            _f("refunded", "Refunded", B),
            _f("disputed", "Disputed", B),
            _f("customer", "Customer", R),
            _f("payment_intent", "Payment intent", R),
            _f("balance_transaction", "Balance transaction", R),
            _f("description", "Description", T),
            _f("receipt_email", "Receipt email", T),
            _f("billing_details.name", "Billing name", T),
            _f("billing_details.email", "Billing email", T),
            _f("billing_details.address.country", "Billing country", T),
            _f("payment_method_details.type", "Payment method", T),
            _f("payment_method_details.card.brand", "Card brand", T),
            _f("payment_method_details.card.country", "Card country", T),
            _f("outcome.type", "Outcome", T),
            _f("failure_code", "Failure code", T),
            _f("failure_message", "Failure message", T),
            _f("statement_descriptor", "Statement descriptor", T),
        ),
    ),
    DataType(
        name="customers",
        display_name="Customers",
        description="The people and companies that pay, with their contact details.",
        schema="customer",
        list_path="/v1/customers",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.EVENTS,
        event_types=("customer.created", "customer.updated", "customer.deleted"),
        deletion_events=("customer.deleted",),
        search_fields=("id", "email", "name", "description"),
        fields=(
            _f("id", "ID", T),
            _f("created", "Created", D),
            _f("name", "Name", T),
            _f("email", "Email", T),
            _f("phone", "Phone", T),
            _f("description", "Description", T),
            _f("currency", "Currency", T),
            _f("balance", "Balance", M),
            _f("delinquent", "Delinquent", B),
            _f("address.country", "Country", T),
            _f("address.city", "City", T),
            _f("tax_exempt", "Tax exempt", E, "exempt", "none", "reverse"),
            _f("invoice_prefix", "Invoice prefix", T),
        ),
    ),
    DataType(
        name="disputes",
        display_name="Disputes",
        description="Charges the cardholder questioned with their bank, and their outcome.",
        schema="dispute",
        list_path="/v1/disputes",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.EVENTS,
        event_types=(
            "charge.dispute.closed",
            "charge.dispute.created",
            "charge.dispute.funds_reinstated",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.updated",
        ),
        search_fields=("id", "charge", "reason"),
        fields=(
            _f("id", "ID", T),
            _f("created", "Created", D),
            _f("amount", "Amount", M),
            _f("currency", "Currency", T),
            _f(
                "status",
                "Status",
                E,
                "lost",
                "needs_response",
                "under_review",
                "warning_closed",
                "warning_needs_response",
                "warning_under_review",
                "won",
            ),
            _f(
                "reason",
                "Reason",
                E,
                "bank_cannot_process",
                "check_returned",
                "credit_not_processed",
                "customer_initiated",
                "debit_not_authorized",
                "duplicate",
                "fraudulent",
                "general",
                "incorrect_account_details",
                "insufficient_funds",
                "product_not_received",
                "product_unacceptable",
                "subscription_canceled",
                "unrecognized",
            ),
            _f("charge", "Charge", R),
            _f("payment_intent", "Payment intent", R),
            _f("is_charge_refundable", "Charge refundable", B),
            _f("evidence_details.due_by", "Evidence due by", D),
            _f("evidence_details.submission_count", "Evidence submissions", N),
        ),
    ),
    DataType(
        name="fee_details",
        display_name="Fee Details",
        description="The fees behind each balance transaction: Stripe, application and tax fees.",
        schema="fee",
        list_path=None,
        parent="balance_transactions",
        parent_list_field="fee_details",
        id_rule=IdRule.PARENT_AND_INDEX,
        default_date_field="created",
        change_feed=ChangeFeed.WITH_PARENT,
        event_types=(),
        has_own_livemode=False,
        search_fields=("balance_transaction", "description"),
        fields=(
            _f("balance_transaction", "Balance transaction", R, from_parent=True),
            _f("created", "Created", D, from_parent=True),
            _f("available_on", "Available on", D, from_parent=True),
            _f("amount", "Amount", M),
            _f("currency", "Currency", T),
            _f(
                "type",
                "Type",
                E,
                "application_fee",
                "payment_method_passthrough_fee",
                "stripe_fee",
                "tax",
            ),
            _f("description", "Description", T),
            _f("application", "Application", T),
        ),
    ),
    DataType(
        name="invoice_lines",
        display_name="Invoice Lines",
        description="Each line of every invoice: subscriptions, one-off items and prorations.",
        schema="line_item",
        list_path="/v1/invoices/{id}/lines",
        parent="invoices",
        parent_list_field="lines",
        id_rule=IdRule.PARENT_AND_ID,
        default_date_field="created",
        change_feed=ChangeFeed.WITH_PARENT,
        event_types=(),
        search_fields=("id", "invoice", "description"),
        moved=MappingProxyType({"price.id": "pricing.price_details.price"}),
        fields=(
            _f("id", "ID", T),
            _f("invoice", "Invoice", R, from_parent=True),
            _f("created", "Invoice created", D, from_parent=True),
            _f("amount", "Amount", M),
            _f("currency", "Currency", T),
            _f("description", "Description", T),
            _f("quantity", "Quantity", N),
            _derived(
                "type",
                "Type",
                E,
                ("parent.type",),
                _line_type,
                "invoiceitem",
                "subscription",
            ),
            _derived(
                "proration",
                "Proration",
                B,
                (
                    "parent.subscription_item_details.proration",
                    "parent.invoice_item_details.proration",
                ),
                _line_proration,
            ),
            _f("discountable", "Discountable", B),
            _f("period.start", "Period start", D),
            _f("period.end", "Period end", D),
            _f("pricing.price_details.price", "Price", R),
            _f("pricing.price_details.product", "Product", R),
            _f("parent.subscription_item_details.subscription_item", "Subscription item", R),
            _f("parent.invoice_item_details.invoice_item", "Invoice item", R),
            _f("subscription", "Subscription", R),
        ),
    ),
    DataType(
        name="invoices",
        display_name="Invoices",
        description="Statements of amounts owed by customers, one-off or from subscriptions.",
        schema="invoice",
        list_path="/v1/invoices",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.EVENTS,
        event_types=(  # not invoice.upcoming: that invoice has no id
            "invoice.created",
            "invoice.deleted",
            "invoice.finalized",
            "invoice.marked_uncollectible",
            "invoice.paid",
            "invoice.payment_action_required",
            "invoice.payment_failed",
            "invoice.payment_succeeded",
            "invoice.sent",
            "invoice.updated",
            "invoice.voided",
        ),
        deletion_events=("invoice.deleted",),
        search_fields=("id", "number", "customer_email", "customer_name", "customer"),
        moved=MappingProxyType({"subscription": "parent.subscription_details.subscription"}),
        retired=MappingProxyType(
            {
                "charge": ("Charge", Kind.REFERENCE, "the invoice's payments name it"),
                "payment_intent": ("Payment intent", Kind.REFERENCE, "the invoice's payments"),
            }
        ),
        fields=(
            _f("id", "ID", T),
            _f("number", "Number", T),
            _f("created", "Created", D),
            _f("status", "Status", E, "draft", "open", "paid", "uncollectible", "void"),
            _f("customer", "Customer", R),
            _f("customer_name", "Customer name", T),
            _f("customer_email", "Customer email", T),
            _f("currency", "Currency", T),
            _f("amount_due", "Amount due", M),
            _f("amount_paid", "Amount paid", M),
            _f("amount_remaining", "Amount remaining", M),
            _f("subtotal", "Subtotal", M),
            _derived("tax", "Tax", M, ("total_taxes",), _invoice_tax),
            _f("total", "Total", M),
            _f("amount_overpaid", "Amount overpaid", M),
            _derived("paid", "Paid", B, ("status",), _invoice_paid),
            _f("attempted", "Attempted", B),
            _f("attempt_count", "Attempts", N),
            _f(
                "billing_reason",
                "Billing reason",
                E,
                "automatic_pending_invoice_item_invoice",
                "manual",
                "quote_accept",
                "subscription",
                "subscription_create",
                "subscription_cycle",
                "subscription_threshold",
                "subscription_update",
                "upcoming",
            ),
            _f("collection_method", "Collection method", E, "charge_automatically", "send_invoice"),
            _f("due_date", "Due date", D),
            _f("period_start", "Period start", D),
            _f("period_end", "Period end", D),
            _f("status_transitions.paid_at", "Paid at", D),
            _f("status_transitions.voided_at", "Voided at", D),
            _f("status_transitions.marked_uncollectible_at", "Marked uncollectible at", D),
            _f("parent.subscription_details.subscription", "Subscription", R),
            _f("hosted_invoice_url", "Invoice page", T),
        ),
    ),
    DataType(
        name="payment_intents",
        display_name="Payment Intents",
        description="Each payment's lifecycle, from creation through authentication to success.",
        schema="payment_intent",
        list_path="/v1/payment_intents",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.EVENTS,
        event_types=(
            "payment_intent.amount_capturable_updated",
            "payment_intent.canceled",
            "payment_intent.created",
            "payment_intent.partially_funded",
            "payment_intent.payment_failed",
            "payment_intent.processing",
            "payment_intent.requires_action",
            "payment_intent.succeeded",
        ),
        search_fields=("id", "description", "receipt_email", "customer"),
        retired=MappingProxyType(
            {"invoice": ("Invoice", Kind.REFERENCE, "an invoice's payments name the intent")}
        ),
        fields=(
            _f("id", "ID", T),
            _f("created", "Created", D),
            _f("amount", "Amount", M),
            _f("amount_received", "Amount received", M),
            _f("amount_capturable", "Amount capturable", M),
            _f("currency", "Currency", T),
            _f(
                "status",
                "Status",
                E,
                "canceled",
                "processing",
                "requires_action",
                "requires_capture",
                "requires_confirmation",
                "requires_payment_method",
                "succeeded",
            ),
            _f("customer", "Customer", R),
            _f("latest_charge", "Latest charge", R),
            _f("description", "Description", T),
            _f("receipt_email", "Receipt email", T),
            _f("capture_method", "Capture method", E, "automatic", "automatic_async", "manual"),
            _f("canceled_at", "Canceled at", D),
            _f(
                "cancellation_reason",
                "Cancellation reason",
                E,
                "abandoned",
                "automatic",
                "duplicate",
                "failed_invoice",
                "fraudulent",
                "requested_by_customer",
                "void_invoice",
            ),
            _f("last_payment_error.code", "Last error code", T),
        ),
    ),
    DataType(
        name="refunds",
        display_name="Refunds",
        description="Money returned to customers for earlier charges.",
        schema="refund",
        list_path="/v1/refunds",
        parent=None,
        parent_list_field=None,
        id_rule=IdRule.OBJECT_ID,
        default_date_field="created",
        change_feed=ChangeFeed.EVENTS,
        event_types=("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"),
        has_own_livemode=False,
        search_fields=("id", "charge", "description"),
        fields=(
            _f("id", "ID", T),
            _f("created", "Created", D),
            _f("amount", "Amount", M),
            _f("currency", "Currency", T),
            _f(
                "status",
                "Status",
                E,
                "canceled",
                "failed",
                "pending",
                "requires_action",
                "succeeded",
            ),
            _f(
                "reason",
                "Reason",
                E,
                "duplicate",
                "expired_uncaptured_charge",
                "fraudulent",
                "requested_by_customer",
            ),
            _f("charge", "Charge", R),
            _f("payment_intent", "Payment intent", R),
            _f("balance_transaction", "Balance transaction", R),
            _f("description", "Description", T),
            _f("receipt_number", "Receipt number", T),
        ),
    ),
)

DATA_TYPES: MappingProxyType[str, DataType] = MappingProxyType({t.name: t for t in _CATALOG})
# Fields whose value is one of the API's words (status, type, reason): shown in words.
CHOICE_KEYS = frozenset(f.key for t in _CATALOG for f in t.fields if f.kind is Kind.ENUM)

# Stripe's zero-decimal currencies: amounts are whole units, there is no minor unit.
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


def minor_unit_divisor(currency: str | None) -> int:
    """How many minor units make one unit of the currency (100, or 1 for JPY, KRW, ...)."""
    return 1 if (currency or "").lower() in ZERO_DECIMAL_CURRENCIES else 100


def children_of(name: str) -> tuple[DataType, ...]:
    return tuple(t for t in _CATALOG if t.parent == name)


@functools.cache
def _path(key: str) -> tuple[str, ...]:
    return tuple(key.split("."))


def extract(obj: dict, key: str):
    """The value at a dotted path of a Stripe object; None where any step is missing."""
    value = obj
    for part in _path(key):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
        if value is None:
            return None
    return value


def field_value(fld: Field, obj: dict):
    """A field's value as stored in its typed column.

    Missing fields are None, never an error: Stripe's objects change shape between API
    versions. An expanded object where a reference is expected is reduced to its id.
    """
    if fld.derive is not None:
        return convert(fld.kind, fld.derive(obj))
    return convert(fld.kind, extract(obj, fld.key))


def convert(kind: Kind, value):
    """A raw JSON value as the column of a field of `kind` stores it."""
    if value is None:
        return None
    if kind is Kind.REFERENCE:
        return value.get("id") if isinstance(value, dict) else str(value)
    if kind is Kind.BOOL:
        return bool(value)
    if kind in (Kind.MONEY, Kind.DATETIME):
        # An amount no column can hold (1e300, infinity) is left to the stored JSON.
        if isinstance(value, int | float) and _fits(value):
            return int(value)
        return None
    if kind is Kind.NUMBER:
        if isinstance(value, int) and not _fits(value):
            return float(value)
        return value if isinstance(value, int | float) else _number_or_none(value)
    if isinstance(value, dict | list):
        return None
    return str(value)


# The common case of each kind, where `convert` would return the value unchanged.
_FAST_TYPES = {
    Kind.TEXT: "v.__class__ is str",
    Kind.ENUM: "v.__class__ is str",
    Kind.REFERENCE: "v.__class__ is str",
    Kind.MONEY: "v.__class__ is int and -INT64 <= v < INT64",
    Kind.DATETIME: "v.__class__ is int and -INT64 <= v < INT64",
    Kind.NUMBER: "(v.__class__ is int and -INT64 <= v < INT64) or v.__class__ is float",
}


def compile_extractor(fields: tuple[Field, ...]):
    """One function `extract(prefix, obj)` that returns `(*prefix, *[field_value(f, obj) for
    f in fields])`, several times faster: the sync runs it for every object it stores, so
    per-field calls matter there. A boolean comes out as 1 or 0, which is what SQLite stores
    for it; binding True or False directly costs an adaptation lookup per value."""
    lines = ["def extract_all(prefix, obj):"]
    for number, fld in enumerate(fields):
        if fld.derive is not None:
            lines.append(f"    v{number} = convert(KINDS[{number}], DERIVE[{number}](obj))")
            if fld.kind is Kind.BOOL:
                lines.append(f"    v{number} = None if v{number} is None else int(v{number})")
            continue
        parts = _path(fld.key)
        lines.append(f"    v = obj.get({parts[0]!r})")
        for part in parts[1:]:
            lines.append(f"    v = v.get({part!r}) if isinstance(v, dict) else None")
        if fld.kind is Kind.BOOL:
            value = "1 if v is True else 0 if v is False else None if v is None else"
            lines.append(f"    v{number} = {value} int(convert(KINDS[{number}], v))")
        else:
            fast = _FAST_TYPES[fld.kind]
            lines.append(
                f"    v{number} = v if v is None or {fast} else convert(KINDS[{number}], v)"
            )
    values = "".join(f"v{number}, " for number in range(len(fields)))
    lines.append(f"    return (*prefix, {values})")
    namespace = {
        "convert": convert,
        "KINDS": [f.kind for f in fields],
        "DERIVE": [f.derive for f in fields],
        "INT64": INT64,
    }
    exec("\n".join(lines), namespace)
    return namespace["extract_all"]


INT64 = 2**63  # SQLite's INTEGER holds [-INT64, INT64)


def _fits(value: float) -> bool:
    return math.isfinite(value) and -INT64 <= value < INT64


def _number_or_none(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
