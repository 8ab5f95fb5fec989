"""GitHub (github.com and GitHub Enterprise Server, REST v3 plus one GraphQL query) behind the `Scm` seam,
through PyGithub's `Requester`.

PyGithub does what it does well here: credentials (a token, or a GitHub App's RS256 JWT through
`Auth.AppAuth`), URL building under the API prefix (GHES `/api/v3`, GraphQL beside it), JSON encoding.
It sends through *our* session: the Requester's connection (PyGithub's seam to its transport, which
otherwise builds a `requests.Session` of its own with urllib3 retries) is replaced by one on our
session, so our timeouts, CA bundle, proxies and User-Agent apply and `retry.py` is the only retry
policy; its request throttling (`seconds_between_*`) is off too. Every answer is classified by us from
the real `requests.Response`, never from PyGithub's exceptions.

Writes go through the Git Data API, never the contents API: a tree on the parent's tree (the new
content inline, so no separate blob request), a commit whose parent is the tip we read, then the ref
is created (a concurrent creator makes it 422 "Reference already exists": re-read) or moved with
`force: false`, which GitHub refuses unless the new commit descends from the branch's current tip, so a
branch someone pushed to since we read it is never overwritten (ScmConflict: re-read and decide
again). The contents API (`PUT contents` with the file's blob `sha`) only checks the file, not the
branch tip, and needs the branch to exist first.

Reads: told our branch and path up front (`read_ahead`, base.ReadsAhead), one GraphQL query
(`github_reads`) answers what the use case then asks one call after the other: the repository and its
default branch, both tips with their trees and first parents, port.yml's exact bytes at each tip, and
the open pull request from our branch. Whatever it cannot vouch for (text that is not the stored
bytes, an error it cannot place, an empty repository) is read over REST as before.

Request budget: a first enrichment takes 5: the query; tree, commit, ref; the pull request (plus one
each for reviewers and labels when asked). An unchanged re-run takes the query alone. A GitHub App
adds two (the repository's installation, then a token for this repository only), once per run.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, ClassVar, Collection, FrozenSet, Optional, Sequence
from urllib.parse import quote, urlsplit

import requests

from port_gitops.endpoint import Endpoint
from port_gitops.errors import UsageError
from port_gitops.http import USER_AGENT
from port_gitops.logsetup import register_secrets
from port_gitops.retry import RetryPolicy
from port_gitops.scm import github_reads
from port_gitops.scm.base import DRAFT, LABELS, TEAM_REVIEWERS, PullRequest, RepoInfo
from port_gitops.scm.common import (
    RequestRunner,
    error_for_status,
    json_of,
    refuse_a_file_parent,
    valid_branch,
    valid_file_path,
    valid_segment,
    valid_sha,
)
from port_gitops.scm.errors import (
    ScmAuthError,
    ScmConflict,
    ScmError,
    ScmForbidden,
    ScmNotFound,
    ScmPathNotAFile,
)
from port_gitops.scm.pygithub import Auth, Requester, RequestsResponse, jwt

log = logging.getLogger("port_gitops")

SERVICE = "GitHub"
API_VERSION = "2022-11-28"
_JSON = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
_RAW = {"Accept": "application/vnd.github.raw+json", "X-GitHub-Api-Version": API_VERSION}
_RATE_LIMIT_HINT = (
    " (GitHub allows 5,000 REST requests per hour per token, 15,000 for an App installation on Enterprise"
    " Cloud, plus secondary limits on bursts of writes)"
)
_TIMEOUT = 30  # PyGithub wants one; our session's adapter enforces its own whatever is passed
_PR_PAGE = 10  # open pull requests from one `owner:branch`: at most one unless forks interfere
_TRANSIENT_PR_WAIT = "the branch was created a moment ago"


def _segment(value: str, field: str) -> str:
    return valid_segment(value, field, safe="")


def _ref(branch: str) -> str:
    return quote(valid_branch(branch), safe="/")


class _Transport:
    """What PyGithub's Requester needs of a connection (`request`, `getresponse`, `close`), sent through
    our session. Keeps the last `requests.Response` so that our classification reads the real answer."""

    def __init__(self, session: requests.Session, scheme: str) -> None:
        self.session = session
        self.scheme = scheme
        self.last: Optional[requests.Response] = None

    def connection(self, host: str, port: Optional[int] = None, **kwargs: Any) -> _Connection:
        # PyGithub passes timeout, verify, retry and pool_size: ours come from the session.
        del kwargs
        return _Connection(self, host, port)


class _Connection:
    def __init__(self, transport: _Transport, host: str, port: Optional[int]) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self._pending: tuple[str, str, Any, dict[str, str]] = ("GET", "/", None, {})

    def request(self, verb: str, url: str, input: Any, headers: dict[str, str], stream: bool = False) -> None:
        del stream
        self._pending = (verb, url, input, headers)

    def getresponse(self) -> RequestsResponse:
        verb, url, body, headers = self._pending
        netloc = self.host if self.port is None else f"{self.host}:{self.port}"
        response = self.transport.session.request(
            verb,
            f"{self.transport.scheme}://{netloc}{url}",
            headers=headers,
            data=body,
            allow_redirects=False,
        )
        self.transport.last = response
        return RequestsResponse(response)

    def close(self) -> None:
        """The session is its owner's to close."""


