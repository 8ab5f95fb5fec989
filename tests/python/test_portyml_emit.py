"""Values we write are one line and load back as themselves, in block and in flow context."""

from __future__ import annotations

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
