"""setup's decisions without Port: blueprint merge and conflicts, action and entity comparison, the
webhook URL and token, the --domains file."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from port_gitops import resources
from port_gitops.errors import InvalidInputError, UsageError
from port_gitops.logsetup import register_secret
from port_gitops.model import load_blueprints
from port_gitops.port_setup import (
    CREATED,
    UNCHANGED,
    UPDATED,
    action_definition,
    domain_entities,
    webhook_url,
    with_invocation,
)
from port_gitops.port_setup.plan import plan_action, plan_blueprint, plan_entity

BLUEPRINTS = load_blueprints()
DOMAIN, SERVICE = (copy.deepcopy(dict(d)) for d in BLUEPRINTS.definitions)
TEMPLATE = json.loads(resources.read_text(resources.ACTION))
WEBHOOK = "https://jenkins.example.com/generic-webhook-trigger/invoke"


def tenant_service(**properties: Any) -> dict[str, Any]:
    """A `service` as Port's Bitbucket integration makes it, plus whatever a test adds."""
    return {
        "identifier": "service",
        "title": "Service",
        "icon": "Microservice",
        "schema": {
            "properties": {"url": {"type": "string", "format": "url"}, **properties},
            "required": ["url"],
        },
        "mirrorProperties": {"owner": {"path": "team.name"}},
        "relations": {"team": {"target": "team", "required": False, "many": True}},
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedBy": "someone",
    }


# --- blueprints ------------------------------------------------------------------------------------


def test_absent_blueprint_is_created_from_the_definition() -> None:
    change = plan_blueprint(DOMAIN, None, force=False)
    assert (change.status, change.before, change.after) == (CREATED, None, DOMAIN)


def test_merge_adds_ours_and_keeps_everything_the_tenant_has() -> None:
    change = plan_blueprint(SERVICE, tenant_service(), force=False)
    assert change.status == UPDATED and not change.conflicts
    schema = change.after["schema"]
    assert set(schema["properties"]) == {"url", "type", "lifecycle"}
    assert schema["properties"]["type"] == SERVICE["schema"]["properties"]["type"]
    assert schema["required"] == ["url"]
    assert change.after["relations"] == {
        "team": {"target": "team", "required": False, "many": True},
        "domain": SERVICE["relations"]["domain"],
    }
    assert set(change.after) == {"schema", "relations"}, "only the whole schema and relations are sent"


def test_merged_blueprint_is_unchanged_next_time() -> None:
    first = plan_blueprint(SERVICE, tenant_service(), force=False)
    held = {**tenant_service(), **first.after}
    assert plan_blueprint(SERVICE, held, force=False).status == UNCHANGED


def test_keys_the_tenant_added_to_our_property_are_kept() -> None:
    ours = SERVICE["schema"]["properties"]["type"]
    theirs = {**ours, "title": "Kind", "description": "what it is", "icon": "Cube"}
    change = plan_blueprint(SERVICE, tenant_service(type=theirs), force=False)
    assert change.after["schema"]["properties"]["type"] == {
        **ours,
        "description": "what it is",
        "icon": "Cube",
    }


def test_same_enum_in_another_order_is_an_update_not_a_conflict() -> None:
    ours = SERVICE["schema"]["properties"]["lifecycle"]
    theirs = {**ours, "enum": list(reversed(ours["enum"]))}
    change = plan_blueprint(SERVICE, tenant_service(lifecycle=theirs), force=False)
    assert change.status == UPDATED and not change.conflicts
    assert change.after["schema"]["properties"]["lifecycle"]["enum"] == ours["enum"]


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        (
            {"type": "string", "enum": ["frontend", "backend"]},
            "blueprint service: property type: it allows frontend, backend in Port; these definitions (and "
            "the action's options) allow exactly frontend, backend, library",
        ),
        (
            {"type": "string"},
            "blueprint service: property type: it takes any value in Port; these definitions (and the "
            "action's options) allow only frontend, backend, library",
        ),
        (
            {"type": "number"},
            "blueprint service: property type: its type is 'number' in Port; these definitions need 'string'",
        ),
        (
            {"type": "string", "format": "markdown", "enum": ["frontend", "backend", "library"]},
            "blueprint service: property type: its format is 'markdown' in Port; these definitions need unset",
        ),
    ],
)
def test_property_conflicts(theirs: dict[str, Any], expected: str) -> None:
    held = tenant_service(type=theirs)
    change = plan_blueprint(SERVICE, held, force=False)
    assert change.conflicts == (expected,)
    assert change.after["schema"]["properties"]["type"] == theirs, "without --force the tenant's stays"
    forced = plan_blueprint(SERVICE, held, force=True)
    assert forced.conflicts == (expected,)
    assert forced.after["schema"]["properties"]["type"] == SERVICE["schema"]["properties"]["type"]


