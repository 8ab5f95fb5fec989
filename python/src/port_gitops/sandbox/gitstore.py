"""Real bare git repositories, written with plumbing only (hash-object, update-index on a private
index, write-tree, commit-tree, update-ref), so `git log` and `git show` in the store tell the truth
about every commit a client made through a sandbox API.

Every ref update is a compare-and-swap (`update-ref NEW OLD`); callers serialise their
read-check-write sequences with their own per-repository lock.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

ZERO_SHA = "0" * 40
_HEX = re.compile(r"[0-9a-f]{4,40}")
_REVISION_SYNTAX = re.compile(r"[~^:?*\[\\\s]|\.\.|@\{")  # what would make git read more than a name
_PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]*)>\s*$")
MODES = {"executable": "100755", "link": "120000"}
REGULAR_MODE = "100644"


class GitError(RuntimeError):
    """A git command failed; the message carries git's own stderr."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    @classmethod
    def parse(cls, raw: str) -> Person:
        match = _PERSON.match(raw)
        if not match or not match["name"]:
            raise ValueError(f"not of the form 'Name <email>': {raw!r}")
        return cls(match["name"], match["email"])

    @property
    def raw(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class CommitInfo:
    hash: str
    parents: tuple[str, ...]
    author: Person
    date: str  # ISO 8601, as git records it
    message: str


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str  # "blob" | "tree" | "commit"
    sha: str
    size: Optional[int]


def tree_path(path: str) -> str:
    """`path` as a path inside a tree (leading "/" optional, as Bitbucket allows); GitError for
    anything git would silently drop or that escapes the tree (.., ., .git, empty parts)."""
    name = path.lstrip("/")
    parts = name.split("/")
    if not name or "\0" in name or any(part in ("", ".", "..") or part.lower() == ".git" for part in parts):
        raise GitError(f"invalid path in a repository: {path!r}")
    return name


def git_environment(home: Path) -> dict[str, str]:
    """The caller's environment without its git configuration: no GIT_DIR or similar leaking in
    from a hook, no user or system config, literal pathspecs, parseable output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_LITERAL_PATHSPECS="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


def git_executable() -> str:
    found = shutil.which("git")
    if not found:
        raise GitError("the sandbox needs the git command-line tool on PATH")
    return found


class GitRepository:
    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self._env = dict(env)
        self._git = git_executable()

    @classmethod
    def init(cls, path: Path, env: Mapping[str, str], main_branch: str) -> GitRepository:
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = cls(path, env)
        subprocess.run(
            [repo._git, "init", "--bare", "--quiet", str(path)],
            env=repo._env,
            check=True,
            capture_output=True,
        )
        repo.set_head_branch(main_branch)
        return repo

    def run(
        self, *args: str, input: Optional[bytes] = None, env: Optional[Mapping[str, str]] = None
    ) -> bytes:
        done = self._run(args, input, env)
        if done.returncode != 0:
            raise GitError(f"git {args[0]}: {done.stderr.decode('utf-8', 'replace').strip()}")
        return done.stdout

    def _run(
        self, args: Sequence[str], input: Optional[bytes] = None, env: Optional[Mapping[str, str]] = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self._git, f"--git-dir={self.path}", *args],
            input=input,
            env={**self._env, **(env or {})},
            capture_output=True,
            check=False,
        )

    def _succeeds(self, *args: str) -> bool:
        return self._run(args).returncode == 0

    # --- refs -------------------------------------------------------------------------------------

    def set_head_branch(self, name: str) -> None:
        self.run("symbolic-ref", "HEAD", f"refs/heads/{name}")

    def is_valid_branch_name(self, name: str) -> bool:
        return bool(name) and self._succeeds("check-ref-format", f"refs/heads/{name}")

    def branch_tip(self, name: str) -> Optional[str]:
        if not name or _REVISION_SYNTAX.search(name):
            return None  # not a branch name, and nothing git should read as revision syntax
        done = self._run(["rev-parse", "--verify", "--quiet", f"refs/heads/{name}^{{commit}}"])
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def branches(self) -> dict[str, str]:
        out = self.run("for-each-ref", "--format=%(objectname) %(refname:strip=2)", "refs/heads/")
        return {name: sha for sha, _, name in (line.partition(" ") for line in out.decode().splitlines())}

    def resolve(self, revision: str) -> Optional[str]:
        """A commit SHA for what Bitbucket accepts as a revision: a (short) SHA, branch, tag or HEAD.
        Only these forms: nothing a client sends is ever read by git as an option or revision syntax."""
        if not revision or _REVISION_SYNTAX.search(revision):
            return None
        candidates = [f"refs/heads/{revision}", f"refs/tags/{revision}"]
        if revision == "HEAD" or _HEX.fullmatch(revision):
            candidates.insert(0, revision)
        for candidate in candidates:
            done = self._run(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"])
            if done.returncode == 0:
                return done.stdout.decode().strip()
        return None

    def update_branch(self, name: str, new: str, old: Optional[str]) -> bool:
        """Move (or create, with `old=None`) a branch only if it is still at `old`."""
        done = self._run(["update-ref", f"refs/heads/{name}", new, old or ZERO_SHA])
        if done.returncode == 0:
            return True
        if self.branch_tip(name) != old:
            return False
        raise GitError(f"git update-ref: {done.stderr.decode('utf-8', 'replace').strip()}")

    def delete_branch(self, name: str) -> bool:
        tip = self.branch_tip(name)
        return tip is not None and self._succeeds("update-ref", "-d", f"refs/heads/{name}", tip)

    # --- objects ----------------------------------------------------------------------------------

    def commit_info(self, sha: str) -> CommitInfo:
        out = self.run("show", "-s", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B", sha, "--")
        hash_, parents, name, email, date, message = out.decode("utf-8", "replace").split("\0", 5)
        return CommitInfo(hash_, tuple(parents.split()), Person(name, email), date, message.rstrip("\n"))

    def entry(self, commit: str, path: str) -> Optional[TreeEntry]:
        entries = self._ls_tree(commit, path.strip("/"))
        return entries[0] if entries else None

    def list_directory(self, commit: str, path: str) -> Optional[list[TreeEntry]]:
        """The entries of a directory (the root for ""), or None when `path` is not a directory."""
        path = path.strip("/")
        if path:
            found = self.entry(commit, path)
            if found is None or found.type != "tree":
                return None
            return self._ls_tree(commit, path + "/")
        return self._ls_tree(commit, None)

    def _ls_tree(self, commit: str, path: Optional[str]) -> list[TreeEntry]:
        args = ["ls-tree", "-z", "--long", commit, "--"]
        out = self.run(*args, *([path] if path else []))
        entries = []
        for record in out.decode("utf-8", "surrogateescape").split("\0"):
            if record:
                meta, _, name = record.partition("\t")
                mode, type_, sha, size = meta.split()
                entries.append(TreeEntry(name, mode, type_, sha, None if size == "-" else int(size)))
        return entries

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        found = self.entry(commit, path)
        if found is None or found.type != "blob":
            return None
        return self.run("cat-file", "blob", found.sha)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self._succeeds("merge-base", "--is-ancestor", ancestor, descendant)

    def diff(self, base: str, head: str) -> str:
        """What `head` adds since it forked from `base` (three-dot), as a pull request shows it."""
        out = self.run("diff", "--no-color", "--no-ext-diff", "--no-textconv", f"{base}...{head}", "--")
        return out.decode("utf-8", "replace")

    def merge_trees(self, ours: str, theirs: str) -> str:
        """The tree of a three-way merge of two commits; GitError on a conflict (git >= 2.38)."""
        return self.run("merge-tree", "--write-tree", "--no-messages", ours, theirs).decode().split()[0]

    def commit_files(
        self,
        parents: Sequence[str],
        files: Mapping[str, Optional[bytes]],
        message: str,
        author: Person,
        modes: Optional[Mapping[str, str]] = None,
    ) -> str:
        """A new commit: the first parent's tree with `files` written (None deletes), on no branch."""
        tree = self.write_tree(parents[0] if parents else None, files, modes)
        return self.commit_tree(tree, parents, message, author)

    def write_tree(
        self,
        base: Optional[str],
        files: Mapping[str, Optional[bytes]],
        modes: Optional[Mapping[str, str]] = None,
    ) -> str:
        """A new tree: `base` (a tree or commit; None for empty) with `files` written (None deletes)."""
        index = self.path / f"index-{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            self.run("read-tree", *([base] if base else ["--empty"]), env=env)
            records = []
            for path, data in files.items():
                name = tree_path(path)
                if data is None:
                    records.append(f"0 {ZERO_SHA}\t{name}")
                else:
                    sha = self.run("hash-object", "-w", "--stdin", input=data).decode().strip()
                    records.append(f"{(modes or {}).get(path, REGULAR_MODE)} {sha}\t{name}")
            if records:
                self.run(
                    "update-index", "-z", "--index-info", input="\0".join(records).encode() + b"\0", env=env
                )
            return self.run("write-tree", env=env).decode().strip()
        finally:
            index.unlink(missing_ok=True)

    def object_type(self, sha: str) -> Optional[str]:
        """ "commit", "tree", "blob", ... for a full SHA in the store; None for anything else."""
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            return None
        done = self._run(["cat-file", "-t", sha])
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def tree_of(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}").decode().strip()

    def commit_tree(self, tree: str, parents: Sequence[str], message: str, author: Person) -> str:
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
        }
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        out = self.run(*args, "-F", "-", input=message.encode("utf-8"), env=identity)
        return out.decode().strip()
