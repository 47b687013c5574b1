"""The pinned Stripe SDK's typed resource classes as a schema: what the API version it pins
puts where. stripe-python generates one class per resource from Stripe's OpenAPI spec, with a
nested class per sub-object and an annotation per attribute; tests hold the catalog and the
simulator against those annotations and against Stripe's newest published fixtures."""

from __future__ import annotations

import decimal
import functools
import json
import sys
import types
import typing
from pathlib import Path

import stripe
from stripe import StripeObject

FIXTURES_PATH = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "stripe-openapi"
    / "latest-fixtures-only"
    / "fixtures3.json"
)

# The catalog's schema names (and the simulator's objects) -> the SDK's class for them.
SDK_CLASSES: dict[str, type] = {
    "balance_transaction": stripe.BalanceTransaction,
    "charge": stripe.Charge,
    "customer": stripe.Customer,
    "dispute": stripe.Dispute,
    "fee": stripe.BalanceTransaction.FeeDetail,
    "line_item": stripe.InvoiceLineItem,
    "invoice": stripe.Invoice,
    "invoice_payment": stripe.InvoicePayment,
    "payment_intent": stripe.PaymentIntent,
    "payout": stripe.Payout,
    "refund": stripe.Refund,
    "application_fee": stripe.ApplicationFee,
    "event": stripe.Event,
}


@functools.cache
def fixtures() -> dict:
    if not FIXTURES_PATH.exists():
        raise FileNotFoundError(
            f"Stripe's newest fixtures are expected at {FIXTURES_PATH} (the shared/ folder "
            "beside the checkout)."
        )
    return json.loads(FIXTURES_PATH.read_text(encoding="utf-8"))["resources"]


def _forward(name: str, owner: type):
    """A forward reference ("Customer") as the class it names; None when the SDK exports no
    such class (then it is only ever an expandable object)."""
    module = sys.modules.get(owner.__module__)
    found = getattr(module, name, None) or getattr(stripe, name, None)
    return found if isinstance(found, type) else None


def alternatives(annotation, owner: type) -> list:
    """What an annotation allows, flattened: classes, Literal[...] forms and builtins, with
    Optional/Union/ForwardRef unwrapped and None as NoneType."""
    if isinstance(annotation, typing.ForwardRef):
        found = _forward(annotation.__forward_arg__, owner)
        return [found] if found is not None else [StripeObject]
    if isinstance(annotation, str):
        found = _forward(annotation, owner)
        return [found] if found is not None else [StripeObject]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [alt for arg in typing.get_args(annotation) for alt in alternatives(arg, owner)]
    if origin is typing.ClassVar:
        return []
    return [annotation]


def annotations_of(cls: type) -> dict:
    merged: dict = {}
    for klass in reversed(cls.__mro__):
        merged.update(getattr(klass, "__annotations__", {}))
    return merged


def _is_object_class(alt) -> bool:
    return isinstance(alt, type) and issubclass(alt, StripeObject)


def _is_untyped_object(alt) -> bool:
    """UntypedStripeObject[str] and the like: a map of free keys (metadata)."""
    origin = typing.get_origin(alt)
    return isinstance(origin, type) and issubclass(origin, StripeObject)


def path_alternatives(cls: type, dotted: str) -> list | None:
    """What the SDK allows at a dotted path of an object of `cls`; None when a step of the
    path is not an attribute the SDK declares there."""
    current = [cls]
    for part in dotted.split("."):
        found = []
        for klass in current:
            if not _is_object_class(klass):
                continue
            notes = annotations_of(klass)
            if part in notes and part != "OBJECT_NAME":
                found += alternatives(notes[part], klass)
        if not found:
            return None
        current = found
    return current


def optional_at(cls: type, dotted: str) -> bool:
    """Whether the last step of a path may be null (or absent) in the SDK's declaration."""
    return type(None) in (path_alternatives(cls, dotted) or ())


def _literal_values(alts: list) -> set | None:
    values = set()
    seen = False
    for alt in alts:
        if typing.get_origin(alt) is typing.Literal:
            seen = True
            values |= set(typing.get_args(alt))
    return values if seen else None


