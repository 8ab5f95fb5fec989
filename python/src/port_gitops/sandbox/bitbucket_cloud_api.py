"""The Bitbucket Cloud 2.0 endpoints of the sandbox (see `bitbucket_cloud` for the list and the
fidelity notes): routing, the error shapes, and each endpoint's rules."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote, urlencode

from port_gitops.sandbox.bbql import BBQLError, compile_query
from port_gitops.sandbox.bitbucket_api import Route, dispatch
from port_gitops.sandbox.codehost import (
    OPEN,
    Account,
    HostedRepository,
    PullRequest,
    PullRequestRefused,
    now_iso,
)
from port_gitops.sandbox.forms import FormError, FormPart, parse_form
from port_gitops.sandbox.gitstore import MODES, GitError, Person
from port_gitops.sandbox.server import GATEWAY_STATUSES, Request, Response, gateway_page

if TYPE_CHECKING:
    from port_gitops.sandbox.bitbucket_cloud import BitbucketCloudSandbox

RATE_LIMIT_TEXT = "Rate limit for this resource has been exceeded"
CANNED_MESSAGE = "Edited online with Bitbucket"
_SRC_METADATA = ("message", "author", "parents", "branch", "files")
SHORT_HASH = 12  # Cloud abbreviates commit hashes in pull requests
_PR_PAGELEN_MAX = 50


def error(
    status: int,
    message: str,
    *,
    detail: Optional[str] = None,
    data: Optional[dict[str, Any]] = None,
    fields: Optional[dict[str, list[str]]] = None,
    headers: Optional[dict[str, str]] = None,
) -> Response:
    body: dict[str, Any] = {"message": message}
    if detail is not None:
        body["detail"] = detail
    if data is not None:
        body["data"] = data
    if fields is not None:
        body["fields"] = fields
    return Response.json(status, {"type": "error", "error": body}, headers)


def _field_error(field: str, reason: str, subject: Optional[str] = None) -> Response:
    """Cloud's 400 for one bad field: `reason` under `fields`, and in the message (with `subject`)."""
    message = f"{field}: {reason}" if subject is None else f"{field}: {reason}: {subject}"
    return error(400, message, fields={field: [reason]})


