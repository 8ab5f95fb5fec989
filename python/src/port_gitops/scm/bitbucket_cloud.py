"""Bitbucket Cloud (REST 2.0) behind the `Scm` seam, through atlassian-python-api's `Cloud` client.

Every call goes through the top-level `Cloud` object's own `request` (its auth, URL joining and our
session), with its `backoff_and_retry` and `retry_with_header` off; retries are port_gitops.retry's.
The library's resource objects (`cloud.repositories.get(...)`, `repo.branches`, ...) are deliberately
not used: they are built without our `retry_with_header=False` (so a 429 carrying Retry-After would
sleep inside the library, up to 30 minutes) and each needs a prior GET of the repository.

Request budget (a first enrichment: 6 requests, 5 round trips on its critical path): each method is
one request, except `commit_file` when Cloud's 201 (no body) lacks the new commit's `Location` (one
more to learn the new tip), `update_pr` (GET then PUT: a PUT without the current reviewers would clear
them) and `decline_pr` after a replay (a GET to see that the pull request is closed). `branch_tips`
reads the base's and our branch's tips in one request; the default reviewers are read beside the
first reads (enrich.py). The client is safe to call from two threads: it keeps no per-request
state, and atlassian's `request` and requests' session pool are thread-safe.
"""

from __future__ import annotations

import logging
import posixpath
import re
from typing import Any, ClassVar, Collection, FrozenSet, Optional, Sequence
from urllib.parse import quote

import requests

from port_gitops.endpoint import Endpoint
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
from port_gitops.scm.errors import ScmAuthError, ScmConflict, ScmError, ScmForbidden, ScmPathNotAFile
from port_gitops.scm.libload import without_package_init

log = logging.getLogger("port_gitops")

_MULTIPART_HEADERS = {"Accept": "application/json"}  # non-empty, so the library adds no JSON Content-Type
_COMMIT_LOCATION = re.compile(r"/commit/([0-9a-f]{40})/?$")
_RATE_LIMIT_HINT = " (Bitbucket Cloud allows about 1,000 API requests per hour per user or token)"


def _segment(value: str, field: str) -> str:
    return valid_segment(value, field, safe="{}")  # `{uuid}` names a workspace or user as it is


def _ref(branch: str) -> str:
    # Branch names keep their `/` in refs/branches/{name} (Cloud splits nothing there); escape the rest.
    return quote(valid_branch(branch), safe="/")


def _listing(response: requests.Response) -> bool:
    """Whether an answer of `src` has the shape of a directory listing (a page of commit_file/_directory)."""
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("values"), list) and "pagelen" in body


def _from(pr: Any) -> str:
    # The lower-cased full name of the repository a pull request comes from.
    source = pr.get("source") if isinstance(pr, dict) else None
    repository = source.get("repository") if isinstance(source, dict) else None
    return str(repository.get("full_name") or "").lower() if isinstance(repository, dict) else ""


def _bbql(value: str) -> str:
    """A BBQL string literal's content: backslashes and double quotes escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _href(data: dict[str, Any], name: str) -> Optional[str]:
    link = (data.get("links") or {}).get(name) or {}
    href = link.get("href") if isinstance(link, dict) else None
    return str(href) if href else None


def _account(reviewer: str) -> dict[str, str]:
    # Cloud names accounts by UUID ("{...}") or Atlassian account id; both are accepted as reviewers.
    return {"uuid": reviewer} if reviewer.startswith("{") else {"account_id": reviewer}


def _account_id(user: dict[str, Any]) -> Optional[str]:
    value = user.get("uuid") or user.get("account_id")
    return str(value) if value else None


def _pull_request(data: dict[str, Any]) -> PullRequest:
    reviewers = (_account_id(r) for r in data.get("reviewers") or [])
    return PullRequest(
        id=int(data["id"]),
        url=_href(data, "html") or "",
        title=str(data.get("title") or ""),
        description=str(data.get("description") or (data.get("summary") or {}).get("raw") or ""),
        source=str(data["source"]["branch"]["name"]),
        destination=str(data["destination"]["branch"]["name"]),
        reviewers=tuple(r for r in reviewers if r),
    )


def _error_body(response: requests.Response) -> dict[str, Any]:
    """The `error` of Cloud's `{"type": "error", "error": {"message", "detail", "fields"}}`; {} for text."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


