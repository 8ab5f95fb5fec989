"""Values as GWT writes them: `new GsonBuilder().serializeNulls().create().toJson(value)`.

Compact output, key order kept, HTML-safe escapes on (`<`, `>`, `&`, `=`, `'` as \\u00XX), and numbers
as Java prints them. Numbers arrive typed the way json-smart typed them (see payload.py): `int` for
Integer/Long/BigInteger, `float` for Double, `Decimal` for BigDecimal.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\t": "\\t",
    "\b": "\\b",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    **{chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in "\t\b\n\r\f"},
    **{c: f"\\u{ord(c):04x}" for c in "<>&='\u2028\u2029"},
}


class GsonError(ValueError):
    """Gson refuses the value (it will not write NaN or Infinity), so GWT resolves nothing."""


def value_text(value: Any) -> str:
    """What GWT stores for a leaf: a string as it is, anything else as Gson JSON."""
    return value if isinstance(value, str) else to_json(value)


def to_json(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif isinstance(value, bool):
        parts.append("true" if value else "false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and not math.isfinite(value):
            raise GsonError(f"{number_text(value)} is not a valid double value as per JSON specification")
        parts.append(number_text(value))
    elif isinstance(value, dict):
        parts.append("{")
        for i, (key, item) in enumerate(value.items()):
            parts.append(("," if i else "") + _string(key) + ":")
            _write(item, parts)
        parts.append("}")
    elif isinstance(value, list):
        parts.append("[")
        for i, item in enumerate(value):
            if i:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:  # pragma: no cover - payload.py only produces JSON types
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _string(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def number_text(value: int | float | Decimal) -> str:
    """Number.toString() of the Java type json-smart chose (Gson writes numbers the same way)."""
    if isinstance(value, float):
        return double_to_string(value)
    return str(value)  # int: Integer/Long/BigInteger; Decimal: BigDecimal.toString() is the same algorithm


def double_to_string(x: float) -> str:
    """Java's Double.toString (JDK 19+: the shortest digits that round-trip, like Python's repr)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign, digit_tuple, exponent = _java_decimal(x).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # position of the decimal point relative to the first digit, as in d.ddd x 10^point
    point = len(digit_tuple) + exponent - 1
    prefix = "-" if sign else ""
    if 1e-3 <= abs(x) < 1e7:
        if point >= 0:
            whole = digits[: point + 1].ljust(point + 1, "0")
            fraction = digits[point + 1 :] or "0"
            return f"{prefix}{whole}.{fraction}"
        return f"{prefix}0.{'0' * (-point - 1)}{digits}"
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{point}"


def _java_decimal(x: float) -> Decimal:
    """The decimal Java picks: repr's shortest digits, except that a single digit loses to a closer
    two-digit decimal (JDK 19+ spec; e.g. Double.MIN_VALUE is 4.9E-324, not 5.0E-324)."""
    shortest = Decimal(repr(x))
    if len(shortest.as_tuple().digits) > 1:
        return shortest
    exact = Decimal(x)
    two_digits = Decimal(f"{exact:.1e}")  # nearest decimal with two significant digits
    if float(two_digits) == x and abs(two_digits - exact) < abs(shortest - exact):
        return two_digits
    return shortest
