"""New trees written from Python, object for object what `read-tree BASE`, `update-index -z
--index-info` and `write-tree` on a private index give, for the cases where that is provable:
the trees on the changed paths are rewritten (canonical modes, subtrees without any file dropped,
as an index cannot hold them), every other subtree keeps its SHA (git's cache-tree reuses it).
Anything else (names git's verify_path may refuse, a file replacing a directory or the other way
round, malformed trees) raises `Declined`, and the caller lets git's index do it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from port_gitops.sandbox.gitobjects import TREE, MalformedObject, RawEntry, decode_tree, encode_tree, sort_key

Reader = Callable[[str], Optional[tuple[str, bytes]]]
Writer = Callable[[str, bytes], str]
_FACTS_KEPT = 50_000


class Declined(Exception):
    """Not a case this writer proves equal to git's index."""


def plain_name(name: bytes, mode: int) -> bool:
    """A name git's verify_path surely accepts (Linux defaults: protectNTFS on, protectHFS off);
    conservative: declining a name git would accept only costs the slower path."""
    if name in (b"", b".", b"..") or any(c in name for c in b"/\\:\0"):
        return False
    lower = name.lower()
    if lower.startswith(b".git") and not lower[4:].strip(b" ."):
        return False  # .git and what NTFS would read as .git
    if lower.startswith(b"git~"):
        return False  # 8.3 short names (git~1)
    return not (mode == 0o120000 and (b"git" in lower or b"gi7" in lower))  # .gitmodules as a link


@dataclass
class _Plan:
    """The changes under one directory: subdirectories, and files (None deletes)."""

    directories: dict[bytes, _Plan] = field(default_factory=dict)
    files: dict[bytes, Optional[tuple[int, str]]] = field(default_factory=dict)


class TreeWriter:
    def __init__(self, read: Reader, write: Writer, facts: dict[str, bool]) -> None:
        self._read = read
        self._write = write
        self._facts = facts  # tree SHA -> holds a file somewhere; only for trees found plain

    def write(self, base: Optional[str], changes: list[tuple[bytes, Optional[tuple[int, str]]]]) -> str:
        """The tree `base` (a tree SHA; None for empty) with `changes` made: (path, (mode, blob SHA)
        or None to delete)."""
        plan = _Plan()
        for path, change in changes:
            *parents, name = path.split(b"/")
            node = plan
            for part in parents:
                if not plain_name(part, TREE) or part in node.files:
                    raise Declined(path)
                node = node.directories.setdefault(part, _Plan())
            if not plain_name(name, change[0] if change else 0) or name in (*node.files, *node.directories):
                raise Declined(path)
            node.files[name] = change
        if base is not None:
            self._has_files(base)  # the whole base must be plain: read-tree checks every path
            if not changes:
                return base  # nothing invalidated git's cache-tree: the base is written back as it is
        return self._apply(base, plan) or self._write("tree", b"")

    def _apply(self, tree: Optional[str], plan: _Plan) -> Optional[str]:
        entries = {entry.name: entry for entry in (self._entries(tree) if tree else [])}
        for name, below in plan.directories.items():
            existing = entries.get(name)
            if existing is not None and existing.mode != TREE:
                raise Declined(name)
            written = self._apply(existing.sha if existing else None, below)
            if written is None:
                entries.pop(name, None)
            else:
                entries[name] = RawEntry(name, TREE, written)
        for name, change in plan.files.items():
            existing = entries.get(name)
            if existing is not None and existing.mode == TREE:
                raise Declined(name)
            if change is None:
                entries.pop(name, None)
            else:
                entries[name] = RawEntry(name, *change)
        kept = [
            entry
            for entry in entries.values()
            if entry.mode != TREE or entry.name in plan.directories or self._has_files(entry.sha)
        ]
        return self._write("tree", encode_tree(kept)) if kept else None

    def _entries(self, tree: str) -> list[RawEntry]:
        found = self._read(tree)
        if found is None or found[0] != "tree":
            raise Declined(tree)
        try:
            return decode_tree(found[1])
        except MalformedObject as problem:
            raise Declined(tree) from problem

    def _has_files(self, tree: str) -> bool:
        """Whether `tree` holds a file (or submodule) anywhere; Declined unless every name in it
        is plain and its entries are in git's order, unique."""
        known = self._facts.get(tree)
        if known is not None:
            return known
        entries = self._entries(tree)
        keys = [sort_key(entry) for entry in entries]
        names = {entry.name for entry in entries}
        if keys != sorted(set(keys)) or len(names) != len(entries):
            raise Declined(tree)
        if not all(plain_name(entry.name, entry.mode) for entry in entries):
            raise Declined(tree)
        has_files = False
        for entry in entries:  # every subtree is checked: read-tree reads them all
            has_files = (self._has_files(entry.sha) if entry.mode == TREE else True) or has_files
        if len(self._facts) >= _FACTS_KEPT:
            self._facts.clear()
        self._facts[tree] = has_files
        return has_files
