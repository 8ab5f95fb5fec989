"""The Bitbucket Data Center REST endpoints of the sandbox (see `bitbucket_datacenter` for the list
and the fidelity notes): routing under `/rest/`, the error shape, and each endpoint's rules."""

from __future__ import annotations

import json
import mimetypes
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional

from port_gitops.sandbox.bitbucket_api import Handler, dispatch
from port_gitops.sandbox.codehost import (
    OPEN,
    Account,
    HostedRepository,
    PullRequest,
    PullRequestRefused,
    now_iso,
)
from port_gitops.sandbox.forms import FormError, parse_form
from port_gitops.sandbox.gitstore import GitError, Person, tree_path
from port_gitops.sandbox.server import GATEWAY_STATUSES, Request, Response, gateway_page

if TYPE_CHECKING:
    from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox

JSON_TYPE = "application/json;charset=UTF-8"  # Data Center's own spelling
_EX = "com.atlassian.bitbucket."
NO_SUCH_PROJECT = _EX + "project.NoSuchProjectException"
NO_SUCH_REPOSITORY = _EX + "repository.NoSuchRepositoryException"
NO_SUCH_BRANCH = _EX + "repository.NoSuchBranchException"
DUPLICATE_REF = _EX + "repository.DuplicateRefException"
NO_SUCH_COMMIT = _EX + "commit.NoSuchCommitException"
NO_SUCH_PATH = _EX + "content.NoSuchPathException"
FILE_EXISTS = _EX + "content.FileAlreadyExistsException"
FILE_UNMODIFIED = _EX + "content.FileContentUnmodifiedException"
FILE_OUT_OF_DATE = _EX + "content.FileOutOfDateException"
NO_SUCH_PULL_REQUEST = _EX + "pull.NoSuchPullRequestException"
DUPLICATE_PULL_REQUEST = _EX + "pull.DuplicatePullRequestException"
EMPTY_PULL_REQUEST = _EX + "pull.EmptyPullRequestException"
SAME_BRANCHES = _EX + "pull.InvalidPullRequestTargetException"
INVALID_REVIEWERS = _EX + "pull.InvalidPullRequestReviewersException"
OUT_OF_DATE = _EX + "pull.PullRequestOutOfDateException"
NOT_OPEN = _EX + "pull.IllegalPullRequestStateException"
BAD_CREDENTIALS = _EX + "auth.IncorrectPasswordAuthenticationException"
NOT_PERMITTED = _EX + "AuthorisationException"
INVALID_ARGUMENT = _EX + "validation.ArgumentValidationException"
NO_USER_BEHIND = (
    "The request was authenticated using a project or repository access token, which does not have a "
    "valid user associated with it"
)
DEFAULT_COMMIT_MESSAGE = "Edited {path} online with Bitbucket"
_REPO_PATH = re.compile(
    r"(?P<root>api|branch-utils|default-reviewers)/(?:1\.0|latest)"
    r"/projects/(?P<key>[^/]+)/repos/(?P<slug>[^/]+)(?P<rest>/.*)?"
)


def _json(status: int, payload: Any, headers: Optional[dict[str, str]] = None) -> Response:
    return Response(
        status, json.dumps(payload).encode("utf-8"), {"Content-Type": JSON_TYPE, **(headers or {})}
    )


def error(
    status: int,
    message: str,
    exception: Optional[str] = None,
    *,
    context: Optional[str] = None,
    headers: Optional[dict[str, str]] = None,
    **extra: Any,
) -> Response:
    entry = {"context": context, "message": message, "exceptionName": exception, **extra}
    return _json(status, {"errors": [entry]}, headers)


def _unauthorized() -> Response:
    return error(
        401,
        "Authentication failed. Please check your credentials and try again.",
        BAD_CREDENTIALS,
        headers={"WWW-Authenticate": 'Basic realm="Atlassian Bitbucket"'},
    )


def status_answer(status: int) -> Response:
    """What the real server (or the proxy in front of it) answers with a bare status."""
    if status in GATEWAY_STATUSES:
        return gateway_page(status)
    if status == 401:
        return _unauthorized()
    if status == 429:
        return error(429, "You have been rate limited: too many requests. Try again later.")
    if status == 500:
        return error(
            500, "An error occurred while processing the request. Check the server logs for more information."
        )
    return error(status, HTTPStatus(status).phrase)


