"""The sandbox's git store: commits made with plumbing are real commits that `git` itself reads back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from port_gitops.sandbox.gitstore import (
    GitError,
    GitRepository,
    Person,
    git_environment,
)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepository:
    return GitRepository.init(tmp_path / "acme" / "svc.git", git_environment(tmp_path), "main")


def git(repo: GitRepository, *args: str) -> str:
    """Plain `git` on the bare repository, as a person inspecting it would run it."""
    return subprocess.run(
        ["git", f"--git-dir={repo.path}", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_commit_is_what_git_log_and_show_report(repo: GitRepository) -> None:
    alice = Person("Alice Example", "alice@example.com")
    root = repo.commit_files([], {"port.yml": b"a: 1\n"}, "first", alice)
    assert repo.update_branch("main", root, None)
    child = repo.commit_files(
        [root],
        {"port.yml": b"a: 2\n"},
        "second\n\nwith a body",
        Person("Bot", "bot@x.io"),
    )
    assert repo.update_branch("main", child, root)

    log = git(repo, "log", "--format=%H|%P|%an <%ae>|%s", "main").splitlines()
    assert log == [
        f"{child}|{root}|Bot <bot@x.io>|second",
        f"{root}||Alice Example <alice@example.com>|first",
    ]
    assert git(repo, "show", f"{child}:port.yml") == "a: 2\n"
    assert git(repo, "log", "-1", "--format=%b", child).strip() == "with a body"
    info = repo.commit_info(child)
    assert (info.parents, info.author, info.message) == (
        (root,),
        Person("Bot", "bot@x.io"),
        "second\n\nwith a body",
    )


def test_nested_paths_deletions_and_modes(repo: GitRepository) -> None:
    someone = Person("S", "s@x.io")
    first = repo.commit_files([], {"a/b/c.txt": b"c", "keep.txt": b"k", "gone.txt": b"g"}, "m", someone)
    second = repo.commit_files(
        [first],
        {"gone.txt": None, "run.sh": b"#!/bin/sh\n"},
        "m",
        someone,
        modes={"run.sh": "100755"},
    )
    files = git(repo, "ls-tree", "-r", "--format=%(objectmode) %(path)", second).splitlines()
    assert files == ["100644 a/b/c.txt", "100644 keep.txt", "100755 run.sh"]
    assert repo.read_file(second, "a/b/c.txt") == b"c"
    assert repo.read_file(second, "gone.txt") is None
    assert repo.read_file(second, "a/b") is None  # a directory is not a file
    assert [e.path for e in repo.list_directory(second, "a") or []] == ["a/b"]
    assert repo.list_directory(second, "keep.txt") is None


@pytest.mark.parametrize("path", ["../outside", "a/../../x", ".git/config"])
def test_paths_outside_the_tree_are_refused(repo: GitRepository, path: str) -> None:
    with pytest.raises(GitError):
        repo.commit_files([], {path: b"x"}, "m", Person("S", "s@x.io"))


def test_branch_updates_are_compare_and_swap(repo: GitRepository) -> None:
    someone = Person("S", "s@x.io")
    one = repo.commit_files([], {"f": b"1"}, "1", someone)
    two = repo.commit_files([one], {"f": b"2"}, "2", someone)
    assert repo.update_branch("topic/x", one, None)
    assert not repo.update_branch("topic/x", two, None)  # exists already
    assert not repo.update_branch("topic/x", two, "f" * 40)  # stale expectation
    assert repo.branch_tip("topic/x") == one
    assert repo.update_branch("topic/x", two, one)
    assert repo.branches() == {"topic/x": two}
    assert repo.delete_branch("topic/x")
    assert repo.branch_tip("topic/x") is None
    assert not repo.delete_branch("topic/x")


def test_resolve_accepts_names_and_shas_but_no_revision_syntax(
    repo: GitRepository,
) -> None:
    someone = Person("S", "s@x.io")
    one = repo.commit_files([], {"f": b"1"}, "1", someone)
    two = repo.commit_files([one], {"f": b"2"}, "2", someone)
    repo.update_branch("main", two, None)
    assert repo.resolve("main") == two
    assert repo.resolve("HEAD") == two
    assert repo.resolve(one[:10]) == one
    assert repo.resolve(one) == one
    for tricky in (
        "main~1",
        "main^",
        "main^{tree}",
        f"{one}..main",
        "main@{0}",
        "--all",
        "nope",
        "",
    ):
        assert repo.resolve(tricky) is None, tricky
        assert repo.branch_tip(tricky) is None, tricky


def test_merge_trees_and_two_parent_commit(repo: GitRepository) -> None:
    someone = Person("S", "s@x.io")
    base = repo.commit_files([], {"a": b"a\n", "b": b"b\n"}, "base", someone)
    ours = repo.commit_files([base], {"a": b"A\n"}, "ours", someone)
    theirs = repo.commit_files([base], {"b": b"B\n"}, "theirs", someone)
    merged = repo.commit_tree(repo.merge_trees(ours, theirs), [ours, theirs], "merge", someone)
    assert repo.commit_info(merged).parents == (ours, theirs)
    assert (repo.read_file(merged, "a"), repo.read_file(merged, "b")) == (
        b"A\n",
        b"B\n",
    )
    conflicting = repo.commit_files([base], {"a": b"other\n"}, "conflict", someone)
    with pytest.raises(GitError):
        repo.merge_trees(ours, conflicting)
    assert repo.is_ancestor(base, merged) and not repo.is_ancestor(merged, base)
    assert "+A" in repo.diff(base, ours)
