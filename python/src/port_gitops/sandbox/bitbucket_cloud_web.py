"""bitbucket.org's role in the sandbox: plain-text pages for the links the API hands out, and git's
smart HTTP at `{web_url}/{workspace}/{slug}.git` with the API's credentials (see `bitbucket_web`)."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from port_gitops.sandbox.bitbucket_cloud_api import RATE_LIMIT_TEXT
from port_gitops.sandbox.bitbucket_cloud_api import SHORT_HASH as API_SHORT_HASH
from port_gitops.sandbox.bitbucket_web import BitbucketWeb
from port_gitops.sandbox.codehost import HostedRepository
from port_gitops.sandbox.server import Request, Response


class CloudWeb(BitbucketWeb):
    """bitbucket.org's role: pages for the links the API hands out (plain text) and git's smart HTTP."""

    GIT = re.compile(
        r"/(?P<owner>[^/]+)/(?P<slug>[^/]+)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
    )
    PULL_REQUEST_PAGE = re.compile(r"/(?P<owner>[^/]+)/(?P<slug>[^/]+)/pull-requests/(?P<pr_id>\d+)/?")
    REPOSITORY_PAGE = re.compile(r"/(?P<owner>[^/]+)/(?P<slug>[^/]+?)/?")
    GIT_REALM = "Bitbucket.org HTTP"
    SHORT_HASH = API_SHORT_HASH  # the length Cloud abbreviates commit hashes to

    def error_response(self, status: int) -> Response:
        return Response.text(status, RATE_LIMIT_TEXT if status == 429 else HTTPStatus(status).phrase)

    def handle(self, request: Request) -> Response:
        return self.serve(request, unquote(request.path))

    def repository_heading(self, repo: HostedRepository) -> str:
        return f"{repo.full_name} (main branch: {repo.main_branch})"

    def pull_request_link(self, rendered: dict[str, Any]) -> str:
        return str(rendered["links"]["html"]["href"])
