"""The variable mapping: GenericTrigger's own parameters, read from JSON or YAML and checked once.

Every expression and regular expression is compiled here, so a mapping Jenkins could never evaluate,
or one whose answer we cannot reproduce exactly, fails at load time with the field that is wrong.
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, NamedTuple, Optional, Tuple, TypeVar

import yaml

from port_gitops import resources, yamlload
from port_gitops.errors import UsageError
from port_gitops.gwt.javaregex import JavaRegex, UnsupportedRegex, compile_java
from port_gitops.gwt.jayway import InvalidPath, Query, Unsupported, compile_path

_T = TypeVar("_T")


class PostVariable(NamedTuple):
    """One of `genericVariables` (a GenericVariable): a JSONPath into the request body."""

    key: str
    expression: str
    path: Optional[Query]  # None for an empty expression, which GWT skips
    regexp_filter: Optional[JavaRegex] = None
    default_value: Optional[str] = None


class RequestVariable(NamedTuple):
    """One of `genericHeaderVariables` or `genericRequestVariables`."""

    key: str
    regexp_filter: Optional[JavaRegex] = None


class Trigger(NamedTuple):
    generic_variables: Tuple[PostVariable, ...] = ()
    header_variables: Tuple[RequestVariable, ...] = ()
    request_variables: Tuple[RequestVariable, ...] = ()
    should_not_flatten: bool = False
    regexp_filter_text: str = ""
    regexp_filter_expression: Optional[JavaRegex] = None  # None: always triggers


def load_trigger(path: Optional[str], bundled: str = resources.TRIGGER) -> Trigger:
    """The mapping in `path` (JSON or YAML), or a bundled one (default: the default action's)."""
    if path is None:
        origin, text = f"bundled {bundled}", resources.read_text(bundled)
    else:
        origin = path
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--trigger {path}: cannot read it: {exc}") from exc
    try:
        return trigger_from_dict(_parse(text))
    except UsageError as exc:
        raise UsageError(f"{exc.message} (in {origin})") from exc


def trigger_from_dict(data: Any) -> Trigger:
    fields = _Fields(data, "trigger", _TOP_LEVEL)
    return Trigger(
        generic_variables=tuple(fields.items("genericVariables", _post_variable, _POST_FIELDS)),
        header_variables=tuple(fields.items("genericHeaderVariables", _request_variable, _REQUEST_FIELDS)),
        request_variables=tuple(fields.items("genericRequestVariables", _request_variable, _REQUEST_FIELDS)),
        should_not_flatten=fields.flag("shouldNotFlatten") or fields.flag("shouldNotFlattern"),
        regexp_filter_text=fields.text("regexpFilterText") or "",
        regexp_filter_expression=fields.regex("regexpFilterExpression"),
    )


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yamlload.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"trigger: neither JSON nor YAML: {' '.join(str(exc).split())}") from exc


def _post_variable(fields: _Fields) -> PostVariable:
    expression_type = fields.text("expressionType")
    if expression_type == "XPath":
        raise fields.error("expressionType", "XPath is not supported; use JSONPath")
    if expression_type not in (None, "JSONPath"):
        raise fields.error("expressionType", f"must be JSONPath, not {expression_type!r}")
    expression = fields.text("value", required=True) or ""
    return PostVariable(
        key=fields.name("key"),
        expression=expression,
        path=_compile(fields, expression) if expression else None,
        regexp_filter=fields.regex("regexpFilter"),
        default_value=fields.text("defaultValue"),
    )


def _compile(fields: _Fields, expression: str) -> Query:
    try:
        return compile_path(expression)
    except InvalidPath as exc:
        raise fields.error("value", f"{expression!r} is not a JSONPath Jenkins accepts ({exc})") from exc
    except Unsupported as exc:
        raise fields.error(
            "value", f"{expression!r} cannot be evaluated exactly as Jenkins does: {exc}"
        ) from exc


def _request_variable(fields: _Fields) -> RequestVariable:
    return RequestVariable(key=fields.name("key"), regexp_filter=fields.regex("regexpFilter"))


_TOP_LEVEL = (
    "genericVariables",
    "genericHeaderVariables",
    "genericRequestVariables",
    "shouldNotFlatten",
    "shouldNotFlattern",  # GWT's deprecated spelling, still what its UI stores
    "regexpFilterText",
    "regexpFilterExpression",
)
_POST_FIELDS = ("key", "value", "expressionType", "regexpFilter", "defaultValue")
_REQUEST_FIELDS = ("key", "regexpFilter")


class _Fields:
    """A mapping being validated; errors name the field the way the trigger file spells it."""

    def __init__(self, data: Any, where: str, allowed: Tuple[str, ...]) -> None:
        self.where = where
        if not isinstance(data, dict):
            raise UsageError(f"{where}: must be a mapping, not {_kind(data)}")
        unknown = sorted(set(map(str, data)) - set(allowed))
        if unknown:
            raise UsageError(f"{where}.{unknown[0]}: unknown parameter (known: {', '.join(allowed)})")
        self.data = data

    def error(self, key: str, problem: str) -> UsageError:
        return UsageError(f"{self.field(key)}: {problem}")

    def field(self, key: str) -> str:
        return key if self.where == "trigger" else f"{self.where}.{key}"

    def text(self, key: str, *, required: bool = False) -> Optional[str]:
        value = self.data.get(key)
        if value is None and required:
            raise self.error(key, "is required")
        if value is not None and not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)} (quote it in YAML)")
        return value

    def name(self, key: str) -> str:
        value = self.text(key, required=True)
        if not value:
            raise self.error(key, "must not be empty")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_kind(value)}")
        return value

    def regex(self, key: str) -> Optional[JavaRegex]:
        source = self.text(key)
        if not source:  # GWT treats an empty filter like no filter
            return None
        try:
            return compile_java(source)
        except UnsupportedRegex as exc:
            raise self.error(key, f"{source!r}: {exc}") from exc

    def items(self, key: str, build: Callable[[_Fields], _T], allowed: Tuple[str, ...]) -> List[_T]:
        entries = self.data.get(key) or []
        if not isinstance(entries, list):
            raise self.error(key, f"must be a list, not {_kind(entries)}")
        return [build(_Fields(entry, f"{self.field(key)}[{i}]", allowed)) for i, entry in enumerate(entries)]


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", type(None): "nothing"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )
