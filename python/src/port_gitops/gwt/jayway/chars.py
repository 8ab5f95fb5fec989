"""A cursor over an expression with exactly the look-ahead rules of Jayway's CharacterIndex.

Jayway's compilers are hand-written scanners whose corner cases (what counts as blank, where a
bracket closes, what happens past the end) decide whether a path is valid at all, so they are
ported as they are rather than re-expressed as a grammar.
"""

from __future__ import annotations

import re

from port_gitops.gwt.jayway.errors import CompileFailure, InvalidPath

SPACE = " "


class Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.end = len(text) - 1

    # -- access (Java's charAt: the whole text, not just up to `end`) ------------------------
    def char_at(self, index: int) -> str:
        if 0 <= index < len(self.text):
            return self.text[index]
        raise CompileFailure(f"index {index} out of range")

    def current(self) -> str:
        return self.char_at(self.pos)

    def current_is(self, char: str) -> bool:
        return self.current() == char

    def last_is(self, char: str) -> bool:
        return self.char_at(self.end) == char

    def next_is(self, char: str) -> bool:
        return self.in_bounds(self.pos + 1) and self.text[self.pos + 1] == char

    def in_bounds(self, index: int | None = None) -> bool:
        index = self.pos if index is None else index
        return 0 <= index <= self.end

    def current_is_tail(self) -> bool:
        return self.pos >= self.end

    def has_more(self) -> bool:
        return self.in_bounds(self.pos + 1)

    def length(self) -> int:
        return self.end + 1

    def sub(self, start: int, stop: int) -> str:
        if not 0 <= start <= stop <= len(self.text):
            raise CompileFailure(f"range {start}..{stop} out of range")
        return self.text[start:stop]

    # -- blanks (only the space character counts) --------------------------------------------
    def skip_blanks(self) -> Cursor:
        while self.in_bounds() and self.pos < self.end and self.current() == SPACE:
            self.pos += 1
        return self

    def trim(self) -> Cursor:
        self.skip_blanks()
        while self.in_bounds() and self.pos < self.end and self.last_is(SPACE):
            self.end -= 1
        return self

    # -- searching ---------------------------------------------------------------------------
    def next_significant_index(self, char: str, start: int | None = None) -> int:
        """Index of `char` if it is the next non-space character after `start`, else -1."""
        read = (self.pos if start is None else start) + 1
        while self.in_bounds(read) and self.text[read] == SPACE:
            read += 1
        return read if self.char_at(read) == char else -1

    def next_significant_is(self, char: str, start: int | None = None) -> bool:
        read = (self.pos if start is None else start) + 1
        while self.in_bounds(read) and self.text[read] == SPACE:
            read += 1
        return self.in_bounds(read) and self.text[read] == char

    def next_significant_char(self, start: int | None = None) -> str:
        read = (self.pos if start is None else start) + 1
        while self.in_bounds(read) and self.text[read] == SPACE:
            read += 1
        return self.text[read] if self.in_bounds(read) else SPACE

    def previous_significant_index(self, start: int | None = None) -> int:
        read = (self.pos if start is None else start) - 1
        while self.in_bounds(read) and self.text[read] == SPACE:
            read -= 1
        return read if self.in_bounds(read) else -1

    def previous_significant_char(self) -> str:
        index = self.previous_significant_index()
        return SPACE if index == -1 else self.text[index]

    def next_index_of(self, char: str, start: int | None = None) -> int:
        read = self.pos + 1 if start is None else start
        while self.in_bounds(read):
            if self.text[read] == char:
                return read
            read += 1
        return -1

    def next_index_of_unescaped(self, char: str, start: int | None = None) -> int:
        read = (self.pos if start is None else start) + 1
        escaped = False
        while self.in_bounds(read):
            if escaped:
                escaped = False
            elif self.text[read] == "\\":
                escaped = True
            elif self.text[read] == char:
                return read
            read += 1
        return -1

    def matching_close(
        self, start: int, opening: str, closing: str, skip_strings: bool, skip_regex: bool
    ) -> int:
        if self.char_at(start) != opening:
            raise CompileFailure(f"expected {opening} at {start}")
        opened = 1
        read = start + 1
        while self.in_bounds(read):
            if skip_strings and self.char_at(read) in "'\"":
                read = self.next_index_of_unescaped(self.char_at(read), read)
                if read == -1:
                    raise CompileFailure("could not find the matching close quote")
                read += 1
            if skip_regex and self.char_at(read) == "/":
                read = self.next_index_of_unescaped("/", read)
                if read == -1:
                    raise CompileFailure("could not find the matching close of a regex")
                read += 1
            if self.char_at(read) == opening:
                opened += 1
            if self.char_at(read) == closing:
                opened -= 1
                if opened == 0:
                    return read
            read += 1
        return -1

    def has_significant(self, sequence: str) -> bool:
        """Consume `sequence` if it follows (after blanks)."""
        self.skip_blanks()
        if not self.in_bounds(self.pos + len(sequence) - 1):
            return False
        if self.text[self.pos : self.pos + len(sequence)] != sequence:
            return False
        self.pos += len(sequence)
        return True

    def read_significant(self, char: str) -> None:
        if self.skip_blanks().current() != char:
            raise InvalidPath(f"expected character: {char}")
        self.pos += 1


def unescape(text: str) -> str:
    """Jayway's Utils.unescape, used for quoted property names and filter string literals."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 == len(text):
            out.append("\\")  # a trailing backslash stays
            break
        escaped = text[i + 1]
        if escaped == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) < 4:
                break  # Jayway drops an unfinished \u escape at the end of the text
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise CompileFailure(f"unable to parse unicode value: {digits}")
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(escaped, escaped))
        i += 2
    return "".join(out)


_ESCAPES = {"r": "\r", "f": "\f", "t": "\t", "n": "\n", "b": "\b"}
