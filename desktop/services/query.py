"""Fields, filters and JSON paths: the one filter language, used by the registrations view,
formulas and export alike.

    status = "succeeded" and (amount > 1000 or refunded = true) and created >= "2026-01-31"

- A condition names a field as the UI shows it, by its key, or quoted (``"Amount refunded"``).
- Operators: ``= != < <= > >=``, ``contains``, ``in (a, b)``, ``not in (a, b)``, ``between a
  and b``, ``is empty``, ``is not empty``; conditions combine with ``and`` (tighter), ``or``,
  ``not`` and parentheses.
- Values compare with what is stored: amounts in the currency's minor unit, True or False,
  dates as "2026-01-31" or "2026-01-31 18:00" in the user's time zone.

The filter dialog's `Filter`s and this text become SQL in one place, `FilterCompiler`, with
bound parameters: the registrations view, a formula's aggregate (services/kpi) and `export
--filter` read the same text the same way. Fields that live only in the stored object are read
from the stored JSON (`json_extract_sql`, in the store's dialect).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from desktop import localization
from desktop.catalog import Kind, minor_unit_divisor
from desktop.localization import number as localized
from desktop.services.kpi.periods import PERIODS, period_range
from desktop.store import dialect
from desktop.store.models import DataSource, DataSourceField


class FilterError(ValueError):
    """Filter text or a filter that cannot be read or applied; the message is for the user.
    `position` is 1-based, or None; `suggestion` a close name when one was misspelt."""

    noun = "filter"  # what "…, but the filter ends" says has ended
    bracketed = "field name"  # what a [name] in brackets names

    def __init__(
        self, message: str, position: int | None = None, suggestion: str | None = None
    ) -> None:
        self.message = message
        self.position = position
        self.suggestion = suggestion
        text = f"{message} at {position}" if position is not None else message
        super().__init__(f"{text}; did you mean '{suggestion}'?" if suggestion else text)

    @classmethod
    def unknown(cls, what: str, name: str, position: int, choices: Iterable[str]):
        by_lower = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
        return cls(f"Unknown {what} '{name}'", position, by_lower[close[0]] if close else None)


# --- fields --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """A field a view can show, filter and sort by, and how SQL reaches it."""

    key: str
    label: str
    kind: Kind
    sql: str  # a column, or json_extract over the stored object

    @property
    def sortable(self) -> bool:
        return True


def json_extract_sql(key: str, kind: Kind = Kind.TEXT) -> str:
    """SQL reading a dotted field (metadata.plan) from the stored object as a value of its
    kind; any quote in the key is escaped, so a metadata key found in the data can never
    break the statement."""
    return dialect.current().json_field(key, kind)


def read_fields(data_source: DataSource) -> dict[str, FieldRef]:
    """Every field of a data source by key: those it lists (in their order, with the labels
    the user gave them), then the catalog's, which are always reachable, and Livemode."""
    data_type = data_source.catalog
    catalog = {f.key: f for f in data_type.fields}
    result: dict[str, FieldRef] = {}
    listed = (
        DataSourceField.select()
        .where(DataSourceField.data_source == data_source)
        .order_by(DataSourceField.position)
    )
    for f in listed:
        if f.key in catalog:
            sql = f'"{catalog[f.key].column}"'
        elif f.key == "livemode":
            sql = '"livemode"'
        else:
            sql = json_extract_sql(f.key, Kind(f.kind))
        result[f.key] = FieldRef(f.key, f.label, Kind(f.kind), sql)
    for f in data_type.fields:
        result.setdefault(f.key, FieldRef(f.key, f.label, f.kind, f'"{f.column}"'))
    # Names saved before the pinned API version moved a field still reach it.
    for old, new in data_type.moved.items():
        result.setdefault(old, result[new])
    result.setdefault("livemode", FieldRef("livemode", "Livemode", Kind.BOOL, '"livemode"'))
    return result


def retired_fields(data_source: DataSource) -> dict[str, str]:
    """What to say of each field of the data source's type that Stripe removed."""
    data_type = data_source.catalog
    return {
        key: f"Stripe's API no longer has '{key}' ({label}) on {data_type.display_name} in the "
        f"version Ledgerboard uses: {where}"
        for key, (label, _kind, where) in data_type.retired.items()
    }


