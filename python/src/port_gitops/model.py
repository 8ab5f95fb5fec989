"""The blueprint rules (identifiers, enums, relations) and the validated values of one enrichment.

The allowed values come from one place: `resources/io/port/gitops/blueprints.json` (bundled as
`data/blueprints.json`), the same definitions `setup` sends to Port. Nothing here does I/O beyond
reading that file.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Tuple

from port_gitops import resources
from port_gitops.errors import InvalidInputError, UsageError

SERVICE = "service"
MAX_IDENTIFIER = 1000
# Port's entity identifier pattern is ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$ (max 1000 characters);
# Python's `re` has no \p{L}, so letters are checked with unicodedata instead.
_IDENTIFIER_SYMBOLS = frozenset("0123456789@_.+:\\/=-")
IDENTIFIER_RULE = (
    "expected a Port identifier: letters, digits and @ _ . + : \\ / = - only, "
    f"1 to {MAX_IDENTIFIER} characters, not '.' or '..'"
)

# Logical value -> (GWT variable of the bundled mapping, what is expected when it is missing).
VARIABLES: Mapping[str, Tuple[str, str]] = {
    "entity": ("ENTITY_IDENTIFIER", "the service identifier"),
    "domain": ("DOMAIN", "the domain identifier"),
    "type": ("TYPE", "the service type"),
    "lifecycle": ("LIFECYCLE", "the service lifecycle"),
    "run_id": ("RUN_ID", "the Port action run id"),
    "repo_url": ("REPO_URL", "the service repository URL"),
}
REQUIRED = ("entity", "domain", "type", "lifecycle")
# How errors name each value: by its payload field, or by its flag when values came from flags.
PAYLOAD_FIELDS: Mapping[str, str] = {
    "entity": "port_context.entity",
    "domain": "domain",
    "type": "type",
    "lifecycle": "lifecycle",
    "run_id": "port_context.runId",
    "repo_url": "port_context.repo_url",
}
FLAG_FIELDS: Mapping[str, str] = {name: "--" + name.replace("_", "-") for name in PAYLOAD_FIELDS}


def payload_fields(expressions: Mapping[str, str]) -> Mapping[str, str]:
    """How errors name each value when the mapping (variable -> JSONPath) is not the bundled one."""
    named = {}
    for name, (variable, _) in VARIABLES.items():
        expression = expressions.get(variable, "")
        named[name] = expression[2:] if expression.startswith("$.") else expression or PAYLOAD_FIELDS[name]
    return named


def identifier_problem(value: object) -> Optional[str]:
    """Why `value` is not a valid Port entity identifier, or None when it is."""
    if not isinstance(value, str):
        return f"{_shown(value)} is not a string; {IDENTIFIER_RULE}"
    valid = (
        0 < len(value) <= MAX_IDENTIFIER
        and value not in (".", "..")
        and all(ch in _IDENTIFIER_SYMBOLS or unicodedata.category(ch).startswith("L") for ch in value)
    )
    return None if valid else f"{_shown(value)} is not valid; {IDENTIFIER_RULE}"


def _shown(value: object) -> str:
    """A value as it appears in a one-line message: repr (escapes newlines), shortened."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Relation:
    target: str
    many: bool


@dataclass(frozen=True)
class Blueprint:
    identifier: str
    enums: Mapping[str, Tuple[Any, ...]]  # property -> allowed values (only properties with an enum)
    relations: Mapping[str, Relation]


@dataclass(frozen=True)
class Blueprints:
    source: str  # where the definitions came from, for messages
    by_identifier: Mapping[str, Blueprint]
    definitions: Tuple[Mapping[str, Any], ...]  # the Port blueprint JSON, as `setup` sends it

    def allowed(self, blueprint: str, prop: str) -> Tuple[Any, ...]:
        """The enum of `blueprint.prop`; a definition without one is a configuration error."""
        rules = self.by_identifier.get(blueprint)
        if rules is None or prop not in rules.enums:
            raise UsageError(f"{self.source}: blueprint {blueprint!r} has no enum property {prop!r}")
        return rules.enums[prop]

    def problems(self, entity: Mapping[str, Any]) -> list[str]:
        """What in one port.yml entity breaks the rules: identifier, enum values, relation targets.

        Blueprints not defined here are not checked beyond the identifier: other teams' entities
        may live in the same file.
        """
        found = []
        problem = identifier_problem(entity.get("identifier"))
        if problem:
            found.append(f"identifier: {problem}")
        rules = self.by_identifier.get(str(entity.get("blueprint")))
        if rules is None:
            return found
        label = f"{rules.identifier} {entity.get('identifier')}"
        properties = entity.get("properties")
        if isinstance(properties, Mapping):
            for prop, allowed in rules.enums.items():
                if prop in properties and properties[prop] not in allowed:
                    found.append(
                        f"{label}: properties.{prop}: {_shown(properties[prop])} is not allowed; "
                        f"expected one of {', '.join(map(str, allowed))}"
                    )
        relations = entity.get("relations")
        if isinstance(relations, Mapping):
            for name, relation in rules.relations.items():
                given = relations.get(name)
                targets: list[Any] = given if relation.many and isinstance(given, list) else [given]
                for target in targets:
                    problem = None if target is None else identifier_problem(target)
                    if problem:
                        found.append(f"{label}: relations.{name}: {problem}")
        return found

    def check(self, entities: Sequence[Mapping[str, Any]]) -> None:
        """InvalidInputError on the first problem of the first entity that has one."""
        for entity in entities:
            for problem in self.problems(entity):
                raise InvalidInputError(problem)


