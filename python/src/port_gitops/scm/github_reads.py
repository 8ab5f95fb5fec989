"""The one GraphQL query that reads what a GitHub enrichment needs before it decides, and its answer.

One round trip instead of three or four: the repository (existence and access), its default branch
and tip, the tips of the branches asked for, each tip's tree, first parents and the file at `path`,
and the open pull requests from our branch. Only what is certain is taken from it; anything else is
read again over REST by the caller (`Snapshot.file` None):
- a file's bytes only when GitHub's `Blob.text` is exactly the stored bytes: the git blob id of
  `text.encode()` must equal the blob's `oid` (GitHub hands out text transcoded, cut, or not at all
  for binary blobs; the lossless merge needs the bytes, CRLF and BOM included), and only for a
  regular file (a symlink's REST answer is its target's content);
- absence only from `file`'s own NOT_FOUND error; any other error in the answer leaves the whole
  snapshot unused (`parse` returns None) rather than guessing which nulls it explains.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Sequence, Union

from port_gitops.scm.base import PullRequest

PR_PAGE = 10  # open pull requests from one branch name: one unless forks use the same name
_REGULAR_FILES = {0o100644, 0o100755}


class Absent:
    """Nothing at the path (GitHub said so)."""


class Directory:
    """A directory at the path."""


ABSENT, DIRECTORY = Absent(), Directory()
FileAt = Union[bytes, Absent, Directory]


def _tip_fields() -> str:
    blob = "... on Blob { oid text byteSize isBinary isTruncated }"
    entry = f"file(path: $path) {{ type mode oid object {{ {blob} }} }}"
    return (
        "target { oid ... on Commit { tree { oid } "
        f"parents(first: 3) {{ totalCount nodes {{ oid }} }} {entry} }} }}"
    )


def read_query(refs: int, *, default_branch: bool, pulls: bool) -> str:
    """The query for `refs` branches (`$q0`...: qualified names), optionally the default branch and the
    open pull requests from `$head` (a branch name)."""
    variables = ["$owner: String!", "$name: String!", "$path: String!"]
    variables += [f"$q{i}: String!" for i in range(refs)]
    fields = ["nameWithOwner url"]
    if default_branch:
        fields.append(f"defaultBranchRef {{ name {_tip_fields()} }}")
    fields += [f"b{i}: ref(qualifiedName: $q{i}) {{ {_tip_fields()} }}" for i in range(refs)]
    if pulls:
        variables.append("$head: String!")
        reviewers = "reviewRequests(first: 100) { nodes { requestedReviewer { ... on User { login } } } }"
        fields.append(
            f"pullRequests(headRefName: $head, states: [OPEN], first: {PR_PAGE}) "
            f"{{ nodes {{ number url title body headRefName baseRefName headRepository {{ nameWithOwner }} "
            f"{reviewers} }} }}"
        )
    return (
        f"query({', '.join(variables)}) {{ repository(owner: $owner, name: $name) {{ {' '.join(fields)} }} }}"
    )


def git_blob_id(data: bytes, length: int) -> str:
    """Git's object id of a blob holding `data` (SHA-1, or SHA-256 for a 64-digit repository)."""
    digest = hashlib.sha256() if length == 64 else hashlib.sha1()  # noqa: S324 - git's id, not a secret
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def exact_bytes(entry: Any) -> Optional[FileAt]:
    """What `Commit.file` says is at the path when that is certain; None when REST must tell."""
    if not isinstance(entry, dict):
        return None
    if entry.get("type") == "tree":
        return DIRECTORY
    blob = entry.get("object")
    if entry.get("type") != "blob" or entry.get("mode") not in _REGULAR_FILES or not isinstance(blob, dict):
        return None
    text, oid = blob.get("text"), str(blob.get("oid") or "")
    if not isinstance(text, str) or blob.get("isBinary") is not False or blob.get("isTruncated") is not False:
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: not text we could have written
        return None
    if blob.get("byteSize") != len(data) or len(oid) not in (40, 64) or git_blob_id(data, len(oid)) != oid:
        return None
    return data


class Tip(NamedTuple):
    oid: str
    tree: Optional[str]
    parents: Optional[list[str]]  # None unless all of them came
    file: Optional[FileAt]  # None: not certain, read it over REST