class CloudScm:
    features: ClassVar[FrozenSet[str]] = frozenset({DRAFT})

    def __init__(
        self,
        api_url: str,
        workspace: str,
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
            "CloudScm", session, username=username, token=token, access_token=access_token
        )
        self._credential = credential.name
        without_package_init("atlassian")
        from atlassian.bitbucket.cloud import Cloud  # here: only on this flavour's path

        self._cloud = Cloud(  # type: ignore[no-untyped-call]  # the library's __init__ is unannotated
            url=api_url, session=session, backoff_and_retry=False, retry_with_header=False, **credential.auth
        )
        self._requests = RequestRunner(policy, Endpoint(api_url, url_setting), _RATE_LIMIT_HINT)
        self.full_name = f"{workspace}/{slug}"
        self._repo = f"repositories/{_segment(workspace, 'workspace')}/{_segment(slug, 'slug')}"

    # -- one request, retried by the policy, errors classified --------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool,
        passthrough: Collection[int] = (),
        absolute: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send through the library's `request`; statuses in `passthrough` (e.g. the 404 of an
        "absent" read) come back as answers."""

        def send() -> requests.Response:
            response: requests.Response = self._cloud.request(
                method, path, absolute=absolute, advanced_mode=True, **kwargs
            )
            return response

        return self._requests.run(
            send,
            what=what,
            idempotent=idempotent,
            passthrough=passthrough,
            refused=lambda response: self._refused(response, what),
        )

    def _refused(self, response: requests.Response, what: str) -> ScmError:
        status = response.status_code
        error = _error_body(response)
        text = str(error.get("message") or response.reason or "").strip()
        fields = error.get("fields")
        if isinstance(fields, dict) and fields:
            text += " (" + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in fields.items()) + ")"
        prefix = f"Bitbucket: {what}: HTTP {status}"
        if status == 401:
            return ScmAuthError(
                f"{prefix}: Bitbucket rejected {self._credential}: {text}. On Cloud use an API token with "
                "your Atlassian account e-mail as BITBUCKET_USERNAME, or a repository/project/workspace "
                "access token as BITBUCKET_ACCESS_TOKEN",
                status=status,
            )
        if status == 403:
            detail = error.get("detail")
            if isinstance(detail, dict) and ("required" in detail or "granted" in detail):
                required = ", ".join(map(str, detail.get("required") or [])) or "?"
                granted = ", ".join(map(str, detail.get("granted") or [])) or "none"
                text += f"; {self._credential} needs scopes {required} (granted: {granted})"
            elif detail:
                text += f"; {detail}"
            return ScmForbidden(f"{prefix}: {text}", status=status)
        return error_for_status(status, f"{prefix}: {text}")

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        body = json_of(response, what)
        if not isinstance(body, dict):
            raise ScmError(f"Bitbucket: {what}: unexpected answer")
        return body

    # -- reads -----------------------------------------------------------------------------------
    def repository(self) -> RepoInfo:
        what = f"read repository {self.full_name}"
        data = self._json(self._call("GET", self._repo, what=what, idempotent=True), what)
        mainbranch = data.get("mainbranch") or {}  # null or missing on an empty repository
        return RepoInfo(
            full_name=str(data.get("full_name") or self.full_name),
            default_branch=mainbranch.get("name") or None,
            web_url=_href(data, "html"),
        )

    def branch_tip(self, branch: str) -> Optional[str]:
        what = f"read branch {branch}"
        response = self._call(
            "GET",
            f"{self._repo}/refs/branches/{_ref(branch)}",
            what=what,
            idempotent=True,
            passthrough=(404,),
        )
        if response.status_code == 404:
            return None
        return str(self._json(response, what)["target"]["hash"])

    def branch_tips(self, branches: Sequence[str]) -> dict[str, Optional[str]]:
        what = "read branches " + ", ".join(branches)
        query = " OR ".join(f'name="{_bbql(branch)}"' for branch in branches)
        response = self._call(
            "GET",
            f"{self._repo}/refs/branches",
            what=what,
            idempotent=True,
            params={"q": query, "pagelen": str(max(10, len(branches)))},
        )
        found = {v["name"]: str(v["target"]["hash"]) for v in self._json(response, what).get("values") or []}
        return {branch: found.get(branch) for branch in branches}

    def commit_parents(self, commit: str) -> list[str]:
        what = f"read commit {commit[:12]}"
        response = self._call("GET", f"{self._repo}/commit/{valid_sha(commit)}", what=what, idempotent=True)
        return [str(p["hash"]) for p in self._json(response, what).get("parents") or []]

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        response = self._call(
            "GET",
            f"{self._repo}/src/{valid_sha(commit)}/{quote(valid_file_path(path))}",
            what=f"read {path} at {commit[:12]}",
            idempotent=True,
            passthrough=(404,),
        )
        if response.status_code == 404:
            # Nothing there; but a path under a file (README/port.yml) would replace that file.
            refuse_a_file_parent(
                path, commit, lambda parent: kind_is(self._kind(commit, parent), "commit_file")
            )
            return None
        # `src` answers a directory with its (JSON) listing: never take that for the file's content.
        if _listing(response) and self._kind(commit, path) != "commit_file":
            raise ScmPathNotAFile(path, commit)
        return response.content

    def _kind(self, commit: str, path: str) -> Optional[str]:
        """`commit_file` or `commit_directory` (Cloud's `type` in `?format=meta`); None when absent."""
        what = f"read what {path} is at {commit[:12]}"
        response = self._call(
            "GET",
            f"{self._repo}/src/{valid_sha(commit)}/{quote(valid_file_path(path))}",
            what=what,
            idempotent=True,
            passthrough=(404,),
            params={"format": "meta"},
        )
        return None if response.status_code == 404 else str(self._json(response, what).get("type"))

    def find_open_pr(self, branch: str) -> Optional[PullRequest]:
        what = f"find the open pull request from {branch}"
        response = self._call(
            "GET",
            f"{self._repo}/pullrequests",
            what=what,
            idempotent=True,
            params={"q": f'source.branch.name="{_bbql(branch)}" AND state="OPEN"'},
        )
        # Only ours: a fork's pull request may use the same branch name (compared without case, as the
        # workspace in a payload's URL may be spelled differently from Bitbucket's full_name).
        ours = [
            pr for pr in self._json(response, what).get("values") or [] if _from(pr) == self.full_name.lower()
        ]
        return _pull_request(ours[0]) if ours else None

    def default_reviewers(self) -> list[str]:
        """The repository's and its project's default reviewers (Cloud does not add them to API-made PRs)."""
        what = "read the default reviewers"
        path, params, absolute = f"{self._repo}/effective-default-reviewers", {"pagelen": "100"}, False
        found: list[str] = []
        while True:
            page = self._json(
                self._call("GET", path, what=what, idempotent=True, params=params, absolute=absolute), what
            )
            for entry in page.get("values") or []:
                account = _account_id(entry.get("user") or {})
                if account and account not in found:
                    found.append(account)
            if not page.get("next"):
                return found
            path, params, absolute = str(page["next"]), {}, True

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
        # `parents` makes Cloud check that `parent` is still the branch tip (409 otherwise), and
        # creates the branch on `parent` when it does not exist yet: `create_from` is not needed.
        del create_from
        fields = {"message": message, "branch": branch, "parents": valid_sha(parent)}
        if author:
            fields["author"] = author
        file_path = valid_file_path(path)
        response = self._call(
            "POST",
            f"{self._repo}/src",
            what=f"commit {path} on {branch}",
            idempotent=True,
            data=fields,  # plain form fields: no filename, so Cloud reads them as metadata
            files={file_path: (posixpath.basename(file_path), content, "application/octet-stream")},
            headers=_MULTIPART_HEADERS,
        )
        # The 201 has no body, but its Location names the new commit (…/commit/<sha>); without it,
        # ask the branch (one more round trip).
        location = _COMMIT_LOCATION.search(response.headers.get("Location") or "")
        if location is not None:
            return location.group(1)
        tip = self.branch_tip(branch)
        if tip is None:
            raise ScmError(f"Bitbucket: commit {path} on {branch}: the branch is gone right after the commit")
        return tip

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
        what = f"open a pull request {branch} -> {base}"
        body: dict[str, Any] = {
            "title": title,
            "description": description,
            "source": {"branch": {"name": branch}},
            "destination": {"branch": {"name": base}},
            "close_source_branch": True,
            "reviewers": [_account(r) for r in reviewers],
        }
        if draft:
            body["draft"] = True
        # A replay is safe: Cloud answers a second create for the same source with the open PR.
        response = self._call(
            "POST", f"{self._repo}/pullrequests", what=what, idempotent=True, data=body, passthrough=(400,)
        )
        if response.status_code == 400:
            fields = _error_body(response).get("fields") or {}
            if not (reviewers and isinstance(fields, dict) and "reviewers" in fields):
                raise self._refused(response, what)
            # e.g. the bot itself is a default reviewer ("... is the author and cannot be included"):
            # a pull request without reviewers beats no pull request.
            log.warning(
                "%s: Bitbucket refused the reviewers (%s); opening it without them",
                what,
                " ".join(map(str, fields["reviewers"])),
            )
            body["reviewers"] = []
            response = self._call("POST", f"{self._repo}/pullrequests", what=what, idempotent=True, data=body)
        return _pull_request(self._json(response, what))

    def update_pr(self, pr: PullRequest, *, title: str, description: str) -> PullRequest:
        what = f"update pull request #{pr.id}"
        path = f"{self._repo}/pullrequests/{pr.id}"
        current = self._json(self._call("GET", path, what=what, idempotent=True), what)
        if current.get("state") != "OPEN":
            raise ScmConflict(f"Bitbucket: {what}: it is {current.get('state')} now", status=None)
        reviewers = (_account_id(r) for r in current.get("reviewers") or [])
        body = {
            "title": title,
            "description": description,
            # A PUT resets what it omits: resend the reviewers (and keep the destination).
            "reviewers": [_account(r) for r in reviewers if r],
            "destination": {"branch": {"name": current["destination"]["branch"]["name"]}},
        }
        return _pull_request(self._json(self._call("PUT", path, what=what, idempotent=True, data=body), what))

    def decline_pr(self, pr: PullRequest) -> None:
        what = f"decline pull request #{pr.id}"
        path = f"{self._repo}/pullrequests/{pr.id}"
        response = self._call("POST", f"{path}/decline", what=what, idempotent=True, passthrough=(400,))
        if response.status_code == 400:
            # Only open pull requests can be declined: after a replay (or someone else's merge or
            # decline) it is no longer open, which is all we wanted.
            current = self._json(self._call("GET", path, what=what, idempotent=True), what)
            if current.get("state") == "OPEN":
                raise self._refused(response, what)

    def delete_branch(self, branch: str) -> None:
        self._call(
            "DELETE",
            f"{self._repo}/refs/branches/{_ref(branch)}",
            what=f"delete branch {branch}",
            idempotent=True,
            passthrough=(404,),
        )
