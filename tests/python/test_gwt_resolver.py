"""Whole requests resolved as GWT does: the plugin's own test expectations, then its rules case by case."""

from __future__ import annotations

import json
from typing import Any, Sequence, Tuple

import pytest

from port_gitops.errors import InvalidInputError
from port_gitops.gwt import load_trigger, render_text, resolve, trigger_from_dict

Pairs = Sequence[Tuple[str, str]]


def variables(mapping: dict[str, Any], body: str | None, headers: Pairs = (), params: Pairs = (), **kw: Any):
    trigger = trigger_from_dict(mapping)
    return dict(resolve(trigger, None if body is None else body.encode(), headers, params, **kw).variables)


def one(expression: str, body: str, **fields: Any) -> dict[str, str]:
    return variables({"genericVariables": [{"key": "variableName", "value": expression, **fields}]}, body)


# -- VariablesResolverJsonPathTest's expectations -------------------------------------------------
def test_one_leaf():  # the plugin's one-leaf.json has trailing commas
    assert one("$.user", '{"user": {"name": "Administrator",},}') == {
        "variableName": '{"name":"Administrator"}',
        "variableName_name": "Administrator",
    }


def test_two_leafs():
    assert one("$.user", '{"user": {"name": "Administrator", "username": "root",},}') == {
        "variableName": '{"name":"Administrator","username":"root"}',
        "variableName_name": "Administrator",
        "variableName_username": "root",
    }


def test_one_and_two_list_items():
    assert one("$.user", '{"user": [{"name": "Administrator"}]}') == {
        "variableName": '[{"name":"Administrator"}]',
        "variableName_0_name": "Administrator",
    }
    assert one("$.user", '{"user": [{"name": "Administrator"}, {"username": "root"}]}') == {
        "variableName": '[{"name":"Administrator"},{"username":"root"}]',
        "variableName_0_name": "Administrator",
        "variableName_1_username": "root",
    }


def test_several_mixed_list_items_and_names_with_blanks():
    items = [
        {"name": "Administrator"},
        {"username": "root"},
        "a simple string",
        33333,
        {"a number": "a value"},
        "another simple string",
        66666,
        {"another number": "another value"},
    ]
    result = one("$.user", json.dumps({"user": items}))
    assert result == {
        "variableName": json.dumps(items, separators=(",", ":")),
        "variableName_0_name": "Administrator",
        "variableName_1_username": "root",
        "variableName_2": "a simple string",
        "variableName_3": "33333",
        "variableName_4_a_number": "a value",
        "variableName_5": "another simple string",
        "variableName_6": "66666",
        "variableName_7_another_number": "another value",
    }


def test_root_is_the_raw_body_plus_its_flattening():
    body = '{"user": [{"name": "Administrator"}]}'
    assert one("$", body) == {"variableName": body, "variableName_user_0_name": "Administrator"}
    assert one("$", '{"a": null,"b": "value"}')["variableName"] == '{"a": null,"b": "value"}'


GITLAB_NOTE = json.dumps(
    {
        "object_kind": "note",
        "user": {"name": "Administrator", "username": "root"},
        "project_id": 1,
        "object_attributes": {"id": 28, "project_id": 1, "project": {"id": 1}},
        "commit": {"id": "1c3e5deb451353c34264b98c77836012a2106515", "message": "fixed readme"},
    }
)


def test_deep_scan_with_request_parameters():
    mapping = {
        "genericVariables": [{"key": "ids", "value": "$..id"}],
        "genericRequestVariables": [
            {"key": "reqp1", "regexpFilter": ""},
            {"key": "reqp2", "regexpFilter": ""},
        ],
    }
    params = [("reqp1", "a"), ("reqp1", "b"), ("reqp2", "just one")]
    assert variables(mapping, GITLAB_NOTE, params=params) == {
        "ids": '[28,1,"1c3e5deb451353c34264b98c77836012a2106515"]',
        "ids_0": "28",
        "ids_1": "1",
        "ids_2": "1c3e5deb451353c34264b98c77836012a2106515",
        "reqp1_0": "a",
        "reqp1_1": "b",
        "reqp2": "just one",
        "reqp2_0": "just one",
    }


