"""`NAME='value'` lines that POSIX sh can `eval` or `source` safely, whatever the value holds."""

from __future__ import annotations

import re

_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_shell_name(name: str) -> bool:
    return _SHELL_NAME.fullmatch(name) is not None


def can_hold(value: str) -> bool:
    """A shell variable cannot hold a NUL character."""
    return "\0" not in value


def assignment(name: str, value: str) -> str:
    """Single quotes make every character literal; a quote itself is closed, escaped, reopened."""
    return name + "='" + value.replace("'", "'\\''") + "'"
