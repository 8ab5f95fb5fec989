"""bitbucket.org's role in the sandbox: plain-text pages for the links the API hands out, and git's
smart HTTP at `{web_url}/{workspace}/{slug}.git` with the API's credentials."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import unquote

from port_gitops.sandbox.bitbucket_cloud_api import RATE_LIMIT_TEXT, SHORT_HASH
from port_gitops.sandbox.githttp import serve_git
from port_gitops.sandbox.server import Request, Response

if TYPE_CHECKING:
    from port_gitops.sandbox.bitbucket_cloud import BitbucketCloudSandbox


class CloudWeb:
    """bitbucket.org's role: pages for the links the API hands out (plain text) and git's smart HTTP."""

    _GIT = re.compile(
        r"/(?P<ws>[^/]+)/(?P<slug>[^/]+)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
    )
    _REPO = re.compile(r"/(?P<ws>[^/]+)/(?P<slug>[^/]+?)/?")
    _PULL = re.compile(r"/(?P<ws>[^/]+)/(?P<slug>[^/]+)/pull-requests/(?P<pr_id>\d+)/?")

    def __init__(self, host: BitbucketCloudSandbox) -> None:
        self.host = host

    def error_response(self, status: int) -> Response:
        return Response.text(status, RATE_LIMIT_TEXT if status == 429 else HTTPStatus(status).phrase)

    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        git = self._GIT.fullmatch(path)
        if git:
            return self._git(request, git["ws"], git["slug"], git["rest"])
        pull = self._PULL.fullmatch(path)
        if pull:
            return self._pull_request_page(pull["ws"], pull["slug"], int(pull["pr_id"]))
        page = self._REPO.fullmatch(path)
        if page:
            return self._repository_page(page["ws"], page["slug"])
        return Response.text(404, "Not Found")

    def _git(self, request: Request, workspace: str, slug: str, rest: str) -> Response:
        account = self.host.authenticate(request)
        if account is None:
            return Response(401, b"Unauthorized", {"WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"'})
        repo = self.host.repository(workspace, slug)
        if repo is None:
            return Response.text(404, "Repository not found")
        return serve_git(
            request,
            project_root=self.host.root / "repositories",
            path_info=f"/{repo.workspace}/{repo.slug}.git/{rest}",
            remote_user=account.nickname,
            env=self.host.git_env,
        )

    def _repository_page(self, workspace: str, slug: str) -> Response:
        repo = self.host.repository(workspace, slug)
        if repo is None:
            return Response.text(404, "Repository not found")
        lines = [f"{repo.full_name} (main branch: {repo.main_branch})", "", "Branches:"]
        lines += [f"  {name} {sha[:SHORT_HASH]}" for name, sha in sorted(repo.git.branches().items())]
        lines += ["", "Pull requests:"]
        lines += [
            f"  #{pr['id']} [{pr['state']}] {pr['title']} -> {pr['links']['html']['href']}"
            for pr in self.host.pull_requests(workspace, slug)
        ]
        return Response.text(200, "\n".join(lines) + "\n")

    def _pull_request_page(self, workspace: str, slug: str, pr_id: int) -> Response:
        repo = self.host.repository(workspace, slug)
        pr = self.host.pull_request(repo, pr_id) if repo else None
        if repo is None or pr is None:
            return Response.text(404, "Pull request not found")
        with repo.lock:
            assert pr.source_commit and pr.destination_commit
            diff = repo.git.diff(pr.destination_commit, pr.source_commit)
        reviewers = ", ".join(account.display_name for account in pr.reviewers) or "none"
        head = [
            f"#{pr.id} {pr.title} [{pr.state}]",
            f"{pr.source} -> {pr.destination}, by {pr.author.display_name}; reviewers: {reviewers}",
            "",
            pr.description,
            "",
        ]
        return Response.text(200, "\n".join(head) + "\n" + diff)
