"""Loading GenericTrigger mappings: the bundled one, JSON or YAML files, and every refusal at load time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

from port_gitops.errors import EXIT_USAGE, UsageError
from port_gitops.gwt import load_trigger, trigger_from_dict

PORT_MAPPING = {
    "LIFECYCLE": "$.lifecycle",
    "TYPE": "$.type",
    "DOMAIN": "$.domain",
    "ENTITY_IDENTIFIER": "$.port_context.entity",
    "REPO_URL": "$.port_context.repo_url",
    "RUN_ID": "$.port_context.runId",
    "ACTION": "$.port_context.action",
    "PORT_PAYLOAD": "$",
}


def test_bundled_mapping_is_ports_enrich_mapping():
    trigger = load_trigger(None)
    assert {v.key: v.expression for v in trigger.generic_variables} == PORT_MAPPING
    assert [h.key for h in trigger.header_variables] == ["x-port-signature", "x-port-timestamp"]
    assert trigger.should_not_flatten is True
    assert trigger.regexp_filter_expression is None


def test_bundled_mapping_is_the_resources_file():
    source = yaml.safe_load(
        (REPO / "resources/io/port/gitops/actions/service_enrich_service/trigger.yml").read_text(
            encoding="utf-8"
        )
    )
    assert load_trigger(None) == trigger_from_dict(source)


def test_json_and_yaml_files_are_read_alike(tmp_path: Path):
    mapping = {
        "genericVariables": [
            {
                "key": "ref",
                "value": "$.ref",
                "expressionType": "JSONPath",
                "regexpFilter": "",
                "defaultValue": "",
            },
            {"key": "id", "value": "$..id", "regexpFilter": "[^0-9]"},
        ],
        "genericRequestVariables": [{"key": "token_param"}],
        "shouldNotFlatten": False,
        "regexpFilterText": "$ref",
        "regexpFilterExpression": "^refs/heads/main$",
    }
    as_json = tmp_path / "gwt.json"
    as_json.write_text(json.dumps(mapping), encoding="utf-8")
    as_yaml = tmp_path / "gwt.yml"
    as_yaml.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    assert load_trigger(str(as_json)) == load_trigger(str(as_yaml))
    trigger = load_trigger(str(as_yaml))
    assert trigger.generic_variables[0].regexp_filter is None  # an empty filter is no filter
    assert trigger.generic_variables[0].default_value == ""
    assert trigger.generic_variables[1].default_value is None
    assert trigger.regexp_filter_text == "$ref"


def test_deprecated_should_not_flattern_spelling_is_honoured():
    assert trigger_from_dict({"shouldNotFlattern": True}).should_not_flatten is True


def test_an_empty_expression_is_kept_and_never_evaluated():
    variable = trigger_from_dict({"genericVariables": [{"key": "K", "value": ""}]}).generic_variables[0]
    assert variable.path is None


def post_variable(**fields: Any) -> dict[str, Any]:
    return {"genericVariables": [{"key": "A", "value": "$.a"}, {"key": "B", "value": "$.b"}, fields]}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            post_variable(key="X", value="/x", expressionType="XPath"),
            "genericVariables[2].expressionType: XPath is not supported; use JSONPath",
        ),
        (
            post_variable(key="X", value="$.x", expressionType="jsonpath"),
            "genericVariables[2].expressionType: must be",
        ),
        (post_variable(value="$.x"), "genericVariables[2].key: is required"),
        (post_variable(key="", value="$.x"), "genericVariables[2].key: must not be empty"),
        (post_variable(key="X"), "genericVariables[2].value: is required"),
        (
            post_variable(key="X", value="$.x", defaultValue=0),
            "genericVariables[2].defaultValue: must be a string",
        ),
        (post_variable(key="X", value="$.x", token="t"), "genericVariables[2].token: unknown parameter"),
        (
            post_variable(key="X", value="$.x[y]"),
            "genericVariables[2].value: '$.x[y]' is not a JSONPath Jenkins accepts",
        ),
        (post_variable(key="X", value="$[::2]"), "genericVariables[2].value: '$[::2]' is not a JSONPath"),
        (
            post_variable(key="X", value="$.x.min()"),
            "genericVariables[2].value: '$.x.min()' cannot be evaluated",
        ),
        (
            post_variable(key="X", value="$.x", regexpFilter="\\p{L}"),
            "genericVariables[2].regexpFilter: '\\\\p{L}'",
        ),
        (
            {"genericHeaderVariables": [{"key": "h", "value": "$"}]},
            "genericHeaderVariables[0].value: unknown",
        ),
        ({"genericRequestVariables": {"key": "p"}}, "genericRequestVariables: must be a list"),
        ({"shouldNotFlatten": "yes"}, "shouldNotFlatten: must be true or false"),
        ({"regexpFilterExpression": "(?i)main"}, "regexpFilterExpression: '(?i)main'"),
        ({"token": "abc"}, "trigger.token: unknown parameter"),
        (["genericVariables"], "trigger: must be a mapping"),
    ],
)
def test_mistakes_are_usage_errors_naming_the_field(mapping: Any, message: str):
    with pytest.raises(UsageError) as raised:
        trigger_from_dict(mapping)
    assert raised.value.exit_code == EXIT_USAGE
    assert raised.value.message.startswith(message)


def test_a_file_error_names_the_file(tmp_path: Path):
    broken = tmp_path / "gwt.yml"
    broken.write_text(
        "genericVariables:\n  - {key: A, value: '$.a', expressionType: XPath}\n", encoding="utf-8"
    )
    with pytest.raises(
        UsageError, match=r"genericVariables\[0\].expressionType: XPath is not supported.*gwt\.yml"
    ):
        load_trigger(str(broken))


def test_unreadable_or_unparsable_files_are_usage_errors(tmp_path: Path):
    with pytest.raises(UsageError, match="cannot read it"):
        load_trigger(str(tmp_path / "missing.yml"))
    garbage = tmp_path / "garbage.yml"
    garbage.write_text("genericVariables: [\n", encoding="utf-8")
    with pytest.raises(UsageError, match="neither JSON nor YAML"):
        load_trigger(str(garbage))
