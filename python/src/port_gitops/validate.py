"""Check port.yml text against blueprint definitions: every problem with its file, line and entity.

What Port checks when it ingests an entity: identifier rules, required fields, property types,
formats and enum values, relation values, and that the blueprint exists. The bundled definitions
describe only what this project adds to a tenant (its `service` blueprint has more properties), so
properties and relations they do not name are reported only when the definitions are `complete`
(fetched from Port). `enrich` runs the same checks on the merged file before committing.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

import yaml

from port_gitops.errors import InvalidInputError, LimitExceededError
from port_gitops.model import IDENTIFIER_RULE, Blueprints, identifier_problem
from port_gitops.portyml.document import AliasRef, line_of, parse

ENTITY_FIELDS = ("identifier", "title", "blueprint", "properties", "relations", "team", "icon")
_SINGULAR = {"properties": "property", "relations": "relation"}
_PARSE_ERROR = re.compile(r" line (\d+): (.*)")
_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    entity: Optional[str]  # the entity's identifier; None when it has none, or the file does not parse
    message: str
    blueprint: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.entity}: {self.message}" if self.entity else f"{where}: {self.message}"


def validate_text(text: str, blueprints: Blueprints, *, source: str, complete: bool = False) -> list[Problem]:
    """Every problem in one port.yml (an entity or a list of entities); empty when it is clean."""
    try:
        document = parse(text, source)
    except LimitExceededError:
        raise  # not a problem in the file's content: it cannot be checked at all (exit 3)
    except InvalidInputError as exc:
        return [_unparsable(exc.message, source)]
    checker = _Checker(blueprints, source, complete)
    entities = document.data if isinstance(document.data, list) else [document.data]
    for node, entity in zip(document.items, entities):
        checker.entity(node, entity)
    return sorted(checker.problems, key=lambda problem: problem.line)


def _unparsable(message: str, source: str) -> Problem:
    """The parser names the place as `<source> line N: why`."""
    rest = message[len(source) :] if message.startswith(source) else message
    match = _PARSE_ERROR.fullmatch(rest)
    if match:
        return Problem(source, int(match.group(1)), None, match.group(2))
    return Problem(source, 1, None, rest.lstrip(": "))


Fields = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node), the last one wins


@dataclass
class _Entity:
    """The entity being checked: where its problems are filed."""

    checker: _Checker
    identifier: Optional[str]
    blueprint: Optional[str]
    line: int
    fields: Fields = field(default_factory=dict)

    def add(self, at: int | yaml.Node, message: str) -> None:
        line = at if isinstance(at, int) else line_of(at)
        self.checker.problems.append(
            Problem(self.checker.source, line, self.identifier, message, self.blueprint)
        )

    def value_at(self, key: str) -> int | yaml.Node:
        """Where the value of `key` is written (a value from a `<<:` merge key: the entity's line)."""
        return self.fields[key][1] if key in self.fields else self.line

    def key_at(self, key: str) -> int | yaml.Node:
        return self.fields[key][0] if key in self.fields else self.line


@dataclass
class _Checker:
    blueprints: Blueprints
    source: str
    complete: bool
    problems: list[Problem] = field(default_factory=list)
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # (blueprint, identifier) -> line

    def entity(self, item: yaml.Node, data: Mapping[str, Any]) -> None:
        identifier, blueprint = data.get("identifier"), data.get("blueprint")
        entity = _Entity(
            self,
            _label(identifier),
            blueprint if isinstance(blueprint, str) else None,
            line_of(item),
        )
        entity.fields = self.fields(entity, _target(item), "")
        for key, (key_node, _) in entity.fields.items():
            if key not in ENTITY_FIELDS:
                entity.add(key_node, f"unknown field {key!r}; expected {', '.join(ENTITY_FIELDS)}")
        self.identifier(entity, data)
        self.meta(entity, data)
        if "blueprint" not in data:
            entity.add(entity.line, "blueprint: missing; expected the identifier of the entity's blueprint")
            return
        definition = self.definition(blueprint)
        if definition is None:
            entity.add(
                entity.value_at("blueprint"),
                f"blueprint: {_shown(blueprint)} is not defined in {self.blueprints.source}",
            )
            return
        schema = definition.get("schema") or {}
        self.members(
            entity,
            "properties",
            data,
            schema.get("properties") or {},
            required=schema.get("required") or (),
            check=_property_problem,
        )
        relations = definition.get("relations") or {}
        self.members(
            entity,
            "relations",
            data,
            relations,
            required=[name for name, spec in relations.items() if spec.get("required")],
            check=_relation_problem,
        )

    def identifier(self, entity: _Entity, data: Mapping[str, Any]) -> None:
        if "identifier" not in data:
            entity.add(entity.line, f"identifier: missing; {IDENTIFIER_RULE}")
            return
        identifier = data["identifier"]
        problem = identifier_problem(identifier)
        if problem:
            entity.add(entity.value_at("identifier"), f"identifier: {problem}")
        elif entity.blueprint is not None:
            first = self.seen.setdefault((entity.blueprint, identifier), entity.line)
            if first != entity.line:
                entity.add(
                    entity.value_at("identifier"),
                    f"identifier: {entity.blueprint} {identifier!r} is already defined on line {first}; "
                    "Port keeps only one of them",
                )

    def meta(self, entity: _Entity, data: Mapping[str, Any]) -> None:
        for key in ("title", "icon"):
            if data.get(key) is not None and not isinstance(data[key], str):
                entity.add(entity.value_at(key), f"{key}: expected text, not {_shown(data[key])}")
        team = data.get("team")
        if team is not None and not (
            isinstance(team, str) or (isinstance(team, list) and all(isinstance(t, str) for t in team))
        ):
            entity.add(entity.value_at("team"), "team: expected a team name or a list of team names")

    def definition(self, blueprint: Any) -> Optional[Mapping[str, Any]]:
        if not isinstance(blueprint, str):
            return None
        return next((d for d in self.blueprints.definitions if d.get("identifier") == blueprint), None)

    def members(
        self,
        entity: _Entity,
        kind: str,
        data: Mapping[str, Any],
        specs: Mapping[str, Mapping[str, Any]],
        *,
        required: Sequence[str],
        check: Callable[[Any, Mapping[str, Any]], Optional[str]],
    ) -> None:
        """`properties` or `relations`: known names, valid values, required ones present."""
        values = data.get(kind)
        if values is not None and not isinstance(values, dict):
            entity.add(entity.value_at(kind), f"{kind}: expected a mapping of {kind} to values")
            return
        values = values or {}
        value_node = entity.value_at(kind)
        nodes = (
            self.fields(entity, _target(value_node), f"{kind}.") if isinstance(value_node, yaml.Node) else {}
        )
        for name, value in values.items():
            at = nodes[name][1] if name in nodes else entity.key_at(kind)
            spec = specs.get(name)
            if spec is None:
                if self.complete:
                    entity.add(at, f"{kind}.{name}: {entity.blueprint} has no such {_SINGULAR[kind]}")
                continue
            problem = check(value, spec)
            if problem:
                entity.add(at, f"{kind}.{name}: {problem}")
        for name in required:
            if values.get(name) is None:
                entity.add(
                    entity.key_at(kind), f"{kind}.{name}: missing; blueprint {entity.blueprint} requires it"
                )

    def fields(self, entity: _Entity, node: yaml.Node, prefix: str) -> Fields:
        """The keys of a mapping node; a repeated key is a problem (YAML loaders keep only the last)."""
        found: Fields = {}
        if not isinstance(node, yaml.MappingNode):
            return found
        for key, value in node.value:
            if key.tag == "tag:yaml.org,2002:merge" or not isinstance(key, yaml.ScalarNode):
                continue
            if key.value in found:
                entity.add(
                    key,
                    f"{prefix}{key.value}: repeated (first on line {line_of(found[key.value][0])}); "
                    "only the last one counts",
                )
            found[key.value] = (key, value)
        return found


def _target(node: yaml.Node) -> yaml.Node:
    return node.value if isinstance(node, AliasRef) else node


def _label(identifier: Any) -> Optional[str]:
    if isinstance(identifier, bool) or not isinstance(identifier, (str, int, float)):
        return None
    return str(identifier)


def _property_problem(value: Any, spec: Mapping[str, Any]) -> Optional[str]:
    if value is None:  # Port treats null as "not set"
        return None
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "array":
        if not isinstance(value, list):
            return f"expected a list, not {_shown(value)}"
        items = spec.get("items") or {}
        for number, item in enumerate(value, 1):
            problem = _property_problem(item, items)
            if problem:
                return f"item {number}: {problem}"
        return None
    return (
        _type_problem(value, kind, fmt)
        or _enum_problem(value, spec.get("enum"))
        or _format_problem(value, fmt)
    )


def _type_problem(value: Any, kind: Any, fmt: Any) -> Optional[str]:
    expected = _TYPES.get(kind) if isinstance(kind, str) else None
    if expected is None:
        return None
    if kind == "string" and fmt in ("date-time", "timer") and isinstance(value, datetime.date):
        return None  # an unquoted YAML timestamp: Port receives it as ISO 8601 text
    if isinstance(value, expected) and not (kind == "number" and isinstance(value, bool)):
        return None
    scalar = isinstance(value, (bool, int, float, datetime.date))
    hint = "; quote it to keep it text" if kind == "string" and scalar else ""
    return f"expected {'an' if kind in ('object', 'array') else 'a'} {kind}, not {_shown(value)}{hint}"


def _enum_problem(value: Any, enum: Any) -> Optional[str]:
    if not isinstance(enum, list) or value in enum:
        return None
    return f"{_shown(value)} is not allowed; expected one of {', '.join(map(str, enum))}"


def _format_problem(value: Any, fmt: Any) -> Optional[str]:
    check = _FORMATS.get(fmt) if isinstance(fmt, str) else None
    if check is None or not isinstance(value, str) or check[0](value):
        return None
    return f"{_shown(value)} is not a valid {fmt}; expected {check[1]}"


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


def _relation_problem(value: Any, spec: Mapping[str, Any]) -> Optional[str]:
    if value is None or (isinstance(value, dict) and "rules" in value):  # unset, or a search query
        return None
    target = spec.get("target", "target")
    if spec.get("many"):
        if not isinstance(value, list):
            return f"relates to many {target} entities: expected a list of identifiers, not {_shown(value)}"
        for number, item in enumerate(value, 1):
            problem = identifier_problem(item)
            if problem:
                return f"item {number}: {problem}"
        return None
    if isinstance(value, list):
        return f"relates to one {target} entity: expected one identifier, not a list"
    return identifier_problem(value)


def _shown(value: Any) -> str:
    """A YAML value as the user wrote it, with what YAML made of it."""
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
