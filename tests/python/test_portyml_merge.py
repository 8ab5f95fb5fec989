"""Merging into an existing port.yml: only what the template sets changes, every other byte stays."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from port_gitops.errors import EXIT_INVALID_INPUT, InvalidInputError, UsageError
from port_gitops.portyml import MergeResult, merge

PAYMENTS: dict[str, Any] = {
    "identifier": "payments",
    "blueprint": "service",
    "properties": {"type": "backend", "lifecycle": "Production"},
    "relations": {"domain": "billing"},
}
NEW_ITEM = """\
- identifier: payments
  blueprint: service
  properties:
    type: backend
    lifecycle: Production
  relations:
    domain: billing
"""


def merged(existing: str | None, entities: list[dict[str, Any]] | None = None) -> MergeResult:
    """Merge, then check what must hold for every merge: it loads, and merging again changes nothing."""
    result = merge(existing, entities or [PAYMENTS])
    yaml.safe_load(result.text)
    again = merge(result.text, entities or [PAYMENTS])
    assert not again.changed and again.text == result.text and again.changes == ()
    return result


def test_no_existing_file_creates_a_list() -> None:
    result = merged(None)
    assert (result.text, result.changed, result.created) == (NEW_ITEM, True, True)
    assert result.changes == ("service payments: added",)


def test_object_form_with_only_the_entity_stays_object_form_and_keeps_every_other_byte() -> None:
    existing = (
        "# Service catalog entry\n"
        "identifier: payments   # do not rename\n"
        "title: 'Payments API'\n"
        "blueprint: service\n"
        "\n"
        "properties:\n"
        "  url: https://example.com/payments\n"
        "  type: frontend  # was guessed\n"
        '  lifecycle: "Experimental"\n'
        "  oncall: {team: core, rota: weekly}\n"
        "\n"
        "# relations come last\n"
        "relations:\n"
        "  domain: legacy\n"
        "  owner: team-a\n"
        "\n"
        "# end of file\n"
    )
    result = merged(existing)
    assert result.text == existing.replace("type: frontend", "type: backend").replace(
        '"Experimental"', "Production"
    ).replace("domain: legacy", "domain: billing")
    assert result.changes == (
        "service payments: properties.type frontend -> backend",
        "service payments: properties.lifecycle Experimental -> Production",
        "service payments: relations.domain legacy -> billing",
    )
    assert (result.changed, result.created) == (True, False)


def test_unchanged_is_byte_identical_whatever_the_quoting() -> None:
    existing = (
        "identifier: 'payments'\r\n"
        'blueprint: "service"\r\n'
        "properties: {lifecycle: 'Production', type: backend}   # flow\r\n"
        "relations:\r\n"
        "  domain: billing"
    )
    result = merge(existing, [PAYMENTS])
    assert result.text == existing
    assert (result.changed, result.changes, result.created) == (False, (), False)


def test_list_form_changes_only_the_matching_entity() -> None:
    existing = (
        "- identifier: web\n"
        "  blueprint: service\n"
        "  properties:\n"
        "    type: frontend\n"
        "\n"
        "- identifier: payments   # ours\n"
        "  blueprint: service\n"
        "  properties:\n"
        "    type: library\n"
        "    lifecycle: Production\n"
        "  relations:\n"
        "    domain: billing\n"
        "- identifier: billing\n"
        "  blueprint: domain\n"
    )
    result = merged(existing)
    assert result.text == existing.replace("type: library", "type: backend")
    assert result.changes == ("service payments: properties.type library -> backend",)


def test_an_absent_entity_is_appended_after_the_last_one() -> None:
    existing = (
        "- identifier: web\n  blueprint: service\n  properties:\n    type: frontend\n\n# trailing comment\n"
    )
    result = merged(existing)
    assert result.text == (
        "- identifier: web\n  blueprint: service\n  properties:\n    type: frontend\n"
        + NEW_ITEM
        + "\n# trailing comment\n"
    )
    assert result.changes == ("service payments: added",)


def test_an_object_form_file_with_another_entity_becomes_a_list() -> None:
    existing = "# header\nidentifier: web\nblueprint: service\ndescription: |\n  two\n  lines\nproperties:\n  type: frontend\n"
    result = merged(existing)
    assert result.text == (
        "# header\n- identifier: web\n  blueprint: service\n  description: |\n    two\n    lines\n"
        "  properties:\n    type: frontend\n" + NEW_ITEM
    )
    assert yaml.safe_load(result.text)[0] == yaml.safe_load(existing)


def test_identifiers_match_together_with_the_blueprint() -> None:
    existing = (
        "- identifier: payments\n  blueprint: domain\n  properties: {type: library}\n"
        "- identifier: payments\n  blueprint: service\n  properties: {type: library}\n"
    )
    result = merged(existing)
    assert result.text == (
        "- identifier: payments\n  blueprint: domain\n  properties: {type: library}\n"
        "- identifier: payments\n  blueprint: service\n"
        "  properties: {type: backend, lifecycle: Production}\n"
        "  relations:\n    domain: billing\n"
    )


def test_a_repeated_entity_is_changed_everywhere_so_no_copy_overrides_it() -> None:
    existing = "- identifier: payments\n  blueprint: service\n- identifier: payments\n  blueprint: service\n"
    loaded = yaml.safe_load(merged(existing).text)
    assert loaded == [PAYMENTS, PAYMENTS]


def test_keys_are_added_to_an_entity_without_properties_or_relations() -> None:
    existing = (
        "- identifier: payments\n  blueprint: service\n  title: Payments\n- identifier: x\n  blueprint: y\n"
    )
    result = merged(existing)
    assert result.text == (
        "- identifier: payments\n  blueprint: service\n  title: Payments\n"
        "  properties:\n    type: backend\n    lifecycle: Production\n  relations:\n    domain: billing\n"
        "- identifier: x\n  blueprint: y\n"
    )
    assert result.changes == (
        "service payments: properties.type set to backend",
        "service payments: properties.lifecycle set to Production",
        "service payments: relations.domain set to billing",
    )


def test_an_empty_key_gets_a_block_under_it_and_keeps_its_comment() -> None:
    existing = (
        "identifier: payments\nblueprint: service\nproperties:   # to be filled\nrelations: null  # none\n"
    )
    result = merged(existing)
    assert result.text == (
        "identifier: payments\nblueprint: service\n"
        "properties:   # to be filled\n  type: backend\n  lifecycle: Production\n"
        "relations:  # none\n  domain: billing\n"
    )


def test_flow_mappings_are_edited_in_flow_style() -> None:
    existing = (
        "- {identifier: payments, blueprint: service, properties: {type: library, x: 1}, relations: { }}\n"
    )
    result = merged(existing)
    assert result.text == (
        "- {identifier: payments, blueprint: service, properties: {type: backend, x: 1, lifecycle: Production}, "
        "relations: { domain: billing}}\n"
    )


def test_a_flow_list_gets_the_entity_appended_in_flow_style() -> None:
    result = merged("[{identifier: web, blueprint: service}]  # one\n")
    assert result.text == (
        "[{identifier: web, blueprint: service}, {identifier: payments, blueprint: service, properties: "
        "{type: backend, lifecycle: Production}, relations: {domain: billing}}]  # one\n"
    )


def test_an_empty_flow_list_gets_the_entity() -> None:
    result = merged("[]  # nothing yet\n")
    assert result.text.startswith("[{identifier: payments, blueprint: service, properties: {type: backend")
    assert result.text.endswith("}]  # nothing yet\n")


def test_entities_need_a_string_identifier_and_blueprint() -> None:
    with pytest.raises(UsageError, match="string identifier and blueprint"):
        merge("", [{"identifier": "x", "blueprint": 1}])


def test_a_flow_object_becomes_a_flow_list() -> None:
    result = merged("{identifier: web, blueprint: service}\n")
    assert yaml.safe_load(result.text) == [
        {"identifier": "web", "blueprint": "service"},
        PAYMENTS,
    ]
    assert result.text.startswith("[{identifier: web, blueprint: service}, {identifier: payments")


def test_crlf_files_stay_crlf() -> None:
    existing = (
        "# c\r\n- identifier: payments\r\n  blueprint: service\r\n  properties:\r\n    type: library\r\n"
    )
    result = merged(existing)
    assert result.text == (
        "# c\r\n- identifier: payments\r\n  blueprint: service\r\n  properties:\r\n    type: backend\r\n"
        "    lifecycle: Production\r\n  relations:\r\n    domain: billing\r\n"
    )


def test_a_byte_order_mark_is_kept() -> None:
    result = merged("\ufeffidentifier: payments\nblueprint: service\nproperties: {type: backend}\n")
    assert result.text == (
        "\ufeffidentifier: payments\nblueprint: service\nproperties: {type: backend, lifecycle: Production}\n"
        "relations:\n  domain: billing\n"
    )


def test_a_file_without_a_final_newline_keeps_it_that_way() -> None:
    result = merged("identifier: payments\nblueprint: service\nrelations:\n  other: x")
    assert result.text == (
        "identifier: payments\nblueprint: service\nrelations:\n  other: x\n  domain: billing\n"
        "properties:\n  type: backend\n  lifecycle: Production"
    )


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ("", NEW_ITEM),
        ("# only a comment\n\n", "# only a comment\n\n" + NEW_ITEM),
        ("# no newline", "# no newline\n" + NEW_ITEM.rstrip("\n")),
        ("---\n", "---\n" + NEW_ITEM),
        ("--- # empty document\n...\n", "--- # empty document\n" + NEW_ITEM + "...\n"),
        ("null\n", NEW_ITEM),
    ],
)
def test_an_empty_file_gets_the_list(existing: str, expected: str) -> None:
    result = merged(existing)
    assert result.text == expected
    assert (result.changed, result.created) == (True, False)


def test_document_markers_are_kept() -> None:
    existing = "%YAML 1.1\n---\nidentifier: web\nblueprint: service\n...\n"
    result = merged(existing)
    assert result.text == "%YAML 1.1\n---\n- identifier: web\n  blueprint: service\n" + NEW_ITEM + "...\n"


def test_indentation_of_the_file_is_followed() -> None:
    existing = "-   identifier: web\n    blueprint: service\n    properties:\n        type: frontend\n"
    result = merged(existing)
    assert result.text == existing + (
        "-   identifier: payments\n    blueprint: service\n    properties:\n        type: backend\n"
        "        lifecycle: Production\n    relations:\n        domain: billing\n"
    )


def test_values_of_other_types_are_replaced_and_block_values_become_inline() -> None:
    existing = (
        "identifier: payments\nblueprint: service\nproperties:\n  type: 5\n  lifecycle: |\n    Production\n"
        "relations:\n  domain:\n    - a\n    - b\n  owner: x\n"
    )
    result = merged(existing)
    assert result.text == (
        "identifier: payments\nblueprint: service\nproperties:\n  type: backend\n  lifecycle: Production\n"
        "relations:\n  domain: billing\n  owner: x\n"
    )
    assert result.changes == (
        "service payments: properties.type 5 -> backend",
        'service payments: properties.lifecycle "Production\\n" -> Production',
        "service payments: relations.domain [a, b] -> billing",
    )


def test_strings_that_look_like_other_types_are_quoted() -> None:
    entity = {
        "identifier": "123",
        "blueprint": "service",
        "properties": {"a": "null", "b": "true", "c": "1.5"},
    }
    result = merged("- identifier: '123'\n  blueprint: service\n  properties:\n    a: x\n", [entity])
    assert (
        result.text
        == "- identifier: '123'\n  blueprint: service\n  properties:\n    a: 'null'\n    b: 'true'\n    c: '1.5'\n"
    )


def test_anchors_and_aliases_elsewhere_are_kept() -> None:
    existing = "- identifier: web\n  blueprint: service\n  properties: &p {type: frontend}\n- identifier: api\n  blueprint: service\n  properties: *p\n"
    result = merged(existing)
    assert result.text == existing + NEW_ITEM


def test_an_alias_item_counts_as_an_entity() -> None:
    existing = "- &web\n  identifier: web\n  blueprint: service\n- *web\n"
    result = merged(existing)
    assert result.text == existing + NEW_ITEM


@pytest.mark.parametrize(
    ("existing", "line", "expected"),
    [
        (
            "identifier: payments\nblueprint: service\nproperties:\n  type: [backend,\n",
            5,
            "not valid YAML",
        ),
        ("identifier: payments\n  blueprint: service\n", 2, "not valid YAML"),
        ("- identifier: a\n---\n- identifier: b\n", 2, "not valid YAML"),
        (
            "identifier: x\nblueprint: y\nwhen: !!python/object:os.system x\n",
            3,
            "cannot be loaded",
        ),
        ("identifier: x\nblueprint: y\nn: !!int abc\n", 3, "cannot be loaded"),
        ("identifier: x\n\x07\n", 2, "not valid YAML"),
        ("just text\n", 1, "expected an entity or a list of entities"),
        ("- identifier: a\n- plain\n", 2, "expected an entity (a mapping)"),
        (
            "identifier: payments\nblueprint: service\nproperties:\n  type: a\n  type: b\n",
            5,
            "duplicate key 'type'",
        ),
        (
            "- &e\n  identifier: payments\n  blueprint: service\n- *e\n",
            1,
            "anchor or alias",
        ),
        (
            "- identifier: payments\n  blueprint: service\n  properties: *p\n",
            3,
            "not valid YAML",
        ),
        (
            "- identifier: o\n  blueprint: x\n  p: &p {a: 1}\n- identifier: payments\n  blueprint: service\n  properties: *p\n",
            6,
            "anchor or alias",
        ),
    ],
)
def test_a_malformed_existing_file_is_invalid_input_naming_the_line(
    existing: str, line: int, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        merge(existing, [PAYMENTS], source="repo:port.yml")
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert caught.value.message.startswith(f"repo:port.yml line {line}: ")
    assert expected in caught.value.message


def test_several_entities_from_one_template() -> None:
    domain = {
        "identifier": "billing",
        "blueprint": "domain",
        "properties": {"architecture": "https://x/arch"},
    }
    result = merged("identifier: payments\nblueprint: service\n", [PAYMENTS, domain])
    assert yaml.safe_load(result.text) == [PAYMENTS, domain]
    assert result.changes[-1] == "domain billing: added"
