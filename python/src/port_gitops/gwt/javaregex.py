"""Java regular expressions (java.util.regex) for `regexpFilter` and `regexpFilterExpression`.

A Java pattern is translated into an equivalent Python one: `\\s`, `\\d`, `\\w` are ASCII-only in Java,
`.` and `$` know more line terminators than `\\n`, `\\z`/`(?<name>...)`/`\\Q...\\E`/`\\e` are spelled
differently. Constructs whose Java meaning Python cannot express exactly (`\\p{...}`, `\\b`, inline
flags, possessive quantifiers, atomic groups, character-class unions and intersections, ...) are
refused with UnsupportedRegex instead of being approximated.
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Tuple

_SPACE = " \\t\\n\\x0b\\f\\r"
_CLASS_SHORTHANDS = {"d": "0-9", "w": "a-zA-Z_0-9", "s": _SPACE}
_SHORTHANDS = {
    **{k: f"[{v}]" for k, v in _CLASS_SHORTHANDS.items()},
    **{k.upper(): f"[^{v}]" for k, v in _CLASS_SHORTHANDS.items()},
}
_TERMINATORS = "\\n\\r\\x85\\u2028\\u2029"
_DOT = f"[^{_TERMINATORS}]"
# Java's `$`: end of input, or before a final line terminator (`\r\n` counting as one)
_DOLLAR = f"(?=(?:\\r\\n|[{_TERMINATORS}])?\\Z)(?<!\\r(?=\\n\\Z))"
_CONTROL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\a", "e": "\x1b"}
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")


class UnsupportedRegex(ValueError):
    """Not valid Java, or Java whose meaning Python cannot reproduce exactly."""


class JavaRegex(NamedTuple):
    source: str
    pattern: re.Pattern[str]

    def remove_all(self, text: str) -> str:
        """String.replaceAll(regex, "")."""
        return self.pattern.sub("", text)

    def found_in(self, text: str) -> bool:
        """Pattern.compile(regex).matcher(text).find()."""
        return self.pattern.search(text) is not None


def compile_java(source: str) -> JavaRegex:
    try:
        return JavaRegex(source, re.compile(_translate(source)))
    except re.error as exc:
        raise UnsupportedRegex(f"not a valid regular expression: {exc}") from exc


def _translate(source: str) -> str:
    out: List[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            piece, i = _escape(source, i, in_class=False)
        elif char == "[":
            piece, i = _char_class(source, i)
        elif char == "(":
            piece, i = _group(source, i)
        elif char == "{":
            match = _QUANTIFIER.match(source, i)
            if not match:
                raise UnsupportedRegex(f"'{{' at {i} does not start a repetition (Java rejects it)")
            piece, i = match.group(), _after_quantifier(source, match.end())
        elif char in "*+?":
            piece, i = char, _after_quantifier(source, i + 1)
        else:
            piece, i = {".": _DOT, "$": _DOLLAR}.get(char, char), i + 1
        out.append(piece)
    return "".join(out)


def _after_quantifier(source: str, i: int) -> int:
    if source.startswith("+", i) or source.startswith("?+", i):
        raise UnsupportedRegex("possessive quantifiers are not reproduced")
    return i


def _group(source: str, i: int) -> Tuple[str, int]:
    for opening in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
        if source.startswith(opening, i):
            return opening, i + len(opening)
    named = re.compile(r"\(\?<([a-zA-Z][a-zA-Z0-9]*)>").match(source, i)
    if named:
        return f"(?P<{named.group(1)}>", named.end()
    if source.startswith("(?", i):
        raise UnsupportedRegex("inline flags and atomic groups are not reproduced")
    return "(", i + 1


def _escape(source: str, i: int, *, in_class: bool) -> Tuple[str, int]:
    if i + 1 >= len(source):
        raise UnsupportedRegex("trailing backslash")
    char = source[i + 1]
    end = i + 2
    if char in "dws" and in_class:
        return _CLASS_SHORTHANDS[char], end
    if char in "dwsDWS" and not in_class:
        return _SHORTHANDS[char], end
    if char in _CONTROL_ESCAPES:
        return _literal(_CONTROL_ESCAPES[char]), end
    if char == "0":
        digits = re.compile(r"[0-3]?[0-7]{1,2}|[0-7]").match(source, end)
        if not digits:
            raise UnsupportedRegex("illegal octal escape")
        return _literal(chr(int(digits.group(), 8))), digits.end()
    if char == "x":
        hex_digits = re.compile(r"[0-9a-fA-F]{2}|\{([0-9a-fA-F]+)\}").match(source, end)
        if not hex_digits:
            raise UnsupportedRegex("illegal hexadecimal escape")
        value = hex_digits.group(1) or hex_digits.group()
        return _literal(_code_point(int(value, 16))), hex_digits.end()
    if char == "u":
        hex_digits = re.compile(r"[0-9a-fA-F]{4}").match(source, end)
        if not hex_digits:
            raise UnsupportedRegex("illegal unicode escape")
        return _literal(_code_point(int(hex_digits.group(), 16))), hex_digits.end()
    if char == "c" and end < len(source):
        return _literal(chr(ord(source[end]) ^ 64)), end + 1
    if char == "Q" and not in_class:
        stop = source.find("\\E", end)
        quoted = source[end:] if stop == -1 else source[end:stop]
        return re.escape(quoted), len(source) if stop == -1 else stop + 2
    if not in_class:
        if char in "123456789" and not (end < len(source) and source[end].isdigit()):
            return "\\" + char, end
        named = re.compile(r"k<([a-zA-Z][a-zA-Z0-9]*)>").match(source, i + 1)
        if named:
            return f"(?P={named.group(1)})", named.end()
        if char in "Az":
            return {"A": "\\A", "z": "\\Z"}[char], end
    if char.isalnum():
        raise UnsupportedRegex(f"escape \\{char} is not reproduced")
    return _literal(char), end


def _char_class(source: str, i: int) -> Tuple[str, int]:
    parts = ["["]
    j = i + 1
    if source.startswith("^", j):
        parts.append("^")
        j += 1
    if source.startswith("]", j):
        raise UnsupportedRegex("a character class starting with ']' is not reproduced")
    while j < len(source):
        char = source[j]
        if char == "]":
            parts.append("]")
            return "".join(parts), j + 1
        if char == "[" or source.startswith("&&", j):
            raise UnsupportedRegex("character-class unions and intersections are not reproduced")
        if char == "\\":
            piece, j = _escape(source, j, in_class=True)
            parts.append(piece)
            continue
        parts.append(char if char == "-" else _literal(char))
        j += 1
    raise UnsupportedRegex("unclosed character class")


def _literal(char: str) -> str:
    return re.escape(char)


def _code_point(value: int) -> str:
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        raise UnsupportedRegex("surrogate or out-of-range code point escapes are not reproduced")
    return chr(value)
