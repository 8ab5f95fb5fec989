"""JSONPath as Jayway (and so GWT) evaluates it, computed by jsonpath-ng, including where
jsonpath-ng on its own answers differently; and what is refused because it cannot be made to agree."""

from __future__ import annotations

import copy
import threading
from decimal import Decimal
from typing import Any

import pytest

from port_gitops.errors import UsageError
from port_gitops.gwt import trigger_from_dict
from port_gitops.gwt.jayway import InvalidPath, PathNotFound, Unsupported, compile_path, query

DOC: dict[str, Any] = {
    "labels": [{"name": "documentation", "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}, {"name": "x"}],
    "s": "str",
    "arr": [1, "two", {"k": None}, [3]],
    "o": {"x": 1, "y": "z"},
    "d": [1, 2, 3, 4, 5],
    "n": None,
    "nested": [[{"b": 1}, {"b": 2}], [{"b": 3}]],
}


def read(expression: str, document: Any = DOC) -> Any:
    return compile_path(expression).read(document)


def assert_refused(expression: str) -> None:
    """Refused at load time, and the message names the expression."""
    with pytest.raises(Unsupported):
        compile_path(expression)
    with pytest.raises(UsageError) as raised:
        trigger_from_dict({"genericVariables": [{"key": "V", "value": expression}]})
    assert f"{expression!r} cannot be evaluated exactly as Jenkins does" in raised.value.message


# -- definite paths give one value or "not found"; indefinite ones always a list ------------------
def test_definite_path_returns_the_value_itself():
    assert read("$.o.y") == "z"
    assert read("$.d[1]") == 2


def test_definite_path_that_finds_nothing_is_not_found():
    with pytest.raises(PathNotFound):
        read("$.o.missing")


def test_indefinite_path_that_finds_nothing_is_an_empty_list():
    assert read("$..missing") == []
    assert read("$.labels[*].missing") == []


def test_missing_property_before_an_indefinite_step_still_ends_the_read():
    # the missing `b` sits where the path is still definite, so Jayway throws instead of giving []
    with pytest.raises(PathNotFound):
        read("$.o.b[*]")


def test_missing_property_after_a_wildcard_is_skipped():
    assert read("$.labels[*].a") == [1]


def test_json_null_is_a_value():
    assert read("$.n") is None
    assert read("$.arr[*].k") == [None]


# -- the quirks the issue names ---------------------------------------------------------------------
def test_length_counts_list_items_and_object_keys_and_is_null_on_a_string():
    assert read("$.d.length()") == 5
    assert read("$.o.length()") == 2
    assert read("$.s.length()") is None


def test_length_after_a_filter_applies_per_match():
    assert read('$.labels[?(@.name == "documentation")].length()') == [7]
    assert read('$.labels[?(@.name == "nope")].length()') == []


def test_double_ampersand_in_filters():
    assert read("$.labels[?(@.name == 'documentation' && @.a)].name") == ["documentation"]
    assert read("$.labels[?(@.a && @.name == 'x')].name") == []
    assert read("$.labels[?((@.a && @.b) && @.f)].name") == ["documentation"]
    assert read("$.labels[?(@.a && @.name == 'x' && @.b)].name") == []
    assert read("$.labels[*][?(@.a && @.b && @.name == 'documentation')].a") == [1]
    assert_refused("$.labels[?(@.a == 1 && @.b == 2)].name")  # numbers: see the comparisons below


def test_star_on_an_object_gives_its_values():
    assert read("$.o[*]") == [1, "z"]
    assert read("$.o.*") == [1, "z"]


def test_multi_property_leaf_is_one_merged_object_of_the_properties_present():
    assert read("$.o['x','missing']") == {"x": 1}
    assert read("$.o['q','r']") == {}
    assert read("$.arr[2]['k','z']") == {"k": None}


def test_multi_property_before_more_steps_iterates_the_properties():
    doc = {"c": [{"modified": ["README.md"], "added": [], "removed": []}]}
    assert read("$.c[*].['modified','added','removed'][*]", doc) == ["README.md"]


def test_a_wildcard_gives_each_child_once_on_the_installed_jsonpath_ng():
    """jsonpath-ng 1.11+ reads `*` as a list's items too: `(*|[*])` then answered each item twice.
    `make test` runs this module on the lowest and the newest jsonpath-ng that pyproject admits."""
    push = {"commits": [{"modified": ["README.md"], "added": ["a"], "removed": []}]}
    assert read("$.commits[*].modified[*]", push) == ["README.md"]
    assert read("$.commits.*.modified.*", push) == ["README.md"]
    assert read("$.commits[*].['modified','added','removed'][*]", push) == ["README.md", "a"]
    assert read("$..[*]", {"l": [[1], {"k": 2}]}) == [[[1], {"k": 2}], [1], {"k": 2}, 1, 2]
    assert read("$[*]", {"a": [1], "b": {"c": 3}}) == [[1], {"c": 3}]
    assert read("$.s[*]") == []


def test_indexing_into_a_string_is_not_found():
    with pytest.raises(PathNotFound):
        read("$.s[0]")
    assert read("$.arr[*][0]") == [3]  # skipped for the string, not an error


def test_out_of_range_negative_index_is_not_found_and_does_not_crash():
    with pytest.raises(PathNotFound):
        read("$.d[-9]")
    assert read("$.d[-1]") == 5
    assert read("$.nested[*][-5]") == []


def test_deep_scan_index_takes_the_first_element_of_every_array_in_document_order():
    assert read("$..[0]", {"a": [1, [2, 3]], "b": [[4]]}) == [1, 2, [4], 4]


def test_step_in_a_slice_is_rejected_when_alone_and_ignored_otherwise():
    with pytest.raises(InvalidPath):
        compile_path("$.d[::2]")
    assert read("$.d[0:4:2]") == [1, 2, 3, 4]


def test_slice_with_a_negative_start_wraps_each_index_separately():
    # Jayway walks -3, -2, -1, 0, 1 rather than normalising the slice first
    assert read("$.d[-3:2]") == [3, 4, 5, 1, 2]
    assert read("$.d[1:-1]") == []
    assert read("$.d[-2:]") == [4, 5]
    assert read("$.d[:-3]") == [1, 2]


def test_scan_for_a_property_and_for_a_filter():
    assert read("$..b", DOC["nested"]) == [1, 2, 3]
    assert read("$..*", {"a": [1, {"b": 2}]}) == [[1, {"b": 2}], 1, {"b": 2}, 2]  # array items too
    assert_refused("$..[?(@.b > 1)]")  # jsonpath-ng would report a match twice


# -- Jayway's scanner, faithfully -------------------------------------------------------------------
def test_names_may_hold_almost_any_character():
    assert read("$.a:b", {"a:b": 1}) == 1
    assert read("$.$ref", {"$ref": 2}) == 2
    assert read("$['with space']", {"with space": 3}) == 3
    # jsonpath-ng alone reads these as arithmetic, booleans, keywords or a lexer error
    for name in ("a+b", "a*b", "a/b", "true", "where", "café", "1a", "it's", "back\\slash"):
        assert read(f"$.{name}", {name: name}) == name
    assert read("$['it\\'s']", {"it's": 4}) == 4


def test_a_property_named_star_is_refused():
    assert_refused("$['*']")  # jsonpath-ng would read it as a wildcard


def test_expression_without_root_gets_one():
    assert read("o.x") == 1


@pytest.mark.parametrize(
    "expression",
    [
        "$.o.",
        "$..",
        "$...o",
        " $.o",
        "$x",
        "$.o[x]",
        "$.a[?]",
        "$.d[1,,2]",
        "$.d[1 2]",
        "$['o'",
        "$.o[?(@.x ==)]",
    ],
)
def test_paths_jayway_rejects(expression: str):
    with pytest.raises(InvalidPath):
        compile_path(expression)


def test_what_jayway_leaves_unread_after_the_last_token_is_ignored():
    assert read("$['o']x") == DOC["o"]
    assert read("$.o[") == DOC["o"]


@pytest.mark.parametrize(
    "expression",
    [
        "$.d.min()",
        "$.d.length().x",
        "$..d.length()",
        "$..labels[0]",
        "$..['a','b']",
        "$.labels[?(@.name =~ /doc.*/)]",
        "$.labels[?(@.name in ['x'])]",
        "$.labels[?(@.a == [1])]",
        "$.labels[?(@..a == 1)]",
    ],
)
def test_paths_whose_answer_is_not_reproduced_are_refused(expression: str):
    assert_refused(expression)


# -- filters: what jsonpath-ng compares exactly as Jayway does ------------------------------------
ITEM = {"v": 1, "t": "1", "u": "1.0", "z": None, "s": "x", "o": {"p": "q"}, "list": [1, 2]}


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("$[?(@.s == 'x')]", True),
        ("$[?(@.s == 'y')]", False),
        ("$[?(@.v == 'x')]", False),  # a number never equals a non-numeric string
        ("$[?(@.missing == 'x')]", False),  # nothing found equals nothing
        ("$[?(@.o.p == 'q')]", True),
        ("$[?(@.v === '1')]", False),  # type-safe equality
        ("$[?(@.t === '1')]", True),
        ("$[?(@.z)]", True),  # an existence check: null is there
        ("$[?(@.o.p)]", True),
        ("$[?(@.s.p)]", False),  # a property of a string does not exist
        ("$[?(@.missing)]", False),
    ],
)
def test_filter_comparisons(expression: str, matches: bool):
    assert read(expression, [ITEM]) == ([ITEM] if matches else [])


