"""The unified diff shown in --check and dry runs."""

from __future__ import annotations

from port_gitops.portyml import unified_diff


def test_a_changed_line() -> None:
    assert unified_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "port.yml") == (
        "--- a/port.yml\n+++ b/port.yml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
    )


def test_a_new_file_comes_from_dev_null() -> None:
    assert (
        unified_diff(None, "a: 1\n", "svc/port.yml")
        == "--- /dev/null\n+++ b/svc/port.yml\n@@ -0,0 +1 @@\n+a: 1\n"
    )


def test_a_missing_final_newline_is_marked_like_git_does() -> None:
    assert unified_diff("a: 1", "a: 1\nb: 2", "p") == (
        "--- a/p\n+++ b/p\n@@ -1 +1,2 @@\n-a: 1\n\\ No newline at end of file\n+a: 1\n+b: 2\n"
        "\\ No newline at end of file\n"
    )


def test_only_line_feeds_split_lines() -> None:
    diff = unified_diff("a: '\u2028'\n", "a: '\u2028x'\n", "p")
    assert diff.count("\n") == 5


def test_no_difference_is_empty() -> None:
    assert unified_diff("a\r\n", "a\r\n", "p") == ""
