"""Check port.yml text against blueprint definitions: every problem with its file, line and entity.

What Port checks when it ingests an entity: identifier rules, required fields, property types,
formats and enum values, relation values, and that the blueprint exists. The bundled definitions
describe only what this project adds to a tenant (its `service` blueprint has more properties), so
properties and relations they do not name are reported only when the definitions are `complete`
(fetched from Port). `enrich` runs the same checks on the merged file before committing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

import yaml

from port_gitops.errors import InvalidInputError, LimitExceededError
from port_gitops.model import IDENTIFIER_RULE, Blueprints, identifier_problem
from port_gitops.portyml.document import AliasRef, line_of, parse
from port_gitops.properties import property_problem, relation_problem
from port_gitops.properties import shown as _shown

ENTITY_FIELDS = ("identifier", "title", "blueprint", "properties", "relations", "team", "icon")
_SINGULAR = {"properties": "property", "relations": "relation"}
_PARSE_ERROR = re.compile(r" line (\d+): (.*)")


class Problem(NamedTuple):
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


@dataclass(eq=False, repr=False)  # internal: never compared or shown
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


@dataclass(eq=False, repr=False)  # internal: never compared or shown
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
            check=property_problem,
        )
        relations = definition.get("relations") or {}
        self.members(
            entity,
            "relations",
            data,
            relations,
            required=[name for name, spec in relations.items() if spec.get("required")],
            check=relation_problem,
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
