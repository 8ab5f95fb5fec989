"""The GitLab v4 endpoints of the sandbox (see `gitlab` for the list and the fidelity notes): routing on
the still percent-encoded path (a project's `group%2Fsub%2Fproject`, a branch's or file's `%2F` are
one segment each, as GitLab requires), the error shapes, and each endpoint's rules."""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote

from port_gitops.sandbox.bitbucket_api import Route, dispatch
from port_gitops.sandbox.codehost import OPEN, Account, HostedRepository, PullRequest, PullRequestRefused
from port_gitops.sandbox.gitstore import Person
from port_gitops.sandbox.server import GATEWAY_STATUSES, Request, Response, gateway_page

if TYPE_CHECKING:
    from port_gitops.sandbox.gitlab import GitLabSandbox

RATE_LIMIT_WINDOW = 1  # seconds until the sandbox's rate-limit window resets
STATES = {"OPEN": "opened", "DECLINED": "closed", "MERGED": "merged"}  # the codehost's -> GitLab's
_STATE_FILTERS = {state: ours for ours, state in STATES.items()}
_PER_PAGE_MAX = 100
_TITLE_MAX = 255
_DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s)", re.IGNORECASE)


def error(status: int, message: Any, headers: Optional[dict[str, str]] = None) -> Response:
    """GitLab's error body: `message` is a string, a list of strings, or field -> list of strings."""
    return Response.json(status, {"message": message}, headers)


def _missing(name: str) -> Response:
    """Grape's answer to a missing or invalid parameter (an `error`, not a `message`)."""
    return Response.json(400, {"error": f"{name} is missing"})


def rate_limited() -> Response:
    """Rack::Attack's 429: plain text, with the window in `RateLimit-*` and `Retry-After`."""
    reset = int(time.time()) + RATE_LIMIT_WINDOW
    response = Response.text(429, "Retry later\n")
    response.headers.update(
        {
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "600",
            "RateLimit-Observed": "601",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": email.utils.formatdate(reset, usegmt=True),
            "Retry-After": str(RATE_LIMIT_WINDOW),
        }
    )
    return response


def status_answer(status: int) -> Response:
    """What the real service answers with a bare status (for injected faults and crashes)."""
    if status == 429:
        return rate_limited()
    if status in GATEWAY_STATUSES:
        return gateway_page(status)
    return error(status, f"{status} {HTTPStatus(status).phrase}")


def _json_body(request: Request) -> Optional[dict[str, Any]]:
    body = request.json_or_none()
    return body if isinstance(body, dict) else None


def _paginate(request: Request, values: list[Any]) -> Response:
    try:
        per_page = min(max(int(request.first("per_page") or 20), 1), _PER_PAGE_MAX)
        page = max(int(request.first("page") or 1), 1)
    except ValueError:
        per_page, page = 20, 1
    start = (page - 1) * per_page
    total_pages = max(1, -(-len(values) // per_page))
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(values)),
        "X-Total-Pages": str(total_pages),
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "X-Next-Page": str(page + 1) if page < total_pages else "",
    }
    return Response.json(200, values[start : start + per_page], headers)


