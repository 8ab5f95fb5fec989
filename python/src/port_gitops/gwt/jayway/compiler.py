"""Jayway's PathCompiler, ported scanner step by scanner step: it validates and tokenizes only.

Jayway accepts property names with almost any character (`$.a:b`, `$.$ref`), ignores a slice's step
(`[0:4:2]` is `[0:4]`) but rejects `[::2]`, and reads `$['a']b` as `$['a']`: a grammar would get these
wrong, so the scanner is kept. After compiling, `_check_supported` refuses the shapes no translation
reproduces (functions other than a final `length()`, a deep scan followed by more than one token).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, List, Optional

from port_gitops.gwt import java
from port_gitops.gwt.jayway.chars import SPACE, Cursor, unescape
from port_gitops.gwt.jayway.errors import CompileFailure, InvalidPath, Unsupported
from port_gitops.gwt.jayway.tokens import (
    Filter,
    Indexes,
    Length,
    Path,
    Property,
    Root,
    Scan,
    Slice,
    Token,
    Wildcard,
)

if TYPE_CHECKING:
    from port_gitops.gwt.jayway.filters import Expression

FilterCompiler = Callable[[str, Callable[[str], Path]], "Expression"]

_BLANKS = " \t\n\r"
_COMMA = re.compile(r"\s*,\s*")


def compile_path(text: str, compile_filter: FilterCompiler) -> Path:
    """Tokens for `text`, or InvalidPath (Jayway rejects it) / Unsupported (not reproduced here)."""
    try:
        cursor = Cursor(text).trim()
        if cursor.char_at(0) not in "$@":  # Jayway looks at the untrimmed first character
            cursor = Cursor("$." + text).trim()
        if cursor.last_is("."):
            raise InvalidPath("Path must not end with a '.' or '..'")
        tokens = _Scanner(cursor, compile_filter).read_context()
    except CompileFailure as exc:  # PathCompiler reports every failure as an InvalidPathException
        raise InvalidPath(str(exc)) from exc
    except ValueError as exc:  # Java's NumberFormatException
        raise InvalidPath(str(exc)) from exc
    path = Path(text, tuple(tokens))
    _check_supported(path)
    return path


def _check_supported(path: Path) -> None:
    tokens = path.tokens
    for i, token in enumerate(tokens):
        if isinstance(token, Length) and (i != len(tokens) - 1 or any(isinstance(t, Scan) for t in tokens)):
            raise Unsupported("length() is only reproduced as the last step of a path without '..'")
        if isinstance(token, Scan) and i != len(tokens) - 2:
            raise Unsupported("'..' is only reproduced when exactly one step follows it (like $..id)")


class _Scanner:
    def __init__(self, cursor: Cursor, compile_filter: FilterCompiler) -> None:
        self.path = cursor
        self.compile_filter = compile_filter
        self.tokens: List[Token] = []

    def fail(self, message: str) -> InvalidPath:
        return InvalidPath(message)

    def read_context(self) -> List[Token]:
        path = self.path
        while path.in_bounds() and path.current() in _BLANKS:
            path.pos += 1
        if path.current() not in "$@":
            raise self.fail("Path must start with '$' or '@'")
        self.tokens.append(Root(path.current()))
        if path.current_is_tail():
            return self.tokens
        path.pos += 1
        if path.current() not in ".[":
            raise self.fail(f"Illegal character at position {path.pos} expected '.' or '['")
        self.read_next()
        return self.tokens

    def done_or_next(self) -> bool:
        return self.path.current_is_tail() or self.read_next()

    def read_next(self) -> bool:
        path = self.path
        char = path.current()
        if char == "[":
            if not (
                self.read_bracket_property()
                or self.read_array()
                or self.read_wildcard()
                or self.read_filter()
                or self.read_placeholder()
            ):
                raise self.fail(
                    f"Could not parse token starting at position {path.pos}. Expected ?, ', 0-9, * "
                )
        elif char == ".":
            if not self.read_dot():
                raise self.fail(f"Could not parse token starting at position {path.pos}")
        elif char == "*":
            if not self.read_wildcard():
                raise self.fail(f"Could not parse token starting at position {path.pos}")
        elif not self.read_property_or_function():
            raise self.fail(f"Could not parse token starting at position {path.pos}")
        return True

    def read_dot(self) -> bool:
        path = self.path
        if path.current_is(".") and path.next_is("."):
            self.tokens.append(Scan())
            path.pos += 2
        elif not path.has_more():
            raise self.fail("Path must not end with a '.")
        else:
            path.pos += 1
        if path.current_is("."):
            raise self.fail(f"Character '.' on position {path.pos} is not valid.")
        return self.read_next()

    def read_property_or_function(self) -> bool:
        path = self.path
        if path.current() in "[*. ":
            return False
        start = read = path.pos
        end = 0
        is_function = False
        while path.in_bounds(read):
            char = path.char_at(read)
            if char == SPACE:
                raise self.fail(
                    f"Use bracket notion ['my prop'] for a property with blanks. position: {path.pos}"
                )
            if char in ".[":
                end = read
                break
            if char == "(":
                is_function = True
                end = read
                break
            read += 1
        if end == 0:
            end = path.length()
        name = path.sub(start, end)
        if is_function:
            self.read_function(name, read)
        else:
            path.pos = end
            self.tokens.append(Property((name,)))
        return self.done_or_next()

    def read_function(self, name: str, open_paren: int) -> None:
        path = self.path
        depth = 1
        i = open_paren + 1
        while i < path.length():
            if path.char_at(i) == ")":
                depth -= 1
            elif path.char_at(i) == "(":
                depth += 1
            if depth == 0:
                break
            i += 1
        if depth != 0:
            raise self.fail(f"Arguments to function: '{name}' are not closed properly.")
        if path.in_bounds(open_paren + 1) and path.char_at(open_paren + 1) != ")":
            raise Unsupported(f"function {name}() with arguments")
        if name != "length":
            raise Unsupported(f"function {name}() (only length() is reproduced)")
        path.pos = open_paren + 1 if path.in_bounds(open_paren + 1) else open_paren
        self.tokens.append(Length())

    def read_placeholder(self) -> bool:
        """`[?]` needs a Predicate handed over in Java code; a text-only path never has one."""
        path = self.path
        question = path.next_significant_index("?")
        if question == -1 or path.next_significant_char(question) not in "],":
            return False
        begin = path.pos + 1
        end = path.next_index_of("]", begin)
        if end == -1:
            return False
        expression = path.sub(begin, end)
        raise self.fail(f"Not enough predicates supplied for filter [{expression}] at position {path.pos}")

    def read_filter(self) -> bool:
        path = self.path
        if not path.current_is("[") and not path.next_significant_is("?"):
            return False
        opening = path.pos
        question = path.next_significant_index("?")
        if question == -1:
            return False
        open_paren = path.next_significant_index("(", question)
        if open_paren == -1:
            return False
        close_paren = path.matching_close(open_paren, "(", ")", True, True)
        if close_paren == -1 or not path.next_significant_is("]", close_paren):
            return False
        closing = path.next_significant_index("]", close_paren)
        criteria = path.sub(opening, closing + 1)
        self.tokens.append(Filter(self.compile_filter(criteria, self._compile_nested)))
        path.pos = closing + 1
        return self.done_or_next()

    def _compile_nested(self, text: str) -> Path:
        return compile_path(text, self.compile_filter)

    def read_wildcard(self) -> bool:
        path = self.path
        in_bracket = path.current_is("[")
        if in_bracket and not path.next_significant_is("*"):
            return False
        if not path.current_is("*") and not path.in_bounds(path.pos + 1):
            return False
        if in_bracket:
            star = path.next_significant_index("*")
            if not path.next_significant_is("]", star):
                raise self.fail(f"Expected wildcard token to end with ']' on position {star + 1}")
            path.pos = path.next_significant_index("]", star) + 1
        else:
            path.pos += 1
        self.tokens.append(Wildcard())
        return self.done_or_next()

    def read_array(self) -> bool:
        path = self.path
        if not path.current_is("["):
            return False
        char = path.next_significant_char()
        if not (java.is_digit(char) or char in "-:"):
            return False
        begin = path.pos + 1
        end = path.next_index_of("]", begin)
        if end == -1:
            return False
        expression = java.trim(path.sub(begin, end))
        if expression == "*":
            return False
        if not all(java.is_digit(c) or c in ",-: " for c in expression):
            return False
        self.tokens.append(_slice(expression) if ":" in expression else _indexes(expression))
        path.pos = end + 1
        return self.done_or_next()

    def read_bracket_property(self) -> bool:
        path = self.path
        if not path.current_is("["):
            return False
        quote = path.next_significant_char()
        if quote not in "'\"":
            return False
        names: List[str] = []
        start = read = path.pos + 1
        end = 0
        in_name = escaped = after_comma = False
        while path.in_bounds(read):
            char = path.char_at(read)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "]" and not in_name:
                if after_comma:
                    raise self.fail(f"Found empty property at index {read}")
                break
            elif char == quote:
                if in_name:
                    if path.next_significant_char(read) not in "],":
                        raise self.fail(
                            "Property must be separated by comma or Property must be terminated close "
                            f"square bracket at index {read}"
                        )
                    end = read
                    names.append(unescape(path.sub(start, end)))
                    in_name = False
                else:
                    start = read + 1
                    in_name = True
                    after_comma = False
            elif char == "," and not in_name:
                if after_comma:
                    raise self.fail(f"Found empty property at index {read}")
                after_comma = True
            read += 1
        if in_name:
            raise self.fail(f"Property has not been closed - missing closing {quote}")
        close = path.next_significant_index("]", end)
        if close == -1:
            raise self.fail("Property has not been closed - missing closing ]")
        path.pos = close + 1
        if not names:
            raise self.fail("Empty properties")
        self.tokens.append(Property(tuple(names)))
        return self.done_or_next()


def _indexes(expression: str) -> Indexes:
    if not all(java.is_digit(c) or c in ", -" for c in expression):
        raise InvalidPath(f"Failed to parse ArrayIndexOperation: {expression}")
    indexes = []
    for token in _COMMA.split(expression):
        try:
            indexes.append(java.parse_int(token))
        except ValueError as exc:
            raise InvalidPath(f"Failed to parse token in ArrayIndexOperation: {token}") from exc
    return Indexes(tuple(indexes))


def _slice(expression: str) -> Slice:
    if not all(java.is_digit(c) or c in "-:" for c in expression):
        raise InvalidPath(f"Failed to parse SliceOperation: {expression}")
    parts = java.split(expression, ":")

    def bound(i: int) -> Optional[int]:
        return java.parse_int(parts[i]) if len(parts) > i and parts[i] != "" else None

    start, stop = bound(0), bound(1)  # a third part (a step) is silently ignored, as in Jayway
    if start is None and stop is None:
        raise InvalidPath(f"Failed to parse SliceOperation: {expression}")
    return Slice(start, stop)
