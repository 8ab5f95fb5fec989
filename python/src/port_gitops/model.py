"""The blueprint rules (identifiers, enums, relations) and the values of one run.

Blueprint definitions are Port's own JSON: the bundled ones (`resources/io/port/gitops/blueprints.json`,
the same definitions `setup` sends), a `--blueprints` file, or the tenant's (`--blueprints-from-port`).
Nothing here does I/O beyond reading a definitions file.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Tuple

from port_gitops import resources
from port_gitops.errors import InvalidInputError, UsageError

MAX_IDENTIFIER = 1000
# Port's entity identifier pattern is ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$ (max 1000 characters);
# Python's `re` has no \p{L}, so letters are checked with unicodedata instead.
_IDENTIFIER_SYMBOLS = frozenset("0123456789@_.+:\\/=-")
IDENTIFIER_RULE = (
    "expected a Port identifier: letters, digits and @ _ . + : \\ / = - only, "
    f"1 to {MAX_IDENTIFIER} characters, not '.' or '..'"
)

# The structural values: which entity the template writes, which repository, which Port run. Every
# other value is a mapping variable that reaches port.yml only through the template.
ENTITY = "ENTITY_IDENTIFIER"
REPO_URL = "REPO_URL"
RUN_ID = "RUN_ID"
ACTION = "ACTION"  # the action the payload names (port_context.action in the bundled bodies)
STRUCTURAL = (ENTITY, REPO_URL, RUN_ID)
# Port's action run ids are `r_` and a short alphanumeric id (e.g. r_QnKa9aDnDdG2mVJq). Checked strictly,
# before anything is written or requested: the id becomes a URL path segment and is shown in the PR.
RUN_ID_PATTERN = re.compile(r"r_[A-Za-z0-9_-]{1,64}")
RUN_ID_RULE = (
    "expected a Port run id: r_ followed by 1 to 64 letters, digits, _ or - (e.g. r_QnKa9aDnDdG2mVJq)"
)


def field_names(expressions: Mapping[str, str]) -> dict[str, str]:
    """How errors name each variable: the payload field its JSONPath reads (`$.a.b` -> `a.b`)."""
    return {
        variable: expression[2:] if expression.startswith("$.") else expression
        for variable, expression in expressions.items()
    }


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


def run_id_problem(value: object) -> Optional[str]:
    """Why `value` is not a Port action run id, or None when it is."""
    if isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value):
        return None
    return f"{_shown(value)} is not valid; {RUN_ID_RULE}"


def _shown(value: object) -> str:
    """A value as it appears in a one-line message: repr (escapes newlines), shortened."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Relation(NamedTuple):
    target: str
    many: bool


class Blueprint(NamedTuple):
    identifier: str
    enums: Mapping[str, Tuple[Any, ...]]  # property -> allowed values (only properties with an enum)
    relations: Mapping[str, Relation]


class Blueprints(NamedTuple):
    source: str  # where the definitions came from, for messages
    by_identifier: Mapping[str, Blueprint]
    definitions: Tuple[Mapping[str, Any], ...]  # the Port blueprint JSON, as `setup` sends it

    def definition(self, blueprint: str) -> Optional[Mapping[str, Any]]:
        """The Port JSON of `blueprint`, or None when these definitions do not describe it."""
        return next((d for d in self.definitions if d.get("identifier") == blueprint), None)


def load_blueprints(path: Optional[str] = None, bundled: str = resources.BLUEPRINTS) -> Blueprints:
    """The bundled definitions (`bundled`), or those in `path` (same format); a bad file is a UsageError."""
    source = path or f"bundled {bundled}"
    try:
        if path:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = resources.read_text(bundled)
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
    """The values of one run: the mapping variables (from a payload, --set or flags) and the structural ones.

    A variable that is absent or empty is "not given"; one in `nulls` was a JSON null in the payload.
    """

    entity: str
    run_id: Optional[str] = None
    repo_url: Optional[str] = None
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    nulls: frozenset[str] = frozenset()
    # How errors name each variable (its payload field or its flag); not part of the values themselves.
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_variables(
        cls,
        variables: Mapping[str, str],
        *,
        fields: Mapping[str, str],
        required: Mapping[str, str] = MappingProxyType({}),
        nulls: Sequence[str] = (),
        entity_kind: str = "entity",
    ) -> EnrichValues:
        """The structural values; a `required` variable (-> what it is) missing or empty is invalid input."""
        wanted = {ENTITY: f"the {entity_kind} identifier", **required}
        for variable, expected in wanted.items():
            if not variables.get(variable):
                raise InvalidInputError(f"missing; expected {expected}", field=field_of(fields, variable))
        entity = variables[ENTITY]
        problem = identifier_problem(entity)
        if problem:
            raise InvalidInputError(problem, field=field_of(fields, ENTITY))
        run_id = variables.get(RUN_ID) or None
        problem = None if run_id is None else run_id_problem(run_id)
        if problem:
            raise InvalidInputError(problem, field=field_of(fields, RUN_ID))
        return cls(
            entity=entity,
            run_id=run_id,
            repo_url=variables.get(REPO_URL) or None,
            variables=dict(variables),
            nulls=frozenset(name for name in nulls if not variables.get(name)),
            fields=dict(fields),
        )

    def given(self, variable: str) -> bool:
        return bool(self.variables.get(variable)) or variable in self.nulls

    def field(self, variable: str) -> str:
        return field_of(self.fields, variable)


def field_of(fields: Mapping[str, str], variable: str) -> str:
    return fields.get(variable) or variable
