"""Bitbucket Data Center / Server (REST 1.0), the subset port-gitops uses, with the real server's
shapes and rules. This module holds the sandbox, its JSON shapes and the one host it serves;
`bitbucket_datacenter_api` the REST endpoints, `bitbucket_datacenter_web` the pages and git.

As a real server, one host (under an optional context path such as /bitbucket) serves everything:
`{url}/rest/api/1.0/...` (`latest` is the same API), `/rest/branch-utils/1.0/...`,
`/rest/default-reviewers/1.0/...`, the pages `{url}/projects/KEY/repos/slug/...` that
`links.self[0].href` point to, and git at `{url}/scm/key/slug.git`.

Fidelity notes (see ../shared/notes/bitbucket-api.md §B): errors are `{"errors": [{"context",
"message", "exceptionName"}]}`, some with extra members (`existingPullRequest`, `currentVersion`,
`reviewerErrors`); 502/503/504 are a proxy's HTML; pull requests carry a `version` that every change
bumps and that updates and declines must quote; timestamps are epoch milliseconds; links are lists.
Credentials: Basic user + personal token, the same personal token as Bearer (both: the bot user),
and a project/repository access token as Bearer (`access_token`: no user behind it, so it may not
commit). Where the notes mark the real text UNCONFIRMED (most exception names and messages), the
sandbox picks plausible text: clients must classify by status, never by message.
"""

from __future__ import annotations

import secrets
import ssl
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import unquote

from port_gitops.sandbox.bitbucket_datacenter_api import DataCenterApi, status_answer
from port_gitops.sandbox.bitbucket_datacenter_web import DataCenterWeb
from port_gitops.sandbox.codehost import (
    Account,
    CodeHost,
    HostedRepository,
    PullRequest,
    basic_credentials,
    now_iso,
    same_secret,
)
from port_gitops.sandbox.server import App, LoopbackServer, Request, Response


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def numeric_id(uuid: str) -> int:
    """Data Center numbers users, projects and repositories; the sandbox derives them from uuids."""
    return int(uuid.strip("{}").replace("-", "")[:6], 16) + 1


