"""Domain entities from a port.yml-style list (the guide's "Create domains via GitOps" file), for
teams that want them in Port before their GitOps integration first runs."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from port_gitops.errors import InvalidInputError
from port_gitops.model import Blueprints
from port_gitops.portyml.document import line_of, parse
from port_gitops.validate import validate_text

log = logging.getLogger("port_gitops")

DOMAIN = "domain"
ENTITY_KEYS = ("identifier", "title", "icon", "team", "properties", "relations")


def domain_entities(text: str, blueprints: Blueprints, *, source: str) -> list[dict[str, Any]]:
    """The entities' bodies for Port's entity API; a file with any problem is invalid input."""
    problems = validate_text(text, blueprints, source=source)
    for problem in problems:
        log.warning("%s", problem)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InvalidInputError(f"{problems[0]}{more}")
    document = parse(text, source)
    entities = document.data if isinstance(document.data, list) else [document.data] if document.data else []
    for node, entity in zip(document.items, entities):
        if entity["blueprint"] != DOMAIN:
            raise InvalidInputError(
                f"{source}:{line_of(node)}: {entity['identifier']}: --domains takes {DOMAIN} entities "
                f"only, not {entity['blueprint']!r}"
            )
    return [_jsonable({key: entity[key] for key in ENTITY_KEYS if key in entity}) for entity in entities]


def _jsonable(value: Any) -> Any:
    """YAML's dates and timestamps as the ISO 8601 text Port expects."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
