"""Typed values: a whole-value placeholder takes the blueprint property's type and is checked by it."""

from __future__ import annotations

from typing import Any

import pytest

from port_gitops.errors import InvalidInputError
from port_gitops.model import EnrichValues, blueprints_from
from port_gitops.portyml import merge, render_entities
from port_gitops.properties import compiled_pattern, property_problem

BLUEPRINTS = blueprints_from(
    [
        {
            "identifier": "service",
            "schema": {
                "properties": {
                    "tier": {"type": "string", "enum": ["gold", "silver", "bronze"]},
                    "onCall": {"type": "boolean"},
                    "slo": {"type": "number", "minimum": 0, "maximum": 100},
                    "replicas": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "ports": {"type": "array", "items": {"type": "number"}},
                    "limits": {"type": "object"},
                    "runbook": {"type": "string", "format": "url"},
                    "contact": {"type": "string", "format": "email"},
                    "since": {"type": "string", "format": "date-time"},
                    "ip": {"type": "string", "format": "ipv4"},
                    "ip6": {"type": "string", "format": "ipv6"},
                    "notes": {"type": "string", "format": "markdown"},
                    "code": {"type": "string", "minLength": 2, "maxLength": 4},
                    "name": {"type": "string", "pattern": "^[\\p{L} ]+$"},
                },
                "required": ["tier"],
            },
            "relations": {
                "owners": {"target": "team", "many": True},
                "domain": {"target": "domain", "many": False},
            },
        }
    ],
    "test blueprints",
)
NAMES = {
    "tier": "TIER",
    "onCall": "ON_CALL",
    "slo": "SLO",
    "replicas": "REPLICAS",
    "tags": "TAGS",
    "ports": "PORTS",
    "limits": "LIMITS",
    "runbook": "RUNBOOK",
    "contact": "CONTACT",
    "since": "SINCE",
    "ip": "IP",
    "ip6": "IP6",
    "notes": "NOTES",
    "code": "CODE",
    "name": "NAME",
}
TEMPLATE = (
    'identifier: "{{ var.ENTITY_IDENTIFIER }}"\nblueprint: service\nproperties:\n'
    + "".join(f'  {prop}: "{{{{ var.{var} }}}}"\n' for prop, var in NAMES.items())
    + 'relations:\n  owners: "{{ var.OWNERS }}"\n  domain: "{{ var.DOMAIN }}"\n'
)


def render(
    nulls: tuple[str, ...] = (), strict: bool = True, template: str = TEMPLATE, **variables: str
) -> Any:
    values = EnrichValues.from_variables(
        {"ENTITY_IDENTIFIER": "payments", **variables},
        fields={name: f"inputs.{name.lower()}" for name in [*NAMES.values(), "OWNERS", "DOMAIN"]},
        nulls=nulls,
    )
    [entity] = render_entities(template, values, BLUEPRINTS, strict=strict)
    return entity


def test_each_value_takes_its_property_type() -> None:
    entity = render(
        TIER="gold",
        ON_CALL="true",
        SLO="99.5",
        REPLICAS="87",
        TAGS='["a","b"]',
        PORTS='["80", 443]',
        LIMITS='{"cpu": "1", "memory": 2}',
        RUNBOOK="https://wiki.example.com/payments",
        CONTACT="team@example.com",
        SINCE="2024-05-01T12:00:00Z",
        IP="10.0.0.1",
        IP6="::1",
        NOTES="# any *markdown*",
        CODE="abc",
        NAME="Zoë Ålander",
        OWNERS='["platform","sre"]',
        DOMAIN="billing",
    )
    assert entity["properties"] == {
        "tier": "gold",
        "onCall": True,
        "slo": 99.5,
        "replicas": 87,
        "tags": ["a", "b"],
        "ports": [80, 443],
        "limits": {"cpu": "1", "memory": 2},
        "runbook": "https://wiki.example.com/payments",
        "contact": "team@example.com",
        "since": "2024-05-01T12:00:00Z",
        "ip": "10.0.0.1",
        "ip6": "::1",
        "notes": "# any *markdown*",
        "code": "abc",
        "name": "Zoë Ålander",
    }
    assert entity["relations"] == {"owners": ["platform", "sre"], "domain": "billing"}
    # ... and the written YAML has those types.
    import yaml

    assert yaml.safe_load(merge(None, [entity]).text) == [entity]


