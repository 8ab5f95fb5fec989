"""A custom action end to end: its own mapping, template and blueprint file, a payload with none of the
Enrich Service's values, on every sandbox flavour. Values reach port.yml with the blueprint's types;
each kind of bad input is exit 3 with nothing written and FAILURE reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from enrichkit import FLAVOURS, Enricher
from test_markdown import outside_spans, spans

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import EXISTING_PORT_YML, Example

BLUEPRINTS = {
    "blueprints": [
        {"identifier": "team", "title": "Team", "schema": {"properties": {}}, "relations": {}},
        {
            "identifier": "microservice",
            "title": "Microservice",
            "schema": {
                "properties": {
                    "replicas": {"type": "number", "minimum": 1, "maximum": 50},
                    "public": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "tier": {"type": "string", "enum": ["gold", "silver", "bronze"]},
                    "costCentre": {"type": "string"},
                },
                "required": ["costCentre"],
            },
            "relations": {"owners": {"target": "team", "many": True}},
        },
    ]
}
TRIGGER = """\
genericVariables:
  - {key: ENTITY_IDENTIFIER, value: $.context.entity}
  - {key: REPO_URL, value: $.context.repository}
  - {key: RUN_ID, value: $.context.run}
  - {key: REPLICAS, value: $.inputs.replicas}
  - {key: PUBLIC, value: $.inputs.public}
  - {key: TAGS, value: $.inputs.tags}
  - {key: TIER, value: $.inputs.tier}
  - {key: OWNERS, value: $.inputs.owners}
  - {key: COST, value: $.inputs.costCentre}
shouldNotFlatten: true
"""
TEMPLATE = """\
- identifier: "{{ var.ENTITY_IDENTIFIER }}"
  blueprint: microservice
  properties:
    replicas: "{{ var.REPLICAS }}"
    public: "{{ var.PUBLIC }}"
    tags: "{{ var.TAGS }}"
    tier: "{{ var.TIER }}"
    costCentre: "{{ var.COST }}"
  relations:
    owners: "{{ var.OWNERS }}"