@pytest.mark.parametrize(
    "expression",
    [
        "$[?(@.v == '1')]",  # Jayway: the number 1 equals '1'; jsonpath-ng: never
        "$[?(@.v == '1.0')]",
        "$[?(@.t == 1)]",  # jsonpath-ng coerces with int(): '1', 1.9 and true all equal 1
        "$[?(@.u == 1)]",
        "$[?(@.t == true)]",
        "$[?(@.v < '2')]",  # Python orders mixed types by crashing, strings by code point
        "$[?(@ < '\uffff')]",
        "$[?(@.missing != 1)]",  # Jayway: true; jsonpath-ng: a missing path matches nothing
        "$[?(@.missing != 'x')]",
        "$[?(@.missing == @.missing)]",  # paths on both sides
        "$[?(@.z == null)]",
        "$[?(!@.missing)]",
        "$[?(@.list == @.same)]",
        "$[?(@.v == 1 || @.t == 'no')]",
        "$[?(!(@.v == 1))]",
        "$[?(@.list[0] == 'x')]",  # jsonpath-ng indexes strings inside filters
        "$[?(@.list.length() == 'x')]",
        "$.items[?(@.id == $.want)].id",  # $ inside a filter
        "$.items[?($.flag)]",
        "$[?('x' == @.s)]",
    ],
)
def test_filter_comparisons_jsonpath_ng_answers_differently_are_refused(expression: str):
    assert_refused(expression)


