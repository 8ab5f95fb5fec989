"""The pages of the Data Center sandbox (plain text, for the links the API hands out) and git's smart
HTTP at `{url}/scm/{key}/{slug}.git`, with the API's credentials."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from port_gitops.sandbox.githttp import serve_git
from port_gitops.sandbox.server import Request, Response

if TYPE_CHECKING:
    from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox


class DataCenterWeb:
    _GIT = re.compile(
        r"/scm/(?P<key>[^/]+)/(?P<slug>[^/]+)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
    )
    _PULL = re.compile(
        r"/projects/(?P<key>[^/]+)/repos/(?P<slug>[^/]+)/pull-requests/(?P<pr_id>\d+)(?:/\w+)?/?"
    )
    _REPO = re.compile(r"/projects/(?P<key>[^/]+)/repos/(?P<slug>[^/]+)(?:/browse)?/?")

    def __init__(self, host: BitbucketDataCenterSandbox) -> None:
        self.host = host

    def handle(self, request: Request, path: str) -> Response:
        """`path`: percent-decoded, after the context path."""
        git = self._GIT.fullmatch(path)
        if git:
            return self._git(request, git["key"], git["slug"], git["rest"])
        pull = self._PULL.fullmatch(path)
        if pull:
            return self._pull_request_page(pull["key"], pull["slug"], int(pull["pr_id"]))
        page = self._REPO.fullmatch(path)
        if page:
            return self._repository_page(page["key"], page["slug"])
        return Response.text(404, "Not Found")

    def _git(self, request: Request, key: str, slug: str, rest: str) -> Response:
        account = self.host.authenticate(request)
        if account is None:
            return Response(401, b"Unauthorized", {"WWW-Authenticate": 'Basic realm="Atlassian Bitbucket"'})
        repo = self.host.repository(key, slug)
        if repo is None:
            return Response.text(404, "Repository not found")
        return serve_git(
            request,
            project_root=self.host.root / "repositories",
            path_info=f"/{repo.workspace}/{repo.slug}.git/{rest}",
            remote_user=account.nickname,
            env=self.host.git_env,
        )

    def _repository_page(self, key: str, slug: str) -> Response:
        repo = self.host.repository(key, slug)
        if repo is None:
            return Response.text(404, "Repository not found")
        lines = [
            f"{self.host.project_key(repo)}/{repo.slug} (default branch: {repo.main_branch})",
            "",
            "Branches:",
        ]
        lines += [f"  {name} {sha[:11]}" for name, sha in sorted(repo.git.branches().items())]
        lines += ["", "Pull requests:"]
        lines += [
            f"  #{pr['id']} [{pr['state']}] {pr['title']} -> {pr['links']['self'][0]['href']}"
            for pr in self.host.pull_requests(key, slug)
        ]
        return Response.text(200, "\n".join(lines) + "\n")

    def _pull_request_page(self, key: str, slug: str, pr_id: int) -> Response:
        repo = self.host.repository(key, slug)
        pr = self.host.pull_request(repo, pr_id) if repo else None
        if repo is None or pr is None:
            return Response.text(404, "Pull request not found")
        with repo.lock:
            assert pr.source_commit and pr.destination_commit
            diff = repo.git.diff(pr.destination_commit, pr.source_commit)
        reviewers = ", ".join(account.display_name for account in pr.reviewers) or "none"
        head = [
            f"#{pr.id} {pr.title} [{pr.state}, version {pr.version}]",
            f"{pr.source} -> {pr.destination}, by {pr.author.display_name}; reviewers: {reviewers}",
            "",
            pr.description,
            "",
        ]
        return Response.text(200, "\n".join(head) + "\n" + diff)
