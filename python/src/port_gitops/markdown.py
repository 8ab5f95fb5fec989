"""Payload-derived text inside Markdown that code hosts render: PR titles, descriptions, commit messages.

Every such value is shown as an inline code span. Inside one, no host (Bitbucket, GitHub, GitLab)
renders links, images, mentions (@user), references (#123, !1), HTML, emphasis, headings or autolinks,
whereas backslash escapes are not enough: GitHub and GitLab find mentions and references in the text
*after* Markdown has removed the backslashes. A span cannot be broken out of: its backtick fence is
longer than any run of backticks inside, and line breaks (a blank line would end the paragraph) and
other invisible characters (bidi overrides, zero-width ones) are shown as escapes.
"""

from __future__ import annotations

import re
import unicodedata

_BACKTICKS = re.compile(r"`+")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control, format (bidi overrides, zero-width), line and paragraph separators: never shown raw.
_HIDDEN = ("Cc", "Cf", "Zl", "Zp")


def _visible(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    if unicodedata.category(ch) in _HIDDEN:
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch


def code(text: str) -> str:
    """`text` as one inline code span that shows it literally, on one line, whatever it holds."""
    shown = "".join(_visible(ch) for ch in text) or " "
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    # CommonMark strips one space on each side when both are there: pad when the text starts or ends
    # with a backtick (it would join the fence) or a space (it would be stripped); all-space text is kept.
    pad = " " if shown.strip(" ") and (shown[0] in "` " or shown[-1] in "` ") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"
