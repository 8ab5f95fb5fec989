"""Render the port.yml template: parse it as YAML first, then fill placeholders inside scalar values.

A value is substituted once, as a whole string, into an already parsed scalar: it can never become
YAML syntax, and a value that itself looks like `{{ other }}` is never expanded again.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from port_gitops.errors import InvalidInputError, UsageError
from port_gitops.model import EnrichValues, identifier_problem

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_VARIABLE = re.compile(r"var\.([A-Za-z_][A-Za-z0-9_]*)")
# The placeholders of Port's Enrich Service guide, and the value each stands for.
GUIDE_PLACEHOLDERS = {
    "service_identifier": "entity",
    "domain_identifier": "domain",
    "service_type": "type",
    "service_lifecycle": "lifecycle",
}


def render_entities(
    template_text: str, values: EnrichValues, *, source: str = "template"
) -> list[dict[str, Any]]:
    """The template's entities (one object or a list) with every placeholder replaced by its value."""
    try:
        parsed = yaml.safe_load(template_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UsageError(
            f"{source}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}); "
            'write placeholders inside quotes, e.g. type: "{{ service_type }}"'
        ) from None
    if parsed is None:
        raise UsageError(f"{source}: holds no entity")
    rendered = []
    for number, entity in enumerate(parsed if isinstance(parsed, list) else [parsed], 1):
        if not isinstance(entity, dict):
            raise UsageError(f"{source}: entity {number}: expected a mapping")
        filled = _Filler(values, source).fill(entity)
        for key in ("identifier", "blueprint"):
            if not isinstance(filled.get(key), str) or not filled[key]:
                raise UsageError(f"{source}: entity {number}: expected a string {key}")
        problem = identifier_problem(filled["identifier"])
        if problem:
            raise InvalidInputError(f"{source}: entity {number}: identifier {problem}")
        rendered.append(filled)
    return rendered


class _Filler:
    def __init__(self, values: EnrichValues, source: str) -> None:
        self.values = values
        self.source = source

    def fill(self, node: Any) -> Any:
        if isinstance(node, dict):
            for key in node:
                if isinstance(key, str) and _PLACEHOLDER.search(key):
                    raise UsageError(f"{self.source}: key {key!r}: placeholders belong in values, not keys")
            return {key: self.fill(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.fill(item) for item in node]
        if isinstance(node, str):
            return _PLACEHOLDER.sub(lambda match: self._value(match.group(1).strip()), node)
        return node

    def _value(self, name: str) -> str:
        if name in GUIDE_PLACEHOLDERS:
            return str(getattr(self.values, GUIDE_PLACEHOLDERS[name]))
        variable = _VARIABLE.fullmatch(name)
        if variable is None:
            raise UsageError(
                f"{self.source}: unknown placeholder {{{{ {name} }}}}; expected "
                + ", ".join(GUIDE_PLACEHOLDERS)
                + " or var.NAME (a variable of the mapping)"
            )
        value = self.values.variables.get(variable.group(1))
        if not value:
            raise InvalidInputError(
                f"placeholder {{{{ {name} }}}} has no value: the mapping variable {variable.group(1)} is "
                "missing or empty in this payload"
            )
        return str(value)
