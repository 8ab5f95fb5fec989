"""github.com's role in the sandbox: plain-text pages for the links the API hands out (a repository,
a pull request) and git's smart HTTP at `{web_url}/{owner}/{repo}.git` with the API's tokens as the
Basic password (user `x-access-token`, as GitHub documents for installation tokens).

The page and git machinery is the one the Bitbucket flavours use (`bitbucket_web.BitbucketWeb`, whose
logic is flavour-neutral); GitHub gives its URLs, git's realm and its words."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from port_gitops.sandbox.bitbucket_web import BitbucketWeb
from port_gitops.sandbox.codehost import OPEN, HostedRepository, PullRequest
from port_gitops.sandbox.server import Request, Response


class GitHubWeb(BitbucketWeb):
    GIT = re.compile(
        r"/(?P<owner>[^/]+)/(?P<slug>[^/]+)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
    )
    PULL_REQUEST_PAGE = re.compile(r"/(?P<owner>[^/]+)/(?P<slug>[^/]+)/pull/(?P<pr_id>\d+)/?")
    REPOSITORY_PAGE = re.compile(r"/(?P<owner>[^/]+)/(?P<slug>[^/]+?)(?:\.git)?/?(?:/tree/.*)?")
    GIT_REALM = "GitHub"
    SHORT_HASH = 7

    def error_response(self, status: int) -> Response:
        return Response.text(status, HTTPStatus(status).phrase)

    def handle(self, request: Request) -> Response:
        return self.serve(request, unquote(request.path))

    def repository_heading(self, repo: HostedRepository) -> str:
        return f"{repo.full_name} (default branch: {repo.main_branch})"

    def pull_request_link(self, rendered: dict[str, Any]) -> str:
        return str(rendered["html_url"])

    def pull_request_state(self, pr: PullRequest) -> str:
        return "open" if pr.state == OPEN else "merged" if pr.merge_commit else "closed"