def kind_word(kind: Kind) -> str:
    return {
        Kind.TEXT: "text",
        Kind.REFERENCE: "a reference to another object",
        Kind.ENUM: "one of a list of values",
        Kind.BOOL: "True or False",
        Kind.DATETIME: "a date",
        Kind.MONEY: "an amount",
        Kind.NUMBER: "a number",
    }[kind]


# --- the text: tokens and conditions -------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<num>\d+(?:\.\d+)?|\.\d+)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<ref>\[[^\]]*\])
      | (?P<ident>[^\W\d]\w*(?:\.\w+)*)
      | (?P<op><=|>=|!=|<>|[-+*/(),.=<>≠≤≥])
    """,
    re.VERBOSE,
)
_OP_ALIASES = {"<>": "!=", "≠": "!=", "≤": "<=", "≥": ">="}
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
FILTER_KEYWORDS = ("and", "or", "not", "contains", "in", "between", "is", "empty")


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, ref, ident, op, end
    text: str
    pos: int  # 0-based offset of the first character
    end: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


def tokenize(text: str, error: type[FilterError] = FilterError) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            quote = text[pos] in "\"'"
            raise error(
                "This text is not closed by a quote" if quote else f"Unexpected '{text[pos]}'",
                pos + 1,
            )
        kind = match.lastgroup
        if kind != "space":
            value = match.group()
            if kind == "op":
                value = _OP_ALIASES.get(value, value)
            tokens.append(Token(kind, value, pos, match.end()))
        pos = match.end()
    if text.count("[") > text.count("]"):
        raise error(f"A [{error.bracketed}] is not closed by ]", text.rindex("[") + 1)
    tokens.append(Token("end", "", len(text), len(text)))
    return tokens


def unquote(token: Token) -> str:
    if token.kind == "str":
        return re.sub(r"\\(.)", r"\1", token.text[1:-1])
    if token.kind == "ref":
        return token.text[1:-1].strip()
    return token.text


@dataclass(frozen=True)
class Name:
    text: str
    pos: int  # 1-based


@dataclass(frozen=True)
class Test:
    """One condition: field op values."""

    field: Name
    op: str  # = != < <= > >= contains in not_in between is_empty is_not_empty
    values: tuple  # of (python value, 1-based position)
    pos: int


@dataclass(frozen=True)
class Logic:
    op: str  # and, or, not
    parts: tuple


class FilterParser:
    """Filter text to a tree of Tests joined by Logic. The formula parser (services/kpi)
    extends it: an aggregate's filter is this grammar, and If's condition has its shape."""

    Error: type[FilterError] = FilterError

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text, self.Error)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.word in words

    def expect(self, op: str, what: str) -> Token:
        if not self.at(op):
            raise self.error(f"Expected {what}")
        return self.next()

    def error(self, message: str, token: Token | None = None) -> FilterError:
        token = token or self.tok
        if token.kind == "end":
            return self.Error(f"{message}, but the {self.Error.noun} ends", token.pos + 1)
        return self.Error(f"{message}, found '{token.text}'", token.pos + 1)

    def parse_filter(self):
        """The whole text as one filter; None when it is blank."""
        if self.tok.kind == "end":
            return None
        node = self.filter_or()
        if self.tok.kind != "end":
            raise self.error("Expected 'and', 'or' or the end of the filter")
        return node

    def logic(self, leaf):
        """`leaf`s joined by `and` (tighter) and `or`, each maybe after `not`: the shape of
        both a filter and If's condition."""

        def negated():
            if self.at_word("not"):
                self.next()
                return Logic("not", (negated(),))
            return leaf()

        def joined(word: str, part):
            parts = [part()]
            while self.at_word(word):
                self.next()
                parts.append(part())
            return parts[0] if len(parts) == 1 else Logic(word, tuple(parts))

        return joined("or", lambda: joined("and", negated))

    def name(self, what: str, stop_words: tuple[str, ...] = ()) -> Name:
        """A quoted name, or words as the UI shows them up to ',' or ')' or an operator."""
        token = self.tok
        if token.kind in ("str", "ref"):
            self.next()
            return Name(unquote(token), token.pos + 1)
        if token.kind != "ident" or token.word in stop_words:
            raise self.error(f"Expected {what}")
        first = last = self.next()
        while self.tok.kind in ("ident", "num") and self.tok.word not in stop_words:
            last = self.next()
        return Name(self.text[first.pos : last.end], first.pos + 1)

    def filter_or(self):
        return self.logic(self.filter_part)

    def filter_part(self):
        if self.at("("):
            self.next()
            node = self.filter_or()
            self.expect(")", "')' to close the '(' in the filter")
            return node
        return self.test()

    def test(self) -> Test:
        field_name = self.name("a field in the filter", FILTER_KEYWORDS)
        pos = self.tok.pos + 1
        if self.at(*COMPARISONS):
            op = self.next().text
            return Test(field_name, op, (self.value(),), pos)
        if self.at_word("contains"):
            self.next()
            return Test(field_name, "contains", (self.value(),), pos)
        if self.at_word("is"):
            self.next()
            negated = self.at_word("not")
            if negated:
                self.next()
            if not self.at_word("empty"):
                raise self.error("Expected 'empty' after 'is'")
            self.next()
            return Test(field_name, "is_not_empty" if negated else "is_empty", (), pos)
        if self.at_word("between"):
            self.next()
            low = self.value()
            if not self.at_word("and"):
                raise self.error("Expected 'and' in between … and …")
            self.next()
            return Test(field_name, "between", (low, self.value()), pos)
        negated = self.at_word("not")
        if negated:
            self.next()
            if not self.at_word("in"):
                raise self.error("Expected 'in (…)' after 'not'")
        if self.at_word("in"):
            self.next()
            self.expect("(", "'(' and a list of values after 'in'")
            values = [self.value()]
            while self.at(","):
                self.next()
                values.append(self.value())
            self.expect(")", "')' to close the list of values")
            return Test(field_name, "not_in" if negated else "in", tuple(values), pos)
        raise self.error("Expected an operator such as =, !=, >, contains, in or is empty")

    def value(self) -> tuple[object, int]:
        token = self.tok
        if self.at("-") and self.tokens[self.i + 1].kind == "num":
            self.next()
            number = self.next()
            return -float(number.text), token.pos + 1
        if token.kind == "num":
            self.next()
            return float(token.text), token.pos + 1
        if token.kind == "str":
            self.next()
            return unquote(token), token.pos + 1
        if token.kind == "ident" and token.word not in FILTER_KEYWORDS:
            self.next()
            if token.word in ("true", "false"):
                return token.word == "true", token.pos + 1
            return token.text, token.pos + 1
        raise self.error('Expected a value such as "succeeded", 1000 or true')


