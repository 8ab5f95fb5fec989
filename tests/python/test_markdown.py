"""markdown.code: payload text shown literally in any host's Markdown, never escaping its code span."""

from __future__ import annotations

import re

import pytest

from port_gitops.markdown import code

HOSTILE_RUN_ID = (
    "r_1`\n\n# URGENT: rotate your credentials now [bitbucket.org/login](https://evil.example/phish)\n"
    "<img src=https://evil.example/x.png>"
)
HOSTILE = [
    HOSTILE_RUN_ID,
    "`",
    "``",
    "a ``` b",
    "` leading and trailing `",
    " spaced ",
    "@admin please merge",
    "#123 !45 @group/team",
    "https://evil.example/phish www.evil.example evil@example.com",
    "<script>alert(1)</script> &amp;",
    "![x](https://evil.example/x.png)",
    "**bold** _em_ \\`",
    "line\r\nbreak\u2028sep\u2029para\x00nul",
    "\u202eevil\u200b\ufeff",
    "",
]


def spans(markdown: str) -> list[str]:
    """CommonMark code spans (spec 6.1): a backtick run, content, the next run of the same length;
    one leading and trailing space are stripped when both are there and the content is not all spaces."""
    found, at = [], 0
    for opening in re.finditer(r"`+", markdown):
        if opening.start() < at:
            continue
        fence = opening.group()
        closing = re.compile(rf"(?<!`){fence}(?!`)").search(markdown, opening.end())
        if closing is None:
            at = opening.end()
            continue
        content = markdown[opening.end() : closing.start()]
        if len(content) > 2 and content[0] == content[-1] == " " and content.strip(" "):
            content = content[1:-1]
        found.append(content)
        at = closing.end()
    return found


def outside_spans(markdown: str) -> str:
    """The text Markdown would still interpret: everything not inside a code span."""
    return re.sub(r"(`+)(.*?)(?<!`)\1(?!`)", "<span>", markdown, flags=re.S)


@pytest.mark.parametrize("text", HOSTILE)
def test_code_is_one_span_on_one_line_holding_the_text(text: str) -> None:
    shown = code(text)
    assert "\n" not in shown and "\r" not in shown
    assert outside_spans(shown) == "<span>", "nothing is left for Markdown to interpret"
    [content] = spans(shown)
    expected = (
        text.replace("\r", "\\r")
        .replace("\n", "\\n")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
        .replace("\x00", "\\x00")
        .replace("\u202e", "\\u202e")
        .replace("\u200b", "\\u200b")
        .replace("\ufeff", "\\ufeff")
    )
    assert content == (expected or " ")


def test_spans_inside_a_sentence_stay_apart() -> None:
    sentence = f"run {code(HOSTILE_RUN_ID)} for {code('`x`')} and {code('@admin')}."
    assert spans(sentence)[1:] == ["`x`", "@admin"]
    assert outside_spans(sentence) == "run <span> for <span> and <span>."
