"""validate_text: each class of problem found, with its line and entity; clean files stay clean."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

from port_gitops.model import Blueprints, EnrichValues, blueprints_from, load_blueprints
from port_gitops.portyml import merge, render_entities
from port_gitops.sandbox.example import EXISTING_PORT_YML
from port_gitops.validate import Problem, validate_text

BUNDLED = load_blueprints()
GUIDE_DOMAINS = """\
- identifier: payment
  title: Payment
  blueprint: domain
  properties:
    architecture: https://lucid.app/documents/embedded/533f05ad-aa68-43ce-9499-c5f767dc8ea5
- identifier: shipping
  title: Shipping
  blueprint: domain
  properties:
    architecture: https://lucid.app/documents/embedded/533f05ad-aa68-43ce-9499-c5f767dc8ea5
"""
# A team's own blueprint: every property type and format the checks know, required members.
TEAM = blueprints_from(
    [
        {
            "identifier": "microservice",
            "title": "Microservice",
            "schema": {
                "properties": {
                    "owner": {"type": "string", "format": "email"},
                    "oncall": {"type": "string", "format": "user"},
                    "docs": {"type": "string", "format": "url"},
                    "released": {"type": "string", "format": "date-time"},
                    "ip": {"type": "string", "format": "ipv4"},
                    "ip6": {"type": "string", "format": "ipv6"},
                    "replicas": {"type": "number"},
                    "public": {"type": "boolean"},
                    "labels": {"type": "object"},
                    "tiers": {"type": "array", "items": {"type": "string", "enum": ["gold", "silver"]}},
                    "ports": {"type": "array", "items": {"type": "number"}},
                    "level": {"type": "number", "enum": [1, 2, 3]},
                },
                "required": ["owner"],
            },
            "relations": {
                "system": {"target": "system", "required": True, "many": False},
                "consumers": {"target": "microservice", "required": False, "many": True},
            },
        }
    ],
    "team.json",
)
VALID_TEAM_ENTITY = """\
identifier: checkout
blueprint: microservice
properties:
  owner: dana@example.com
relations:
  system: shop