def _int(value: Optional[str], default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _page(request: Request, values: list[Any]) -> dict[str, Any]:
    start = max(_int(request.first("start"), 0), 0)
    limit = min(max(_int(request.first("limit"), 25), 1), 1000)
    chunk = values[start : start + limit]
    body: dict[str, Any] = {
        "size": len(chunk),
        "limit": limit,
        "isLastPage": start + limit >= len(values),
        "values": chunk,
        "start": start,
    }
    if not body["isLastPage"]:
        body["nextPageStart"] = start + len(chunk)
    return body


def _branch_of(ref_id: Any) -> Optional[str]:
    """`refs/heads/x` (or plain `x`) as a branch name."""
    if not isinstance(ref_id, str) or not ref_id:
        return None
    return ref_id[len("refs/heads/") :] if ref_id.startswith("refs/heads/") else ref_id


def _revision(repo: HostedRepository, value: str) -> Optional[str]:
    """A commit SHA for what `at`, `until` and `sourceCommitId` accept: a SHA, a branch or a ref."""
    if value.startswith("refs/heads/"):
        return repo.tip(value[len("refs/heads/") :])
    if value.startswith("refs/tags/"):
        return repo.git.resolve(value[len("refs/tags/") :])
    return repo.git.resolve(value)


def _no_such_commit(repo: HostedRepository, value: str) -> Response:
    return error(404, f"Commit '{value}' does not exist in repository '{repo.slug}'.", NO_SUCH_COMMIT)


class DataCenterApi:
    def __init__(self, host: BitbucketDataCenterSandbox) -> None:
        self.host = host
        # (API root, method, pattern on the rest of the path after .../repos/{slug}, handler)
        self.routes: list[tuple[str, str, re.Pattern[str], Handler]] = [
            ("api", "GET", re.compile(r"/?"), self.get_repository),
            ("api", "GET", re.compile(r"/default-branch/?"), self.default_branch),
            ("api", "GET", re.compile(r"/branches/?"), self.list_branches),
            ("api", "GET", re.compile(r"/branches/default/?"), self.default_branch_deprecated),
            ("api", "GET", re.compile(r"/commits/?"), self.list_commits),
            ("api", "GET", re.compile(r"/commits/(?P<commit_id>[^/]+)/?"), self.get_commit),
            ("api", "GET", re.compile(r"/raw/(?P<path>.+)"), self.raw),
            ("api", "GET", re.compile(r"/browse/(?P<path>.+)"), self.browse_type),
            ("api", "PUT", re.compile(r"/browse/(?P<path>.+)"), self.edit_file),
            ("api", "GET", re.compile(r"/pull-requests/?"), self.list_pull_requests),
            ("api", "POST", re.compile(r"/pull-requests/?"), self.create_pull_request),
            ("api", "GET", re.compile(r"/pull-requests/(?P<pr_id>\d+)/?"), self.get_pull_request),
            ("api", "PUT", re.compile(r"/pull-requests/(?P<pr_id>\d+)/?"), self.update_pull_request),
            (
                "api",
                "POST",
                re.compile(r"/pull-requests/(?P<pr_id>\d+)/decline/?"),
                self.decline_pull_request,
            ),
            ("branch-utils", "DELETE", re.compile(r"/branches/?"), self.delete_branch),
            ("default-reviewers", "GET", re.compile(r"/reviewers/?"), self.default_reviewers),
        ]

    def handle(self, request: Request, path: str) -> Response:
        """`path`: percent-decoded, after `{context}/rest/`."""
        account = self.host.authenticate(request)
        if account is None:
            return _unauthorized()
        target = _REPO_PATH.fullmatch(path)
        if target is None:
            return error(404, f"The resource /rest/{path} does not exist")
        key, slug = target["key"], target["slug"]
        repo = self.host.repository(key, slug)
        if repo is None:
            if not self.host.has_project(key):
                return error(404, f"Project {key} does not exist.", NO_SUCH_PROJECT)
            return error(404, f"Repository {key}/{slug} does not exist.", NO_SUCH_REPOSITORY)
        rest = target["rest"] or ""
        in_root = [  # the routes under the API root (api, branch-utils, ...) the path names
            (method, pattern, handler)
            for root, method, pattern, handler in self.routes
            if root == target["root"]
        ]
        answer = dispatch(in_root, request, rest, repo, account, refuse=error)
        return answer if answer is not None else error(404, f"The resource /rest/{path} does not exist")

    # --- repository, branches, commits ------------------------------------------------------------

    def get_repository(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        return _json(200, self.host.repository_json(repo))

    def default_branch(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        # The configured default, even before anything was pushed (an empty repository has one too).
        name = repo.main_branch
        return _json(200, {"id": f"refs/heads/{name}", "displayId": name, "type": "BRANCH"})

    def default_branch_deprecated(
        self, request: Request, repo: HostedRepository, account: Account
    ) -> Response:
        """The deprecated `branches/default`: the default branch as it is (a RestBranch, its tip
        included); 204 for an empty repository, 404 when the configured default was never created."""
        branches = repo.git.branches()
        if not branches:
            return Response(204)
        name = repo.main_branch
        if name not in branches:
            return error(
                404, f"Repository '{repo.slug}' does not have a branch named '{name}'.", NO_SUCH_BRANCH
            )
        return _json(200, self.host.branch_json(repo, name, branches[name]))

    def list_branches(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        branches = repo.git.branches()
        text = (request.first("filterText") or "").lower()
        names = [name for name in branches if text in name.lower()]
        if (request.first("orderBy") or "MODIFICATION").upper() == "ALPHABETICAL":
            names.sort()
        else:
            names.sort(key=lambda n: repo.git.commit_info(branches[n]).date, reverse=True)
        if text and request.first("boostMatches") == "true":
            # Exact matches first, then prefix matches, then the rest.
            names.sort(key=lambda n: 0 if n.lower() == text else 1 if n.lower().startswith(text) else 2)
        values = [self.host.branch_json(repo, name, branches[name]) for name in names]
        return _json(200, _page(request, values))

    def list_commits(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        until = request.first("until")
        tip = _revision(repo, until) if until else repo.tip(repo.main_branch)
        if until and tip is None:
            return _no_such_commit(repo, until)
        if tip is None:
            return _json(200, _page(request, []))  # an empty repository
        count = max(_int(request.first("start"), 0), 0) + min(max(_int(request.first("limit"), 25), 1), 1000)
        shas = repo.git.run("rev-list", f"--max-count={count + 1}", tip, "--").decode().split()
        return _json(200, _page(request, [self.host.commit_json(repo, sha) for sha in shas]))

    def get_commit(
        self, request: Request, repo: HostedRepository, account: Account, commit_id: str
    ) -> Response:
        sha = repo.git.resolve(commit_id)
        if sha is None:
            return _no_such_commit(repo, commit_id)
        return _json(200, self.host.commit_json(repo, sha))

    # --- files ------------------------------------------------------------------------------------

    def raw(self, request: Request, repo: HostedRepository, account: Account, path: str) -> Response:
        at = request.first("at")
        sha = _revision(repo, at) if at else repo.tip(repo.main_branch)
        if at and sha is None:
            return _no_such_commit(repo, at)
        content = repo.git.read_file(sha, path) if sha else None
        if content is None:
            where = at or repo.main_branch
            return error(404, f'The path "{path}" does not exist at revision "{where}"', NO_SUCH_PATH)
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Response(200, content, {"Content-Type": content_type})

    def browse_type(self, request: Request, repo: HostedRepository, account: Account, path: str) -> Response:
        """`browse/{path}?type=true`: `{"type": "FILE"|"DIRECTORY"|"SUBMODULE"}`, 404 when absent (the
        page-of-lines answer without `type` is not modelled)."""
        if request.first("type") != "true":
            return error(400, "the sandbox answers browse only with type=true", INVALID_ARGUMENT)
        at = request.first("at")
        sha = _revision(repo, at) if at else repo.tip(repo.main_branch)
        if at and sha is None:
            return _no_such_commit(repo, at)
        entry = repo.git.entry(sha, path) if sha else None
        if entry is None:
            where = at or repo.main_branch
            return error(404, f'The path "{path}" does not exist at revision "{where}"', NO_SUCH_PATH)
        kind = {"tree": "DIRECTORY", "commit": "SUBMODULE"}.get(entry.type, "FILE")
        return _json(200, {"type": kind})

    def edit_file(self, request: Request, repo: HostedRepository, account: Account, path: str) -> Response:
        """`editFile`: one file, one commit; `sourceBranch` creates `branch` from it in the same call;
        `sourceCommitId` is the commit the edit started from (required to change an existing file)."""
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return error(
                415, f"Unsupported Media Type: {content_type or '(none)'}; expected multipart/form-data"
            )
        if request.headers.get("x-atlassian-token", "").lower() != "no-check":
            return error(403, "XSRF check failed")  # form posts without the opt-out header are refused
        if account is self.host.token_actor:
            return error(403, NO_USER_BEHIND, NOT_PERMITTED)
        try:
            fields: dict[str, bytes] = {}
            for part in parse_form(content_type, request.body):
                fields.setdefault(part.name, part.data)
            name = tree_path(path)
        except (FormError, GitError) as exc:
            return error(400, str(exc), INVALID_ARGUMENT)
        text = {k: v.decode("utf-8", "replace") for k, v in fields.items() if k != "content"}
        for required in ("branch", "content"):
            if required not in fields or (required == "branch" and not text["branch"]):
                return error(400, f"{required} must be supplied", INVALID_ARGUMENT, context=required)
        with repo.lock:
            return self._edit_locked(repo, account, name, fields["content"], text)

    def _edit_locked(
        self, repo: HostedRepository, account: Account, path: str, content: bytes, fields: dict[str, str]
    ) -> Response:
        branch, source_branch = fields["branch"], fields.get("sourceBranch") or None
        old = repo.tip(branch)
        if source_branch and source_branch != branch:
            if old is not None:
                return error(
                    409, f"Branch '{branch}' already exists in repository '{repo.slug}'", DUPLICATE_REF
                )
            start = repo.tip(source_branch)
            if start is None:
                return error(404, f"Branch '{source_branch}' does not exist", NO_SUCH_BRANCH)
        elif old is not None or repo.tip(repo.main_branch) is None:
            start = old  # None in an empty repository: the commit becomes its first
        else:
            return error(
                404, f"Branch '{branch}' does not exist; give sourceBranch to create it", NO_SUCH_BRANCH
            )
        current = repo.git.read_file(start, path) if start else None
        source_commit = fields.get("sourceCommitId")
        if source_commit:
            before_sha = _revision(repo, source_commit)
            if before_sha is None:
                return _no_such_commit(repo, source_commit)
            if repo.git.read_file(before_sha, path) != current:
                message = f"The file '{path}' has been modified since commit {source_commit}"
                return error(409, message, FILE_OUT_OF_DATE)
        elif current is not None:
            return error(
                409, f"The file '{path}' already exists; give sourceCommitId to edit it", FILE_EXISTS
            )
        if current == content:
            return error(409, f"The content does not modify the file '{path}'", FILE_UNMODIFIED)
        author = Person(account.display_name, account.email or f"{account.nickname}@example.com")
        message = fields.get("message") or DEFAULT_COMMIT_MESSAGE.format(path=path)
        new = repo.git.commit_files([start] if start else [], {path: content}, message, author)
        if not repo.git.update_branch(branch, new, old):
            return error(409, f"Branch '{branch}' moved during the edit", FILE_OUT_OF_DATE)
        if start is None:
            repo.main_branch = branch
            repo.git.set_head_branch(branch)
        self.host.sync(repo)
        return _json(200, self.host.commit_json(repo, new))

    def delete_branch(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        name = _branch_of(body.get("name")) if isinstance(body, dict) else None
        if name is None:
            return error(400, "name must be supplied", INVALID_ARGUMENT, context="name")
        if name == repo.main_branch:
            return error(400, f"'{name}' is the default branch and cannot be deleted", INVALID_ARGUMENT)
        with repo.lock:
            tip = repo.tip(name)
            end_point = body.get("endPoint")
            if tip is not None and end_point and end_point != tip:
                return error(
                    400, f"'{name}' is at {tip}, not at the given endPoint {end_point}", INVALID_ARGUMENT
                )
            if tip is not None and not body.get("dryRun"):
                self.host.delete_branch(repo, name)
        return Response(204)  # also when the branch did not exist

    # --- pull requests ----------------------------------------------------------------------------

    def _pull_request(self, repo: HostedRepository, pr_id: str) -> PullRequest | Response:
        pr = self.host.pull_request(repo, int(pr_id))
        if pr is None:
            return error(404, f"Pull request {pr_id} does not exist in {repo.slug}.", NO_SUCH_PULL_REQUEST)
        return pr

    def _render(self, status: int, repo: HostedRepository, pr: PullRequest) -> Response:
        return _json(status, self.host.render_pull_request(repo, pr))

    def list_pull_requests(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        state = (request.first("state") or OPEN).upper()
        direction = (request.first("direction") or "INCOMING").upper()
        if direction not in ("INCOMING", "OUTGOING"):
            return error(400, f"direction: {direction} is not INCOMING or OUTGOING", INVALID_ARGUMENT)
        at = request.first("at")  # a fully qualified ref: INCOMING filters on toRef, OUTGOING on fromRef
        with repo.lock:
            self.host.sync(repo)
            prs = [
                pr
                for pr in repo.pull_requests.values()
                if state in ("ALL", pr.state)
                and (direction == "INCOMING" or pr.source_repo is None)  # OUTGOING: from this repository
                and (
                    at is None
                    or at == f"refs/heads/{pr.source if direction == 'OUTGOING' else pr.destination}"
                )
            ]
            prs.sort(key=lambda pr: pr.id, reverse=(request.first("order") or "NEWEST").upper() == "NEWEST")
            values = [self.host.render_pull_request(repo, pr) for pr in prs]
        return _json(200, _page(request, values))

    def get_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        with repo.lock:
            pr = self._pull_request(repo, pr_id)
            return pr if isinstance(pr, Response) else self._render(200, repo, pr)

    def create_pull_request(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object", INVALID_ARGUMENT)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            return error(400, "title must not be blank", INVALID_ARGUMENT, context="title")
        refs = {}
        for side in ("fromRef", "toRef"):
            ref = body.get(side)
            refs[side] = _branch_of(ref.get("id")) if isinstance(ref, dict) else None
            elsewhere = self._other_repository(repo, ref)
            if refs[side] is None or elsewhere:
                return error(
                    400, elsewhere or f"{side}.id must name a branch", INVALID_ARGUMENT, context=side
                )
        source, destination = refs["fromRef"], refs["toRef"]
        assert source is not None and destination is not None
        with repo.lock:
            self.host.sync(repo)
            for pr in repo.pull_requests.values():
                if (
                    pr.state == OPEN
                    and pr.source_repo is None
                    and (pr.source, pr.destination) == (source, destination)
                ):
                    return error(
                        409,
                        "Only one pull request may be open for a given source and target branch",
                        DUPLICATE_PULL_REQUEST,
                        existingPullRequest=self.host.render_pull_request(repo, pr),
                    )
            reviewers = self._reviewers(body, author=account)
            if isinstance(reviewers, Response):
                return reviewers
            try:
                pr, _created = self.host.open_pull_request(
                    repo,
                    title=title,
                    description=body.get("description") or "",
                    source=source,
                    destination=destination,
                    author=account,
                    reviewers=reviewers,
                    close_source_branch=False,  # a repository setting on Data Center, not a field
                    draft=body.get("draft") is True,
                )
            except PullRequestRefused as refused:
                return _refusal(refused)
            return self._render(201, repo, pr)

    def update_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object", INVALID_ARGUMENT)
        with repo.lock:
            pr = self._pull_request(repo, pr_id)
            if isinstance(pr, Response):
                return pr
            refused = _check_version(pr, body.get("version"))
            if refused is not None:
                return refused
            title = body.get("title", pr.title)
            if not isinstance(title, str) or not title.strip():
                return error(400, "title must not be blank", INVALID_ARGUMENT, context="title")
            reviewers = self._reviewers(body, author=pr.author)
            if isinstance(reviewers, Response):
                return reviewers
            destination = _branch_of(body["toRef"].get("id")) if isinstance(body.get("toRef"), dict) else None
            destination = destination or pr.destination
            if repo.tip(destination) is None:
                return error(404, f"Branch '{destination}' does not exist", NO_SUCH_BRANCH, context="toRef")
            if destination == pr.source:
                return error(409, "The source and target branch are the same", SAME_BRANCHES)
            # A PUT replaces the pull request: omitted reviewers and description are cleared.
            pr.title, pr.description, pr.reviewers, pr.destination = (
                title,
                body.get("description") or "",
                reviewers,
                destination,
            )
            pr.version += 1
            pr.updated_on = now_iso()
            self.host.sync(repo)
            return self._render(200, repo, pr)

    def decline_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        body = request.json_or_none() if request.body else {}
        version = request.first("version") or (body.get("version") if isinstance(body, dict) else None)
        with repo.lock:
            pr = self._pull_request(repo, pr_id)
            if isinstance(pr, Response):
                return pr
            refused = _check_version(pr, version)
            if refused is not None:
                return refused
            self.host.decline(repo, pr, account)
            return self._render(200, repo, pr)

    def default_reviewers(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        """The users Data Center adds to a pull request between the given refs (any-ref conditions
        only: every default reviewer of the repository)."""
        for name in ("sourceRepoId", "targetRepoId", "sourceRefId", "targetRefId"):
            if not request.first(name):
                return error(400, f"{name} must be supplied", INVALID_ARGUMENT, context=name)
        own = str(self.host.repository_id(repo))
        if {request.first("sourceRepoId"), request.first("targetRepoId")} != {own}:
            return error(400, "the sandbox only knows pull requests within one repository", INVALID_ARGUMENT)
        return _json(200, [self.host.user_json(reviewer) for reviewer in repo.default_reviewers])

    # --- helpers ----------------------------------------------------------------------------------

    def _other_repository(self, repo: HostedRepository, ref: Any) -> Optional[str]:
        """A complaint when a ref names a repository other than `repo` (same-repository PRs only)."""
        named = ref.get("repository") if isinstance(ref, dict) else None
        if not isinstance(named, dict):
            return None
        project = named.get("project")
        project = project if isinstance(project, dict) else {}
        same = str(named.get("slug", repo.slug)).lower() == repo.slug and (
            str(project.get("key", repo.workspace)).lower() == repo.workspace
        )
        return None if same else "the sandbox only supports pull requests within one repository"

    def _reviewers(self, body: dict[str, Any], *, author: Account) -> list[Account] | Response:
        """The users named by `reviewers: [{"user": {"name": ...}}]`, or the 409 naming each bad one."""
        raw = body.get("reviewers") or []
        accounts: list[Account] = []
        problems = []
        for item in raw if isinstance(raw, list) else [raw]:
            user = item.get("user") if isinstance(item, dict) else None
            name = str(user.get("name") or user.get("slug") or "") if isinstance(user, dict) else ""
            account = self.host.user_named(name) if name else None
            if account is None:
                problems.append({"context": name, "message": f"{name or 'A reviewer'} is not a user."})
            elif account == author:
                problems.append(
                    {"context": name, "message": f"{name} is the author and cannot be a reviewer."}
                )
            elif account not in accounts:
                accounts.append(account)
        if problems:
            return error(
                409,
                "Errors encountered while adding some reviewers to this pull request.",
                INVALID_REVIEWERS,
                reviewerErrors=problems,
                validReviewers=[self.host.user_json(a) for a in accounts],
            )
        return accounts


def _check_version(pr: PullRequest, version: Any) -> Optional[Response]:
    """The optimistic lock of updates and declines: 400 without a version, 409 for a stale one or a
    pull request that is no longer open."""
    try:
        expected = int(version)
    except (TypeError, ValueError):
        return error(400, "version must be supplied: the version of the pull request being changed",
                     INVALID_ARGUMENT, context="version")  # fmt: skip
    if expected != pr.version:
        return error(
            409,
            "You are attempting to modify a pull request based on out-of-date information.",
            OUT_OF_DATE,
            currentVersion=pr.version,
            expectedVersion=expected,
        )
    if pr.state != OPEN:
        return error(409, f"Pull request {pr.id} is {pr.state.lower()} and cannot be changed.", NOT_OPEN)
    return None


def _refusal(refused: PullRequestRefused) -> Response:
    if refused.reason == PullRequestRefused.NO_CHANGES:
        message = f"Pull request cannot be created: '{refused.branch}' is already up to date with its target"
        return error(409, message, EMPTY_PULL_REQUEST)
    if refused.reason == PullRequestRefused.SAME_BRANCH:
        return error(409, "The source and target branch are the same", SAME_BRANCHES)
    return error(404, f"Repository ref 'refs/heads/{refused.branch}' does not exist", NO_SUCH_BRANCH)
