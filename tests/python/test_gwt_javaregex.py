"""regexpFilter / regexpFilterExpression keep their java.util.regex meaning."""

from __future__ import annotations

import pytest

from port_gitops.gwt.javaregex import UnsupportedRegex, compile_java


@pytest.mark.parametrize(
    ("regex", "text", "left"),
    [
        ("[^0-9]", "abc123456cdef", "123456"),  # GWT's own request-parameter test
        ("[aA]", "Administrator", "dministrtor"),
        ("\\s", "a b\u00a0c\td", "ab\u00a0cd"),  # Java's \s is ASCII only
        ("\\d", "1\u0661", "\u0661"),  # ... and so is \d
        ("\\w+", "ab_1-é", "-é"),
        ("\\Q.*\\E", "a.*b", "ab"),
        ("a.c", "abc a\rc a\u2028c", " a\rc a\u2028c"),  # `.` stops at every Java line terminator
        ("(?<x>a)\\k<x>", "aab", "b"),
        ("\\x41\\u0042\\0103\\e", "ABC\x1bD", "D"),
        ("[\\s\\d-]", "a 1-b", "ab"),
        ("x*", "abc", "abc"),  # empty matches remove nothing
    ],
)
def test_replace_all(regex: str, text: str, left: str):
    assert compile_java(regex).remove_all(text) == left


@pytest.mark.parametrize(
    ("regex", "text", "found"),
    [
        ("^refs/heads/main$", "refs/heads/main", True),
        ("^refs/heads/main$", "refs/heads/main\n", True),  # `$` also before a final line terminator
        ("^refs/heads/main$", "refs/heads/main\r\n", True),
        ("^refs/heads/main$", "refs/heads/main\u2028", True),
        ("^refs/heads/main$", "refs/heads/main\n\n", False),
        ("^a$", "a\r", True),
        ("heads/(main|dev)", "refs/heads/dev", True),
        ("", "anything", True),
        ("^$", "", True),
        ("^$", "$x", False),
    ],
)
def test_find(regex: str, text: str, found: bool):
    assert compile_java(regex).found_in(text) is found


@pytest.mark.parametrize(
    "regex",
    [
        "\\p{Alpha}",
        "[a-z&&[^e]]",
        "[a[b]]",
        "\\bword\\b",
        "(?i)main",
        "a++",
        "a?+",
        "(?>a)",
        "a{",
        "\\h",
        "\\Z",
        "[]a]",
        "(unclosed",
        "trailing\\",
    ],
)
def test_what_python_cannot_mean_the_same_is_refused(regex: str):
    with pytest.raises(UnsupportedRegex):
        compile_java(regex)
