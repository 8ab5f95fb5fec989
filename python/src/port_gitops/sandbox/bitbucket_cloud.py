"""Bitbucket Cloud 2.0, the subset port-gitops uses, with the real service's shapes and rules.
This module holds the sandbox and its JSON shapes; `bitbucket_cloud_api` the endpoints,
`bitbucket_cloud_web` the web host (pages and git over smart HTTP).

Endpoints (under /2.0/repositories/{workspace}/{slug}): the repository; refs/branches (list,
create, get, delete); src (GET raw file or directory listing; POST commit, multipart or
urlencoded, with the branch/parents rules and 409 of the real one); pullrequests (list with BBQL
`q` and `state`, create — an open PR for the same branches is silently updated and returned —,
get, PUT — omitted reviewers and description are cleared —, decline, merge, diff);
commit/{revision}; default-reviewers and effective-default-reviewers; and /2.0/user.

Fidelity notes (see ../shared/notes/bitbucket-api.md): errors are `{"type": "error", "error":
{"message", ...}}` except a 429 (text/plain "Rate limit for this resource has been exceeded") and
502/503/504 (the HTML of a gateway); `src/{commit}/{path}` splits at the first `/`, so a branch
name with `/` as {commit} fails like the real one; `src` POST takes one parent only (several are
deprecated); pull requests carry 12-character commit hashes, as Cloud's do. Where the notes mark
the real text UNCONFIRMED (409 and 404 messages, "branch exists"), the sandbox picks plausible text:
clients must classify by status (and `error.data.key`), never by message.
"""

from __future__ import annotations

import html
import uuid
from typing import Any, Optional

from port_gitops.sandbox.bitbucket_cloud_api import SHORT_HASH, CloudApi
from port_gitops.sandbox.bitbucket_cloud_web import CloudWeb
from port_gitops.sandbox.codehost import Account, CodeHost, HostedRepository, PullRequest
from port_gitops.sandbox.server import App


