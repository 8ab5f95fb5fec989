"""The pages of the GitLab sandbox (plain text, for the `web_url`s the API hands out) and git's smart HTTP
at `{url}/group/sub/project.git`, with the API's tokens as Basic passwords (see `bitbucket_web`, whose
shared page and git machinery this reuses: only the URL shapes and words differ)."""

from __future__ import annotations

import re
from typing import Any

from port_gitops.sandbox.bitbucket_web import BitbucketWeb
from port_gitops.sandbox.codehost import HostedRepository, PullRequest
from port_gitops.sandbox.gitlab_api import STATES


class GitLabWeb(BitbucketWeb):
    """Served by the instance's one host for every path outside `/api/v4/` (after the relative root).
    `owner` is the project's namespace: a group with any depth of subgroups."""

    GIT = re.compile(
        r"/(?P<owner>.+)/(?P<slug>[^/]+)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
    )
    PULL_REQUEST_PAGE = re.compile(r"/(?P<owner>.+)/(?P<slug>[^/]+)/-/merge_requests/(?P<pr_id>\d+)/?")
    REPOSITORY_PAGE = re.compile(r"/(?P<owner>[^-].*?)/(?P<slug>[^/]+?)(?:/-/tree/.*)?/?")
    GIT_REALM = "GitLab"
    SHORT_HASH = 8  # GitLab's `short_id`

    def repository_heading(self, repo: HostedRepository) -> str:
        return f"{repo.full_name} (default branch: {repo.main_branch})"

    def pull_request_link(self, rendered: dict[str, Any]) -> str:
        return str(rendered["web_url"])

    def pull_request_state(self, pr: PullRequest) -> str:
        return STATES[pr.state]
