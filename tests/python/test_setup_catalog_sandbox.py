"""The Port sandbox's catalog (blueprints, actions, entities) over plain HTTP: answers shaped as Port's
OpenAPI document says, Port's errors, and the semantics `setup` depends on."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from contract import request_problems, response_problems

from port_gitops import resources
from port_gitops.model import load_blueprints
from port_gitops.sandbox import Sandbox

DOMAIN, SERVICE = (copy.deepcopy(dict(d)) for d in load_blueprints().definitions)
ACTION = json.loads(resources.read_text(resources.ACTION))
ACTION["invocationMethod"]["url"] = "https://jenkins.example.com/generic-webhook-trigger/invoke"
BLUEPRINT = "/v1/blueprints/{identifier}"
ENTITIES = "/v1/blueprints/{blueprint_identifier}/entities"
ENTITY = "/v1/blueprints/{blueprint_identifier}/entities/{entity_identifier}"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def port(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    answer = requests.post(
        f"{sb.port_url}/v1/auth/access_token",
        json={"clientId": sb.port.client_id, "clientSecret": sb.port.client_secret},
        timeout=5,
    )
    session.headers["Authorization"] = f"Bearer {answer.json()['accessToken']}"
    return session


def call(
    sb: Sandbox, port: requests.Session, method: str, path: str, body: Any = None, **params: str
) -> requests.Response:
    return port.request(method, sb.port_url + path, json=body, params=params or None, timeout=5)


def error(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert body["ok"] is False and body["message"]
    return response.status_code, body["error"]


def test_blueprint_answers_match_the_spec(sb: Sandbox, port: requests.Session) -> None:
    created = call(sb, port, "POST", "/v1/blueprints", DOMAIN)
    assert created.status_code == 201
    assert response_problems("port", "POST", "/v1/blueprints", 201, created.json()) == []
    got = call(sb, port, "GET", "/v1/blueprints/domain")
    assert got.json()["blueprint"]["schema"] == DOMAIN["schema"]
    assert response_problems("port", "GET", BLUEPRINT, 200, got.json()) == []
    listed = call(sb, port, "GET", "/v1/blueprints")
    assert [b["identifier"] for b in listed.json()["blueprints"]] == ["domain"]
    assert response_problems("port", "GET", "/v1/blueprints", 200, listed.json()) == []
    changed = call(sb, port, "PUT", "/v1/blueprints/domain", {**DOMAIN, "title": "Business domain"})
    assert changed.json()["blueprint"]["title"] == "Business domain"
    assert response_problems("port", "PUT", BLUEPRINT, 200, changed.json()) == []
    patched = call(sb, port, "PATCH", "/v1/blueprints/domain", {"icon": "Cloud"})
    assert response_problems("port", "PATCH", BLUEPRINT, 200, patched.json()) == []
    assert patched.json()["blueprint"]["createdAt"] == created.json()["blueprint"]["createdAt"]


def test_patch_replaces_each_key_it_names_whole(sb: Sandbox, port: requests.Session) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    sb.port.catalog.add_blueprint(SERVICE)
    only_new = {"schema": {"properties": {"tier": {"type": "string"}}}}
    assert call(sb, port, "PATCH", "/v1/blueprints/service", only_new).status_code == 200
    held = sb.port.catalog.blueprint("service")
    assert held is not None
    assert set(held["schema"]["properties"]) == {"tier"}, "a partial schema replaces the schema"
    assert held["relations"] == SERVICE["relations"] and held["title"] == "Service", "keys not named stay"


def test_entity_upsert_and_read_match_the_spec(sb: Sandbox, port: requests.Session) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    body = {"identifier": "payment", "title": "Payment", "properties": {"architecture": "https://a.example"}}
    created = call(sb, port, "POST", "/v1/blueprints/domain/entities", body, upsert="true", merge="true")
    assert created.status_code == 201
    assert response_problems("port", "POST", ENTITIES, 201, created.json()) == []
    got = call(sb, port, "GET", "/v1/blueprints/domain/entities/payment")
    assert response_problems("port", "GET", ENTITY, 200, got.json()) == []
    assert got.json()["entity"]["properties"] == {"architecture": "https://a.example"}


def test_upsert_with_and_without_merge(sb: Sandbox, port: requests.Session) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    sb.port.catalog.add_blueprint(SERVICE)
    path = "/v1/blueprints/service/entities"
    first = {
        "identifier": "web",
        "title": "Web",
        "properties": {"type": "backend", "lifecycle": "Production"},
    }
    assert call(sb, port, "POST", path, first, upsert="false").status_code == 201
    assert error(call(sb, port, "POST", path, first, upsert="false")) == (409, "identifier_taken")
    call(
        sb,
        port,
        "POST",
        path,
        {"identifier": "web", "properties": {"type": "library"}},
        upsert="true",
        merge="true",
    )
    assert sb.port.catalog.entity("service", "web") == {
        "identifier": "web",
        "title": "Web",
        "team": [],
        "properties": {"type": "library", "lifecycle": "Production"},
        "relations": {},
    }
    call(sb, port, "POST", path, {"identifier": "web", "properties": {"type": "frontend"}}, upsert="true")
    held = sb.port.catalog.entity("service", "web")
    assert held is not None and held["properties"] == {"type": "frontend"} and held["title"] == "web"


@pytest.mark.parametrize(
    ("body", "params", "expected"),
    [
        ({"identifier": "web"}, {}, (422, "invalid_request")),  # upsert is required
        ({"identifier": "web"}, {"upsert": "yes"}, (422, "invalid_request")),
        ({"identifier": "a b"}, {"upsert": "true"}, (422, "invalid_request")),
        (
            {"identifier": "web", "properties": {"tier": "x"}},
            {"upsert": "true"},
            (422, "blueprint_schema_mismatch"),
        ),
        (
            {"identifier": "web", "properties": {"type": "mobile"}},
            {"upsert": "true"},
            (422, "blueprint_schema_mismatch"),
        ),
        (
            {"identifier": "web", "properties": {"type": 3}},
            {"upsert": "true"},
            (422, "blueprint_schema_mismatch"),
        ),
        (
            {"identifier": "web", "relations": {"system": "x"}},
            {"upsert": "true"},
            (422, "blueprint_schema_mismatch"),
        ),
    ],
)
def test_entities_port_refuses(
    sb: Sandbox,
    port: requests.Session,
    body: dict[str, Any],
    params: dict[str, str],
    expected: tuple[int, str],
) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    sb.port.catalog.add_blueprint(SERVICE)
    assert error(call(sb, port, "POST", "/v1/blueprints/service/entities", body, **params)) == expected
    assert sb.port.catalog.entity("service", "web") is None


def test_entities_of_an_unknown_blueprint_are_not_found(sb: Sandbox, port: requests.Session) -> None:
    assert error(
        call(sb, port, "POST", "/v1/blueprints/domain/entities", {"identifier": "x"}, upsert="true")
    ) == (
        404,
        "not_found",
    )
    assert error(call(sb, port, "GET", "/v1/blueprints/domain/entities/x")) == (404, "not_found")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b.pop("title"), (422, "invalid_request")),
        (
            lambda b: b["schema"]["properties"].update({"bad name": {"type": "string"}}),
            (422, "invalid_request"),
        ),
        (lambda b: b["schema"]["properties"]["type"].update({"type": "text"}), (422, "invalid_request")),
        (
            lambda b: b["schema"]["properties"]["type"]["enumColors"].update({"mobile": "red"}),
            (422, "invalid_request"),
        ),
        (lambda b: b["schema"].update({"required": ["owner"]}), (422, "invalid_request")),
        (lambda b: b["relations"]["domain"].pop("many"), (422, "invalid_request")),
        (lambda b: b["relations"]["domain"].update({"target": "area"}), (404, "not_found")),
    ],
)
def test_blueprints_port_refuses(
    sb: Sandbox, port: requests.Session, change: Any, expected: tuple[int, str]
) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    body = copy.deepcopy(SERVICE)
    change(body)
    assert error(call(sb, port, "POST", "/v1/blueprints", body)) == expected
    assert sb.port.catalog.blueprint("service") is None


def test_blueprint_errors(sb: Sandbox, port: requests.Session) -> None:
    assert error(call(sb, port, "GET", "/v1/blueprints/service")) == (404, "not_found")
    assert error(call(sb, port, "PATCH", "/v1/blueprints/service", {"title": "S"})) == (404, "not_found")
    sb.port.catalog.add_blueprint(DOMAIN)
    assert error(call(sb, port, "POST", "/v1/blueprints", DOMAIN)) == (409, "identifier_taken")
    assert error(call(sb, port, "PUT", "/v1/blueprints/domain", {**DOMAIN, "identifier": "other"})) == (
        422,
        "invalid_request",
    )
    assert error(call(sb, port, "DELETE", "/v1/blueprints/domain")) == (404, "not_found")


def test_actions(sb: Sandbox, port: requests.Session) -> None:
    assert error(call(sb, port, "POST", "/v1/actions", ACTION)) == (404, "not_found"), (
        "its blueprints must exist"
    )
    sb.port.catalog.add_blueprint(DOMAIN)
    sb.port.catalog.add_blueprint(SERVICE)
    assert call(sb, port, "POST", "/v1/actions", ACTION).status_code == 201
    assert error(call(sb, port, "POST", "/v1/actions", ACTION)) == (409, "identifier_taken")
    got = call(sb, port, "GET", "/v1/actions/service_enrich_service").json()["action"]
    assert {k: v for k, v in got.items() if k in ACTION} == ACTION and "createdAt" in got
    moved = copy.deepcopy(ACTION)
    moved["invocationMethod"]["url"] = "https://ci.example.com/generic-webhook-trigger/invoke"
    assert call(sb, port, "PUT", "/v1/actions/service_enrich_service", moved).status_code == 200
    held = sb.port.catalog.action("service_enrich_service")
    assert held is not None and held["invocationMethod"]["url"].startswith("https://ci.example.com/")
    assert [a["identifier"] for a in call(sb, port, "GET", "/v1/actions").json()["actions"]] == [
        "service_enrich_service"
    ]
    assert error(call(sb, port, "PUT", "/v1/actions/other", moved)) == (404, "not_found")


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.update({"blueprint": "service"}),  # additionalProperties: false
        lambda a: a.pop("trigger"),
        lambda a: a["trigger"].update({"operation": "DAY2"}),
        lambda a: a["invocationMethod"].update({"url": "jenkins/invoke"}),
        lambda a: a["invocationMethod"].update({"headers": {"token": 5}}),
        lambda a: a["invocationMethod"].update({"timeout": 5}),
    ],
)
def test_actions_port_refuses(sb: Sandbox, port: requests.Session, change: Any) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    sb.port.catalog.add_blueprint(SERVICE)
    body = copy.deepcopy(ACTION)
    change(body)
    assert error(call(sb, port, "POST", "/v1/actions", body)) == (422, "invalid_request")


def test_catalog_needs_a_token_and_leaves_runs_alone(sb: Sandbox, port: requests.Session) -> None:
    assert error(requests.get(f"{sb.port_url}/v1/blueprints", timeout=5)) == (401, "unauthorized")
    sb.port.create_run("r_1")
    assert call(sb, port, "GET", "/v1/actions/runs/r_1").json()["run"]["status"] == "IN_PROGRESS"


def test_the_contract_checker_catches_an_upsert_without_its_query(
    sb: Sandbox, port: requests.Session
) -> None:
    sb.port.catalog.add_blueprint(DOMAIN)
    sb.port.clear()
    call(sb, port, "POST", "/v1/blueprints/domain/entities", {"identifier": "x"})
    (recorded,) = sb.port.requests
    assert "required query parameter 'upsert' is missing" in request_problems(recorded, "port")
