"""Surgical edits of a text: replace or insert at character offsets, keep every other byte.

Offsets come from PyYAML marks (document.py); this module knows lines and newlines, not YAML.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence


class Edit(NamedTuple):
    start: int
    end: int
    text: str


def apply(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits given against the original text; insertions at one offset keep their given order."""
    ordered = sorted(range(len(edits)), key=lambda i: (edits[i].start, i))
    for before, after in zip(ordered, ordered[1:]):
        if edits[after].start < edits[before].end:
            raise ValueError(f"overlapping edits at offsets {edits[before].start} and {edits[after].start}")
    for i in reversed(ordered):
        edit = edits[i]
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def newline_of(text: str) -> str:
    """The file's own line break, so that lines we add look like the lines around them."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def next_line(text: str, index: int) -> int:
    """The start of the line after the one holding `index` (the text's end on the last line)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def insertion_point(text: str, end: int) -> int:
    """Where whole lines go after a value ending at `end`: past the rest of its line, comment included."""
    return end if end > 0 and text[end - 1] == "\n" else next_line(text, end)


def insert_lines(text: str, index: int, lines: Sequence[str], newline: str) -> Edit:
    """New whole lines at `index`, a line start or the end of a text that has no final line break."""
    if index == len(text) and text and not text.endswith("\n"):
        return Edit(index, index, newline + newline.join(lines))
    return Edit(index, index, newline.join(lines) + newline)


def as_list_item(text: str, start: int, end: int) -> list[Edit]:
    """Make the block text from `start` to `end` the first item of a list: `- ` before it, and two more
    spaces of indentation on each further non-empty line, so its structure stays the same."""
    edits = [Edit(start, start, "- ")]
    line = next_line(text, start)
    while line < end:
        if text[line] not in "\r\n":
            edits.append(Edit(line, line, "  "))
        line = next_line(text, line)
    return edits