def parse_filter(text: str):
    """The tree of a filter text (None when it is blank); FilterError says what and where."""
    return FilterParser(text).parse_filter()


# --- the filter dialog's filters -----------------------------------------------------------

TEXT_OPS = ("equals", "not_equals", "contains", "is_empty", "is_not_empty")
NUMBER_OPS = ("=", "≠", "<", "≤", ">", "≥", "between", "is_empty", "is_not_empty")
DATE_OPS = ("in_period", "before", "after", "between", "in_last_days", "is_empty", "is_not_empty")
BOOL_OPS = ("is_true", "is_false")
ENUM_OPS = ("one_of", "is_empty", "is_not_empty")
OPERATORS = {
    Kind.TEXT: TEXT_OPS,
    Kind.REFERENCE: TEXT_OPS,
    Kind.ENUM: ENUM_OPS,
    Kind.MONEY: NUMBER_OPS,
    Kind.NUMBER: NUMBER_OPS,
    Kind.DATETIME: DATE_OPS,
    Kind.BOOL: BOOL_OPS,
}
OPERATOR_LABELS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "=": "=",
    "≠": "≠",
    "<": "<",
    "≤": "≤",
    ">": ">",
    "≥": "≥",
    "between": "between",
    "before": "before",
    "after": "after",
    "is_true": "= True",
    "is_false": "= False",
    "one_of": "is one of",
    "in_last_days": "in the last (days)",
    "in_period": "is in",
}
# The dialog's operators as the compiler's (see FilterCompiler.sql); the rest are the same.
_DIALOG_OPS = {
    "equals": "=",
    "not_equals": "!=",
    "one_of": "in",
    "≤": "<=",
    "≥": ">=",
    "before": "<",
    "after": ">",
}


