"""What each side of a filter comparison evaluates to, and how Jayway compares them.

Jayway's own rules, including the odd ones: a number equals a string that reads as the same number
(`1 == '1'`), but a string only equals a number that prints the same (`'1.0' == 1` is false); strings
order by UTF-16 code units; two JSON values compare with Java's equals (Integer 1 is not Double 1.0).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional, Union

from port_gitops.gwt import java
from port_gitops.gwt.gson import number_text
from port_gitops.gwt.jayway.errors import EvaluationFailure

# new BigDecimal(String): sign, digits with an optional point, optional exponent; no blanks
_BIG_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class NumberNode:
    number: Decimal


@dataclass(frozen=True)
class StringNode:
    text: str


@dataclass(frozen=True)
class BooleanNode:
    value: bool


@dataclass(frozen=True)
class NullNode:
    pass


@dataclass(frozen=True)
class JsonNode:
    value: Any  # a list or an object found in the document


@dataclass(frozen=True)
class UndefinedNode:
    """A path that found nothing: equal to nothing, not even to itself."""


ValueNode = Union[NumberNode, StringNode, BooleanNode, NullNode, JsonNode, UndefinedNode]


def big_decimal(text: str) -> Optional[Decimal]:
    return Decimal(text) if _BIG_DECIMAL.fullmatch(text) else None


def node_of(value: Any) -> ValueNode:
    """PathNode.evaluate's conversion of a found value."""
    if isinstance(value, bool):
        return BooleanNode(value)
    if isinstance(value, (int, float, Decimal)):
        number = big_decimal(number_text(value))
        if number is None:  # Infinity: Java's NumberFormatException escapes the filter
            raise EvaluationFailure(f"{number_text(value)} is not a BigDecimal")
        return NumberNode(number)
    if isinstance(value, str):
        return StringNode(value)
    if value is None:
        return NullNode()
    return JsonNode(value)


def equals(left: ValueNode, right: ValueNode) -> bool:
    """EqualsEvaluator: left.equals(right), except two JSON values compare as Java collections."""
    if isinstance(left, JsonNode) and isinstance(right, JsonNode):
        return _java_equals(left.value, right.value)
    if isinstance(left, NumberNode):
        if isinstance(right, StringNode):  # the string is read as a number
            other = big_decimal(right.text)
            return other is not None and left.number == other
        return isinstance(right, NumberNode) and left.number == right.number
    if isinstance(left, StringNode):
        if isinstance(right, NumberNode):  # the number is printed as a string
            return left.text == str(right.number)
        return isinstance(right, StringNode) and left.text == right.text
    if isinstance(left, (BooleanNode, NullNode)):
        return left == right
    return False  # JsonNode against a non-JSON node, UndefinedNode against anything


def order(left: ValueNode, right: ValueNode) -> Optional[int]:
    """Sign of compareTo for two numbers or two strings; None when Jayway answers false."""
    if isinstance(left, NumberNode) and isinstance(right, NumberNode):
        return (left.number > right.number) - (left.number < right.number)
    if isinstance(left, StringNode) and isinstance(right, StringNode):
        a, b = java.utf16_key(left.text), java.utf16_key(right.text)
        return (a > b) - (a < b)
    return None


def _java_equals(a: Any, b: Any) -> bool:
    """Object.equals between values as json-smart typed them (Integer 1 is not Long 1 nor Double 1.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_java_equals(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_java_equals(x, y) for x, y in zip(a, b))
    if _java_class(a) != _java_class(b):
        return False
    if isinstance(a, float):
        return bool(a == b and math.copysign(1.0, a) == math.copysign(1.0, b))  # Double: -0.0 != 0.0
    if isinstance(a, Decimal):
        return bool(a == b and a.as_tuple().exponent == b.as_tuple().exponent)  # BigDecimal: scale too
    return bool(a == b)


def _java_class(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return type(value).__name__
    if -(2**31) <= value < 2**31:
        return "Integer"
    return "Long" if -(2**63) <= value < 2**63 else "BigInteger"
