"""The GitHub endpoints of the sandbox (see `github` for the credentials and the fidelity notes):
routing, the error shapes, and each endpoint's rules.

Under /repos/{owner}/{repo}: the repository; `installation` (App JWT); contents/{path} (raw or JSON);
git/commits/{sha} (GET, POST), git/trees (POST, with `base_tree` and inline `content`), git/refs (POST
create: 422 "Reference already exists"), git/refs/heads/{branch} (GET, PATCH with `force`: 422 "Update
is not a fast forward", DELETE); pulls (list with `head=OWNER:branch`, `state`, `base`; POST: 422 "A
pull request already exists", 422 `head` invalid), pulls/{n} (GET, PATCH title/body/state),
pulls/{n}/requested_reviewers (POST), issues/{n}/labels (POST). Also POST
/app/installations/{id}/access_tokens (App JWT) and POST /graphql (`github_graphql`: the part of the
schema port-gitops reads).
"""

from __future__ import annotations

import base64
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote

from port_gitops.sandbox.bitbucket_api import Route, dispatch
from port_gitops.sandbox.codehost import OPEN, Account, HostedRepository, PullRequestRefused, now_iso
from port_gitops.sandbox.github import INSTALLATION_ID
from port_gitops.sandbox.github_graphql import execute
from port_gitops.sandbox.gitstore import GitError, Person
from port_gitops.sandbox.server import GATEWAY_STATUSES, Request, Response, gateway_page

if TYPE_CHECKING:
    from port_gitops.sandbox.github import GitHubSandbox

DOCS = "https://docs.github.com/rest"
SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach "
    "out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000."
)
_SHA = re.compile(r"[0-9a-f]{40}")
_MODES = {"100644", "100755", "120000"}


