"""GitLab (REST v4; gitlab.com or self-managed, also under a relative URL root) behind the `Scm` seam.

python-gitlab does what it is good at: the API root (`{GITLAB_URL}/api/v4`), the `PRIVATE-TOKEN`
credential, JSON bodies and query strings, the refusal to follow a redirected POST/PUT, and the
`group%2Fsub%2Fproject` encoding of a project path (`EncodedId`), all on our session. Its object layer
(`gl.projects.get(...).mergerequests...`) is not used: its errors keep the status and body but drop the
response headers (Retry-After, RateLimit-Reset) our retry policy needs, and every manager call would
retry on its own by default. So each call is one `Gitlab.http_request` with python-gitlab's retries off
(`obey_rate_limit=False`, `retry_transient_errors=False`, `max_retries=0`), through a backend that hands
an error response back to `RequestRunner` (retries: port_gitops.retry; classification: `_refused`).

No clone, one commit touching port.yml only: the Commits API with one create/update action, the
branch created in the same call (`start_sha`), and the action's `last_commit_id` (the last commit that
changed the file, as the Files API told us when we read it at the tip) as the optimistic lock: a file
that moved since answers 400, which is a ScmConflict, so the use case re-reads and decides again.

Request budget: one request per method (`branch_tips` too: one branch list filtered by `regex`), except
`create_pr` (one more per `--reviewer`, all at once, to resolve a username to its id;
one more per call when GitLab answers 409 "Another open merge request already exists": the open one is
looked up and taken over) and `commit_file` on a tip we have not read. A first run: project, branch
tips, port.yml, commit, merge request = 5; an unchanged re-run: project, branch tips, port.yml, merge
requests, port.yml on the branch = 5 (GitLab Free has no default-reviewer API: `default_reviewers`
asks nothing).
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from typing import Any, ClassVar, Collection, FrozenSet, Optional, Sequence
from urllib.parse import quote

import requests
from gitlab import Gitlab
from gitlab._backends.requests_backend import RequestsBackend, RequestsResponse
from gitlab.utils import EncodedId

from port_gitops.endpoint import Endpoint
from port_gitops.logsetup import register_secrets
from port_gitops.parallel import all_of
from port_gitops.retry import RetryPolicy
from port_gitops.scm.base import DRAFT, LABELS, PullRequest, RepoInfo
from port_gitops.scm.common import (
    RequestRunner,
    error_for_status,
    json_of,
    refuse_a_file_parent,
    valid_branch,
    valid_file_path,
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

log = logging.getLogger("port_gitops")

PRODUCT = "GitLab"
_RATE_LIMIT_HINT = " (GitLab rate-limits API requests per user and per IP; see its RateLimit-* headers)"
_DRAFT_PREFIX = "Draft: "
# A Commits API 400 that means "someone moved it under us": re-read and decide again.
_CONFLICTS = re.compile(
    # "... only create or edit files when you are on a branch": the branch was deleted under us.
    r"already exists|has changed since|doesn't exist|does not exist|not the tip|been updated|on a branch",
    re.IGNORECASE,
)
_PROTECTED = re.compile(r"not allowed to (push|create|delete)|protected branch", re.IGNORECASE)
_AUTHOR = re.compile(r"^(?P<name>[^<>\n]+) <(?P<email>[^<>\s]+)>$")


class _ErrorsAsResponses(RequestsBackend):
    """python-gitlab's requests backend, except that an error status leaves python-gitlab at once as
    `requests.HTTPError` carrying the whole response (python-gitlab's own exceptions drop its headers)."""

    def http_request(self, *args: Any, **kwargs: Any) -> RequestsResponse:
        result = super().http_request(*args, **kwargs)
        if result.status_code >= 400:
            raise requests.HTTPError(f"HTTP {result.status_code}", response=result.response)
        return result


def _segment(value: str) -> str:
    """A name inside one path segment (a branch, a file path): every `/` escaped, as GitLab wants."""
    return quote(value, safe="")


def flatten_message(message: Any) -> str:
    """GitLab's `message` is a string, a list of strings, or an object of field -> list of strings."""
    if isinstance(message, dict):
        return "; ".join(
            f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in message.items()
        )
    if isinstance(message, list):
        return "; ".join(map(str, message))
    return str(message or "")


def _merge_request(data: dict[str, Any]) -> PullRequest:
    return PullRequest(
        id=int(data["iid"]),  # the project's MR number (!iid), as pages and the API address it
        url=str(data.get("web_url") or ""),
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        source=str(data["source_branch"]),
        destination=str(data["target_branch"]),
        reviewers=tuple(str(r["username"]) for r in data.get("reviewers") or [] if r.get("username")),
    )


class GitLabScm:
    features: ClassVar[FrozenSet[str]] = frozenset({DRAFT, LABELS})

    def __init__(
        self,
        url: str,
        namespace: str,
        project: str,
        *,
        token: str,
        session: requests.Session,
        policy: RetryPolicy,
        url_setting: Optional[str] = None,  # the setting that names the URL, for connection failures
    ) -> None:
        register_secrets([token])
        if session.auth is not None or "PRIVATE-TOKEN" in session.headers:
            raise ValueError("GitLabScm needs a session without credentials of its own")
        self._gl = Gitlab(
            url,
            private_token=token,
            session=session,
            backend=_ErrorsAsResponses,
            ssl_verify=session.verify if session.verify is not None else True,
            user_agent=str(session.headers.get("User-Agent") or "port-gitops"),
            retry_transient_errors=False,
        )
        self._requests = RequestRunner(policy, Endpoint(url, url_setting), _RATE_LIMIT_HINT, PRODUCT)
        self.full_name = f"{namespace}/{project}"
        self._project = f"/projects/{EncodedId(self.full_name)}"
        # (commit, path) -> the last commit that changed the file as of `commit` (the Commits API's lock)
        self._last_change: dict[tuple[str, str], Optional[str]] = {}

    # -- one request, retried by the policy, errors classified --------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool,
        passthrough: Collection[int] = (),
        query: Optional[dict[str, Any]] = None,
        body: Optional[dict[str, Any]] = None,
    ) -> requests.Response:
        def send() -> requests.Response:
            try:
                return self._gl.http_request(
                    method.lower(),
                    path,
                    query_data=query,
                    post_data=body,
                    obey_rate_limit=False,
                    retry_transient_errors=False,
                    max_retries=0,
                )
            except requests.HTTPError as exc:
                assert exc.response is not None
                return exc.response

        return self._requests.run(
            send,
            what=what,
            idempotent=idempotent,
            passthrough=passthrough,
            refused=lambda response: self._refused(response, what),
        )

    def _refused(self, response: requests.Response, what: str) -> ScmError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        text = flatten_message(body.get("message")) or str(body.get("error") or "") or response.reason or ""
        prefix = f"{PRODUCT}: {what}: HTTP {status}"
        if status == 401:
            return ScmAuthError(
                f"{prefix}: GitLab rejected GITLAB_TOKEN ({text}); use a project, group or personal "
                "access token with the api scope that has not expired",
                status=status,
            )
        if status == 403 and body.get("error") == "insufficient_scope":
            scope = str(body.get("scope") or "api")
            return ScmForbidden(
                f"{prefix}: GITLAB_TOKEN lacks the {scope} scope ({body.get('error_description') or text})",
                status=status,
            )
        if status in (400, 403) and _PROTECTED.search(text):
            return ScmForbidden(
                f"{prefix}: the branch is protected: {text}; allow the token's user to push to it, or "
                "use --branch for an unprotected one",
                status=status,
            )
        if status == 400 and _CONFLICTS.search(text):
            return ScmConflict(f"{prefix}: {text}", status=status)
        if status == 403:
            return ScmForbidden(f"{prefix}: {text}; GITLAB_TOKEN's user lacks the permission", status=status)
        if status == 404:
            return ScmNotFound(
                f"{prefix}: {text}: {self.full_name} (or what was asked for in it) was not found, or "
                "GITLAB_TOKEN has no access to it",
                status=status,
            )
        return error_for_status(status, f"{prefix}: {text}")

    def _json(self, response: requests.Response, what: str) -> Any:
        return json_of(response, what, PRODUCT)

    def _object(self, response: requests.Response, what: str) -> dict[str, Any]:
        body = self._json(response, what)
        if not isinstance(body, dict):
            raise ScmError(f"{PRODUCT}: {what}: unexpected answer")
        return body

    # -- reads -----------------------------------------------------------------------------------
    def repository(self) -> RepoInfo:
        what = f"read project {self.full_name}"
        data = self._object(self._call("GET", self._project, what=what, idempotent=True), what)
        return RepoInfo(
            full_name=str(data.get("path_with_namespace") or self.full_name),
            default_branch=data.get("default_branch") or None,  # null on an empty project
            web_url=data.get("web_url") or None,
        )

    def branch_tip(self, branch: str) -> Optional[str]:
        what = f"read branch {branch}"
        response = self._call(
            "GET",
            f"{self._project}/repository/branches/{_segment(valid_branch(branch))}",
            what=what,
            idempotent=True,
            passthrough=(404,),
        )
        if response.status_code == 404:
            return None
        return str(self._object(response, what)["commit"]["id"])

    def branch_tips(self, branches: Sequence[str]) -> dict[str, Optional[str]]:
        """One request: the branch list filtered by an anchored `regex` (RE2) of exactly these names."""
        what = "read branches " + ", ".join(branches)
        pattern = "^(?:" + "|".join(re.escape(valid_branch(b)) for b in branches) + ")$"
        response = self._call(
            "GET",
            f"{self._project}/repository/branches",
            what=what,
            idempotent=True,
            query={"regex": pattern, "per_page": 100},
        )
        listed = self._json(response, what)
        found = {
            str(b["name"]): str(b["commit"]["id"]) for b in listed if isinstance(listed, list) and "name" in b
        }
        if set(found) - set(branches) or response.headers.get("X-Next-Page"):
            # A GitLab older than the `regex` filter lists every branch: ask for each one instead.
            return {branch: self.branch_tip(branch) for branch in branches}
        return {branch: found.get(branch) for branch in branches}

    def commit_parents(self, commit: str) -> list[str]:
        what = f"read commit {commit[:12]}"
        response = self._call(
            "GET", f"{self._project}/repository/commits/{valid_sha(commit)}", what=what, idempotent=True
        )
        return [str(p) for p in self._object(response, what).get("parent_ids") or []]

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        file_path = valid_file_path(path)
        response = self._call(
            "GET",
            f"{self._project}/repository/files/{_segment(file_path)}/raw",
            what=f"read {path} at {commit[:12]}",
            idempotent=True,
            passthrough=(404,),
            query={"ref": valid_sha(commit)},
        )
        if response.status_code == 404:
            self._last_change[(commit, file_path)] = None
            # `raw` answers 404 for a directory too, and a path under a file (README/port.yml) would
            # replace that file: ask what the path and its nearest existing parent are.
            if self._is_directory(commit, file_path):
                raise ScmPathNotAFile(path, commit)
            refuse_a_file_parent(path, commit, lambda parent: self._is_file_at(commit, parent))
            return None
        # "" when a proxy dropped GitLab's X-Gitlab-* headers: `commit_file` then asks the file's metadata.
        self._last_change[(commit, file_path)] = response.headers.get("X-Gitlab-Last-Commit-Id", "")
        return response.content

    def _is_file_at(self, commit: str, path: str) -> Optional[bool]:
        """True a file, False a directory, None nothing there (a directory is asked first)."""
        if self._is_directory(commit, path):
            return False
        return True if self._is_file(commit, path) else None

    def _is_directory(self, commit: str, path: str) -> bool:
        response = self._call(
            "GET",
            f"{self._project}/repository/tree",
            what=f"read what {path} is at {commit[:12]}",
            idempotent=True,
            passthrough=(404,),
            query={"path": path, "ref": valid_sha(commit), "per_page": 1},
        )
        return response.status_code != 404

    def _is_file(self, commit: str, path: str) -> bool:
        response = self._call(
            "HEAD",
            f"{self._project}/repository/files/{_segment(path)}/raw",
            what=f"read what {path} is at {commit[:12]}",
            idempotent=True,
            passthrough=(404,),
            query={"ref": valid_sha(commit)},
        )
        return response.status_code != 404

    def _file_last_change(self, commit: str, file_path: str) -> Optional[str]:
        what = f"read {file_path} at {commit[:12]}"
        response = self._call(
            "GET",
            f"{self._project}/repository/files/{_segment(file_path)}",
            what=what,
            idempotent=True,
            passthrough=(404,),
            query={"ref": commit},
        )
        if response.status_code == 404:
            return None
        return str(self._object(response, what).get("last_commit_id") or "") or None

    def find_open_pr(self, branch: str) -> Optional[PullRequest]:
        what = f"find the open merge request from {branch}"
        response = self._call(
            "GET",
            f"{self._project}/merge_requests",
            what=what,
            idempotent=True,
            query={"state": "opened", "source_branch": valid_branch(branch), "per_page": 20},
        )
        found = self._json(response, what)
        for data in found if isinstance(found, list) else []:
            # Only our own: a fork's merge request from a branch of the same name is someone else's.
            if data.get("source_branch") == branch and data.get("source_project_id") == data.get(
                "target_project_id"
            ):
                return _merge_request(data)
        return None

    def default_reviewers(self) -> list[str]:
        """None: GitLab Free has no default reviewers, and Premium's approval rules already apply to
        every merge request by themselves (adding their approvers as reviewers would add nothing)."""
        return []

    def _user_ids(self, usernames: Sequence[str]) -> list[int]:
        """`--reviewer` takes GitLab usernames; the API wants user ids (looked up all at once, in order).
        Unknown ones are warned about."""
        found = all_of([functools.partial(self._user_id, username) for username in usernames])
        return [user_id for user_id in found if user_id is not None]

    def _user_id(self, username: str) -> Optional[int]:
        name = username.lstrip("@")
        what = f"look up reviewer {name}"
        users = self._json(
            self._call("GET", "/users", what=what, idempotent=True, query={"username": name}), what
        )
        if isinstance(users, list) and users and isinstance(users[0], dict) and "id" in users[0]:
            return int(users[0]["id"])
        log.warning("%s: no such GitLab user; the merge request is opened without them", what)
        return None

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
        file_path = valid_file_path(path)
        if (valid_sha(parent), file_path) not in self._last_change:
            self.read_file(parent, file_path)  # learns whether the file exists and its last change
        last_change = self._last_change[(parent, file_path)]
        if last_change == "":
            last_change = self._file_last_change(parent, file_path)
        action: dict[str, Any] = {
            "action": "create" if last_change is None else "update",
            "file_path": file_path,
            "content": base64.b64encode(content).decode("ascii"),
            "encoding": "base64",
        }
        if last_change is not None:
            action["last_commit_id"] = last_change  # the lock: a file changed since answers 400
        body: dict[str, Any] = {
            "branch": valid_branch(branch),
            "commit_message": message,
            "actions": [action],
        }
        if create_from is not None:
            body["start_sha"] = parent  # a branch that exists already answers 400: a conflict
        match = _AUTHOR.match(author or "")
        if match:
            body["author_name"], body["author_email"] = match["name"], match["email"]
        what = f"commit {path} on {branch}"
        # A replay is safe: the branch then exists, or the file has changed since last_commit_id.
        response = self._call(
            "POST", f"{self._project}/repository/commits", what=what, idempotent=True, body=body
        )
        return str(self._object(response, what)["id"])

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
        del team_reviewers  # not in `features`: GitLab reviewers are users
        what = f"open a merge request {branch} -> {base}"
        body: dict[str, Any] = {
            "source_branch": valid_branch(branch),
            "target_branch": valid_branch(base),
            "title": _DRAFT_PREFIX + title if draft else title,
            "description": description,
            "remove_source_branch": True,
        }
        reviewer_ids = self._user_ids(reviewers)
        if reviewer_ids:
            body["reviewer_ids"] = reviewer_ids
        if labels:
            body["labels"] = ",".join(labels)
        response = self._call(
            "POST",
            f"{self._project}/merge_requests",
            what=what,
            idempotent=True,  # a replay answers 409 "already exists", which is taken over below
            passthrough=(409,),
            body=body,
        )
        if response.status_code == 409:
            # "Another open merge request already exists for this source branch": a concurrent run
            # (or our own replayed request) opened it; carry on with that one, never a second.
            existing = self.find_open_pr(branch)
            if existing is None:
                raise self._refused(response, what)
            log.info("%s: merge request !%d is open already; taking it over", what, existing.id)
            return existing
        return _merge_request(self._object(response, what))

    def update_pr(self, pr: PullRequest, *, title: str, description: str) -> PullRequest:
        what = f"update merge request !{pr.id}"
        if pr.title.startswith(_DRAFT_PREFIX) and not title.startswith(_DRAFT_PREFIX):
            title = _DRAFT_PREFIX + title  # a draft stays a draft until someone marks it ready
        # A PUT changes only what it names: reviewers, labels and the target branch are kept.
        response = self._call(
            "PUT",
            f"{self._project}/merge_requests/{pr.id}",
            what=what,
            idempotent=True,
            body={"title": title, "description": description},
        )
        data = self._object(response, what)
        if data.get("state") != "opened":
            raise ScmConflict(f"{PRODUCT}: {what}: it is {data.get('state')} now", status=None)
        return _merge_request(data)

    def decline_pr(self, pr: PullRequest) -> None:
        # Closing a merge request that is closed or merged already changes nothing, which is all we want.
        self._call(
            "PUT",
            f"{self._project}/merge_requests/{pr.id}",
            what=f"close merge request !{pr.id}",
            idempotent=True,
            body={"state_event": "close"},
        )

    def delete_branch(self, branch: str) -> None:
        self._call(
            "DELETE",
            f"{self._project}/repository/branches/{_segment(valid_branch(branch))}",
            what=f"delete branch {branch}",
            idempotent=True,
            passthrough=(404,),
        )