@dataclass(frozen=True)
class Filter:
    """One condition as the filter dialog makes it: a field's key, one of OPERATORS, a value."""

    key: str
    op: str
    value: object = None  # a number, text, epoch seconds, (low, high) or a list
    # An amount typed as read (10.00 USD) keeps its currency: the value is in that currency's
    # minor unit, as stored, and the filter holds for rows in that currency only. Without one
    # (filters saved before), the value is in minor units of whatever currency.
    currency: str | None = None

    def describe(self, fields: dict[str, FieldRef]) -> str:
        field = fields.get(self.key)
        label = field.label if field else self.key
        op = OPERATOR_LABELS.get(self.op, self.op)
        if self.op in ("is_empty", "is_not_empty", "is_true", "is_false"):
            return f"{label} {op}"
        if field is not None and field.kind is Kind.MONEY and self.op in NUMBER_OPS:
            return self._describe_money(label, op)
        if self.op == "between":
            low, high = self.value  # type: ignore[misc]
            return f"{label} between {low} and {high}"
        if self.op == "in_period":
            return f"{label} is in {PERIODS.get(str(self.value), self.value).lower()}"
        if self.op == "one_of":
            return f"{label} is one of {', '.join(map(str, self.value))}"  # type: ignore[arg-type]
        return f"{label} {op} {self.value}"

    def _describe_money(self, label: str, op: str) -> str:
        """As the table reads: 'Amount > 10.00 USD'; a filter saved before amounts had a
        currency says its unit: 'Amount > 1000 (minor units)'."""

        def amount(value) -> str:
            if self.currency is None:
                return str(value)
            divisor = minor_unit_divisor(self.currency)
            number = float(value) / divisor
            text = localized(number, 2 if divisor != 1 else 0)
            return f"{text} {self.currency.upper()}"

        unit = "" if self.currency else " (minor units)"
        if self.op == "between":
            low, high = self.value  # type: ignore[misc]
            return f"{label} between {amount(low)} and {amount(high)}{unit}"
        return f"{label} {op} {amount(self.value)}{unit}"