def test_relation_conflict() -> None:
    held = tenant_service()
    held["relations"]["domain"] = {"target": "area", "required": False, "many": True}
    change = plan_blueprint(SERVICE, held, force=False)
    assert change.conflicts == (
        "blueprint service: relation domain: it relates to many 'area' in Port; these definitions need one 'domain'",
    )
    assert plan_blueprint(SERVICE, held, force=True).after["relations"]["domain"]["target"] == "domain"


def test_diff_shows_the_exact_change_with_secrets_masked() -> None:
    change = plan_blueprint(SERVICE, tenant_service(), force=False)
    diff = change.diff()
    assert diff.startswith("--- Port: blueprint service\n+++ setup: blueprint service\n")
    assert '+      "lifecycle": {' in diff and '-  "relations": {' not in diff
    secret = 'tok"en\\with-quote'
    register_secret(secret)
    action = action_definition(TEMPLATE, WEBHOOK, secret, token_in_url=False)
    text = plan_action(action, None).diff()
    assert '"token": "****"' in text
    assert secret not in text and json.dumps(secret)[1:-1] not in text, "neither raw nor JSON-escaped"


# --- action and entities ---------------------------------------------------------------------------


def test_action_is_replaced_when_any_key_of_ours_differs() -> None:
    action = action_definition(TEMPLATE, WEBHOOK, "t0k3n", token_in_url=False)
    assert plan_action(action, None).status == CREATED
    held = {**copy.deepcopy(action), "createdAt": "2024-01-01", "allowAnyoneToViewRuns": True}
    assert plan_action(action, held).status == UNCHANGED, "keys Port adds do not count"
    held["invocationMethod"]["url"] = "https://old.example.com/generic-webhook-trigger/invoke"
    change = plan_action(action, held)
    assert change.status == UPDATED and change.after == action
    assert '-    "url": "https://old.example.com' in change.diff()


def test_entity_compares_only_what_an_upsert_with_merge_writes() -> None:
    desired = {
        "identifier": "payment",
        "title": "Payment",
        "properties": {"architecture": "https://a.example"},
    }
    assert plan_entity("domain", desired, None).status == CREATED
    held = {
        "identifier": "payment",
        "title": "Payment",
        "team": ["payments"],
        "properties": {"architecture": "https://a.example", "owner": "dana"},
        "relations": {"parent": "company"},
    }
    assert plan_entity("domain", desired, held).status == UNCHANGED
    held["properties"]["architecture"] = "https://b.example"
    change = plan_entity("domain", desired, held)
    assert change.status == UPDATED and change.name == "entity domain/payment"


# --- the webhook -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://jenkins.example.com", WEBHOOK),
        ("https://jenkins.example.com/", WEBHOOK),
        (
            "http://ci.example.com:8080/jenkins/",
            "http://ci.example.com:8080/jenkins/generic-webhook-trigger/invoke",
        ),
    ],
)
def test_webhook_url_is_jenkins_root_plus_gwt_path(given: str, expected: str) -> None:
    assert webhook_url(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("jenkins.example.com", "is not an http(s) URL"),
        ("ftp://jenkins.example.com", "is not an http(s) URL"),
        ("https://admin:pw@jenkins.example.com", "must not carry credentials"),
        ("https://jenkins.example.com/?token=abc", "without a query or fragment"),
        (
            "https://jenkins.example.com/generic-webhook-trigger/invoke",
            "setup appends /generic-webhook-trigger/invoke",
        ),
    ],
)
def test_webhook_url_refuses_anything_but_a_root_url(given: str, reason: str) -> None:
    with pytest.raises(UsageError, match=r"^--jenkins-url: ") as caught:
        webhook_url(given)
    assert reason in caught.value.message
    assert "pw@" not in caught.value.message, "a password in the URL is never echoed"


