"""The request body as GWT sees it: UTF-8 text, parsed by json-smart in permissive mode.

Reproduced: json-smart's "useless commas" (`[1,,2,]`, `{"a":1,}`), its number types (a float literal
longer than 18 characters stays a BigDecimal, shorter ones become a Double), key order, a repeated key
keeping its first position but its last value, and the DEL characters it drops from strings that
contain an escape. Everything else json-smart's permissive mode tolerates (single quotes, unquoted
words, NaN, leading zeros, trailing garbage) is refused: what it makes of such text is not something
to guess at, so the payload is invalid input rather than a silently different variable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, List, Optional, Tuple, Union

from port_gitops.errors import InvalidInputError

MAX_DEPTH = 400  # json-smart's nesting limit: deeper documents fail to parse in Jenkins too
_LONGEST_DOUBLE_LITERAL = 18
_JSON_WHITESPACE = " \t\r\n"
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]|[ \t\r\n]+|[^\[\]{},:" \t\r\n]+|.', re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Payload:
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


def _java_float(literal: str) -> Union[float, Decimal]:
    return Decimal(literal) if len(literal) > _LONGEST_DOUBLE_LITERAL else float(literal)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _drop_useless_commas(text: str) -> Tuple[str, int]:
    """Blank the commas json-smart skips (those not between two values) so the standard parser can
    read the rest; also drop DEL from strings with an escape, as json-smart's slow path does.
    Returns the text (same positions, for error messages) and the deepest nesting seen."""
    out: List[str] = []
    pending: Optional[int] = None  # index in `out` of a comma still waiting for the next value
    after_value = False
    depth = deepest = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first in _JSON_WHITESPACE:
            out.append(token)
            continue
        if first == ",":
            if after_value:
                pending = len(out)
                out.append(",")
            else:
                out.append(" ")
            after_value = False
            continue
        if first in "]}":
            if pending is not None:
                out[pending] = " "
            depth -= 1
            after_value = True
        elif first in "[{":
            depth += 1
            deepest = max(deepest, depth)
            after_value = False
        else:  # a string, a literal or a colon
            after_value = first != ":"
            if first == '"' and "\\" in token:
                token = token.replace("\x7f", "")
        pending = None
        out.append(token)
    return "".join(out), deepest


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