def amount_in_minor_units(text: str, currency: str) -> int:
    """An amount typed as read, in units ('10', '10.50', '1,250.00'; in Danish '1.250,00'),
    in the currency's minor unit as Stripe stores it: 1050 for 10.50 USD, 1250 for 1,250 JPY.
    A dot is always taken as a decimal mark where it can only be one ('10.50' in Danish too)."""
    from decimal import Decimal, InvalidOperation

    style = localization.style()
    cleaned = str(text).strip().replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    if style.decimal != "." and (style.decimal in cleaned or cleaned.count(".") > 1):
        cleaned = cleaned.replace(style.group, "").replace(style.decimal, ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise FilterError(
            f"{text!r} is not an amount: type it as the table shows it, such as "
            f"{localization.number(10, 2)}"
        ) from None
    return int((number * minor_unit_divisor(currency)).to_integral_value())


# --- SQL -----------------------------------------------------------------------------------


class FilterCompiler:
    """Filters over one data source's fields to SQL with bound parameters: the text's
    conditions (Test and Logic, errors at their position) and the dialog's Filters.

    `error` is the class its errors are raised as (a formula's own, in services/kpi)."""

    def __init__(
        self,
        fields: dict[str, FieldRef],
        *,
        time_zone: str = "UTC",
        week_start: int = 0,
        error: type[FilterError] = FilterError,
        retired: dict[str, str] | None = None,
    ) -> None:
        self.fields = fields
        # Names of fields Stripe removed, and what to say instead of "unknown field".
        self.retired = retired or {}
        self.time_zone = time_zone  # dates in the text and periods such as "this month"
        self.week_start = week_start
        self.error = error

    def field(self, name: Name) -> FieldRef:
        """The field a name means: its key, or its key or label in any case."""
        fields = self.fields
        if name.text in fields:
            return fields[name.text]
        wanted = name.text.lower()
        for ref in fields.values():
            if wanted in (ref.key.lower(), ref.label.lower()):
                return ref
        plain = not any(c in name.text for c in '"\\[]*$')
        if wanted.startswith("metadata.") and len(wanted) > len("metadata.") and plain:
            # Metadata keys work before Update fields has listed them.
            return FieldRef(name.text, name.text, Kind.TEXT, json_extract_sql(name.text))
        if name.text in self.retired:
            raise self.error(self.retired[name.text], name.pos)
        raise self.error.unknown("field", name.text, name.pos, list(fields))

    def compile(self, node) -> tuple[str, list]:
        """A tree of the text (Test, Logic) or a dialog's Filter as (SQL, parameters)."""
        if isinstance(node, Logic):
            if node.op == "not":
                sql, params = self.compile(node.parts[0])
                return f"NOT COALESCE(({sql}), FALSE)", params
            pieces = [self.compile(p) for p in node.parts]
            joiner = f" {node.op.upper()} "
            return (
                "(" + joiner.join(f"({sql})" for sql, _ in pieces) + ")",
                [v for _, params in pieces for v in params],
            )
        if isinstance(node, Filter):
            return self._dialog(node)
        return self._test(node)

    # --- what a filter keeps, for the formulas' choice of query ---

    def names(self, node, key: str) -> bool:
        """Whether a condition on the field `key` is among the filter's and-ed ones."""
        if isinstance(node, Logic):
            return node.op == "and" and any(self.names(part, key) for part in node.parts)
        return self.field(node.field).key == key

    def sql_named(self, node) -> set[str]:
        """The SQL of every field the filter tests."""
        if isinstance(node, Logic):
            return set().union(*(self.sql_named(part) for part in node.parts))
        return {self.field(node.field).sql}

    def fixed(self, node, key: str):
        """The value every row the filter keeps has in the field `key` (a `key = value`
        among its and-ed conditions; for True or False also `!=`), else None."""
        if isinstance(node, Logic):
            if node.op != "and":
                return None
            found = (self.fixed(part, key) for part in node.parts)
            return next((value for value in found if value is not None), None)
        ref = self.field(node.field)
        if ref.key != key or node.op not in ("=", "!=") or len(node.values) != 1:
            return None
        value = self.convert(ref, *node.values[0])
        if ref.kind is Kind.BOOL:
            return value == (node.op == "=")
        return value if node.op == "=" else None

    # --- the two ways in ---

    def _test(self, node: Test) -> tuple[str, list]:
        """A condition of the text: its values checked against the field's kind."""
        ref = self.field(node.field)
        values = [self.convert(ref, value, pos) for value, pos in node.values]
        op = node.op
        kind = ref.kind
        where = node.pos
        if op in ("is_empty", "is_not_empty"):
            return self.sql(ref, op, [])
        if kind is Kind.BOOL:
            if op not in ("=", "!="):
                raise self.error(f"{ref.label} is True or False: use = or !=", where)
            truth = bool(values[0]) == (op == "=")
            return self.sql(ref, "is_true" if truth else "is_false", [])
        if op in ("in", "not_in"):
            return self.sql(ref, op, values)
        if kind in (Kind.TEXT, Kind.REFERENCE, Kind.ENUM):
            if op in ("contains", "=", "!="):
                return self.sql(ref, op, values)
            raise self.error(f"{ref.label} is text: use =, !=, contains, in (…) or is empty", where)
        # numbers, amounts and dates
        if op == "contains":
            raise self.error(f"{ref.label} is {kind_word(kind)}: contains is for text", where)
        return self.sql(ref, op, values)

    def _dialog(self, flt: Filter) -> tuple[str, list]:
        """A condition the filter dialog made: an operator it offers for the field's kind,
        and the value as the dialog's editor gives it."""
        field = self.fields.get(flt.key)
        if field is None:
            raise FilterError(f"Unknown field {flt.key!r}; use Update fields to find new ones.")
        currency = self.fields.get("currency")
        if flt.currency and field.kind is Kind.MONEY and currency is not None:
            # The amount, in that currency only.
            sql, params = self._dialog(Filter(flt.key, flt.op, flt.value))
            return f"({currency.sql} = ? AND {sql})", [flt.currency.lower(), *params]
        if flt.op not in OPERATORS[field.kind]:
            raise FilterError(
                f"{field.label} cannot be filtered with '{OPERATOR_LABELS.get(flt.op, flt.op)}'."
            )
        op = _DIALOG_OPS.get(flt.op, flt.op)
        if op in ("is_empty", "is_not_empty", "is_true", "is_false"):
            return self.sql(field, op, [])
        if flt.op in ("equals", "not_equals", "contains"):
            return self.sql(field, op, [flt.value if op == "contains" else str(flt.value)])
        if flt.op == "one_of":
            values = list(flt.value or [])  # type: ignore[call-overload]
            if not values:
                raise FilterError(f"Choose at least one value of {field.label}.")
            return self.sql(field, op, [str(v) for v in values])
        if flt.op == "between":
            try:
                low, high = (_number(v, field) for v in flt.value)  # type: ignore[union-attr]
            except (TypeError, ValueError) as exc:
                raise FilterError(f"{field.label} between needs two values.") from exc
            return self.sql(field, op, [low, high])
        if flt.op == "in_period":
            try:
                start, end = period_range(
                    str(flt.value), self.time_zone, week_start=self.week_start
                )
            except ValueError as exc:
                raise FilterError(str(exc)) from None
            return self.sql(field, op, [start, end])
        if flt.op == "in_last_days":
            days = _number(flt.value, field)
            return self.sql(field, ">=", [int(time.time() - days * 86_400)])
        return self.sql(field, op, [_number(flt.value, field)])

    # --- the one place an operator becomes SQL ---

    @staticmethod
    def sql(ref: FieldRef, op: str, values: list) -> tuple[str, list]:
        """SQL for one condition on a field, its values already of the field's kind.

        Text's `!=` keeps empty values, as does the text's `!=` on a number or date (rows
        without one do differ); the dialog's `≠` on a number leaves them out, as it always has."""
        col = ref.sql
        if op in ("is_empty", "is_not_empty"):
            textual = ref.kind in (Kind.TEXT, Kind.REFERENCE, Kind.ENUM)
            if op == "is_empty":
                return (f"({col} IS NULL OR {col} = '')" if textual else f"{col} IS NULL"), []
            return (f"({col} IS NOT NULL AND {col} != '')" if textual else f"{col} IS NOT NULL"), []
        if op in ("is_true", "is_false"):
            return f"{col} = ?", [1 if op == "is_true" else 0]
        if op == "contains":
            return f"{col} {dialect.current().like} ?", [f"%{values[0]}%"]
        if op in ("in", "not_in"):
            sql = f"{col} IN ({', '.join('?' for _ in values)})"
            return (f"({col} IS NULL OR NOT ({sql}))" if op == "not_in" else sql), list(values)
        if op == "between":
            low, high = sorted(values)
            return f"{col} BETWEEN ? AND ?", [low, high]
        if op == "in_period":
            return f"{col} >= ? AND {col} < ?", list(values)
        if op == "!=":
            return f"({col} IS NULL OR {col} != ?)", list(values)
        if op == "≠":
            return f"{col} != ?", list(values)
        if op in ("=", "<", "<=", ">", ">="):
            return f"{col} {op} ?", list(values)
        raise ValueError(op)  # pragma: no cover - the parser and OPERATORS make no other

    def convert(self, ref: FieldRef, value, pos: int):
        """A value of the text as the field stores it; an error at `pos` when it cannot be."""
        kind = ref.kind
        if kind is Kind.BOOL:
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise self.error(f"{ref.label} is True or False, not '{value}'", pos)
            return value
        if kind in (Kind.MONEY, Kind.NUMBER):
            if isinstance(value, bool) or not isinstance(value, float):
                raise self.error(f"{ref.label} needs a number, not '{value}'", pos)
            return int(value) if value.is_integer() else value
        if kind is Kind.DATETIME:
            if isinstance(value, float):
                return int(value)
            if isinstance(value, str):
                try:
                    moment = dt.datetime.fromisoformat(value)
                except ValueError:
                    moment = None
                if moment is not None:
                    if moment.tzinfo is None:
                        moment = moment.replace(tzinfo=ZoneInfo(self.time_zone))
                    return int(moment.timestamp())
            raise self.error(
                f'{ref.label} is a date: write it as "2026-01-31" or "2026-01-31 18:00"', pos
            )
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else str(value)
        return value


def _number(value, field: FieldRef) -> float:
    if isinstance(value, bool):
        raise FilterError(f"{field.label} needs a number.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FilterError(f"{field.label} needs a number, not {value!r}.") from None
