"""JSONPath as Jayway (and so GWT) evaluates it, including where jsonpath-ng answers differently."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from port_gitops.gwt.jayway import InvalidPath, PathNotFound, Unsupported, compile_path

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
    return compile_path(expression).read(document, document)


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
    assert read("$.labels[?(@.a == 1 && @.b == 2)].name") == ["documentation"]
    assert read("$.labels[?(@.a == 1 && @.b == 3)].name") == []


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
    assert read("$..[?(@.b > 1)]", DOC["nested"]) == [{"b": 2}, {"b": 3}]


# -- Jayway's scanner, faithfully -------------------------------------------------------------------
def test_names_may_hold_almost_any_character():
    assert read("$.a:b", {"a:b": 1}) == 1
    assert read("$.$ref", {"$ref": 2}) == 2
    assert read("$['with space']", {"with space": 3}) == 3


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
        "$.labels[?(@.name =~ /doc.*/)]",
        "$.labels[?(@.name in ['x'])]",
        "$.labels[?(@.a == [1])]",
        "$.labels[?(@..a == 1)]",
    ],
)
def test_paths_whose_answer_is_not_reproduced_are_refused(expression: str):
    with pytest.raises(Unsupported):
        compile_path(expression)


# -- filters compare like Jayway ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("$[?(@.v == '1')]", True),  # a number equals a string that reads as that number
        ("$[?(@.v == '1.0')]", True),
        ("$[?(@.v === '1')]", False),  # type-safe equality
        ("$[?(@.t == 1)]", True),  # a string equals a number that prints the same ...
        ("$[?(@.u == 1)]", False),  # ... so "1.0" does not equal 1
        ("$[?(@.v < '2')]", False),  # ordering needs two numbers or two strings
        ("$[?(@.missing != 1)]", True),  # nothing found equals nothing
        ("$[?(@.missing == @.missing)]", False),
        ("$[?(@.z == null)]", True),
        ("$[?(@.z)]", True),  # an existence check: null is there
        ("$[?(!@.missing)]", True),
        ("$[?(@.list == @.same)]", True),  # two JSON values compare as Java lists
        ("$[?(@.list == @.floats)]", False),  # Integer 1 is not Double 1.0
        ("$[?(@.v == 1 || @.t == 'no')]", True),
        ("$[?(!(@.v == 1))]", False),
    ],
)
def test_filter_comparisons(expression: str, matches: bool):
    item = {"v": 1, "t": "1", "u": "1.0", "z": None, "list": [1, 2], "same": [1, 2], "floats": [1.0, 2.0]}
    assert read(expression, [item]) == ([item] if matches else [])


def test_strings_order_by_utf16_code_units_like_java():
    # U+1F600 is a surrogate pair (D83D ...), so Java sorts it before U+FFFF
    assert read("$[?(@ < '\uffff')]", ["😀"]) == ["😀"]


def test_a_filter_on_an_object_tests_the_object_itself():
    assert read("$.o[?(@.x == 1)]") == [DOC["o"]]


def test_dollar_in_a_filter_is_the_whole_document():
    doc = {"want": "b", "items": [{"id": "a"}, {"id": "b"}]}
    assert read("$.items[?(@.id == $.want)].id", doc) == ["b"]


def test_an_exists_check_on_a_dollar_path_looks_at_the_item_as_jayway_does():
    doc = {"flag": True, "items": [{"flag": 1}, {"other": 2}]}
    assert read("$.items[?($.flag)]", doc) == [{"flag": 1}]


def test_a_filter_on_a_primitive_fails_the_read_where_the_path_is_definite():
    with pytest.raises(InvalidPath):
        read("$.s[?(@.a)]")
    assert read("$.arr[*][?(@.a)]") == []


# -- parsed once, shared ----------------------------------------------------------------------------
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
