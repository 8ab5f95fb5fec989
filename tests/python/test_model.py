"""Blueprint rules (identifiers, enums, relations) and the structural values of one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from port_gitops.errors import EXIT_INVALID_INPUT, EXIT_USAGE, InvalidInputError, UsageError
from port_gitops.model import (
    MAX_IDENTIFIER,
    EnrichValues,
    field_names,
    identifier_problem,
    load_blueprints,
)

GOOD = {
    "ENTITY_IDENTIFIER": "payments",
    "DOMAIN": "billing",
    "TYPE": "backend",
    "LIFECYCLE": "Production",
    "TIER": "gold",
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
    service = blueprints.by_identifier["service"]
    assert service.enums["type"] == ("frontend", "backend", "library")
    assert service.enums["lifecycle"] == ("Production", "Experimental", "Deprecated")
    relation = service.relations["domain"]
    assert (relation.target, relation.many) == ("domain", False)
    domain = blueprints.definition("domain")
    assert domain is not None and domain["schema"]["properties"]["architecture"]["spec"] == "embedded-url"
    definition = blueprints.definition("service")
    assert definition is not None
    for prop in ("type", "lifecycle"):
        assert set(definition["schema"]["properties"][prop]["enumColors"]) == set(service.enums[prop])


def test_action_inputs_offer_exactly_the_blueprint_enums() -> None:
    folder = REPO / "resources/io/port/gitops/actions/service_enrich_service"
    action = json.loads((folder / "action.json").read_text(encoding="utf-8"))
    blueprints = load_blueprints(str(REPO / "resources/io/port/gitops/blueprints.json"))
    inputs = action["trigger"]["userInputs"]["properties"]
    for prop in ("type", "lifecycle"):
        assert tuple(inputs[prop]["enum"]) == blueprints.by_identifier["service"].enums[prop]


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


def test_from_variables_picks_the_structural_values_and_keeps_every_variable() -> None:
    variables = {**GOOD, "RUN_ID": "r_1", "REPO_URL": "https://bitbucket.org/w/r", "OWNER": "team-a"}
    values = EnrichValues.from_variables(variables, fields={})
    assert (values.entity, values.run_id, values.repo_url) == ("payments", "r_1", "https://bitbucket.org/w/r")
    assert values.variables == variables


@pytest.mark.parametrize("absent", [None, ""])
def test_a_missing_required_value_names_its_field_and_what_it_is(absent: str | None) -> None:
    variables = {k: v for k, v in GOOD.items() if k != "TIER"}
    if absent is not None:
        variables["TIER"] = absent
    with pytest.raises(InvalidInputError) as caught:
        EnrichValues.from_variables(variables, fields={"TIER": "inputs.tier"}, required={"TIER": "the tier"})
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert caught.value.message == "inputs.tier: missing; expected the tier"


def test_the_entity_is_always_required_and_must_be_an_identifier() -> None:
    fields = {"ENTITY_IDENTIFIER": "port_context.entity"}
    with pytest.raises(
        InvalidInputError, match=r"^port_context.entity: missing; expected the team identifier"
    ):
        EnrichValues.from_variables({}, fields=fields, entity_kind="team")
    with pytest.raises(InvalidInputError, match=r"^port_context.entity: 'pay ments' is not valid"):
        EnrichValues.from_variables({"ENTITY_IDENTIFIER": "pay ments"}, fields=fields)


def test_optional_values_default_to_none_and_nulls_are_kept_apart() -> None:
    values = EnrichValues.from_variables({**GOOD, "RUN_ID": ""}, fields={}, nulls=["NOTE", "TYPE"])
    assert values.run_id is None and values.repo_url is None
    assert values.nulls == frozenset({"NOTE"})  # a variable with a value is not null
    assert values.given("NOTE") and values.given("TYPE") and not values.given("OTHER")


def test_field_names_follow_the_mapping() -> None:
    assert field_names({"ENTITY_IDENTIFIER": "$.port_context.entity", "D": "$['d']", "P": "$"}) == {
        "ENTITY_IDENTIFIER": "port_context.entity",
        "D": "$['d']",
        "P": "$",
    }