def _requester(api_url: str, auth: Optional[Auth.Auth], transport: _Transport) -> Requester:
    requester = Requester(
        auth=auth,
        base_url=api_url,
        timeout=_TIMEOUT,
        user_agent=USER_AGENT,
        per_page=_PR_PAGE,
        verify=True,
        retry=0,
        pool_size=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    # PyGithub picks its connection class in __init__; every request it sends goes through this one.
    requester._Requester__connectionClass = transport.connection  # type: ignore[attr-defined]
    return requester


def _error_body(response: requests.Response) -> dict[str, Any]:
    """GitHub's `{"message", "errors", "documentation_url"}`; {} for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_text(body: dict[str, Any]) -> str:
    text = str(body.get("message") or "").strip()
    details = []
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            detail = item.get("message") or " ".join(
                str(item[k]) for k in ("resource", "field", "code") if item.get(k)
            )
            details.append(str(detail))
        elif item:
            details.append(str(item))
    return text + (f" ({'; '.join(details)})" if details else "")


def _says(response: requests.Response, *phrases: str) -> bool:
    text = _error_text(_error_body(response)).lower()
    return any(phrase.lower() in text for phrase in phrases)


def _pull_request(data: dict[str, Any]) -> PullRequest:
    users = [str(u.get("login")) for u in data.get("requested_reviewers") or [] if u.get("login")]
    return PullRequest(
        id=int(data["number"]),
        url=str(data.get("html_url") or ""),
        title=str(data.get("title") or ""),
        description=str(data.get("body") or ""),
        source=str(data["head"]["ref"]),
        destination=str(data["base"]["ref"]),
        reviewers=tuple(users),
    )


def _tips_query(count: int) -> str:
    """One GraphQL query for the tips (and their trees) of `count` branches: `$q0`, `$q1`, ..."""
    names = ", ".join(f"$q{i}: String!" for i in range(count))
    refs = " ".join(
        f"b{i}: ref(qualifiedName: $q{i}) {{ target {{ oid ... on Commit {{ tree {{ oid }} }} }} }}"
        for i in range(count)
    )
    return (
        f"query($owner: String!, $name: String!, {names}) "
        f"{{ repository(owner: $owner, name: $name) {{ {refs} }} }}"
    )


def _is_listing(response: requests.Response) -> bool:
    """A contents answer that lists a directory (a JSON array) rather than a file's bytes or metadata."""
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        return isinstance(response.json(), list)
    except ValueError:
        return False


class GitHubScm:
    features: ClassVar[FrozenSet[str]] = frozenset({DRAFT, LABELS, TEAM_REVIEWERS})

    def __init__(
        self,
        api_url: str,
        owner: str,
        repo: str,
        *,
        token: Optional[str],
        app_id: Optional[str] = None,
        app_private_key: Optional[str] = None,
        session: requests.Session,
        policy: RetryPolicy,
        url_setting: Optional[str] = None,  # the setting that names the URL, for connection failures
    ) -> None:
        register_secrets([token, app_private_key])
        if not token and not (app_id and app_private_key):
            raise UsageError("set GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY")
        self._api_url = api_url
        self._transport = _Transport(session, urlsplit(api_url).scheme)
        self._requests = RequestRunner(
            policy, Endpoint(api_url, url_setting), _RATE_LIMIT_HINT, product=SERVICE
        )
        self._app = (app_id, app_private_key) if not token else None
        self._credential = "GITHUB_TOKEN" if token else "the installation token of GITHUB_APP_ID"
        self._api: Optional[Requester] = (
            _requester(api_url, Auth.Token(token), self._transport) if token else None
        )
        self.owner, self.name = owner, repo
        self.full_name = f"{owner}/{repo}"
        self._repo = f"/repos/{_segment(owner, 'owner')}/{_segment(repo, 'repository')}"
        self._trees: dict[str, str] = {}  # commit SHA -> its tree SHA, as the tips query told us
        # What the read-ahead query told. By commit SHA (immutable: kept): parents, the file at a path.
        # Tips and open pull requests change: each answers one call, and any write forgets them.
        self._ahead: Optional[tuple[str, str]] = None  # (our branch, the file's path)
        self._parents: dict[str, list[str]] = {}
        self._files: dict[tuple[str, str], github_reads.FileAt] = {}
        self._fresh_tips: Optional[dict[str, Optional[str]]] = None
        self._fresh_pulls: Optional[list[dict[str, Any]]] = None

    # -- one request, retried by the policy, errors classified --------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool,
        body: Any = None,
        params: Optional[dict[str, Any]] = None,
        raw: bool = False,
        passthrough: Collection[int] = (),
        transient: Optional[Callable[[BaseException], Optional[str]]] = None,
        requester: Optional[Requester] = None,
        read: Optional[bool] = None,
    ) -> requests.Response:
        api = requester or self._authorised()
        if method != "GET" and not read:  # a write: what we read ahead may be out of date now
            self._fresh_tips = self._fresh_pulls = None

        def send() -> requests.Response:
            self._transport.last = None
            api.requestJson(method, path, parameters=params, headers=dict(_RAW if raw else _JSON), input=body)
            assert self._transport.last is not None, "PyGithub sent through another connection"
            return self._transport.last

        return self._requests.run(
            send,
            what=what,
            idempotent=idempotent,
            passthrough=passthrough,
            refused=lambda response: self._refused(response, what),
            transient=transient,
            read=read,
        )

    def _json(self, response: requests.Response, what: str) -> Any:
        return json_of(response, what, SERVICE)

    def _refused(self, response: requests.Response, what: str) -> ScmError:
        status = response.status_code
        text = _error_text(_error_body(response)) or str(response.reason or "")
        prefix = f"GitHub: {what}: HTTP {status}"
        if status == 401:
            return ScmAuthError(
                f"{prefix}: GitHub rejected {self._credential}: {text}. Use a fine-grained token (or an "
                "installation token) with Contents and Pull requests read/write on the repository",
                status=status,
            )
        if status == 404:
            return ScmNotFound(
                f"{prefix}: {self.full_name} not found or no access: a private repository the token "
                "cannot see looks the same as a missing one",
                status=status,
            )
        if status == 403 or (status == 422 and _says(response, "protected branch", "branch protection")):
            if _says(response, "protected branch", "branch protection", "repository rule", "ruleset"):
                return ScmForbidden(f"{prefix}: branch protection refused the write: {text}", status=status)
            return ScmForbidden(
                f"{prefix}: {text}; {self._credential} needs Contents and Pull requests read/write "
                "(a classic token: the repo scope)",
                status=status,
            )
        return error_for_status(status, f"{prefix}: {text}")

    # -- credentials -----------------------------------------------------------------------------
    def _authorised(self) -> Requester:
        if self._api is None:
            self._api = _requester(self._api_url, Auth.Token(self._installation_token()), self._transport)
        return self._api

    def _installation_token(self) -> str:
        """A GitHub App's installation token for this repository only: JWT -> the repository's
        installation -> an access token limited to the repository."""
        assert self._app is not None
        app_id, key = self._app
        try:
            app = Auth.AppAuth(str(app_id), str(key))  # a string `iss`: PyJWT >= 2.10 refuses an int
            app.create_jwt()  # fail here, once, on a key that cannot sign
        except (ValueError, TypeError, jwt.PyJWTError) as exc:  # PyJWT is PyGithub's dependency
            raise UsageError(
                f"GITHUB_APP_PRIVATE_KEY: not a usable RSA private key in PEM form ({type(exc).__name__})"
            ) from None
        as_app = _requester(self._api_url, app, self._transport)
        what = f"find the GitHub App installation on {self.full_name}"
        installation = self._json(
            self._call("GET", f"{self._repo}/installation", what=what, idempotent=True, requester=as_app),
            what,
        )
        what = "mint an installation token"
        minted = self._json(
            self._call(
                "POST",
                f"/app/installations/{int(installation['id'])}/access_tokens",
                what=what,
                idempotent=True,  # a second token is harmless
                body={"repositories": [self.name]},
                requester=as_app,
            ),
            what,
        )
        token = str(minted["token"])
        register_secrets([token])
        return token

    # -- reads -----------------------------------------------------------------------------------
    def read_ahead(self, branch: str, path: str) -> None:
        """base.ReadsAhead: the names the first reads will be about; no request."""
        self._ahead = (branch, path)

    def repository(self) -> RepoInfo:
        if self._ahead is not None:
            snapshot = self._query_ahead([self._ahead[0]], default_branch=True)
            if snapshot is not None and snapshot.default_branch is not None:
                return RepoInfo(
                    full_name=snapshot.full_name or self.full_name,
                    default_branch=snapshot.default_branch,
                    web_url=snapshot.url,
                )
            # No default branch ref (an empty repository): REST names the branch it is to have.
        what = f"read repository {self.full_name}"
        data = self._json(self._call("GET", self._repo, what=what, idempotent=True), what)
        return RepoInfo(
            full_name=str(data.get("full_name") or self.full_name),
            default_branch=data.get("default_branch") or None,
            web_url=data.get("html_url"),
        )

    def branch_tip(self, branch: str) -> Optional[str]:
        return self.branch_tips([branch])[branch]

    def branch_tips(self, branches: Sequence[str]) -> dict[str, Optional[str]]:
        fresh, self._fresh_tips = self._fresh_tips, None  # one answer each: the next asks again
        if fresh is not None and all(b in fresh for b in branches):
            return {b: fresh[b] for b in branches}
        if self._ahead is not None and self._ahead[0] in branches:  # --base given: no repository()
            snapshot = self._query_ahead(list(branches), default_branch=False)
            if snapshot is not None:
                self._fresh_tips = None
                return {b: snapshot.tips.get(b) for b in branches}
        what = "read branches " + ", ".join(branches)
        variables: dict[str, Any] = {"owner": self.owner, "name": self.name}
        variables.update({f"q{i}": f"refs/heads/{valid_branch(b)}" for i, b in enumerate(branches)})
        repository = self._graphql(_tips_query(len(branches)), variables, what)["data"]["repository"]
        tips: dict[str, Optional[str]] = {}
        for i, branch in enumerate(branches):
            target = (repository.get(f"b{i}") or {}).get("target") or {}
            tip = target.get("oid")
            tips[branch] = str(tip) if tip else None
            tree = (target.get("tree") or {}).get("oid")
            if tip and tree:
                self._trees[str(tip)] = str(tree)
        return tips

    def _graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """The answer to a query about this repository; ScmNotFound/ScmError when it has no repository."""
        response = self._call(
            "POST",
            self._authorised().graphql_url,
            what=what,
            idempotent=True,
            read=True,  # a query: a POST that only reads
            body={"query": query, "variables": variables},
        )
        answer = self._json(response, what)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("repository"), dict):
            errors = github_reads.errors_of(answer)
            message = "; ".join(str(e.get("message")) for e in errors)
            if github_reads.not_found(answer) is not None:
                raise ScmNotFound(f"GitHub: {what}: {self.full_name} not found or no access: {message}")
            raise ScmError(f"GitHub: {what}: {message or 'no answer'}")
        return dict(answer)

    def _query_ahead(self, branches: list[str], *, default_branch: bool) -> Optional[github_reads.Snapshot]:
        """One query for `branches` (and the default branch): keeps what it vouches for; None when
        its answer cannot be trusted as a whole (the caller then reads as if it had not asked)."""
        assert self._ahead is not None
        ours, path = self._ahead
        file_path = valid_file_path(path)
        variables: dict[str, Any] = {"owner": self.owner, "name": self.name, "path": file_path, "head": ours}
        variables.update({f"q{i}": f"refs/heads/{valid_branch(b)}" for i, b in enumerate(branches)})
        named = ", ".join(["the default branch", *branches] if default_branch else branches)
        what = f"read {self.full_name} ({named}, {file_path}, open pull requests)"
        query = github_reads.read_query(len(branches), default_branch=default_branch, pulls=True)
        answer = self._graphql(query, variables, what)
        snapshot = github_reads.parse(answer, branches, default_branch=default_branch, pulls=True)
        if snapshot is None:
            log.debug("%s: an answer with errors we cannot place; reading over REST", what)
            return None
        for oid, tip in snapshot.commits.items():
            if tip.tree:
                self._trees[oid] = tip.tree
            if tip.parents is not None:
                self._parents[oid] = tip.parents
            if tip.file is not None:
                self._files[(oid, file_path)] = tip.file
        self._fresh_tips, self._fresh_pulls = snapshot.tips, snapshot.pulls
        return snapshot

    def commit_parents(self, commit: str) -> list[str]:
        if commit in self._parents:
            return list(self._parents[commit])
        what = f"read commit {commit[:12]}"
        data = self._read_commit(commit, what)
        return [str(p["sha"]) for p in data.get("parents") or []]

    def _read_commit(self, commit: str, what: str) -> dict[str, Any]:
        response = self._call(
            "GET", f"{self._repo}/git/commits/{valid_sha(commit)}", what=what, idempotent=True
        )
        data = self._json(response, what)
        self._trees[commit] = str(data["tree"]["sha"])
        return dict(data)

    def read_file(self, commit: str, path: str) -> Optional[bytes]:
        file_path = valid_file_path(path)
        known = self._files.get((commit, file_path))
        if isinstance(known, bytes):
            return known
        if known is github_reads.DIRECTORY:
            raise ScmPathNotAFile(path, commit)
        if known is github_reads.ABSENT:
            refuse_a_file_parent(path, commit, lambda parent: self._is_file_at(commit, parent))
            return None
        response = self._contents(commit, file_path, raw=True)
        if response.status_code != 404:
            if _is_listing(response):  # a directory answers its listing even when raw is asked for
                raise ScmPathNotAFile(path, commit)
            return response.content
        # Absent: fine, unless a parent is a file (writing there would replace that file).
        refuse_a_file_parent(path, commit, lambda parent: self._is_file_at(commit, parent))
        return None

    def _is_file_at(self, commit: str, path: str) -> Optional[bool]:
        found = self._contents(commit, path, raw=False)
        return None if found.status_code == 404 else not _is_listing(found)

    def _contents(self, commit: str, path: str, *, raw: bool) -> requests.Response:
        return self._call(
            "GET",
            f"{self._repo}/contents/{quote(path)}",
            what=f"read {path} at {commit[:12]}",
            idempotent=True,
            params={"ref": valid_sha(commit)},
            raw=raw,
            passthrough=(404,),
        )

    def find_open_pr(self, branch: str) -> Optional[PullRequest]:
        pulls, self._fresh_pulls = self._fresh_pulls, None
        if pulls is not None and self._ahead is not None and branch == self._ahead[0]:
            found = github_reads.open_pull_request(pulls, branch, self.full_name)
            if found is not None or len(pulls) < github_reads.PR_PAGE:  # a full page may hide ours
                return found
        what = f"find the open pull request from {branch}"
        response = self._call(
            "GET",
            f"{self._repo}/pulls",
            what=what,
            idempotent=True,
            # `head` is `OWNER:branch`: a fork's branch of the same name is never ours.
            params={"head": f"{self.owner}:{valid_branch(branch)}", "state": "open", "per_page": _PR_PAGE},
        )
        for data in self._json(response, what) or []:
            head = data.get("head") or {}
            repo = head.get("repo") or {}
            if head.get("ref") == branch and str(repo.get("full_name", "")).lower() == self.full_name.lower():
                return _pull_request(data)
        return None

    def default_reviewers(self) -> list[str]:
        """None to add: GitHub requests reviews from the CODEOWNERS itself when the pull request opens."""
        return []

    # -- writes ----------------------------------------------------------------------------------
    def commit_file(
        self,
        *,
        branch: str,
        path: str,
        content: bytes,
        message: str,
        parent: str,
        create_from: Optional[str],
        author: Optional[str],
    ) -> str:
        what = f"commit {path} on {branch}"
        tree = self._trees.get(valid_sha(parent)) or str(self._read_commit(parent, what)["tree"]["sha"])
        entry = {"path": valid_file_path(path), "mode": "100644", "type": "blob", "content": content.decode()}
        new_tree = self._json(
            self._call(
                "POST",
                f"{self._repo}/git/trees",
                what=what,
                idempotent=True,  # trees are content-addressed: a replay makes the same one
                body={"base_tree": tree, "tree": [entry]},
            ),
            what,
        )["sha"]
        body: dict[str, Any] = {"message": message, "tree": new_tree, "parents": [parent]}
        if author:
            name, _, email = author.rpartition(" <")
            body["author"] = body["committer"] = {"name": name, "email": email.rstrip(">")}
        # A replay makes a second, unreferenced commit object at most: only the ref below publishes one.
        commit = str(
            self._json(
                self._call("POST", f"{self._repo}/git/commits", what=what, idempotent=True, body=body), what
            )["sha"]
        )
        if create_from is not None and self._create_ref(branch, commit, what):
            return commit
        self._move_ref(branch, commit, what)
        return commit

    def _create_ref(self, branch: str, commit: str, what: str) -> bool:
        """True when the branch now points at `commit`; False when the branch exists (move it then, so
        `force: false` decides); ScmConflict when it exists elsewhere and moving it is not ours to do."""
        response = self._call(
            "POST",
            f"{self._repo}/git/refs",
            what=what,
            idempotent=True,  # a replay meets 422 "Reference already exists" and is resolved below
            body={"ref": f"refs/heads/{valid_branch(branch)}", "sha": commit},
            passthrough=(409, 422),
        )
        if response.status_code < 400:
            return True
        if not _says(response, "already exists"):
            raise self._refused(response, what)
        tip = self.branch_tip(branch)
        if tip == commit:
            log.info("%s: branch %s exists already at our commit (a replayed create)", what, branch)
            return True
        raise ScmConflict(f"GitHub: {what}: the branch was created by someone else meanwhile", status=422)

    def _move_ref(self, branch: str, commit: str, what: str) -> None:
        response = self._call(
            "PATCH",
            f"{self._repo}/git/refs/heads/{_ref(branch)}",
            what=what,
            idempotent=True,  # moving to the same commit again is a no-op
            body={"sha": commit, "force": False},
            passthrough=(409, 422),
        )
        if response.status_code >= 400:
            if _says(response, "protected branch", "branch protection", "repository rule"):
                raise self._refused(response, what)
            raise ScmConflict(
                f"GitHub: {what}: the branch moved since we read it ({_error_text(_error_body(response))})",
                status=response.status_code,
            )

    def create_pr(
        self,
        *,
        branch: str,
        base: str,
        title: str,
        description: str,
        reviewers: Sequence[str],
        labels: Sequence[str] = (),
        team_reviewers: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        what = f"open a pull request {branch} -> {base}"
        body = {
            "title": title,
            "body": description,
            "head": valid_branch(branch),
            "base": valid_branch(base),
            "draft": draft,
            "maintainer_can_modify": False,
        }
        try:
            response = self._call(
                "POST",
                f"{self._repo}/pulls",
                what=what,
                idempotent=True,  # a replay meets 422 "A pull request already exists" and takes it over
                body=body,
                transient=functools.partial(_fresh_head, branch=branch),
            )
            pr = _pull_request(self._json(response, what))
        except ScmError as exc:
            if exc.status != 422 or "a pull request already exists" not in exc.message.lower():
                raise
            found = self.find_open_pr(branch)
            if found is None:
                raise ScmConflict(
                    f"GitHub: {what}: GitHub says one exists, but none is open", status=422
                ) from exc
            log.info("%s: pull request #%d exists already; taking it over", what, found.id)
            pr = self.update_pr(found, title=title, description=description)
        if reviewers or team_reviewers:
            pr = self._request_reviews(pr, reviewers, team_reviewers)
        if labels:
            what = f"label pull request #{pr.id}"
            self._call(
                "POST",
                f"{self._repo}/issues/{pr.id}/labels",
                what=what,
                idempotent=True,  # adding labels twice leaves them once
                body={"labels": list(labels)},
            )
        return pr

    def _request_reviews(
        self, pr: PullRequest, reviewers: Sequence[str], team_reviewers: Sequence[str]
    ) -> PullRequest:
        what = f"request reviews on pull request #{pr.id}"
        body = {"reviewers": list(reviewers), "team_reviewers": list(team_reviewers)}
        response = self._call(
            "POST",
            f"{self._repo}/pulls/{pr.id}/requested_reviewers",
            what=what,
            idempotent=True,  # requesting the same reviewers again changes nothing
            body=body,
            passthrough=(422,),
        )
        if response.status_code == 422:
            # e.g. the author cannot review their own pull request, or a user is not a collaborator:
            # a pull request without those reviewers beats a failed run.
            log.warning(
                "%s: GitHub refused them (%s); left without", what, _error_text(_error_body(response))
            )
            return pr
        return _pull_request(self._json(response, what))

    def update_pr(self, pr: PullRequest, *, title: str, description: str) -> PullRequest:
        what = f"update pull request #{pr.id}"
        # PATCH leaves reviewers and labels alone: nothing to read first.
        response = self._call(
            "PATCH",
            f"{self._repo}/pulls/{pr.id}",
            what=what,
            idempotent=True,
            body={"title": title, "body": description},
        )
        data = self._json(response, what)
        if data.get("state") != "open":
            raise ScmConflict(f"GitHub: {what}: it is {data.get('state')} now", status=None)
        return _pull_request(data)

    def decline_pr(self, pr: PullRequest) -> None:
        self._call(
            "PATCH",
            f"{self._repo}/pulls/{pr.id}",
            what=f"close pull request #{pr.id}",
            idempotent=True,
            body={"state": "closed"},
        )

    def delete_branch(self, branch: str) -> None:
        self._call(
            "DELETE",
            f"{self._repo}/git/refs/heads/{_ref(branch)}",
            what=f"delete branch {branch}",
            idempotent=True,
            passthrough=(404, 422),  # already gone ("Reference does not exist")
        )


def _fresh_head(exc: BaseException, *, branch: str) -> Optional[str]:
    """GitHub may not see a branch created a moment ago yet: its pull request create then answers 422
    with `head` invalid. Transient; anything else (e.g. "already exists") is not."""
    response = getattr(exc, "response", None)
    if not isinstance(response, requests.Response) or response.status_code != 422:
        return None
    for item in _error_body(response).get("errors") or []:
        if isinstance(item, dict) and item.get("field") == "head" and item.get("code") == "invalid":
            return f"HTTP 422: head {branch} not visible yet ({_TRANSIENT_PR_WAIT})"
    return None