def test_a_filter_on_an_object_tests_the_object_itself_and_leaves_the_document_alone():
    document = copy.deepcopy(DOC)
    assert read("$.o[?(@.y == 'z')]", document) == [DOC["o"]]
    assert read("$.o[?(@.y == 'q')]", document) == []
    assert document == DOC  # jsonpath-ng's own Filter would have replaced `o` by its values


def test_a_filter_on_a_primitive_fails_the_read_where_the_path_is_definite():
    with pytest.raises(InvalidPath):
        read("$.s[?(@.a)]")
    assert read("$.arr[*][?(@.a)]") == []


def test_big_decimals_do_not_trip_jsonpath_ng():
    document = {"bd": Decimal("1.23456789012345678901"), "l": [[1]]}
    assert read("$..[0]", document) == [[1], 1]
    assert read("$.bd[*]", document) == []
    with pytest.raises(PathNotFound):
        read("$.bd[0]", document)


# -- parsed once, shared ----------------------------------------------------------------------------
def test_each_translation_is_parsed_by_jsonpath_ng_once(monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    real_parse = query.ng_parse

    def counting_parse(text: str) -> Any:
        calls.append(text)
        return real_parse(text)

    monkeypatch.setattr(query, "ng_parse", counting_parse)
    for _ in range(3):
        assert read("$.once[*].only", {"once": [{"only": 1}]}) == [1]
        with pytest.raises(PathNotFound):  # `once` is missing where the path is still definite
            read("$.once[*].only", {"other": 1})
    assert calls.count("$['once'].*['only']") == 1
    assert len(calls) == len(set(calls))  # the prefix checked for the second document, once too


def test_jsonpath_ng_parser_is_built_once_per_process(monkeypatch: pytest.MonkeyPatch):
    # Building one is PLY's table construction (~10 ms); load_trigger compiles seven expressions.
    built: list[object] = []
    real = query._PARSER_CLASS

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(query, "_PARSER_CLASS", counting)
    monkeypatch.setattr(query, "_parsed", {})
    query._ng_parser.cache_clear()
    try:
        for name in ("one", "two", "three"):
            assert read(f"$.{name}[*].x", {name: [{"x": 1}]}) == [1]
    finally:
        query._ng_parser.cache_clear()  # the next caller builds the real one again
    assert len(built) == 1


def test_each_expression_is_compiled_once_even_from_many_threads():
    expression = "$.labels[?(@.name == 'concurrent')].a"
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(compile_path(expression))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(path is seen[0] for path in seen)
