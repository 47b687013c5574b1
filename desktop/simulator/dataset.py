"""The simulator's Stripe account: a deterministic dataset made from a seed and a size.

Nothing is built up front. Every static object is a pure function of its index, so a dataset of
a million charges costs nothing until a page of it is asked for. All related objects derive
from the charge index `i`, which is how they agree with each other:

- charge i and payment intent i; customer chosen among those created before the charge;
- refund j belongs to charge 10j+7; dispute k to charge 50k+13; invoice j to charge 5j+4, and
  a paid invoice's invoice payment j names that charge's payment intent;
- balance transaction slots come BT_KINDS to a charge: first the automatic payouts (live,
  then test) of the funds that became available since the charge before, when a day began
  since then; then charge i's, its refund's, its dispute's, the reversal of a dispute won
  three weeks earlier, and a Stripe fee or an adjustment now and then;
- charge i is a test-mode ("sample") object when i % 8 == 3, and so is everything of it.

The account settles in US dollars: a charge in another currency has its balance transactions
in dollars, at the day's exchange rate (`exchange_rate`), and its fees are in dollars. Objects
have the shapes of the API version the SDK pins; versions.py turns them into older ones for
events marked with an older version.

Time runs on a `Clock`; `Mutations` (the --clock option) creates, updates and deletes objects
after the start and records the matching events. Those objects are kept in full ("dynamic").
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
import stripe

from desktop.simulator.versions import in_version

DAY = 86_400
SPAN = 400 * DAY  # static history: a bit more than a year, so "previous year" has data
EVENT_RETENTION = 30 * DAY
# The account's default version: the one the official SDK pins, so that its events match.
PINNED_VERSION = stripe.api_version

_INDEX_WIDTH = 7  # hex digits for the index inside an id: 268 million objects
_TAIL_WIDTH = 13
_MASK = (1 << 64) - 1


def _mix(*values: int) -> int:
    """A fast, well-spread 64-bit hash of integers (splitmix64 steps)."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (v & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & _MASK
        x ^= x >> 29
    return x


def _code(n: int, width: int) -> str:
    """`width` hex digits of n: fast, and hex digits are all valid in Stripe-style ids."""
    return _WIDTH_FORMATS[width] % (n & _WIDTH_MASKS[width])


_WIDTH_MASKS = [(1 << (4 * width)) - 1 for width in range(33)]
_WIDTH_FORMATS = [f"%0{width}x" for width in range(33)]


def _memoized(method):
    """Cache a pure function of one index on the dataset (bounded: cleared when large).

    Charges, their payment intents and balance transactions all ask for the same customer,
    currency and amount; computing each once keeps pages fast at a million charges.
    """
    name = method.__name__

    def cached(self, index):
        cache = self._memo.setdefault(name, {})
        try:
            return cache[index]
        except KeyError:
            if len(cache) > 200_000:
                cache.clear()
            value = cache[index] = method(self, index)
            return value

    cached.__name__ = name
    cached.__doc__ = method.__doc__
    return cached


# --- the clock ------------------------------------------------------------------------


class Clock:
    """The simulator's time: real time, or frozen for tests; `advance` moves it forward."""

    def __init__(self, start: int | None = None, *, frozen: bool = False) -> None:
        self._frozen = frozen
        self._start = int(start if start is not None else time.time())
        self._offset = 0
        self._real_start = time.time()

    def now(self) -> int:
        if self._frozen:
            return self._start + self._offset
        return int(self._start + (time.time() - self._real_start)) + self._offset

    def advance(self, seconds: int) -> None:
        self._offset += int(seconds)


# --- names and values -----------------------------------------------------------------

FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Lucas",
    "Sofia",
    "Mateo",
    "Freja",
    "Oscar",
    "Zoë",
    "Jonas",
    "Aiko",
    "Chen",
    "Amara",
    "Søren",
    "Inés",
    "Björn",
    "Priya",
    "Yusuf",
)
LAST_NAMES = (
    "Hansen",
    "Smith",
    "García",
    "Müller",
    "Rossi",
    "Tanaka",
    "Nguyen",
    "Ølgaard",
    "Kowalski",
    "Johnson",
    "Dubois",
    "Silva",
    "Andersen",
    "O'Brien",
    "Kim",
    "Novak",
    "Fischer",
    "Ivanova",
)
COMPANIES = ("Northwind", "Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark & Co")
# Customer 9 always carries markup in its name: the app must show it as plain text.
HTML_NAME = "<b>bold</b><img src=x>"
CURRENCIES = ("usd",) * 12 + ("eur",) * 3 + ("gbp",) * 2 + ("jpy", "dkk", "sek")
PRICE_POINTS = (990, 1990, 2500, 4900, 750, 9900, 19900, 1290, 3500, 49900)
CARD_BRANDS = ("visa",) * 11 + ("mastercard",) * 5 + ("amex",) * 2 + ("discover", "jcb")
COUNTRIES = ("US", "US", "US", "GB", "DE", "DK", "FR", "SE", "JP", "CA", "NL", "AU")
PLANS = ("basic", "pro", "enterprise")
DISPUTE_REASONS = ("fraudulent", "product_not_received", "duplicate", "general", "unrecognized")
ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp"})
SETTLEMENT_CURRENCY = "usd"
# Units of the settlement currency one unit of the charge's currency is worth, before the
# day's small move (see Dataset.exchange_rate).
EXCHANGE_RATES = {"eur": 1.08, "gbp": 1.27, "jpy": 0.0067, "dkk": 0.145, "sek": 0.095}
BT_KINDS = 7
BT_PAYOUT, BT_TEST_PAYOUT, BT_CHARGE, BT_REFUND, BT_DISPUTE, BT_REVERSAL, BT_OTHER = range(7)
DISPUTE_FEE = 1500  # in the settlement currency's cents

# Shared, never mutated: objects may reference the same constant sub-objects.
_EMPTY: dict = {}
_CHECKS = {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}
_AUTOMATIC_TAX = {
    "disabled_reason": None,
    "enabled": False,
    "liability": None,
    "provider": None,
    "status": None,
}
_ISSUER = {"type": "self"}
_REFUND_DESTINATION = {"card": {"reference_status": "available", "type": "refund"}, "type": "card"}
_PAYMENT_SETTINGS = {
    "default_mandate": None,
    "payment_method_options": None,
    "payment_method_types": None,
}
_INVOICE_SETTINGS = {
    "custom_fields": None,
    "default_payment_method": None,
    "footer": None,
    "rendering_options": None,
}
_EVIDENCE = dict.fromkeys(
    (
        "access_activity_log billing_address cancellation_policy cancellation_policy_disclosure "
        "cancellation_rebuttal customer_communication customer_email_address customer_name "
        "customer_purchase_ip customer_signature duplicate_charge_documentation "
        "duplicate_charge_explanation duplicate_charge_id product_description receipt "
        "refund_policy refund_policy_disclosure refund_refusal_explanation service_date "
        "service_documentation shipping_address shipping_carrier shipping_date "
        "shipping_documentation shipping_tracking_number uncategorized_file uncategorized_text"
    ).split()
)


