"""Payload values inside Markdown (pull request descriptions, Port run summaries) stay text."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def escape(text: str) -> str:
    """`text` as literal Markdown: every character Markdown could read as syntax is backslash-escaped,
    and line breaks become spaces (a value is one line of a description)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))
