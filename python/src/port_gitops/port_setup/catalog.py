"""Port's blueprints, actions and entities, through the one PortClient (token, retries, errors).

Reads answer None for "absent" (HTTP 404) so that callers decide between create and update; every
other error is the client's PortApiError. Creates are not replayed after a failure that may have
reached Port (a replay would meet `identifier_taken`); PUT, PATCH and the entity upsert are.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional
from urllib.parse import quote

from port_gitops.port_api import PortApiError, PortClient


def _segment(identifier: str) -> str:
    return quote(identifier, safe="")


class Catalog:
    def __init__(self, client: PortClient) -> None:
        self._client = client

    def blueprints(self) -> list[dict[str, Any]]:
        body = self._client.request(
            "GET", "/v1/blueprints", what="Port: read the blueprints", idempotent=True
        )
        found = body.get("blueprints")
        if not isinstance(found, list):
            raise PortApiError("Port: the answer for the blueprints carries no blueprint list")
        return found

    def blueprint(self, identifier: str) -> Optional[dict[str, Any]]:
        return self._find(f"/v1/blueprints/{_segment(identifier)}", "blueprint", f"blueprint {identifier}")

    def create_blueprint(self, definition: Mapping[str, Any]) -> None:
        self._client.request(
            "POST",
            "/v1/blueprints",
            what=f"Port: create blueprint {definition['identifier']}",
            idempotent=False,
            json=definition,
        )

    def update_blueprint(self, identifier: str, fields: Mapping[str, Any]) -> None:
        self._client.request(
            "PATCH",
            f"/v1/blueprints/{_segment(identifier)}",
            what=f"Port: update blueprint {identifier}",
            idempotent=True,
            json=fields,
        )

    def action(self, identifier: str) -> Optional[dict[str, Any]]:
        return self._find(f"/v1/actions/{_segment(identifier)}", "action", f"action {identifier}")

    def create_action(self, definition: Mapping[str, Any]) -> None:
        self._client.request(
            "POST",
            "/v1/actions",
            what=f"Port: create action {definition['identifier']}",
            idempotent=False,
            json=definition,
        )

    def replace_action(self, identifier: str, definition: Mapping[str, Any]) -> None:
        self._client.request(
            "PUT",
            f"/v1/actions/{_segment(identifier)}",
            what=f"Port: update action {identifier}",
            idempotent=True,
            json=definition,
        )

    def entity(self, blueprint: str, identifier: str) -> Optional[dict[str, Any]]:
        path = f"/v1/blueprints/{_segment(blueprint)}/entities/{_segment(identifier)}"
        return self._find(path, "entity", f"entity {blueprint}/{identifier}")

    def upsert_entity(self, blueprint: str, entity: Mapping[str, Any]) -> None:
        """Create or merge into the entity: properties and relations not sent stay as they are."""
        self._client.request(
            "POST",
            f"/v1/blueprints/{_segment(blueprint)}/entities",
            what=f"Port: upsert entity {blueprint}/{entity['identifier']}",
            idempotent=True,
            json=entity,
            params={"upsert": "true", "merge": "true"},
        )

    def _find(self, path: str, key: str, name: str) -> Optional[dict[str, Any]]:
        what = f"Port: read {name}"
        try:
            body = self._client.request("GET", path, what=what, idempotent=True)
        except PortApiError as exc:
            if exc.status == 404:
                return None
            raise
        found = body.get(key)
        if not isinstance(found, dict):
            raise PortApiError(f"{what}: the answer carries no {key}")
        return found
