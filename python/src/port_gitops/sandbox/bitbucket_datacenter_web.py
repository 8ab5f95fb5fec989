"""The pages of the Data Center sandbox (plain text, for the links the API hands out) and git's smart
HTTP at `{url}/scm/{key}/{slug}.git`, with the API's credentials (see `bitbucket_web`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from port_gitops.sandbox.bitbucket_web import BitbucketWeb
from port_gitops.sandbox.codehost import HostedRepository, PullRequest

if TYPE_CHECKING:
    from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox


class DataCenterWeb(BitbucketWeb):
    """Served by the server's one host (`_DataCenterHost`) for every path outside `/rest/`."""

    host: BitbucketDataCenterSandbox  # the pages name a repository by its project key

    GIT = re.compile(
        r"/scm/(?P<owner>[^/]+)/(?P<slug>[^/]+)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
    )
    PULL_REQUEST_PAGE = re.compile(
        r"/projects/(?P<owner>[^/]+)/repos/(?P<slug>[^/]+)/pull-requests/(?P<pr_id>\d+)(?:/\w+)?/?"
    )
    REPOSITORY_PAGE = re.compile(r"/projects/(?P<owner>[^/]+)/repos/(?P<slug>[^/]+)(?:/browse)?/?")
    GIT_REALM = "Atlassian Bitbucket"
    SHORT_HASH = 11  # Data Center's `displayId` of a commit

    def repository_heading(self, repo: HostedRepository) -> str:
        return f"{self.host.project_key(repo)}/{repo.slug} (default branch: {repo.main_branch})"

    def pull_request_link(self, rendered: dict[str, Any]) -> str:
        return str(rendered["links"]["self"][0]["href"])

    def pull_request_state(self, pr: PullRequest) -> str:
        return f"{pr.state}, version {pr.version}"  # updates and declines must quote the version