def error(
    status: int,
    message: str,
    *,
    errors: Optional[list[Any]] = None,
    headers: Optional[dict[str, str]] = None,
    docs: str = DOCS,
) -> Response:
    body: dict[str, Any] = {"message": message, "documentation_url": docs, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return Response.json(status, body, headers)


def validation_failed(*errors: dict[str, Any]) -> Response:
    return error(422, "Validation Failed", errors=list(errors))


def status_answer(status: int) -> Response:
    """What the real service answers with a bare status (for injected faults and crashes)."""
    if status in GATEWAY_STATUSES:
        return gateway_page(status)
    if status in (403, 429):
        return error(status, SECONDARY_RATE_LIMIT, docs=f"{DOCS}/overview/rate-limits-for-the-rest-api")
    if status == 401:
        return error(401, "Bad credentials")
    return error(status, HTTPStatus(status).phrase if status != 500 else "Server Error")


class GitHubApi:
    def __init__(self, host: GitHubSandbox) -> None:
        self.host = host
        # (method, pattern on the percent-decoded rest of the path after /repos/{owner}/{repo}, handler)
        self.routes: list[Route] = [
            ("GET", re.compile(r""), self.get_repository),
            ("GET", re.compile(r"/contents/(?P<path>.+)"), self.get_contents),
            ("GET", re.compile(r"/git/commits/(?P<sha>[^/]+)"), self.get_commit),
            ("POST", re.compile(r"/git/commits"), self.create_commit),
            ("POST", re.compile(r"/git/trees"), self.create_tree),
            ("POST", re.compile(r"/git/refs"), self.create_ref),
            ("GET", re.compile(r"/git/refs?/heads/(?P<branch>.+)"), self.get_ref),
            ("PATCH", re.compile(r"/git/refs/heads/(?P<branch>.+)"), self.update_ref),
            ("DELETE", re.compile(r"/git/refs/heads/(?P<branch>.+)"), self.delete_ref),
            ("GET", re.compile(r"/pulls"), self.list_pulls),
            ("POST", re.compile(r"/pulls"), self.create_pull),
            ("GET", re.compile(r"/pulls/(?P<number>\d+)"), self.get_pull),
            ("PATCH", re.compile(r"/pulls/(?P<number>\d+)"), self.update_pull),
            ("POST", re.compile(r"/pulls/(?P<number>\d+)/requested_reviewers"), self.request_reviewers),
            ("POST", re.compile(r"/issues/(?P<number>\d+)/labels"), self.add_labels),
        ]

    def error_response(self, status: int) -> Response:
        answer = status_answer(status)
        answer.headers.update(self.host.rate_headers())
        return answer

    def handle(self, request: Request) -> Response:
        answer = self._handle(request)
        if answer.status not in GATEWAY_STATUSES:
            answer.headers.update(self.host.rate_headers())
        return answer

    def _handle(self, request: Request) -> Response:
        segments = [unquote(s) for s in request.path.split("/")]
        if request.method == "POST" and request.path == f"/app/installations/{INSTALLATION_ID}/access_tokens":
            return self.create_installation_token(request)
        if request.path.startswith("/app/"):
            return error(404, "Not Found")
        if len(segments) == 5 and segments[1] == "repos" and segments[4] == "installation":
            return self.get_installation(request, segments[2], segments[3])
        account = self.host.authenticate(request)
        if account is None:
            if self.host.verify_app_jwt(self.host.presented_token(request)) is None:
                return error(403, "Resource not accessible by integration")  # a JWT is not for data
            return error(401, "Bad credentials")
        if request.path == "/graphql" and request.method == "POST":
            return self.graphql(request)
        if len(segments) < 4 or segments[1] != "repos":
            return error(404, "Not Found")
        repo = self.host.repository(segments[2], segments[3])
        if repo is None or not self.host.may_access(request, repo):
            return error(404, "Not Found")
        rest = "/" + "/".join(segments[4:]) if len(segments) > 4 else ""
        answer = dispatch(self.routes, request, rest.rstrip("/"), repo, account, refuse=error)
        return answer if answer is not None else error(404, "Not Found")

    # --- GitHub App ------------------------------------------------------------------------------

    def _jwt_refusal(self, request: Request) -> Optional[Response]:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return error(401, "A JSON web token could not be decoded")
        problem = self.host.verify_app_jwt(value.strip())
        return error(401, problem) if problem else None

    def get_installation(self, request: Request, owner: str, slug: str) -> Response:
        refused = self._jwt_refusal(request)
        if refused is not None:
            return refused
        if self.host.repository(owner, slug) is None:
            return error(404, "Not Found")
        return Response.json(
            200,
            {
                "id": INSTALLATION_ID,
                "app_id": self.host.app_id,
                "app_slug": "port-gitops",
                "target_type": "Organization",
                "account": self.host.owner_json(owner),
                "repository_selection": "selected",
                "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
                "access_tokens_url": f"{self.host.url}/app/installations/{INSTALLATION_ID}/access_tokens",
                "events": [],
                "created_at": now_iso(),
                "updated_at": now_iso(),
            },
        )

    def create_installation_token(self, request: Request) -> Response:
        refused = self._jwt_refusal(request)
        if refused is not None:
            return refused
        body = request.json_or_none() if request.body else {}
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON")
        names = body.get("repositories") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return validation_failed({"resource": "Installation", "field": "repositories", "code": "invalid"})
        # Repository names without the owner: the installation's owner is the sandbox's only one.
        found = [r for r in map(self.host.repository_named, names) if r is not None]
        if len(found) != len(names):
            return error(
                422,
                "There is at least one repository that does not exist or is not accessible to the parent "
                "installation.",
            )
        minted = self.host.mint_installation_token(frozenset(r.full_name.lower() for r in found))
        expires = now_iso()
        return Response.json(
            201,
            {
                "token": minted.token,
                "expires_at": expires,
                "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
                "repository_selection": "selected" if names else "all",
            },
        )

    # --- GraphQL (github_graphql: the schema subset, parsed and run for real) ----------------------

    def graphql(self, request: Request) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return error(400, "Problems parsing JSON")
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return error(400, "Problems parsing JSON")
        answer = execute(
            self.host, body["query"], variables, lambda repo: self.host.may_access(request, repo)
        )
        return Response.json(200, answer)

    # --- repository, contents, git data -----------------------------------------------------------

    def get_repository(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        return Response.json(200, self.host.repository_json(repo))

    def get_contents(self, request: Request, repo: HostedRepository, account: Account, path: str) -> Response:
        ref = request.first("ref") or repo.main_branch
        commit = repo.git.resolve(ref)
        if commit is None:
            return error(404, f"No commit found for the ref {ref}")
        entry = repo.git.entry(commit, path)
        if entry is not None and entry.type == "tree":
            # A directory answers its listing, as JSON, whatever the Accept header asks for.
            listing = repo.git.list_directory(commit, path) or []
            return Response.json(
                200,
                [
                    {
                        "type": "dir" if item.type == "tree" else "file",
                        "name": item.path.rsplit("/", 1)[-1],
                        "path": item.path,
                        "sha": item.sha,
                    }
                    for item in listing
                ],
            )
        if entry is None or entry.type != "blob":
            return error(404, "Not Found")
        data = repo.git.blob(entry.sha)
        if "raw" in request.headers.get("accept", ""):
            return Response(200, data, {"Content-Type": "application/vnd.github.raw; charset=utf-8"})
        return Response.json(
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": entry.path.rsplit("/", 1)[-1],
                "path": entry.path,
                "content": base64.b64encode(data).decode(),
                "sha": entry.sha,
                "url": self.host.api_href(repo, f"/contents/{entry.path}?ref={ref}"),
                "html_url": self.host.web_href(repo, f"/blob/{ref}/{entry.path}"),
            },
        )

    def get_commit(self, request: Request, repo: HostedRepository, account: Account, sha: str) -> Response:
        if repo.git.object_type(sha) != "commit":
            return error(404, "Not Found")
        return Response.json(200, self.host.commit_json(repo, sha))

    def create_tree(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict) or not isinstance(body.get("tree"), list):
            return error(400, "Problems parsing JSON")
        base = body.get("base_tree")
        if base is not None and (
            not isinstance(base, str) or repo.git.object_type(base) not in ("tree", "commit")
        ):
            return validation_failed({"resource": "Tree", "field": "base_tree", "code": "invalid"})
        files: dict[str, Optional[bytes]] = {}
        modes: dict[str, str] = {}
        for item in body["tree"]:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("path"), str)
                or item.get("mode") not in _MODES
            ):
                return validation_failed({"resource": "Tree", "field": "tree", "code": "invalid"})
            path = item["path"].strip("/")
            if "content" in item:
                if not isinstance(item["content"], str):
                    return validation_failed({"resource": "Tree", "field": "content", "code": "invalid"})
                files[path] = item["content"].encode("utf-8")
            elif item.get("sha") is None:
                files[path] = None  # `sha: null` deletes
            else:
                return error(422, "The sandbox creates tree entries from `content` only")
            modes[path] = str(item["mode"])
        try:
            tree = repo.git.write_tree(base, files, modes)
        except GitError as exc:
            return error(422, f"GitRPC::BadObjectState ({exc})")
        return Response.json(
            201,
            {
                "sha": tree,
                "url": self.host.api_href(repo, f"/git/trees/{tree}"),
                "tree": [],
                "truncated": False,
            },
        )

    def create_commit(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return error(400, "Problems parsing JSON")
        tree, parents = body.get("tree"), body.get("parents") or []
        if not isinstance(tree, str) or repo.git.object_type(tree) != "tree":
            return validation_failed({"resource": "Commit", "field": "tree", "code": "invalid"})
        if not isinstance(parents, list) or any(repo.git.object_type(str(p)) != "commit" for p in parents):
            return validation_failed({"resource": "Commit", "field": "parents", "code": "invalid"})
        custom = body.get("author") or body.get("committer")
        if isinstance(custom, dict) and custom.get("name") and custom.get("email"):
            person = Person(str(custom["name"]), str(custom["email"]))
        else:
            person = Person(
                account.display_name, account.email or f"{account.nickname}@users.noreply.github.com"
            )
        sha = repo.git.commit_tree(tree, [str(p) for p in parents], body["message"], person)
        # GitHub signs what it commits for an App installation without a custom identity.
        if account is self.host.app_bot and not custom:
            self.host.signed.add(sha)
        return Response.json(201, self.host.commit_json(repo, sha))

    def create_ref(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        ref, sha = (body.get("ref"), body.get("sha")) if isinstance(body, dict) else (None, None)
        if not isinstance(ref, str) or not isinstance(sha, str):
            return error(400, "Problems parsing JSON")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            return error(422, "Reference name must start with 'refs/' and have at least two slashes.")
        if not ref.startswith("refs/heads/"):
            return error(422, "The sandbox creates branches only")
        branch = ref[len("refs/heads/") :]
        with repo.lock:
            if not repo.git.is_valid_branch_name(branch):
                return error(422, f"{ref} is not a valid ref name.")
            if repo.git.object_type(sha) != "commit":
                return error(422, "Object does not exist")
            if repo.tip(branch) is not None or not repo.git.update_branch(branch, sha, None):
                return error(422, "Reference already exists")
            self.host.sync(repo)
        return Response.json(201, self.host.ref_json(repo, branch, sha))

    def get_ref(self, request: Request, repo: HostedRepository, account: Account, branch: str) -> Response:
        sha = repo.tip(branch)
        if sha is None:
            return error(404, "Not Found")
        return Response.json(200, self.host.ref_json(repo, branch, sha))

    def update_ref(self, request: Request, repo: HostedRepository, account: Account, branch: str) -> Response:
        body = request.json_or_none()
        sha = body.get("sha") if isinstance(body, dict) else None
        if not isinstance(sha, str):
            return error(400, "Problems parsing JSON")
        force = bool(body.get("force", False))
        with repo.lock:
            old = repo.tip(branch)
            if old is None:
                return error(422, "Reference does not exist")
            if repo.git.object_type(sha) != "commit":
                return error(422, "Object does not exist")
            if not force and old != sha and not repo.git.is_ancestor(old, sha):
                return error(422, "Update is not a fast forward")
            if not repo.git.update_branch(branch, sha, old):
                return error(422, "Reference cannot be updated")
            self.host.sync(repo)
        return Response.json(200, self.host.ref_json(repo, branch, sha))

    def delete_ref(self, request: Request, repo: HostedRepository, account: Account, branch: str) -> Response:
        if not self.host.delete_branch(repo, branch):
            return error(422, "Reference does not exist")
        return Response(204)

    # --- pull requests ----------------------------------------------------------------------------

    def list_pulls(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        state = request.first("state") or "open"
        head, base = request.first("head"), request.first("base")
        rendered = self.host.pull_requests(repo.workspace, repo.slug)
        values = []
        for pr in sorted(rendered, key=lambda p: -int(p["number"])):
            if state != "all" and pr["state"] != state:
                continue
            if head is not None:
                owner, _, branch = head.partition(":")
                # `head` is `user:ref-name`; without the owner GitHub matches nothing useful: neither do we.
                if not branch or pr["head"]["label"].lower() != f"{owner.lower()}:{branch.lower()}":
                    continue
            if base is not None and pr["base"]["ref"] != base:
                continue
            values.append(pr)
        try:
            per_page = min(max(int(request.first("per_page") or 30), 1), 100)
            page = max(int(request.first("page") or 1), 1)
        except ValueError:
            per_page, page = 30, 1
        return Response.json(200, values[(page - 1) * per_page : page * per_page])

    def create_pull(self, request: Request, repo: HostedRepository, account: Account) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON")
        head, base, title = body.get("head"), body.get("base"), body.get("title")
        if not isinstance(head, str) or not isinstance(base, str) or not isinstance(title, str):
            return validation_failed({"resource": "PullRequest", "code": "missing_field", "field": "title"})
        source = head.partition(":")[2] if ":" in head else head
        try:
            pr, created = self.host.open_github_pull_request(
                repo,
                title=title,
                description=str(body.get("body") or ""),
                source=source,
                destination=base,
                author=account,
                draft=bool(body.get("draft", False)),
            )
        except PullRequestRefused as exc:
            if exc.reason == PullRequestRefused.SOURCE_MISSING:
                return validation_failed({"resource": "PullRequest", "field": "head", "code": "invalid"})
            if exc.reason == PullRequestRefused.DESTINATION_MISSING:
                return validation_failed({"resource": "PullRequest", "field": "base", "code": "invalid"})
            return validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {source}",
                }
            )
        if not created:
            return validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {repo.workspace}:{source}.",
                }
            )
        return Response.json(201, self.host.render_pull_request(repo, pr))

    def _pull(self, repo: HostedRepository, number: str) -> Any:
        return self.host.pull_request(repo, int(number))

    def get_pull(self, request: Request, repo: HostedRepository, account: Account, number: str) -> Response:
        pr = self._pull(repo, number)
        if pr is None:
            return error(404, "Not Found")
        return Response.json(200, self.host.render_pull_request(repo, pr))

    def update_pull(
        self, request: Request, repo: HostedRepository, account: Account, number: str
    ) -> Response:
        pr = self._pull(repo, number)
        body = request.json_or_none()
        if pr is None:
            return error(404, "Not Found")
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON")
        with repo.lock:
            if isinstance(body.get("title"), str):
                pr.title = body["title"]
            if isinstance(body.get("body"), str):
                pr.description = body["body"]
            if body.get("state") == "closed" and pr.state == OPEN:
                self.host.decline(repo, pr, account)
            pr.updated_on = now_iso()
        return Response.json(200, self.host.render_pull_request(repo, pr))

    def request_reviewers(
        self, request: Request, repo: HostedRepository, account: Account, number: str
    ) -> Response:
        pr = self._pull(repo, number)
        body = request.json_or_none()
        if pr is None:
            return error(404, "Not Found")
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON")
        logins = [str(x) for x in body.get("reviewers") or []]
        teams = [str(x) for x in body.get("team_reviewers") or []]
        if any(login.lower() == pr.author.nickname.lower() for login in logins):
            return error(422, "Review cannot be requested from pull request author.")
        accounts = [self.host.account_by_login(login) for login in logins]
        if any(a is None for a in accounts):
            return error(
                422,
                "Reviews may only be requested from collaborators. One or more of the users or teams you "
                f"specified is not a collaborator of the {repo.full_name} repository.",
            )
        with repo.lock:
            for found in accounts:
                if found is not None and found not in pr.reviewers:
                    pr.reviewers.append(found)
            pr.team_reviewers.extend(t for t in teams if t not in pr.team_reviewers)
            pr.updated_on = now_iso()
        return Response.json(201, self.host.render_pull_request(repo, pr))

    def add_labels(self, request: Request, repo: HostedRepository, account: Account, number: str) -> Response:
        pr = self._pull(repo, number)
        body = request.json_or_none()
        if pr is None:
            return error(404, "Not Found")
        labels = body.get("labels") if isinstance(body, dict) else body
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            return validation_failed({"resource": "Label", "field": "name", "code": "invalid"})
        with repo.lock:
            pr.labels.extend(x for x in labels if x not in pr.labels)
        rendered = self.host.render_pull_request(repo, pr)
        return Response.json(200, rendered["labels"])