"""


def check(text: str, blueprints: Blueprints = BUNDLED, **kwargs: bool) -> list[Problem]:
    return validate_text(textwrap.dedent(text), blueprints, source="port.yml", **kwargs)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


# --- clean files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(EXISTING_PORT_YML, id="the sandbox's hand-commented service"),
        pytest.param(GUIDE_DOMAINS, id="the guide's domains"),
        pytest.param(
            VALID_TEAM_ENTITY.replace("microservice", "service").split("properties")[0], id="object form"
        ),
        pytest.param("", id="empty file"),
        pytest.param("# only a comment\n", id="only comments"),
    ],
)
def test_clean_files_have_no_problems(text: str) -> None:
    assert check(text) == []


def test_what_enrich_writes_is_clean() -> None:
    variables = {
        "ENTITY_IDENTIFIER": "payments",
        "DOMAIN": "billing",
        "TYPE": "backend",
        "LIFECYCLE": "Production",
    }
    values = EnrichValues.from_variables(variables, fields={})
    template = (REPO / "templates" / "enrichService.yml").read_text(encoding="utf-8")
    entities = render_entities(template, values, load_blueprints(None), source="template")
    merged = merge(EXISTING_PORT_YML, entities, source="port.yml")
    assert "payments" in merged.text
    assert check(merged.text) == []


def test_a_team_entity_with_every_member_valid_is_clean() -> None:
    text = """\
    identifier: checkout
    title: Checkout
    blueprint: microservice
    team: [payments-team]
    icon: Microservice
    properties:
      owner: dana@example.com
      oncall: sam@example.com
      docs: https://wiki.example.com/checkout
      released: 2024-05-01T12:00:00Z
      ip: 10.0.0.1
      ip6: "::1"
      replicas: 3
      public: false
      labels: {team: payments}
      tiers: [gold]
      ports: [80, 443]
      level: 2
    relations:
      system: shop
      consumers: [cart, search]
    """
    assert check(text, TEAM) == []


# --- one problem of each class, with its line and entity -------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "entity", "message"),
    [
        pytest.param(
            "- identifier: web\n  blueprint: service\n  properties:\n    type: mobile\n",
            4,
            "web",
            "properties.type: 'mobile' is not allowed; expected one of frontend, backend, library",
            id="enum value",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  properties:\n    lifecycle: 1.0\n",
            4,
            "web",
            "properties.lifecycle: expected a string, not 1.0 (a number); quote it to keep it text",
            id="property type, with the YAML hint",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  relations:\n    domain: [billing, shop]\n",
            4,
            "web",
            "relations.domain: relates to one domain entity: expected one identifier, not a list",
            id="single relation given a list",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  relations:\n    domain: bill ing\n",
            4,
            "web",
            "relations.domain: 'bill ing' is not valid; expected a Port identifier",
            id="relation target identifier",
        ),
        pytest.param(
            "- identifier: my service\n  blueprint: service\n",
            1,
            "my service",
            "identifier: 'my service' is not valid; expected a Port identifier",
            id="identifier rule",
        ),
        pytest.param(
            "- identifier: ..\n  blueprint: service\n", 1, "..", "identifier: '..' is not valid", id="dot-dot"
        ),
        pytest.param(
            "- blueprint: service\n  properties: {type: backend}\n",
            1,
            None,
            "identifier: missing; expected a Port identifier",
            id="missing identifier",
        ),
        pytest.param(
            "- identifier: web\n  properties: {type: backend}\n",
            1,
            "web",
            "blueprint: missing; expected the identifier of the entity's blueprint",
            id="missing blueprint",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: servise\n",
            2,
            "web",
            "blueprint: 'servise' is not defined in bundled blueprints.json",
            id="unknown blueprint",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  propertes: {type: backend}\n",
            3,
            "web",
            "unknown field 'propertes'; expected identifier, title, blueprint",
            id="unknown field",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  properties:\n    type: backend\n    type: library\n",
            5,
            "web",
            "properties.type: repeated (first on line 4); only the last one counts",
            id="repeated key",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n- identifier: web\n  blueprint: service\n",
            3,
            "web",
            "identifier: service 'web' is already defined on line 1",
            id="repeated entity",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  title: [a]\n",
            3,
            "web",
            "title: expected text, not a list",
            id="title type",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  team: {name: x}\n",
            3,
            "web",
            "team: expected a team name or a list of team names",
            id="team type",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  properties: [type, backend]\n",
            3,
            "web",
            "properties: expected a mapping of properties to values",
            id="properties not a mapping",
        ),
        pytest.param(
            "- identifier: arch\n  blueprint: domain\n  properties:\n    architecture: lucid diagram\n",
            4,
            "arch",
            "properties.architecture: 'lucid diagram' is not a valid url; expected an http(s) URL",
            id="url format",
        ),
        pytest.param(
            "- identifier: web\n  blueprint: service\n  properties:\n    type: [backend]\n",
            4,
            "web",
            "properties.type: expected a string, not a list",
            id="list for a string",
        ),
    ],
)
def test_each_problem_class_is_found_with_line_and_entity(
    text: str, line: int, entity: str | None, message: str
) -> None:
    problem = only(check(text))
    assert (problem.file, problem.line, problem.entity) == ("port.yml", line, entity)
    assert problem.message.startswith(message), problem.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "owner: not-an-address",
            "properties.owner: 'not-an-address' is not a valid email; expected an e-mail",
        ),
        ("oncall: sam", "properties.oncall: 'sam' is not a valid user"),
        ("docs: ftp//wiki", "properties.docs: 'ftp//wiki' is not a valid url"),
        ("released: '2024-13-01T00:00'", "properties.released: '2024-13-01T00:00' is not a valid date-time"),
        ("released: yesterday", "properties.released: 'yesterday' is not a valid date-time"),
        ("ip: 10.0.0.300", "properties.ip: '10.0.0.300' is not a valid ipv4"),
        ("ip6: '10.0.0.1'", "properties.ip6: '10.0.0.1' is not a valid ipv6"),
        ("replicas: 'three'", "properties.replicas: expected a number, not 'three'"),
        ("replicas: true", "properties.replicas: expected a number, not true (a boolean)"),
        ("public: 'yes'", "properties.public: expected a boolean, not 'yes'"),
        ("labels: [a]", "properties.labels: expected an object, not a list"),
        ("tiers: gold", "properties.tiers: expected a list, not 'gold'"),
        (
            "tiers: [gold, bronze]",
            "properties.tiers: item 2: 'bronze' is not allowed; expected one of gold, silver",
        ),
        ("ports: [80, http]", "properties.ports: item 2: expected a number, not 'http'"),
        ("level: 4", "properties.level: 4 (a number) is not allowed; expected one of 1, 2, 3"),
        ("level: true", "properties.level: expected a number, not true (a boolean)"),  # though True == 1
    ],
)
def test_property_types_and_formats(value: str, message: str) -> None:
    line = f"  {value}\n" if value.startswith("owner:") else f"  owner: dana@example.com\n  {value}\n"
    text = VALID_TEAM_ENTITY.replace("  owner: dana@example.com\n", line)
    problem = only(check(text, TEAM))
    assert problem.line == (4 if value.startswith("owner:") else 5) and problem.entity == "checkout"
    assert problem.message.startswith(message), problem.message


def test_an_unquoted_timestamp_is_a_date_time_but_not_text() -> None:
    text = VALID_TEAM_ENTITY.replace("relations:", "  released: 2024-05-01 12:00:00\nrelations:")
    assert check(text, TEAM) == []
    text = VALID_TEAM_ENTITY.replace("dana@example.com", "2024-05-01")
    assert "expected a string, not 2024-05-01 (a date); quote it" in only(check(text, TEAM)).message


def test_required_properties_and_relations() -> None:
    problems = check("identifier: checkout\nblueprint: microservice\nproperties:\n  replicas: 2\n", TEAM)
    assert [(p.line, p.message) for p in problems] == [
        (1, "relations.system: missing; blueprint microservice requires it"),
        (3, "properties.owner: missing; blueprint microservice requires it"),
    ]
    null = VALID_TEAM_ENTITY.replace("system: shop", "system: null")
    assert only(check(null, TEAM)).message == "relations.system: missing; blueprint microservice requires it"


def test_many_relations_take_lists_of_identifiers() -> None:
    given_one = VALID_TEAM_ENTITY + "  consumers: cart\n"
    assert only(check(given_one, TEAM)).message.startswith(
        "relations.consumers: relates to many microservice entities: expected a list of identifiers, not 'cart'"
    )
    bad_item = VALID_TEAM_ENTITY + "  consumers: [cart, 'a b']\n"
    assert only(check(bad_item, TEAM)).message.startswith("relations.consumers: item 2: 'a b' is not valid")
    search = VALID_TEAM_ENTITY + "  consumers: {combinator: and, rules: []}\n"
    assert check(search, TEAM) == []


def test_members_a_blueprint_lacks_count_only_against_complete_definitions() -> None:
    text = "- identifier: web\n  blueprint: service\n  properties:\n    url: https://x.example\n    lifecyle: Production\n"
    assert check(text) == [], "the bundled definitions describe only part of the tenant's service"
    problems = check(text, complete=True)
    assert [(p.line, p.message) for p in problems] == [
        (4, "properties.url: service has no such property"),
        (5, "properties.lifecyle: service has no such property"),
    ]
    relation = "- identifier: web\n  blueprint: service\n  relations:\n    system: shop\n"
    assert only(check(relation, complete=True)).message == "relations.system: service has no such relation"


def test_every_problem_is_reported_in_line_order() -> None:
    text = """\
    - identifier: payments-worker
      blueprint: service
      properties:
        type: worker
        lifecycle: Production
    - identifier: bad id
      blueprint: service
      relations:
        domain: [billing]
    - identifier: shop
      blueprint: domian
    """
    problems = check(text)
    assert [(p.line, p.entity) for p in problems] == [
        (4, "payments-worker"),
        (6, "bad id"),
        (9, "bad id"),
        (11, "shop"),
    ]
    assert [p.blueprint for p in problems] == ["service", "service", "service", "domian"]


def test_unparsable_files_are_one_problem_with_its_line() -> None:
    problem = only(check("- identifier: web\n  blueprint: [service\n"))
    assert problem.line == 3 and problem.entity is None and "not valid YAML" in problem.message
    problem = only(check("- identifier: web\n  blueprint: service\n- just text\n"))
    assert (problem.line, problem.message) == (3, "expected an entity (a mapping)")
    problem = only(check("just text\n"))
    assert (problem.line, problem.message) == (1, "expected an entity or a list of entities")


def test_anchors_aliases_and_merge_keys() -> None:
    text = """\
    - &web
      identifier: web
      blueprint: service
      properties: &props
        type: backend
    - identifier: api
      blueprint: service
      properties: *props
    - <<: *web
      identifier: web2
      properties:
        type: mobile
    """
    problem = only(check(text))
    assert (problem.line, problem.entity) == (12, "web2")
    assert problem.message.startswith("properties.type: 'mobile' is not allowed")


def test_problem_as_text() -> None:
    assert (
        str(Problem("a/port.yml", 7, "web", "properties.type: bad"))
        == "a/port.yml:7: web: properties.type: bad"
    )
    assert str(Problem("a/port.yml", 2, None, "not valid YAML")) == "a/port.yml:2: not valid YAML"


def test_definitions_from_a_file_are_the_ones_checked(tmp_path: Path) -> None:
    path = tmp_path / "blueprints.json"
    bundled = json.loads((REPO / "resources/io/port/gitops/blueprints.json").read_text(encoding="utf-8"))
    bundled["blueprints"][1]["schema"]["properties"]["type"]["enum"].append("mobile")
    path.write_text(json.dumps(bundled), encoding="utf-8")
    text = "- identifier: app\n  blueprint: service\n  properties:\n    type: mobile\n"
    assert check(text, load_blueprints(str(path))) == []
    assert check(text) != []
