"""`enrich --blueprints-from-port` and `--check-relations`: the tenant's live blueprints (one read per run)
and the existence of related entities, against the Port sandbox; its requests match Port's spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from contract import assert_requests_match_spec
from enrichkit import Enricher

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example

ACTION = Path(__file__).resolve().parents[2] / "resources/io/port/gitops/actions/set_ownership"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        definitions = json.loads((ACTION / "blueprints.json").read_text(encoding="utf-8"))["blueprints"]
        for definition in definitions:
            if definition["identifier"] == "service":  # the tenant allows one tier more than the bundle
                tier = definition["schema"]["properties"]["tier"]
                tier["enum"].append("platinum")
                tier["enumColors"]["platinum"] = "blue"
            sandbox.port.catalog.add_blueprint(definition)
        sandbox.port.catalog.add_entity("team", "platform")
        yield sandbox


def body(example: Example, **inputs: Any) -> dict[str, Any]:
    context = {**example.payload["port_context"], "action": "set_ownership"}
    return {"port_context": context, "owners": ["platform"], "tier": "gold", **inputs}


def reads(sb: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.port.requests if r.method == "GET" and "/runs/" not in r.path]


def test_live_blueprints_are_read_once_and_decide(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    bundled = enrich(body(example, tier="platinum"))
    assert bundled.code == 3 and "'platinum' is not allowed" in bundled.result["error"]
    sb.port.clear()
    live = enrich(body(example, tier="platinum"), "--blueprints-from-port")
    assert live.code == 0, live.stderr
    assert reads(sb) == ["GET /v1/blueprints"]
    assert_requests_match_spec(sb.port.requests, flavour="port")


def test_a_value_the_live_blueprint_refuses_is_exit_3(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(body(example, tier="tin"), "--blueprints-from-port")
    assert run.code == 3
    assert "tier: 'tin' is not allowed; expected one of gold, silver, bronze" in run.result["error"]
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    assert all(r.method == "GET" for r in sb.scm.requests)


def test_relations_must_exist_in_port_when_asked(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(body(example, owners=["platform", "ghosts"]), "--check-relations")
    assert run.code == 3
    assert "relations.owners: 'ghosts' is not a team entity in Port" in run.result["error"]
    assert all(r.method == "GET" for r in sb.scm.requests), "nothing written"
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    assert_requests_match_spec(sb.port.requests, flavour="port")
    sb.port.catalog.add_entity("team", "ghosts")
    again = enrich(body(example, owners=["platform", "ghosts"]), "--check-relations")
    assert again.code == 0, again.stderr


def test_the_environment_twins(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(body(example, owners=["nobody"]), PORT_GITOPS_CHECK_RELATIONS="true")
    assert run.code == 3 and "'nobody' is not a team entity" in run.result["error"]
    run = enrich(body(example, tier="tin"), PORT_GITOPS_BLUEPRINTS_FROM_PORT="true")
    assert run.code == 3 and "'tin' is not allowed" in run.result["error"]


def test_both_blueprint_sources_is_a_usage_error(example: Example, enrich: Enricher) -> None:
    run = enrich(body(example), "--blueprints-from-port", "--blueprints", str(ACTION / "blueprints.json"))
    assert run.code == 2 and "not both" in run.result["error"]
