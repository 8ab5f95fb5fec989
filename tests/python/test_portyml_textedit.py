"""Text edits by offset: order, overlap, newlines, and turning a block into a list item."""

from __future__ import annotations

import pytest

from port_gitops.portyml.textedit import (
    Edit,
    apply,
    as_list_item,
    insert_lines,
    insertion_point,
    newline_of,
)


def test_edits_apply_against_the_original_offsets_and_keep_their_order() -> None:
    text = "a: 1\nb: 2\n"
    edits = [Edit(3, 4, "10"), Edit(5, 5, "x\n"), Edit(5, 5, "y\n"), Edit(8, 9, "20")]
    assert apply(text, edits) == "a: 10\nx\ny\nb: 20\n"
    assert apply(text, []) == text


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        apply("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])


@pytest.mark.parametrize(
    ("text", "newline"),
    [("a\r\nb\n", "\r\n"), ("a\nb\r\n", "\n"), ("", "\n"), ("\r\n", "\r\n")],
)
def test_newline_of_follows_the_first_line_break(text: str, newline: str) -> None:
    assert newline_of(text) == newline


def test_insertion_point_is_after_the_rest_of_the_line() -> None:
    text = "a: 1  # c\nb: |\n  x\n\nc: 2"
    assert insertion_point(text, 4) == 10  # after the comment's line break
    # A block scalar's end is already a line start.
    assert insertion_point(text, 20) == 20
    assert insertion_point(text, len(text) - 1) == len(text)


def test_insert_lines_supplies_the_missing_final_newline() -> None:
    assert apply("a: 1\n", [insert_lines("a: 1\n", 5, ["b: 2", "c: 3"], "\n")]) == "a: 1\nb: 2\nc: 3\n"
    assert apply("a: 1", [insert_lines("a: 1", 4, ["b: 2"], "\r\n")]) == "a: 1\r\nb: 2"
    assert apply("", [insert_lines("", 0, ["b: 2"], "\n")]) == "b: 2\n"


def test_as_list_item_indents_every_non_empty_line_of_the_block() -> None:
    text = "# head\nid: a\nd: |\n  x\n\n   y\ne: 1\n# tail\n"
    start, end = text.index("id"), text.index("e: 1") + 4
    assert (
        apply(text, as_list_item(text, start, end))
        == "# head\n- id: a\n  d: |\n    x\n\n     y\n  e: 1\n# tail\n"
    )
