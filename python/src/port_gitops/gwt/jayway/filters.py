"""Inline filters `[?(...)]`: Jayway's FilterCompiler, and the predicates it builds.

Reproduced: `&&`, `||`, `!`, parentheses, existence checks (`@.x`, `!@.x`), and `==`, `!=`, `<`, `<=`,
`>`, `>=`, `===`, `!==` between paths (`@...`, `$...`: plain chains of names and single indexes, maybe
ending in `length()`) and literals (strings, numbers, true, false, null), compared as values.py says.
Regular expressions (`=~`, Java regex syntax), `in`/`nin`/`size`/... and JSON literals are refused as
Unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Tuple, Union

from port_gitops.gwt import java
from port_gitops.gwt.jayway.chars import SPACE, Cursor, unescape
from port_gitops.gwt.jayway.errors import CompileFailure, InvalidPath, PathNotFound, Unsupported
from port_gitops.gwt.jayway.tokens import Indexes, Length, Path, Property, Root
from port_gitops.gwt.jayway.values import (
    BooleanNode,
    NullNode,
    NumberNode,
    StringNode,
    UndefinedNode,
    ValueNode,
    big_decimal,
    equals,
    node_of,
    order,
)

_RELATIONAL_CHARS = "<>=~!"
_SUPPORTED_OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "===", "!==")
_JAYWAY_OPERATORS = frozenset(
    {*_SUPPORTED_OPERATORS, "=~", "NIN", "IN", "CONTAINS", "ALL", "SIZE", "EXISTS", "TYPE", "MATCHES"}
    | {"EMPTY", "SUBSETOF", "ANYOF", "NONEOF"}
)


# -- compiled predicates --------------------------------------------------------------------------
@dataclass(frozen=True)
class PathOperand:
    path: Path
    should_exist: bool  # a `!` before a compared path is parsed and then ignored, as in Jayway

    def evaluate(self, item: Any, root: Any) -> ValueNode:
        document = root if self.path.tokens[0] == Root("$") else item
        try:
            return node_of(self.path.read(document, root))
        except PathNotFound:
            return UndefinedNode()


Operand = Union[PathOperand, NumberNode, StringNode, BooleanNode, NullNode]


@dataclass(frozen=True)
class Compare:
    left: Operand
    operator: str
    right: Operand

    def matches(self, item: Any, root: Any) -> bool:
        left = self.left.evaluate(item, root) if isinstance(self.left, PathOperand) else self.left
        right = self.right.evaluate(item, root) if isinstance(self.right, PathOperand) else self.right
        op = self.operator
        if op in ("==", "!="):
            return equals(left, right) == (op == "==")
        if op in ("===", "!=="):
            return (type(left) is type(right) and equals(left, right)) == (op == "===")
        sign = order(left, right)
        return sign is not None and {"<": sign < 0, "<=": sign <= 0, ">": sign > 0, ">=": sign >= 0}[op]


@dataclass(frozen=True)
class Exists:
    path: Path
    should_exist: bool

    def matches(self, item: Any, root: Any) -> bool:
        try:  # Jayway evaluates an exists-check on the item even when the path starts with `$`
            self.path.read(item, root, require_properties=True)
            found = True
        except PathNotFound:
            found = False
        return found == self.should_exist


@dataclass(frozen=True)
class Not:
    part: Expression

    def matches(self, item: Any, root: Any) -> bool:
        return not self.part.matches(item, root)


@dataclass(frozen=True)
class AllOf:
    parts: Tuple[Expression, ...]

    def matches(self, item: Any, root: Any) -> bool:
        return all(part.matches(item, root) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: Tuple[Expression, ...]

    def matches(self, item: Any, root: Any) -> bool:
        return any(part.matches(item, root) for part in self.parts)


Expression = Union[Compare, Exists, Not, AllOf, AnyOf]


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
            return StringNode(unescape(literal))
        if char in "tf":
            end = text.pos + (3 if char == "t" else 4)
            if not text.in_bounds(end) or text.sub(text.pos, end + 1) not in ("true", "false"):
                raise InvalidPath("Expected boolean literal")
            value = text.sub(text.pos, end + 1) == "true"
            text.pos = end + 1
            return BooleanNode(value)
        if char == "n":
            if text.in_bounds(text.pos + 3) and text.sub(text.pos, text.pos + 4) == "null":
                text.pos += 4
                return NullNode()
            raise InvalidPath("Expected <null> value")
        if char in "{[/":
            raise Unsupported("JSON and regular-expression literals in filters")
        begin = text.pos
        while text.in_bounds() and (java.is_digit(text.current()) or text.current() in "-.Ee"):
            text.pos += 1
        number = big_decimal(text.sub(begin, text.pos))
        if number is None:
            raise CompileFailure(f"not a number: {text.sub(begin, text.pos)!r}")
        return NumberNode(number)

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
        path = self.compile_path(text.sub(begin, text.pos))
        _check_filter_path(path)
        return PathOperand(path, previous != "!")

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


def _check_filter_path(path: Path) -> None:
    body = path.tokens[1:]
    if body and isinstance(body[-1], Length):
        body = body[:-1]
    plain = all(
        (isinstance(t, Property) and len(t.names) == 1) or (isinstance(t, Indexes) and len(t.indexes) == 1)
        for t in body
    )
    if not plain:
        raise Unsupported(
            f"filter path {path.text} (only names and single indexes are reproduced in filters)"
        )
