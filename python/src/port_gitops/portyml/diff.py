"""A unified diff of port.yml for logs and dry runs, in the format git and reviewers know."""

from __future__ import annotations

import difflib
import re
from typing import Optional

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")  # only "\n" ends a line, as for git (str.splitlines knows more)


def unified_diff(old: Optional[str], new: str, path: str) -> str:
    """`git diff`-style text from `old` (None: the file does not exist yet) to `new`; "" when equal."""
    lines = difflib.unified_diff(
        _LINE.findall(old or ""),
        _LINE.findall(new),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