class BitbucketDataCenterSandbox(CodeHost):
    """Bitbucket Data Center on loopback: `url` is the server's base URL (context path included),
    and the base of every API, page and git URL; `web_url` is the same host."""

    username = "port-bot"

    def client_env(self, owner: str) -> dict[str, str]:
        # The web URL defaults to the server URL, and the owner is a project key.
        return {
            "BITBUCKET_URL": self.url,
            "BITBUCKET_PROJECT": owner.upper(),
            "BITBUCKET_USERNAME": self.username,
            "BITBUCKET_TOKEN": self.token,
        }

    def clone_url(self, workspace: str, slug: str) -> str:
        return self.clone_href(self._require(workspace, slug))

    def __init__(self, root: Path, *, context_path: str = "/bitbucket") -> None:
        super().__init__(root)
        self.context_path = "/" + context_path.strip("/") if context_path.strip("/") else ""
        self.token = secrets.token_urlsafe(33)  # the bot's personal HTTP access token

    # --- one host for everything ------------------------------------------------------------------

    def api_app(self) -> App:
        return _DataCenterHost(self)

    def start(self, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self._api = LoopbackServer(
            self.api_app(), faults=self.faults, recorder=self.recorder, ssl_context=ssl_context
        )

    @property
    def url(self) -> str:
        return super().url + self.context_path

    @property
    def web_url(self) -> str:
        return self.url

    def authenticate(self, request: Request) -> Optional[Account]:
        """Basic user + personal token, or Bearer with the personal token: the bot. Bearer with the
        project access token (or Basic `x-token-auth` + it, for git): an actor with no user behind it."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
            if same_secret(token, self.token):
                return self.bot
            return self.token_actor if same_secret(token, self.access_token) else None
        user, password = basic_credentials(request) or ("", "")
        if user == self.username and same_secret(password, self.token):
            return self.bot
        if user == "x-token-auth" and same_secret(password, self.access_token):
            return self.token_actor
        return None

    # --- lookups ------------------------------------------------------------------------------------

    def user_named(self, name: str) -> Optional[Account]:
        """A user by login name (the sandbox's names are the accounts' nicknames)."""
        with self._lock:
            return next((a for a in self._accounts.values() if a.nickname == name), None)

    def has_project(self, key: str) -> bool:
        with self._lock:
            return any(project == key.lower() for project, _ in self._repositories)

    def edit_pull_request(
        self,
        project: str,
        slug: str,
        pr_id: int,
        *,
        title: Optional[str] = None,
        reviewers: Optional[Sequence[Account]] = None,
    ) -> PullRequest:
        """Someone else edits an open pull request in the web UI: its `version` moves on."""
        repo = self._require(project, slug)
        with repo.lock:
            pr = self.pull_request(repo, pr_id)
            if pr is None or pr.state != "OPEN":
                raise ValueError(f"no open pull request #{pr_id} in {project}/{slug}")
            pr.title = pr.title if title is None else title
            pr.reviewers = pr.reviewers if reviewers is None else list(reviewers)
            pr.version += 1
            pr.updated_on = now_iso()
            return pr

    # --- JSON shapes ------------------------------------------------------------------------------

    @staticmethod
    def project_key(repo: HostedRepository) -> str:
        return repo.workspace.upper()

    @staticmethod
    def repository_id(repo: HostedRepository) -> int:
        return numeric_id(repo.uuid)

    def web_href(self, repo: HostedRepository, tail: str = "") -> str:
        return f"{self.url}/projects/{self.project_key(repo)}/repos/{repo.slug}{tail}"

    def clone_href(self, repo: HostedRepository) -> str:
        return f"{self.url}/scm/{repo.workspace}/{repo.slug}.git"

    def user_json(self, account: Account) -> dict[str, Any]:
        return {
            "name": account.nickname,
            "emailAddress": account.email,
            "active": True,
            "displayName": account.display_name,
            "id": numeric_id(account.uuid),
            "slug": account.nickname,
            # An access token acts as a service user (no person, no e-mail).
            "type": "SERVICE" if account is self.token_actor else "NORMAL",
            "links": {"self": [{"href": f"{self.url}/users/{account.nickname}"}]},
        }

    def project_json(self, repo: HostedRepository) -> dict[str, Any]:
        key = self.project_key(repo)
        return {
            "key": key,
            "id": numeric_id(key.encode().hex()),
            "name": key,
            "public": False,
            "type": "NORMAL",
            "links": {"self": [{"href": f"{self.url}/projects/{key}"}]},
        }

    def repository_json(self, repo: HostedRepository) -> dict[str, Any]:
        return {
            "slug": repo.slug,
            "id": self.repository_id(repo),
            "name": repo.slug,
            "hierarchyId": repo.uuid.strip("{}").replace("-", "")[:20],
            "scmId": "git",
            "state": "AVAILABLE",
            "statusMessage": "Available",
            "forkable": True,
            "project": self.project_json(repo),
            "public": False,
            "archived": False,
            "links": {
                "clone": [{"href": self.clone_href(repo), "name": "http"}],
                "self": [{"href": self.web_href(repo, "/browse")}],
            },
        }

    def commit_json(self, repo: HostedRepository, sha: str) -> dict[str, Any]:
        info = repo.git.commit_info(sha)
        person = {"name": info.author.name, "emailAddress": info.author.email}
        return {
            "id": info.hash,
            "displayId": info.hash[:11],
            "author": person,
            "authorTimestamp": epoch_ms(info.date),
            "committer": person,
            "committerTimestamp": epoch_ms(info.date),
            "message": info.message,
            "parents": [{"id": parent, "displayId": parent[:11]} for parent in info.parents],
        }

    def branch_json(self, repo: HostedRepository, name: str, sha: str) -> dict[str, Any]:
        return {
            "id": f"refs/heads/{name}",
            "displayId": name,
            "type": "BRANCH",
            "latestCommit": sha,
            "latestChangeset": sha,
            "isDefault": name == repo.main_branch,
        }

    def _ref(self, repo: HostedRepository, branch: str, commit: Optional[str]) -> dict[str, Any]:
        return {
            "id": f"refs/heads/{branch}",
            "displayId": branch,
            "latestCommit": commit,
            "type": "BRANCH",
            "repository": self.repository_json(repo),
        }

    def _participant(self, account: Account, role: str) -> dict[str, Any]:
        return {"user": self.user_json(account), "role": role, "approved": False, "status": "UNAPPROVED"}

    def render_pull_request(self, repo: HostedRepository, pr: PullRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": pr.id,
            "version": pr.version,
            "title": pr.title,
            "state": pr.state,
            "open": pr.state == "OPEN",
            "closed": pr.state != "OPEN",
            "draft": pr.draft,
            "createdDate": epoch_ms(pr.created_on),
            "updatedDate": epoch_ms(pr.updated_on),
            "fromRef": self._ref(pr.source_repo or repo, pr.source, pr.source_commit),
            "toRef": self._ref(repo, pr.destination, pr.destination_commit),
            "locked": False,
            "author": self._participant(pr.author, "AUTHOR"),
            "reviewers": [self._participant(account, "REVIEWER") for account in pr.reviewers],
            "participants": [],
            "links": {"self": [{"href": self.web_href(repo, f"/pull-requests/{pr.id}")}]},
        }
        if pr.description:  # Data Center leaves an empty description out
            body["description"] = pr.description
        if pr.state != "OPEN":
            body["closedDate"] = epoch_ms(pr.updated_on)
        return body


class _DataCenterHost:
    """The server's one host: REST under `{context}/rest/`, pages and git under the rest of it."""

    def __init__(self, host: BitbucketDataCenterSandbox) -> None:
        self.host = host
        self.api = DataCenterApi(host)
        self.web = DataCenterWeb(host)

    def error_response(self, status: int) -> Response:
        return status_answer(status)

    def handle(self, request: Request) -> Response:
        context = self.host.context_path
        path = unquote(request.path)
        if context and not (path == context or path.startswith(context + "/")):
            return Response.text(404, "Not Found")
        path = path[len(context) :]
        if path.startswith("/rest/"):
            return self.api.handle(request, path[len("/rest/") :])
        return self.web.serve(request, path)
