"""From one JSONPath result to GWT's variables (JsonFlattener and FlattenerUtils).

Objects and lists are flattened into `KEY_<property>` and `KEY_<index>` variables, recursively; a null
list element produces nothing but still uses up its index; `KEY` itself holds the Gson JSON of the
whole result. Only whitespace and `-` are replaced in names: `.`, `/`, `:` and the like stay.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from port_gitops.gwt.gson import to_json, value_text
from port_gitops.gwt.javaregex import JavaRegex

_JAVA_WHITESPACE = re.compile(r"[ \t\n\x0b\f\r]")  # Java's \s: ASCII only


def to_variable_name(name: str) -> str:
    return _JAVA_WHITESPACE.sub("_", name).replace("-", "_")


def apply_filter(text: str, regexp_filter: Optional[JavaRegex]) -> str:
    """`regexpFilter`: every match is removed (String.replaceAll(filter, ""))."""
    return text if regexp_filter is None else regexp_filter.remove_all(text)


def flatten(key: str, regexp_filter: Optional[JavaRegex], value: Any) -> Dict[str, str]:
    variables: Dict[str, str] = {}
    _flatten_into(variables, key, regexp_filter, value)
    if value is not None and not isinstance(value, str):
        variables[to_variable_name(key)] = apply_filter(to_json(value), regexp_filter)
    return variables


def _flatten_into(
    variables: Dict[str, str], key: str, regexp_filter: Optional[JavaRegex], value: Any
) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _flatten_into(variables, f"{key}_{index}", regexp_filter, item)
    elif isinstance(value, dict):
        for name, item in value.items():
            _flatten_into(variables, f"{key}_{name}", regexp_filter, item)
    elif value is not None:
        variables[to_variable_name(key)] = apply_filter(value_text(value), regexp_filter)


def not_flattened(key: str, regexp_filter: Optional[JavaRegex], value: Any) -> Dict[str, str]:
    """`shouldNotFlatten`: only `KEY` (not renamed), holding the string or the Gson JSON; a null
    result makes GWT fail (a NullPointerException it catches), so nothing is resolved."""
    if value is None:
        return {}
    return {key: apply_filter(value_text(value), regexp_filter)}
