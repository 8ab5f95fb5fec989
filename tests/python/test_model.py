"""Blueprint rules (identifiers, enums, relations) and the validated values of one enrichment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from port_gitops.errors import (
    EXIT_INVALID_INPUT,
    EXIT_USAGE,
    InvalidInputError,
    UsageError,
)
from port_gitops.model import (
    FLAG_FIELDS,
    MAX_IDENTIFIER,
    PAYLOAD_FIELDS,
    EnrichValues,
    identifier_problem,
    load_blueprints,
    payload_fields,
)

GOOD = {
    "ENTITY_IDENTIFIER": "payments",
    "DOMAIN": "billing",
    "TYPE": "backend",
    "LIFECYCLE": "Production",
}


@pytest.mark.parametrize(
    "value",
    [
        "payments",
        "a",
        "...",
        "a.b",
        "x@y_z+1:2\\3/4=5-6",
        "sérvice",
        "サービス",
        "Ωmega",
        "null",
        "true",
        "123",
        "-lead",
        "a" * MAX_IDENTIFIER,
    ],
)
def test_valid_identifiers(value: str) -> None:
    assert identifier_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".",
        "..",
        "a b",
        "a\nb",
        "Production\nowner: evil",
        "{{ other }}",
        "' ; rm -rf /",
        "*anchor",
        "!!python/object",
        "&x",
        "# c",
        ": ",
        "a,b",
        "٣",
        "a" * (MAX_IDENTIFIER + 1),
        5,
        None,
    ],
)
def test_invalid_identifiers(value: object) -> None:
    problem = identifier_problem(value)
    assert problem is not None and "\n" not in problem
    assert "expected a Port identifier" in problem


def test_bundled_blueprints_hold_the_service_and_domain_model() -> None:
    blueprints = load_blueprints(None)
    assert blueprints.allowed("service", "type") == ("frontend", "backend", "library")
    assert blueprints.allowed("service", "lifecycle") == (
        "Production",
        "Experimental",
        "Deprecated",
    )
    relation = blueprints.by_identifier["service"].relations["domain"]
    assert (relation.target, relation.many) == ("domain", False)
    domain = next(d for d in blueprints.definitions if d["identifier"] == "domain")
    assert domain["schema"]["properties"]["architecture"]["spec"] == "embedded-url"
    service = next(d for d in blueprints.definitions if d["identifier"] == "service")
    for prop in ("type", "lifecycle"):
        assert set(service["schema"]["properties"][prop]["enumColors"]) == set(
            blueprints.allowed("service", prop)
        )


def test_action_inputs_offer_exactly_the_blueprint_enums() -> None:
    action = json.loads((REPO / "resources/io/port/gitops/action.json").read_text(encoding="utf-8"))
    blueprints = load_blueprints(str(REPO / "resources/io/port/gitops/blueprints.json"))
    inputs = action["trigger"]["userInputs"]["properties"]
    for prop in ("type", "lifecycle"):
        assert tuple(inputs[prop]["enum"]) == blueprints.allowed("service", prop)


def _write(tmp_path: Path, content: object) -> str:
    path = tmp_path / "blueprints.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"blueprints": [\n  {,}\n]}', "line 2"),
        ([], 'a JSON object with a "blueprints" list'),
        ({"blueprints": {}}, "blueprints: expected a JSON list"),
        ({"blueprints": [{"schema": {"properties": {}}}]}, "blueprints[0].identifier"),
        ({"blueprints": [{"identifier": "s"}]}, "blueprints[0].schema"),
        (
            {"blueprints": [{"identifier": "s", "schema": {"properties": {"t": {"enum": "x"}}}}]},
            "blueprints[0].schema.properties.t.enum",
        ),
        (
            {
                "blueprints": [
                    {
                        "identifier": "s",
                        "schema": {"properties": {"t": {"enum": ["a"], "enumColors": {"b": "red"}}}},
                    }
                ]
            },
            "blueprints[0].schema.properties.t: enum must be",
        ),
        (
            {
                "blueprints": [
                    {
                        "identifier": "s",
                        "schema": {"properties": {}},
                        "relations": {"d": {"many": False}},
                    }
                ]
            },
            "blueprints[0].relations.d.target",
        ),
        ({"blueprints": ["service"]}, "blueprints[0]: expected a blueprint object"),
        (
            {"blueprints": [{"identifier": "s", "schema": {"properties": {"t": "string"}}}]},
            "blueprints[0].schema.properties.t: expected a property object",
        ),
        (
            {
                "blueprints": [
                    {
                        "identifier": "s",
                        "schema": {"properties": {}},
                        "relations": {"d": "x"},
                    }
                ]
            },
            "blueprints[0].relations.d: expected a relation object",
        ),
    ],
)
def test_a_bad_blueprints_file_is_a_usage_error_naming_the_field(
    tmp_path: Path, content: object, named: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(UsageError) as caught:
        load_blueprints(path)
    assert caught.value.exit_code == EXIT_USAGE
    assert path in caught.value.message and named in caught.value.message


def test_an_unreadable_blueprints_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="PORT_GITOPS_BLUEPRINTS: cannot read"):
        load_blueprints(str(tmp_path / "absent.json"))


def test_an_enum_the_blueprints_lack_is_a_usage_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"blueprints": [{"identifier": "service", "schema": {"properties": {}}}]},
    )
    with pytest.raises(UsageError, match="blueprint 'service' has no enum property 'type'"):
        EnrichValues.from_variables(GOOD).validate(load_blueprints(path))


def test_from_variables_picks_the_mapping_variables() -> None:
    variables = {
        **GOOD,
        "RUN_ID": "r_1",
        "REPO_URL": "https://bitbucket.org/w/r",
        "OWNER": "team-a",
    }
    values = EnrichValues.from_variables(variables)
    assert (values.entity, values.domain, values.type, values.lifecycle) == (
        "payments",
        "billing",
        "backend",
        "Production",
    )
    assert (values.run_id, values.repo_url) == ("r_1", "https://bitbucket.org/w/r")
    assert values.variables["OWNER"] == "team-a"
    values.validate(load_blueprints(None))


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("ENTITY_IDENTIFIER", "port_context.entity"),
        ("DOMAIN", "domain"),
        ("TYPE", "type"),
        ("LIFECYCLE", "lifecycle"),
    ],
)
@pytest.mark.parametrize("absent", [None, ""])
def test_a_missing_required_value_names_the_payload_field(
    variable: str, field: str, absent: str | None
) -> None:
    variables = {k: v for k, v in GOOD.items() if k != variable}
    if absent is not None:
        variables[variable] = absent
    with pytest.raises(InvalidInputError) as caught:
        EnrichValues.from_variables(variables)
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: missing; expected ")


def test_optional_values_default_to_none() -> None:
    values = EnrichValues.from_variables({**GOOD, "RUN_ID": ""})
    assert values.run_id is None and values.repo_url is None


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        (
            "ENTITY_IDENTIFIER",
            "pay ments",
            "port_context.entity",
            "expected a Port identifier",
        ),
        ("DOMAIN", "*anchor", "domain", "expected a Port identifier"),
        ("TYPE", "Backend", "type", "expected one of frontend, backend, library"),
        (
            "LIFECYCLE",
            "Production\nowner: evil",
            "lifecycle",
            "expected one of Production, Experimental, Deprecated",
        ),
        ("LIFECYCLE", "{{ other }}", "lifecycle", "is not allowed"),
        ("TYPE", "!!python/object", "type", "is not allowed"),
    ],
)
def test_validate_names_the_field_and_what_was_expected(
    name: str, value: str, field: str, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        EnrichValues.from_variables({**GOOD, name: value}).validate(load_blueprints(None))
    assert caught.value.field == field
    assert expected in caught.value.message
    assert "\n" not in caught.value.message
    assert repr(value) in caught.value.message  # control characters shown escaped


def test_values_from_flags_are_named_by_their_flags() -> None:
    values = EnrichValues.from_flags(entity="payments", domain="billing", type="backend", lifecycle="Nope")
    assert values.variables == GOOD | {"LIFECYCLE": "Nope"}
    with pytest.raises(InvalidInputError) as caught:
        values.validate(load_blueprints(None))
    assert caught.value.field == FLAG_FIELDS["lifecycle"] == "--lifecycle"
    with pytest.raises(InvalidInputError, match=r"^--domain: missing"):
        EnrichValues.from_flags(entity="payments", domain="", type="backend", lifecycle="Production")


def test_problems_of_a_port_yml_entity() -> None:
    blueprints = load_blueprints(None)
    good = {
        "identifier": "payments",
        "blueprint": "service",
        "properties": {"type": "backend", "url": "x"},
        "relations": {"domain": "billing"},
    }
    assert blueprints.problems(good) == []
    bad = {
        "identifier": "a b",
        "blueprint": "service",
        "properties": {"type": "mainframe", "lifecycle": 1},
        "relations": {"domain": ["a", "b"]},
    }
    problems = blueprints.problems(bad)
    assert problems[0].startswith("identifier: 'a b' is not valid")
    assert any("properties.type: 'mainframe' is not allowed" in p for p in problems)
    assert any("properties.lifecycle: 1 is not allowed" in p for p in problems)
    assert any("relations.domain: ['a', 'b'] is not a string" in p for p in problems)
    # Other teams' blueprints are not ours to judge beyond the identifier.
    assert blueprints.problems({"identifier": "x", "blueprint": "other", "properties": {"type": "?"}}) == []
    with pytest.raises(InvalidInputError, match=r"^identifier: 'a b'"):
        blueprints.check([good, bad])


def test_payload_fields_follow_the_mapping() -> None:
    assert payload_fields({"ENTITY_IDENTIFIER": "$.port_context.entity", "TYPE": "$.type"}) == PAYLOAD_FIELDS
    named = payload_fields({"ENTITY_IDENTIFIER": "$.entity.identifier", "DOMAIN": "$['d']"})
    assert (named["entity"], named["domain"], named["lifecycle"]) == (
        "entity.identifier",
        "$['d']",
        "lifecycle",
    )