def test_request_parameters_with_filters():
    mapping = {
        "genericRequestVariables": [
            {"key": "reqp1", "regexpFilter": "[^0-9]"},
            {"key": "reqp3", "regexpFilter": "[^a-z]"},
            {"key": "reqp4", "regexpFilter": ""},
        ]
    }
    params = [
        ("reqp1", "abc123456cdef"),
        ("reqp1", "ABCdef"),
        ("reqp2", "this one will be ignored"),
        ("reqp3", "just one"),
        ("reqp4", "just one"),
        ("reqp4", "just one again"),
    ]
    assert variables(mapping, None, params=params) == {
        "reqp1_0": "123456",
        "reqp1_1": "",
        "reqp3": "justone",
        "reqp3_0": "justone",
        "reqp4_0": "just one",
        "reqp4_1": "just one again",
    }


def test_zero_matches_of_an_indefinite_path_is_an_empty_list():
    assert variables({"genericVariables": [{"key": "ids", "value": "$..abc"}]}, GITLAB_NOTE) == {"ids": "[]"}


def test_one_and_two_variables_with_a_filter():
    mapping = {
        "genericVariables": [
            {"key": "user_name", "value": "$.user.name", "regexpFilter": "[aA]"},
            {"key": "project_id", "value": "$.project_id"},
        ]
    }
    assert variables(mapping, GITLAB_NOTE) == {"user_name": "dministrtor", "project_id": "1"}


def test_payload_variable_and_its_default():
    assert (
        variables({"genericVariables": [{"key": "payload", "value": "$"}]}, GITLAB_NOTE)["payload_user_name"]
        == "Administrator"
    )
    mapping = {
        "genericVariables": [{"key": "payload", "value": "$.doesnotexist", "defaultValue": "the default"}]
    }
    assert variables(mapping, GITLAB_NOTE) == {"payload": "the default"}


GITHUB_PUSH = '{"commits": [{"added": [], "removed": [], "modified": ["README.md"]}]}'


def test_star_and_comma_operators():
    assert one("$.commits[*].modified[*]", GITHUB_PUSH) == {
        "variableName": '["README.md"]',
        "variableName_0": "README.md",
    }
    assert one("$.commits[*].['modified','added','removed'][*]", GITHUB_PUSH) == {
        "variableName": '["README.md"]',
        "variableName_0": "README.md",
    }


# -- values, names and flattening ------------------------------------------------------------------
def test_numbers_and_booleans_are_printed_as_java_does():
    body = '{"i": 1, "d": 1.50, "e": 1E7, "t": true, "long": 1.234567890123456789}'
    result = variables(
        {"genericVariables": [{"key": k.upper(), "value": f"$.{k}"} for k in ("i", "d", "e", "t", "long")]},
        body,
    )
    assert result == {"D": "1.5", "E": "1.0E7", "I": "1", "LONG": "1.234567890123456789", "T": "true"}


def test_null_list_elements_produce_nothing_but_use_up_their_index():
    assert one("$.a", '{"a": ["x", null, "z"]}') == {
        "variableName": '["x",null,"z"]',
        "variableName_0": "x",
        "variableName_2": "z",
    }


def test_objects_and_lists_are_html_safe_gson_but_leaves_are_raw():
    result = one("$.o", '{"o": {"q": "a=b&c<d>", "l": ["it\'s"]}}')
    assert result["variableName"] == '{"q":"a\\u003db\\u0026c\\u003cd\\u003e","l":["it\\u0027s"]}'
    assert result["variableName_q"] == "a=b&c<d>"
    assert result["variableName_l_0"] == "it's"


def test_only_blanks_and_dashes_are_replaced_in_names():
    result = variables({"genericVariables": [{"key": "my-key x", "value": "$"}]}, '{"a.b/c:d": {"e-f g": 1}}')
    assert result["my_key_x_a.b/c:d_e_f_g"] == "1"
    assert result["my-key x"] == '{"a.b/c:d": {"e-f g": 1}}'  # the raw body keeps the raw key
    assert result["my_key_x"] == '{"a.b/c:d":{"e-f g":1}}'


def test_should_not_flatten_keeps_only_the_raw_key():
    mapping = {
        "shouldNotFlatten": True,
        "genericVariables": [{"key": "my-obj", "value": "$.o"}, {"key": "ALL", "value": "$"}],
    }
    body = '{"o": {"x": [1, 2]}, "s": "v"}'
    assert variables(mapping, body) == {"ALL": body, "my-obj": '{"x":[1,2]}'}


