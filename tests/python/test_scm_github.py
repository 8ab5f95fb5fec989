"""GitHubScm against the GitHub sandbox: real HTTP on loopback, a real git repository behind it.

What the parametrised outcome table and fault matrix do not show: the request budget, our session
under PyGithub, the App credential, fork safety, the optimistic lock of `force: false`, and how each
refusal reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from enrichkit import Enricher, payload

from port_gitops.errors import EXIT_USAGE
from port_gitops.http import USER_AGENT, make_session
from port_gitops.logsetup import mask
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example
from port_gitops.scm import ScmAuthError, ScmConflict, ScmForbidden, ScmNotFound, ScmRateLimited
from port_gitops.scm.errors import ScmPathNotAFile
from port_gitops.scm.github import GitHubScm

OWNER, SLUG = "acme", "payments"
BRANCH = "port/enrich-payments"
EXISTING = b"- identifier: other\n  blueprint: service\n"


@dataclass
class World:
    sb: Sandbox
    base: str
    waits: list[float] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # URLs our session sent

    @property
    def gh(self) -> Any:
        return self.sb.scm

    def session(self) -> requests.Session:
        session = make_session(ca_bundle=None, timeout=(5, 30))
        session.hooks["response"].append(lambda r, *a, **k: self.sent.append(r.url))
        return session

    def scm(self, *, slug: str = SLUG, max_wait: float = 300.0, **credentials: Any) -> GitHubScm:
        auth = credentials or {"token": self.gh.token}
        return GitHubScm(
            self.sb.scm_url,
            OWNER,
            slug,
            session=self.session(),
            policy=RetryPolicy(sleep=self.waits.append, max_wait=max_wait),
            **auth,
        )

    def reading_ahead(self) -> GitHubScm:
        """A client told our branch and port.yml (`read_ahead`), with what was sent so far forgotten."""
        scm = self.scm()
        scm.read_ahead(BRANCH, "port.yml")
        self.gh.clear()
        return scm


@pytest.fixture
def world() -> Iterator[World]:
    with Sandbox(flavour="github") as sb:
        base = sb.scm.create_repository(OWNER, SLUG, {"port.yml": EXISTING})
        yield World(sb, base)


def test_every_request_goes_through_our_session_with_our_user_agent(world: World) -> None:
    scm = world.scm()
    assert scm.repository().default_branch == "main"
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert scm.read_file(world.base, "port.yml") == EXISTING
    recorded = world.gh.requests
    assert len(world.sent) == len(recorded) == 3, "PyGithub sent nothing on a session of its own"
    assert {r.headers["user-agent"] for r in recorded} == {USER_AGENT}
    assert (
        recorded[1].path == "/graphql" and recorded[1].headers["authorization"] == f"token {world.gh.token}"
    )


def test_commit_creates_the_branch_and_a_moved_branch_is_a_conflict(world: World) -> None:
    scm = world.scm()
    scm.branch_tips(["main", BRANCH])
    tip = scm.commit_file(
        branch=BRANCH, path="port.yml", content=b"new\n", message="m", parent=world.base, create_from="main",
        author=None,
    )  # fmt: skip
    assert world.gh.branch_tip(OWNER, SLUG, BRANCH) == tip
    assert world.gh.read_file(OWNER, SLUG, BRANCH, "port.yml") == b"new\n"
    someone = world.gh.push(OWNER, SLUG, BRANCH, {"other.txt": "x\n"})
    with pytest.raises(ScmConflict, match="moved since we read it"):
        scm.commit_file(
            branch=BRANCH, path="port.yml", content=b"newer\n", message="m", parent=tip, create_from=None,
            author=None,
        )  # fmt: skip
    assert world.gh.branch_tip(OWNER, SLUG, BRANCH) == someone, "force: false never overwrites"


def test_only_our_own_pull_request_counts(world: World) -> None:
    scm = world.scm()
    fork = {
        "number": 7,
        "html_url": "x",
        "title": "t",
        "body": "",
        "head": {"ref": BRANCH, "label": f"someone:{BRANCH}", "repo": {"full_name": f"someone/{SLUG}"}},
        "base": {"ref": "main"},
    }
    # A listing that (wrongly) holds a fork's branch of the same name: still not ours.
    world.gh.faults.add("GET", r"/pulls$", status=200, body=json.dumps([fork]).encode())
    assert scm.find_open_pr(BRANCH) is None
    [listing] = [r for r in world.gh.requests if r.path.endswith("/pulls")]
    assert listing.query["head"] == [f"{OWNER}:{BRANCH}"] and listing.query["state"] == ["open"]


def test_pull_request_features_and_an_update_that_keeps_them(world: World) -> None:
    world.gh.push(OWNER, SLUG, BRANCH, {"port.yml": "changed\n"})
    world.gh.add_user("Dana Reviewer", email="dana@example.com")
    scm = world.scm()
    pr = scm.create_pr(
        branch=BRANCH, base="main", title="t", description="d", reviewers=["dana-reviewer"],
        labels=["catalog"], team_reviewers=["platform"], draft=True,
    )  # fmt: skip
    [created] = [r.json() for r in world.gh.requests if r.method == "POST" and r.path.endswith("/pulls")]
    assert created["maintainer_can_modify"] is False and created["draft"] is True
    updated = scm.update_pr(pr, title="t2", description="d2")
    [state] = world.gh.pull_requests(OWNER, SLUG)
    assert (updated.title, state["title"]) == ("t2", "t2")
    assert [u["login"] for u in state["requested_reviewers"]] == ["dana-reviewer"]
    assert [t["slug"] for t in state["requested_teams"]] == ["platform"]
    assert [label["name"] for label in state["labels"]] == ["catalog"]
    scm.decline_pr(updated)
    assert world.gh.pull_requests(OWNER, SLUG)[0]["state"] == "closed"
    scm.delete_branch(BRANCH)
    scm.delete_branch(BRANCH)  # already gone: fine
    assert world.gh.branch_tip(OWNER, SLUG, BRANCH) is None


def test_a_second_create_takes_the_open_pull_request_over(world: World) -> None:
    world.gh.push(OWNER, SLUG, BRANCH, {"port.yml": "changed\n"})
    scm = world.scm()
    first = scm.create_pr(branch=BRANCH, base="main", title="t", description="d", reviewers=[])
    again = scm.create_pr(branch=BRANCH, base="main", title="t2", description="d2", reviewers=[])
    assert again.id == first.id and again.title == "t2"
    assert len(world.gh.pull_requests(OWNER, SLUG)) == 1


def test_github_app_mints_a_token_for_this_repository_and_its_commits_are_verified(world: World) -> None:
    world.gh.create_repository(OWNER, "other", {"x": "y"})
    scm = world.scm(token=None, app_id=str(world.gh.app_id), app_private_key=world.gh.app_private_key)
    tips = scm.branch_tips(["main", BRANCH])
    scm.commit_file(
        branch=BRANCH, path="port.yml", content=b"new\n", message="m", parent=tips["main"] or "",
        create_from="main", author=None,
    )  # fmt: skip
    installation, minted, *rest = world.gh.requests
    assert installation.path == f"/repos/{OWNER}/{SLUG}/installation"
    assert installation.headers["authorization"].startswith("Bearer ey")  # the App's JWT
    assert minted.json() == {"repositories": [SLUG]}, "a token for this repository only"
    token = rest[0].headers["authorization"].split(" ", 1)[1]
    assert token.startswith("ghs_") and mask(token) == "****", "the minted token is masked"
    [commit] = [r for r in world.gh.requests if r.path.endswith("/git/commits")]
    tip = world.gh.branch_tip(OWNER, SLUG, BRANCH)
    check = requests.get(
        f"{world.sb.scm_url}/repos/{OWNER}/{SLUG}/git/commits/{tip}",
        headers={"Authorization": f"token {token}"},
    )
    assert commit.status == 201 and check.status_code == 200
    other = requests.get(
        f"{world.sb.scm_url}/repos/{OWNER}/other", headers={"Authorization": f"token {token}"}
    )
    assert other.status_code == 404, "the installation token reaches no other repository"


@pytest.mark.parametrize("app", [True, False])
def test_an_app_commit_is_signed_by_github_a_token_commit_is_not(world: World, app: bool) -> None:
    credentials = {"token": None, "app_id": str(world.gh.app_id), "app_private_key": world.gh.app_private_key}
    scm = world.scm(**(credentials if app else {}))
    tips = scm.branch_tips(["main", BRANCH])
    tip = scm.commit_file(
        branch=BRANCH, path="port.yml", content=b"new\n", message="m", parent=tips["main"] or "",
        create_from="main", author=None,
    )  # fmt: skip
    assert (tip in world.gh.signed) is app


def test_refusals_read_as_users_need_them(world: World) -> None:
    with pytest.raises(ScmNotFound, match="not found or no access"):
        world.scm(slug="private").repository()
    with pytest.raises(ScmAuthError, match="GitHub rejected GITHUB_TOKEN") as auth:
        world.scm(token=world.gh.token + "x").repository()
    assert auth.value.exit_code == EXIT_USAGE
    protection = json.dumps(
        {"message": "Protected branch update failed for refs/heads/port/enrich-payments."}
    )
    world.gh.push(OWNER, SLUG, BRANCH, {"port.yml": "x\n"})
    world.gh.faults.add("PATCH", r"/git/refs/heads/", status=422, body=protection.encode())
    scm = world.scm()
    tip = scm.branch_tip(BRANCH) or ""
    with pytest.raises(ScmForbidden, match="branch protection refused the write") as refused:
        scm.commit_file(
            branch=BRANCH, path="port.yml", content=b"y\n", message="m", parent=tip, create_from=None,
            author=None,
        )  # fmt: skip
    assert "\n" not in refused.value.message


def test_an_exhausted_primary_rate_limit_fails_fast(world: World) -> None:
    reset = str(int(time.time()) + 3000)
    world.gh.faults.add(
        "GET",
        r"^/repos/acme/payments$",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        body=b'{"message": "API rate limit exceeded for installation ID 4242."}',
    )
    with pytest.raises(ScmRateLimited, match=r"rate limited.*asked for") as limited:
        world.scm(max_wait=60).repository()
    assert world.waits == [] and "5,000 REST requests per hour" in limited.value.message


def test_request_budget_first_run_and_unchanged_re_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(flavour="github") as sb:
        example = seed_example(sb)
        enrich = Enricher(sb, tmp_path, monkeypatch, capsys)
        sb.scm.clear()
        first = enrich(example.payload)
        assert first.result["outcome"] == "created"
        first_run = [f"{r.method} {r.path}" for r in sb.scm.requests]
        sb.port.create_run("r_again")
        sb.scm.clear()
        again = enrich(payload(example, port_context={"runId": "r_again"}))
        assert again.result["outcome"] == "unchanged"
        re_run = [f"{r.method} {r.path}" for r in sb.scm.requests]
        # One GraphQL query reads the repository, both tips, port.yml at each and the open pull request.
        assert first_run == [
            "POST /graphql",
            "POST /repos/acme/payments/git/trees",
            "POST /repos/acme/payments/git/commits",
            "POST /repos/acme/payments/git/refs",
            "POST /repos/acme/payments/pulls",
        ]
        assert re_run == ["POST /graphql"] and not sb.scm.writes()


def test_workflow_dispatch_inputs_with_port_context_as_json_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(flavour="github") as sb:
        example = seed_example(sb)
        inputs = {**example.payload, "port_context": json.dumps(example.payload["port_context"])}
        run = Enricher(sb, tmp_path, monkeypatch, capsys)(inputs)
        assert run.code == 0 and run.result["outcome"] == "created", run.stderr
        assert sb.port.runs[example.run_id]["status"] == "SUCCESS"


def test_a_github_app_run_leaks_neither_key_nor_minted_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from port_gitops import logsetup

    monkeypatch.setattr(logsetup, "_secrets", set())
    with Sandbox(flavour="github") as sb:
        example = seed_example(sb)
        enrich = Enricher(sb, tmp_path, monkeypatch, capsys)
        app = {
            "GITHUB_TOKEN": None,
            "GITHUB_APP_ID": str(sb.scm.app_id),
            "GITHUB_APP_PRIVATE_KEY": sb.scm.app_private_key,
        }
        run = enrich(example.payload, "--max-attempts", "2", **app)
        assert run.code == 0 and run.result["outcome"] == "created", run.stderr
        minted = {
            r.headers["authorization"].split(" ", 1)[1]
            for r in sb.scm.requests
            if "ghs_" in r.headers.get("authorization", "")
        }
        assert minted
        key_lines = [line for line in sb.scm.app_private_key.splitlines() if "-----" not in line]
        output = run.stdout + run.stderr + json.dumps(run.result)
        assert not [s for s in [*minted, *key_lines] if s in output]
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        for key, code in ((other.decode(), 2), ("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n", 2)):
            sb.port.create_run("r_key")
            refused = enrich(
                payload(example, port_context={"runId": "r_key"}), **{**app, "GITHUB_APP_PRIVATE_KEY": key}
            )
            assert refused.code == code, refused.stderr
            assert "not a key" not in refused.stderr + json.dumps(refused.result)


# -- the read-ahead query: one request for what the first reads ask, exact bytes or REST ------------
def _sent(world: World) -> list[str]:
    return [f"{r.method} {r.path}" for r in world.gh.requests]


def test_read_ahead_answers_the_first_reads_from_one_query(world: World) -> None:
    scm = world.reading_ahead()
    info = scm.repository()
    assert (info.full_name, info.default_branch) == ("acme/payments", "main")
    assert info.web_url == world.sb.scm_web_url + "/acme/payments"
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert scm.read_file(world.base, "port.yml") == EXISTING
    assert _sent(world) == ["POST /graphql"]
    # Tips change: they answer one call; the next one asks again.
    assert scm.branch_tips(["main"]) == {"main": world.base}
    assert len(world.gh.requests) == 2


def test_port_yml_with_bom_and_crlf_comes_byte_exact_from_the_query(world: World) -> None:
    exact = b"\xef\xbb\xbf# ours\r\n- identifier: other\r\n  blueprint: service\r\n"
    tip = world.gh.push(OWNER, SLUG, "main", {"port.yml": exact})
    scm = world.reading_ahead()
    scm.repository()
    assert scm.read_file(tip, "port.yml") == exact
    assert _sent(world) == ["POST /graphql"]


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(b"- identifier: caf\xe9\n", id="not UTF-8 (GitHub hands out transcoded text)"),
        pytest.param(b"\x00\x01binary", id="binary (no text)"),
        pytest.param(b"#" * (600 * 1024), id="truncated text"),
    ],
)
def test_text_that_is_not_the_stored_bytes_is_read_over_rest(world: World, stored: bytes) -> None:
    tip = world.gh.push(OWNER, SLUG, "main", {"port.yml": stored})
    scm = world.reading_ahead()
    scm.repository()
    assert scm.read_file(tip, "port.yml") == stored
    assert _sent(world) == ["POST /graphql", "GET /repos/acme/payments/contents/port.yml"]


def test_base_given_reads_ahead_in_branch_tips(world: World) -> None:
    scm = world.reading_ahead()
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert scm.read_file(world.base, "port.yml") == EXISTING and scm.find_open_pr(BRANCH) is None
    assert _sent(world) == ["POST /graphql"]


def test_read_ahead_refusals_and_paths_that_are_not_files(world: World) -> None:
    private = world.scm(slug="private")
    private.read_ahead(BRANCH, "port.yml")
    with pytest.raises(ScmNotFound, match="acme/private not found or no access"):
        private.repository()
    tip = world.gh.push(OWNER, SLUG, "main", {"conf/port.yml/x": "x\n", "README": "r\n"})
    for path, parent in (("conf/port.yml", None), ("README/port.yml", "README")):
        scm = world.scm()
        scm.read_ahead(BRANCH, path)
        scm.repository()
        with pytest.raises(ScmPathNotAFile) as refused:
            scm.read_file(tip, path)
        assert refused.value.parent == parent
    absent = world.scm()
    absent.read_ahead(BRANCH, "new/port.yml")
    world.gh.clear()
    absent.repository()
    assert absent.read_file(tip, "new/port.yml") is None  # `new` is absent too: REST tells
    assert _sent(world) == ["POST /graphql", "GET /repos/acme/payments/contents/new"]


def test_an_answer_with_an_error_it_cannot_place_is_not_used(world: World) -> None:
    answer = {
        "data": {"repository": {"nameWithOwner": "acme/payments", "url": "u", "defaultBranchRef": None}},
        "errors": [
            {"type": "SERVICE_UNAVAILABLE", "path": ["repository", "defaultBranchRef"], "message": "x"}
        ],
    }
    world.gh.faults.add("POST", r"^/graphql$", status=200, body=json.dumps(answer).encode())
    scm = world.reading_ahead()
    assert scm.repository().default_branch == "main"
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert scm.read_file(world.base, "port.yml") == EXISTING
    assert _sent(world) == ["POST /graphql", "GET /repos/acme/payments", "POST /graphql"]


def test_the_open_pull_request_comes_with_the_query_and_a_fork_s_is_not_ours(world: World) -> None:
    gh = world.gh
    gh.create_repository("someone", SLUG, {"README.md": "a fork\n"})
    gh.push("someone", SLUG, BRANCH, {"port.yml": "theirs\n"})
    gh.push(OWNER, SLUG, BRANCH, {"port.yml": "x\n"})
    repo, author = gh.repository(OWNER, SLUG), gh.add_user("Fork Owner", email="fork@example.com")
    gh.open_fork_pull_request(repo, gh.repository("someone", SLUG), BRANCH, title="theirs", author=author)
    scm = world.reading_ahead()
    scm.repository()
    assert scm.find_open_pr(BRANCH) is None
    created = scm.create_pr(branch=BRANCH, base="main", title="ours", description="d", reviewers=())
    scm.repository()
    found = scm.find_open_pr(BRANCH)
    assert found is not None and (found.id, found.title, found.destination) == (created.id, "ours", "main")
    assert _sent(world) == ["POST /graphql", "POST /repos/acme/payments/pulls", "POST /graphql"]


def test_an_empty_repository_fails_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(flavour="github") as sb:
        example = seed_example(sb)
        sb.scm.create_repository(OWNER, "empty", empty=True)
        run = Enricher(sb, tmp_path, monkeypatch, capsys)(
            payload(example, port_context={"repo_url": sb.scm.repository_url(OWNER, "empty")})
        )
        assert run.code == 1 and not sb.scm.writes()
        assert (
            "the default branch 'main' of acme/empty has no commits (the repository is empty)"
            in (run.result["error"])
        )


def test_only_text_whose_git_blob_id_matches_is_taken_for_the_bytes() -> None:
    from port_gitops.scm.github_reads import DIRECTORY, exact_bytes, git_blob_id

    stored = b"\xef\xbb\xbfa: 1\r\n"
    oid = git_blob_id(stored, 40)
    blob = {
        "oid": oid,
        "text": stored.decode("utf-8"),
        "byteSize": len(stored),
        "isBinary": False,
        "isTruncated": False,
    }
    entry = {"type": "blob", "mode": 0o100644, "object": blob}
    assert exact_bytes(entry) == stored
    assert exact_bytes({**entry, "object": {**blob, "text": "a: 1\r\n"}}) is None  # a BOM dropped
    assert exact_bytes({**entry, "object": {**blob, "text": "\ufeffa: 1\n", "byteSize": 7}}) is None
    assert exact_bytes({**entry, "object": {**blob, "isBinary": None}}) is None  # encoding unknown
    assert exact_bytes({**entry, "mode": 0o120000}) is None  # a symlink: REST answers its target
    assert exact_bytes({"type": "tree", "mode": 0o040000, "object": {}}) is DIRECTORY
    assert exact_bytes({"type": "commit", "mode": 0o160000, "object": {}}) is None  # a submodule
