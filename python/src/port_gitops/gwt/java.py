"""The few java.lang.String behaviours that GWT's results depend on."""

from __future__ import annotations

import re

_TRIM_CHARS = "".join(chr(c) for c in range(0x21))  # String.trim(): every char <= U+0020
_INT_LITERAL = re.compile(r"[+-]?\d+")  # Integer.parseInt; \d is Unicode Nd, like Character.isDigit


def trim(text: str) -> str:
    return text.strip(_TRIM_CHARS)


def is_digit(char: str) -> bool:
    """Character.isDigit (Unicode decimal digits, not superscripts)."""
    return char.isdecimal()


def parse_int(text: str) -> int:
    """Integer.parseInt: ValueError where Java throws NumberFormatException."""
    if not _INT_LITERAL.fullmatch(text):
        raise ValueError(f"for input string: {text!r}")
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"for input string: {text!r} (out of int range)")
    return value


def split(text: str, separator: str) -> list[str]:
    """String.split with a literal separator: trailing empty strings are dropped (unless nothing matched)."""
    if separator not in text:
        return [text]
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def utf16_key(text: str) -> bytes:
    """Sort key equal to String.compareTo (UTF-16 code unit order), e.g. for TreeMap."""
    return text.encode("utf-16-be", "surrogatepass")


def utf16_length(text: str) -> int:
    """String.length(): characters outside the BMP count twice."""
    return len(utf16_key(text)) // 2
