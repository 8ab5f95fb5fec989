"""The Bitbucket Data Center sandbox over plain HTTP: one host under a context path, the REST 1.0
endpoints and their rules (editFile's sourceBranch/sourceCommitId, pull-request versions, duplicate
and empty pull requests, reviewers), credentials, faults, pages and git — shapes checked against
Atlassian's Data Center 9.2 spec."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from conftest import require_spec

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox

KEY, SLUG = "ACME", "svc"
PORT_YML = b"# hand-written\n- identifier: other\n  blueprint: service\n"
EX = "com.atlassian.bitbucket."


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(flavour="datacenter") as sandbox:
        sandbox.bitbucket.create_repository(KEY, SLUG, {"port.yml": PORT_YML, "docs/readme.md": "hello\n"})
        yield sandbox


@pytest.fixture
def bb(sb: Sandbox) -> BitbucketDataCenterSandbox:
    assert isinstance(sb.bitbucket, BitbucketDataCenterSandbox)
    return sb.bitbucket


@pytest.fixture
def api(bb: BitbucketDataCenterSandbox) -> requests.Session:
    session = requests.Session()
    session.auth = (bb.username, bb.token)
    session.headers["X-Atlassian-Token"] = "no-check"
    return session


@pytest.fixture(scope="module")
def conforms() -> Callable[[Any, str], None]:
    """Validate a response body against a schema of the spec (nulls dropped: the spec has no
    `nullable`; read/write-only markers are not response rules for plain JSON Schema)."""
    spec = json.loads(require_spec("bitbucket-datacenter.openapi.json").read_text(encoding="utf-8"))

    def without_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [without_nulls(v) for v in value]
        return value

    def check(body: Any, schema: str) -> None:
        root = {"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}
        jsonschema.Draft4Validator(root).validate(without_nulls(body))

    return check


def url(bb: BitbucketDataCenterSandbox, tail: str = "", slug: str = SLUG, root: str = "api") -> str:
    return f"{bb.url}/rest/{root}/1.0/projects/{KEY}/repos/{slug}{tail}"


def edit(api: requests.Session, bb: BitbucketDataCenterSandbox, content: bytes, path: str = "port.yml",
         slug: str = SLUG, **fields: str) -> requests.Response:  # fmt: skip
    """PUT browse the way a client should: plain fields, the content as a part."""
    return api.put(url(bb, f"/browse/{path}", slug), data=fields, files={"content": (path, content)})


def exception(response: requests.Response) -> str:
    (entry,) = response.json()["errors"]
    return str(entry["exceptionName"]).removeprefix(EX)


def open_pr(
    api: requests.Session, bb: BitbucketDataCenterSandbox, source: str = "port/x", **extra: Any
) -> requests.Response:
    body = {
        "title": "t",
        "fromRef": {"id": f"refs/heads/{source}"},
        "toRef": {"id": "refs/heads/main"},
        **extra,
    }
    return api.post(url(bb, "/pull-requests"), json=body)


# -- the host ------------------------------------------------------------------------------------


def test_env_points_the_tool_at_one_server_under_a_context_path(
    sb: Sandbox, bb: BitbucketDataCenterSandbox
) -> None:
    env = sb.env()
    assert env["PORT_GITOPS_SCM"] == "bitbucket-datacenter" and env["BITBUCKET_PROJECT"] == "ACME"
    assert env["BITBUCKET_URL"] == sb.bitbucket_url == sb.bitbucket_web_url
    assert env["BITBUCKET_URL"].endswith("/bitbucket")
    assert "BITBUCKET_WEB_URL" not in env and "BITBUCKET_WORKSPACE" not in env  # the defaults apply
    auth = (env["BITBUCKET_USERNAME"], env["BITBUCKET_TOKEN"])
    assert requests.get(url(bb), auth=auth).status_code == 200
    outside = requests.get(url(bb).replace("/bitbucket/", "/"), auth=auth)
    assert outside.status_code == 404  # nothing outside the context path


def test_latest_is_the_same_api_as_1_0(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    assert api.get(url(bb)).json() == api.get(url(bb).replace("/1.0/", "/latest/")).json()


def test_repository_and_default_branch_shapes(
    api: requests.Session, bb: BitbucketDataCenterSandbox, conforms: Callable[[Any, str], None]
) -> None:
    repo = api.get(url(bb)).json()
    conforms(repo, "RestRepository")
    assert (repo["slug"], repo["project"]["key"]) == (SLUG, KEY)
    assert repo["links"]["self"][0]["href"] == f"{bb.url}/projects/{KEY}/repos/{SLUG}/browse"
    assert repo["links"]["clone"][0]["href"] == f"{bb.url}/scm/acme/{SLUG}.git"
    default = api.get(url(bb, "/default-branch")).json()
    conforms(default, "RestMinimalRef")
    assert default == {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"}
    # The deprecated read: the default branch as it is, its tip included.
    branch = api.get(url(bb, "/branches/default")).json()
    conforms(branch, "RestBranch")
    tip = bb.branch_tip(KEY, SLUG, "main")
    assert (branch["displayId"], branch["latestCommit"], branch["isDefault"]) == ("main", tip, True)


def test_an_empty_repository_has_a_default_branch_and_nothing_else(
    api: requests.Session, bb: BitbucketDataCenterSandbox
) -> None:
    bb.create_repository(KEY, "empty", empty=True)
    assert api.get(url(bb, "/default-branch", "empty")).json()["displayId"] == "main"
    deprecated = api.get(url(bb, "/branches/default", "empty"))
    assert (deprecated.status_code, deprecated.content) == (204, b"")  # "empty, no default branch"
    assert api.get(url(bb, "/branches", "empty")).json()["values"] == []
    assert api.get(url(bb, "/commits", "empty")).json()["values"] == []
    assert exception(api.get(url(bb, "/raw/port.yml", "empty"))) == "content.NoSuchPathException"
    # The first file of an empty repository needs no sourceBranch: it becomes the first commit.
    first = edit(api, bb, b"a: 1\n", slug="empty", branch="main")
    assert first.status_code == 200 and first.json()["parents"] == []


def test_a_configured_default_branch_that_was_never_pushed(
    api: requests.Session, bb: BitbucketDataCenterSandbox
) -> None:
    bb.create_repository(KEY, "moved", files={"a.txt": b"a\n"})
    bb.repository(KEY, "moved").main_branch = "develop"
    assert api.get(url(bb, "/default-branch", "moved")).json()["displayId"] == "develop"
    missing = api.get(url(bb, "/branches/default", "moved"))
    assert missing.status_code == 404 and exception(missing) == "repository.NoSuchBranchException"


def test_credentials(bb: BitbucketDataCenterSandbox) -> None:
    def status(**kwargs: Any) -> int:
        return requests.get(url(bb), **kwargs).status_code

    assert status(auth=(bb.username, bb.token)) == 200
    assert status(headers={"Authorization": f"Bearer {bb.token}"}) == 200  # personal token as Bearer
    assert status(headers={"Authorization": f"Bearer {bb.access_token}"}) == 200  # project token
    refused = requests.get(url(bb), auth=(bb.username, "wrong"))
    assert (
        refused.status_code == 401 and exception(refused) == "auth.IncorrectPasswordAuthenticationException"
    )
    assert refused.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert status() == 401


def test_unknown_project_and_repository(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    assert exception(api.get(url(bb, slug="nope"))) == "repository.NoSuchRepositoryException"
    missing_project = api.get(f"{bb.url}/rest/api/1.0/projects/NOPE/repos/{SLUG}")
    assert (
        missing_project.status_code == 404 and exception(missing_project) == "project.NoSuchProjectException"
    )
    assert api.get(url(bb, "/no-such-thing")).status_code == 404
    assert api.delete(url(bb, "/default-branch")).status_code == 405


# -- branches, commits, files ------------------------------------------------------------------------


def test_branches_filter_boost_and_page(
    api: requests.Session, bb: BitbucketDataCenterSandbox, conforms: Callable[[Any, str], None]
) -> None:
    for name in ("feature/main-menu", "Main-2", "release"):
        bb.push(KEY, SLUG, name, {"x.txt": name})
    page = api.get(url(bb, "/branches"), params={"filterText": "main", "boostMatches": "true"}).json()
    for value in page["values"]:
        conforms(value, "RestBranch")
    names = [v["displayId"] for v in page["values"]]
    assert names[0] == "main" and set(names) == {"main", "Main-2", "feature/main-menu"}
    assert names.index("Main-2") < names.index("feature/main-menu")  # prefix matches before the rest
    first = api.get(url(bb, "/branches"), params={"limit": "1", "orderBy": "ALPHABETICAL"}).json()
    assert (first["size"], first["isLastPage"], first["nextPageStart"]) == (1, False, 1)


def test_commits_until_and_by_id(
    api: requests.Session, bb: BitbucketDataCenterSandbox, conforms: Callable[[Any, str], None]
) -> None:
    base = bb.branch_tip(KEY, SLUG, "main")
    tip = bb.push(KEY, SLUG, "main", {"b.txt": "b"})
    page = api.get(url(bb, "/commits"), params={"until": "refs/heads/main", "limit": "1"}).json()
    assert [c["id"] for c in page["values"]] == [tip] and page["isLastPage"] is False
    commit = api.get(url(bb, f"/commits/{tip}")).json()
    conforms(commit, "RestCommit")
    assert commit["parents"] == [{"id": base, "displayId": base[:11]}]
    assert (
        isinstance(commit["authorTimestamp"], int) and commit["author"]["emailAddress"] == "alex@example.com"
    )
    missing = api.get(url(bb, "/commits"), params={"until": "refs/heads/nope"})
    assert missing.status_code == 404 and exception(missing) == "commit.NoSuchCommitException"


def test_raw_at_a_sha_a_branch_or_a_ref(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    base = bb.branch_tip(KEY, SLUG, "main")
    bb.push(KEY, SLUG, "main", {"port.yml": "changed: true\n"})
    assert api.get(url(bb, "/raw/port.yml"), params={"at": base}).content == PORT_YML
    assert api.get(url(bb, "/raw/port.yml"), params={"at": "main"}).content == b"changed: true\n"
    assert api.get(url(bb, "/raw/port.yml"), params={"at": "refs/heads/main"}).content == b"changed: true\n"
    assert api.get(url(bb, "/raw/docs/readme.md")).content == b"hello\n"
    missing = api.get(url(bb, "/raw/nope.yml"), params={"at": base})
    assert missing.status_code == 404 and exception(missing) == "content.NoSuchPathException"


def test_browse_type_tells_a_file_from_a_directory(
    api: requests.Session, bb: BitbucketDataCenterSandbox
) -> None:
    kinds = {
        path: api.get(url(bb, f"/browse/{path}"), params={"at": "main", "type": "true"})
        for path in ("port.yml", "docs", "docs/readme.md", "nope.yml", "port.yml/x")
    }
    assert {path: r.json().get("type") for path, r in kinds.items() if r.ok} == {
        "port.yml": "FILE",
        "docs": "DIRECTORY",
        "docs/readme.md": "FILE",
    }
    assert exception(kinds["nope.yml"]) == exception(kinds["port.yml/x"]) == "content.NoSuchPathException"


def test_edit_file_creates_a_branch_and_a_commit_in_one_call(
    api: requests.Session, bb: BitbucketDataCenterSandbox, conforms: Callable[[Any, str], None]
) -> None:
    base = bb.branch_tip(KEY, SLUG, "main")
    assert base is not None
    done = edit(api, bb, b"new: 1\n", branch="port/x", sourceBranch="main", sourceCommitId=base, message="m")
    assert done.status_code == 200
    conforms(done.json(), "RestCommit")
    assert done.json()["parents"][0]["id"] == base and done.json()["message"] == "m"
    assert bb.branch_tip(KEY, SLUG, "port/x") == done.json()["id"]
    assert bb.read_file(KEY, SLUG, "port/x", "port.yml") == b"new: 1\n"
    assert done.json()["author"] == {"name": "Port Bot", "emailAddress": "port-bot@example.com"}


@pytest.mark.parametrize(
    ("case", "status", "expected"),
    [
        ("existing file without sourceCommitId", 409, "content.FileAlreadyExistsException"),
        ("file changed since sourceCommitId", 409, "content.FileOutOfDateException"),
        ("content does not modify the file", 409, "content.FileContentUnmodifiedException"),
        ("sourceBranch for a branch that exists", 409, "repository.DuplicateRefException"),
        ("branch missing, no sourceBranch", 404, "repository.NoSuchBranchException"),
        ("unknown sourceCommitId", 404, "commit.NoSuchCommitException"),
        ("no branch field", 400, "validation.ArgumentValidationException"),
        ("a path leaving the repository", 400, "validation.ArgumentValidationException"),
    ],
)
def test_edit_file_refusals(api: requests.Session, bb: BitbucketDataCenterSandbox, case: str, status: int,
                            expected: str) -> None:  # fmt: skip
    base = bb.branch_tip(KEY, SLUG, "main")
    assert base is not None
    bb.push(KEY, SLUG, "port/x", {"other.txt": "x"})
    moved = bb.push(KEY, SLUG, "main", {"port.yml": "moved: 1\n"})
    fields, path = {
        "existing file without sourceCommitId": ({"branch": "main"}, "port.yml"),
        "file changed since sourceCommitId": ({"branch": "main", "sourceCommitId": base}, "port.yml"),
        "content does not modify the file": ({"branch": "main", "sourceCommitId": moved}, "port.yml"),
        "sourceBranch for a branch that exists": ({"branch": "port/x", "sourceBranch": "main"}, "new.yml"),
        "branch missing, no sourceBranch": ({"branch": "port/y"}, "new.yml"),
        "unknown sourceCommitId": ({"branch": "main", "sourceCommitId": "f" * 40}, "port.yml"),
        "no branch field": ({"message": "m"}, "port.yml"),
        "a path leaving the repository": ({"branch": "main"}, "a/%2E%2E/%2E%2E/x"),
    }[case]
    content = b"moved: 1\n" if case == "content does not modify the file" else b"z: 1\n"
    refused = edit(api, bb, content, path, **fields)
    assert (refused.status_code, exception(refused)) == (status, expected)
    assert bb.branch_tip(KEY, SLUG, "main") == moved and bb.branch_tip(KEY, SLUG, "port/y") is None


def test_edit_file_checks_the_file_not_the_tip(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    # sourceCommitId pins the file: another file's commit since then does not conflict.
    base = bb.branch_tip(KEY, SLUG, "main")
    assert base is not None
    other = bb.push(KEY, SLUG, "main", {"docs/readme.md": "changed\n"})
    done = edit(api, bb, b"z: 1\n", branch="main", sourceCommitId=base)
    assert done.status_code == 200 and done.json()["parents"][0]["id"] == other


def test_edit_file_needs_multipart_the_xsrf_opt_out_and_a_user(api: requests.Session,
                                                               bb: BitbucketDataCenterSandbox) -> None:  # fmt: skip
    as_json = api.put(url(bb, "/browse/port.yml"), json={"branch": "main", "content": "x"})
    assert as_json.status_code == 415
    no_opt_out = requests.put(url(bb, "/browse/port.yml"), auth=(bb.username, bb.token), data={"branch": "main"},
                              files={"content": ("port.yml", b"x")})  # fmt: skip
    assert no_opt_out.status_code == 403 and "XSRF" in no_opt_out.text
    token = requests.put(url(bb, "/browse/port.yml"), headers={"Authorization": f"Bearer {bb.access_token}",
                         "X-Atlassian-Token": "no-check"}, data={"branch": "main"},
                         files={"content": ("port.yml", b"x")})  # fmt: skip
    assert token.status_code == 403 and "does not have a valid user" in token.text
    assert bb.read_file(KEY, SLUG, "main", "port.yml") == PORT_YML


def test_concurrent_replays_of_one_commit_land_once(bb: BitbucketDataCenterSandbox) -> None:
    base = bb.branch_tip(KEY, SLUG, "main")
    assert base is not None

    def put(n: int) -> int:
        session = requests.Session()
        session.auth = (bb.username, bb.token)
        session.headers["X-Atlassian-Token"] = "no-check"
        fields = {"branch": "port/e", "sourceBranch": "main", "sourceCommitId": base, "message": f"w{n}"}
        return edit(session, bb, f"n: {n}\n".encode(), **fields).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(put, range(8)))
    assert statuses == [200] + [409] * 7
    history = subprocess.run(["git", f"--git-dir={bb.git_dir(KEY, SLUG)}", "rev-list", f"{base}..port/e"],
                             capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert len(history) == 1


# -- pull requests -----------------------------------------------------------------------------------


def test_pull_request_shape_and_duplicate(
    api: requests.Session, bb: BitbucketDataCenterSandbox, conforms: Callable[[Any, str], None]
) -> None:
    bb.push(KEY, SLUG, "port/x", {"port.yml": "x: 1\n"})
    created = open_pr(api, bb, description="why")
    assert created.status_code == 201
    pr = created.json()
    conforms(pr, "RestPullRequest")
    assert (pr["version"], pr["state"], pr["fromRef"]["displayId"], pr["description"]) == (
        0,
        "OPEN",
        "port/x",
        "why",
    )
    assert pr["links"]["self"][0]["href"] == f"{bb.url}/projects/{KEY}/repos/{SLUG}/pull-requests/{pr['id']}"
    assert isinstance(pr["createdDate"], int) and pr["author"]["user"]["name"] == bb.username
    again = open_pr(api, bb, title="again")
    assert again.status_code == 409 and exception(again) == "pull.DuplicatePullRequestException"
    assert again.json()["errors"][0]["existingPullRequest"]["id"] == pr["id"]
    conforms(again.json(), "RestErrors")
    assert len(bb.pull_requests(KEY, SLUG)) == 1 and bb.pull_requests(KEY, SLUG)[0]["title"] == "t"


def test_pull_requests_are_found_by_direction(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    bb.push(KEY, SLUG, "port/x", {"port.yml": "x: 1\n"})
    pr_id = open_pr(api, bb).json()["id"]

    def ids(**params: str) -> list[int]:
        return [p["id"] for p in api.get(url(bb, "/pull-requests"), params=params).json()["values"]]

    assert ids(at="refs/heads/port/x", direction="OUTGOING") == [pr_id]
    assert ids(at="refs/heads/port/x", direction="outgoing") == [pr_id]
    assert ids(at="refs/heads/port/x") == []  # INCOMING by default: `at` is then the target
    assert ids(at="refs/heads/main") == [pr_id]
    assert ids(at="port/x", direction="OUTGOING") == []  # `at` must be fully qualified
    bb.decline_pull_request(KEY, SLUG, pr_id)
    assert ids(at="refs/heads/port/x", direction="OUTGOING") == []  # OPEN by default
    assert ids(at="refs/heads/port/x", direction="OUTGOING", state="ALL") == [pr_id]


def test_pull_request_refusals(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    base = bb.branch_tip(KEY, SLUG, "main")
    assert base is not None
    bb.repository(KEY, SLUG).git.update_branch("even", base, None)
    empty = open_pr(api, bb, "even")
    assert (empty.status_code, exception(empty)) == (409, "pull.EmptyPullRequestException")
    same = open_pr(api, bb, "main")
    assert (same.status_code, exception(same)) == (409, "pull.InvalidPullRequestTargetException")
    missing = open_pr(api, bb, "nope")
    assert missing.status_code == 404
    bb.push(KEY, SLUG, "port/x", {"port.yml": "x: 1\n"})
    reviewers = [{"user": {"name": bb.username}}, {"user": {"name": "ghost"}}]
    bad = open_pr(api, bb, reviewers=reviewers)
    assert (bad.status_code, exception(bad)) == (409, "pull.InvalidPullRequestReviewersException")
    assert [e["context"] for e in bad.json()["errors"][0]["reviewerErrors"]] == [bb.username, "ghost"]
    assert bb.pull_requests(KEY, SLUG) == []


def test_updates_quote_the_version_and_replace_the_pull_request(
    api: requests.Session, bb: BitbucketDataCenterSandbox
) -> None:
    rita = bb.add_user("Rita Reviewer")
    bb.push(KEY, SLUG, "port/x", {"port.yml": "x: 1\n"})
    pr = open_pr(api, bb, description="why", reviewers=[{"user": {"name": rita.nickname}}]).json()
    pr_url = url(bb, f"/pull-requests/{pr['id']}")
    missing = api.put(pr_url, json={"title": "t2"})
    assert (missing.status_code, missing.json()["errors"][0]["context"]) == (400, "version")
    updated = api.put(pr_url, json={"version": 0, "title": "t2"})
    assert updated.status_code == 200
    # What a PUT omits is cleared: the reviewers and the description.
    assert (updated.json()["version"], updated.json()["reviewers"], "description" in updated.json()) == (
        1,
        [],
        False,
    )
    stale = api.put(pr_url, json={"version": 0, "title": "t3"})
    assert (stale.status_code, exception(stale)) == (409, "pull.PullRequestOutOfDateException")
    assert stale.json()["errors"][0]["currentVersion"] == 1
    declined = api.post(f"{pr_url}/decline", params={"version": "1"})
    assert (
        declined.status_code == 200
        and declined.json()["state"] == "DECLINED"
        and declined.json()["version"] == 2
    )
    closed = api.put(pr_url, json={"version": 2, "title": "t4"})
    assert (closed.status_code, exception(closed)) == (409, "pull.IllegalPullRequestStateException")
    assert api.post(f"{pr_url}/decline", params={"version": "2"}).status_code == 409


def test_deleting_the_source_branch_declines_its_pull_request(api: requests.Session,
                                                              bb: BitbucketDataCenterSandbox) -> None:  # fmt: skip
    tip = bb.push(KEY, SLUG, "port/x", {"port.yml": "x: 1\n"})
    pr_id = open_pr(api, bb).json()["id"]
    branches = url(bb, "/branches", root="branch-utils")
    assert api.delete(branches, json={"name": "refs/heads/port/x", "endPoint": "0" * 40}).status_code == 400
    assert api.delete(branches, json={"name": "refs/heads/port/x", "dryRun": True}).status_code == 204
    assert bb.branch_tip(KEY, SLUG, "port/x") == tip
    assert api.delete(branches, json={"name": "refs/heads/port/x", "endPoint": tip}).status_code == 204
    assert bb.branch_tip(KEY, SLUG, "port/x") is None
    pr = api.get(url(bb, f"/pull-requests/{pr_id}")).json()
    assert (pr["state"], pr["version"]) == ("DECLINED", 1)
    assert api.delete(branches, json={"name": "refs/heads/port/x"}).status_code == 204  # gone: still fine
    assert api.delete(branches, json={"name": "main"}).status_code == 400  # the default branch


def test_default_reviewers_for_a_branch_pair(
    api: requests.Session, bb: BitbucketDataCenterSandbox, conforms: Callable[[Any, str], None]
) -> None:
    rita = bb.add_user("Rita Reviewer", email="rita@example.com")
    bb.set_default_reviewers(KEY, SLUG, [rita.uuid])
    reviewers = url(bb, "/reviewers", root="default-reviewers")
    repo_id = str(api.get(url(bb)).json()["id"])
    params = {"sourceRepoId": repo_id, "targetRepoId": repo_id, "sourceRefId": "refs/heads/port/x",
              "targetRefId": "refs/heads/main"}  # fmt: skip
    users = api.get(reviewers, params=params).json()
    # Quirk: the spec says RestPullRequestCondition[]; the server (and every client) has users.
    for user in users:
        conforms(user, "RestApplicationUser")
    assert [(u["name"], u["emailAddress"]) for u in users] == [(rita.nickname, "rita@example.com")]
    incomplete = api.get(reviewers, params={k: v for k, v in params.items() if k != "targetRefId"})
    assert (incomplete.status_code, incomplete.json()["errors"][0]["context"]) == (400, "targetRefId")


# -- faults, pages, git --------------------------------------------------------------------------------


def test_faults_answer_in_data_centers_shapes(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    bb.faults.add("GET", r"/default-branch$", status=429, retry_after="7")
    bb.faults.add("GET", r"/default-branch$", status=500)
    bb.faults.add("GET", r"/default-branch$", status=503)
    limited = api.get(url(bb, "/default-branch"))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7") and limited.json()["errors"]
    crashed = api.get(url(bb, "/default-branch"))
    assert crashed.status_code == 500 and "server logs" in crashed.json()["errors"][0]["message"]
    proxy = api.get(url(bb, "/default-branch"))
    assert proxy.status_code == 503 and proxy.headers["Content-Type"].startswith("text/html")
    assert api.get(url(bb, "/default-branch")).status_code == 200
    assert [r.status for r in bb.requests] == [429, 500, 503, 200]


def test_pages_for_the_links_the_api_hands_out(api: requests.Session, bb: BitbucketDataCenterSandbox) -> None:
    bb.push(KEY, SLUG, "port/x", {"port.yml": "x: 1\n"})
    pr = open_pr(api, bb, title="Enrich payments").json()
    page = requests.get(pr["links"]["self"][0]["href"])
    assert page.status_code == 200 and "Enrich payments" in page.text and "+x: 1" in page.text
    repo_page = requests.get(api.get(url(bb)).json()["links"]["self"][0]["href"]).text
    assert "port/x" in repo_page and "Enrich payments" in repo_page
    assert bb.repository_url(KEY, SLUG) == f"{bb.url}/projects/{KEY}/repos/{SLUG}"


def test_git_clone_over_http_with_the_api_credentials(bb: BitbucketDataCenterSandbox, tmp_path: Path) -> None:
    clone = bb.clone_href(bb.repository(KEY, SLUG)).replace("://", f"://{bb.username}:{bb.token}@")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, "GIT_TERMINAL_PROMPT": "0",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}  # fmt: skip
    subprocess.run(["git", "clone", "--quiet", clone, str(tmp_path / "c")], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    assert (tmp_path / "c" / "port.yml").read_bytes() == PORT_YML
    anonymous = requests.get(f"{bb.url}/scm/acme/{SLUG}.git/info/refs", params={"service": "git-upload-pack"})
    assert anonymous.status_code == 401