def load_blueprints(path: Optional[str] = None) -> Blueprints:
    """The bundled definitions, or those in `path` (same format); a bad file is a UsageError."""
    source = path or f"bundled {resources.BLUEPRINTS}"
    try:
        if path:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = resources.read_text(resources.BLUEPRINTS)
        document = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--blueprints/PORT_GITOPS_BLUEPRINTS: cannot read {path!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(document, dict):
        raise UsageError(f'{source}: expected a JSON object with a "blueprints" list')
    return blueprints_from(_get(document, "blueprints", list, source, ""), source)


def blueprints_from(definitions: Sequence[Any], source: str) -> Blueprints:
    """The rules of Port blueprint JSON: a definitions file's list, or what Port itself returns."""
    by_identifier = {}
    for number, definition in enumerate(definitions):
        where = f"blueprints[{number}]"
        if not isinstance(definition, dict):
            raise UsageError(f"{source}: {where}: expected a blueprint object")
        blueprint = _blueprint(definition, source, where)
        by_identifier[blueprint.identifier] = blueprint
    return Blueprints(source, by_identifier, tuple(definitions))


def _blueprint(definition: Mapping[str, Any], source: str, where: str) -> Blueprint:
    identifier = _get(definition, "identifier", str, source, where)
    properties = _get(_get(definition, "schema", dict, source, where), "properties", dict, source, where)
    enums = {}
    for name, prop in properties.items():
        at = f"{where}.schema.properties.{name}"
        if not isinstance(prop, dict):
            raise UsageError(f"{source}: {at}: expected a property object")
        if "enum" in prop:
            enum = _get(prop, "enum", list, source, at)
            unknown = set(_get(prop, "enumColors", dict, source, at, default={})) - set(enum)
            if not enum or unknown:
                raise UsageError(
                    f"{source}: {at}: enum must be a non-empty list holding every enumColors key"
                )
            enums[name] = tuple(enum)
    relations = {}
    for name, relation in _get(definition, "relations", dict, source, where, default={}).items():
        at = f"{where}.relations.{name}"
        if not isinstance(relation, dict):
            raise UsageError(f"{source}: {at}: expected a relation object")
        relations[name] = Relation(
            target=_get(relation, "target", str, source, at),
            many=_get(relation, "many", bool, source, at, default=False),
        )
    return Blueprint(identifier, enums, relations)


def _get(
    obj: Mapping[str, Any], key: str, kind: type, source: str, where: str, *, default: Any = None
) -> Any:
    value = obj.get(key, default)
    if not isinstance(value, kind):
        at = f"{where}.{key}" if where else key
        raise UsageError(f"{source}: {at}: expected a JSON {kind.__name__}")
    return value


@dataclass(frozen=True)
class EnrichValues:
    """The values of one enrichment, from the payload's mapping variables or from flags."""

    entity: str
    domain: str
    type: str
    lifecycle: str
    run_id: Optional[str] = None
    repo_url: Optional[str] = None
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)  # for {{ var.NAME }}
    # How errors name each value (PAYLOAD_FIELDS or FLAG_FIELDS); not part of the value itself.
    fields: Mapping[str, str] = field(default_factory=lambda: PAYLOAD_FIELDS, compare=False, repr=False)

    @classmethod
    def from_variables(
        cls, variables: Mapping[str, str], *, fields: Mapping[str, str] = PAYLOAD_FIELDS
    ) -> EnrichValues:
        """Pick the values out of the mapping variables; a required one missing or empty is invalid input."""
        picked: dict[str, Optional[str]] = {}
        for name, (variable, expected) in VARIABLES.items():
            picked[name] = variables.get(variable) or None
            if picked[name] is None and name in REQUIRED:
                raise InvalidInputError(f"missing; expected {expected}", field=fields[name])
        return cls(
            entity=str(picked["entity"]),
            domain=str(picked["domain"]),
            type=str(picked["type"]),
            lifecycle=str(picked["lifecycle"]),
            run_id=picked["run_id"],
            repo_url=picked["repo_url"],
            variables=dict(variables),
            fields=fields,
        )

    @classmethod
    def from_flags(cls, **values: Optional[str]) -> EnrichValues:
        """Values given as flags (`entity=…, domain=…`), which also become the variables of the mapping."""
        variables = {VARIABLES[name][0]: value for name, value in values.items() if value is not None}
        return cls.from_variables(variables, fields=FLAG_FIELDS)

    def validate(self, blueprints: Blueprints) -> None:
        """InvalidInputError(field=…) on the first value the blueprints do not allow."""
        for name in ("entity", "domain"):
            problem = identifier_problem(getattr(self, name))
            if problem:
                raise InvalidInputError(problem, field=self.fields[name])
        for name in ("type", "lifecycle"):
            allowed = blueprints.allowed(SERVICE, name)
            value = getattr(self, name)
            if value not in allowed:
                raise InvalidInputError(
                    f"{_shown(value)} is not allowed; expected one of {', '.join(map(str, allowed))}",
                    field=self.fields[name],
                )
