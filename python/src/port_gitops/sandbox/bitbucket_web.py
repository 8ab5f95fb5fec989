"""The web side of a Bitbucket sandbox, whatever its flavour: plain-text pages for the links the API
hands out (a repository, a pull request) and git's smart HTTP with the API's credentials.

The flavours differ only in their URLs, git's Basic realm and a few words on the pages, so each
subclass (`CloudWeb`, `DataCenterWeb`) gives those and this class does the rest.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from port_gitops.sandbox.codehost import CodeHost, HostedRepository, PullRequest
from port_gitops.sandbox.githttp import serve_git
from port_gitops.sandbox.server import Request, Response


class BitbucketWeb:
    # Matched against the percent-decoded path; groups `owner` (workspace or project key) and `slug`,
    # plus `rest` (git's endpoint) or `pr_id`.
    GIT: ClassVar[re.Pattern[str]]
    PULL_REQUEST_PAGE: ClassVar[re.Pattern[str]]
    REPOSITORY_PAGE: ClassVar[re.Pattern[str]]
    GIT_REALM: ClassVar[str]  # the realm of git's Basic challenge, as the real host names it
    SHORT_HASH: ClassVar[int]  # hex digits of a branch tip on the repository page

    def __init__(self, host: CodeHost) -> None:
        self.host = host

    # --- what a flavour provides ------------------------------------------------------------------

    def repository_heading(self, repo: HostedRepository) -> str:
        raise NotImplementedError

    def pull_request_link(self, rendered: dict[str, Any]) -> str:
        """The page link of a pull request as the API renders it."""
        raise NotImplementedError

    def pull_request_state(self, pr: PullRequest) -> str:
        return pr.state

    # --- the pages and git ------------------------------------------------------------------------

    def serve(self, request: Request, path: str) -> Response:
        """`path`: percent-decoded (on Data Center: after the context path)."""
        git = self.GIT.fullmatch(path)
        if git:
            return self._git(request, git["owner"], git["slug"], git["rest"])
        pull = self.PULL_REQUEST_PAGE.fullmatch(path)
        if pull:
            return self._pull_request_page(pull["owner"], pull["slug"], int(pull["pr_id"]))
        page = self.REPOSITORY_PAGE.fullmatch(path)
        if page:
            return self._repository_page(page["owner"], page["slug"])
        return Response.text(404, "Not Found")

    def _git(self, request: Request, owner: str, slug: str, rest: str) -> Response:
        account = self.host.authenticate(request)
        if account is None:
            return Response(401, b"Unauthorized", {"WWW-Authenticate": f'Basic realm="{self.GIT_REALM}"'})
        repo = self.host.repository(owner, slug)
        if repo is None:
            return Response.text(404, "Repository not found")
        return serve_git(
            request,
            project_root=self.host.root / "repositories",
            path_info=f"/{repo.workspace}/{repo.slug}.git/{rest}",
            remote_user=account.nickname,
            env=self.host.git_env,
        )

    def _repository_page(self, owner: str, slug: str) -> Response:
        repo = self.host.repository(owner, slug)
        if repo is None:
            return Response.text(404, "Repository not found")
        lines = [self.repository_heading(repo), "", "Branches:"]
        lines += [f"  {name} {sha[: self.SHORT_HASH]}" for name, sha in sorted(repo.git.branches().items())]
        lines += ["", "Pull requests:"]
        lines += [
            f"  #{pr['id']} [{pr['state']}] {pr['title']} -> {self.pull_request_link(pr)}"
            for pr in self.host.pull_requests(owner, slug)
        ]
        return Response.text(200, "\n".join(lines) + "\n")

    def _pull_request_page(self, owner: str, slug: str, pr_id: int) -> Response:
        repo = self.host.repository(owner, slug)
        pr = self.host.pull_request(repo, pr_id) if repo else None
        if repo is None or pr is None:
            return Response.text(404, "Pull request not found")
        with repo.lock:
            assert pr.source_commit and pr.destination_commit
            diff = repo.git.diff(pr.destination_commit, pr.source_commit)
        reviewers = ", ".join(account.display_name for account in pr.reviewers) or "none"
        head = [
            f"#{pr.id} {pr.title} [{self.pull_request_state(pr)}]",
            f"{pr.source} -> {pr.destination}, by {pr.author.display_name}; reviewers: {reviewers}",
            "",
            pr.description,
            "",
        ]
        return Response.text(200, "\n".join(head) + "\n" + diff)
