"""The request body as GWT sees it: UTF-8 text, parsed by json-smart in permissive mode.

Reproduced: json-smart's "useless commas" (`[1,,2,]`, `{"a":1,}`), its number types (a float literal
longer than 18 characters stays a BigDecimal, shorter ones become a Double), key order, a repeated key
keeping its first position but its last value, and the DEL characters it drops from strings that
contain an escape. Everything else json-smart's permissive mode tolerates (single quotes, unquoted
words, NaN, leading zeros, trailing garbage) is refused: what it makes of such text is not something
to guess at, so the payload is invalid input rather than a silently different variable.

One rule beyond GWT (`with_nested_json`): Port's GitHub backend sends `workflow_dispatch` inputs, which
are strings, so `port_context` arrives as JSON *text*. A top-level member that the mapping descends into
(`$.port_context.entity`) and whose value is a string holding a JSON object or array is read as that
JSON, by the same reader and within the same bounds. GWT itself would find nothing there, so a payload
Jenkins resolves is never resolved differently; `$` stays the body as sent.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Collection, List, NamedTuple, Optional, Tuple, Union

from port_gitops.errors import InvalidInputError

MAX_DEPTH = 400  # json-smart's nesting limit: deeper documents fail to parse in Jenkins too
_LONGEST_DOUBLE_LITERAL = 18
_JSON_WHITESPACE = " \t\r\n"
_STRUCTURE = re.compile(r'[\[\]{},:"]')  # what the comma rules look at; a quote starts a string
_NOT_BLANK = re.compile(r"[^ \t\r\n]")
_STRING_STOP = re.compile(r'["\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")


class Payload(NamedTuple):
    text: str  # the body exactly as decoded; the variable for `$` is this text
    document: Any  # the parsed JSON value


def read_payload(body: Optional[bytes]) -> Optional[Payload]:
    """The parsed body, or None when GWT would resolve nothing from it (empty, or a parse failure
    that is certain in Jenkins too). Raises InvalidInputError for a body this port cannot read the
    way Jenkins would."""
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"not UTF-8 (bad byte at offset {exc.start})", field="payload") from exc
    if not text.strip(_JSON_WHITESPACE):
        return None
    normalised, depth = _drop_useless_commas(text)
    if depth > MAX_DEPTH:
        return None
    try:
        document = json.loads(normalised, parse_float=_java_float, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"not standard JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", field="payload"
        ) from exc
    except ValueError as exc:
        raise InvalidInputError(f"not standard JSON ({exc})", field="payload") from exc
    if _has_lone_surrogate(document):
        raise InvalidInputError(
            "contains an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF)", field="payload"
        )
    return Payload(text, document)


def with_nested_json(payload: Optional[Payload], names: Collection[str]) -> Optional[Payload]:
    """`payload` with each top-level member in `names` that is JSON text replaced by its value (see
    the module's docstring). InvalidInputError names the member when its text is not readable JSON."""
    document = payload.document if payload is not None else None
    if payload is None or not isinstance(document, dict):
        return payload
    expanded = dict(document)
    for name in names:
        value = expanded.get(name)
        if not isinstance(value, str) or value.strip(_JSON_WHITESPACE)[:1] not in ("{", "["):
            continue
        field = f"payload.{name}"
        try:
            nested = read_payload(value.encode("utf-8"))
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"holds JSON text that is {exc.message.split(': ', 1)[-1]}", field=field
            ) from None
        if nested is None:  # deeper than json-smart reads
            raise InvalidInputError(f"holds JSON text nested deeper than {MAX_DEPTH} levels", field=field)
        expanded[name] = nested.document
    return Payload(payload.text, expanded)


def _java_float(literal: str) -> Union[float, Decimal]:
    return Decimal(literal) if len(literal) > _LONGEST_DOUBLE_LITERAL else float(literal)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _drop_useless_commas(text: str) -> Tuple[str, int]:
    """Blank the commas json-smart skips (those not between two values) so the standard parser can
    read the rest; also drop DEL from strings with an escape, as json-smart's slow path does.
    Returns the text (same positions, for error messages) and the deepest nesting seen.

    One pass that keeps only the edits (rare), never a token list: memory stays a small multiple of
    the text, and strings are skipped with `str.find`-like searches, not a backtracking regex."""
    edits: List[Tuple[int, int, str]] = []  # (start, end, replacement)
    pending: Optional[int] = None  # where a comma still waiting for the next value is
    after_value = False
    depth = deepest = 0
    pos, size = 0, len(text)
    while pos < size:
        found = _STRUCTURE.search(text, pos)
        at = found.start() if found else size
        if _NOT_BLANK.search(text, pos, at):  # a literal (number, true, a bare word) before it
            after_value, pending = True, None
        if found is None:
            break
        char = text[at]
        pos = at + 1
        if char == '"':
            end, escaped = _string_end(text, pos)
            if escaped and "\x7f" in text[at:end]:
                edits.append((at, end, text[at:end].replace("\x7f", "")))
            after_value, pending, pos = True, None, end
        elif char == ",":
            if after_value:
                pending = at
            else:
                edits.append((at, at + 1, " "))
            after_value = False
        elif char in "]}":
            if pending is not None:
                edits.append((pending, pending + 1, " "))
            depth -= 1
            after_value, pending = True, None
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            after_value, pending = False, None
        else:  # a colon
            after_value, pending = False, None
    return _apply(text, edits), deepest


def _string_end(text: str, pos: int) -> Tuple[int, bool]:
    """Where the string whose content starts at `pos` ends (past its closing quote), and whether it
    holds an escape; an unterminated string runs to the end (the JSON parser then says so)."""
    escaped = False
    while True:
        stop = _STRING_STOP.search(text, pos)
        if stop is None:
            return len(text), escaped
        if text[stop.start()] == '"':
            return stop.end(), escaped
        escaped = True
        pos = stop.start() + 2


def _apply(text: str, edits: List[Tuple[int, int, str]]) -> str:
    if not edits:
        return text
    parts, last = [], 0
    for start, end, new in sorted(edits):  # a pending comma is blanked after later ones
        parts += [text[last:start], new]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _has_lone_surrogate(document: Any) -> bool:
    pending = [document]  # iterative: documents nest up to MAX_DEPTH
    while pending:
        value = pending.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            return True
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
    return False
