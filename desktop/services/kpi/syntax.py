"""The formula language's text: tokens, the syntax tree and the parser, with error positions.

    Sum(Charges, amount, status = "succeeded" and livemode = true) / Count(Customers)

- Aggregates: ``Count(DataSource[, filter])`` and ``Sum|Avg|Min|Max|CountUnique(DataSource,
  field[, filter])``, each optionally followed by ``.Date(field)`` to measure the period on
  another date field than the data source's default.
- Arithmetic ``+ - * /`` with the usual precedence, parentheses, numbers, ``If(condition, a,
  b)`` where a condition compares two expressions (``= != < <= > >=``, ``and``, ``or``, ``not``).
- Saved formulas are reused by name: ``[Gross volume] / [Orders]``.
- Filters are the filter language of services/query (the registrations view's and export's):
  ``= != < <= > >=``, ``contains``, ``in (a, b)``, ``between a and b``, ``is empty``, ``is not
  empty``, combined with ``and``, ``or``, ``not`` and parentheses.
- Names of data sources and fields are written as the UI shows them, or quoted.

Nothing is ever `eval`-ed: the tree is bound to the store (binder), compiled to SQL (sql) and
evaluated (evaluate).
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.services.query import COMPARISONS, FilterError, FilterParser, Name, Token, unquote
from desktop.services.query import tokenize as _tokenize

FUNCTIONS = {
    "count": "Count",
    "sum": "Sum",
    "avg": "Avg",
    "min": "Min",
    "max": "Max",
    "countunique": "CountUnique",
    "if": "If",
}
AGGREGATES = ("count", "sum", "avg", "min", "max", "countunique")
FUNCTION_HELP = {
    "Count": "Count(DataSource[, filter]): how many registrations",
    "Sum": "Sum(DataSource, field[, filter]): the total of a number or amount",
    "Avg": "Avg(DataSource, field[, filter]): the average",
    "Min": "Min(DataSource, field[, filter]): the smallest value",
    "Max": "Max(DataSource, field[, filter]): the largest value",
    "CountUnique": "CountUnique(DataSource, field[, filter]): how many different values",
    "If": "If(condition, a, b): a when the condition holds, otherwise b",
}


class FormulaError(FilterError):
    """A formula that cannot be read, checked or evaluated. `position` is 1-based, or None."""

    noun = "formula"
    bracketed = "formula name"


def tokenize(text: str) -> list[Token]:
    return _tokenize(text, FormulaError)


# --- syntax tree (a filter's nodes, Test and Logic, are services/query's) ---------------------


@dataclass(frozen=True)
class Number:
    value: float
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object
    pos: int


@dataclass(frozen=True)
class Negate:
    operand: object
    pos: int


@dataclass(frozen=True)
class Reference:
    """[Saved formula]"""

    name: Name


@dataclass(frozen=True)
class Aggregate:
    function: str  # count, sum, ...
    source: Name
    field: Name | None
    filter: object | None  # a filter's tree: Test or Logic (services/query)
    filter_text: str
    date_field: Name | None
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object
    pos: int


@dataclass(frozen=True)
class IfNode:
    condition: object  # Compare or Logic of Compares
    then: object
    otherwise: object
    pos: int


class Parser(FilterParser):
    """A formula: arithmetic over aggregates, whose filters are FilterParser's grammar."""

    Error = FormulaError

    def parse(self):
        if self.tok.kind == "end":
            raise FormulaError("The formula is empty", 1)
        node = self.expression()
        if self.tok.kind != "end":
            raise self.error("Expected an operator such as + or *")
        return node

    def expression(self):
        node = self.term()
        while self.at("+", "-"):
            op = self.next()
            node = Binary(op.text, node, self.term(), op.pos + 1)
        return node

    def term(self):
        node = self.unary()
        while self.at("*", "/"):
            op = self.next()
            node = Binary(op.text, node, self.unary(), op.pos + 1)
        return node

    def unary(self):
        if self.at("-", "+"):
            op = self.next()
            operand = self.unary()
            return Negate(operand, op.pos + 1) if op.text == "-" else operand
        return self.primary()

    def primary(self):
        token = self.tok
        if token.kind == "num":
            self.next()
            return Number(float(token.text), token.pos + 1)
        if token.kind == "ref":
            self.next()
            return Reference(Name(unquote(token), token.pos + 2))
        if self.at("("):
            self.next()
            node = self.expression()
            self.expect(")", "')' to close the '('")
            return node
        if token.kind == "ident":
            self.next()
            if not self.at("("):
                # A saved formula written without brackets.
                return Reference(Name(token.text, token.pos + 1))
            function = token.word
            if function not in FUNCTIONS:
                raise FormulaError.unknown(
                    "function", token.text, token.pos + 1, FUNCTIONS.values()
                )
            self.next()
            if function == "if":
                return self.if_call(token)
            return self.aggregate(function, token)
        if token.kind == "str":
            raise self.error("Text belongs in a filter; expected a number or a function")
        raise self.error("Expected a number, a function such as Sum( or a [saved formula]")

    def if_call(self, start: Token) -> IfNode:
        condition = self.condition()
        self.expect(",", "',' after the condition of If")
        then = self.expression()
        self.expect(",", "',' between the two values of If")
        otherwise = self.expression()
        self.expect(")", "')' to close If(")
        return IfNode(condition, then, otherwise, start.pos + 1)

    def condition(self):
        return self.logic(self.comparison)

    def comparison(self) -> Compare:
        left = self.expression()
        if not self.at(*COMPARISONS):
            raise self.error("Expected a comparison such as > or = in the condition")
        op = self.next()
        return Compare(op.text, left, self.expression(), op.pos + 1)

    def aggregate(self, function: str, start: Token) -> Aggregate:
        label = FUNCTIONS[function]
        source = self.name(f"a data source in {label}(")
        field_name = None
        if function != "count":
            self.expect(",", f"',' and a field: {FUNCTION_HELP[label]}")
            field_name = self.name(f"a field in {label}(")
        filter_node, filter_text = None, ""
        if self.at(","):
            self.next()
            begin = self.tok.pos
            filter_node = self.filter_or()
            filter_text = self.text[begin : self.tokens[self.i - 1].end]
        self.expect(")", f"')' to close {label}(")
        date_field = None
        if self.at("."):
            self.next()
            if not self.at_word("date"):
                raise self.error("Expected Date( after '.'")
            self.next()
            self.expect("(", "'(' after .Date")
            date_field = self.name("a date field in .Date(")
            self.expect(")", "')' to close .Date(")
        return Aggregate(
            function, source, field_name, filter_node, filter_text, date_field, start.pos + 1
        )


def parse(text: str):
    """The syntax tree of a formula; FormulaError with the position when it cannot be read."""
    return Parser(text).parse()
