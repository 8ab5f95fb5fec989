"""GWT's VariablesResolver and Renderer: headers, then request parameters, then the body, merged
into one sorted map; then `regexpFilterText` rendered and matched against `regexpFilterExpression`.
"""

from __future__ import annotations

import logging
import re
import types
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from port_gitops.gwt import java
from port_gitops.gwt.flatten import apply_filter, flatten, not_flattened, to_variable_name
from port_gitops.gwt.gson import GsonError
from port_gitops.gwt.jayway import InvalidPath, PathNotFound
from port_gitops.gwt.payload import Payload, read_payload, with_nested_json
from port_gitops.gwt.trigger import PostVariable, RequestVariable, Trigger

log = logging.getLogger("port_gitops")


class Resolution(NamedTuple):
    triggered: bool
    variables: Mapping[str, str]  # in GWT's order (a TreeMap: String.compareTo)


def resolve(
    trigger: Trigger,
    body: Optional[bytes],
    headers: Sequence[Tuple[str, str]] = (),
    params: Sequence[Tuple[str, str]] = (),
    *,
    empty_when_missing: bool = False,
) -> Resolution:
    """The variables GWT contributes for this request, and whether its regexp filter lets it trigger.

    `body` is the raw request body; `headers` and `params` may repeat a name (in request order).
    `empty_when_missing` is GWT's newer rule (PR #392): an unresolved variable without a
    defaultValue becomes "" instead of being absent. Raises InvalidInputError for a body that cannot
    be read the way Jenkins reads it.
    """
    payload = with_nested_json(read_payload(body), descended_names(trigger))
    merged: Dict[str, str] = {}
    merged.update(_header_variables(trigger.header_variables, headers))
    merged.update(_request_variables(trigger.request_variables, params))
    for variable in trigger.generic_variables:
        merged.update(_post_variable(variable, payload, trigger.should_not_flatten, empty_when_missing))
    variables = {name: merged[name] for name in sorted(merged, key=java.utf16_key)}
    rendered = render_text(trigger.regexp_filter_text, variables)
    expression = trigger.regexp_filter_expression  # an empty expression matches everything
    triggered = expression is None or expression.found_in(rendered)
    return Resolution(triggered, types.MappingProxyType(variables))


# The top-level member an expression descends into: `$.name.` / `$.name[` / `$['name']...`.
_DESCENDS = re.compile(r"^\$\s*(?:\.\s*([^.\[\]\s'\"]+)|\[\s*'([^']+)'\s*\])\s*[.\[]")


def descended_names(trigger: Trigger) -> frozenset[str]:
    """Top-level members the mapping reads *inside* of: where JSON text is read as JSON (payload.py)."""
    found = (_DESCENDS.match(java.trim(v.expression)) for v in trigger.generic_variables)
    return frozenset(m.group(1) or m.group(2) for m in found if m)


def render_text(text: str, variables: Mapping[str, str]) -> str:
    """`$name` and `${name}` replaced literally, longest name first (so `$ab` wins over `$a`)."""
    for name in sorted(variables, key=lambda n: (-java.utf16_length(n), java.utf16_key(n))):
        text = text.replace("$" + name, variables[name]).replace("${" + name + "}", variables[name])
    return text


def _grouped(pairs: Sequence[Tuple[str, str]], normalise: bool) -> Dict[str, List[str]]:
    groups: Dict[str, List[str]] = {}
    for name, value in pairs:
        groups.setdefault(name.lower() if normalise else name, []).append(value)
    return groups


def _header_variables(
    configured: Sequence[RequestVariable], headers: Sequence[Tuple[str, str]]
) -> Dict[str, str]:
    """Jenkins lowercases header names; a configured key matches case-insensitively; every value is
    `name_<i>`, and the bare name holds the first one."""
    found: Dict[str, str] = {}
    for name, values in _grouped(headers, normalise=True).items():
        variable = next((v for v in configured if v.key.lower() == name), None)
        if variable is None:
            continue
        base = to_variable_name(name).lower()
        for index, value in enumerate(values):
            found[f"{base}_{index}"] = apply_filter(value, variable.regexp_filter)
        found[base] = found[f"{base}_0"]
    return found


def _request_variables(
    configured: Sequence[RequestVariable], params: Sequence[Tuple[str, str]]
) -> Dict[str, str]:
    """Matched case-sensitively; every value is `name_<i>`, the bare name only for a single value."""
    found: Dict[str, str] = {}
    for name, values in _grouped(params, normalise=False).items():
        variable = next((v for v in configured if v.key == name), None)
        if variable is None:
            continue
        base = to_variable_name(name)
        for index, value in enumerate(values):
            found[f"{base}_{index}"] = apply_filter(value, variable.regexp_filter)
        if len(values) == 1:
            found[base] = found[f"{base}_0"]
    return found


def _post_variable(
    variable: PostVariable, payload: Optional[Payload], should_not_flatten: bool, empty_when_missing: bool
) -> Dict[str, str]:
    resolved = _evaluate(variable, payload, should_not_flatten)
    unresolved = not resolved or resolved.get(variable.key) == ""
    if unresolved and (variable.default_value is not None or empty_when_missing):
        resolved[variable.key] = variable.default_value or ""  # the raw key: defaults are not renamed
    return resolved


def _evaluate(variable: PostVariable, payload: Optional[Payload], should_not_flatten: bool) -> Dict[str, str]:
    """PostContentParameterResolver.resolve: any failure means an empty result, as in GWT."""
    if payload is None or variable.path is None:
        return {}
    try:
        value = variable.path.read(payload.document)
        shape = not_flattened if should_not_flatten else flatten
        resolved = shape(variable.key, variable.regexp_filter, value)
    except (PathNotFound, InvalidPath, GsonError) as exc:
        log.debug("%s not resolved: %s", variable.key, exc)
        return {}
    if java.trim(variable.expression) == "$":
        resolved[variable.key] = payload.text  # the raw body, unfiltered
    return resolved
