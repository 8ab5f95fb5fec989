"""Render the port.yml template: parse it as YAML first, then fill placeholders inside scalar values.

A value is substituted once, into an already parsed scalar: it can never become YAML syntax, and a
value that itself looks like `{{ other }}` is never expanded again. A placeholder that is a whole
`properties.X` or `relations.X` value is typed by the blueprint (`"87"` -> 87 for a number) and checked
against it; one inside a longer string is text. A variable that is absent or empty leaves its key out
(the existing value is kept); a JSON null in the payload writes null (Port clears the value).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import yaml

from port_gitops import yamlload
from port_gitops.compat import GUIDE_PLACEHOLDERS
from port_gitops.errors import InvalidInputError, UsageError
from port_gitops.model import Blueprints, EnrichValues, identifier_problem
from port_gitops.properties import (
    ValueProblem,
    convert_property,
    convert_relation,
    property_problem,
    relation_problem,
)

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_VARIABLE = re.compile(r"var\.([A-Za-z_][A-Za-z0-9_]*)")
_OMIT = object()  # a whole-scalar placeholder without a value: the key is left out
_MEMBERS = {"properties": "property", "relations": "relation"}


def render_entities(
    template_text: str,
    values: EnrichValues,
    blueprints: Optional[Blueprints] = None,
    *,
    source: str = "template",
    strict: bool = False,
) -> list[dict[str, Any]]:
    """The template's entities (one object or a list) with every placeholder replaced by its value.

    With `blueprints`, values are typed and checked by the entity's blueprint; `strict` also refuses a
    property or relation the blueprint does not define (the definitions are the complete ones).
    """
    try:
        parsed = yamlload.safe_load(template_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UsageError(
            f"{source}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}); "
            'write placeholders inside quotes, e.g. tier: "{{ var.TIER }}"'
        ) from None
    if parsed is None:
        raise UsageError(f"{source}: holds no entity")
    filler = _Filler(values, source)
    rendered = []
    for number, entity in enumerate(parsed if isinstance(parsed, list) else [parsed], 1):
        if not isinstance(entity, dict):
            raise UsageError(f"{source}: entity {number}: expected a mapping")
        filled = _Entity(filler, blueprints, strict, f"{source}: entity {number}").render(entity)
        rendered.append(filled)
    return rendered


def placeholder_variable(name: str, source: str) -> str:
    """The mapping variable a placeholder (the text between the braces) stands for."""
    if name in GUIDE_PLACEHOLDERS:
        return GUIDE_PLACEHOLDERS[name]
    variable = _VARIABLE.fullmatch(name)
    if variable is None:
        raise UsageError(
            f"{source}: unknown placeholder {{{{ {name} }}}}; expected var.NAME (a variable of the mapping)"
            " or one of " + ", ".join(GUIDE_PLACEHOLDERS)
        )
    return variable.group(1)


class _Filler:
    def __init__(self, values: EnrichValues, source: str) -> None:
        self.values = values
        self.source = source

    def text(self, node: Any) -> Any:
        """Placeholders inside any value become text (each value once, never expanded again)."""
        if isinstance(node, dict):
            for key in node:
                if isinstance(key, str) and _PLACEHOLDER.search(key):
                    raise UsageError(f"{self.source}: key {key!r}: placeholders belong in values, not keys")
            return {key: self.text(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.text(item) for item in node]
        if isinstance(node, str):
            return _PLACEHOLDER.sub(lambda match: self._interpolated(match.group(1).strip()), node)
        return node

    def whole(self, node: Any) -> Optional[str]:
        """The variable when `node` is exactly one placeholder, else None."""
        if not isinstance(node, str):
            return None
        match = _PLACEHOLDER.fullmatch(node.strip())
        return placeholder_variable(match.group(1).strip(), self.source) if match else None

    def _interpolated(self, name: str) -> str:
        variable = placeholder_variable(name, self.source)
        value = self.values.variables.get(variable)
        if not value:
            raise InvalidInputError(
                f"placeholder {{{{ {name} }}}} has no value: the mapping variable {variable} is "
                "missing or empty in this input"
            )
        return str(value)


class _Entity:
    def __init__(self, filler: _Filler, blueprints: Optional[Blueprints], strict: bool, where: str) -> None:
        self.filler = filler
        self.blueprints = blueprints
        self.strict = strict
        self.where = where

    def render(self, entity: Mapping[Any, Any]) -> dict[str, Any]:
        filled: dict[str, Any] = {}
        for key, value in entity.items():
            if isinstance(key, str) and _PLACEHOLDER.search(key):
                raise UsageError(
                    f"{self.filler.source}: key {key!r}: placeholders belong in values, not keys"
                )
            if key in _MEMBERS and isinstance(value, dict):
                rendered: Any = value  # typed below, once the blueprint is known
            elif key in ("identifier", "blueprint"):
                rendered = self.filler.text(value)
            else:
                rendered = self._value(value)
            if rendered is not _OMIT:
                filled[key] = rendered
        for key in ("identifier", "blueprint"):
            if not isinstance(filled.get(key), str) or not filled[key]:
                raise UsageError(f"{self.where}: expected a string {key}")
        problem = identifier_problem(filled["identifier"])
        if problem:
            raise InvalidInputError(f"{self.where}: identifier {problem}")
        definition = self.blueprints.definition(filled["blueprint"]) if self.blueprints else None
        for section, singular in _MEMBERS.items():
            if isinstance(entity.get(section), dict):
                specs = _specs(definition, section)
                filled[section] = self._members(
                    section, singular, entity[section], specs, filled["blueprint"]
                )
        return filled

    def _value(self, node: Any) -> Any:
        variable = self.filler.whole(node)
        if variable is None:
            return self.filler.text(node)
        values = self.filler.values
        if variable in values.nulls:
            return None
        return values.variables.get(variable) or _OMIT

    def _members(
        self,
        section: str,
        singular: str,
        members: Mapping[Any, Any],
        specs: Optional[Mapping[str, Any]],
        blueprint: str,
    ) -> dict[str, Any]:
        """`properties` or `relations`: each value typed and checked by the blueprint."""
        out: dict[str, Any] = {}
        for name, node in members.items():
            if isinstance(name, str) and _PLACEHOLDER.search(name):
                raise UsageError(
                    f"{self.filler.source}: key {name!r}: placeholders belong in values, not keys"
                )
            spec = specs.get(name) if specs is not None else None
            if specs is not None and spec is None and self.strict:
                raise InvalidInputError(
                    f"{self.where}: {section}.{name}: blueprint {blueprint} in {self.blueprints.source} "  # type: ignore[union-attr]
                    f"has no such {singular}"
                )
            variable = self.filler.whole(node)
            value = self._value(node)
            if value is _OMIT:
                continue
            field = self.filler.values.field(variable) if variable else f"{self.where}: {section}.{name}"
            if spec is not None and isinstance(spec, Mapping):
                value = self._typed(section, value, spec, field, converted=variable is not None)
            out[name] = value
        return out

    def _typed(
        self, section: str, value: Any, spec: Mapping[str, Any], field: str, *, converted: bool
    ) -> Any:
        check = property_problem if section == "properties" else relation_problem
        if converted and isinstance(value, str):
            try:
                value = (convert_property if section == "properties" else convert_relation)(value, spec)
            except ValueProblem as exc:
                raise InvalidInputError(str(exc), field=field) from None
        problem = check(value, spec)
        if problem:
            raise InvalidInputError(problem, field=field)
        return value


def _specs(definition: Optional[Mapping[str, Any]], section: str) -> Optional[Mapping[str, Any]]:
    if definition is None:
        return None
    if section == "properties":
        schema = definition.get("schema") or {}
        return schema.get("properties") or {}
    return definition.get("relations") or {}