@dataclass(eq=False, repr=False)  # filled in by parse(): never compared or shown
class Snapshot:
    full_name: str
    url: Optional[str]
    default_branch: Optional[str]  # None: not asked, or no default branch ref (an empty repository)
    tips: dict[str, Optional[str]]  # branch -> tip; the default branch too when it was asked
    commits: dict[str, Tip] = field(default_factory=dict)
    pulls: Optional[list[dict[str, Any]]] = None  # the open pull requests' nodes, when asked


def not_found(answer: Any) -> Optional[str]:
    """The message of a NOT_FOUND on the repository itself (no such repository, or no access)."""
    for error in errors_of(answer):
        if error.get("type") == "NOT_FOUND" and error.get("path") == ["repository"]:
            return str(error.get("message") or "")
    return None


def errors_of(answer: Any) -> list[dict[str, Any]]:
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def parse(answer: Any, branches: Sequence[str], *, default_branch: bool, pulls: bool) -> Optional[Snapshot]:
    """The snapshot in GitHub's answer to `read_query`; None when it cannot be trusted as a whole."""
    data = answer.get("data") if isinstance(answer, dict) else None
    repository = data.get("repository") if isinstance(data, dict) else None
    if not isinstance(repository, dict):
        return None
    aliases = {"defaultBranchRef": None, **{f"b{i}": b for i, b in enumerate(branches)}}
    absent: set[str] = set()  # aliases whose tip has nothing at the path
    for error in errors_of(answer):
        path = error.get("path") or []
        at_file = len(path) == 4 and path[0] == "repository" and path[2:] == ["target", "file"]
        if error.get("type") == "NOT_FOUND" and at_file and path[1] in aliases:
            absent.add(str(path[1]))
            continue
        return None  # an error we cannot place: do not guess what its nulls mean
    snapshot = Snapshot(
        full_name=str(repository.get("nameWithOwner") or ""),
        url=repository.get("url"),
        default_branch=None,
        tips={},
    )
    refs: dict[str, Any] = {f"b{i}": repository.get(f"b{i}") for i in range(len(branches))}
    if default_branch:
        ref = repository.get("defaultBranchRef")
        if isinstance(ref, dict) and ref.get("name"):
            snapshot.default_branch = str(ref["name"])
            refs["defaultBranchRef"] = ref
    for alias, ref in refs.items():
        branch = snapshot.default_branch if alias == "defaultBranchRef" else aliases[alias]
        assert branch is not None
        target = ref.get("target") if isinstance(ref, dict) else None
        oid = target.get("oid") if isinstance(target, dict) else None
        snapshot.tips[branch] = str(oid) if oid else None
        if not isinstance(target, dict) or not oid:
            continue
        parents = target.get("parents") or {}
        shas = [str(n.get("oid")) for n in parents.get("nodes") or [] if isinstance(n, dict)]
        snapshot.commits[str(oid)] = Tip(
            oid=str(oid),
            tree=(target.get("tree") or {}).get("oid"),
            parents=shas if parents.get("totalCount") == len(shas) else None,
            file=ABSENT if alias in absent else exact_bytes(target.get("file")),
        )
    if pulls:
        found = repository.get("pullRequests")
        nodes = found.get("nodes") if isinstance(found, dict) else None
        snapshot.pulls = [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else None
    return snapshot


def open_pull_request(nodes: Sequence[dict[str, Any]], branch: str, full_name: str) -> Optional[PullRequest]:
    """Our open pull request among GitHub's nodes: from `branch` of this very repository (a fork's
    branch of the same name is never ours)."""
    for node in nodes:
        head = node.get("headRepository") or {}
        if (
            node.get("headRefName") == branch
            and str(head.get("nameWithOwner", "")).lower() == full_name.lower()
        ):
            requested = [
                (r or {}).get("requestedReviewer") or {}
                for r in (node.get("reviewRequests") or {}).get("nodes") or []
            ]
            return PullRequest(
                id=int(node["number"]),
                url=str(node.get("url") or ""),
                title=str(node.get("title") or ""),
                description=str(node.get("body") or ""),
                source=str(node["headRefName"]),
                destination=str(node.get("baseRefName") or ""),
                reviewers=tuple(str(r["login"]) for r in requested if r.get("login")),
            )
    return None