def scale_amount(cents: int, currency: str) -> int:
    """A price point in cents, expressed in the currency's minor unit (yen have none)."""
    return max(50, cents * 1) if currency not in ZERO_DECIMAL else max(50, cents * 150 // 100)


def stripe_fee(amount: int, currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return round(amount * 0.036)
    return round(amount * 0.029) + 30


# --- tables ---------------------------------------------------------------------------


@dataclass
class Table:
    """One listable type: static objects by index, then dynamic ones (newest last)."""

    name: str
    prefix: str
    count: int  # static indices are 0 .. count-1
    exists: Callable[[int], bool]
    live: Callable[[int], bool]
    created: Callable[[int], int]
    build: Callable[[int], dict]
    dynamic: dict[str, dict] = field(default_factory=dict)
    dynamic_order: list[str] = field(default_factory=list)
    next_index: int = 0
    overrides: dict[str, dict] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.next_index = self.count


class Dataset:
    """The objects of one simulated Stripe account, in both live and test mode."""

    def __init__(
        self,
        seed: int = 1,
        size: int = 1000,
        clock: Clock | None = None,
        api_version: str = PINNED_VERSION,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.seed = seed
        self.size = size
        self.clock = clock or Clock()
        self.api_version = api_version
        self.account_id = "acct_1Sim" + _code(_mix(seed, 99), 12)
        self.application_id = "ca_" + _code(seed, 16)
        self.tax_rate_id = "txr_" + _code(_mix(seed, 98), 24)
        self.anchor = self.clock.now() // 3600 * 3600
        span = max(SPAN, size * 3)  # at least 3 s between charges keeps every order strict
        self.t0 = self.anchor - span
        self.first_day = self.t0 // DAY * DAY
        self.step = span / size
        self.customer_count = max(8, (size // 4) // 8 * 8)
        self.customer_t0 = self.t0 - 60 * DAY
        self.customer_step = (span + 60 * DAY) / self.customer_count
        self.lock = threading.RLock()
        self._memo: dict[str, dict] = {}
        self._mixed_kinds: dict[int, int] = {}  # see h()
        self._seed_code = _code(seed, 3)
        self._texts: dict[tuple[str, int], object] = {}  # see static_json
        self._text_bytes = 0
        self._warmed: set[str] = set()  # tables whose objects are all kept (see warm)
        self.events: list[dict] = []  # oldest first
        # Invoices paid after the start: payment intent -> invoice, and its charge.
        self.paid_invoices: dict[str, str] = {}
        self.intent_charges: dict[str, str] = {}
        self._event_created: list[int] = []
        self.tables: dict[str, Table] = {}
        self._make_tables()

    # --- static rules --------------------------------------------------------------------

    def h(self, kind: int, i: int, k: int = 0) -> int:
        """_mix(seed, kind, i, k), with the steps for seed and kind done once per kind: every
        value of every object comes from here, so a cold page is mostly this."""
        x = self._mixed_kinds.get(kind)
        if x is None:
            x = self._mixed_kinds[kind] = _mix(self.seed, kind)
        x = (x ^ (i & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & _MASK
        x ^= x >> 29
        x = (x ^ (k & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & _MASK
        return x ^ (x >> 29)

    def object_id(self, prefix: str, index: int, sub: int = 0) -> str:
        tail = _code(self.h(len(prefix) * 7919 + sub, index), _TAIL_WIDTH - 3) + self._seed_code
        return f"{prefix}_{_code(index, _INDEX_WIDTH)}{tail}"

    def parse_id(self, prefix: str, object_id: str) -> int | None:
        head = prefix + "_"
        if (
            not object_id.startswith(head)
            or len(object_id) != len(head) + _INDEX_WIDTH + _TAIL_WIDTH
        ):
            return None
        try:
            index = int(object_id[len(head) : len(head) + _INDEX_WIDTH], 16)
        except ValueError:
            return None
        return index if self.object_id(prefix, index) == object_id else None

    @staticmethod
    def charge_live(i: int) -> bool:
        return i % 8 != 3

    def charge_created(self, i: int) -> int:
        return self.t0 + int(i * self.step)

    @staticmethod
    def charge_failed(i: int) -> bool:
        return i % 25 == 11

    @staticmethod
    def charge_refunded(i: int) -> bool:
        return i % 10 == 7

    @staticmethod
    def charge_disputed(i: int) -> bool:
        return i % 50 == 13

    @staticmethod
    def charge_invoiced(i: int) -> bool:
        return i % 5 == 4

    def customer_created(self, c: int) -> int:
        if c < 8:
            return self.customer_t0 + c
        return self.customer_t0 + int(c * self.customer_step)

    @_memoized
    def charge_customer(self, i: int) -> int | None:
        """A customer of the charge's mode created before it; None for some guest payments."""
        if i % 13 == 6 and not self.charge_invoiced(i):
            return None
        latest = int((self.charge_created(i) - self.customer_t0) / self.customer_step)
        latest = min(latest, self.customer_count - 1)
        lane = i % 8
        choices = (latest - lane) // 8 + 1 if latest >= lane else 0
        if choices <= 0:
            return lane if lane < self.customer_count else None
        return 8 * (self.h(1, i) % choices) + lane

    @staticmethod
    def customer_kept(c: int) -> bool:
        """Whether customer c still exists: one in 41 was deleted, its payments kept."""
        return c < 8 or c % 41 != 40

    def customer_currency(self, c: int) -> str:
        return CURRENCIES[self.h(2, c) % len(CURRENCIES)]

    @_memoized
    def charge_currency(self, i: int) -> str:
        c = self.charge_customer(i)
        return self.customer_currency(c) if c is not None else CURRENCIES[self.h(3, i) % 20]

    def invoice_line_count(self, j: int) -> int:
        if j % 200 == 5:
            return 250
        if j % 200 == 105:
            return 130
        if j % 9 == 2:
            return 12 + self.h(4, j) % 19
        return 1 + self.h(4, j) % 3

    def line_amount(self, j: int, k: int, currency: str) -> int:
        return scale_amount(PRICE_POINTS[self.h(5, j, k) % len(PRICE_POINTS)], currency)

    @_memoized
    def invoice_total(self, j: int) -> int:
        """Lines and their tax: what the invoice's charge collects."""
        currency = self.charge_currency(5 * j + 4)
        total = 0
        for k in range(self.invoice_line_count(j)):
            amount = self.line_amount(j, k, currency)
            total += amount + self.invoice_tax(j, k, amount)
        return total

    @_memoized
    def charge_amount(self, i: int) -> int:
        if self.charge_invoiced(i):
            return self.invoice_total(i // 5)
        return scale_amount(PRICE_POINTS[self.h(6, i) % len(PRICE_POINTS)], self.charge_currency(i))

    def refund_amount(self, j: int) -> int:
        amount = self.charge_amount(10 * j + 7)
        return amount // 2 if j % 3 == 0 else amount

    @staticmethod
    def invoice_status(j: int) -> str:
        if j % 23 == 9:
            return "void"
        if j % 29 == 17:
            return "uncollectible"
        if j % 11 == 6:
            return "open"
        return "paid"

    def invoice_tax(self, j: int, k: int, amount: int) -> int:
        """Tax on line k of invoice j: a quarter of it (Danish VAT) on one invoice in four."""
        return amount // 4 if j % 4 == 1 else 0

    def invoice_charge(self, j: int) -> int | None:
        """The charge that paid invoice j; open and void invoices have none."""
        return 5 * j + 4 if self.invoice_status(j) == "paid" else None

    def _bt_exists(self, s: int) -> bool:
        i, kind = divmod(s, BT_KINDS)
        if kind == BT_CHARGE:
            return not self.charge_failed(i)
        if kind == BT_REFUND:
            return self.charge_refunded(i)
        if kind == BT_DISPUTE:
            return self.charge_disputed(i)
        if kind == BT_REVERSAL:
            return i >= self.reversal_lag and self.dispute_won_by(i - self.reversal_lag)
        if kind in (BT_PAYOUT, BT_TEST_PAYOUT):
            return self.payout_day(i) is not None and self.payout_amount(i, kind == BT_PAYOUT) > 0
        return i % 97 in (50, 77)

    def _bt_created(self, s: int) -> int:
        i, kind = divmod(s, BT_KINDS)
        created = self.charge_created(i)
        sub = max(1, int(self.step / BT_KINDS))
        if kind >= BT_CHARGE:
            return created + (kind - BT_CHARGE) * sub
        day = self.payout_day(i)
        if day is None:
            return created
        # After the charge before and all of its own, at the earliest at midnight.
        after_previous = self.charge_created(i - 1) + (BT_KINDS - BT_CHARGE - 1) * sub + 1
        return min(created, max(day, after_previous))

    # --- disputes, payouts, exchange rates ---

    def dispute_won_by(self, i: int) -> bool:
        """Whether charge i's dispute was decided won (its reversal is at charge i + lag)."""
        return self.charge_disputed(i) and (i - 13) // 50 % 5 in (0, 3)

    def dispute_status(self, k: int) -> str:
        i = 50 * k + 13
        if i + self.reversal_lag >= self.size:
            return ("needs_response", "under_review")[k % 2]  # not decided yet
        return "won" if self.dispute_won_by(i) else "lost"

    @_memoized
    def payout_day(self, i: int) -> int | None:
        """The day (midnight, UTC) of the payout slots before charge i: one that began since
        the charge before."""
        if i == 0:
            return None
        day = self.charge_created(i) // DAY * DAY
        return day if self.charge_created(i - 1) < day else None

    def payout_amount(self, i: int, live: bool) -> int:
        """What the automatic payout before charge i pays: the net of every balance
        transaction of its mode that became available since the last payout day."""
        key = (i, live)
        cache = self._memo.setdefault("payout_amount", {})
        if key in cache:
            return cache[key]
        day, previous = self.payout_day(i), self.charge_created(i - 1) // DAY * DAY
        # available_on is in (previous, day] for those created in [previous - 1d, day - 1d)
        count = BT_KINDS * self.size
        lo = _first_at_or_after(self._bt_created, count, previous - DAY)
        hi = _first_at_or_after(self._bt_created, count, day - DAY)
        total = 0
        for s in range(lo, hi):
            if s % BT_KINDS < BT_CHARGE or self._bt_live(s) != live:
                continue
            if self._bt_exists(s):
                total += self.balance_transaction_net(s)
        cache[key] = total
        return total

    def exchange_rate(self, currency: str, moment: int) -> float | None:
        """The day's rate from `currency` to the settlement currency; None for no conversion."""
        base = EXCHANGE_RATES.get(currency)
        if base is None:
            return None
        move = self.h(40, moment // DAY, len(currency) * 31 + ord(currency[0])) % 401 - 200
        return round(base * (1 + move / 10_000), 6)

    def settle(self, amount: int, currency: str, moment: int) -> tuple[int, float | None]:
        """An amount in a charge's currency as the balance gets it, and the rate used."""
        rate = self.exchange_rate(currency, moment)
        if rate is None:
            return amount, None
        units = amount / (1 if currency in ZERO_DECIMAL else 100)
        return round(units * rate * 100), rate

    def _make_tables(self) -> None:
        n = self.size
        self.reversal_lag = max(1, round(21 * DAY / self.step))  # a dispute is won in 3 weeks
        refunds = (n - 7 + 9) // 10 if n > 7 else 0
        disputes = (n - 13 + 49) // 50 if n > 13 else 0
        invoices = (n - 4 + 4) // 5 if n > 4 else 0
        charge_live = self.charge_live
        for table in (
            Table("charges", "ch", n, _always, charge_live, self.charge_created, self.charge),
            Table(
                "payment_intents",
                "pi",
                n,
                _always,
                charge_live,
                self.charge_created,
                self.payment_intent,
            ),
            Table(
                "customers",
                "cus",
                self.customer_count,
                self.customer_kept,
                lambda c: c % 8 != 3,
                self.customer_created,
                self.customer,
            ),
            Table(
                "refunds",
                "re",
                refunds,
                _always,
                lambda j: charge_live(10 * j + 7),
                lambda j: self._bt_created(BT_KINDS * (10 * j + 7) + BT_REFUND),
                self.refund,
            ),
            Table(
                "disputes",
                "dp",
                disputes,
                _always,
                lambda k: charge_live(50 * k + 13),
                lambda k: self._bt_created(BT_KINDS * (50 * k + 13) + BT_DISPUTE),
                self.dispute,
            ),
            Table(
                "invoices",
                "in",
                invoices,
                _always,
                lambda j: charge_live(5 * j + 4),
                lambda j: self.charge_created(5 * j + 4) - 1,
                self.invoice,
            ),
            Table(
                "invoice_payments",
                "inpay",
                invoices,
                lambda j: self.invoice_status(j) == "paid",
                lambda j: charge_live(5 * j + 4),
                lambda j: self.charge_created(5 * j + 4),
                self.invoice_payment,
            ),
            Table(
                "balance_transactions",
                "txn",
                BT_KINDS * n,
                self._bt_exists,
                self._bt_live,
                self._bt_created,
                self.balance_transaction,
            ),
            Table(
                "payouts",
                "po",
                2 * ((self.anchor - self.first_day) // DAY + 1),
                lambda p: (slot := self.payout_slot(p)) is not None and self._bt_exists(slot),
                lambda p: p % 2 == 0,
                self._payout_created,
                self.payout,
            ),
        ):
            self.tables[table.name] = table

    def _bt_live(self, s: int) -> bool:
        i, kind = divmod(s, BT_KINDS)
        if kind in (BT_PAYOUT, BT_TEST_PAYOUT):
            return kind == BT_PAYOUT
        if kind == BT_REVERSAL:
            return self.charge_live(i - self.reversal_lag)
        return self.charge_live(i)

    # --- builders ------------------------------------------------------------------------

    @_memoized
    def customer(self, c: int) -> dict:
        """Customer c as created (shared: callers copy before changing it)."""
        h = self.h(10, c)
        first, last = FIRST_NAMES[h % 20], LAST_NAMES[(h >> 8) % 18]
        company = (h >> 16) % 5 == 0
        name = HTML_NAME if c == 9 else (COMPANIES[(h >> 20) % 7] if company else f"{first} {last}")
        email = f"{first.lower()}.{c}@example.com".replace("ø", "o").replace("ë", "e")
        country = COUNTRIES[(h >> 24) % len(COUNTRIES)]
        return {
            "id": self.object_id("cus", c),
            "object": "customer",
            "address": {
                "city": None,
                "country": country,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            }
            if c % 3
            else None,
            "balance": 0,
            "created": self.customer_created(c),
            "currency": self.customer_currency(c),
            "default_source": None,
            "delinquent": c % 29 == 5,
            "description": "Wholesale account" if company else None,
            "discount": None,
            "email": email,
            "invoice_prefix": _code(h, 8).upper(),
            "invoice_settings": _INVOICE_SETTINGS,
            "livemode": c % 8 != 3,
            "metadata": {"plan": PLANS[h % 3], "signup_source": "web"} if c % 3 == 0 else {},
            "name": name,
            "next_invoice_sequence": 1 + c % 7,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }

    def _card(self, i: int, currency: str) -> dict:
        h = self.h(11, i)
        brand = CARD_BRANDS[h % len(CARD_BRANDS)]
        return {
            "card": {
                "brand": brand,
                "checks": _CHECKS,
                "country": "JP" if currency == "jpy" else COUNTRIES[(h >> 8) % len(COUNTRIES)],
                "exp_month": 1 + (h >> 12) % 12,
                "exp_year": 2027 + (h >> 16) % 5,
                "fingerprint": _code(h, 16),
                "funding": "credit" if (h >> 20) % 3 else "debit",
                "installments": None,
                "last4": f"{(h >> 24) % 10000:04d}",
                "mandate": None,
                "network": brand,
                "network_token": {"used": False},
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        }

    def charge_invoice(self, i: int) -> str | None:
        """The id of the invoice charge i paid, if it paid one."""
        if self.charge_invoiced(i) and self.invoice_charge(i // 5) is not None:
            return self.object_id("in", i // 5)
        return None

    def charge_description(self, i: int) -> str:
        invoice = self.charge_invoice(i)
        return f"Payment for invoice {invoice}" if invoice else f"Order #{i:07d}"

    def charge_metadata(self, i: int) -> dict:
        if i % 4:
            return {}
        return {"order_id": f"{i:07d}", "plan": PLANS[self.h(12, i) % 3]}

    def charge(self, i: int, **overrides) -> dict:
        currency = self.charge_currency(i)
        amount = self.charge_amount(i)
        failed = self.charge_failed(i)
        refunded = self.charge_refunded(i)
        c = self.charge_customer(i)
        customer = self.customer(c) if c is not None else None
        application_fee = self.application_fee_amount(i, amount, currency)
        obj = {
            "id": self.object_id("ch", i),
            "object": "charge",
            "amount": amount,
            "amount_captured": 0 if failed else amount,
            "amount_refunded": self.refund_amount((i - 7) // 10) if refunded else 0,
            "application": self.application_id if application_fee else None,
            "application_fee": self.object_id("fee", i) if application_fee else None,
            "application_fee_amount": application_fee,
            "balance_transaction": None
            if failed
            else self.object_id("txn", BT_KINDS * i + BT_CHARGE),
            "billing_details": {
                "address": {
                    "city": None,
                    "country": customer["address"]["country"]
                    if customer and customer["address"]
                    else None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": customer["email"] if customer else None,
                "name": customer["name"] if customer else None,
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": "LEDGERBOARD SIM",
            "captured": not failed,
            "created": self.charge_created(i),
            "currency": currency,
            "customer": customer["id"] if customer else None,
            "description": self.charge_description(i),
            "disputed": self.charge_disputed(i),
            "failure_balance_transaction": None,
            "failure_code": "card_declined" if failed else None,
            "failure_message": "Your card was declined." if failed else None,
            "fraud_details": _EMPTY,
            "livemode": self.charge_live(i),
            "metadata": self.charge_metadata(i),
            "on_behalf_of": None,
            "outcome": _FAILED_OUTCOME if failed else _APPROVED_OUTCOME,
            "paid": not failed,
            "payment_intent": self.object_id("pi", i),
            "payment_method": self.payment_method(i),
            "payment_method_details": self._card(i, currency),
            "receipt_email": customer["email"] if customer else None,
            "receipt_number": None,
            "receipt_url": None,
            "refunded": refunded and (i - 7) // 10 % 3 != 0,
            "review": None,
            "shipping": None,
            "source": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "failed" if failed else "succeeded",
            "transfer_data": None,
            "transfer_group": None,
        }
        obj.update(overrides)
        return obj

    def application_fee_amount(self, i: int, amount: int, currency: str) -> int | None:
        """The platform's fee on one charge in six (a marketplace app the business uses), in
        the charge's currency; its balance transaction shows it in the settlement currency."""
        return max(1, amount // 100) if i % 6 == 1 else None

    def payment_method(self, i: int) -> str:
        return "pm_" + _code(self.h(13, i), 24)

    def payment_intent(self, i: int, **overrides) -> dict:
        failed = self.charge_failed(i)
        amount = self.charge_amount(i)
        c = self.charge_customer(i)
        customer = self.customer(c) if c is not None else None
        obj = {
            "id": self.object_id("pi", i),
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": _EMPTY},
            "amount_received": 0 if failed else amount,
            "application": None,
            "application_fee_amount": self.application_fee_amount(
                i, amount, self.charge_currency(i)
            ),
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic",
            "client_secret": None,
            "confirmation_method": "automatic",
            "created": self.charge_created(i),
            "currency": self.charge_currency(i),
            "customer": customer["id"] if customer else None,
            "customer_account": None,
            "description": self.charge_description(i),
            "excluded_payment_method_types": None,
            "last_payment_error": _DECLINE_ERROR if failed else None,
            "latest_charge": self.object_id("ch", i),
            "livemode": self.charge_live(i),
            "managed_payments": None,
            "metadata": self.charge_metadata(i),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None if failed else self.payment_method(i),
            "payment_method_configuration_details": None,
            "payment_method_options": _EMPTY,
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": customer["email"] if customer else None,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method" if failed else "succeeded",
            "transfer_data": None,
            "transfer_group": None,
        }
        obj.update(overrides)
        return obj

    def refund(self, j: int) -> dict:
        i = 10 * j + 7
        c = self.charge_customer(i)
        return {
            "id": self.object_id("re", j),
            "object": "refund",
            "amount": self.refund_amount(j),
            "balance_transaction": self.object_id("txn", BT_KINDS * i + BT_REFUND),
            "charge": self.object_id("ch", i),
            "created": self._bt_created(BT_KINDS * i + BT_REFUND),
            "currency": self.charge_currency(i),
            "customer": self.object_id("cus", c) if c is not None else None,
            "customer_account": None,
            "destination_details": _REFUND_DESTINATION,
            "metadata": {},
            "payment_intent": self.object_id("pi", i),
            "payment_method": self.payment_method(i),
            "reason": ("requested_by_customer", "duplicate", None)[j % 3],
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }

    def dispute(self, k: int) -> dict:
        i = 50 * k + 13
        created = self._bt_created(BT_KINDS * i + BT_DISPUTE)
        status = self.dispute_status(k)
        h = self.h(14, k)
        transactions = [self.balance_transaction(BT_KINDS * i + BT_DISPUTE)]
        if status == "won":
            transactions.append(
                self.balance_transaction(BT_KINDS * (i + self.reversal_lag) + BT_REVERSAL)
            )
        return {
            "id": self.object_id("dp", k),
            "object": "dispute",
            "amount": self.charge_amount(i),
            "balance_transactions": transactions,
            "charge": self.object_id("ch", i),
            "created": created,
            "currency": self.charge_currency(i),
            "enhanced_eligibility_types": [],
            "evidence": _EVIDENCE,
            "evidence_details": {
                "due_by": created + 14 * DAY,
                "enhanced_eligibility": _EMPTY,
                "has_evidence": status != "needs_response",
                "past_due": False,
                "submission_count": 0 if status == "needs_response" else 1,
            },
            "is_charge_refundable": False,
            "livemode": self.charge_live(i),
            "metadata": {},
            "payment_intent": self.object_id("pi", i),
            "payment_method_details": {
                "card": {
                    "brand": self._card(i, "usd")["card"]["brand"],
                    "case_type": "chargeback",
                    "network_reason_code": "10.4",
                },
                "type": "card",
            },
            "reason": DISPUTE_REASONS[h % len(DISPUTE_REASONS)],
            "status": status,
        }

    def available_on(self, created: int) -> int:
        return (created + 2 * DAY) // DAY * DAY

    def balance_transaction_net(self, s: int) -> int:
        """A balance transaction's net without building it: payouts sum a day of them, which
        at a million charges is thousands. Agrees with balance_transaction(s)["net"]."""
        i, kind = divmod(s, BT_KINDS)
        if kind == BT_CHARGE:
            currency = self.charge_currency(i)
            settled, rate = self.settle(self.charge_amount(i), currency, self._bt_created(s))
            return settled - sum(self._charge_fee_amounts(i, settled, currency, rate))
        if kind == BT_REFUND:
            created = self._bt_created(s)
            amount = self.refund_amount((i - 7) // 10)
            return -self.settle(amount, self.charge_currency(i), created)[0]
        if kind in (BT_DISPUTE, BT_REVERSAL):
            disputed = i if kind == BT_DISPUTE else i - self.reversal_lag
            moment = self._bt_created(BT_KINDS * disputed + BT_DISPUTE)
            currency = self.charge_currency(disputed)
            settled = self.settle(self.charge_amount(disputed), currency, moment)[0]
            return -settled - DISPUTE_FEE if kind == BT_DISPUTE else settled
        return self.balance_transaction(s)["net"]

    def balance_transaction(self, s: int) -> dict:
        i, kind = divmod(s, BT_KINDS)
        created = self._bt_created(s)
        source = None
        rate = None
        fees: list[dict] = []
        if kind == BT_CHARGE:
            currency = self.charge_currency(i)
            amount, rate = self.settle(self.charge_amount(i), currency, created)
            fees = self.charge_fees(i, amount, currency, rate)
            source, kind_name, category = self.object_id("ch", i), "charge", "charge"
            description = self.charge_description(i)
        elif kind == BT_REFUND:
            currency = self.charge_currency(i)
            amount, rate = self.settle(self.refund_amount((i - 7) // 10), currency, created)
            amount = -amount
            source, kind_name, category = self.object_id("re", (i - 7) // 10), "refund", "refund"
            description = "REFUND FOR CHARGE"
        elif kind in (BT_DISPUTE, BT_REVERSAL):
            disputed = i if kind == BT_DISPUTE else i - self.reversal_lag
            currency = self.charge_currency(disputed)
            # Both at the rate of the day the funds were withdrawn, as Stripe returns them.
            moment = self._bt_created(BT_KINDS * disputed + BT_DISPUTE)
            amount, rate = self.settle(self.charge_amount(disputed), currency, moment)
            source = self.object_id("dp", (disputed - 13) // 50)
            kind_name = "adjustment"
            if kind == BT_DISPUTE:
                amount = -amount
                fees = [_fee(DISPUTE_FEE, SETTLEMENT_CURRENCY, "Dispute fee", "stripe_fee")]
                category, description = "dispute", "Chargeback withdrawal"
            else:
                category, description = "dispute_reversal", "Chargeback reversal"
        elif kind in (BT_PAYOUT, BT_TEST_PAYOUT):
            amount = -self.payout_amount(i, kind == BT_PAYOUT)
            day = self.payout_day(i)
            payout_index = 2 * ((day - self.first_day) // DAY) + (kind == BT_TEST_PAYOUT)
            source = self.object_id("po", payout_index)
            kind_name, category, description = "payout", "payout", "STRIPE PAYOUT"
            bt = self._bt_object(
                self.object_id("txn", s),
                amount,
                [],
                SETTLEMENT_CURRENCY,
                created,
                source,
                kind_name,
                category,
                description,
            )
            bt["available_on"] = created
            bt["status"] = "available"
            return bt
        elif i % 97 == 50:
            amount = -(200 + self.h(41, i) % 1800)
            kind_name, category = "stripe_fee", "fee"
            description = ("Billing - Usage Fee", "Radar for Fraud Teams")[i % 2]
        else:
            amount = (-1 if i % 2 else 1) * (100 + self.h(42, i) % 2400)
            kind_name, category = "adjustment", "other_adjustment"
            description = "Adjustment for a network cost"
        return self._bt_object(
            self.object_id("txn", s),
            amount,
            fees,
            SETTLEMENT_CURRENCY,
            created,
            source,
            kind_name,
            category,
            description,
            rate,
        )

    def _bt_object(
        self,
        txn_id,
        amount,
        fees,
        currency,
        created,
        source,
        kind,
        category,
        description,
        rate=None,
    ) -> dict:
        fee = sum(f["amount"] for f in fees)
        available_on = self.available_on(created)
        return {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": available_on,
            "balance_type": "payments",
            "created": created,
            "currency": currency,
            "description": description,
            "exchange_rate": rate,
            "fee": fee,
            "fee_details": fees,
            "net": amount - fee,
            "reporting_category": category,
            "source": source,
            "status": "pending" if available_on > self.clock.now() else "available",
            "type": kind,
        }

    def charge_fees(self, i: int, settled: int, currency: str, rate: float | None) -> list[dict]:
        """A charge's fees in the settlement currency: Stripe's (more for a conversion), the
        platform's application fee, and tax on Stripe's fee where it applies."""
        stripe, application, tax = self._charge_fee_amounts(i, settled, currency, rate)
        fees = [_fee(stripe, SETTLEMENT_CURRENCY, "Stripe processing fees", "stripe_fee")]
        if application:
            fees.append(
                _fee(
                    application,
                    SETTLEMENT_CURRENCY,
                    "Platform fee",
                    "application_fee",
                    application=self.application_id,
                )
            )
        if tax:
            fees.append(_fee(tax, SETTLEMENT_CURRENCY, "VAT", "tax"))
        return fees

    def _charge_fee_amounts(
        self, i: int, settled: int, currency: str, rate: float | None
    ) -> tuple[int, int, int]:
        """(Stripe's, the application's, tax): 0 where there is none."""
        base = round(settled * (0.029 if rate is None else 0.039)) + 30
        application = max(1, settled // 100) if self.application_fee_amount(i, 0, currency) else 0
        return base, application, max(1, base // 4) if i % 9 == 2 else 0

    def payout_slot(self, p: int) -> int | None:
        """The balance transaction slot of payout p (two a day from the first day: live,
        then test), or None when no payout could be made that day."""
        day = self.first_day + (p // 2) * DAY
        i = _first_at_or_after(self.charge_created, self.size, day)
        if i >= self.size or self.payout_day(i) != day:
            return None
        return BT_KINDS * i + (BT_TEST_PAYOUT if p % 2 else BT_PAYOUT)

    def _payout_created(self, p: int) -> int:
        slot = self.payout_slot(p)
        return self._bt_created(slot) if slot is not None else self.first_day + (p // 2) * DAY

    def payout(self, p: int) -> dict:
        """The automatic payout of one day's available funds, to the account's bank."""
        s = self.payout_slot(p)
        bt = self.balance_transaction(s)
        return {
            **self.payout_template(),
            "id": bt["source"],
            "amount": -bt["amount"],
            "arrival_date": bt["created"] // DAY * DAY + 2 * DAY,
            "balance_transaction": bt["id"],
            "created": bt["created"],
            "livemode": self._bt_live(s),
            "status": "paid" if bt["created"] + 2 * DAY <= self.clock.now() else "in_transit",
        }

    def payout_template(self) -> dict:
        """A payout's fields that do not change from one to the next."""
        return {
            "object": "payout",
            "application_fee": None,
            "application_fee_amount": None,
            "automatic": True,
            "currency": SETTLEMENT_CURRENCY,
            "description": "STRIPE PAYOUT",
            "destination": "ba_" + _code(self.h(43, self.seed), 24),
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "metadata": {},
            "method": "standard",
            "original_payout": None,
            "payout_method": None,
            "reconciliation_status": "completed",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": None,
            "trace_id": {"status": "supported", "value": None},
            "type": "bank_account",
        }

    def invoice_payment(self, j: int) -> dict:
        """How paid invoice j was paid: the payment intent of its charge."""
        i = 5 * j + 4
        total = self.invoice_total(j)
        paid_at = self.charge_created(i)
        return {
            "id": self.object_id("inpay", j),
            "object": "invoice_payment",
            "amount_paid": total,
            "amount_requested": total,
            "created": self.charge_created(i) - 1,
            "currency": self.charge_currency(i),
            "invoice": self.object_id("in", j),
            "is_default": True,
            "livemode": self.charge_live(i),
            "payment": {"payment_intent": self.object_id("pi", i), "type": "payment_intent"},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": paid_at},
        }

    @_memoized
    def invoice_subtotal(self, j: int) -> int:
        currency = self.charge_currency(5 * j + 4)
        return sum(self.line_amount(j, k, currency) for k in range(self.invoice_line_count(j)))

    def invoice(self, j: int) -> dict:
        i = 5 * j + 4
        status = self.invoice_status(j)
        c = self.charge_customer(i)
        customer = self.customer(c) if c is not None else None
        currency = self.charge_currency(i)
        total = self.invoice_total(j)
        subtotal = self.invoice_subtotal(j)
        tax = total - subtotal
        created = self.charge_created(i) - 1
        paid = status == "paid"
        invoice_id = self.object_id("in", j)
        line_count = self.invoice_line_count(j)
        lines = [self.invoice_line(j, k) for k in range(min(10, line_count))]
        subscription = j % 3 != 0
        return {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Ledgerboard Simulator",
            "account_tax_ids": None,
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": total if paid else 0,
            "amount_remaining": 0 if paid or status == "void" else total,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 1 if paid or status == "uncollectible" else 0,
            "attempted": paid or status == "uncollectible",
            "auto_advance": status == "open",
            "automatic_tax": _AUTOMATIC_TAX,
            "automatically_finalizes_at": None,
            "billing_reason": "subscription_cycle" if subscription else "manual",
            "collection_method": "charge_automatically" if j % 7 else "send_invoice",
            "confirmation_secret": None,
            "created": created,
            "currency": currency,
            "custom_fields": None,
            "customer": customer["id"] if customer else None,
            "customer_account": None,
            "customer_address": None,
            "customer_email": customer["email"] if customer else None,
            "customer_name": customer["name"] if customer else None,
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None if j % 7 else created + 30 * DAY,
            "effective_at": created,
            "ending_balance": 0,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
            "invoice_pdf": None,
            "issuer": _ISSUER,
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "data": lines,
                "has_more": line_count > 10,
                "object": "list",
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": self.charge_live(i),
            "metadata": {},
            "next_payment_attempt": None,
            "number": f"{_code(self.h(10, c or 0), 8).upper()}-{j % 10000:04d}",
            "on_behalf_of": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": {},
                    "subscription": self.subscription_id(c),
                    "subscription_proration_date": None,
                },
                "type": "subscription_details",
            }
            if subscription
            else None,
            "payment_settings": _PAYMENT_SETTINGS,
            "period_end": created,
            "period_start": created - 30 * DAY,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": status,
            "status_details": None,
            "status_transitions": {
                "finalized_at": created,
                "marked_uncollectible_at": created + 15 * DAY
                if status == "uncollectible"
                else None,
                "paid_at": self.charge_created(i) if paid else None,
                "voided_at": created + 3600 if status == "void" else None,
            },
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "test_clock": None,
            "threshold_reason": None,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": subtotal,
            "total_pretax_credit_amounts": [],
            "total_taxes": [self._tax(tax, subtotal)] if tax else [],
            "webhooks_delivered_at": created,
        }

    def subscription_id(self, c: int | None) -> str:
        return "sub_" + _code(self.h(15, c or 0), 24)

    def _tax(self, amount: int, taxable: int) -> dict:
        return {
            "amount": amount,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": self.tax_rate_id},
            "taxability_reason": "standard_rated",
            "taxable_amount": taxable,
            "type": "tax_rate_details",
        }

    def invoice_line(self, j: int, k: int) -> dict:
        i = 5 * j + 4
        currency = self.charge_currency(i)
        amount = self.line_amount(j, k, currency)
        created = self.charge_created(i) - 1
        live = self.charge_live(i)
        subscription = j % 3 != 0
        proration = k % 17 == 16
        tax = self.invoice_tax(j, k, amount)
        if subscription:
            parent = {
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": proration,
                    "proration_details": {"credited_items": None},
                    "subscription": self.subscription_id(self.charge_customer(i)),
                    "subscription_item": "si_" + _code(self.h(20, j), 14),
                },
                "type": "subscription_item_details",
            }
        else:
            parent = {
                "invoice_item_details": {
                    "invoice_item": "ii_" + _code(self.h(18, j, k), 24),
                    "proration": proration,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
                "type": "invoice_item_details",
            }
        return {
            "id": "il_" + _code(j, _INDEX_WIDTH) + _code(k, 3) + _code(self.h(17, j, k), 15),
            "object": "line_item",
            "amount": amount,
            "currency": currency,
            "description": f"1 × {PLANS[amount % 3].title()} plan" if subscription else "Setup fee",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": self.object_id("in", j),
            "livemode": live,
            "metadata": {},
            "parent": parent,
            "period": {"end": created, "start": created - 30 * DAY if subscription else created},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {
                    "price": f"price_{_code(self.h(16, amount), 24)}",
                    "product": "prod_" + _code(self.h(19, amount), 14),
                },
                "type": "price_details",
                "unit_amount_decimal": str(amount),
            },
            "quantity": 1,
            "quantity_decimal": "1",
            "subscription": parent["subscription_item_details"]["subscription"]
            if subscription
            else None,
            "subtotal": amount,
            "taxes": [self._tax(tax, amount)] if tax else [],
        }

    def invoice_lines(self, invoice_id: str) -> list[dict] | None:
        """Every line of an invoice, in the invoice's order; None for an unknown invoice."""
        with self.lock:
            table = self.tables["invoices"]
            if invoice_id in table.deleted:
                return None
            if invoice_id in table.dynamic:
                return list(table.dynamic[invoice_id].get("_all_lines", ()))
            j = self.parse_id("in", invoice_id)
            if j is None or j >= table.count:
                return None
        return [self.invoice_line(j, k) for k in range(self.invoice_line_count(j))]

    def invoice_lines_json(self, invoice_id: str) -> tuple[list[str], list[str]] | None:
        """Every line's id and compact JSON, in order; a static invoice's are encoded once."""
        j = self.parse_id("in", invoice_id)
        table = self.tables["invoices"]
        key = ("invoice_lines", j if j is not None else -1)
        with self.lock:
            static = j is not None and j < table.count and invoice_id not in table.dynamic
            static = static and invoice_id not in table.deleted
        kept = self._texts.get(key) if static else None
        if kept is None:
            lines = self.invoice_lines(invoice_id)
            if lines is None:
                return None
            kept = ([line["id"] for line in lines], [compact_json(line) for line in lines])
            if static:
                self._keep(key, kept, sum(map(len, kept[1])))
        return kept

    # --- reading -------------------------------------------------------------------------

    def get(self, type_name: str, object_id: str) -> dict | None:
        """One object by id as it is now, or None; deleted customers come back marked."""
        table = self.tables[type_name]
        with self.lock:
            if object_id in table.deleted:
                if type_name == "customers":
                    return {"id": object_id, "object": "customer", "deleted": True}
                return None
            if object_id in table.dynamic:
                return self._as_of_now(_public(table.dynamic[object_id]))
            if object_id in table.overrides:
                return self._as_of_now(table.overrides[object_id])
        index = self.parse_id(table.prefix, object_id)
        if index is None or index >= table.count:
            return None
        if not table.exists(index):
            if type_name == "customers":
                return {"id": object_id, "object": "customer", "deleted": True}
            return None
        return table.build(index)

    def iterate(
        self,
        type_name: str,
        live: bool,
        *,
        created_gte: int | None = None,
        created_lte: int | None = None,
        after: str | None = None,
        ascending: bool = False,
        as_json: bool = False,
    ) -> Iterator[dict] | Iterator[str]:
        """Objects of one mode newest first (or oldest first), strictly past the cursor.

        `after` is the id to continue from in the direction of travel: the next older object
        newest-first, or the next newer one when ascending (ending_before). `as_json` yields
        each object as compact JSON text instead (see static_json).
        """
        table = self.tables[type_name]
        with self.lock:
            dynamic = [table.dynamic[i] for i in table.dynamic_order if i not in table.deleted]
            overrides = dict(table.overrides)
            deleted = set(table.deleted)
        lo, hi = 0, table.count  # static index range [lo, hi)
        if created_gte is not None:
            lo = _first_index_at_or_after(table, created_gte)
        if created_lte is not None:
            hi = _first_index_at_or_after(table, created_lte + 1)
        dyn = [
            d
            for d in dynamic
            if object_live(d) == live
            and (created_gte is None or d["created"] >= created_gte)
            and (created_lte is None or d["created"] <= created_lte)
        ]
        if after is not None:
            position = self._cursor_position(table, after, dynamic)
            if position is None:
                return
            kind, value = position
            if not ascending:
                if kind == "dynamic":
                    dyn = [d for d in dyn if dynamic.index(d) < value]
                else:
                    dyn, hi = [], min(hi, value)
            elif kind == "dynamic":
                dyn, lo = [d for d in dyn if dynamic.index(d) > value], hi
            else:
                lo = max(lo, value + 1)

        kept = self._as_of_now if not as_json else lambda o: compact_json(self._as_of_now(o))
        build = table.build if not as_json else lambda index: self.static_json(table, index)

        def static(indices) -> Iterator:
            changed = overrides or deleted
            for index in indices:
                if not table.exists(index) or table.live(index) != live:
                    continue
                if changed:
                    object_id = self.object_id(table.prefix, index)
                    if object_id in deleted:
                        continue
                    override = overrides.get(object_id)
                    if override:
                        yield kept(override)
                        continue
                yield build(index)

        if ascending:
            yield from static(range(lo, hi))
            yield from (kept(_public(d)) for d in dyn)
        else:
            yield from (kept(_public(d)) for d in reversed(dyn))
            yield from static(range(hi - 1, lo - 1, -1))

    def static_json(self, table: Table, index: int) -> str:
        """A static object as compact JSON, encoded once: pages of it are most of what the
        simulator does, and the app it serves shares the machine's cores with it.

        Kept until TEXT_BUDGET bytes are held; a pending balance transaction is not kept, as
        it becomes available with time."""
        key = (table.name, index)
        text = self._texts.get(key)
        if text is None:
            obj = table.build(index)
            text = compact_json(obj)
            clocked = obj.get("status") == "pending" and obj.get("object") == "balance_transaction"
            if not clocked:
                self._keep(key, text, len(text))
        return text

    def warm(self, names) -> None:
        """Encode every static object of these tables now and keep them all, whatever
        TEXT_BUDGET says: afterwards a page of them costs the simulator a few microseconds an
        object instead of ~60 (building one from its rules). For benchmarks that measure the
        app against Stripe, whose work happens on Stripe's machines, not on the app's cores.

        "all" names every table. ValueError for a name that is not a table, before any work."""
        names = tuple(self.tables) if "all" in names else tuple(names)
        unknown = [name for name in names if name not in self.tables]
        if unknown:
            raise ValueError(
                f"no type {', '.join(unknown)}; the simulator lists {', '.join(self.tables)}"
            )
        for name in names:
            table = self.tables[name]
            self._warmed.add(name)
            for index in range(table.count):
                if table.exists(index):
                    self.static_json(table, index)

    def _keep(self, key: tuple[str, int], encoded, size: int) -> None:
        """Keep encoded objects until TEXT_BUDGET bytes are held (all of a warmed table)."""
        if self._text_bytes < TEXT_BUDGET or key[0] in self._warmed:
            self._texts[key] = encoded
            self._text_bytes += size

    def _as_of_now(self, obj: dict) -> dict:
        """A kept object as it reads now: a pending balance transaction becomes available."""
        if (
            obj.get("status") == "pending"
            and obj.get("object") == "balance_transaction"
            and obj["available_on"] <= self.clock.now()
        ):
            return dict(obj, status="available")
        return obj

    def _cursor_position(self, table: Table, object_id: str, dynamic: list[dict]):
        for position, obj in enumerate(dynamic):
            if obj["id"] == object_id:
                return ("dynamic", position)
        index = self.parse_id(table.prefix, object_id)
        if index is None or index >= table.count:
            return None
        return ("static", index)

    def count(self, type_name: str, live: bool) -> int:
        """How many objects of one mode exist now (a full scan: for tests, not pages)."""
        return sum(1 for _ in self.iterate(type_name, live))

    # --- links an older API version shows directly (see versions.py) ---

    def invoice_paid_by(self, payment_intent_id: str | None) -> str | None:
        if payment_intent_id is None:
            return None
        with self.lock:
            if payment_intent_id in self.paid_invoices:
                return self.paid_invoices[payment_intent_id]
        i = self.parse_id("pi", payment_intent_id)
        if i is None or i >= self.size:
            return None
        return self.charge_invoice(i)

    def payment_of_invoice(self, invoice_id: str) -> tuple[str | None, str | None]:
        with self.lock:
            for intent, invoice in self.paid_invoices.items():
                if invoice == invoice_id:
                    return intent, self.intent_charges.get(intent)
        j = self.parse_id("in", invoice_id)
        if j is None or j >= self.tables["invoices"].count or self.invoice_charge(j) is None:
            return None, None
        return self.object_id("pi", 5 * j + 4), self.object_id("ch", 5 * j + 4)

    # --- events --------------------------------------------------------------------------

    def add_event(
        self,
        event_type: str,
        obj: dict,
        *,
        previous: dict | None = None,
        api_version: str | None = None,
    ) -> dict:
        with self.lock:
            n = len(self.events)
            version = api_version or self.api_version
            public = in_version(_public(obj), version, self)
            data: dict = {"object": public}
            if previous:
                data["previous_attributes"] = previous
            created = max(self.clock.now(), self._event_created[-1] if self.events else 0)
            event = {
                "id": self.object_id("evt", n),
                "object": "event",
                "account": self.account_id,
                "api_version": version,
                "created": created,
                "data": data,
                "livemode": object_live(obj),
                "pending_webhooks": 0,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
            }
            self.events.append(event)
            self._event_created.append(created)
            return event

    def visible_events(self) -> list[dict]:
        """Events within Stripe's 30-day retention, oldest first."""
        with self.lock:
            start = bisect.bisect_left(self._event_created, self.clock.now() - EVENT_RETENTION)
            return self.events[start:]


def object_live(obj: dict) -> bool:
    """An object's mode; refunds and balance transactions carry it privately as `_live`."""
    return bool(obj.get("_live", obj.get("livemode", True)))


def _always(_index: int) -> bool:
    return True


TEXT_BUDGET = 256 * 1024 * 1024  # bytes of encoded objects kept by static_json


def compact_json(obj) -> str:
    """An object as compact JSON: the bytes json.dumps(obj, separators=(",", ":"),
    ensure_ascii=False) writes, five times faster (orjson), as the simulator does for every
    object it serves."""
    return orjson.dumps(obj).decode()


def _public(obj: dict) -> dict:
    """A stored object without the simulator's private keys (those starting with _)."""
    if any(k.startswith("_") for k in obj):
        return {k: v for k, v in obj.items() if not k.startswith("_")}
    return obj


def _fee(amount: int, currency: str, description: str, kind: str, application=None) -> dict:
    return {
        "amount": amount,
        "application": application,
        "currency": currency,
        "description": description,
        "type": kind,
    }


def _first_index_at_or_after(table: Table, moment: int) -> int:
    """The smallest static index whose created time is >= moment (created is monotone)."""
    return _first_at_or_after(table.created, table.count, moment)


def _first_at_or_after(created: Callable[[int], int], count: int, moment: int) -> int:
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if created(mid) < moment:
            lo = mid + 1
        else:
            hi = mid
    return lo


_APPROVED_OUTCOME = {
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "risk_score": 12,
    "seller_message": "Payment complete.",
    "type": "authorized",
}
_FAILED_OUTCOME = {
    "network_status": "declined_by_network",
    "reason": "generic_decline",
    "risk_level": "normal",
    "risk_score": 40,
    "seller_message": "The bank did not return any further details.",
    "type": "issuer_declined",
}
_DECLINE_ERROR = {
    "code": "card_declined",
    "decline_code": "generic_decline",
    "message": "Your card was declined.",
    "type": "card_error",
}
