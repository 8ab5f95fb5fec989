"""Values we write are one line and load back as themselves, in block and in flow context."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from port_gitops.portyml.emit import block_lines, inline, list_item_lines

VALUES: list[Any] = [
    "Production\nowner: evil",
    "{{ other }}",
    "' ; rm -rf /",
    "*anchor",
    "!!python/object",
    "&x",
    "# c",
    ": ",
    "a: b",
    "a:b",
    "a #b",
    "-lead",
    "- x",
    "? x",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "[x]",
    "{y}",
    "a,b",
    "null",
    "~",
    "true",
    "yes",
    "on",
    "123",
    "0x1F",
    "1e3",
    ".nan",
    "2024-01-01",
    "",
    " padded ",
    "tab\tin",
    "bell\x07",
    "cr\rlf",
    "nel\x85",
    "ls\u2028",
    "\ufeffbom",
    "ünïcødé ✓ 😀",
    "a'b\"c\\d",
    1,
    1.5,
    True,
    None,
    ["a", "b: c", None],
    {"k": "v v", "n": {"deep": "# x"}},
]
CONTEXTS = ["k: {}\n", "{{k: {}}}\n", "- {}\n", "[{}]\n", "k:\n  - {}  # comment\n"]


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("context", CONTEXTS)
def test_inline_loads_back_as_the_same_value(value: Any, context: str) -> None:
    text = inline(value)
    assert "\n" not in text and "\r" not in text
    loaded = yaml.safe_load(context.format(text))
    got = loaded[0] if isinstance(loaded, list) else loaded["k"]
    got = got[0] if context.startswith("k:\n") else got
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("context", ["k: {}\n", "- k: {}  # comment\n"])
def test_inline_for_block_values_loads_back_as_the_same_value(value: Any, context: str) -> None:
    text = inline(value, flow=False)
    assert "\n" not in text and "\r" not in text
    loaded = yaml.safe_load(context.format(text))
    got = loaded[0]["k"] if isinstance(loaded, list) else loaded["k"]
    assert got == value and type(got) is type(value)


def test_plain_values_stay_plain() -> None:
    assert [inline(v, flow=False) for v in ("payments", "Production", "https://x/y", "-lead", "a:b")] == [
        "payments",
        "Production",
        "https://x/y",
        "-lead",
        "a:b",
    ]
    assert inline("https://x/y") == "'https://x/y'"  # a flow context needs the quotes


def test_block_lines_nest_mappings_and_inline_the_rest() -> None:
    entity = {
        "identifier": "x",
        "properties": {"type": "null", "tags": ["a"], "empty": {}},
        "relations": {},
    }
    assert list_item_lines(entity, 2, 4, 3) == [
        "  -   identifier: x",
        "      properties:",
        "         type: 'null'",
        "         tags: [a]",
        "         empty: {}",
        "      relations: {}",
    ]
    assert yaml.safe_load("\n".join(list_item_lines(entity, 0, 2, 2))) == [entity]
    assert block_lines({"a": {"b": 1}}, 0, 2) == ["a:", "  b: 1"]


# -- YAML 1.2 as well as 1.1 (issue 12 D) -----------------------------------------------------------
# The YAML 1.2 core schema's tag resolution (spec 1.2.2, 10.3.2), written from the spec: a plain
# scalar matching one of these is not a string to a 1.2 loader.
CORE_SCHEMA_1_2 = [
    r"null|Null|NULL|~|",
    r"true|True|TRUE|false|False|FALSE",
    r"[-+]?[0-9]+",
    r"0o[0-7]+",
    r"0x[0-9a-fA-F]+",
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?",
    r"[-+]?(\.inf|\.Inf|\.INF)",
    r"\.nan|\.NaN|\.NAN",
]
# YAML 1.1's booleans include y/n, which PyYAML (otherwise a 1.1 loader) does not implement.
BOOL_1_1 = r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
NUMBER_LIKE = [
    "1e3",
    "1E5",
    "1.0E7",
    "0o17",
    "+.5",
    "-.5",
    ".5e3",
    "+1",
    "0x1F",
    "0o7",
    "1.",
    "-1E-3",
    "+.inf",
    ".NaN",
    "Null",
    "~",
    "y",
    "N",
    "Y",
    "n",
    "TRUE",
    "0",
    "1_000",
    "0b101",
    "1:30",
    "010",
    "2024-01-01",
]


def plain_text(written: str) -> bool:
    return not written.startswith(("'", '"'))


@pytest.mark.parametrize("value", NUMBER_LIKE)
@pytest.mark.parametrize("context", ["flow", "block"])
def test_strings_a_yaml_1_1_or_1_2_loader_would_read_otherwise_are_quoted(value: str, context: str) -> None:
    written = inline(value) if context == "flow" else inline(value, flow=False)
    assert yaml.safe_load(f"k: {written}") == {"k": value}, "YAML 1.1 (PyYAML) reads it back"
    if plain_text(written):
        for pattern in [*CORE_SCHEMA_1_2, BOOL_1_1]:
            assert not re.fullmatch(pattern, written), f"{written!r} is not a string in YAML 1.2 or 1.1"


def test_ordinary_words_are_still_plain() -> None:
    for value in ["payments", "backend", "1.2.3", "v1e3", "e3", "0o8", "0xZ", "no-op", "yes-man"]:
        assert plain_text(inline(value)), value