class BitbucketCloudSandbox(CodeHost):
    """Bitbucket Cloud on loopback: `url` is the API base (the tool appends /2.0), `web_url` the
    host of repository and pull-request links and of git's smart HTTP (`{web_url}/{ws}/{slug}.git`)."""

    # Cloud's `POST /src` answers 201 with the new commit's API URL in `Location`; False leaves it out
    # (the client must then read the branch for the new tip).
    src_location = True

    def client_env(self, owner: str) -> dict[str, str]:
        return {
            "BITBUCKET_URL": self.url,
            "BITBUCKET_WEB_URL": self.web_url,
            "BITBUCKET_WORKSPACE": owner,
            "BITBUCKET_USERNAME": self.username,
            "BITBUCKET_TOKEN": self.token,
        }

    def clone_url(self, workspace: str, slug: str) -> str:
        return self.web_href(self._require(workspace, slug), ".git")

    def api_app(self) -> App:
        return CloudApi(self)

    def web_app(self) -> App:
        return CloudWeb(self)

    # --- JSON shapes ------------------------------------------------------------------------------

    def api_href(self, repo: HostedRepository, tail: str = "") -> str:
        return f"{self.url}/2.0/repositories/{repo.full_name}{tail}"

    def web_href(self, repo: HostedRepository, tail: str = "") -> str:
        return f"{self.web_url}/{repo.full_name}{tail}"

    def user_json(self, account: Account) -> dict[str, Any]:
        return {
            "type": "user",
            "uuid": account.uuid,
            "display_name": account.display_name,
            "nickname": account.nickname,
            "account_id": account.account_id,
            "links": {
                "self": {"href": f"{self.url}/2.0/users/{account.uuid}"},
                "html": {"href": f"{self.web_url}/{account.uuid}/"},
                "avatar": {"href": f"{self.web_url}/account/{account.nickname}/avatar/"},
            },
        }

    def repository_json(self, repo: HostedRepository, *, brief: bool = False) -> dict[str, Any]:
        links = {
            "self": {"href": self.api_href(repo)},
            "html": {"href": self.web_href(repo)},
            "avatar": {"href": self.web_href(repo, "/avatar/32/")},
        }
        summary = {"type": "repository", "full_name": repo.full_name, "name": repo.slug, "uuid": repo.uuid}
        if brief:
            return {**summary, "links": links}
        has_commits = repo.tip(repo.main_branch) is not None
        workspace_uuid = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, repo.workspace)) + "}"
        return {
            **summary,
            "slug": repo.slug,
            "description": "",
            "scm": "git",
            "is_private": True,
            "fork_policy": "no_public_forks",
            "language": "",
            "has_issues": False,
            "has_wiki": False,
            "created_on": repo.created_on,
            "updated_on": repo.created_on,
            "mainbranch": {"type": "branch", "name": repo.main_branch} if has_commits else None,
            "owner": {
                "type": "team",
                "uuid": workspace_uuid,
                "username": repo.workspace,
                "display_name": repo.workspace,
            },
            "workspace": {
                "type": "workspace",
                "uuid": workspace_uuid,
                "slug": repo.workspace,
                "name": repo.workspace,
            },
            "links": {
                **links,
                "pullrequests": {"href": self.api_href(repo, "/pullrequests")},
                "commits": {"href": self.api_href(repo, "/commits")},
                "clone": [{"name": "https", "href": self.web_href(repo, ".git")}],
            },
        }

    def commit_json(self, repo: HostedRepository, sha: str) -> dict[str, Any]:
        info = repo.git.commit_info(sha)
        author: dict[str, Any] = {"type": "author", "raw": info.author.raw}
        if info.author.email == self.bot.email:
            author["user"] = self.user_json(self.bot)
        return {
            "type": "commit",
            "hash": info.hash,
            "date": info.date,
            "author": author,
            "message": info.message + "\n",
            "parents": [
                {
                    "type": "commit",
                    "hash": parent,
                    "links": {"self": {"href": self.api_href(repo, f"/commit/{parent}")}},
                }
                for parent in info.parents
            ],
            "links": {
                "self": {"href": self.api_href(repo, f"/commit/{sha}")},
                "html": {"href": self.web_href(repo, f"/commits/{sha}")},
            },
            "repository": self.repository_json(repo, brief=True),
        }

    def branch_json(self, repo: HostedRepository, name: str, sha: str) -> dict[str, Any]:
        return {
            "type": "branch",
            "name": name,
            "target": self.commit_json(repo, sha),
            "links": {
                "self": {"href": self.api_href(repo, f"/refs/branches/{name}")},
                "commits": {"href": self.api_href(repo, f"/commits/{name}")},
                "html": {"href": self.web_href(repo, f"/branch/{name}")},
            },
            "merge_strategies": ["merge_commit", "squash", "fast_forward"],
            "default_merge_strategy": "merge_commit",
        }

    def _endpoint(self, repo: HostedRepository, branch: str, commit: Optional[str]) -> dict[str, Any]:
        return {
            "branch": {"name": branch},
            "commit": {"hash": commit[:SHORT_HASH]} if commit else None,
            "repository": self.repository_json(repo, brief=True),
        }

    def render_pull_request(self, repo: HostedRepository, pr: PullRequest) -> dict[str, Any]:
        api = self.api_href(repo, f"/pullrequests/{pr.id}")
        reviewers = [self.user_json(account) for account in pr.reviewers]
        return {
            "type": "pullrequest",
            "id": pr.id,
            "title": pr.title,
            "description": pr.description,
            "summary": {
                "raw": pr.description,
                "markup": "markdown",
                "html": f"<p>{html.escape(pr.description)}</p>",
            },
            "state": pr.state,
            "author": self.user_json(pr.author),
            "source": self._endpoint(pr.source_repo or repo, pr.source, pr.source_commit),
            "destination": self._endpoint(repo, pr.destination, pr.destination_commit),
            "merge_commit": {"hash": pr.merge_commit[:SHORT_HASH]} if pr.merge_commit else None,
            "comment_count": 0,
            "task_count": 0,
            "close_source_branch": pr.close_source_branch,
            "closed_by": self.user_json(pr.closed_by) if pr.closed_by else None,
            "reason": pr.reason,
            "created_on": pr.created_on,
            "updated_on": pr.updated_on,
            "reviewers": reviewers,
            "participants": [
                {"type": "participant", "user": user, "role": "REVIEWER", "approved": False, "state": None}
                for user in reviewers
            ],
            "draft": pr.draft,
            "queued": False,
            "links": {
                "self": {"href": api},
                "html": {"href": self.web_href(repo, f"/pull-requests/{pr.id}")},
                **{name: {"href": f"{api}/{name}"} for name in ("commits", "approve", "diff", "diffstat")},
                **{name: {"href": f"{api}/{name}"} for name in ("comments", "activity", "merge", "decline")},
            },
        }
