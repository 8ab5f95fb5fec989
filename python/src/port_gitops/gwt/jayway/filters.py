"""Inline filters `[?(...)]` as Jayway's FilterCompiler reads them, into a syntax tree.

The scanner is Jayway's, so a filter Jayway rejects is rejected here too. Which of the filters it
accepts jsonpath-ng can evaluate with Jayway's answer is decided in translate.py. Regular expressions
(`=~`), `in`/`nin`/`size`/... and JSON literals are refused here already: their parsers are not ported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Tuple, Union

from port_gitops.gwt import java
from port_gitops.gwt.jayway.chars import SPACE, Cursor, unescape
from port_gitops.gwt.jayway.errors import CompileFailure, InvalidPath, Unsupported
from port_gitops.gwt.jayway.tokens import Path

# new BigDecimal(String): sign, digits with an optional point, optional exponent; no blanks
_BIG_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RELATIONAL_CHARS = "<>=~!"
_SUPPORTED_OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "===", "!==")
_JAYWAY_OPERATORS = frozenset(
    {*_SUPPORTED_OPERATORS, "=~", "NIN", "IN", "CONTAINS", "ALL", "SIZE", "EXISTS", "TYPE", "MATCHES"}
    | {"EMPTY", "SUBSETOF", "ANYOF", "NONEOF"}
)


# -- the syntax tree -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathOperand:
    path: Path
    should_exist: bool  # a `!` before a compared path is parsed and then ignored, as in Jayway


@dataclass(frozen=True)
class StringLiteral:
    text: str


@dataclass(frozen=True)
class NumberLiteral:
    number: Decimal


@dataclass(frozen=True)
class BooleanLiteral:
    value: bool


@dataclass(frozen=True)
class NullLiteral:
    pass


Operand = Union[PathOperand, StringLiteral, NumberLiteral, BooleanLiteral, NullLiteral]


@dataclass(frozen=True)
class Compare:
    left: Operand
    operator: str
    right: Operand


@dataclass(frozen=True)
class Exists:
    path: Path
    should_exist: bool


@dataclass(frozen=True)
class Not:
    part: Expression


@dataclass(frozen=True)
class AllOf:
    parts: Tuple[Expression, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: Tuple[Expression, ...]


Expression = Union[Compare, Exists, Not, AllOf, AnyOf]


def is_number_text(text: str) -> bool:
    """Whether `new BigDecimal(text)` succeeds: Jayway then compares such a string with numbers."""
    return _BIG_DECIMAL.fullmatch(text) is not None


# -- the compiler ---------------------------------------------------------------------------------
def compile_filter(criteria: str, compile_path: Callable[[str], Path]) -> Expression:
    """`[?(...)]` as Jayway's FilterCompiler reads it."""
    try:
        return _FilterScanner(criteria, compile_path).compile()
    except CompileFailure as exc:  # FilterCompiler reports every failure as an InvalidPathException
        raise InvalidPath(f"Failed to parse filter: {criteria}: {exc}") from exc


