"""GitHub (REST v3 plus the GraphQL port-gitops sends), the subset port-gitops uses, with the real
service's shapes and rules. This module holds the sandbox, its credentials and JSON shapes;
`github_api` the endpoints, `github_graphql` the GraphQL API, `github_web` the web host (pages and git
over smart HTTP).

Credentials: a personal access token (`token`, the bot user), and a GitHub App (`app_id` and
`app_private_key`, an RSA key made on first use): its RS256 JWT is verified with the App's public key,
and `POST /app/installations/{id}/access_tokens` mints installation tokens (`ghs_...`) limited to the
repositories asked for. Both go as `Authorization: Bearer ...` or `token ...`; git takes them as the
Basic password (user `x-access-token`).

Fidelity notes: errors are `{"message", "documentation_url", "status"}` (+ `errors` on a 422), every
API answer carries `x-ratelimit-*` headers, an injected 429/403 says "secondary rate limit" as GitHub
does. Pull requests are "open" or "closed" (a CodeHost DECLINED or MERGED pull request is "closed",
`merged` tells them apart). The repository's default reviewers stand for CODEOWNERS: GitHub requests
their review itself when a pull request is opened (drafts: not until ready), so clients add none.
A commit made with an installation token and no custom author/committer is signed by GitHub
(`verification.verified: true`), as on the real service.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

from port_gitops.sandbox.codehost import (
    DECLINED,
    MERGED,
    OPEN,
    Account,
    CodeHost,
    HostedRepository,
    PullRequest,
    basic_credentials,
    same_secret,
)
from port_gitops.sandbox.faults import RecordedRequest
from port_gitops.sandbox.server import App, Request

INSTALLATION_ID = 4242
APP_SLUG = "port-gitops"


@dataclass(frozen=True)
class InstallationToken:
    token: str
    repositories: frozenset[str]  # lower-case "owner/repo"; empty: every repository of the owner
    expires: float


class GitHubSandbox(CodeHost):
    """GitHub on loopback: `url` is the API base (api.github.com's role, GraphQL at `/graphql`),
    `web_url` github.com's role (`{web_url}/{owner}/{repo}`, git at `{web_url}/{owner}/{repo}.git`)."""

    username = "port-bot"  # the bot's login
    app_id = 123456
    has_labels = True
    has_team_reviewers = True
    credential_variable = "GITHUB_TOKEN"

    def is_write(self, request: RecordedRequest) -> bool:
        return request.path != "/graphql" and super().is_write(request)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = "github_pat_" + secrets.token_urlsafe(30)
        self.app_bot = self.add_user(
            f"{APP_SLUG}[bot]", email=f"{self.app_id}+{APP_SLUG}[bot]@users.noreply.github.com"
        )
        self._installation_tokens: dict[str, InstallationToken] = {}
        self._key_lock = threading.Lock()
        self._private_key: Optional[str] = None
        self._public_key: Optional[Any] = None
        self.remaining = 5000  # x-ratelimit-remaining of the next answer
        self.signed: set[str] = set()  # commits GitHub signed (made by the App without a custom identity)

    # --- what the tests and the tool see ----------------------------------------------------------

    def client_env(self, owner: str) -> dict[str, str]:
        return {
            "GITHUB_API_URL": self.url,
            "GITHUB_WEB_URL": self.web_url,
            "GITHUB_OWNER": owner,
            "GITHUB_TOKEN": self.token,
        }

    def app_env(self) -> dict[str, Optional[str]]:
        """The environment of the App credential instead of the token (None: unset)."""
        return {
            "GITHUB_TOKEN": None,
            "GITHUB_APP_ID": str(self.app_id),
            "GITHUB_APP_PRIVATE_KEY": self.app_private_key,
        }

    def access_token_env(self, token: str) -> dict[str, Optional[str]]:
        """An installation token handed over in GITHUB_TOKEN (Jenkins' GitHub App credential,
        actions/create-github-app-token): the host takes `access_token` as one."""
        return {"GITHUB_TOKEN": token}

    def access_header(self, token: str) -> str:
        return f"token {token}"  # PyGithub's scheme for a token

    def clone_url(self, workspace: str, slug: str) -> str:
        return self.web_href(self._require(workspace, slug), ".git")

    def api_app(self) -> App:
        from port_gitops.sandbox.github_api import GitHubApi

        return GitHubApi(self)

    def web_app(self) -> App:
        from port_gitops.sandbox.github_web import GitHubWeb

        return GitHubWeb(self)

    # --- credentials ------------------------------------------------------------------------------

    @property
    def app_private_key(self) -> str:
        """The App's private key (PEM), made on first use (an RSA key takes a moment)."""
        self._app_keys()
        assert self._private_key is not None
        return self._private_key

    def _app_keys(self) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        with self._key_lock:
            if self._public_key is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self._private_key = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                ).decode()
                self._public_key = key.public_key()
            return self._public_key

    def verify_app_jwt(self, token: str) -> Optional[str]:
        """None when `token` is a valid JWT of our App (RS256, signed with its key, `iss` its id, not
        expired, at most 10 minutes long); else GitHub's message for it."""
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._app_keys(),
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=60,
            )
        except jwt.ExpiredSignatureError:
            return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"  # noqa: E501
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        if str(claims.get("iss")) != str(self.app_id):
            return "Integration not found"
        if int(claims["exp"]) - int(claims["iat"]) > 660:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    def mint_installation_token(self, repositories: frozenset[str]) -> InstallationToken:
        minted = InstallationToken("ghs_" + secrets.token_urlsafe(27), repositories, time.time() + 3600)
        with self._lock:
            self._installation_tokens[minted.token] = minted
        return minted

    def installation_token(self, token: str) -> Optional[InstallationToken]:
        with self._lock:
            found = self._installation_tokens.get(token)
        return found if found is not None and found.expires > time.time() else None

    def presented_token(self, request: Request) -> str:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "token"):
            return value.strip()
        credentials = basic_credentials(request)
        return credentials[1] if credentials else ""

    def authenticate(self, request: Request) -> Optional[Account]:
        """The bot for the personal access token, the App's bot for an installation token (the
        repository restriction is checked per request by the API)."""
        token = self.presented_token(request)
        if token and same_secret(token, self.token):
            return self.bot
        if token and (self.installation_token(token) is not None or same_secret(token, self.access_token)):
            return self.app_bot  # `access_token`: an installation token minted elsewhere
        return None

    def may_access(self, request: Request, repo: HostedRepository) -> bool:
        minted = self.installation_token(self.presented_token(request))
        return minted is None or not minted.repositories or repo.full_name.lower() in minted.repositories

    def repository_named(self, name: str) -> Optional[HostedRepository]:
        """The repository called `name` under any owner (an installation token names them without)."""
        with self._lock:
            return next((r for (_, slug), r in self._repositories.items() if slug == name.lower()), None)

    def account_by_login(self, login: str) -> Optional[Account]:
        with self._lock:
            return next((a for a in self._accounts.values() if a.nickname.lower() == login.lower()), None)

    def rate_headers(self) -> dict[str, str]:
        with self._lock:
            self.remaining = max(self.remaining - 1, 1)
            remaining = self.remaining
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(5000 - remaining),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
        }

    # --- pull requests: what GitHub does on its own -----------------------------------------------

    def open_github_pull_request(
        self,
        repo: HostedRepository,
        *,
        title: str,
        description: str,
        source: str,
        destination: str,
        author: Account,
        draft: bool,
    ) -> tuple[PullRequest, bool]:
        """Like `open_pull_request`, and the code owners (the default reviewers) are requested on a
        pull request that is ready for review."""
        owners = [a for a in repo.default_reviewers if a != author] if not draft else []
        with repo.lock:
            for pr in repo.pull_requests.values():
                if pr.state == OPEN and pr.source == source and pr.source_repo is None:
                    return pr, False  # GitHub refuses a second one (the API answers 422)
            pr, created = self.open_pull_request(
                repo,
                title=title,
                description=description,
                source=source,
                destination=destination,
                author=author,
                reviewers=owners,
                close_source_branch=False,
                draft=draft,
            )
        return pr, created

    # --- JSON shapes ------------------------------------------------------------------------------

    def api_href(self, repo: HostedRepository, tail: str = "") -> str:
        return f"{self.url}/repos/{repo.full_name}{tail}"

    def web_href(self, repo: HostedRepository, tail: str = "") -> str:
        return f"{self.web_url}/{repo.full_name}{tail}"

    def user_json(self, account: Account) -> dict[str, Any]:
        login = account.nickname
        is_bot = login.endswith("[bot]")
        return {
            "login": login,
            "id": abs(hash(account.uuid)) % 10**8,
            "node_id": "U_" + account.account_id[:16],
            "avatar_url": f"{self.web_url}/{login}.png",
            "url": f"{self.url}/users/{login}",
            "html_url": f"{self.web_url}/{login}",
            "type": "Bot" if is_bot else "User",
            "site_admin": False,
        }

    def owner_json(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": abs(hash(login)) % 10**8,
            "url": f"{self.url}/users/{login}",
            "html_url": f"{self.web_url}/{login}",
            "type": "Organization",
            "site_admin": False,
        }

    def repository_json(self, repo: HostedRepository) -> dict[str, Any]:
        return {
            "id": abs(hash(repo.uuid)) % 10**9,
            "node_id": "R_" + repo.uuid.strip("{}")[:16],
            "name": repo.slug,
            "full_name": repo.full_name,
            "private": True,
            "owner": self.owner_json(repo.workspace),
            "html_url": self.web_href(repo),
            "url": self.api_href(repo),
            "clone_url": self.web_href(repo, ".git"),
            "default_branch": repo.main_branch,
            "visibility": "private",
            "fork": False,
            "archived": False,
            "created_at": repo.created_on,
            "updated_at": repo.created_on,
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        }

    def commit_json(self, repo: HostedRepository, sha: str) -> dict[str, Any]:
        info = repo.git.commit_info(sha)
        verified = sha in self.signed
        person = {"name": info.author.name, "email": info.author.email, "date": info.date}
        return {
            "sha": sha,
            "node_id": "C_" + sha[:16],
            "url": self.api_href(repo, f"/git/commits/{sha}"),
            "html_url": self.web_href(repo, f"/commit/{sha}"),
            "author": person,
            "committer": person,
            "message": info.message,
            "tree": {
                "sha": repo.git.tree_of(sha),
                "url": self.api_href(repo, f"/git/trees/{repo.git.tree_of(sha)}"),
            },
            "parents": [
                {
                    "sha": parent,
                    "url": self.api_href(repo, f"/git/commits/{parent}"),
                    "html_url": self.web_href(repo, f"/commit/{parent}"),
                }
                for parent in info.parents
            ],
            "verification": {
                "verified": verified,
                "reason": "valid" if verified else "unsigned",
                "signature": "-----BEGIN PGP SIGNATURE-----\n(sandbox)\n-----END PGP SIGNATURE-----\n"
                if verified
                else None,
                "payload": None,
                "verified_at": info.date if verified else None,
            },
        }

    def ref_json(self, repo: HostedRepository, branch: str, sha: str) -> dict[str, Any]:
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": "REF_" + sha[:12],
            "url": self.api_href(repo, f"/git/refs/heads/{branch}"),
            "object": {"type": "commit", "sha": sha, "url": self.api_href(repo, f"/git/commits/{sha}")},
        }

    def _end(self, repo: HostedRepository, branch: str, sha: Optional[str]) -> dict[str, Any]:
        return {
            "label": f"{repo.workspace}:{branch}",
            "ref": branch,
            "sha": sha or "",
            "user": self.owner_json(repo.workspace),
            "repo": self.repository_json(repo),
        }

    def render_pull_request(self, repo: HostedRepository, pr: PullRequest) -> dict[str, Any]:
        api = self.api_href(repo, f"/pulls/{pr.id}")
        closed = pr.state in (DECLINED, MERGED)
        return {
            "url": api,
            "id": 1000 + pr.id,
            "node_id": f"PR_{pr.id}",
            "html_url": self.web_href(repo, f"/pull/{pr.id}"),
            "diff_url": self.web_href(repo, f"/pull/{pr.id}.diff"),
            "issue_url": self.api_href(repo, f"/issues/{pr.id}"),
            "number": pr.id,
            "state": "closed" if closed else "open",
            "locked": False,
            "title": pr.title,
            "user": self.user_json(pr.author),
            "body": pr.description,
            "labels": [
                {"id": abs(hash(name)) % 10**6, "name": name, "color": "ededed", "default": False}
                for name in pr.labels
            ],
            "created_at": pr.created_on,
            "updated_at": pr.updated_on,
            "closed_at": pr.updated_on if closed else None,
            "merged_at": pr.updated_on if pr.state == MERGED else None,
            "merge_commit_sha": pr.merge_commit,
            "requested_reviewers": [self.user_json(a) for a in pr.reviewers],
            "requested_teams": [
                {"name": slug, "slug": slug, "url": f"{self.url}/teams/{slug}"} for slug in pr.team_reviewers
            ],
            "head": self._end(pr.source_repo or repo, pr.source, pr.source_commit),  # a fork's own repository
            "base": self._end(repo, pr.destination, pr.destination_commit),
            "draft": pr.draft,
            "merged": pr.state == MERGED,
            "maintainer_can_modify": False,
            "author_association": "NONE" if pr.author is self.app_bot else "MEMBER",
            "_links": {"self": {"href": api}, "html": {"href": self.web_href(repo, f"/pull/{pr.id}")}},
        }