class GitLabApi:
    def __init__(self, host: GitLabSandbox) -> None:
        self.host = host
        # (method, pattern on the rest of the percent-encoded path after /projects/{id}, handler)
        self.routes: list[Route] = [
            ("GET", re.compile(r"/?"), self.get_project),
            ("GET", re.compile(r"/repository/branches/?"), self.list_branches),
            ("GET", re.compile(r"/repository/branches/(?P<name>[^/]+)"), self.get_branch),
            ("DELETE", re.compile(r"/repository/branches/(?P<name>[^/]+)"), self.delete_branch),
            ("GET", re.compile(r"/repository/commits/(?P<sha>[^/]+)"), self.get_commit),
            ("POST", re.compile(r"/repository/commits/?"), self.create_commit),
            ("GET", re.compile(r"/repository/tree/?"), self.tree),
            ("GET", re.compile(r"/repository/files/(?P<path>[^/]+)/raw"), self.raw_file),
            ("HEAD", re.compile(r"/repository/files/(?P<path>[^/]+)/raw"), self.raw_file),
            ("GET", re.compile(r"/repository/files/(?P<path>[^/]+)"), self.get_file),
            ("GET", re.compile(r"/merge_requests/?"), self.list_merge_requests),
            ("POST", re.compile(r"/merge_requests/?"), self.create_merge_request),
            ("GET", re.compile(r"/merge_requests/(?P<iid>\d+)"), self.get_merge_request),
            ("PUT", re.compile(r"/merge_requests/(?P<iid>\d+)"), self.update_merge_request),
        ]

    def handle(self, request: Request, path: str) -> Response:
        """`path`: after /api/v4, still percent-encoded."""
        account = self.host.authenticate(request)
        if account is None:
            return error(401, "401 Unauthorized")
        scopes = self.host.scopes
        needed = "read_api" if request.method in ("GET", "HEAD") else "api"
        if "api" not in scopes and needed not in scopes:
            return Response.json(
                403,
                {
                    "error": "insufficient_scope",
                    "error_description": "The request requires higher privileges than provided by the "
                    "access token.",
                    "scope": "api read_api" if needed == "read_api" else "api",
                },
                {"WWW-Authenticate": 'Bearer realm="Protected by OAuth 2.0", error="insufficient_scope"'},
            )
        if path.rstrip("/") == "/user" and request.method == "GET":
            return Response.json(200, self.host.user_json(account))
        if path.rstrip("/") == "/users" and request.method == "GET":
            return self.list_users(request)
        match = re.fullmatch(r"/projects/(?P<id>[^/]+)(?P<rest>/.*)?", path)
        if match is None:
            return error(404, "404 Not Found")
        repo = self.host.find_project(unquote(match["id"]))
        if repo is None:
            return error(404, "404 Project Not Found")
        answer = dispatch(self.routes, request, match["rest"] or "", repo, account, refuse=error)
        return answer if answer is not None else error(404, "404 Not Found")

    def list_users(self, request: Request) -> Response:
        username = request.first("username")
        found = self.host.user_named(username) if username else None
        return _paginate(request, [self.host.user_json(found)] if found else [])

    # --- project, branches, commits -------------------------------------------------------------

    def get_project(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        return Response.json(200, self.host.project_json(repo))

    def list_branches(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        branches = sorted(repo.git.branches().items())
        pattern = request.first("regex")
        if pattern:
            try:
                compiled = re.compile(pattern)  # GitLab: RE2 (UntrustedRegexp), searched, not anchored
            except re.error:
                return error(400, "Regex is invalid")
            branches = [(name, sha) for name, sha in branches if compiled.search(name)]
        search = request.first("search")
        if search:
            term = search.lower()
            if term.startswith("^"):
                branches = [b for b in branches if b[0].lower().startswith(term[1:])]
            elif term.endswith("$"):
                branches = [b for b in branches if b[0].lower().endswith(term[:-1])]
            else:
                branches = [b for b in branches if term in b[0].lower()]
        return _paginate(request, [self.host.branch_json(repo, name, sha) for name, sha in branches])

    def get_branch(self, request: Request, repo: HostedRepository, account: Account, name: str) -> Response:
        name = unquote(name)
        sha = repo.tip(name)
        if sha is None:
            return error(404, "404 Branch Not Found")
        return Response.json(200, self.host.branch_json(repo, name, sha))

    def delete_branch(
        self, request: Request, repo: HostedRepository, account: Account, name: str
    ) -> Response:
        name = unquote(name)
        if repo.tip(name) is None:
            return error(404, "404 Branch Not Found")
        if name == repo.main_branch:
            return error(400, "Cannot remove HEAD branch")
        if self.host.is_protected(repo, name):
            return error(403, "403 Forbidden")
        self.host.delete_branch(repo, name)
        return Response(204)

    def get_commit(self, request: Request, repo: HostedRepository, account: Account, sha: str) -> Response:
        commit = repo.git.resolve(unquote(sha))
        if commit is None:
            return error(404, "404 Commit Not Found")
        return Response.json(200, self.host.commit_json(repo, commit))

    def create_commit(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = _json_body(request)
        if body is None:
            return Response.json(400, {"error": "The request body is not valid JSON"})
        for name in ("branch", "commit_message", "actions"):
            if not body.get(name):
                return _missing(name)
        branch, actions = str(body["branch"]), body["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            return Response.json(400, {"error": "actions is invalid"})
        author = account_person(account)
        if body.get("author_name") and body.get("author_email"):
            author = Person(str(body["author_name"]), str(body["author_email"]))
        with repo.lock:
            if not repo.git.is_valid_branch_name(branch):
                return error(400, f"Branch name is invalid: {branch}")
            if self.host.is_protected(repo, branch):
                return error(403, "You are not allowed to push into this branch")
            current = repo.tip(branch)
            start_sha, start_branch = body.get("start_sha"), body.get("start_branch")
            if start_sha or (start_branch and start_branch != branch):
                if current is not None and not body.get("force"):
                    return error(
                        400,
                        f"Something went wrong when we tried to create '{branch}' for you: "
                        "Branch already exists",
                    )
                start = repo.git.resolve(str(start_sha or start_branch))
                if start is None:
                    return error(400, f"Invalid start: {start_sha or start_branch}")
            else:
                if current is None:
                    return error(400, "You can only create or edit files when you are on a branch")
                start = current
            files: dict[str, Optional[bytes]] = {}
            for action in actions:
                problem = self._check_action(repo, start, action, files)
                if problem is not None:
                    return problem
            new = repo.git.commit_files([start], files, str(body["commit_message"]), author)
            if not repo.git.update_branch(branch, new, None if start_sha or start_branch else current):
                return error(400, f"Could not update {branch}. Please refresh and try again.")
            self.host.sync(repo)
            answer = self.host.commit_json(repo, new)
        answer["stats"] = {"additions": 0, "deletions": 0, "total": 0}
        answer["status"] = None
        answer["project_id"] = self.host.project_id(repo)
        return Response.json(201, answer)

    @staticmethod
    def _check_action(
        repo: HostedRepository, start: str, action: dict[str, Any], files: dict[str, Optional[bytes]]
    ) -> Optional[Response]:
        kind, path = action.get("action"), str(action.get("file_path") or "").strip("/")
        if kind not in ("create", "update", "delete") or not path:
            return Response.json(400, {"error": "actions[0][action] does not have a valid value"})
        exists = repo.git.read_file(start, path) is not None
        if kind == "create" and exists:
            return error(400, "A file with this name already exists")
        if kind in ("update", "delete") and not exists:
            return error(400, "A file with this name doesn't exist")
        last = action.get("last_commit_id")
        if last and kind != "create" and last_change(repo, start, path) != last:
            return error(400, f"The file has changed since you started editing it: {path}")
        if kind == "delete":
            files[path] = None
            return None
        content = str(action.get("content") or "")
        if action.get("encoding") == "base64":
            try:
                files[path] = base64.b64decode(content, validate=True)
            except binascii.Error:
                return Response.json(400, {"error": "content is not valid base64"})
        else:
            files[path] = content.encode("utf-8")
        return None

    # --- files ----------------------------------------------------------------------------------

    def _blob(self, request: Request, repo: HostedRepository, path: str) -> tuple[Optional[str], Any]:
        ref = request.first("ref") or repo.main_branch
        commit = repo.git.resolve(ref)
        if commit is None:
            return None, error(404, "404 Commit Not Found")
        file_path = unquote(path)
        data = repo.git.read_file(commit, file_path)
        if data is None:
            return None, error(404, "404 File Not Found")
        entry = repo.git.entry(commit, file_path)
        assert entry is not None
        info = {
            "file_name": file_path.rsplit("/", 1)[-1],
            "file_path": file_path,
            "size": len(data),
            "encoding": "base64",
            "content_sha256": hashlib.sha256(data).hexdigest(),
            "ref": ref,
            "blob_id": entry.sha,
            "commit_id": commit,
            "last_commit_id": last_change(repo, commit, file_path),
            "execute_filemode": entry.mode == "100755",
        }
        return commit, (info, data)

    def tree(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        """`repository/tree?path=&ref=`: the entries of a directory (one page; `per_page` up to 100);
        404 "Tree Not Found" when `path` is not a directory."""
        commit = repo.git.resolve(request.first("ref") or repo.main_branch)
        if commit is None:
            return error(404, "404 Tree Not Found")
        entries = repo.git.list_directory(commit, request.first("path") or "")
        if not entries:
            return error(404, "404 Tree Not Found")
        per_page = min(max(int(request.first("per_page") or "20"), 1), 100)
        kinds = {"tree": "tree", "commit": "commit"}
        values = [{"id": e.sha, "name": e.path.rsplit("/", 1)[-1], "type": kinds.get(e.type, "blob"),
                   "path": e.path, "mode": e.mode} for e in entries[:per_page]]  # fmt: skip
        return Response.json(200, values)

    def raw_file(self, request: Request, repo: HostedRepository, account: Account, path: str) -> Response:
        commit, found = self._blob(request, repo, path)
        if commit is None:
            return found  # type: ignore[no-any-return]
        info, data = found
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"}
        headers.update({f"X-Gitlab-{_dasherize(k)}": str(v).lower() if isinstance(v, bool) else str(v)
                        for k, v in info.items()})  # fmt: skip
        return Response(200, b"" if request.method == "HEAD" else data, headers)

    def get_file(self, request: Request, repo: HostedRepository, account: Account, path: str) -> Response:
        commit, found = self._blob(request, repo, path)
        if commit is None:
            return found  # type: ignore[no-any-return]
        info, data = found
        return Response.json(200, {**info, "content": base64.b64encode(data).decode("ascii")})

    # --- merge requests -------------------------------------------------------------------------

    def list_merge_requests(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        state = request.first("state") or "all"
        if state not in (*_STATE_FILTERS, "all", "locked"):
            return Response.json(400, {"error": "state does not have a valid value"})
        with repo.lock:
            self.host.sync(repo)
            found = [
                pr
                for pr in sorted(repo.pull_requests.values(), key=lambda pr: -pr.id)
                if (state == "all" or _STATE_FILTERS.get(state) == pr.state)
                and request.first("source_branch") in (None, pr.source)
                and request.first("target_branch") in (None, pr.destination)
            ]
            rendered = [self.host.render_pull_request(repo, pr) for pr in found]
        return _paginate(request, rendered)

    def _reviewers(self, ids: Any) -> Optional[list[Account]]:
        if ids is None:
            return None
        accounts = []
        for value in ids if isinstance(ids, list) else []:
            account = self.host.user_by_id(int(value)) if str(value).isdigit() else None
            if account is not None:  # GitLab drops ids it does not know
                accounts.append(account)
        return accounts

    def create_merge_request(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = _json_body(request)
        if body is None:
            return Response.json(400, {"error": "The request body is not valid JSON"})
        for name in ("source_branch", "target_branch", "title"):
            if not body.get(name):
                return _missing(name)
        source, target = str(body["source_branch"]), str(body["target_branch"])
        if len(str(body["title"])) > _TITLE_MAX:  # a model validation: field -> messages
            return error(400, {"title": [f"is too long (maximum is {_TITLE_MAX} characters)"]})
        with repo.lock:
            self.host.sync(repo)
            existing = next(
                (
                    pr
                    for pr in repo.pull_requests.values()
                    if pr.state == OPEN and pr.source == source and pr.source_repo is None
                ),
                None,
            )
            if existing is not None:
                return error(
                    409, [f"Another open merge request already exists for this source branch: !{existing.id}"]
                )
            try:
                pr, _ = self.host.open_pull_request(
                    repo,
                    title=str(body["title"]),
                    description=str(body.get("description") or ""),
                    source=source,
                    destination=target,
                    author=account,
                    reviewers=self._reviewers(body.get("reviewer_ids")) or [],
                    close_source_branch=bool(body.get("remove_source_branch")),
                    draft=False,
                )
            except PullRequestRefused as refused:
                return _refusal(refused)
            pr.labels = _labels(body.get("labels"))
            pr.draft = is_draft(pr.title)
            return Response.json(201, self.host.render_pull_request(repo, pr))

    def _merge_request(self, repo: HostedRepository, iid: str) -> Optional[PullRequest]:
        return self.host.pull_request(repo, int(iid))

    def get_merge_request(
        self, request: Request, repo: HostedRepository, account: Account, iid: str
    ) -> Response:
        pr = self._merge_request(repo, iid)
        if pr is None:
            return error(404, "404 Not found")
        return Response.json(200, self.host.render_pull_request(repo, pr))

    def update_merge_request(
        self, request: Request, repo: HostedRepository, account: Account, iid: str
    ) -> Response:
        body = _json_body(request)
        if body is None:
            return Response.json(400, {"error": "The request body is not valid JSON"})
        with repo.lock:
            pr = self._merge_request(repo, iid)
            if pr is None:
                return error(404, "404 Not found")
            if "title" in body:
                pr.title = str(body["title"])
                pr.draft = is_draft(pr.title)
            if "description" in body:
                pr.description = str(body["description"] or "")
            if "labels" in body:
                pr.labels = _labels(body["labels"])
            reviewers = self._reviewers(body.get("reviewer_ids"))
            if reviewers is not None:
                pr.reviewers = reviewers
            if "remove_source_branch" in body:
                pr.close_source_branch = bool(body["remove_source_branch"])
            if body.get("state_event") == "close" and pr.state == OPEN:
                self.host.decline(repo, pr, account)  # closing a closed or merged one changes nothing
            pr.version += 1
            return Response.json(200, self.host.render_pull_request(repo, pr))


def _refusal(refused: PullRequestRefused) -> Response:
    messages = {
        PullRequestRefused.SOURCE_MISSING: f'Source branch "{refused.branch}" does not exist',
        PullRequestRefused.DESTINATION_MISSING: f'Target branch "{refused.branch}" does not exist',
        PullRequestRefused.SAME_BRANCH: "You can't use same project/branch for source and target",
        PullRequestRefused.NO_CHANGES: f"{refused.branch} has no commits that are not in the target branch",
    }
    status = 409 if refused.reason == PullRequestRefused.SAME_BRANCH else 422
    return error(status, [messages[refused.reason]])


def _labels(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return list(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def is_draft(title: str) -> bool:
    """GitLab's rule: a merge request is a draft while its title starts like this."""
    return _DRAFT.match(title) is not None


def _dasherize(key: str) -> str:
    return "-".join(part.capitalize() for part in key.split("_"))


def last_change(repo: HostedRepository, commit: str, path: str) -> Optional[str]:
    """The last commit that changed `path` as of `commit` (GitLab's `last_commit_id` of a file)."""
    out = repo.git.run("log", "-1", "--format=%H", commit, "--", path).decode().strip()
    return out or None


def account_person(account: Account) -> Person:
    return Person(account.display_name, account.email or f"{account.nickname}@example.com")
