"""Port's catalog on loopback: blueprints, self-service actions and entities — what `setup` writes
and `validate --from-port` reads — with Port's shapes and errors (port.py routes here after the
token check).

- GET/POST /v1/blueprints, GET/PUT/PATCH /v1/blueprints/{identifier}. Port does not document how
  deep its PATCH merges; here it replaces each top-level key it names (`schema` whole, `relations`
  whole): the reading under which a client that sends only its new properties loses the others.
- GET/POST /v1/actions, GET/PUT /v1/actions/{identifier}: the action JSON, kept as sent.
- POST /v1/blueprints/{bp}/entities?upsert=…&merge=…, GET /v1/blueprints/{bp}/entities/{id}:
  `upsert` is required (as the spec says); with merge=true the properties and relations sent are
  merged into the entity's, otherwise the entity is replaced.
- Errors: 404 not_found (also a relation or input naming a blueprint that does not exist — the
  exact code there is a plausible guess), 409 identifier_taken, 422 invalid_request (the body) and
  blueprint_schema_mismatch (an entity its blueprint does not allow).
Blueprints and actions carry createdAt/createdBy/updatedAt/updatedBy, as Port's answers do;
entities have exactly the keys of the spec's entity answer (identifier, title, icon, team,
properties, relations).
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
from typing import Any, Callable, Mapping, Optional
from urllib.parse import unquote, urlsplit

from port_gitops.sandbox.codehost import now_iso
from port_gitops.sandbox.server import Request, Response

# Port's patterns use \p{L} (any letter), which Python's `re` spells \w (letters, digits, _).
_BLUEPRINT_ID = re.compile(r"(?!\.{1,2}$)[\w@.+:\\/-]{1,100}")
_ACTION_ID = re.compile(r"(?!\.{1,2}$)[\w@.+:=-]+")
_ENTITY_ID = re.compile(r"(?!\.{1,2}$)[\w@.+:\\/=-]{1,1000}")
_MEMBER_ID = re.compile(r"[A-Za-z0-9@_=-]{1,100}")
_PROPERTY_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_PROPERTY_FORMATS = frozenset(
    [
        "date-time",
        "url",
        "email",
        "idn-email",
        "ipv4",
        "ipv6",
        "markdown",
        "yaml",
        "user",
        "blueprints",
        "team",
        "timer",
        "proto",
        "labeled-url",
    ]
)
_SCHEMA_KEYS = frozenset({"properties", "required"})
_RELATION_KEYS = frozenset({"title", "target", "required", "many", "description", "type"})
_ACTION_KEYS = frozenset(
    {
        "identifier",
        "title",
        "icon",
        "description",
        "trigger",
        "invocationMethod",
        "requiredApproval",
        "approvalNotification",
        "publish",
        "allowAnyoneToViewRuns",
    }
)
_OPERATIONS = frozenset({"CREATE", "DAY-2", "DELETE"})
_INVOCATION_TYPES = frozenset(
    {"KAFKA", "WEBHOOK", "GITHUB", "INTEGRATION_ACTION", "GITLAB", "AZURE_DEVOPS", "UPSERT_ENTITY"}
)
_WEBHOOK_KEYS = frozenset({"type", "url", "agent", "synchronized", "method", "headers", "body"})
_USER = "sandbox-user"


class Rejected(Exception):
    """A request Port would refuse: answered as `{"ok": false, "error": code, "message": ...}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> Rejected:
    return Rejected(422, "invalid_request", message)


class PortCatalog:
    """Blueprints, actions and entities of one sandbox tenant. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blueprints: dict[str, dict[str, Any]] = {}
        self._actions: dict[str, dict[str, Any]] = {}
        self._entities: dict[tuple[str, str], dict[str, Any]] = {}

    # --- for tests and manual use ----------------------------------------------------------------

    def add_blueprint(self, definition: Mapping[str, Any]) -> None:
        """Seed a blueprint, as an integration or a user in the Builder would have made it."""
        with self._lock:
            self._post_blueprint(copy.deepcopy(dict(definition)))

    def add_entity(self, blueprint: str, identifier: str) -> None:
        """Seed an entity of an existing blueprint, as a user or an integration would have made it."""
        with self._lock:
            self._stored_blueprint(blueprint)
            entity = {"title": identifier, "team": [], "properties": {}, "relations": {}}
            self._entities[(blueprint, identifier)] = {**entity, "identifier": identifier}

    def blueprint(self, identifier: str) -> Optional[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._blueprints.get(identifier))

    def action(self, identifier: str) -> Optional[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._actions.get(identifier))

    def entity(self, blueprint: str, identifier: str) -> Optional[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._entities.get((blueprint, identifier)))

    # --- the API ----------------------------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        parts = path.split("/")
        return parts[1:3] in (["v1", "blueprints"], ["v1", "actions"]) and parts[3:4] != ["runs"]

    def handle(self, request: Request) -> Response:
        segments = [unquote(s) for s in request.path.rstrip("/").split("/")[2:]]
        routes: dict[tuple[str, str, int], Callable[..., dict[str, Any]]] = {
            ("GET", "blueprints", 1): lambda: {"ok": True, "blueprints": list(self._blueprints.values())},
            ("POST", "blueprints", 1): lambda: {
                "ok": True,
                "blueprint": self._post_blueprint(request.json_or_none()),
            },
            ("GET", "blueprints", 2): lambda: {"ok": True, "blueprint": self._stored_blueprint(segments[1])},
            ("PUT", "blueprints", 2): lambda: {
                "ok": True,
                "blueprint": self._put_blueprint(segments[1], request),
            },
            ("PATCH", "blueprints", 2): lambda: {
                "ok": True,
                "blueprint": self._patch_blueprint(segments[1], request),
            },
            ("POST", "blueprints", 3): lambda: {
                "ok": True,
                "entity": self._upsert_entity(segments[1], request),
            },
            ("GET", "blueprints", 4): lambda: {
                "ok": True,
                "entity": self._stored_entity(segments[1], segments[3]),
            },
            ("GET", "actions", 1): lambda: {"ok": True, "actions": list(self._actions.values())},
            ("POST", "actions", 1): lambda: {"ok": True, "action": self._post_action(request.json_or_none())},
            ("GET", "actions", 2): lambda: {"ok": True, "action": self._stored_action(segments[1])},
            ("PUT", "actions", 2): lambda: {"ok": True, "action": self._put_action(segments[1], request)},
        }
        route = routes.get((request.method, segments[0], len(segments)))
        if route is None or (len(segments) >= 3 and segments[2] != "entities"):
            return _error(Rejected(404, "not_found", f"Route {request.method}:{request.path} not found"))
        try:
            with self._lock:
                answer = route()
        except Rejected as exc:
            return _error(exc)
        return Response.json(201 if request.method == "POST" else 200, copy.deepcopy(answer))

    # --- blueprints -------------------------------------------------------------------------------

    def _stored_blueprint(self, identifier: str) -> dict[str, Any]:
        found = self._blueprints.get(identifier)
        if found is None:
            raise Rejected(404, "not_found", f"Blueprint with identifier {identifier!r} was not found")
        return found

    def _post_blueprint(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("body must be object")
        identifier = body.get("identifier")
        if not isinstance(identifier, str) or not _BLUEPRINT_ID.fullmatch(identifier):
            raise _invalid("body/identifier must be a blueprint identifier")
        if identifier in self._blueprints:
            raise Rejected(
                409, "identifier_taken", f"A blueprint with identifier {identifier!r} already exists"
            )
        return self._store_blueprint(identifier, body, created=None)

    def _put_blueprint(self, identifier: str, request: Request) -> dict[str, Any]:
        existing = self._stored_blueprint(identifier)
        body = request.json_or_none()
        if not isinstance(body, dict):
            raise _invalid("body must be object")
        if body.get("identifier", identifier) != identifier:
            raise _invalid("body/identifier must equal the identifier in the path")
        return self._store_blueprint(identifier, body, created=existing)

    def _patch_blueprint(self, identifier: str, request: Request) -> dict[str, Any]:
        existing = self._stored_blueprint(identifier)
        body = request.json_or_none()
        if not isinstance(body, dict):
            raise _invalid("body must be object")
        if body.get("identifier", identifier) != identifier:
            raise _invalid("body/identifier must equal the identifier in the path")
        merged = {key: value for key, value in existing.items() if key not in _meta(existing)}
        merged.update(body)  # each key named replaces the stored one whole (see the module docstring)
        return self._store_blueprint(identifier, merged, created=existing)

    def _store_blueprint(
        self, identifier: str, body: dict[str, Any], *, created: Optional[Mapping[str, Any]]
    ) -> dict[str, Any]:
        title = body.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 100:
            raise _invalid("body/title must be a string of 1 to 100 characters")
        schema = body.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            raise _invalid("body/schema must be an object with a properties object")
        if set(schema) - _SCHEMA_KEYS:
            raise _invalid(
                f"body/schema must NOT have additional properties ({sorted(set(schema) - _SCHEMA_KEYS)})"
            )
        for name, prop in schema["properties"].items():
            _check_property(name, prop)
        required = schema.get("required", [])
        if not isinstance(required, list) or any(r not in schema["properties"] for r in required):
            raise _invalid("body/schema/required must list properties of the blueprint")
        relations = body.get("relations", {})
        if not isinstance(relations, dict):
            raise _invalid("body/relations must be object")
        for name, relation in relations.items():
            self._check_relation(identifier, name, relation)
        stored = {**body, "identifier": identifier, "relations": relations, **_stamp(created)}
        self._blueprints[identifier] = stored
        return stored

    def _check_relation(self, identifier: str, name: str, relation: Any) -> None:
        where = f"body/relations/{name}"
        if not _MEMBER_ID.fullmatch(name) or not isinstance(relation, dict):
            raise _invalid(f"{where} must be an object named like ^[A-Za-z0-9@_=-]+$")
        if set(relation) - _RELATION_KEYS or not {"target", "required", "many"} <= set(relation):
            raise _invalid(
                f"{where} must have target, required and many, and nothing but {sorted(_RELATION_KEYS)}"
            )
        if relation["target"] != identifier and relation["target"] not in self._blueprints:
            raise Rejected(
                404, "not_found", f"Relation target blueprint {relation['target']!r} was not found"
            )

    # --- actions ----------------------------------------------------------------------------------

    def _stored_action(self, identifier: str) -> dict[str, Any]:
        found = self._actions.get(identifier)
        if found is None:
            raise Rejected(404, "not_found", f"Action with identifier {identifier!r} was not found")
        return found

    def _post_action(self, body: Any) -> dict[str, Any]:
        self._check_action(body)
        if body["identifier"] in self._actions:
            raise Rejected(
                409, "identifier_taken", f"An action with identifier {body['identifier']!r} already exists"
            )
        stored = {**body, **_stamp(None)}
        self._actions[body["identifier"]] = stored
        return stored

    def _put_action(self, identifier: str, request: Request) -> dict[str, Any]:
        existing = self._stored_action(identifier)
        body = request.json_or_none()
        if isinstance(body, dict):
            body.setdefault("identifier", identifier)
        self._check_action(body)
        if body["identifier"] != identifier:
            raise _invalid("body/identifier must equal the identifier in the path")
        stored = {**body, **_stamp(existing)}
        self._actions[identifier] = stored
        return stored

    def _check_action(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise _invalid("body must be object")
        extra = set(body) - _ACTION_KEYS
        if extra:
            raise _invalid(f"body must NOT have additional properties ({sorted(extra)})")
        for key in ("identifier", "trigger", "invocationMethod"):
            if key not in body:
                raise _invalid(f"body must have required property '{key}'")
        if not isinstance(body["identifier"], str) or not _ACTION_ID.fullmatch(body["identifier"]):
            raise _invalid("body/identifier must be an action identifier")
        self._check_trigger(body["trigger"])
        _check_invocation(body["invocationMethod"])

    def _check_trigger(self, trigger: Any) -> None:
        if not isinstance(trigger, dict) or trigger.get("type") != "self-service":
            raise _invalid("body/trigger must be a self-service trigger (the sandbox plays no automations)")
        if trigger.get("operation") not in _OPERATIONS:
            raise _invalid(f"body/trigger/operation must be one of {sorted(_OPERATIONS)}")
        inputs = trigger.get("userInputs")
        if not isinstance(inputs, dict) or not isinstance(inputs.get("properties"), dict):
            raise _invalid("body/trigger/userInputs must have a properties object")
        named = [trigger.get("blueprintIdentifier")] + [
            spec.get("blueprint") for spec in inputs["properties"].values() if isinstance(spec, dict)
        ]
        for blueprint in named:
            if blueprint is not None and blueprint not in self._blueprints:
                raise Rejected(404, "not_found", f"Blueprint with identifier {blueprint!r} was not found")

    # --- entities ---------------------------------------------------------------------------------

    def _stored_entity(self, blueprint: str, identifier: str) -> dict[str, Any]:
        self._stored_blueprint(blueprint)
        found = self._entities.get((blueprint, identifier))
        if found is None:
            raise Rejected(404, "not_found", f"Entity with identifier {identifier!r} was not found")
        return found

    def _upsert_entity(self, blueprint: str, request: Request) -> dict[str, Any]:
        flags = {}
        for name in ("upsert", "merge"):
            value = request.first(name)
            if value is None and name == "upsert":
                raise _invalid("querystring must have required property 'upsert'")
            if value not in (None, "true", "false"):
                raise _invalid(f"querystring/{name} must be boolean")
            flags[name] = value == "true"
        definition = self._stored_blueprint(blueprint)
        body = request.json_or_none()
        if not isinstance(body, dict):
            raise _invalid("body must be object")
        identifier = body.get("identifier") or "e_" + secrets.token_hex(6)
        if not isinstance(identifier, str) or not _ENTITY_ID.fullmatch(identifier):
            raise _invalid("body/identifier must be an entity identifier")
        existing = self._entities.get((blueprint, identifier))
        if existing is not None and not flags["upsert"]:
            raise Rejected(
                409, "identifier_taken", f"An entity with identifier {identifier!r} already exists"
            )
        entity: dict[str, Any] = {"title": identifier, "team": [], "properties": {}, "relations": {}}
        if existing is not None and flags["merge"]:
            entity = copy.deepcopy(existing)
        for key in ("title", "icon", "team"):
            if key in body:
                entity[key] = body[key]
        for key in ("properties", "relations"):
            given = body.get(key, {})
            if not isinstance(given, dict):
                raise _invalid(f"body/{key} must be object")
            entity[key] = {**entity[key], **given} if flags["merge"] else dict(given)
        _check_entity(definition, entity)
        stored = {**entity, "identifier": identifier}
        self._entities[(blueprint, identifier)] = stored
        return stored


def _check_property(name: str, prop: Any) -> None:
    where = f"body/schema/properties/{name}"
    if not _MEMBER_ID.fullmatch(name) or not isinstance(prop, dict):
        raise _invalid(f"{where} must be an object named like ^[A-Za-z0-9@_=-]+$")
    if prop.get("type") not in _PROPERTY_TYPES:
        raise _invalid(f"{where}/type must be one of {sorted(_PROPERTY_TYPES)}")
    if "format" in prop and prop["format"] not in _PROPERTY_FORMATS:
        raise _invalid(f"{where}/format must be one of {sorted(_PROPERTY_FORMATS)}")
    enum = prop.get("enum", [])
    colours = prop.get("enumColors", {})
    if not isinstance(enum, list) or not isinstance(colours, dict) or set(colours) - set(enum):
        raise _invalid(f"{where}: enumColors may only colour values of enum")


def _check_invocation(method: Any) -> None:
    if not isinstance(method, dict) or method.get("type") not in _INVOCATION_TYPES:
        raise _invalid(f"body/invocationMethod/type must be one of {sorted(_INVOCATION_TYPES)}")
    if method["type"] != "WEBHOOK":
        return
    extra = set(method) - _WEBHOOK_KEYS
    if extra:
        raise _invalid(f"body/invocationMethod must NOT have additional properties ({sorted(extra)})")
    url = method.get("url")
    if (
        not isinstance(url, str)
        or urlsplit(url).scheme not in ("http", "https")
        or not urlsplit(url).hostname
    ):
        raise _invalid("body/invocationMethod/url must be an http(s) URL")
    headers = method.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise _invalid("body/invocationMethod/headers must map names to strings")


def _check_entity(blueprint: Mapping[str, Any], entity: Mapping[str, Any]) -> None:
    """What Port refuses as blueprint_schema_mismatch: unknown members, wrong types, values off the enum."""
    name = blueprint["identifier"]
    properties = blueprint["schema"]["properties"]
    for key, value in entity["properties"].items():
        prop = properties.get(key)
        if prop is None:
            raise Rejected(
                422, "blueprint_schema_mismatch", f"Property {key!r} is not defined in blueprint {name!r}"
            )
        if value is None:
            continue
        kind = _PROPERTY_TYPES[prop["type"]]
        if not isinstance(value, kind) or (prop["type"] == "number" and isinstance(value, bool)):
            raise Rejected(422, "blueprint_schema_mismatch", f"properties/{key} must be {prop['type']}")
        if "enum" in prop and value not in prop["enum"]:
            raise Rejected(
                422,
                "blueprint_schema_mismatch",
                f"properties/{key} must be equal to one of the allowed values",
            )
    for key in blueprint["schema"].get("required", []):
        if entity["properties"].get(key) is None:
            raise Rejected(
                422, "blueprint_schema_mismatch", f"properties must have required property {key!r}"
            )
    for key in entity["relations"]:
        if key not in blueprint.get("relations", {}):
            raise Rejected(
                422, "blueprint_schema_mismatch", f"Relation {key!r} is not defined in blueprint {name!r}"
            )


def _meta(stored: Mapping[str, Any]) -> set[str]:
    return {key for key in ("createdAt", "createdBy", "updatedAt", "updatedBy") if key in stored}


def _stamp(existing: Optional[Mapping[str, Any]]) -> dict[str, str]:
    now = now_iso()
    created = existing or {"createdAt": now, "createdBy": _USER}
    return {
        "createdAt": created["createdAt"],
        "createdBy": created["createdBy"],
        "updatedAt": now,
        "updatedBy": _USER,
    }


def _error(rejected: Rejected) -> Response:
    from port_gitops.sandbox.port import port_error  # port.py imports this module

    return port_error(rejected.status, rejected.code, rejected.message)