def test_a_many_relation_also_takes_a_comma_list_and_a_number_stays_an_integer() -> None:
    entity = render(TIER="gold", OWNERS="platform, sre,", SLO="100")
    assert entity["relations"] == {"owners": ["platform", "sre"]}
    assert entity["properties"]["slo"] == 100 and isinstance(entity["properties"]["slo"], int)


def test_absent_values_are_left_out_and_json_null_clears() -> None:
    entity = render(nulls=("RUNBOOK", "OWNERS"), TIER="gold", ON_CALL="")
    assert entity["properties"] == {"tier": "gold", "runbook": None}
    assert entity["relations"] == {"owners": None}


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"TIER": "platinum"},
            "inputs.tier: 'platinum' is not allowed; expected one of gold, silver, bronze",
        ),
        ({"SLO": "8x"}, "inputs.slo: '8x' is not a number"),
        ({"SLO": "101"}, "inputs.slo: 101 is above the maximum 100"),
        ({"SLO": "-1"}, "inputs.slo: -1 is below the minimum 0"),
        ({"REPLICAS": "8.5"}, "inputs.replicas: '8.5' is not an integer"),
        ({"ON_CALL": "yes"}, "inputs.on_call: 'yes' is not a boolean; expected true or false"),
        ({"TAGS": "a,b"}, "inputs.tags: 'a,b' is not a JSON array"),
        ({"TAGS": "[1]"}, "inputs.tags: item 1: expected a string, not 1 (a number)"),
        ({"PORTS": '["x"]'}, "inputs.ports: 'x' is not a number"),
        ({"LIMITS": "[]"}, "inputs.limits: '[]' is not a JSON object"),
        ({"RUNBOOK": "wiki/page"}, "inputs.runbook: 'wiki/page' is not a valid url"),
        ({"CONTACT": "nobody"}, "inputs.contact: 'nobody' is not a valid email"),
        ({"SINCE": "2024-13-01T00:00:00Z"}, "is not a valid date-time"),
        ({"IP": "300.1.1.1"}, "is not a valid ipv4"),
        ({"IP6": "1.2.3.4"}, "is not a valid ipv6"),
        ({"CODE": "a"}, "inputs.code: 1 characters is below the minLength 2"),
        ({"CODE": "abcde"}, "inputs.code: 5 characters is above the maxLength 4"),
        ({"NAME": "R2D2"}, "inputs.name: 'R2D2' does not match the pattern"),
        ({"OWNERS": '["a b"]'}, "inputs.owners: item 1: 'a b' is not valid; expected a Port identifier"),
        ({"OWNERS": '["a",'}, "inputs.owners: '[\"a\",' is not a JSON array of identifiers"),
        ({"DOMAIN": "bill ing"}, "inputs.domain: 'bill ing' is not valid; expected a Port identifier"),
    ],
)
def test_each_problem_is_one_line_naming_the_field_the_value_and_what_was_expected(
    variables: dict[str, str], expected: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        render(**{"TIER": "gold", **variables})
    assert caught.value.exit_code == 3
    assert expected in caught.value.message
    assert "\n" not in caught.value.message


def test_an_unknown_property_is_refused_against_complete_definitions_only() -> None:
    template = 'identifier: x\nblueprint: service\nproperties:\n  colour: "{{ var.TIER }}"\n'
    with pytest.raises(
        InvalidInputError, match=r"properties\.colour: blueprint service in test blueprints has no"
    ):
        render(template=template, TIER="red")
    assert render(template=template, strict=False, TIER="red")["properties"] == {"colour": "red"}


def test_a_placeholder_inside_a_longer_string_stays_text() -> None:
    template = 'identifier: x\nblueprint: service\nproperties:\n  notes: "SLO {{ var.SLO }}%"\n'
    assert render(template=template, SLO="99.5")["properties"] == {"notes": "SLO 99.5%"}


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("^[\\p{L}0-9_-]+$", "sérvice-1", True),
        ("^[\\p{L}0-9_-]+$", "a b", False),
        ("^\\p{Lu}", "Ωmega", True),
        ("^\\p{Lu}", "ωmega", False),
        ("^\\P{N}+$", "abc", True),
        ("(", "anything", False),  # a broken pattern matches nothing rather than everything
    ],
)
def test_port_patterns_with_unicode_property_classes(pattern: str, value: str, matches: bool) -> None:
    assert (compiled_pattern(pattern).search(value) is not None) is matches
    problem = property_problem(value, {"type": "string", "pattern": pattern})
    assert (problem is None) is matches