def test_regexp_filter_applies_to_every_leaf_and_to_the_json_but_not_to_the_raw_body():
    result = one("$", '{"a": "x1", "b": [2, "y3"]}', regexpFilter="[0-9]")
    assert result == {
        "variableName": '{"a": "x1", "b": [2, "y3"]}',
        "variableName_a": "x",
        "variableName_b_0": "",
        "variableName_b_1": "y",
    }
    assert one("$.b", '{"b": [2, "y3"]}', regexpFilter="[0-9]")["variableName"] == '[,"y"]'


# -- defaultValue ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "default", "expected"),
    [
        ('{"a": "x"}', None, {"V": "x"}),
        ('{"b": "x"}', None, {}),  # missing, no default: absent (GWT <= 2.4.1)
        ('{"a": null}', None, {}),  # JSON null resolves nothing
        ('{"b": "x"}', "", {"V": ""}),
        ('{"b": "x"}', "dflt", {"V": "dflt"}),
        ('{"a": ""}', "dflt", {"V": "dflt"}),  # resolved to "" counts as not resolved
        ('{"a": "123"}', "dflt", {"V": "dflt"}),  # ... also when the filter removed everything
        ('{"a": []}', "dflt", {"V": "[]"}),  # an empty list is JSON text, so resolved
        ("not json at all", None, None),  # refused: Jenkins' lenient parser might read it
    ],
)
def test_default_value_rules(body: str, default: str | None, expected: dict[str, str] | None):
    mapping = {
        "genericVariables": [{"key": "V", "value": "$.a", "regexpFilter": "[0-9]", "defaultValue": default}]
    }
    if expected is None:
        with pytest.raises(InvalidInputError):
            variables(mapping, body)
    else:
        assert variables(mapping, body) == expected


def test_default_goes_under_the_raw_key_and_only_when_nothing_resolved():
    mapping = {"genericVariables": [{"key": "my-var", "value": "$.a", "defaultValue": "d"}]}
    assert variables(mapping, '{"a": "v"}') == {"my_var": "v"}
    assert variables(mapping, '{"b": "v"}') == {"my-var": "d"}


def test_empty_when_missing_gives_unresolved_variables_an_empty_value():
    mapping = {
        "genericVariables": [{"key": "A", "value": "$.a"}, {"key": "B", "value": "$.b", "defaultValue": "d"}]
    }
    assert variables(mapping, '{"c": 1}', empty_when_missing=True) == {"A": "", "B": "d"}
    assert variables(mapping, None, empty_when_missing=True) == {"A": "", "B": "d"}
    assert variables(mapping, None) == {"B": "d"}


# -- headers, parameters, merge order ---------------------------------------------------------------
def test_headers_are_lowercased_and_every_value_numbered():
    mapping = {
        "genericHeaderVariables": [{"key": "X-GitHub-Event"}, {"key": "x-digits", "regexpFilter": "[^0-9]"}]
    }
    headers = [("X-GitHub-Event", "push"), ("x-github-event", "ping"), ("X-Digits", "a1b2"), ("Other", "no")]
    assert variables(mapping, None, headers=headers) == {
        "x_github_event": "push",
        "x_github_event_0": "push",
        "x_github_event_1": "ping",
        "x_digits": "12",
        "x_digits_0": "12",
    }


def test_request_parameter_names_are_case_sensitive():
    mapping = {"genericRequestVariables": [{"key": "Ref"}]}
    assert variables(mapping, None, params=[("ref", "x"), ("Ref", "y")]) == {"Ref": "y", "Ref_0": "y"}


def test_body_overrides_parameters_which_override_headers():
    mapping = {
        "genericHeaderVariables": [{"key": "ref"}],
        "genericRequestVariables": [{"key": "ref"}, {"key": "only"}],
        "genericVariables": [{"key": "ref", "value": "$.ref"}, {"key": "ref", "value": "$.later"}],
    }
    result = variables(
        mapping, '{"ref": "body", "later": "later"}', headers=[("ref", "header")], params=[("ref", "param")]
    )
    assert result["ref"] == "later"  # later genericVariables win too
    assert result["ref_0"] == "param"


def test_variables_are_sorted_like_a_java_tree_map():
    mapping = {
        "genericVariables": [{"key": k, "value": "$.v"} for k in ("b", "B", "a_1", "a", "\uffff", "😀")]
    }
    assert list(variables(mapping, '{"v": "x"}')) == ["B", "a", "a_1", "b", "😀", "\uffff"]


