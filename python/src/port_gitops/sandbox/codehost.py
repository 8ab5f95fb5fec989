"""What a Bitbucket sandbox holds, whatever its API flavour: accounts, repositories (a real git
repository each, plus pull requests and default reviewers), credentials, fault plan, recorder, and
the listeners (Cloud: an API host and a web host; Data Center: one host for both). A flavour
subclass supplies the endpoints and the JSON shapes; the semantics of pull requests live here once.

The public methods are the test helpers: they act as "someone else" on the host (pushing, merging,
declining) and read the truth back from git.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from port_gitops.sandbox.faults import FaultPlan, RecordedRequest, Recorder
from port_gitops.sandbox.gitstore import GitRepository, Person, git_environment
from port_gitops.sandbox.server import App, LoopbackServer, Request

OPEN, MERGED, DECLINED = "OPEN", "MERGED", "DECLINED"
SOMEONE_ELSE = Person("Alex Maintainer", "alex@example.com")
"""Author of commits, merges and declines made through the helpers, i.e. not by the tool."""

FileContent = Union[bytes, str]
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,62}")  # a workspace or repository slug (and a directory name)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def basic_credentials(request: Request) -> Optional[tuple[str, str]]:
    """(user, password) of an `Authorization: Basic` header; None for any other or a malformed one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison that, like the real services, answers "no" (401) to any text,
    non-ASCII included (`compare_digest` raises TypeError on non-ASCII str)."""
    encode = "utf-8", "surrogateescape"
    return secrets.compare_digest(given.encode(*encode), expected.encode(*encode))


def _as_bytes(content: FileContent) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


@dataclass(frozen=True)
class Account:
    uuid: str
    display_name: str
    nickname: str
    account_id: str
    email: Optional[str] = None


@dataclass
class PullRequest:
    id: int
    title: str
    description: str
    source: str
    destination: str
    author: Account
    reviewers: list[Account]
    close_source_branch: bool
    created_on: str
    updated_on: str
    state: str = OPEN
    draft: bool = False
    labels: list[str] = field(default_factory=list)  # GitLab's and GitHub's; the Bitbucket flavours have none
    version: int = 0  # Data Center's optimistic lock: bumped on every change (Cloud ignores it)
    # While OPEN a pull request follows its branches; closing freezes the commits it was at.
    source_commit: Optional[str] = None
    destination_commit: Optional[str] = None
    merge_commit: Optional[str] = None
    closed_by: Optional[Account] = None
    reason: str = ""
    source_repo: Optional[HostedRepository] = None  # a fork's pull request; None: from the same repository
    team_reviewers: list[str] = field(default_factory=list)  # team slugs (GitHub)


class PullRequestRefused(Exception):
    """A pull request cannot be opened. `reason` is one of the class constants; each flavour turns
    it into its own error shape (Cloud: 400 with `fields`; Data Center: 409 exceptions)."""

    SOURCE_MISSING = "source_missing"
    DESTINATION_MISSING = "destination_missing"
    SAME_BRANCH = "same_branch"
    NO_CHANGES = "no_changes"

    def __init__(self, reason: str, branch: str) -> None:
        super().__init__(reason, branch)
        self.reason = reason
        self.branch = branch


@dataclass
class HostedRepository:
    workspace: str
    slug: str
    git: GitRepository
    main_branch: str
    uuid: str = field(default_factory=lambda: "{" + str(uuid.uuid4()) + "}")
    created_on: str = field(default_factory=now_iso)
    pull_requests: dict[int, PullRequest] = field(default_factory=dict)
    default_reviewers: list[Account] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def full_name(self) -> str:
        return f"{self.workspace}/{self.slug}"

    def tip(self, branch: str) -> Optional[str]:
        return self.git.branch_tip(branch)


class CodeHost:
    """Base of the code-host sandboxes. Start it with `start()`, stop it with `close()`."""

    username = "port-bot@example.com"
    bot_email = "port-bot@example.com"
    # Capabilities, where the flavours legitimately differ (the tests ask these, never the name):
    nested_owners = False  # owners may be paths of several levels (GitLab's group/subgroup)
    has_default_reviewers = True  # repository default reviewers that the tool adds to what it opens
    has_labels = False  # pull-request labels
    has_team_reviewers = False  # team reviewers (GitHub's)
    credential_variable = "BITBUCKET_TOKEN"  # the environment variable of the bot's own credential (`token`)

    def access_token_env(self, token: str) -> dict[str, Optional[str]]:
        """The environment that makes the tool use `token` as the host's access token instead."""
        return {"BITBUCKET_USERNAME": None, "BITBUCKET_TOKEN": None, "BITBUCKET_ACCESS_TOKEN": token}

    def sent_credential(self, request: RecordedRequest) -> str:
        """How a recorded API request carried the access token (compared with `access_header`)."""
        return request.headers.get("authorization", "")

    def access_header(self, token: str) -> str:
        return f"Bearer {token}"

    def is_write(self, request: RecordedRequest) -> bool:
        """Whether the request may change something (GitHub's GraphQL query is a POST that only reads)."""
        return request.method not in ("GET", "HEAD")

    def writes(self) -> list[RecordedRequest]:
        return [request for request in self.requests if self.is_write(request)]

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_env = git_environment(root)
        self.faults = FaultPlan()
        self.recorder = Recorder()
        self.token = "ATATT3x" + secrets.token_urlsafe(24)  # the shape of an Atlassian API token
        self.access_token = secrets.token_urlsafe(32)
        self._lock = threading.Lock()
        self._repositories: dict[tuple[str, str], HostedRepository] = {}
        self._accounts: dict[str, Account] = {}
        self.bot = self.add_user("Port Bot", email=self.bot_email)
        self.token_actor = self.add_user("port-gitops access token")
        self.maintainer = self.add_user(SOMEONE_ELSE.name, email=SOMEONE_ELSE.email)
        self._api: Optional[LoopbackServer] = None
        self._web: Optional[LoopbackServer] = None

    # --- what a flavour provides ------------------------------------------------------------------

    def api_app(self) -> App:
        raise NotImplementedError

    def web_app(self) -> App:
        raise NotImplementedError

    def render_pull_request(self, repo: HostedRepository, pr: PullRequest) -> dict[str, Any]:
        raise NotImplementedError

    def web_href(self, repo: HostedRepository, tail: str = "") -> str:
        raise NotImplementedError

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self._api = LoopbackServer(
            self.api_app(), faults=self.faults, recorder=self.recorder, ssl_context=ssl_context
        )
        self._web = LoopbackServer(
            self.web_app(), faults=self.faults, recorder=self.recorder, ssl_context=ssl_context
        )

    def close(self) -> None:
        for server in (self._api, self._web):
            if server is not None:
                server.close()
        with self._lock:
            repositories = list(self._repositories.values())
        for repo in repositories:
            repo.git.close()  # after the servers: no handler thread reads any more

    @property
    def url(self) -> str:
        """The API base (for Cloud the tool appends /2.0)."""
        assert self._api is not None, "start() the sandbox first"
        return self._api.url

    @property
    def web_url(self) -> str:
        """The web host: repository and pull-request pages, git over smart HTTP."""
        assert self._web is not None, "start() the sandbox first"
        return self._web.url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request to the API and web hosts, in order."""
        return self.recorder.requests

    def clear(self) -> None:
        """Forget the recorded requests (armed faults stay: `faults.clear()` removes those)."""
        self.recorder.clear()

    # --- accounts and credentials -----------------------------------------------------------------

    def add_user(
        self, display_name: str, *, email: Optional[str] = None, account_uuid: Optional[str] = None
    ) -> Account:
        """A user of the host (e.g. a reviewer), with a fresh `{uuid}` unless one is given."""
        account_uuid = account_uuid or "{" + str(uuid.uuid4()) + "}"
        nickname = display_name.lower().replace(" ", "-")
        account = Account(account_uuid, display_name, nickname, "5b" + account_uuid.strip("{}")[:22], email)
        with self._lock:
            self._accounts[account.uuid] = account
        return account

    def account(self, account_uuid: str) -> Optional[Account]:
        with self._lock:
            return self._accounts.get(account_uuid)

    def authenticate(self, request: Request) -> Optional[Account]:
        """The account behind the request's credentials: Basic e-mail + API token, Bearer access
        token, or (for git) Basic `x-token-auth` / `x-bitbucket-api-token-auth` + token."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self.token_actor if same_secret(value.strip(), self.access_token) else None
        user, password = basic_credentials(request) or ("", "")
        if user in (self.username, "x-bitbucket-api-token-auth") and same_secret(password, self.token):
            return self.bot
        if user == "x-token-auth" and same_secret(password, self.access_token):
            return self.token_actor
        return None

    # --- repositories -----------------------------------------------------------------------------

    def create_repository(
        self,
        workspace: str,
        slug: str,
        files: Mapping[str, FileContent] = {},  # read-only default
        main_branch: str = "main",
        *,
        empty: bool = False,
    ) -> str:
        """A repository whose main branch holds `files` in one commit; returns its tip ("" when
        `empty`: a repository without any commit, as freshly created on the host)."""
        owners = workspace.split("/") if self.nested_owners else [workspace]
        if not all(_NAME.fullmatch(name) and name.strip(".") for name in (*owners, slug)):
            raise ValueError(f"not a workspace/slug pair: {workspace!r}/{slug!r}")
        key = (workspace.lower(), slug.lower())
        path = self.root / "repositories" / Path(*key[0].split("/")) / f"{key[1]}.git"
        with self._lock:
            if key in self._repositories:
                raise ValueError(f"repository {workspace}/{slug} exists already")
            repo = HostedRepository(
                key[0], key[1], GitRepository.init(path, self.git_env, main_branch), main_branch
            )
            self._repositories[key] = repo
        if empty:
            return ""
        return self.push(workspace, slug, main_branch, dict(files), message="Initial commit")

    def repository(self, workspace: str, slug: str) -> Optional[HostedRepository]:
        with self._lock:
            return self._repositories.get((workspace.lower(), slug.lower()))

    def _require(self, workspace: str, slug: str) -> HostedRepository:
        repo = self.repository(workspace, slug)
        if repo is None:
            raise KeyError(f"no repository {workspace}/{slug} in the sandbox")
        return repo

    def client_env(self, owner: str) -> dict[str, str]:
        """The flavour's part of the environment that points port-gitops at this host, for `owner`."""
        raise NotImplementedError

    def clone_url(self, workspace: str, slug: str) -> str:
        """Where `git clone` finds the repository over smart HTTP."""
        raise NotImplementedError

    def repository_url(self, workspace: str, slug: str) -> str:
        """The repository's web page, the form a payload's `repo_url` takes."""
        return self.web_href(self._require(workspace, slug))

    def git_dir(self, workspace: str, slug: str) -> Path:
        return self._require(workspace, slug).git.path

    def branch_tip(self, workspace: str, slug: str, branch: str) -> Optional[str]:
        return self._require(workspace, slug).tip(branch)

    def read_file(self, workspace: str, slug: str, ref: str, path: str) -> Optional[bytes]:
        repo = self._require(workspace, slug)
        commit = repo.git.resolve(ref)
        return repo.git.read_file(commit, path) if commit else None

    def push(
        self,
        workspace: str,
        slug: str,
        branch: str,
        files: Mapping[str, Optional[FileContent]],
        message: str = "Change made outside port-gitops",
        *,
        author: Person = SOMEONE_ELSE,
    ) -> str:
        """Someone else's commit on `branch` (created from the main branch tip when missing);
        a None content deletes the file. Returns the new tip."""
        repo = self._require(workspace, slug)
        with repo.lock:
            old = repo.tip(branch)
            start = old or repo.tip(repo.main_branch)
            changes = {path: None if data is None else _as_bytes(data) for path, data in files.items()}
            new = repo.git.commit_files([start] if start else [], changes, message, author)
            if not repo.git.update_branch(branch, new, old):
                raise RuntimeError(f"branch {branch} moved during the push")
            if start is None:
                repo.main_branch = branch  # first commit of an empty repository defines its main branch
                repo.git.set_head_branch(branch)
            self.sync(repo)
        return new

    def delete_branch(self, repo: HostedRepository, branch: str) -> bool:
        with repo.lock:
            deleted = repo.git.delete_branch(branch)
            self.sync(repo)
        return deleted

    def set_default_reviewers(
        self, workspace: str, slug: str, reviewers: Sequence[Union[Mapping[str, Any], str]]
    ) -> list[Account]:
        """Accounts (API-shaped dicts with a `uuid`, or bare uuids); unknown ones are registered."""
        repo = self._require(workspace, slug)
        accounts = []
        for item in reviewers:
            account_uuid = item if isinstance(item, str) else str(item["uuid"])
            name = (
                f"User {account_uuid}"
                if isinstance(item, str)
                else str(item.get("display_name", account_uuid))
            )
            accounts.append(self.account(account_uuid) or self.add_user(name, account_uuid=account_uuid))
        with repo.lock:
            repo.default_reviewers = accounts
        return accounts

    # --- pull requests ----------------------------------------------------------------------------

    def sync(self, repo: HostedRepository) -> None:
        """Bring OPEN pull requests up to their branches' tips; deleting a source branch declines
        its pull request (however the branch went: API, git push, merge). Called before every
        pull-request read or write."""
        with repo.lock:
            open_prs = [pr for pr in repo.pull_requests.values() if pr.state == OPEN]
            branches = repo.git.branches() if open_prs else {}
            for pr in open_prs:
                pr.destination_commit = branches.get(pr.destination, pr.destination_commit)
                sources = branches if pr.source_repo is None else pr.source_repo.git.branches()
                if pr.source in sources:
                    pr.source_commit = sources[pr.source]
                else:
                    self._close(pr, DECLINED, self.maintainer, reason="The source branch was deleted")

    @staticmethod
    def _close(pr: PullRequest, state: str, by: Account, reason: str = "") -> None:
        pr.state, pr.closed_by, pr.reason, pr.updated_on = state, by, reason, now_iso()
        pr.version += 1

    def open_fork_pull_request(
        self, repo: HostedRepository, fork: HostedRepository, branch: str, *, title: str, author: Account
    ) -> PullRequest:
        """An OPEN pull request from `branch` of `fork` into `repo`'s main branch (no merge checks: it
        only has to be listed, as someone else's pull request that happens to use our branch name)."""
        with repo.lock:
            tip = fork.tip(branch)
            if tip is None:
                raise ValueError(f"{fork.full_name} has no branch {branch}")
            pr = PullRequest(
                id=max(repo.pull_requests, default=0) + 1, title=title, description="", source=branch,
                destination=repo.main_branch, author=author, reviewers=[], close_source_branch=False,
                created_on=now_iso(), updated_on=now_iso(), source_commit=tip,
                destination_commit=repo.tip(repo.main_branch), source_repo=fork,
            )  # fmt: skip
            repo.pull_requests[pr.id] = pr
            return pr

    def open_pull_request(
        self,
        repo: HostedRepository,
        *,
        title: str,
        description: str,
        source: str,
        destination: str,
        author: Account,
        reviewers: list[Account],
        close_source_branch: bool,
        draft: bool = False,
    ) -> tuple[PullRequest, bool]:
        """A new OPEN pull request, or the existing OPEN one for the same branches refreshed with
        these values (Cloud's silent update). Returns (pull request, created)."""
        with repo.lock:
            self.sync(repo)
            source_tip, destination_tip = repo.tip(source), repo.tip(destination)
            if source_tip is None:
                raise PullRequestRefused(PullRequestRefused.SOURCE_MISSING, source)
            if destination_tip is None:
                raise PullRequestRefused(PullRequestRefused.DESTINATION_MISSING, destination)
            if source == destination:
                raise PullRequestRefused(PullRequestRefused.SAME_BRANCH, source)
            if repo.git.is_ancestor(source_tip, destination_tip):
                raise PullRequestRefused(PullRequestRefused.NO_CHANGES, source)
            for pr in repo.pull_requests.values():
                if (
                    pr.state == OPEN
                    and pr.source_repo is None
                    and (pr.source, pr.destination) == (source, destination)
                ):
                    pr.title, pr.description, pr.reviewers = title, description, reviewers
                    pr.close_source_branch, pr.updated_on = close_source_branch, now_iso()
                    self.sync(repo)
                    return pr, False
            stamp = now_iso()
            pr = PullRequest(
                id=len(repo.pull_requests) + 1,
                title=title,
                description=description,
                source=source,
                destination=destination,
                author=author,
                reviewers=reviewers,
                close_source_branch=close_source_branch,
                draft=draft,
                created_on=stamp,
                updated_on=stamp,
            )
            repo.pull_requests[pr.id] = pr
            self.sync(repo)
            return pr, True

    def pull_requests(self, workspace: str, slug: str) -> list[dict[str, Any]]:
        """Every pull request of the repository (all states, by id), shaped as the API returns them."""
        repo = self._require(workspace, slug)
        with repo.lock:
            self.sync(repo)
            return [self.render_pull_request(repo, pr) for pr in repo.pull_requests.values()]

    def pull_request(self, repo: HostedRepository, pr_id: int) -> Optional[PullRequest]:
        with repo.lock:
            self.sync(repo)
            return repo.pull_requests.get(pr_id)

    def decline(self, repo: HostedRepository, pr: PullRequest, by: Account) -> None:
        with repo.lock:
            self.sync(repo)
            if pr.state != OPEN:
                raise ValueError(f"pull request #{pr.id} is {pr.state}, not OPEN")
            self._close(pr, DECLINED, by)

    def merge(self, repo: HostedRepository, pr: PullRequest, by: Account, *, squash: bool = False) -> str:
        """A real merge (or squash) commit on the destination; deletes the source branch when the
        pull request says `close_source_branch`. Needs git >= 2.38 (merge-tree --write-tree)."""
        with repo.lock:
            self.sync(repo)
            if pr.state != OPEN:
                raise ValueError(f"pull request #{pr.id} is {pr.state}, not OPEN")
            source_tip, destination_tip = repo.tip(pr.source), repo.tip(pr.destination)
            assert source_tip and destination_tip
            tree = repo.git.merge_trees(destination_tip, source_tip)
            message = f"Merged in {pr.source} (pull request #{pr.id})\n\n{pr.title}"
            parents = [destination_tip] if squash else [destination_tip, source_tip]
            person = Person(by.display_name, by.email or f"{by.nickname}@example.com")
            merged = repo.git.commit_tree(tree, parents, message, person)
            if not repo.git.update_branch(pr.destination, merged, destination_tip):
                raise RuntimeError(f"branch {pr.destination} moved during the merge")
            pr.source_commit, pr.destination_commit, pr.merge_commit = source_tip, destination_tip, merged
            self._close(pr, MERGED, by)
            if pr.close_source_branch:
                repo.git.delete_branch(pr.source)
            return merged

    def merge_pull_request(self, workspace: str, slug: str, pr_id: int, squash: bool = False) -> str:
        repo = self._require(workspace, slug)
        pr = self.pull_request(repo, pr_id)
        if pr is None:
            raise KeyError(f"no pull request #{pr_id} in {workspace}/{slug}")
        return self.merge(repo, pr, self.maintainer, squash=squash)

    def decline_pull_request(self, workspace: str, slug: str, pr_id: int) -> None:
        repo = self._require(workspace, slug)
        pr = self.pull_request(repo, pr_id)
        if pr is None:
            raise KeyError(f"no pull request #{pr_id} in {workspace}/{slug}")
        self.decline(repo, pr, self.maintainer)
