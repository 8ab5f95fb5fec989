"""The seam between the use case and an SCM flavour (Bitbucket Cloud or Data Center, GitHub, GitLab).

`enrich.py` speaks only this Protocol; each `--scm` flavour implements it in one module of the same
name (`scm/bitbucket_cloud.py`, `scm/bitbucket_datacenter.py`, ...) and raises the errors in
`scm/errors.py`. Commits are addressed by full SHA everywhere: branch names with `/`
do not work as revisions in Cloud's `src` API, and a SHA pins exactly what was read.
"""

from __future__ import annotations

from typing import ClassVar, FrozenSet, NamedTuple, Optional, Protocol, Sequence, Tuple, runtime_checkable

# Pull-request features beyond title, description and reviewers, which not every flavour has. A flavour
# lists what it supports in `Scm.features`; the use case warns (never fails) when one it lacks is asked for.
DRAFT, LABELS, TEAM_REVIEWERS = "draft", "labels", "team reviewers"


class RepoInfo(NamedTuple):
    full_name: str  # "workspace/slug" (Cloud) or "PROJECT/slug" (Data Center)
    default_branch: Optional[str]  # None for an empty repository
    web_url: Optional[str]


class PullRequest(NamedTuple):
    id: int
    url: str  # the web page, not the API resource
    title: str
    description: str
    source: str  # branch names, without refs/heads/
    destination: str
    reviewers: Tuple[str, ...]  # Cloud: account UUIDs "{...}"; Data Center: user names (login)
    version: Optional[int] = None  # Data Center's optimistic-locking version; None on Cloud


class Scm(Protocol):
    features: ClassVar[FrozenSet[str]]  # of DRAFT, LABELS, TEAM_REVIEWERS

    def repository(self) -> RepoInfo: ...

    def branch_tip(self, branch: str) -> Optional[str]:
        """Full SHA of the branch's tip; None when the branch does not exist."""
        ...

    def branch_tips(self, branches: Sequence[str]) -> dict[str, Optional[str]]:
        """`branch_tip` for several branches at once (one request on Cloud), e.g. the base and ours."""
        ...

    def commit_parents(self, commit: str) -> list[str]:
        """Full SHAs of the commit's parents, first parent first."""
        ...

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        """The file's bytes at `commit` (a SHA); None when nothing is at `path`, so a file can be created
        there. Raises ScmPathNotAFile when `path` is a directory or one of its parents is a file."""
        ...

    def commit_file(
        self,
        *,
        branch: str,
        path: str,
        content: bytes,
        message: str,
        parent: str,
        create_from: Optional[str],
        author: Optional[str],
    ) -> str:
        """Commit `content` at `path` on `branch` on top of `parent`; return the new tip SHA.

        `parent` must be the branch's tip, or, for a branch that does not exist yet, the commit to
        create it from (`create_from` then names the branch `parent` came from). Raises ScmConflict
        when `parent` is no longer the tip, so a replayed or racing commit never stacks.
        """
        ...

    def find_open_pr(self, branch: str) -> Optional[PullRequest]: ...

    def create_pr(
        self,
        *,
        branch: str,
        base: str,
        title: str,
        description: str,
        reviewers: Sequence[str],
        labels: Sequence[str] = (),
        team_reviewers: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        """Open the pull request; `labels`, `team_reviewers` and `draft` only where `features` has them."""
        ...

    def update_pr(self, pr: PullRequest, *, title: str, description: str) -> PullRequest:
        """New title and description; reviewers and destination are kept. ScmConflict if no longer open."""
        ...

    def decline_pr(self, pr: PullRequest) -> None: ...

    def delete_branch(self, branch: str) -> None:
        """Delete the branch; a branch that is already gone is fine."""
        ...

    def default_reviewers(self) -> list[str]: ...


@runtime_checkable
class ReadsAhead(Protocol):
    """An optional hint, only for a flavour that can read in one request, or at once, what `Scm`'s calls
    ask one after the other (GitHub's GraphQL: repository, both tips, the file at each, the open pull
    request; Data Center: our branch's lookup beside the default branch's read).

    The seam keeps those reads separate calls because each flavour's API cuts them differently; the
    first of them (`repository`, or `branch_tips` when the base is given) does not name our branch or
    the file. Told both up front, such a flavour asks for everything in its first read and answers the
    later calls from that answer; every other flavour's flow is untouched.
    """

    def read_ahead(self, branch: str, path: str) -> None: ...