# -- regexpFilterText / regexpFilterExpression -------------------------------------------------------
def test_render_replaces_longest_names_first_in_both_spellings():
    assert render_text("$ab ${a} $a $abc $x", {"a": "1", "ab": "2"}) == "2 1 1 2c $x"


@pytest.mark.parametrize(
    ("text", "expression", "triggered"),
    [
        ("$ref", "^refs/heads/main$", True),
        ("$ref", "^refs/heads/dev$", False),
        ("$missing", "^$", False),  # an unresolved variable stays as `$missing` (GWT issue #380)
        ("", "", True),
        ("$ref", "", True),
        ("", "^$", True),
    ],
)
def test_regexp_filter_decides_whether_it_triggers(text: str, expression: str, triggered: bool):
    mapping = {
        "genericVariables": [{"key": "ref", "value": "$.ref"}],
        "regexpFilterText": text,
        "regexpFilterExpression": expression,
    }
    assert resolve(trigger_from_dict(mapping), b'{"ref": "refs/heads/main"}').triggered is triggered


# -- the bundled mapping, end to end ------------------------------------------------------------------
def test_port_payload_with_the_bundled_mapping():
    body = json.dumps(
        {
            "port_context": {"entity": "svc", "repo_url": "https://bitbucket.org/ws/svc", "runId": "r_1"},
            "domain": "payments",
            "type": "backend",
            "lifecycle": "Production",
        }
    )
    resolution = resolve(
        load_trigger(None), body.encode(), [("X-Port-Signature", "v1,sig"), ("X-Port-Timestamp", "1")]
    )
    assert resolution.triggered
    assert dict(resolution.variables) == {
        "DOMAIN": "payments",
        "ENTITY_IDENTIFIER": "svc",
        "LIFECYCLE": "Production",
        "PORT_PAYLOAD": body,
        "REPO_URL": "https://bitbucket.org/ws/svc",
        "RUN_ID": "r_1",
        "TYPE": "backend",
        "x_port_signature": "v1,sig",
        "x_port_signature_0": "v1,sig",
        "x_port_timestamp": "1",
        "x_port_timestamp_0": "1",
    }


def test_a_deeply_nested_payload_resolves():
    body = "[" * 400 + "1" + "]" * 400
    assert one("$..*", body)["variableName"].startswith("[[")
    assert len(one("$", body)) == 2


def _default_vars(body: Any) -> Any:
    return resolve(load_trigger(None), json.dumps(body).encode()).variables


def test_port_context_sent_as_json_text_by_githubs_workflow_dispatch_is_read_as_json() -> None:
    context = {"entity": "payments", "repo_url": "https://github.com/acme/payments", "runId": "r_1"}
    inputs = {
        "lifecycle": "Production",
        "type": "backend",
        "domain": "billing",
        "port_context": json.dumps(context),
    }
    as_text, as_object = _default_vars(inputs), _default_vars({**inputs, "port_context": context})
    assert as_text["ENTITY_IDENTIFIER"] == "payments" and as_text["RUN_ID"] == "r_1"
    assert {k: v for k, v in as_text.items() if k != "PORT_PAYLOAD"} == {
        k: v for k, v in as_object.items() if k != "PORT_PAYLOAD"
    }
    assert as_text["PORT_PAYLOAD"] == json.dumps(inputs), "$ stays the body as sent"


def test_json_text_is_read_only_where_the_mapping_descends() -> None:
    trigger = trigger_from_dict(
        {"genericVariables": [{"key": "A", "value": "$.a"}, {"key": "B", "value": "$['b'].x"}]}
    )
    body = json.dumps({"a": '{"x": 1}', "b": '{"x": "two"}'}).encode()
    assert dict(resolve(trigger, body).variables) == {"A": '{"x": 1}', "B": "two"}
    plain = json.dumps({"a": "x", "b": "not json"}).encode()
    assert dict(resolve(trigger, plain).variables) == {"A": "x"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [('{"entity": "payments",', "payload.port_context: holds JSON text that is not standard JSON"),
     ("[" * 500 + "]" * 500, "nested deeper than 400")],
)  # fmt: skip
def test_json_text_that_cannot_be_read_is_invalid_input_naming_the_member(text: str, needle: str) -> None:
    with pytest.raises(InvalidInputError, match=needle.replace("(", r"\(")):
        _default_vars({"port_context": text})
