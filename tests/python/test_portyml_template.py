"""Template rendering: YAML first, then placeholders inside scalar values only, each value once."""

from __future__ import annotations

import pytest
import yaml

from port_gitops import resources
from port_gitops.errors import (
    EXIT_INVALID_INPUT,
    EXIT_USAGE,
    InvalidInputError,
    UsageError,
)
from port_gitops.model import EnrichValues, load_blueprints
from port_gitops.portyml import merge, render_entities

HOSTILE = [
    "Production\nowner: evil",
    "{{ other }}",
    "{{ service_identifier }}",
    "' ; rm -rf /",
    "*anchor",
    "!!python/object:os.system",
    "&x",
    "# c",
    ": ",
    "- leading",
    "null",
    "true",
    "123",
    "",
    "  padded  ",
    "ünïcødé ✓ 😀",
    "line\r\nbreak",
    "tab\there",
    "\u2028",
]


def values(**variables: str) -> EnrichValues:
    return EnrichValues.from_variables(
        {
            "ENTITY_IDENTIFIER": "payments",
            "DOMAIN": "billing",
            "TYPE": "backend",
            "LIFECYCLE": "Production",
            **variables,
        },
        fields={},
    )


def test_the_bundled_template_renders_the_guide_entity() -> None:
    entities = render_entities(resources.read_text(resources.TEMPLATE), values(), load_blueprints(None))
    assert entities == [
        {
            "identifier": "payments",
            "blueprint": "service",
            "properties": {"type": "backend", "lifecycle": "Production"},
            "relations": {"domain": "billing"},
        }
    ]


def test_any_mapping_variable_is_a_placeholder() -> None:
    template = 'identifier: "{{ service_identifier }}"\nblueprint: service\nproperties:\n  owner: "team {{var.OWNER}}!"\n'
    entities = render_entities(template, values(OWNER="platform"))
    assert entities == [
        {
            "identifier": "payments",
            "blueprint": "service",
            "properties": {"owner": "team platform!"},
        }
    ]


@pytest.mark.parametrize("absent", [None, ""])
def test_a_placeholder_with_no_value_inside_text_is_an_error_naming_it(absent: str | None) -> None:
    template = 'identifier: "{{ service_identifier }}"\nblueprint: service\nproperties: {owner: "team {{ var.OWNER }}"}\n'
    given = {} if absent is None else {"OWNER": absent}
    with pytest.raises(InvalidInputError) as caught:
        render_entities(template, values(**given))
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert "{{ var.OWNER }}" in caught.value.message and "OWNER" in caught.value.message


@pytest.mark.parametrize("absent", [None, ""])
def test_a_whole_placeholder_with_no_value_leaves_its_key_out(absent: str | None) -> None:
    template = (
        'identifier: "{{ service_identifier }}"\nblueprint: service\ntitle: "{{ var.OWNER }}"\n'
        'properties: {owner: "{{ var.OWNER }}", type: "{{ service_type }}"}\nrelations: {x: "{{ var.OWNER }}"}\n'
    )
    given = {} if absent is None else {"OWNER": absent}
    [entity] = render_entities(template, values(**given))
    assert entity == {
        "identifier": "payments",
        "blueprint": "service",
        "properties": {"type": "backend"},
        "relations": {},
    }


@pytest.mark.parametrize("name", ["owner", "var.", "var.1X", ".entity.identifier", "service_identifer"])
def test_an_unknown_placeholder_is_a_usage_error(name: str) -> None:
    template = f'identifier: payments\nblueprint: service\ntitle: "{{{{ {name} }}}}"\n'
    with pytest.raises(UsageError, match="unknown placeholder") as caught:
        render_entities(template, values())
    assert caught.value.exit_code == EXIT_USAGE
    assert name in caught.value.message


@pytest.mark.parametrize("value", HOSTILE)
def test_values_stay_plain_strings_and_are_never_expanded_again(value: str) -> None:
    template = (
        '- identifier: "{{ service_identifier }}"\n'
        "  blueprint: service\n"
        '  properties: {note: "{{ var.NOTE }}", flow: ["x-{{ var.NOTE }}"]}\n'
        '  title: "{{ var.NOTE }}"\n'
    )
    entities = render_entities(template, values(NOTE=value or "{{ var.NOTE }}"))
    value = value or "{{ var.NOTE }}"
    assert entities[0]["properties"] == {"note": value, "flow": [f"x-{value}"]}
    assert entities[0]["title"] == value
    # Whatever we write loads back as the very same strings.
    for existing in (
        None,
        "identifier: payments\nblueprint: service\n",
        "[{identifier: payments, blueprint: service}]",
    ):
        text = merge(existing, entities).text
        loaded = yaml.safe_load(text)
        entity = loaded if isinstance(loaded, dict) else loaded[-1]
        assert entity["properties"] == entities[0]["properties"]
        assert entity["title"] == value


def test_a_rendered_identifier_must_follow_port_rules() -> None:
    template = 'identifier: "svc-{{ var.SUFFIX }}"\nblueprint: service\n'
    assert render_entities(template, values(SUFFIX="a1"))[0]["identifier"] == "svc-a1"
    with pytest.raises(InvalidInputError, match="entity 1: identifier 'svc-a b' is not valid"):
        render_entities(template, values(SUFFIX="a b"))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("identifier: {{ service_identifier }}\nblueprint: service\n", "line 1"),
        ("- identifier: x\n  blueprint: [\n", "line 3"),
        ("", "holds no entity"),
        ("- just a string\n", "entity 1: expected a mapping"),
        ("identifier: x\n", "entity 1: expected a string blueprint"),
        (
            'identifier: x\nblueprint: service\nproperties:\n  "{{ var.K }}": v\n',
            "placeholders belong in values",
        ),
    ],
)
def test_a_broken_template_is_a_usage_error(template: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        render_entities(template, values(K="k"), source="my-template.yml")
    assert caught.value.message.startswith("my-template.yml")
    assert expected in caught.value.message


def test_non_string_template_values_are_kept() -> None:
    template = "identifier: x\nblueprint: service\nproperties: {replicas: 3, public: false, tags: [a, '{{ var.T }}']}\n"
    entity = render_entities(template, values(T="t1"))[0]
    assert entity["properties"] == {"replicas": 3, "public": False, "tags": ["a", "t1"]}