class _FilterScanner:
    def __init__(self, criteria: str, compile_path: Callable[[str], Path]) -> None:
        self.compile_path = compile_path
        text = self.text = Cursor(criteria).trim()
        if not text.current_is("[") or not text.last_is("]"):
            raise InvalidPath(f"Filter must start with '[' and end with ']'. {criteria}")
        text.pos += 1
        text.end -= 1
        text.trim()
        if not text.current_is("?"):
            raise InvalidPath(f"Filter must start with '[?' and end with ']'. {criteria}")
        text.pos += 1
        text.trim()
        if not text.current_is("(") or not text.last_is(")"):
            raise InvalidPath(f"Filter must start with '[?(' and end with ')]'. {criteria}")

    def compile(self) -> Expression:
        result = self.read_or()
        self.text.skip_blanks()
        if self.text.in_bounds():
            rest = self.text.sub(self.text.pos, self.text.length())
            raise InvalidPath(f"Expected end of filter expression instead of: {rest}")
        return result

    def read_or(self) -> Expression:
        parts = [self.read_and()]
        while True:
            save = self.text.pos
            if not self.text.has_significant("||"):
                self.text.pos = save
                break
            parts.append(self.read_and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def read_and(self) -> Expression:
        parts = [self.read_operand()]
        while True:
            save = self.text.pos
            if not self.text.has_significant("&&"):
                self.text.pos = save
                break
            parts.append(self.read_operand())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def read_operand(self) -> Expression:
        text = self.text
        save = text.skip_blanks().pos
        if text.skip_blanks().current_is("!"):
            text.read_significant("!")
            if text.skip_blanks().current() not in "$@":
                return Not(self.read_operand())
            text.pos = save  # `!@.x` is a negated existence check, read by read_value
        if text.skip_blanks().current_is("("):
            text.read_significant("(")
            inner = self.read_or()
            text.read_significant(")")
            return inner
        return self.read_expression()

    def read_expression(self) -> Expression:
        left = self.read_value()
        save = self.text.pos
        try:
            operator = self.read_operator()
            right = self.read_value()
            return Compare(left, operator, right)
        except CompileFailure:
            raise
        except InvalidPath:
            self.text.pos = save  # no comparison after all: an existence check of the left path
        if not isinstance(left, PathOperand):
            raise InvalidPath("Expected path node")
        return Exists(left.path, left.should_exist)

    def read_operator(self) -> str:
        text = self.text
        begin = text.skip_blanks().pos
        if text.current() in _RELATIONAL_CHARS:
            while text.in_bounds() and text.current() in _RELATIONAL_CHARS:
                text.pos += 1
        else:
            while text.in_bounds() and text.current() != SPACE:
                text.pos += 1
        operator = text.sub(begin, text.pos)
        if operator.upper() not in _JAYWAY_OPERATORS:
            raise InvalidPath(f"Filter operator {operator} is not supported!")
        if operator not in _SUPPORTED_OPERATORS:
            raise Unsupported(f"filter operator {operator}")
        return operator

    def read_value(self) -> Operand:
        text = self.text
        char = text.skip_blanks().current()
        if char in "$@":
            return self.read_path()
        if char == "!":
            text.pos += 1
            if text.skip_blanks().current() in "$@":
                return self.read_path()
            raise InvalidPath("Unexpected character: !")
        return self.read_literal()

    def read_literal(self) -> Operand:
        text = self.text
        char = text.skip_blanks().current()
        if char in "'\"":
            close = text.next_index_of_unescaped(char)
            if close == -1:
                raise InvalidPath(f"String literal does not have matching quotes. Expected {char}")
            literal = text.sub(text.pos + 1, close)
            text.pos = close + 1
            return StringLiteral(unescape(literal))
        if char in "tf":
            end = text.pos + (3 if char == "t" else 4)
            if not text.in_bounds(end) or text.sub(text.pos, end + 1) not in ("true", "false"):
                raise InvalidPath("Expected boolean literal")
            value = text.sub(text.pos, end + 1) == "true"
            text.pos = end + 1
            return BooleanLiteral(value)
        if char == "n":
            if text.in_bounds(text.pos + 3) and text.sub(text.pos, text.pos + 4) == "null":
                text.pos += 4
                return NullLiteral()
            raise InvalidPath("Expected <null> value")
        if char in "{[/":
            raise Unsupported("JSON and regular-expression literals in filters")
        begin = text.pos
        while text.in_bounds() and (java.is_digit(text.current()) or text.current() in "-.Ee"):
            text.pos += 1
        number = text.sub(begin, text.pos)
        if not is_number_text(number):
            raise CompileFailure(f"not a number: {number!r}")
        return NumberLiteral(Decimal(number))

    def read_path(self) -> PathOperand:
        text = self.text
        previous = text.previous_significant_char()
        begin = text.pos
        text.pos += 1  # past $ or @
        while text.in_bounds():
            if text.current() == "[":
                close = text.matching_close(text.pos, "[", "]", True, False)
                if close == -1:
                    raise InvalidPath("Square brackets does not match in filter")
                text.pos = close + 1
            closing_paren = text.current() == ")"
            if closing_paren and self.closes_function(begin):
                closing_paren = False
            if not text.in_bounds() or text.current() in _RELATIONAL_CHARS + SPACE or closing_paren:
                break
            text.pos += 1
        return PathOperand(self.compile_path(text.sub(begin, text.pos)), previous != "!")

    def closes_function(self, lower_bound: int) -> bool:
        text = self.text
        index = text.previous_significant_index()
        if index == -1 or text.char_at(index) != "(":
            return False
        index -= 1
        while text.in_bounds(index) and index > lower_bound:
            if text.char_at(index) == ".":
                return True
            index -= 1
        return False
