"""What `setup` changes in Port, decided from what Port holds before anything is written.

Blueprints are merged into the tenant's: our properties and relations are added or refreshed key
by key, everything else (other properties and relations, `required`, mirror and calculation
properties, title, icon) stays, and the whole `schema` and `relations` are sent, because how deep
Port's PATCH merges is not documented. A property or relation of ours that the tenant already has
with another type, format, enum or target is a conflict: replacing it could invalidate the
tenant's entities, so only `--force` replaces it (with our definition, whole).
The action is ours: it is replaced whenever a key we define differs. Entities are upserted with
merge: only the properties and relations given are compared and written.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from port_gitops.logsetup import MASK, mask

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class Change:
    kind: str  # "blueprint", "action" or "entity"
    identifier: str
    status: str  # CREATED, UPDATED or UNCHANGED
    before: Optional[Mapping[str, Any]]  # the part setup manages, as Port holds it (None: absent)
    after: Mapping[str, Any]  # the same part once written; also the body that is sent
    blueprint: Optional[str] = None  # an entity's blueprint
    conflicts: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return (
            f"{self.kind} {self.blueprint}/{self.identifier}"
            if self.blueprint
            else f"{self.kind} {self.identifier}"
        )

    def diff(self) -> str:
        """The exact change as a unified diff of the JSON (empty when unchanged), secrets masked: the
        registered ones, and every value of a credential-bearing header or URL parameter, old or new
        (the token Port holds may be one this run does not know)."""
        after = _masked(self.after)
        before: list[str] = []
        if self.before is not None:
            held, after = _changed_secrets(self.before, self.after, _masked(self.before), after)
            before = _json_lines(held)
        return "".join(
            difflib.unified_diff(before, _json_lines(after), f"Port: {self.name}", f"setup: {self.name}")
        )


# Header names and URL parameters whose values are credentials.
_CREDENTIAL = re.compile(r"token|secret|password|passwd|auth|api[-_]?key|cookie|signature", re.IGNORECASE)
_URL_PARAMETER = re.compile(r"([?&])([^=&#]*)=([^&#]*)")


def _json_lines(value: Any) -> list[str]:
    # Masked before serialising: JSON escaping could hide a secret (one with a quote, say) from `mask`.
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return [line + "\n" for line in text.splitlines()]


def _masked(value: Any, *, headers: bool = False) -> Any:
    if isinstance(value, str):
        return _URL_PARAMETER.sub(_masked_parameter, mask(value))
    if isinstance(value, Mapping):
        return {
            mask(str(key)): MASK
            if headers and _CREDENTIAL.search(str(key))
            else _masked(item, headers=str(key).lower() == "headers")
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _masked_parameter(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    return f"{separator}{name}={MASK if _CREDENTIAL.search(name) else value}"


def _changed_secrets(before: Any, after: Any, held: Any, sent: Any) -> tuple[Any, Any]:
    """The masked pair, where a change that masking hid (a new token) is marked on both sides."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        held, sent = dict(held), dict(sent)
        for key in set(before) & set(after):
            masked_key = mask(str(key))
            held[masked_key], sent[masked_key] = _changed_secrets(
                before[key], after[key], held[masked_key], sent[masked_key]
            )
        return held, sent
    if before != after and held == sent and isinstance(held, str):
        return f"{held} (old value)", f"{sent} (new value)"
    return held, sent


def plan_blueprint(
    desired: Mapping[str, Any], existing: Optional[Mapping[str, Any]], *, force: bool
) -> Change:
    identifier = str(desired["identifier"])
    if existing is None:
        return Change("blueprint", identifier, CREATED, None, desired)
    schema = existing.get("schema") or {}
    ours = desired.get("schema") or {}
    conflicts: list[str] = []
    properties = _merge_members(
        schema.get("properties") or {},
        ours.get("properties") or {},
        _property_conflict,
        f"blueprint {identifier}: property",
        conflicts,
        force=force,
    )
    relations = _merge_members(
        existing.get("relations") or {},
        desired.get("relations") or {},
        _relation_conflict,
        f"blueprint {identifier}: relation",
        conflicts,
        force=force,
    )
    merged_schema = {**schema, "properties": properties}
    required = list(schema.get("required") or [])
    added = [name for name in ours.get("required") or [] if name not in required]
    if added:
        merged_schema["required"] = required + added
    before = {"schema": schema, "relations": existing.get("relations") or {}}
    after = {"schema": merged_schema, "relations": relations}
    status = UNCHANGED if after == before else UPDATED
    return Change("blueprint", identifier, status, before, after, conflicts=tuple(conflicts))


def _merge_members(
    theirs: Mapping[str, Any],
    ours: Mapping[str, Any],
    conflict_of: Callable[[Mapping[str, Any], Mapping[str, Any]], Optional[str]],
    label: str,
    conflicts: list[str],
    *,
    force: bool,
) -> dict[str, Any]:
    merged = dict(theirs)
    for name, definition in ours.items():
        existing = theirs.get(name)
        conflict = conflict_of(existing, definition) if isinstance(existing, dict) else None
        if conflict:
            conflicts.append(f"{label} {name}: {conflict}")
        if conflict and not force:
            continue
        merged[name] = (
            dict(definition) if conflict or not isinstance(existing, dict) else {**existing, **definition}
        )
    return merged


def _property_conflict(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> Optional[str]:
    for key in ("type", "format"):
        if theirs.get(key) != ours.get(key):
            held, wanted = _shown(theirs.get(key)), _shown(ours.get(key))
            return f"its {key} is {held} in Port; these definitions need {wanted}"
    if "enum" not in ours or set(theirs.get("enum") or ()) == set(ours["enum"]):
        return None
    wanted = ", ".join(map(str, ours["enum"]))
    if "enum" not in theirs:
        return f"it takes any value in Port; these definitions (and the action's options) allow only {wanted}"
    held = ", ".join(map(str, theirs["enum"]))
    return f"it allows {held} in Port; these definitions (and the action's options) allow exactly {wanted}"


def _relation_conflict(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> Optional[str]:
    if (theirs.get("target"), bool(theirs.get("many"))) == (ours.get("target"), bool(ours.get("many"))):
        return None
    return f"it relates to {_relation(theirs)} in Port; these definitions need {_relation(ours)}"


def _relation(relation: Mapping[str, Any]) -> str:
    return f"{'many' if relation.get('many') else 'one'} {relation.get('target')!r}"


def _shown(value: Any) -> str:
    return "unset" if value is None else repr(value)


def plan_action(desired: Mapping[str, Any], existing: Optional[Mapping[str, Any]]) -> Change:
    identifier = str(desired["identifier"])
    if existing is None:
        return Change("action", identifier, CREATED, None, desired)
    before = {key: existing[key] for key in desired if key in existing}
    return Change("action", identifier, UNCHANGED if before == desired else UPDATED, before, desired)


def plan_entity(blueprint: str, desired: Mapping[str, Any], existing: Optional[Mapping[str, Any]]) -> Change:
    identifier = str(desired["identifier"])
    if existing is None:
        return Change("entity", identifier, CREATED, None, desired, blueprint=blueprint)
    # An upsert with merge writes only the properties and relations it is given: compare those.
    before = {key: existing.get(key) for key in desired}
    for key in ("properties", "relations"):
        held, sent = before.get(key), desired.get(key)
        if isinstance(held, dict) and isinstance(sent, dict):
            before[key] = {name: held.get(name) for name in sent}
    return Change(
        "entity", identifier, UNCHANGED if before == desired else UPDATED, before, desired, blueprint
    )