def _unauthorized(message: str) -> Response:
    return error(401, message, headers={"WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"'})


def status_answer(status: int) -> Response:
    """What the real service answers with a bare status (for injected faults and crashes)."""
    if status == 429:
        return Response.text(429, RATE_LIMIT_TEXT)
    phrase = HTTPStatus(status).phrase
    if status in GATEWAY_STATUSES:
        return gateway_page(status)
    if status == 401:
        return _unauthorized(phrase)
    return error(status, phrase)


def _paginate(request: Request, base: str, values: list[Any], *, max_pagelen: int = 100) -> dict[str, Any]:
    try:
        pagelen = min(max(int(request.first("pagelen") or 10), 1), max_pagelen)
        page = max(int(request.first("page") or 1), 1)
    except ValueError:
        pagelen, page = 10, 1
    start = (page - 1) * pagelen
    body: dict[str, Any] = {
        "pagelen": pagelen,
        "size": len(values),
        "page": page,
        "values": values[start : start + pagelen],
    }
    if start + pagelen < len(values):
        query = {**request.query, "page": [str(page + 1)]}
        body["next"] = f"{base}?{urlencode(query, doseq=True)}"
    return body


def _filter(request: Request, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply `q` (BBQL) and `sort` (a dotted field, "-" for descending). BBQLError on a bad query."""
    q = request.first("q")
    if q:
        predicate = compile_query(q)
        values = [value for value in values if predicate(value)]
    sort = request.first("sort")
    if sort:
        key = sort.lstrip("-")

        def sort_key(value: dict[str, Any]) -> Any:
            found: Any = value
            for part in key.split("."):
                found = found.get(part) if isinstance(found, dict) else None
            return (found is None, found if found is not None else "")

        values = sorted(values, key=sort_key, reverse=sort.startswith("-"))
    return values


@dataclass(frozen=True)
class _Upload:
    """A `POST src` form: metadata fields plus files (a None content deletes a file)."""

    branch: Optional[str]
    parent: Optional[str]
    message: str
    author: Person
    files: dict[str, Optional[bytes]]
    modes: dict[str, str]

    @classmethod
    def from_parts(cls, parts: list[FormPart], account: Account) -> _Upload | Response:
        metadata: dict[str, list[str]] = {}
        files: dict[str, Optional[bytes]] = {}
        modes: dict[str, str] = {}
        for part in parts:
            # A part with a filename is always a file; without one, a metadata name is metadata.
            if part.filename is None and part.name in _SRC_METADATA:
                metadata.setdefault(part.name, []).append(part.data.decode("utf-8", "replace"))
                continue
            path = part.name.lstrip("/")
            files[path] = part.data
            if part.params.get("x-attributes") in MODES:
                modes[path] = MODES[part.params["x-attributes"]]
        for path in metadata.get("files", []):
            files.setdefault(path.lstrip("/"), None)  # listed without content: deleted
        if len(metadata.get("branch", [])) > 1:
            return error(400, "branch: the branch field cannot be repeated")
        parents = [
            sha.strip() for value in metadata.get("parents", []) for sha in value.split(",") if sha.strip()
        ]
        if len(parents) > 1:
            return error(400, "parents: only a single parent commit is accepted")
        try:
            author = Person.parse(metadata["author"][0]) if "author" in metadata else _identity(account)
        except ValueError as exc:
            return error(400, f"author: {exc}")
        return cls(
            branch=metadata.get("branch", [None])[0],
            parent=parents[0] if parents else None,
            message=metadata.get("message", [CANNED_MESSAGE])[0],
            author=author,
            files=files,
            modes=modes,
        )


class CloudApi:
    def __init__(self, host: BitbucketCloudSandbox) -> None:
        self.host = host
        # (method, pattern on the percent-decoded rest of the path after {ws}/{slug}, handler)
        self.routes: list[Route] = [
            ("GET", re.compile(r"/?"), self.get_repository),
            ("GET", re.compile(r"/refs/branches/?"), self.list_branches),
            ("POST", re.compile(r"/refs/branches/?"), self.create_branch),
            ("GET", re.compile(r"/refs/branches/(?P<name>.+)"), self.get_branch),
            ("DELETE", re.compile(r"/refs/branches/(?P<name>.+)"), self.delete_branch),
            ("GET", re.compile(r"/commit/(?P<revision>[^/]+)/?"), self.get_commit),
            ("POST", re.compile(r"/src/?"), self.commit),
            ("GET", re.compile(r"/src/(?P<commit>[^/]+)/?(?P<path>.*)"), self.read_source),
            ("GET", re.compile(r"/pullrequests/?"), self.list_pull_requests),
            ("POST", re.compile(r"/pullrequests/?"), self.create_pull_request),
            ("GET", re.compile(r"/pullrequests/(?P<pr_id>\d+)/?"), self.get_pull_request),
            ("PUT", re.compile(r"/pullrequests/(?P<pr_id>\d+)/?"), self.update_pull_request),
            ("POST", re.compile(r"/pullrequests/(?P<pr_id>\d+)/decline"), self.decline_pull_request),
            ("POST", re.compile(r"/pullrequests/(?P<pr_id>\d+)/merge"), self.merge_pull_request),
            ("GET", re.compile(r"/pullrequests/(?P<pr_id>\d+)/diff"), self.pull_request_diff),
            ("GET", re.compile(r"/default-reviewers/?"), self.default_reviewers),
            ("GET", re.compile(r"/effective-default-reviewers/?"), self.effective_default_reviewers),
        ]

    def error_response(self, status: int) -> Response:
        return status_answer(status)

    def handle(self, request: Request) -> Response:
        account = self.host.authenticate(request)
        if account is None:
            if request.headers.get("authorization", "").lower().startswith("bearer "):
                return _unauthorized("Token is invalid, expired, or not supported for this endpoint.")
            return _unauthorized(
                "Authentication required: use an API token (Basic) or an access token (Bearer)"
            )
        if request.path.rstrip("/") == "/2.0/user" and request.method == "GET":
            return self.current_user(account)
        segments = request.path.split("/")
        if len(segments) < 5 or segments[1:3] != ["2.0", "repositories"]:
            return error(404, "Resource not found")
        workspace, slug = unquote(segments[3]), unquote(segments[4])
        repo = self.host.repository(workspace, slug)
        if repo is None:
            return error(404, f"Repository {workspace}/{slug} not found")
        rest = unquote("/" + "/".join(segments[5:])) if len(segments) > 5 else ""
        answer = dispatch(self.routes, request, rest, repo, account, refuse=error)
        return answer if answer is not None else error(404, "Resource not found")

    def current_user(self, account: Account) -> Response:
        if account is self.host.token_actor:  # an access token has no user behind it
            return error(403, "This endpoint cannot be used with an access token")
        return Response.json(200, self.host.user_json(account))

    # --- repository and branches ------------------------------------------------------------------

    def get_repository(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        return Response.json(200, self.host.repository_json(repo))

    def list_branches(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        values = [self.host.branch_json(repo, name, sha) for name, sha in sorted(repo.git.branches().items())]
        try:
            values = _filter(request, values)
        except BBQLError as exc:
            return error(400, "Invalid query", detail=str(exc))
        return Response.json(200, _paginate(request, self.host.api_href(repo, "/refs/branches"), values))

    def create_branch(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        name = body.get("name") if isinstance(body, dict) else None
        target = body.get("target") if isinstance(body, dict) else None
        revision = target.get("hash") if isinstance(target, dict) else None
        if not isinstance(name, str) or not isinstance(revision, str):
            return error(400, 'Expected {"name": ..., "target": {"hash": ...}}')
        with repo.lock:
            if not repo.git.is_valid_branch_name(name):
                return error(400, f"Invalid branch name: {name}", fields={"name": ["Invalid branch name"]})
            if repo.tip(name) is not None:
                return error(400, f"Branch {name} already exists", data={"key": "BRANCH_ALREADY_EXISTS"})
            sha = repo.git.resolve(revision)
            if sha is None:
                return error(400, f"Commit not found: {revision}", data={"shas": [revision]})
            repo.git.update_branch(name, sha, None)
        return Response.json(201, self.host.branch_json(repo, name, sha))

    def get_branch(self, request: Request, repo: HostedRepository, account: Account, name: str) -> Response:
        sha = repo.tip(name)
        if sha is None:
            return error(404, f"Branch not found: {name}")
        return Response.json(200, self.host.branch_json(repo, name, sha))

    def delete_branch(
        self, request: Request, repo: HostedRepository, account: Account, name: str
    ) -> Response:
        if name == repo.main_branch:
            return error(400, "You can't delete the main branch")
        if not self.host.delete_branch(repo, name):
            return error(404, f"Branch not found: {name}")
        return Response(204)

    # --- source -----------------------------------------------------------------------------------

    def get_commit(
        self, request: Request, repo: HostedRepository, account: Account, revision: str
    ) -> Response:
        sha = repo.git.resolve(revision)
        if sha is None:
            return error(404, f"Commit not found: {revision}", data={"shas": [revision]})
        return Response.json(200, self.host.commit_json(repo, sha))

    def read_source(
        self, request: Request, repo: HostedRepository, account: Account, commit: str, path: str
    ) -> Response:
        sha = repo.git.resolve(commit)
        if sha is None:
            return error(404, f"Commit not found: {commit}", data={"shas": [commit]})
        entry = repo.git.entry(sha, path) if path.strip("/") else None
        if entry is not None and entry.type == "blob":
            if request.first("format") == "meta":
                attributes = [name for name, mode in MODES.items() if mode == entry.mode]
                meta = {"type": "commit_file", "path": entry.path, "commit": {"type": "commit", "hash": sha},
                        "attributes": attributes, "size": entry.size}  # fmt: skip
                return Response.json(200, meta)
            content_type = mimetypes.guess_type(entry.path)[0] or "application/octet-stream"
            return Response(200, repo.git.blob(entry.sha), {"Content-Type": content_type})
        entries = repo.git.list_directory(sha, path)
        if entries is None:
            return error(404, f"No such file or directory: {path}")
        if request.first("format") == "meta":  # a directory's own description, not its listing
            meta = {
                "type": "commit_directory",
                "path": path.strip("/"),
                "commit": {"type": "commit", "hash": sha},
            }
            return Response.json(200, meta)
        values = [
            {
                "type": "commit_directory" if item.type == "tree" else "commit_file",
                "path": item.path,
                "commit": {"type": "commit", "hash": sha},
                **({"size": item.size} if item.size is not None else {}),
            }
            for item in entries
        ]
        return Response.json(200, _paginate(request, self.host.api_href(repo, f"/src/{sha}/{path}"), values))

    def commit(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        try:
            parts = parse_form(request.headers.get("content-type", ""), request.body)
        except FormError as exc:
            return error(400, str(exc))
        upload = _Upload.from_parts(parts, account)
        if isinstance(upload, Response):
            return upload
        with repo.lock:
            return self._commit_locked(repo, upload)

    def _commit_locked(self, repo: HostedRepository, upload: _Upload) -> Response:
        """The branch/parents rules of the `branch` field's documentation, to the letter."""
        parent_sha = None
        if upload.parent is not None:
            parent_sha = repo.git.resolve(upload.parent)
            if parent_sha is None:
                return error(
                    400, f"parents: commit not found: {upload.parent}", data={"shas": [upload.parent]}
                )
        if upload.branch is not None and not repo.git.is_valid_branch_name(upload.branch):
            return error(400, f"branch: invalid branch name: {upload.branch}")
        target = upload.branch or repo.main_branch
        main_tip = repo.tip(repo.main_branch)
        old = repo.tip(target)
        if main_tip is None:
            base = None  # empty repository: a root commit, on `branch` which becomes the main branch
        elif old is not None:
            if parent_sha is not None and parent_sha != old:
                message = f"Commit {upload.parent} is not the tip of branch {target}: the branch has moved"
                return error(409, message, data={"branch": target, "tip": old})
            base = old
        else:
            base = parent_sha or main_tip
        try:
            new = repo.git.commit_files(
                [base] if base else [], upload.files, upload.message, upload.author, upload.modes
            )
        except GitError as exc:
            return error(400, f"Invalid file path: {exc}")
        if not repo.git.update_branch(target, new, old):
            return error(409, f"Branch {target} moved during the commit", data={"branch": target})
        if main_tip is None:
            repo.main_branch = target
            repo.git.set_head_branch(target)
        self.host.sync(repo)
        if not getattr(self.host, "src_location", True):
            return Response(201)
        return Response(201, headers={"Location": self.host.api_href(repo, f"/commit/{new}")})

    # --- pull requests ----------------------------------------------------------------------------

    def _pull_request(self, repo: HostedRepository, pr_id: str) -> PullRequest | Response:
        """The pull request, or Cloud's 404 for an unknown id."""
        pr = self.host.pull_request(repo, int(pr_id))
        return error(404, f"Pull request {pr_id} not found") if pr is None else pr

    def _open_pull_request(self, repo: HostedRepository, pr_id: str, action: str) -> PullRequest | Response:
        """The pull request if it is open; else Cloud's 404, or its 400 saying `action` needs it open."""
        pr = self._pull_request(repo, pr_id)
        if isinstance(pr, PullRequest) and pr.state != OPEN:
            return error(400, f"Pull request {pr_id} is {pr.state}: only open pull requests can be {action}")
        return pr

    def list_pull_requests(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        states = {state.upper() for state in request.query.get("state", [])}
        if not states and "state" not in (request.first("q") or ""):
            states = {OPEN}  # Cloud lists open pull requests unless told otherwise
        with repo.lock:
            self.host.sync(repo)
            values = [
                self.host.render_pull_request(repo, pr)
                for pr in repo.pull_requests.values()
                if not states or pr.state in states
            ]
        try:
            values = _filter(request, values)
        except BBQLError as exc:
            return error(400, "Invalid query", detail=str(exc))
        base = self.host.api_href(repo, "/pullrequests")
        return Response.json(200, _paginate(request, base, values, max_pagelen=_PR_PAGELEN_MAX))

    def create_pull_request(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object")
        title, source = body.get("title"), _branch_name(body.get("source"))
        if not isinstance(title, str) or not title.strip():
            return _field_error("title", "This field is required.")
        if source is None:
            return _field_error("source", "This field is required.")
        reviewers = self._reviewers(body, author=account)
        if isinstance(reviewers, Response):
            return reviewers
        try:
            pr, _created = self.host.open_pull_request(
                repo,
                title=title,
                description=_description(body),
                source=source,
                destination=_branch_name(body.get("destination")) or repo.main_branch,
                author=account,
                reviewers=reviewers,
                close_source_branch=bool(body.get("close_source_branch", False)),
                draft=body.get("draft") is True,
            )
        except PullRequestRefused as refused:
            return _refusal(refused)
        location = self.host.api_href(repo, f"/pullrequests/{pr.id}")
        with repo.lock:
            rendered = self.host.render_pull_request(repo, pr)
        return Response.json(201, rendered, {"Location": location})

    def get_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        with repo.lock:
            pr = self._pull_request(repo, pr_id)
            if isinstance(pr, Response):
                return pr
            return Response.json(200, self.host.render_pull_request(repo, pr))

    def update_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object")
        with repo.lock:
            pr = self._pull_request(repo, pr_id)
            if isinstance(pr, Response):
                return pr
            if pr.state != OPEN:
                return error(
                    400, f"Only open pull requests can be mutated; pull request {pr_id} is {pr.state}"
                )
            title = body.get("title", pr.title)
            if not isinstance(title, str) or not title.strip():
                return _field_error("title", "This field may not be blank.")
            reviewers = self._reviewers(body, author=pr.author)
            if isinstance(reviewers, Response):
                return reviewers
            destination = _branch_name(body.get("destination")) or pr.destination
            if repo.tip(destination) is None:
                return _field_error("destination", "Branch not found", destination)
            # A PUT replaces the pull request: what is omitted is reset (reviewers, description).
            pr.title, pr.description, pr.reviewers, pr.destination = (
                title,
                _description(body),
                reviewers,
                destination,
            )
            pr.close_source_branch = bool(body.get("close_source_branch", pr.close_source_branch))
            pr.updated_on = now_iso()
            self.host.sync(repo)
            return Response.json(200, self.host.render_pull_request(repo, pr))

    def decline_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        with repo.lock:
            pr = self._open_pull_request(repo, pr_id, "declined")
            if isinstance(pr, Response):
                return pr
            self.host.decline(repo, pr, account)
            return Response.json(200, self.host.render_pull_request(repo, pr))

    def merge_pull_request(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        body = request.json_or_none() if request.body else {}
        strategy = body.get("merge_strategy", "merge_commit") if isinstance(body, dict) else "merge_commit"
        if strategy not in ("merge_commit", "squash"):
            return error(400, f"merge_strategy: unsupported in the sandbox: {strategy}")
        with repo.lock:
            pr = self._open_pull_request(repo, pr_id, "merged")
            if isinstance(pr, Response):
                return pr
            if isinstance(body, dict) and "close_source_branch" in body:
                pr.close_source_branch = bool(body["close_source_branch"])
            try:
                self.host.merge(repo, pr, account, squash=strategy == "squash")
            except GitError:
                return error(400, "You can't merge until you resolve all merge conflicts.")
            return Response.json(200, self.host.render_pull_request(repo, pr))

    def pull_request_diff(
        self, request: Request, repo: HostedRepository, account: Account, pr_id: str
    ) -> Response:
        with repo.lock:
            pr = self._pull_request(repo, pr_id)
            if isinstance(pr, Response):
                return pr
            assert pr.source_commit and pr.destination_commit
            return Response.text(200, repo.git.diff(pr.destination_commit, pr.source_commit))

    def default_reviewers(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        values = [self.host.user_json(reviewer) for reviewer in repo.default_reviewers]
        return Response.json(200, _paginate(request, self.host.api_href(repo, "/default-reviewers"), values))

    def effective_default_reviewers(
        self, request: Request, repo: HostedRepository, account: Account
    ) -> Response:
        values = [
            {"type": "default_reviewer", "reviewer_type": "repository", "user": self.host.user_json(reviewer)}
            for reviewer in repo.default_reviewers
        ]
        return Response.json(
            200, _paginate(request, self.host.api_href(repo, "/effective-default-reviewers"), values)
        )

    def _reviewers(self, body: dict[str, Any], *, author: Account) -> list[Account] | Response:
        """The accounts named by `reviewers: [{"uuid": ...}]`, or Cloud's 400 for a bad list."""
        raw = body.get("reviewers") or []
        accounts = []
        for item in raw if isinstance(raw, list) else [raw]:
            account = self.host.account(item.get("uuid", "")) if isinstance(item, dict) else None
            if account is None:
                return _field_error("reviewers", "Malformed reviewers list")
            if account.uuid == author.uuid:
                text = f"{account.display_name} is the author and cannot be included as a reviewer."
                return _field_error("reviewers", text)
            if account not in accounts:
                accounts.append(account)
        return accounts


def _identity(account: Account) -> Person:
    return Person(account.display_name, account.email or "noreply@bitbucket.org")


def _branch_name(endpoint: Any) -> Optional[str]:
    branch = endpoint.get("branch") if isinstance(endpoint, dict) else None
    name = branch.get("name") if isinstance(branch, dict) else None
    return name if isinstance(name, str) and name else None


def _description(body: dict[str, Any]) -> str:
    summary = body.get("summary")
    raw = summary.get("raw") if isinstance(summary, dict) else None
    value = body.get("description", raw)
    return value if isinstance(value, str) else ""


def _refusal(refused: PullRequestRefused) -> Response:
    if refused.reason == PullRequestRefused.NO_CHANGES:
        return error(400, "There are no changes to be pulled")
    if refused.reason == PullRequestRefused.SAME_BRANCH:
        return error(400, "source and destination branches must be different")
    field = "source" if refused.reason == PullRequestRefused.SOURCE_MISSING else "destination"
    return _field_error(field, "Branch not found", refused.branch)
