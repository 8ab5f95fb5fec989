"""`setup`: the Port side of the Enrich Service action as code, applied idempotently.

`plan_setup` reads what Port holds and decides, per object, created / updated / unchanged
(plan.py: merge rules and conflicts); `apply_change` writes one planned change. The order is kept:
blueprints in the order of their definitions (relation targets first), then the action (it names
both blueprints), then entities.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence

from port_gitops.model import Blueprints
from port_gitops.port_setup.catalog import Catalog
from port_gitops.port_setup.domains import DOMAIN, domain_entities
from port_gitops.port_setup.invocation import github_values, gitlab_values, with_invocation
from port_gitops.port_setup.plan import (
    CREATED,
    UNCHANGED,
    UPDATED,
    Change,
    plan_action,
    plan_blueprint,
    plan_entity,
)
from port_gitops.port_setup.webhook import TOKEN_ENV, action_definition, webhook_url

__all__ = [
    "CREATED",
    "TOKEN_ENV",
    "UNCHANGED",
    "UPDATED",
    "Catalog",
    "Change",
    "action_definition",
    "apply_change",
    "domain_entities",
    "github_values",
    "gitlab_values",
    "missing_read_property",
    "plan_setup",
    "webhook_url",
    "with_invocation",
]


def plan_setup(
    catalog: Catalog,
    blueprints: Blueprints,
    action: Mapping[str, Any],
    domains: Sequence[Mapping[str, Any]],
    *,
    force: bool,
) -> list[Change]:
    changes = [
        plan_blueprint(definition, catalog.blueprint(definition["identifier"]), force=force)
        for definition in blueprints.definitions
    ]
    changes.append(plan_action(action, catalog.action(action["identifier"])))
    changes += [
        plan_entity(DOMAIN, entity, catalog.entity(DOMAIN, entity["identifier"])) for entity in domains
    ]
    return changes


def missing_read_property(changes: Sequence[Change], action: Mapping[str, Any]) -> Optional[str]:
    """A warning when the blueprint the action runs on lacks a property the action's body reads
    (`{{ .entity.properties.url }}` for port_context.repo_url), else None."""
    blueprint = (action.get("trigger") or {}).get("blueprintIdentifier")
    body = json.dumps(action.get("invocationMethod") or {})  # a webhook's body, a workflow's inputs
    wanted = sorted(set(re.findall(r"\.entity\.properties\.([A-Za-z0-9_]+)", body)))
    for change in changes:
        if change.kind == "blueprint" and change.identifier == blueprint:
            held = (change.after.get("schema") or {}).get("properties") or {}
            missing = [name for name in wanted if name not in held]
            if missing:
                names = ", ".join(missing)
                return (
                    f"blueprint {blueprint} has no property {names}, which the action sends "
                    f"({{{{ .entity.properties.{missing[0]} }}}} as port_context.repo_url): enrich then "
                    "uses <workspace>/<entity identifier>; add it (format url) holding each service's "
                    "repository URL"
                )
    return None


def apply_change(catalog: Catalog, change: Change) -> None:
    if change.status == UNCHANGED:
        return
    if change.kind == "blueprint":
        if change.status == CREATED:
            catalog.create_blueprint(change.after)
        else:
            catalog.update_blueprint(change.identifier, change.after)
    elif change.kind == "action":
        if change.status == CREATED:
            catalog.create_action(change.after)
        else:
            catalog.replace_action(change.identifier, change.after)
    else:
        catalog.upsert_entity(str(change.blueprint), change.after)