def kind_problem(kind: str, choices: tuple[str, ...], alts: list) -> str | None:
    """Why the SDK's declared type does not fit a catalog field of `kind`; None when it fits."""
    plain = {alt for alt in alts if isinstance(alt, type)}
    literal = _literal_values(alts)
    texty = str in plain or (literal is not None and all(isinstance(v, str) for v in literal))
    fits = {
        "money": int in plain,
        "number": bool(plain & {int, float, decimal.Decimal}),
        "text": texty,
        "bool": bool in plain,
        "datetime": int in plain,
        "enum": texty,
        "reference": str in plain,
    }[kind]
    if not fits:
        return f"kind {kind} does not fit the SDK's {[getattr(a, '__name__', a) for a in alts]}"
    if kind == "enum" and literal is not None and not set(choices) <= literal:
        return f"choices the SDK does not list: {sorted(set(choices) - literal)}"
    return None


def fixture_problem(fixture: dict, cls: type, dotted: str) -> str | None:
    """Why Stripe's newest fixture object contradicts a path; None when it carries it, or
    stops where the SDK allows the rest to be absent or null."""
    value = fixture
    walked = []
    for part in dotted.split("."):
        walked.append(part)
        if value is None:
            return None
        if not isinstance(value, dict):
            return f"the fixture has no object at {'.'.join(walked[:-1])}"
        if part not in value:
            if optional_at(cls, ".".join(walked)):
                return None  # fixtures leave out what may be null
            return f"the fixture has no {'.'.join(walked)}"
        value = value[part]
    return None


def model_problems(obj, cls: type, where: str = "") -> list[str]:
    """Every key of `obj` the SDK's class does not declare, and every value whose JSON type
    the declaration does not allow, nested objects included."""
    if not isinstance(obj, dict):
        return [f"{where or cls.__name__}: not an object"]
    problems = []
    notes = annotations_of(cls)
    for key, value in obj.items():
        here = f"{where}.{key}" if where else key
        if key not in notes or key == "OBJECT_NAME":
            problems.append(f"{here}: not declared by {cls.__name__}")
            continue
        problems += _value_problems(value, alternatives(notes[key], cls), cls, here)
    return problems


def _value_problems(value, alts: list, owner: type, where: str) -> list[str]:
    if value is None:
        return [] if type(None) in alts else [f"{where}: null where the SDK requires a value"]
    literal = _literal_values(alts)
    plain = [a for a in alts if isinstance(a, type)]
    if isinstance(value, bool):
        ok = bool in plain or (literal is not None and value in literal)
        return [] if ok else [f"{where}: a boolean where the SDK has {alts}"]
    if isinstance(value, int):
        ok = bool({int, float, decimal.Decimal} & set(plain)) or (
            literal is not None and value in literal
        )
        return [] if ok else [f"{where}: a number where the SDK has {alts}"]
    if isinstance(value, float):
        ok = bool({float, decimal.Decimal} & set(plain))
        return [] if ok else [f"{where}: a float where the SDK has {alts}"]
    if isinstance(value, str):
        if str in plain or decimal.Decimal in plain:
            return []
        if literal is not None and value in literal:
            return []
        return [f"{where}: {value!r} is not among {sorted(literal or ())}"]
    if isinstance(value, list):
        for alt in alts:
            if typing.get_origin(alt) in (list, typing.List):  # noqa: UP006
                (item,) = typing.get_args(alt) or (typing.Any,)
                problems = []
                for n, element in enumerate(value):
                    problems += _value_problems(
                        element, alternatives(item, owner), owner, f"{where}[{n}]"
                    )
                return problems
        return [f"{where}: a list where the SDK has {alts}"]
    if isinstance(value, dict):
        if value.get("object") == "list":
            return []  # a list object (ListObject[...]): its items are checked where listed
        classes = [a for a in alts if _is_object_class(a) and a is not StripeObject]
        specific = [c for c in classes if "Untyped" not in c.__name__]
        if not specific:
            ok = classes or any(
                _is_untyped_object(a) or typing.get_origin(a) is dict or a is typing.Any
                for a in alts
            )
            return [] if ok else [f"{where}: an object where the SDK has {alts}"]
        attempts = [model_problems(value, c, where) for c in specific]
        return min(attempts, key=len)
    return [f"{where}: unexpected value {value!r}"]
