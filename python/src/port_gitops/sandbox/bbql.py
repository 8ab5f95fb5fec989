"""The subset of BBQL (Bitbucket Cloud's `q` filter language) the sandbox understands.

    source.branch.name = "port/enrich-x" AND state = "OPEN"
    (destination.branch.name = "main" OR title ~ "port") AND id != 3

Fields are dotted paths into the API object (a list matches when any element does); values are
double-quoted strings with `\\"` and `\\\\` escapes, numbers, true, false or null; operators
= != ~ !~ (contains, case-insensitive) > >= < <=; AND binds tighter than OR.
"""

from __future__ import annotations

import re
from typing import Any, Callable

Predicate = Callable[[Any], bool]

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>!=|!~|>=|<=|=|~|>|<)|(?P<paren>[()])'
    r"|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])|(?P<word>[A-Za-z_][\w.]*))"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "~": lambda a, b: isinstance(a, str) and str(b).lower() in a.lower(),
    "!~": lambda a, b: not (isinstance(a, str) and str(b).lower() in a.lower()),
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
}
_LITERALS = {"true": True, "false": False, "null": None}


class BBQLError(ValueError):
    """The query does not parse."""


def compile_query(query: str) -> Predicate:
    tokens = _tokenize(query)
    parser = _Parser(tokens)
    predicate = parser.expression()
    if parser.position != len(tokens):
        raise BBQLError(f"unexpected {tokens[parser.position][1]!r} in query")
    return predicate


def _tokenize(query: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(query.rstrip()):
        match = _TOKEN.match(query, position)
        if not match or match.end() == position:
            raise BBQLError(f"cannot parse query at {query[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _values(obj: Any, path: str) -> list[Any]:
    found = [obj]
    for key in path.split("."):
        step = []
        for item in found:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict) and key in element:
                    value = element[key]
                    step.extend(value if isinstance(value, list) else [value])
        found = step
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token[0] == "end":
            raise BBQLError("query ends too early")
        self.position += 1
        return token

    def _keyword(self, word: str) -> bool:
        kind, text = self._peek()
        if kind == "word" and text.upper() == word:
            self.position += 1
            return True
        return False

    def expression(self) -> Predicate:
        terms = [self._conjunction()]
        while self._keyword("OR"):
            terms.append(self._conjunction())
        return terms[0] if len(terms) == 1 else lambda obj: any(term(obj) for term in terms)

    def _conjunction(self) -> Predicate:
        terms = [self._primary()]
        while self._keyword("AND"):
            terms.append(self._primary())
        return terms[0] if len(terms) == 1 else lambda obj: all(term(obj) for term in terms)

    def _primary(self) -> Predicate:
        if self._peek() == ("paren", "("):
            self.position += 1
            inner = self.expression()
            if self._next() != ("paren", ")"):
                raise BBQLError("missing ')' in query")
            return inner
        kind, field = self._next()
        if kind != "word" or field.upper() in ("AND", "OR"):
            raise BBQLError(f"expected a field name, got {field!r}")
        kind, op = self._next()
        if kind != "op":
            raise BBQLError(f"expected an operator after {field}, got {op!r}")
        value = self._value()
        compare = _COMPARE[op]

        def predicate(obj: Any) -> bool:
            candidates = _values(obj, field) or [None]
            return any(_safe(compare, candidate, value) for candidate in candidates)

        return predicate

    def _value(self) -> Any:
        kind, text = self._next()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in _LITERALS:
            return _LITERALS[text.lower()]
        raise BBQLError(f"expected a value, got {text!r}")


def _safe(compare: Callable[[Any, Any], bool], candidate: Any, value: Any) -> bool:
    try:
        return compare(candidate, value)
    except TypeError:  # e.g. a number compared with a string: no match, as in BBQL
        return False
