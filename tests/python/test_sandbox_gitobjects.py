"""The git store's Python-written objects are real git objects, identical to what git's own plumbing
(read-tree + update-index + write-tree, commit-tree, show, ls-tree) gives, and clone over HTTP."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.gitstore import GitError, GitRepository, Person, git_environment

SOMEONE = Person("Zoë Example", "zoe@example.com")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepository]:
    repository = GitRepository.init(tmp_path / "r.git", git_environment(tmp_path), "main")
    yield repository
    repository.close()


def git(repo: GitRepository, *args: str, input: bytes = b"", env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", f"--git-dir={repo.path}", *args], input=input, capture_output=True, check=True,
        env={**git_environment(repo.path), **(env or {})},
    ).stdout.decode()  # fmt: skip


def mktree(repo: GitRepository, *entries: str) -> str:
    return git(repo, "mktree", "--missing", input="".join(f"{e}\n" for e in entries).encode()).strip()


def write_everything(repo: GitRepository) -> list[str]:
    """Commits through every write path: nested paths, deletes, modes, non-ASCII names, empty tree."""
    empty = repo.commit_files([], {}, "empty", SOMEONE)
    one = repo.commit_files(
        [empty],
        {"a/b/c.txt": b"c\n", "ünï/cödé.yml": b"x: 1\n", "run.sh": b"#!/bin/sh\n", "link": b"a/b/c.txt",
         "gone": b"g", "d/e/f": b"f", "-dash": b"d", "a b": b"space"},
        "one", SOMEONE, modes={"run.sh": "100755", "link": "120000"},
    )  # fmt: skip
    two = repo.commit_files(
        [one], {"gone": None, "d/e/f": None, "a/b/new": b"n", "nope/x": None}, "two", SOMEONE
    )
    tree = repo.write_tree(two, {"ünï/cödé.yml": b"x: 2\n"})
    three = repo.commit_tree(tree, [two], "three\n\nbody ✓", SOMEONE)
    merge = repo.commit_tree(repo.merge_trees(three, one), [three, one], "merge", SOMEONE)
    cleared = repo.commit_files([merge], {p: None for p in ("a/b/c.txt", "a/b/new", "ünï/cödé.yml", "run.sh",
                                 "link", "-dash", "a b")}, "cleared", SOMEONE)  # fmt: skip
    assert repo.tree_of(cleared) == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    return [empty, one, two, three, merge, cleared]


def test_objects_pass_fsck_strict_and_read_back_as_git_reads_them(repo: GitRepository) -> None:
    commits = write_everything(repo)
    for sha in commits:
        repo.update_branch(f"c/{sha[:8]}", sha, None)
    fsck = ["git", f"--git-dir={repo.path}", "fsck", "--strict", "--no-dangling"]
    assert (
        subprocess.run(fsck, capture_output=True, env=git_environment(repo.path), check=False).returncode == 0
    )
    one, two = commits[1], commits[2]
    assert git(repo, "ls-tree", "-r", "--format=%(objectmode) %(path)", two).splitlines() == [
        "100644 -dash", "100644 a b", "100644 a/b/c.txt", "100644 a/b/new", "120000 link", "100755 run.sh",
        '100644 "\\303\\274n\\303\\257/c\\303\\266d\\303\\251.yml"',
    ]  # fmt: skip
    assert repo.read_file(one, "ünï/cödé.yml") == b"x: 1\n"
    # What the store answers from cat-file is what the git commands answered before.
    for sha in commits:
        shown = git(repo, "show", "-s", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B", sha, "--")
        hash_, parents, name, email, date, message = shown.split("\0", 5)
        info = repo.commit_info(sha)
        assert (info.hash, info.parents, info.author, info.date, info.message) == (
            hash_, tuple(parents.split()), Person(name, email), date, message.rstrip("\n")
        )  # fmt: skip
        assert repo.tree_of(sha) == git(repo, "rev-parse", f"{sha}^{{tree}}").strip()
        for path in (None, "a", "a/", "a/b/", "a/b/c.txt", "ünï", "ünï/", "link", "nope", "run.sh/x"):
            listed = git(repo, "ls-tree", "-z", "--long", sha, "--", *([path] if path else []))
            expected = [(m, t, s, None if z == "-" else int(z), n) for m, t, s, z, n in
                        (r.replace("\t", " ").split(None, 4) for r in listed.split("\0") if r)]  # fmt: skip
            got = repo._ls_tree(sha, path)
            assert [(e.mode, e.type, e.sha, e.size, e.path) for e in got] == expected, (sha, path)


@pytest.mark.parametrize("zone", ["+0000", "-0130", "+0530", "-0000"])
def test_commits_are_byte_for_byte_what_commit_tree_writes(
    repo: GitRepository, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = repo.write_tree(None, {"f": b"1"})
    parent = repo.commit_files([], {"g": b"2"}, "p", SOMEONE)
    monkeypatch.setattr("time.time", lambda: 1_700_000_000.5)
    monkeypatch.setenv(
        "TZ", {"+0000": "UTC", "-0130": "<-0130>+1:30", "+0530": "<+0530>-5:30"}.get(zone, "UTC")
    )
    import time

    time.tzset()
    try:
        for message in ("m", "subject\n\nbody\n", "", "ünï ✓\n"):
            ours = repo.commit_tree(tree, [parent], message, SOMEONE)
            date = f"1700000000 {time.strftime('%z', time.localtime(1_700_000_000))}"
            theirs = git(repo, "commit-tree", tree, "-p", parent, "-F", "-", input=message.encode(), env={
                "GIT_AUTHOR_NAME": SOMEONE.name, "GIT_AUTHOR_EMAIL": SOMEONE.email, "GIT_AUTHOR_DATE": date,
                "GIT_COMMITTER_NAME": SOMEONE.name, "GIT_COMMITTER_EMAIL": SOMEONE.email,
                "GIT_COMMITTER_DATE": date}).strip()  # fmt: skip
            assert ours == theirs
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    # Odd shapes are left to git: a name it trims, a duplicate parent, a bad tree.
    assert (
        repo.commit_info(repo.commit_tree(tree, [parent], "m", Person(" Spaced.", "e@x"))).author.name
        == "Spaced"
    )
    with pytest.raises(GitError):
        repo.commit_tree(parent, [], "m", SOMEONE)


def test_trees_are_what_git_s_index_writes(repo: GitRepository) -> None:
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"x").strip()
    empty = mktree(repo)
    inner = mktree(repo, f"040000 tree {empty}\tvoid")
    sub = mktree(repo, f"100644 blob {blob}\tf", f"100664 blob {blob}\tg", f"040000 tree {empty}\thollow")
    bases = [
        None,
        mktree(repo, f"100644 blob {blob}\tkeep", f"040000 tree {sub}\tsub", f"040000 tree {inner}\tnested",
               f"040000 tree {empty}\tzero", f"160000 commit {'1' * 40}\tmodule", f"100644 blob {blob}\t.gitignore",
               f"100644 blob {blob}\ta-b", f"040000 tree {sub}\ta"),
        mktree(repo, f"040000 tree {sub}\tx", f"100755 blob {blob}\tsub"),
        mktree(repo, f"100644 blob {blob}\tgit~1"),
    ]  # fmt: skip
    changes = [
        {},
        {"sub/f": b"new"},
        {"sub/f": None, "sub/g": None},
        {"keep": None, "x/y/z": b"deep", "a/f": b"1"},
        {"nope/deeper": None},
        {"sub": b"file over a directory"},
        {"keep/x": b"a directory over a file"},
        {"module": b"blob over a submodule"},
        {"Ünï/ß": b"s", "zero/now": b"filled"},
        {"GIT~1/x": b"n"},
        {".git./x": b"n"},
        {"lnk": b"target"},
    ]
    for base in bases:
        for files in changes:
            modes = {"lnk": "120000"} if "lnk" in files else None
            try:
                expected = repo._write_tree_with_index(base, files, modes)
            except Exception as problem:  # what git refuses, the store refuses alike
                with pytest.raises(type(problem)):
                    repo.write_tree(base, files, modes)
                continue
            assert repo.write_tree(base, files, modes) == expected, (base, files)


def test_a_clone_over_http_checks_out_what_the_store_wrote(tmp_path: Path) -> None:
    with Sandbox() as sb:
        sb.scm.create_repository("acme", "svc", {"port.yml": "a: 1\n", "dir/ünï.txt": "ü\n"})
        sb.scm.push("acme", "svc", "main", {"dir/ünï.txt": None, "new/deep/file": "d\n"})
        host = sb.scm.web_url.split("://", 1)[1]
        url = f"http://{quote(sb.scm.username, safe='')}:{quote(sb.scm.token, safe='')}@{host}/acme/svc.git"
        env = {**git_environment(tmp_path), "GIT_ASKPASS": "/bin/false"}
        subprocess.run(["git", "clone", "-q", "--no-local", url, str(tmp_path / "c")], env=env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        assert (tmp_path / "c" / "new" / "deep" / "file").read_text() == "d\n"
        assert sorted(os.listdir(tmp_path / "c")) == [".git", "new", "port.yml"]
        subprocess.run(["git", "-C", str(tmp_path / "c"), "fsck", "--strict"], env=env, check=True,
                       capture_output=True)  # fmt: skip


def test_ancestry_and_branch_names_are_what_git_says(repo: GitRepository) -> None:
    commits = write_everything(repo)
    side = repo.commit_files([commits[1]], {"side": b"s"}, "side", SOMEONE)
    tree = repo.tree_of(side)
    for a in [*commits, side, tree, "0" * 40]:
        for d in [*commits, side, tree, "0" * 40]:
            git_says = subprocess.run(["git", f"--git-dir={repo.path}", "merge-base", "--is-ancestor", a, d],
                                      capture_output=True, env=git_environment(repo.path), check=False)  # fmt: skip
            assert repo.is_ancestor(a, d) == (git_says.returncode == 0), (a, d)
    for name in ("main", "port/enrich-svc-0", "a.b/c_d", "x.lock", "a..b", ".hidden", "a/.b", "-x", "a//b",
                 "a/", "@", "a@{b", "sp ace", "ü", "a.", "t~1", "q?", "b[1]", "v1.2.3", "A/B/C"):  # fmt: skip
        git_says = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"], check=False)
        assert repo.is_valid_branch_name(name) == (git_says.returncode == 0), name
