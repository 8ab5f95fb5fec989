"""A blueprint's property and relation rules: the type conversion of a mapping variable, and the checks
of a value (type, enum, format, bounds, length, pattern, relation identifiers).

One module for both directions, so `enrich`, `render` and `validate` agree on what a value may be.
Port's property schemas are JSON Schema; a `pattern` is an ECMAScript regular expression, which may use
Unicode property classes such as `\\p{L}` that Python's `re` lacks: they are expanded here.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import math
import re
import sys
import unicodedata
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

from port_gitops.model import identifier_problem

_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?"
)
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
MAX_PATTERN = 1000  # a blueprint's pattern is configuration, but still bounded


class ValueProblem(ValueError):
    """A variable's text cannot become the property's type; the message says what was expected."""


# -- conversion: a mapping variable (always text) -> the blueprint's type ------------------------------
def convert_property(text: str, spec: Mapping[str, Any]) -> Any:
    """The value `text` stands for as property `spec` (a placeholder that is a whole scalar)."""
    return _coerce(text, spec, text)


def convert_relation(text: str, spec: Mapping[str, Any]) -> Any:
    """One identifier, or (`many: true`) a list of identifiers from a JSON array or a comma list."""
    if not spec.get("many"):
        return text
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            raise ValueProblem(f"{shown(text)} is not a JSON array of identifiers") from None
        if not isinstance(items, list):
            raise ValueProblem(f"{shown(text)} is not a JSON array of identifiers")
        return items
    return [item.strip() for item in text.split(",") if item.strip()]


def _coerce(value: Any, spec: Mapping[str, Any], text: str) -> Any:
    kind = spec.get("type")
    if not isinstance(value, str) or kind in (None, "string"):
        return value
    if kind == "integer":
        if _INTEGER.fullmatch(value.strip()):
            return int(value)
        raise ValueProblem(f"{shown(value)} is not an integer; expected whole digits such as 87")
    if kind == "number":
        if _NUMBER.fullmatch(value.strip()):
            number = float(value)
            return int(number) if _INTEGER.fullmatch(value.strip()) else number
        raise ValueProblem(f"{shown(value)} is not a number; expected digits such as 87 or 99.5")
    if kind == "boolean":
        if value in ("true", "false"):
            return value == "true"
        raise ValueProblem(f"{shown(value)} is not a boolean; expected true or false")
    if kind in ("array", "object"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        wanted = list if kind == "array" else dict
        if not isinstance(parsed, wanted):
            what = (
                'a JSON array such as ["a", "b"]' if kind == "array" else 'a JSON object such as {"k": "v"}'
            )
            raise ValueProblem(f"{shown(value)} is not {what}")
        if kind == "array":
            items = spec.get("items") or {}
            return [_coerce(item, items, text) for item in parsed]
        return parsed
    return value


# -- checks: a value (from YAML or converted) against the blueprint ------------------------------------
def property_problem(value: Any, spec: Mapping[str, Any]) -> Optional[str]:
    """Why `value` is not allowed for property `spec`, or None."""
    if value is None:  # Port treats null as "not set"
        return None
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "array":
        if not isinstance(value, list):
            return f"expected a list, not {shown(value)}"
        items = spec.get("items") or {}
        for number, item in enumerate(value, 1):
            problem = property_problem(item, items)
            if problem:
                return f"item {number}: {problem}"
        return _bounds_problem(len(value), spec, "minItems", "maxItems", "items")
    return (
        _type_problem(value, kind, fmt)
        or _enum_problem(value, spec.get("enum"))
        or _format_problem(value, fmt)
        or _number_problem(value, spec)
        or _text_problem(value, spec)
    )


def relation_problem(value: Any, spec: Mapping[str, Any]) -> Optional[str]:
    if value is None or (isinstance(value, dict) and "rules" in value):  # unset, or a search query
        return None
    target = spec.get("target", "target")
    if spec.get("many"):
        if not isinstance(value, list):
            return f"relates to many {target} entities: expected a list of identifiers, not {shown(value)}"
        for number, item in enumerate(value, 1):
            problem = identifier_problem(item)
            if problem:
                return f"item {number}: {problem}"
        return None
    if isinstance(value, list):
        return f"relates to one {target} entity: expected one identifier, not a list"
    return identifier_problem(value)


def _type_problem(value: Any, kind: Any, fmt: Any) -> Optional[str]:
    expected = _TYPES.get(kind) if isinstance(kind, str) else None
    if expected is None:
        return None
    if kind == "string" and fmt in ("date-time", "timer") and isinstance(value, datetime.date):
        return None  # an unquoted YAML timestamp: Port receives it as ISO 8601 text
    if isinstance(value, expected) and not (kind in ("number", "integer") and isinstance(value, bool)):
        return None
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return None
    scalar = isinstance(value, (bool, int, float, datetime.date))
    hint = "; quote it to keep it text" if kind == "string" and scalar else ""
    article = "an" if kind in ("object", "array", "integer") else "a"
    return f"expected {article} {kind}, not {shown(value)}{hint}"


def _enum_problem(value: Any, enum: Any) -> Optional[str]:
    if not isinstance(enum, list) or value in enum:
        return None
    return f"{shown(value)} is not allowed; expected one of {', '.join(map(str, enum))}"


def _format_problem(value: Any, fmt: Any) -> Optional[str]:
    check = _FORMATS.get(fmt) if isinstance(fmt, str) else None
    if check is None or not isinstance(value, str) or check[0](value):
        return None
    return f"{shown(value)} is not a valid {fmt}; expected {check[1]}"


def _number_problem(value: Any, spec: Mapping[str, Any]) -> Optional[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{shown(value)} is not a finite number"
    return _bounds_problem(value, spec, "minimum", "maximum", "")


def _text_problem(value: Any, spec: Mapping[str, Any]) -> Optional[str]:
    if not isinstance(value, str):
        return None
    problem = _bounds_problem(len(value), spec, "minLength", "maxLength", "characters")
    pattern = spec.get("pattern")
    if problem or not isinstance(pattern, str):
        return problem
    if compiled_pattern(pattern).search(value) is None:
        return f"{shown(value)} does not match the pattern {pattern}"
    return None


def _bounds_problem(amount: float, spec: Mapping[str, Any], low: str, high: str, unit: str) -> Optional[str]:
    minimum, maximum = spec.get(low), spec.get(high)
    what = f"{amount:g} {unit}".rstrip() if unit else f"{amount:g}"
    if isinstance(minimum, (int, float)) and amount < minimum:
        return f"{what} is below the {low} {minimum:g}"
    if isinstance(maximum, (int, float)) and amount > maximum:
        return f"{what} is above the {high} {maximum:g}"
    return None


@functools.lru_cache(maxsize=64)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """An ECMAScript (`u` flag) pattern as a Python one: `\\p{X}`/`\\P{X}` become Unicode category classes.

    A pattern Python cannot compile is a blueprint (configuration) problem: it matches nothing rather
    than everything, so a bad value is never written on the strength of a broken rule.
    """
    try:
        if len(pattern) > MAX_PATTERN:
            raise re.error("pattern too long")
        return re.compile(_expand_properties(pattern))
    except re.error:
        return re.compile(r"(?!)")


_PROPERTY = re.compile(r"\\([pP])\{([A-Za-z_]+)\}")


def _expand_properties(pattern: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            match = _PROPERTY.match(pattern, i)
            if match is None:
                out.append(pattern[i : i + 2])
                i += 2
                continue
            negated, ranges = match.group(1) == "P", _category_ranges(match.group(2))
            if depth and negated:
                raise re.error("\\P{...} inside a character class")
            out.append(ranges if depth else f"[{'^' if negated else ''}{ranges}]")
            i = match.end()
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        out.append(char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=16)
def _category_ranges(name: str) -> str:
    """The code point ranges of a Unicode general category (`L`, `Lu`, `N`, `Nd`, ...), as class text."""
    if not (len(name) in (1, 2) and name[0] in "LMNPSZC"):
        raise re.error(f"unknown Unicode property {name}")
    ranges: list[str] = []
    start = previous = -2
    # str.isalpha is exactly the L categories (Lu, Ll, Lt, Lm, Lo) and twice as fast as asking for them.
    member = str.isalpha if name == "L" else (lambda char: unicodedata.category(char).startswith(name))
    for code in range(sys.maxunicode + 1):
        if member(chr(code)):
            if code != previous + 1:
                if start >= 0:
                    ranges.append(_range(start, previous))
                start = code
            previous = code
    if start >= 0:
        ranges.append(_range(start, previous))
    return "".join(ranges)


def _range(start: int, end: int) -> str:
    return re.escape(chr(start)) if start == end else f"{re.escape(chr(start))}-{re.escape(chr(end))}"


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https", "ftp")
        and bool(parts.hostname)
        and not any(c.isspace() for c in value)
    )


def _is_date_time(value: str) -> bool:
    match = _DATE_TIME.fullmatch(value)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


def _is_ip(kind: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            kind(value)
        except ValueError:
            return False
        return True

    return check


# String-typed formats without a syntax of their own (markdown, yaml, team, ...) accept any text.
_FORMATS: Mapping[str, tuple[Callable[[str], bool], str]] = {
    "url": (_is_url, "an http(s) URL such as https://example.com/page"),
    "email": (_matches(_EMAIL), "an e-mail address"),
    "idn-email": (_matches(_EMAIL), "an e-mail address"),
    "user": (_matches(_EMAIL), "the e-mail address of a Port user"),
    "date-time": (_is_date_time, "an ISO 8601 date and time such as 2024-05-01T12:00:00Z"),
    "timer": (_is_date_time, "an ISO 8601 date and time such as 2024-05-01T12:00:00Z"),
    "ipv4": (_is_ip(ipaddress.IPv4Address), "an IPv4 address"),
    "ipv6": (_is_ip(ipaddress.IPv6Address), "an IPv6 address"),
}


def shown(value: Any) -> str:
    """A value as the user wrote it, with what YAML or JSON made of it."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, datetime.date):
        return f"{value.isoformat()} (a date)"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "null"
