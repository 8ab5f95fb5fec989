"""Checks against the tenant itself (`enrich --blueprints-from-port`, `--check-relations`): its live
blueprints, read once per run, and that each entity our change relates to exists in Port."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from port_gitops.errors import InvalidInputError, JobFailedError
from port_gitops.model import Blueprints, blueprints_from
from port_gitops.port_api import PortApiError
from port_gitops.port_setup import Catalog

MAX_RELATION_CHECKS = 100  # one GET each: a payload naming more related entities is refused


def live_blueprints(catalog: Catalog, source: str) -> Blueprints:
    """The tenant's blueprints (one request); Port unreachable or refusing is a failed run."""
    try:
        return blueprints_from(catalog.blueprints(), source)
    except PortApiError as exc:
        raise JobFailedError(f"--blueprints-from-port: {exc.message}") from None


def check_relations(entities: Sequence[Mapping[str, Any]], blueprints: Blueprints, catalog: Catalog) -> None:
    """InvalidInputError naming the first related entity that does not exist in Port."""
    targets = []
    for entity in entities:
        definition = blueprints.definition(str(entity.get("blueprint"))) or {}
        specs = definition.get("relations") or {}
        relations = entity.get("relations")
        for name, value in relations.items() if isinstance(relations, Mapping) else ():
            spec = specs.get(name)
            for identifier in value if isinstance(value, list) else [value]:
                if isinstance(spec, Mapping) and isinstance(identifier, str):
                    targets.append((entity, name, str(spec.get("target")), identifier))
    if len(targets) > MAX_RELATION_CHECKS:
        raise InvalidInputError(
            f"--check-relations: {len(targets)} related entities to look up, more than {MAX_RELATION_CHECKS}"
        )
    for entity, name, target, identifier in targets:
        try:
            found = catalog.entity(target, identifier)
        except PortApiError as exc:
            raise JobFailedError(f"--check-relations: {exc.message}") from None
        if found is None:
            label = f"{entity.get('blueprint')} {entity.get('identifier')}"
            raise InvalidInputError(
                f"{label}: relations.{name}: {identifier!r} is not a {target} entity in Port; "
                f"expected the identifier of an existing {target}"
            )
