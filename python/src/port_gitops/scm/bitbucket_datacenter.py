"""Bitbucket Data Center / Server (REST 1.0) behind the `Scm` seam, through atlassian-python-api's
`Bitbucket` client.

The library's own methods are used where it has them (repository, commit, raw file, pull request
create/get/update/decline, branch delete); its raw `get`/`put` where it lacks a call or hides the
status: the default branch with its tip (`branches/default`, falling back to `/default-branch`), a branch
lookup without its auto-paging, a commit with `sourceBranch`, the pull-request search with
`direction=OUTGOING`, and the default reviewers without its two extra repository reads. The client
runs in advanced mode (every call returns the `requests.Response`: we classify statuses ourselves),
with `backoff_and_retry` and `retry_with_header` off; retries are port_gitops.retry's. Every request
carries `X-Atlassian-Token: no-check`, so XSRF protection never refuses a write.

Differences from Cloud that the seam hides:
- Commits are `PUT browse/{path}`, pinned by `sourceCommitId` (the commit the file was read at) when
  the file exists, and creating our branch from the base branch (`sourceBranch`) in the same call.
  Any replay of an applied commit answers 409 (the file changed since, already exists, or the branch
  exists), and so does content that does not modify the file: all are `ScmConflict`, and the use
  case re-reads and decides (which makes a no-op `unchanged`). Data Center commits as the
  authenticated user: there is no author field, so `author` is not sent.
- Default reviewers depend on the source and target branches, so `create_pr` adds them for its
  pair; `default_reviewers()` has nothing to add on its own.
- Pull requests carry a `version`: an update or decline quotes it, and a stale one (someone else
  edited the pull request) is re-read and retried once, reviewers kept.
- An open pull request for the same branches is a 409 `DuplicatePullRequestException` carrying
  it; we reuse it (refreshing its title and description), as Cloud does silently.

Request budget: one request per method, except `repository` (the default branch and its tip in one
read, which `branch_tips` then does not look up again; our branch, when `read_ahead` named it, looked
up beside it), `read_file` (the file at the other tips the last `branch_tips` found is read beside it:
a re-run reads it at our branch's tip next), `find_open_pr` (read beside those files once
`branch_tips` found our branch), `create_pr` (the repository's numeric id, once per client, and the
default reviewers, read while the commit that creates the branch is written) and the re-reads after a
409. The reads ahead move requests earlier, each answering the call the use case makes next on its usual
paths (a left-over branch's file is read for nothing); none outlives a write.
"""

from __future__ import annotations

import functools
import logging
import posixpath
from typing import Any, Callable, ClassVar, Collection, FrozenSet, Optional, Sequence
from urllib.parse import quote

import requests

from port_gitops.endpoint import Endpoint
from port_gitops.parallel import Prefetch, all_of
from port_gitops.retry import RetryPolicy
from port_gitops.scm.base import DRAFT, PullRequest, RepoInfo
from port_gitops.scm.common import (
    RequestRunner,
    choose_credential,
    error_for_status,
    json_of,
    kind_is,
    refuse_a_file_parent,
    valid_branch,
    valid_file_path,
    valid_segment,
    valid_sha,
)
from port_gitops.scm.errors import (
    ScmAuthError,
    ScmConflict,
    ScmError,
    ScmForbidden,
    ScmNotFound,
    ScmPathNotAFile,
)
from port_gitops.scm.libload import without_package_init

log = logging.getLogger("port_gitops")

_NO_XSRF_CHECK = {"X-Atlassian-Token": "no-check"}
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", **_NO_XSRF_CHECK}
# Non-empty and without Content-Type: requests then writes the multipart boundary (library issue #1080).
_MULTIPART_HEADERS = {"Accept": "application/json", **_NO_XSRF_CHECK}
_RATE_LIMIT_HINT = " (Bitbucket Data Center's rate limit is set by its administrators)"
_MISSING = ("NoSuchRepositoryException", "NoSuchProjectException")
_DUPLICATE_PR = "DuplicatePullRequestException"
_INVALID_REVIEWERS = "InvalidPullRequestReviewersException"
_OUT_OF_DATE = "PullRequestOutOfDateException"


