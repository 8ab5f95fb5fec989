"""GitLab (REST v4), the subset port-gitops uses, with the real service's shapes and rules. This module
holds the sandbox, its JSON shapes and the one host it serves; `gitlab_api` the v4 endpoints,
`gitlab_web` the pages and git over smart HTTP.

As a self-managed instance under a relative URL root (default `/gitlab`), one host serves everything:
`{url}/api/v4/...`, the pages `{url}/group/sub/project[/-/merge_requests/N]` that `web_url` fields
point to, and git at `{url}/group/sub/project.git`. Projects live in groups and subgroups of any depth
and are addressed by numeric id or URL-encoded path (`group%2Fsub%2Fproject`).

Fidelity notes (GitLab's docs and lib/api sources): errors are `{"message": ...}` where the message is a
string ("404 Project Not Found"), a list (a merge request's validation errors) or an object of field ->
messages; a token without the needed scope answers 403 `{"error": "insufficient_scope", ...}`; a
rejected token 401 `{"message": "401 Unauthorized"}`; the rate limiter answers 429 as plain text
"Retry later" with `RateLimit-*` and `Retry-After` headers; 502/503/504 come from the proxy in front
(HTML). Merge requests are numbered per project (`iid`); states are opened/closed/merged; a draft is a
title starting with "Draft:". Where the exact text is not documented (the Commits API's 400s), the
sandbox uses the wording of GitLab's services; clients should classify by status first.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote

from port_gitops.sandbox.codehost import (
    Account,
    CodeHost,
    HostedRepository,
    PullRequest,
    basic_credentials,
    same_secret,
)
from port_gitops.sandbox.faults import RecordedRequest
from port_gitops.sandbox.gitlab_api import STATES, GitLabApi, is_draft, status_answer
from port_gitops.sandbox.gitlab_web import GitLabWeb
from port_gitops.sandbox.server import App, LoopbackServer, Request, Response


class GitLabSandbox(CodeHost):
    """GitLab on loopback: `url` is the instance's URL (relative root included) and the base of every
    API, page and git URL; `web_url` is the same. Tokens: `token` (the bot's personal access token)
    and `access_token` (a project access token: its bot user is `token_actor`), both sent as
    PRIVATE-TOKEN; `scopes` are what they were granted."""

    username = "port-bot"
    nested_owners = True
    has_default_reviewers = False  # GitLab Free has none (Premium's approval rules are not reviewers)
    has_labels = True
    credential_variable = "GITLAB_TOKEN"

    def __init__(self, root: Path, *, relative_root: str = "/gitlab") -> None:
        super().__init__(root)
        self.relative_root = "/" + relative_root.strip("/") if relative_root.strip("/") else ""
        self.token = "glpat-" + secrets.token_urlsafe(20)
        self.access_token = "glpat-" + secrets.token_urlsafe(20)
        self.scopes = {"api"}
        self._ids: dict[str, int] = {}  # account uuid or project key -> numeric id
        self._protected: set[tuple[str, str, str]] = set()

    def client_env(self, owner: str) -> dict[str, str]:
        return {"GITLAB_URL": self.url, "GITLAB_GROUP": owner, "GITLAB_TOKEN": self.token}

    def access_token_env(self, token: str) -> dict[str, Optional[str]]:
        return {"GITLAB_TOKEN": token}

    def sent_credential(self, request: RecordedRequest) -> str:
        return request.headers.get("private-token", "")

    def access_header(self, token: str) -> str:
        return token

    def clone_url(self, workspace: str, slug: str) -> str:
        return self.web_href(self._require(workspace, slug), ".git")

    # --- one host for everything ------------------------------------------------------------------

    def api_app(self) -> App:
        return _GitLabHost(self)

    def start(self, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self._api = LoopbackServer(
            self.api_app(), faults=self.faults, recorder=self.recorder, ssl_context=ssl_context
        )

    @property
    def url(self) -> str:
        return super().url + self.relative_root

    @property
    def web_url(self) -> str:
        return self.url

    def authenticate(self, request: Request) -> Optional[Account]:
        """PRIVATE-TOKEN (API), or for git Basic with any user name and a token as password."""
        token = request.headers.get("private-token", "").strip()
        if not token:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            basic = basic_credentials(request) or ("", "")
            token = value.strip() if scheme.lower() == "bearer" else basic[1]
        if token and same_secret(token, self.token):
            return self.bot
        if token and same_secret(token, self.access_token):
            return self.token_actor
        return None

    # --- ids, users, protection -----------------------------------------------------------------

    def numeric_id(self, key: str) -> int:
        with self._lock:
            return self._ids.setdefault(key, len(self._ids) + 1)

    def project_id(self, repo: HostedRepository) -> int:
        return self.numeric_id("project:" + repo.full_name)

    def project_by_id(self, project_id: int) -> Optional[HostedRepository]:
        with self._lock:
            repos = list(self._repositories.values())
        return next((r for r in repos if self.project_id(r) == project_id), None)

    def find_project(self, ref: str) -> Optional[HostedRepository]:
        """A project by numeric id or by (decoded) `namespace/path`."""
        if ref.isdigit():
            return self.project_by_id(int(ref))
        namespace, _, path = ref.rpartition("/")
        return self.repository(namespace, path) if namespace else None

    def user_id(self, account: Account) -> int:
        return self.numeric_id(account.uuid)

    def user_named(self, username: str) -> Optional[Account]:
        with self._lock:
            return next((a for a in self._accounts.values() if a.nickname == username), None)

    def user_by_id(self, user_id: int) -> Optional[Account]:
        with self._lock:
            accounts = list(self._accounts.values())
        return next((a for a in accounts if self.user_id(a) == user_id), None)

    def protect_branch(self, namespace: str, project: str, branch: str) -> None:
        """Nobody may push to `branch` (the API's commits there are refused, as for a Developer)."""
        repo = self._require(namespace, project)
        with self._lock:
            self._protected.add((repo.workspace, repo.slug, branch))

    def is_protected(self, repo: HostedRepository, branch: str) -> bool:
        with self._lock:
            return (repo.workspace, repo.slug, branch) in self._protected

    # --- JSON shapes ------------------------------------------------------------------------------

    def web_href(self, repo: HostedRepository, tail: str = "") -> str:
        return f"{self.url}/{repo.full_name}{tail}"

    def user_json(self, account: Account) -> dict[str, Any]:
        return {
            "id": self.user_id(account),
            "username": account.nickname,
            "name": account.display_name,
            "state": "active",
            "locked": False,
            "avatar_url": None,
            "web_url": f"{self.url}/{account.nickname}",
        }

    def namespace_json(self, repo: HostedRepository) -> dict[str, Any]:
        parent, _, name = repo.workspace.rpartition("/")
        return {
            "id": self.numeric_id("group:" + repo.workspace),
            "name": name,
            "path": name,
            "kind": "group",
            "full_path": repo.workspace,
            "parent_id": self.numeric_id("group:" + parent) if parent else None,
            "avatar_url": None,
            "web_url": f"{self.url}/groups/{repo.workspace}",
        }

    def project_json(self, repo: HostedRepository) -> dict[str, Any]:
        empty = repo.tip(repo.main_branch) is None
        name = repo.slug
        return {
            "id": self.project_id(repo),
            "description": None,
            "name": name,
            "name_with_namespace": " / ".join([*repo.workspace.split("/"), name]),
            "path": name,
            "path_with_namespace": repo.full_name,
            "created_at": repo.created_on,
            "default_branch": None if empty else repo.main_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@127.0.0.1:{repo.full_name}.git",
            "http_url_to_repo": self.web_href(repo, ".git"),
            "web_url": self.web_href(repo),
            "readme_url": None if empty else self.web_href(repo, f"/-/blob/{repo.main_branch}/README.md"),
            "forks_count": 0,
            "avatar_url": None,
            "star_count": 0,
            "last_activity_at": repo.created_on,
            "namespace": self.namespace_json(repo),
            "empty_repo": empty,
            "archived": False,
            "visibility": "private",
            "merge_method": "merge",
            "squash_option": "default_off",
            "remove_source_branch_after_merge": True,
        }

    def commit_json(self, repo: HostedRepository, sha: str) -> dict[str, Any]:
        info = repo.git.commit_info(sha)
        title = info.message.split("\n", 1)[0]
        return {
            "id": info.hash,
            "short_id": info.hash[:8],
            "created_at": info.date,
            "parent_ids": list(info.parents),
            "title": title,
            "message": info.message + "\n",
            "author_name": info.author.name,
            "author_email": info.author.email,
            "authored_date": info.date,
            "committer_name": info.author.name,
            "committer_email": info.author.email,
            "committed_date": info.date,
            "trailers": {},
            "extended_trailers": {},
            "web_url": self.web_href(repo, f"/-/commit/{info.hash}"),
        }

    def branch_json(self, repo: HostedRepository, name: str, sha: str) -> dict[str, Any]:
        protected = self.is_protected(repo, name)
        return {
            "name": name,
            "commit": self.commit_json(repo, sha),
            "merged": False,
            "protected": protected,
            "developers_can_push": not protected,
            "developers_can_merge": not protected,
            "can_push": not protected,
            "default": name == repo.main_branch,
            "web_url": self.web_href(repo, f"/-/tree/{name}"),
        }

    def render_pull_request(self, repo: HostedRepository, pr: PullRequest) -> dict[str, Any]:
        project_id = self.project_id(repo)
        state = STATES[pr.state]
        reference = f"!{pr.id}"
        return {
            "id": project_id * 1000 + pr.id,
            "iid": pr.id,
            "project_id": project_id,
            "title": pr.title,
            "description": pr.description,
            "state": state,
            "created_at": pr.created_on,
            "updated_at": pr.updated_on,
            "merged_by": self.user_json(pr.closed_by) if pr.closed_by and state == "merged" else None,
            "merged_at": pr.updated_on if state == "merged" else None,
            "closed_by": self.user_json(pr.closed_by) if pr.closed_by and state == "closed" else None,
            "closed_at": pr.updated_on if state == "closed" else None,
            "target_branch": pr.destination,
            "source_branch": pr.source,
            "user_notes_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "author": self.user_json(pr.author),
            "assignees": [],
            "assignee": None,
            "reviewers": [self.user_json(account) for account in pr.reviewers],
            "source_project_id": self.project_id(pr.source_repo) if pr.source_repo else project_id,
            "target_project_id": project_id,
            "labels": list(pr.labels),
            "draft": is_draft(pr.title),
            "work_in_progress": is_draft(pr.title),
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable" if state == "opened" else "not_open",
            "sha": pr.source_commit,
            "merge_commit_sha": pr.merge_commit,
            "squash_commit_sha": None,
            "discussion_locked": None,
            "should_remove_source_branch": None,
            "force_remove_source_branch": pr.close_source_branch,
            "reference": reference,
            "references": {"short": reference, "relative": reference, "full": f"{repo.full_name}{reference}"},
            "web_url": self.web_href(repo, f"/-/merge_requests/{pr.id}"),
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": False,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": False,
            "blocking_discussions_resolved": True,
        }


class _GitLabHost:
    """The instance's one host: the API under `{root}/api/v4/`, pages and git under the rest of it."""

    def __init__(self, host: GitLabSandbox) -> None:
        self.host = host
        self.api = GitLabApi(host)
        self.web = GitLabWeb(host)

    def error_response(self, status: int) -> Response:
        return status_answer(status)

    def handle(self, request: Request) -> Response:
        root = self.host.relative_root
        raw = request.path
        if root and not (raw == root or raw.startswith(root + "/")):
            return Response.text(404, "Not Found")
        raw = raw[len(root) :]
        if raw.startswith("/api/v4/"):
            return self.api.handle(request, raw[len("/api/v4") :])  # still percent-encoded
        return self.web.serve(request, unquote(raw))