def test_token_goes_in_a_header_or_the_query() -> None:
    token = "a&b=c d"
    header = action_definition(TEMPLATE, WEBHOOK, token, token_in_url=False)["invocationMethod"]
    assert header["url"] == WEBHOOK
    assert header["headers"] == {"Content-Type": "application/json", "token": token}
    query = action_definition(TEMPLATE, WEBHOOK, token, token_in_url=True)["invocationMethod"]
    assert "token" not in query["headers"]
    assert parse_qs(urlsplit(query["url"]).query) == {"token": [token]}
    none = action_definition(TEMPLATE, WEBHOOK, None, token_in_url=True)["invocationMethod"]
    assert none["url"] == WEBHOOK and "token" not in none["headers"]
    assert TEMPLATE["invocationMethod"]["url"] == "{{JENKINS_WEBHOOK_URL}}", "the template is not modified"


def test_action_keeps_everything_else_of_the_bundled_definition() -> None:
    action = action_definition(TEMPLATE, WEBHOOK, None, token_in_url=False)
    assert {k: v for k, v in action.items() if k != "invocationMethod"} == {
        k: v for k, v in TEMPLATE.items() if k != "invocationMethod"
    }
    assert action["invocationMethod"]["synchronized"] is False
    assert action["invocationMethod"]["body"]["port_context"]["repo_url"] == "{{ .entity.properties.url }}"
    options = {name: spec.get("enum") for name, spec in action["trigger"]["userInputs"]["properties"].items()}
    service = BLUEPRINTS.by_identifier["service"]
    assert options["type"] == list(service.enums["type"])
    assert options["lifecycle"] == list(service.enums["lifecycle"])


def test_a_template_without_the_placeholder_is_refused() -> None:
    broken = copy.deepcopy(TEMPLATE)
    broken["invocationMethod"]["url"] = "https://example.com"
    with pytest.raises(UsageError, match="JENKINS_WEBHOOK_URL"):
        action_definition(broken, WEBHOOK, None, token_in_url=False)


# --- the --domains file ----------------------------------------------------------------------------


def test_domains_file_gives_entity_bodies() -> None:
    text = """\
- identifier: payment
  title: Payment
  blueprint: domain
  properties:
    architecture: https://lucid.app/documents/embedded/533f05ad
- identifier: shipping
  blueprint: domain
  team: logistics
"""
    assert domain_entities(text, BLUEPRINTS, source="domains.yml") == [
        {
            "identifier": "payment",
            "title": "Payment",
            "properties": {"architecture": "https://lucid.app/documents/embedded/533f05ad"},
        },
        {"identifier": "shipping", "team": "logistics"},
    ]


def test_domains_file_with_problems_is_invalid_input() -> None:
    text = "- identifier: payment\n  blueprint: domain\n  properties:\n    architecture: lucid\n- identifier: x y\n  blueprint: domain\n"
    with pytest.raises(InvalidInputError) as caught:
        domain_entities(text, BLUEPRINTS, source="domains.yml")
    assert caught.value.message.startswith(
        "domains.yml:4: payment: properties.architecture: 'lucid' is not a valid url"
    )
    assert caught.value.message.endswith("(and 1 more problems)")


def test_domains_file_takes_domain_entities_only() -> None:
    text = "- identifier: payment\n  blueprint: domain\n- identifier: web\n  blueprint: service\n"
    with pytest.raises(
        InvalidInputError, match=r"^domains\.yml:3: web: --domains takes domain entities only"
    ):
        domain_entities(text, BLUEPRINTS, source="domains.yml")


def test_an_invocation_overlay_gets_the_actions_body_and_its_values() -> None:
    template = {
        "identifier": "a",
        "invocationMethod": {"type": "WEBHOOK", "url": "x", "body": {"k": "{{ .run.id }}"}},
    }
    action = with_invocation(
        template,
        {"type": "GITHUB", "org": "{{GITHUB_ORG}}", "workflowInputs": "{{BODY}}"},
        {"GITHUB_ORG": "acme"},
    )
    assert action == {
        "identifier": "a",
        "invocationMethod": {"type": "GITHUB", "org": "acme", "workflowInputs": {"k": "{{ .run.id }}"}},
    }
    assert template["invocationMethod"]["type"] == "WEBHOOK", "the bundled definition is not changed"
    with pytest.raises(UsageError, match=re.escape("names {{NOPE}}, which setup does not know")):
        with_invocation(template, {"url": "{{NOPE}}"}, {})