def _segment(value: str, field: str) -> str:
    return valid_segment(value, field, safe="~")  # `~user` names a personal project as it is


def _errors(response: requests.Response) -> list[dict[str, Any]]:
    """The entries of Data Center's `{"errors": [{"context", "message", "exceptionName", ...}]}`."""
    try:
        body = response.json()
    except ValueError:
        return []
    entries = body.get("errors") if isinstance(body, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _is(response: requests.Response, exception: str) -> bool:
    return any(str(e.get("exceptionName") or "").endswith(exception) for e in _errors(response))


def _ref_branch(ref: dict[str, Any]) -> str:
    return str(ref.get("displayId") or str(ref["id"]).removeprefix("refs/heads/"))


def _users(entries: Any) -> list[str]:
    """Login names (what a pull request's `reviewers[].user.name` takes) of users or participants."""
    users = (entry.get("user", entry) for entry in entries or [] if isinstance(entry, dict))
    return [str(user["name"]) for user in users if isinstance(user, dict) and user.get("name")]


class DataCenterScm:
    features: ClassVar[FrozenSet[str]] = frozenset({DRAFT})

    def __init__(
        self,
        api_url: str,
        project: str,
        slug: str,
        *,
        username: Optional[str],
        token: Optional[str],
        access_token: Optional[str],
        session: requests.Session,
        policy: RetryPolicy,
        url_setting: Optional[str] = None,  # the setting that names the URL, for connection failures
    ) -> None:
        credential = choose_credential(
            "DataCenterScm", session, username=username, token=token, access_token=access_token
        )
        self._credential = credential.name
        # cloud=False: a server whose URL happens to contain "bitbucket.org" is still a server.
        # Advanced mode: every call, the library's methods included, returns the requests.Response
        # (the methods are untyped, hence Any).
        without_package_init("atlassian")
        from atlassian.bitbucket import Bitbucket  # here: only on this flavour's path

        self._bb: Any = Bitbucket(  # type: ignore[no-untyped-call]
            api_url, session=session, cloud=False, advanced_mode=True,
            backoff_and_retry=False, retry_with_header=False, **credential.auth,
        )  # fmt: skip
        self._bb.default_headers = _JSON_HEADERS
        self._requests = RequestRunner(policy, Endpoint(api_url, url_setting), _RATE_LIMIT_HINT)
        self._web_url = api_url.rstrip("/")  # a server's pages live under its base URL
        self.project, self.slug = _segment(project, "project"), _segment(slug, "slug")
        self.full_name = f"{project}/{slug}"
        # Personal repositories (`~user`) live under users/, project repositories under projects/.
        owner = f"users/{self.project}" if project.startswith("~") else f"projects/{self.project}"
        self._owner_repo = f"{owner}/repos/{self.slug}"
        self._repo = self._bb.resource_url(self._owner_repo)
        self._repo_id: Optional[int] = None
        self._browse_url = f"{self._web_url}/{self._owner_repo}/browse"
        # The tips `repository` just read (the default branch's; ours, when named), for `branch_tips`.
        self._known_tips: dict[str, Optional[str]] = {}
        self._ours: Optional[str] = None  # our branch, when the use case named it (`read_ahead`)
        self._pending: Optional[tuple[str, Prefetch[Optional[str]]]] = None  # its lookup, not asked yet
        # Our branch's open pull request, read beside the files once `branch_tips` found the branch;
        # any write drops it (the use case asks for it before writing anything).
        self._open_pr_ahead: Optional[tuple[str, Prefetch[Optional[PullRequest]]]] = None
        self._read_ahead_at: list[str] = []  # the tips `branch_tips` just found, for `read_file`
        self._ahead: dict[tuple[str, str], Prefetch[Optional[bytes]]] = {}  # (commit, path) -> read
        self._files: dict[tuple[str, str], bool] = {}  # (commit, path) -> exists: commits never change
        self._pair_reviewers: dict[tuple[str, str], Prefetch[list[str]]] = {}  # (branch, base) -> read

    # -- one request, retried by the policy, errors classified --------------------------------------
    def _call(
        self,
        send: Callable[[], requests.Response],
        *,
        what: str,
        idempotent: bool,
        passthrough: Collection[int] = (),
        commit: bool = False,
    ) -> requests.Response:
        """Send; statuses in `passthrough` (e.g. the 404 of an "absent" read) come back as answers.
        `commit`: the request commits, so a 403 explains who may commit on Data Center."""
        return self._requests.run(
            send,
            what=what,
            idempotent=idempotent,
            passthrough=passthrough,
            refused=lambda response: self._refused(response, what, commit=commit),
        )

    def _refused(self, response: requests.Response, what: str, *, commit: bool = False) -> ScmError:
        status = response.status_code
        messages = [str(e.get("message") or "").strip() for e in _errors(response)]
        text = "; ".join(m for m in messages if m) or response.reason or ""
        prefix = f"Bitbucket: {what}: HTTP {status}"
        if status == 401:
            return ScmAuthError(
                f"{prefix}: Bitbucket rejected {self._credential}: {text}. On Data Center use a bot user's "
                "personal HTTP access token, as BITBUCKET_ACCESS_TOKEN (Bearer) or as BITBUCKET_TOKEN with "
                "the user's name as BITBUCKET_USERNAME",
                status=status,
            )
        if commit and status == 404 and _is(response, "NoSuchBranchException"):
            # A concurrent run deleted the branch to recreate it: re-read and decide again, like a 409.
            return ScmConflict(f"{prefix}: {text}", status=status)
        if status == 403:
            if commit and self._credential == "BITBUCKET_ACCESS_TOKEN":
                text += (
                    ". Data Center only lets a user commit, and a project or repository access token has "
                    "no user behind it: set BITBUCKET_ACCESS_TOKEN to a bot user's personal HTTP access "
                    "token (or BITBUCKET_USERNAME + BITBUCKET_TOKEN) with write permission on the repository"
                )
            else:
                text += f"; the user behind {self._credential} needs write permission on the repository"
            return ScmForbidden(f"{prefix}: {text}", status=status)
        return error_for_status(status, f"{prefix}: {text}")

    def _refuse_missing_repository(self, response: requests.Response, what: str) -> None:
        """Raise for a 404 that means "no such repository or project", not "no such thing in it"."""
        if any(_is(response, name) for name in _MISSING):
            raise self._refused(response, what)

    def _pull_request(self, data: dict[str, Any]) -> PullRequest:
        links = (data.get("links") or {}).get("self") or []
        url = links[0].get("href") if links and isinstance(links[0], dict) else None
        return PullRequest(
            id=int(data["id"]),
            url=str(url or f"{self._web_url}/{self._owner_repo}/pull-requests/{data['id']}"),
            title=str(data.get("title") or ""),
            description=str(data.get("description") or ""),
            source=_ref_branch(data["fromRef"]),
            destination=_ref_branch(data["toRef"]),
            reviewers=tuple(_users(data.get("reviewers"))),
            version=int(data.get("version") or 0),
        )

    # -- reads -----------------------------------------------------------------------------------
    def repository(self) -> RepoInfo:
        # The deprecated `branches/default` names the default branch and its tip (a RestBranch), which
        # saves `branch_tips` the base lookup. It answers 204 for an empty repository and 404 when the
        # configured default was never pushed; a server that has dropped it answers 404 or 405. All of
        # these ask the current `default-branch`, which names the configured branch even then.
        what = f"read the default branch of {self.full_name}"
        ours = self._look_ours_up()  # beside it, when the use case named our branch (`read_ahead`)
        try:
            response = self._call(
                lambda: self._bb.get(f"{self._repo}/branches/default"),
                what=what,
                idempotent=True,
                passthrough=(404, 405),
            )
        finally:
            if ours is not None:
                ours[1].close()
        self._known_tips = {} if ours is None else {ours[0]: ours[1].result()}
        if response.status_code == 404:
            self._refuse_missing_repository(response, what)
        elif response.status_code == 200:
            branch = json_of(response, what)
            name, tip = branch.get("displayId"), branch.get("latestCommit")
            if name and tip:
                self._known_tips[str(name)] = str(tip)
                return RepoInfo(self.full_name, str(name), self._browse_url)
        return self._configured_default()

    def _configured_default(self) -> RepoInfo:
        # The configured default branch answers even for an empty repository: whether the
        # repository has commits shows in the base tip lookup (`branch_tips`).
        what = f"read the default branch of {self.full_name}"
        response = self._call(
            lambda: self._bb.get(f"{self._repo}/default-branch"),
            what=what,
            idempotent=True,
            passthrough=(404,),
        )
        if response.status_code == 404:
            self._refuse_missing_repository(response, what)
            return RepoInfo(self.full_name, None, self._browse_url)  # no default branch configured
        return RepoInfo(self.full_name, json_of(response, what).get("displayId") or None, self._browse_url)

    def branch_tip(self, branch: str) -> Optional[str]:
        what = f"read branch {branch}"
        params = {"filterText": valid_branch(branch), "boostMatches": "true", "details": "false"}
        response = self._call(
            lambda: self._bb.get(f"{self._repo}/branches", params=params), what=what, idempotent=True
        )
        # filterText matches substrings, case-insensitively; boostMatches puts the exact match first.
        for value in json_of(response, what).get("values") or []:
            if value.get("displayId") == branch:
                return str(value["latestCommit"])
        return None

    def branch_tips(self, branches: Sequence[str]) -> dict[str, Optional[str]]:
        """One lookup per branch (Data Center filters branches by one substring at a time), all at once;
        none for a branch whose tip `repository` has just read (a moment ago: as fresh as a lookup
        beside the others), and our branch's lookup is the one `read_ahead` started, if still unasked."""
        known, self._known_tips = self._known_tips, {}
        ours = self._pending if self._ours in branches and self._ours not in known else None
        self._pending = None
        wanted = [b for b in dict.fromkeys(branches) if b not in known and (ours is None or b != ours[0])]
        try:
            found = all_of([functools.partial(self.branch_tip, branch) for branch in wanted])
        finally:
            if ours is not None:
                ours[1].close()
        tips = {**known, **dict(zip(wanted, found))}
        if ours is not None:
            tips[ours[0]] = ours[1].result()
        self._read_ahead_at = [tip for tip in tips.values() if tip is not None]
        if self._ours is not None and tips.get(self._ours) is not None:
            # Our branch exists: the use case asks for its open pull request next, whatever it decides.
            self._open_pr_ahead = (self._ours, Prefetch(functools.partial(self._find_open_pr, self._ours)))
        return {branch: tips[branch] for branch in branches}

    def read_ahead(self, branch: str, path: str) -> None:
        """The use case's hint (`base.ReadsAhead`), told before its first read: our branch (the file is
        read at the tips `branch_tips` finds anyway). `repository` cannot name our branch, so the use
        case looks it up after the default branch; told now, its lookup starts at once, beside the
        default branch's read, and `branch_tips` answers from both: one round trip fewer."""
        del path
        self._ours = valid_branch(branch)
        self._pending = self._look_ours_up()

    def _look_ours_up(self) -> Optional[tuple[str, Prefetch[Optional[str]]]]:
        """Our branch's lookup: the one `read_ahead` started if still unasked, else a new one (None when
        the use case did not name our branch)."""
        pending, self._pending = self._pending, None
        if pending is not None or self._ours is None:
            return pending
        return self._ours, Prefetch(functools.partial(self.branch_tip, self._ours))

    def commit_parents(self, commit: str) -> list[str]:
        what = f"read commit {commit[:12]}"
        response = self._call(
            lambda: self._bb.get_commit_info(self.project, self.slug, valid_sha(commit)),
            what=what,
            idempotent=True,
        )
        return [str(p["id"]) for p in json_of(response, what).get("parents") or []]

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        file_path = valid_file_path(path)
        ahead = self._ahead.pop((valid_sha(commit), file_path), None)
        if ahead is not None:
            ahead.close()  # waits for it; its error, if any, is raised by `result`
            return ahead.result()
        # The use case reads the file at the base tip, then (on a re-run) at our branch's tip: the other
        # tips `branch_tips` just found are read now, beside this read, off the critical path.
        others, self._read_ahead_at = [tip for tip in self._read_ahead_at if tip != commit], []
        for tip in others:
            self._ahead[(tip, file_path)] = Prefetch(functools.partial(self._read_file, tip, file_path))
        return self._read_file(commit, file_path)

    def _read_file(self, commit: str, path: str) -> Optional[bytes]:
        what = f"read {path} at {commit[:12]}"
        file_path = valid_file_path(path)
        response = self._call(
            lambda: self._bb.get_content_of_file(
                self.project, self.slug, quote(file_path), at=valid_sha(commit)
            ),
            what=what,
            idempotent=True,
            passthrough=(404,),
        )
        if response.status_code == 404:
            self._refuse_missing_repository(response, what)
        content = None if response.status_code == 404 else response.content
        if content is None:
            # `raw` answers 404 for a directory too, and a path under a file (README/port.yml) would
            # replace that file: ask what the path and its nearest existing parent are.
            if self._kind(commit, file_path) is not None:
                raise ScmPathNotAFile(path, commit)
            refuse_a_file_parent(path, commit, lambda parent: kind_is(self._kind(commit, parent), "FILE"))
        self._files[(commit, file_path)] = content is not None
        return content

    def _kind(self, commit: str, path: str) -> Optional[str]:
        """`FILE`, `DIRECTORY` or `SUBMODULE` (`browse?type=true`); None when nothing is at `path`."""
        what = f"read what {path} is at {commit[:12]}"
        params = {"at": valid_sha(commit), "type": "true"}
        response = self._call(
            lambda: self._bb.get(f"{self._repo}/browse/{quote(valid_file_path(path))}", params=params),
            what=what,
            idempotent=True,
            passthrough=(404,),
        )
        if response.status_code == 404:
            self._refuse_missing_repository(response, what)
            return None
        return str(json_of(response, what).get("type"))

    def find_open_pr(self, branch: str) -> Optional[PullRequest]:
        ahead, self._open_pr_ahead = self._open_pr_ahead, None
        if ahead is not None and ahead[0] == branch:
            ahead[1].close()  # read beside the files, as `branch_tips` found our branch: wait for it
            return ahead[1].result()
        return self._find_open_pr(branch)

    def _find_open_pr(self, branch: str) -> Optional[PullRequest]:
        what = f"find the open pull request from {branch}"
        # direction=OUTGOING: `at` then names the source branch (the default, INCOMING, the target).
        params = {"at": f"refs/heads/{valid_branch(branch)}", "direction": "OUTGOING", "state": "OPEN"}
        response = self._call(
            lambda: self._bb.get(f"{self._repo}/pull-requests", params=params), what=what, idempotent=True
        )
        values = json_of(response, what).get("values") or []
        return self._pull_request(values[0]) if values else None

    def default_reviewers(self) -> list[str]:
        """None to add here: Data Center picks default reviewers per source and target branch, so
        `create_pr` adds them for its own pair. The repository's id that lookup needs is read now:
        enrich asks beside the first reads, which takes that request off the critical path."""
        self._repository_id()
        return []

    def _reviewers_for(self, branch: str, base: str) -> list[str]:
        what = f"read the default reviewers for {branch} -> {base}"
        repo_id = str(self._repository_id())
        params = {
            "sourceRepoId": repo_id,
            "targetRepoId": repo_id,
            "sourceRefId": f"refs/heads/{branch}",
            "targetRefId": f"refs/heads/{base}",
        }
        url = self._bb.resource_url(f"{self._owner_repo}/reviewers", api_root="rest/default-reviewers")
        response = self._call(
            lambda: self._bb.get(url, params=params), what=what, idempotent=True, passthrough=(404,)
        )
        # 404: the default reviewers app is disabled on this server, so there are none.
        return [] if response.status_code == 404 else _users(json_of(response, what))

    def _repository_id(self) -> int:
        if self._repo_id is None:
            what = f"read repository {self.full_name}"
            response = self._call(
                lambda: self._bb.get_repo(self.project, self.slug), what=what, idempotent=True
            )
            self._repo_id = int(json_of(response, what)["id"])
        return self._repo_id

    # -- writes ----------------------------------------------------------------------------------
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
        del author  # Data Center commits as the authenticated user; editFile has no author field
        self._open_pr_ahead = None  # a write: what was read ahead may be out of date
        file_path = valid_file_path(path)
        fields = {"branch": valid_branch(branch), "message": message}
        if create_from is not None:
            fields["sourceBranch"] = valid_branch(create_from)  # creates `branch` from it in the same call
        if self._file_exists(valid_sha(parent), file_path):
            fields["sourceCommitId"] = parent  # 409 if the file changed since: never a blind overwrite
        if create_from is not None:
            # The pull request to come is `branch` -> `create_from`: its default reviewers (a lookup by
            # ref names) are read while the commit is written, off the critical path.
            pair = (branch, create_from)
            self._pair_reviewers[pair] = Prefetch(functools.partial(self._reviewers_for, *pair))
        what = f"commit {path} on {branch}"
        url = f"{self._repo}/browse/{quote(file_path)}"
        # Replays are safe: an applied commit makes its replay a 409 (see the module docstring).
        response = self._call(
            lambda: self._bb.put(
                url,
                data=fields,  # plain form fields
                files={"content": (posixpath.basename(file_path), content, "application/octet-stream")},
                headers=_MULTIPART_HEADERS,
            ),
            what=what,
            idempotent=True,
            commit=True,
        )
        return str(json_of(response, what)["id"])

    def _file_exists(self, commit: str, path: str) -> bool:
        if (commit, path) not in self._files:
            self.read_file(commit, path)  # the use case has always read it already: no request then
        return self._files[(commit, path)]

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
        del labels, team_reviewers  # not in `features`: Bitbucket has neither
        self._open_pr_ahead = None
        what = f"open a pull request {branch} -> {base}"
        read = self._pair_reviewers.pop((branch, base), None)
        if read is not None:
            read.close()  # waits for it; its error, if any, is raised by `result`
        defaults = read.result() if read is not None else self._reviewers_for(branch, base)
        wanted = list(dict.fromkeys([*reviewers, *defaults]))

        def send(names: Sequence[str]) -> requests.Response:
            body: dict[str, Any] = {
                "title": title,
                "description": description,
                "fromRef": {"id": f"refs/heads/{valid_branch(branch)}"},
                "toRef": {"id": f"refs/heads/{valid_branch(base)}"},
                "reviewers": [{"user": {"name": name}} for name in names],
            }
            if draft:
                body["draft"] = True
            # A replay is safe: the second create answers 409 with the pull request the first made.
            return self._call(
                lambda: self._bb.create_pull_request(self.project, self.slug, body),
                what=what,
                idempotent=True,
                passthrough=(409,),
            )

        try:
            response = self._with_valid_reviewers(send, wanted, what)
        except ScmNotFound as exc:
            # "Repository ref 'refs/heads/…' does not exist": a concurrent run deleted our branch between
            # our commit and this request (the repository itself was read moments ago). Decide again.
            raise ScmConflict(exc.message, status=exc.status) from exc
        if response.status_code == 409 and _is(response, _DUPLICATE_PR):
            existing = self._pull_request(next(e for e in _errors(response) if "existingPullRequest" in e)[
                "existingPullRequest"
            ])  # fmt: skip
            if (existing.title, existing.description) == (title, description):
                return existing
            return self.update_pr(existing, title=title, description=description)
        if response.status_code == 409:
            raise self._refused(response, what)  # e.g. EmptyPullRequestException: re-read and decide
        return self._pull_request(json_of(response, what))

    def update_pr(self, pr: PullRequest, *, title: str, description: str) -> PullRequest:
        what = f"update pull request #{pr.id}"
        self._open_pr_ahead = None
        current = pr if pr.version is not None else self._open(pr.id, what)
        for attempt in (1, 2):
            put = functools.partial(
                self._put_pr,
                pr.id,
                version=current.version or 0,
                title=title,
                description=description,
                what=what,
            )
            response = self._with_valid_reviewers(put, current.reviewers, what)
            if response.status_code != 409:
                return self._pull_request(json_of(response, what))
            if attempt == 2 or not _is(response, _OUT_OF_DATE):
                raise self._refused(response, what)
            # Someone else changed it since we read it: read its version (and reviewers) again.
            current = self._open(pr.id, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _put_pr(
        self, pr_id: int, reviewers: Sequence[str], *, version: int, title: str, description: str, what: str
    ) -> requests.Response:
        # A PUT resets what it omits: resend the reviewers (the destination stays unless named).
        body = {
            "version": version,
            "title": title,
            "description": description,
            "reviewers": [{"user": {"name": name}} for name in reviewers],
        }
        return self._call(
            lambda: self._bb.update_pull_request(self.project, self.slug, pr_id, body),
            what=what,
            idempotent=True,
            passthrough=(409,),
        )

    def decline_pr(self, pr: PullRequest) -> None:
        what = f"decline pull request #{pr.id}"
        self._open_pr_ahead = None
        version = pr.version if pr.version is not None else self._version_if_open(pr.id, what)
        for attempt in (1, 2):
            if version is None:
                return  # no longer open (merged or declined by someone, or by our replay): as wanted
            response = self._call(
                functools.partial(self._bb.decline_pull_request, self.project, self.slug, pr.id, version),
                what=what,
                idempotent=True,
                passthrough=(409,),
            )
            if response.status_code != 409:
                return
            if attempt == 2:
                raise self._refused(response, what)
            version = self._version_if_open(pr.id, what)  # stale, or closed meanwhile: read it again

    def _read_pr(self, pr_id: int, what: str) -> tuple[PullRequest, str]:
        """The pull request as it is now, and its state."""
        response = self._call(
            lambda: self._bb.get_pull_request(self.project, self.slug, pr_id), what=what, idempotent=True
        )
        data = json_of(response, what)
        return self._pull_request(data), str(data.get("state"))

    def _open(self, pr_id: int, what: str) -> PullRequest:
        pr, state = self._read_pr(pr_id, what)
        if state != "OPEN":
            raise ScmConflict(f"Bitbucket: {what}: it is {state} now", status=None)
        return pr

    def _version_if_open(self, pr_id: int, what: str) -> Optional[int]:
        pr, state = self._read_pr(pr_id, what)
        return pr.version if state == "OPEN" else None

    def _with_valid_reviewers(
        self, send: Callable[[Sequence[str]], requests.Response], reviewers: Sequence[str], what: str
    ) -> requests.Response:
        """Send; when Bitbucket refuses some reviewers (e.g. the bot itself among the default
        reviewers, or a deactivated user), send once more without them: a pull request without a
        reviewer beats no pull request."""
        response = send(reviewers)
        if not (reviewers and response.status_code == 409 and _is(response, _INVALID_REVIEWERS)):
            return response
        problems = [
            p for e in _errors(response) for p in e.get("reviewerErrors") or [] if isinstance(p, dict)
        ]
        kept = [name for name in reviewers if name not in {str(p.get("context")) for p in problems}]
        if len(kept) == len(reviewers):
            kept = []  # the refused ones cannot be told apart: go on without any
        reasons = "; ".join(str(p.get("message")) for p in problems) or "no reason given"
        log.warning("%s: Bitbucket refused reviewers (%s); going on without them", what, reasons)
        return send(kept)

    def delete_branch(self, branch: str) -> None:
        self._open_pr_ahead = None
        # 204 whether or not the branch existed.
        self._call(
            lambda: self._bb.delete_branch(self.project, self.slug, f"refs/heads/{valid_branch(branch)}"),
            what=f"delete branch {branch}",
            idempotent=True,
        )
