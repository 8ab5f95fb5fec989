"""Real bare git repositories, so `git log` and `git show` in the store tell the truth about every
commit a client made through a sandbox API. Objects are read through one long-lived cat-file per
repository and written as loose objects from Python (gitobjects, gittree) where that provably gives
what git's plumbing (hash-object, update-index on a private index, write-tree, commit-tree) would;
every other case, and every ref read or update, is a git process as before.

Every ref update is a compare-and-swap (`update-ref NEW OLD`); callers serialise their
read-check-write sequences with their own per-repository lock. `close()` ends the cat-file.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping, Optional, Sequence

from port_gitops.sandbox.gitobjects import (
    FULL_SHA,
    MalformedObject,
    ObjectReader,
    RawEntry,
    decode_tree,
    header_value,
    write_loose_object,
)
from port_gitops.sandbox.gittree import Declined, TreeWriter

ZERO_SHA = "0" * 40
_HEX = re.compile(r"[0-9a-f]{4,40}")
_REVISION_SYNTAX = re.compile(r"[~^:?*\[\\\s]|\.\.|@\{")  # what would make git read more than a name
_PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]*)>\s*$")
MODES = {"executable": "100755", "link": "120000"}
REGULAR_MODE = "100644"
# Branch names surely inside check-ref-format's rules (no leading "-" or ".", no "..", no ".lock" end).
_PLAIN_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:[./][A-Za-z0-9_-]+)*")
_WALK_LIMIT = 2000  # commits an ancestry check walks before leaving it to merge-base
_WRITABLE_MODES = {REGULAR_MODE: 0o100644, "100755": 0o100755, "120000": 0o120000}
_AUTHOR_LINE = re.compile(rb"author ([^<>\n]+) <([^<>\n]*)> ([0-9]{1,12}) ([+-])([0-9]{2})([0-5][0-9])")
_IDENT_CRUD = ",:;<>\"\\'."  # what git trims from a name's or e-mail's ends (and '.', to be safe)
# What git's commit-tree would not store as given: NUL, and what its UTF-8 check refuses
# (surrogates, U+FDD0..U+FDEF, U+xxFFFE/U+xxFFFF).
_NONCHARACTERS = "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
_NOT_VERBATIM = re.compile(f"[\x00\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]")


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
        self._objects = ObjectReader([self._git, f"--git-dir={path}"], self._env)
        self._trees = TreeWriter(self._objects.read, self._write_object, {})

    def close(self) -> None:
        """End the long-lived cat-file (later reads run a one-shot one)."""
        self._objects.close()

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
        if _PLAIN_BRANCH.fullmatch(name) and not any(part.endswith(".lock") for part in name.split("/")):
            return True  # inside what check-ref-format accepts; git judges anything else
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
            if FULL_SHA.fullmatch(candidate):
                peeled = self._peel(candidate, "commit")
                if peeled is not None:
                    return peeled
                continue  # what rev-parse says of an object the store lacks or that is no commit
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

    def _peel(self, sha: str, kind: str) -> Optional[str]:
        """`rev-parse --verify SHA^{kind}` for a full SHA, from the object store."""
        while True:
            found = self._objects.read(sha)
            if found is None:
                return None
            if found[0] == kind:
                return sha
            if found[0] == "tag":
                target = header_value(found[1], b"object")
            else:
                target = header_value(found[1], b"tree") if (found[0], kind) == ("commit", "tree") else None
            if target is None or not FULL_SHA.fullmatch(target.decode("ascii", "replace")):
                return None
            sha = target.decode()

    def _write_object(self, kind: str, data: bytes) -> str:
        return write_loose_object(self.path / "objects", kind, data)

    def blob(self, sha: str) -> bytes:
        """`git cat-file blob SHA`."""
        found = self._objects.read(sha) if FULL_SHA.fullmatch(sha) else None
        if found is not None and found[0] == "blob":
            return found[1]
        return self.run("cat-file", "blob", sha)

    def commit_info(self, sha: str) -> CommitInfo:
        out = self._shown_commit(sha) if FULL_SHA.fullmatch(sha) else None
        if out is None:
            out = self.run("show", "-s", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B", sha, "--")
        hash_, parents, name, email, date, message = out.decode("utf-8", "replace").split("\0", 5)
        return CommitInfo(hash_, tuple(parents.split()), Person(name, email), date, message.rstrip("\n"))

    def _shown_commit(self, sha: str) -> Optional[bytes]:
        """What `git show -s --format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B` prints for a commit of
        the plain shape git itself writes (None for any other: git is asked then)."""
        found = self._objects.read(sha)
        if found is None or found[0] != "commit" or b"\n\n" not in found[1]:
            return None
        head, body = found[1].split(b"\n\n", 1)
        lines = head.split(b"\n")
        parents = list(itertools.takewhile(lambda line: line.startswith(b"parent "), lines[1:]))
        parents = [line[7:] for line in parents]
        author = _AUTHOR_LINE.fullmatch(lines[1 + len(parents)]) if len(lines) > 1 + len(parents) else None
        if (
            author is None
            or not lines[0].startswith(b"tree ")
            or any(not FULL_SHA.fullmatch(p.decode("ascii", "replace")) for p in parents)
            or any(line.startswith((b"encoding ", b"parent ")) for line in lines[2 + len(parents) :])
            or author[1][:1].isspace()
            or author[1][-1:].isspace()
            or author.group(4, 5, 6) == (b"-", b"00", b"00")
        ):
            return None
        minutes = int(author[5]) * 60 + int(author[6])
        zone = timezone(timedelta(minutes=-minutes if author[4] == b"-" else minutes))
        try:
            when = datetime.fromtimestamp(int(author[3]), zone)
        except (OverflowError, OSError, ValueError):
            return None
        date = when.strftime("%Y-%m-%dT%H:%M:%S").encode() + b"%s%s:%s" % author.group(4, 5, 6)
        fields = [sha.encode(), b" ".join(parents), author[1], author[2], date, body.split(b"\0")[0]]
        return b"\0".join(fields) + b"\n"

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
        try:
            listed = self._listed(commit, path)
        except MalformedObject:
            listed = None
        if listed is not None:
            return listed
        args = ["ls-tree", "-z", "--long", commit, "--"]
        out = self.run(*args, *([path] if path else []))
        entries = []
        for record in out.decode("utf-8", "surrogateescape").split("\0"):
            if record:
                meta, _, name = record.partition("\t")
                mode, type_, sha, size = meta.split()
                entries.append(TreeEntry(name, mode, type_, sha, None if size == "-" else int(size)))
        return entries

    def _listed(self, commit: str, path: Optional[str]) -> Optional[list[TreeEntry]]:
        """What `ls-tree -z --long COMMIT -- [PATH]` lists for a full SHA and a plain path (a name,
        or a directory's with "/" appended), from the object store; None for anything else."""
        tree = self._peel(commit, "tree") if FULL_SHA.fullmatch(commit) else None
        if tree is None or path == "":
            return None
        try:
            parts = path.encode().split(b"/") if path is not None else []
        except UnicodeEncodeError:
            return None
        listing = parts[-1:] == [b""]  # "dir/": the directory's entries
        parts = parts[:-1] if listing else parts
        if any(part in (b"", b".", b"..") for part in parts):
            return None
        prefix = b""
        for index, part in enumerate(parts):
            entries = self._tree_entries(tree)
            found = next((entry for entry in entries if entry.name == part), None)
            if found is None:
                return []
            if index == len(parts) - 1 and not listing:
                return [self._tree_entry(prefix, found)]
            if found.type != "tree":
                return []
            tree, prefix = found.sha, prefix + part + b"/"
        entries = self._tree_entries(tree)
        return [self._tree_entry(prefix, entry) for entry in entries]

    def _tree_entries(self, tree: str) -> list[RawEntry]:
        found = self._objects.read(tree)
        if found is None or found[0] != "tree":
            raise MalformedObject(tree)
        return decode_tree(found[1])

    def _tree_entry(self, prefix: bytes, entry: RawEntry) -> TreeEntry:
        size = None
        if entry.type == "blob":
            info = self._objects.info(entry.sha)
            if info is None:
                raise MalformedObject(entry.sha)  # ls-tree --long fails on it: let it say so
            size = info[1]
        path = (prefix + entry.name).decode("utf-8", "surrogateescape")
        return TreeEntry(path, f"{entry.mode:06o}", entry.type, entry.sha, size)

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        found = self.entry(commit, path)
        if found is None or found.type != "blob":
            return None
        return self.blob(found.sha)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if all(FULL_SHA.fullmatch(sha) for sha in (ancestor, descendant)):
            found = self._reachable(ancestor, descendant)
            if found is not None:
                return found
        return self._succeeds("merge-base", "--is-ancestor", ancestor, descendant)

    def _reachable(self, ancestor: str, descendant: str) -> Optional[bool]:
        """Whether commit `ancestor` is `descendant` or one of its ancestors, by walking the parents
        of a short history; None when either is no commit or the walk grows long (git answers)."""
        if self.object_type(ancestor) != "commit":
            return None
        seen, todo = {descendant}, [descendant]
        while todo:
            sha = todo.pop()
            if sha == ancestor:
                return True
            found = self._objects.read(sha)
            if found is None or found[0] != "commit" or len(seen) > _WALK_LIMIT:
                return None
            head = found[1].split(b"\n\n", 1)[0].split(b"\n")
            for line in itertools.takewhile(lambda line: line.startswith(b"parent "), head[1:]):
                parent = line[7:].decode("ascii", "replace")
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return False

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
        base_tree = self._peel(base, "tree") if base and FULL_SHA.fullmatch(base) else None
        if base is None or base_tree is not None:
            changes: list[tuple[bytes, Optional[tuple[int, str]]]] = []
            try:
                for path, data in files.items():
                    name = tree_path(path).encode()
                    mode = _WRITABLE_MODES.get((modes or {}).get(path, REGULAR_MODE))
                    if mode is None:
                        raise Declined(path)
                    changes.append((name, None if data is None else (mode, self._write_object("blob", data))))
                return self._trees.write(base_tree, changes)
            except (Declined, UnicodeEncodeError):
                pass  # git's index decides (and says what it refuses)
        return self._write_tree_with_index(base, files, modes)

    def _write_tree_with_index(
        self,
        base: Optional[str],
        files: Mapping[str, Optional[bytes]],
        modes: Optional[Mapping[str, str]] = None,
    ) -> str:
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
        found = self._objects.info(sha)
        return found[0] if found else None

    def tree_of(self, commit: str) -> str:
        tree = self._peel(commit, "tree") if FULL_SHA.fullmatch(commit) else None
        return tree or self.run("rev-parse", f"{commit}^{{tree}}").decode().strip()

    def commit_tree(self, tree: str, parents: Sequence[str], message: str, author: Person) -> str:
        text = message.encode("utf-8")  # first, as before: a message git cannot be given fails alike
        if self._verbatim_commit(tree, parents, message, author):
            seconds = int(time.time())
            offset = (time.localtime(seconds).tm_gmtoff or 0) // 60
            sign, offset = ("-", -offset) if offset < 0 else ("+", offset)
            ident = f"{author.name} <{author.email}> {seconds} {sign}{offset // 60:02d}{offset % 60:02d}"
            head = [f"tree {tree}", *(f"parent {p}" for p in parents)]
            head += [f"author {ident}", f"committer {ident}"]
            return self._write_object("commit", "\n".join(head).encode() + b"\n\n" + text)
        return self._commit_tree_with_git(tree, parents, message, author)

    def _verbatim_commit(self, tree: str, parents: Sequence[str], message: str, author: Person) -> bool:
        """Whether commit-tree would store these exactly as given (so Python may write the commit):
        existing tree and commits by full SHA, no repeated parent, names git would not trim."""
        if not all(FULL_SHA.fullmatch(sha) for sha in (tree, *parents)) or len(set(parents)) != len(parents):
            return False
        if not all(_untrimmed(value) for value in (author.name, author.email)):
            return False
        if _NOT_VERBATIM.search(author.name + author.email + message):
            return False
        return self.object_type(tree) == "tree" and all(self.object_type(p) == "commit" for p in parents)

    def _commit_tree_with_git(self, tree: str, parents: Sequence[str], message: str, author: Person) -> str:
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


def _untrimmed(value: str) -> bool:
    """A name or e-mail git's ident code keeps as it is: not empty, no crud at its ends, no
    characters it drops."""
    if not value or any(c in value for c in "<>\n"):
        return False
    return all(ord(c) > 32 and c not in _IDENT_CRUD for c in (value[0], value[-1]))