"""
INPUTS = {
    "replicas": 3,
    "public": True,
    "tags": ["payments", "pci"],
    "tier": "gold",
    "owners": ["platform", "sre"],
    "costCentre": "cc-42",
}


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        yield sandbox


@pytest.fixture
def action(tmp_path: Path) -> list[str]:
    """The flags of the one-off action: its mapping, template and blueprint file."""
    (tmp_path / "trigger.yml").write_text(TRIGGER, encoding="utf-8")
    (tmp_path / "template.yml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "blueprints.json").write_text(json.dumps(BLUEPRINTS), encoding="utf-8")
    return [
        "--trigger",
        str(tmp_path / "trigger.yml"),
        "--template",
        str(tmp_path / "template.yml"),
        "--blueprints",
        str(tmp_path / "blueprints.json"),
    ]


def body(example: Example, **inputs: Any) -> dict[str, Any]:
    given = {k: v for k, v in {**INPUTS, **inputs}.items() if v is not None}
    context = {"entity": example.slug, "repository": example.repo_url, "run": example.run_id}
    return {"context": context, "inputs": given}


def nothing_written(sb: Sandbox) -> bool:
    return sb.scm.writes() == []  # (GitHub's GraphQL query is a POST that only reads)


def test_a_custom_action_writes_typed_values(
    sb: Sandbox, example: Example, enrich: Enricher, action: list[str]
) -> None:
    payload = body(example)
    assert not {"domain", "type", "lifecycle"} & set(json.dumps(payload).replace('"', " ").split())
    run = enrich(payload, *action)
    assert run.code == 0, run.stderr
    assert run.result["outcome"] == "created"
    raw = sb.scm.read_file(example.workspace, example.slug, run.result["branch"], "port.yml")
    assert raw is not None
    text = raw.decode()
    assert text.startswith(EXISTING_PORT_YML), "the file is merged, not replaced"
    written = next(e for e in yaml.safe_load(text) if e["identifier"] == example.slug)
    assert written == {
        "identifier": example.slug,
        "blueprint": "microservice",
        "properties": {
            "replicas": 3,
            "public": True,
            "tags": ["payments", "pci"],
            "tier": "gold",
            "costCentre": "cc-42",
        },
        "relations": {"owners": ["platform", "sre"]},
    }
    assert sb.port.runs[example.run_id]["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("inputs", "extra_template", "expected"),
    [
        (
            {"tier": "platinum"},
            "",
            "inputs.tier: 'platinum' is not allowed; expected one of gold, silver, bronze",
        ),
        ({"replicas": "8x"}, "", "inputs.replicas: '8x' is not a number"),
        ({}, '    colour: "{{ var.TIER }}"\n', "properties.colour: blueprint microservice"),
        ({"costCentre": None}, "", "properties.costCentre: missing; blueprint microservice requires it"),
    ],
    ids=["wrong enum", "not a number", "unknown property", "missing required property"],
)
def test_bad_input_is_exit_3_nothing_written_and_failure_reported(
    sb: Sandbox,
    example: Example,
    enrich: Enricher,
    action: list[str],
    tmp_path: Path,
    inputs: dict[str, Any],
    extra_template: str,
    expected: str,
) -> None:
    if extra_template:
        template = TEMPLATE.replace("  relations:\n", extra_template + "  relations:\n")
        (tmp_path / "template.yml").write_text(template, encoding="utf-8")
    run = enrich(body(example, **inputs), *action)
    assert run.code == 3, run.stderr
    assert expected in run.result["error"]
    assert nothing_written(sb)
    state = sb.port.runs[example.run_id]
    assert state["status"] == "FAILURE"
    assert run.result["port_run"]["status"] == "FAILURE" and run.result["port_run"]["reported"] is True


def test_the_bundled_set_ownership_action_runs_from_its_payload(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    body = {
        "port_context": {**example.payload["port_context"], "action": "set_ownership"},
        "owners": ["platform", "sre"],
        "tier": "gold",
        "onCall": True,
        "sloTarget": 99.9,
        "runbook": "https://wiki.example.com/runbooks/payments?a=1&b=*x*",
    }
    run = enrich(body)
    assert run.code == 0, run.stderr
    assert (run.result["action"], run.result["branch"]) == ("set_ownership", "port/set_ownership-payments")
    raw = sb.scm.read_file(example.workspace, example.slug, run.result["branch"], "port.yml")
    assert raw is not None
    written = next(e for e in yaml.safe_load(raw.decode()) if e["identifier"] == example.slug)
    assert written["properties"] == {
        "tier": "gold",
        "onCall": True,
        "sloTarget": 99.9,
        "runbook": "https://wiki.example.com/runbooks/payments?a=1&b=*x*",
    }
    assert written["relations"] == {"owners": ["platform", "sre"]}
    [pr] = sb.scm.pull_requests(example.workspace, example.slug)
    assert pr["title"] == "Set ownership: `payments`"
    description = pr.get("description") or pr.get("body") or ""
    assert "**Set ownership**" in description
    # Payload text is shown as code spans (markdown.code): literal, never Markdown.
    assert any("b=*x*" in span for span in spans(description)) and "*x*" not in outside_spans(description)


@pytest.mark.parametrize(
    ("args", "named", "expected"),
    [
        (["--action", "service_enrich_service"], "set_ownership", "is not the action this job runs"),
        ([], "no_such_action", "'no_such_action' is not a bundled action"),
    ],
)
def test_a_payload_for_another_action_is_exit_3_and_its_run_is_told(
    sb: Sandbox, example: Example, enrich: Enricher, args: list[str], named: str, expected: str
) -> None:
    body = {**example.payload, "port_context": {**example.payload["port_context"], "action": named}}
    run = enrich(body, *args)
    assert run.code == 3
    assert f"port_context.action: '{named}' " in run.result["error"] and expected in run.result["error"]
    assert nothing_written(sb) and sb.scm.requests == []
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
