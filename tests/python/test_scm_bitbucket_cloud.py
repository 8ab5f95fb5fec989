"""CloudScm against the Bitbucket Cloud sandbox: real HTTP on loopback, a real git repository behind it.

Every method once on the happy path, then the fault matrix (its tests are bitbucket_world's): each
injected fault on each call ends in success after a retry or in a classified error, and never in a
second commit or a second pull request (checked on the sandbox's git repository and pull-request list,
not on what the client believes).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import bitbucket_world
import pytest
from bitbucket_world import (
    BRANCH,
    CHANGED,
    EXISTING,
    NEVER_SENT,
    SHA40,
    Step,
    decline,
    nothing,
    update,
    with_branch,
    with_pr,
)

from port_gitops.errors import EXIT_FAILED, EXIT_USAGE, InvalidInputError
from port_gitops.http import make_session
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.scm import (
    PullRequest,
    ScmAuthError,
    ScmConflict,
    ScmForbidden,
    ScmNotFound,
    ScmRateLimited,
)
from port_gitops.scm.bitbucket_cloud import CloudScm

WS = "acme"


@dataclass
class World(bitbucket_world.World):
    def scm(self, *, timeout: tuple[float, float] = (5, 30), **credentials: Any) -> CloudScm:
        auth = credentials or {"username": self.bb.username, "token": self.bb.token, "access_token": None}
        auth.setdefault("username", None)
        auth.setdefault("token", None)
        auth.setdefault("access_token", None)
        return CloudScm(
            self.sb.bitbucket_url,
            WS,
            self.slug,
            session=make_session(ca_bundle=None, timeout=timeout),
            policy=RetryPolicy(sleep=self.waits.append),
            **auth,
        )

    def commit(self, scm: CloudScm, parent: str | None = None, content: bytes = CHANGED) -> str:
        return commit(scm, self, parent, content)

    def reviewer(self) -> str:
        return str(self.bb.add_user("Rita Reviewer").uuid)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[World]:
    slug = f"payments-{next(_numbers)}"
    base = sandbox.bitbucket.create_repository(WS, slug, files={"port.yml": EXISTING}, main_branch="main")
    sandbox.bitbucket.clear()
    yield World(sandbox, WS, slug, base)
    sandbox.bitbucket.faults.clear()


_numbers = itertools.count(1)


def commit(scm: CloudScm, world: World, parent: str | None = None, content: bytes = CHANGED) -> str:
    return scm.commit_file(
        branch=BRANCH,
        path="port.yml",
        content=content,
        message="Enrich service payments",
        parent=parent or world.base,
        create_from="main",
        author="Port Bot <port-bot@example.com>",
    )


def open_pr(scm: CloudScm, reviewers: tuple[str, ...] = ()) -> PullRequest:
    return scm.create_pr(branch=BRANCH, base="main", title="Enrich", description="first", reviewers=reviewers)


# -- the happy path, one method at a time ----------------------------------------------------------


def test_repository_names_default_branch_and_web_url(world: World) -> None:
    info = world.scm().repository()
    assert info.full_name == f"{WS}/{world.slug}"
    assert info.default_branch == "main"
    assert info.web_url == f"{world.sb.bitbucket_web_url}/{WS}/{world.slug}"


def test_branch_tips_are_full_shas_and_absent_branches_none(world: World) -> None:
    scm = world.scm()
    assert scm.branch_tip("main") == world.base
    assert scm.branch_tip(BRANCH) is None
    world.bb.clear()
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert len(world.bb.requests) == 1  # both tips in one request


def test_read_file_by_sha(world: World) -> None:
    scm = world.scm()
    world.bb.push(WS, world.slug, "main", {"deploy/port.yml": b"nested: true\n"})
    tip = scm.branch_tip("main")
    assert tip is not None
    assert scm.read_file(world.base, "port.yml") == EXISTING
    assert scm.read_file(tip, "deploy/port.yml") == b"nested: true\n"
    assert scm.read_file(world.base, "deploy/port.yml") is None  # not there yet at the old tip
    with pytest.raises(ValueError, match="SHA"):
        scm.read_file("main", "port.yml")  # a branch name is refused: only SHAs address commits


@pytest.mark.parametrize("path", ["../x", "a/../../etc/passwd", "./port.yml", "a//b"])
def test_paths_that_leave_the_repository_send_no_request(world: World, path: str) -> None:
    scm = world.scm()
    world.bb.clear()
    with pytest.raises(InvalidInputError):
        scm.read_file(world.base, path)
    with pytest.raises(InvalidInputError):
        scm.commit_file(
            branch=BRANCH,
            path=path,
            content=b"x",
            message="m",
            parent=world.base,
            create_from=None,
            author=None,
        )
    assert world.bb.requests == []


@pytest.mark.parametrize("location", [True, False], ids=["Location", "no Location"])
def test_the_new_commit_comes_from_the_201s_location_else_from_the_branch(
    world: World, location: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.sb.bitbucket, "src_location", location)
    scm = world.scm()
    world.bb.clear()
    new = commit(scm, world)
    assert world.sb.bitbucket.branch_tip(WS, world.slug, BRANCH) == new
    sent = [(request.method, request.path.rsplit("/", 1)[-1]) for request in world.bb.requests]
    expected = [("POST", "src")] + ([] if location else [("GET", BRANCH.rsplit("/", 1)[-1])])
    assert sent == expected


def test_commit_creates_the_branch_on_the_given_parent(world: World) -> None:
    scm = world.scm()
    world.bb.push(
        WS, world.slug, "main", {"README.md": b"main moved on\n"}
    )  # the parent, not main's tip, counts
    new = commit(scm, world)
    assert SHA40.fullmatch(new)
    assert scm.branch_tip(BRANCH) == new
    assert world.commits_on(BRANCH) == [new]
    assert scm.commit_parents(new) == [world.base]
    assert world.bb.read_file(WS, world.slug, BRANCH, "port.yml") == CHANGED
    assert world.git("log", "-1", "--format=%an <%ae>%n%s", new) == (
        "Port Bot <port-bot@example.com>\nEnrich service payments"
    )


def test_a_stale_parent_is_a_conflict_and_commits_nothing(world: World) -> None:
    scm = world.scm()
    first = commit(scm, world)
    with pytest.raises(ScmConflict) as caught:
        commit(scm, world, parent=world.base, content=b"other\n")  # base is no longer the branch tip
    assert caught.value.status == 409
    assert caught.value.exit_code == EXIT_FAILED
    assert world.commits_on(BRANCH) == [first]


def test_a_follow_up_commit_goes_on_top_of_the_branch(world: World) -> None:
    scm = world.scm()
    first = commit(scm, world)
    second = commit(scm, world, parent=first, content=CHANGED + b"# again\n")
    assert world.commits_on(BRANCH) == [second, first]


def test_pull_request_lifecycle_keeps_reviewers(world: World) -> None:
    scm = world.scm()
    reviewer = world.bb.add_user("Rita Reviewer")
    world.bb.set_default_reviewers(WS, world.slug, [reviewer.uuid])
    commit(scm, world)
    assert scm.find_open_pr(BRANCH) is None

    reviewers = scm.default_reviewers()
    assert reviewers == [reviewer.uuid]
    pr = open_pr(scm, tuple(reviewers))
    assert pr.source == BRANCH and pr.destination == "main"
    assert pr.url == f"{world.sb.bitbucket_web_url}/{WS}/{world.slug}/pull-requests/{pr.id}"
    assert pr.reviewers == (reviewer.uuid,)
    (stored,) = world.pull_requests()
    assert stored["close_source_branch"] is True

    found = scm.find_open_pr(BRANCH)
    assert found is not None and found.id == pr.id

    updated = scm.update_pr(found, title="Enrich again", description="second")
    assert (updated.title, updated.description) == ("Enrich again", "second")
    (stored,) = world.pull_requests()
    assert [r["uuid"] for r in stored["reviewers"]] == [reviewer.uuid]  # the PUT resent them
    assert stored["title"] == "Enrich again"

    scm.decline_pr(updated)
    assert scm.find_open_pr(BRANCH) is None
    assert [p["state"] for p in world.pull_requests()] == ["DECLINED"]


def test_updating_a_merged_pull_request_is_a_conflict(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    world.bb.merge_pull_request(WS, world.slug, pr.id)
    with pytest.raises(ScmConflict, match="MERGED"):
        scm.update_pr(pr, title="t", description="d")


def test_declining_a_pull_request_that_is_already_closed_is_fine(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    world.bb.decline_pull_request(WS, world.slug, pr.id)
    scm.decline_pr(pr)
    assert [p["state"] for p in world.pull_requests()] == ["DECLINED"]


def test_reviewers_bitbucket_refuses_are_dropped_not_fatal(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # The bot itself among the default reviewers: Cloud refuses "the author" as a reviewer.
    scm = world.scm()
    commit(scm, world)
    with caplog.at_level(logging.WARNING, logger="port_gitops"):
        pr = open_pr(scm, (world.bb.bot.uuid,))
    assert pr.reviewers == ()
    assert len(world.pull_requests()) == 1
    assert any("is the author and cannot be included" in r.getMessage() for r in caplog.records)


def test_delete_branch_is_idempotent(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    scm.delete_branch(BRANCH)
    assert scm.branch_tip(BRANCH) is None
    scm.delete_branch(BRANCH)  # already gone: fine
    assert world.bb.branch_tip(WS, world.slug, BRANCH) is None


def test_access_token_as_bearer(world: World) -> None:
    scm = world.scm(access_token=world.bb.access_token)
    assert scm.branch_tip("main") == world.base
    assert world.bb.requests[-1].headers["authorization"].startswith("Bearer ")


def test_user_agent_and_no_library_retries(world: World) -> None:
    scm = world.scm()
    world.bb.faults.add("GET", r"/refs/branches/main$", status=429, retry_after="120")
    assert scm.branch_tip("main") == world.base
    assert world.waits == [120.0]  # our policy waited (injected), not atlassian-python-api's sleep
    assert all(r.headers["user-agent"].startswith("port-gitops/") for r in world.bb.requests)


# -- errors, classified ------------------------------------------------------------------------------


def test_wrong_credentials_are_a_configuration_error_naming_the_credential(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "ATATT-wrong-" + "x" * 20
    scm = world.scm(username="someone@example.com", token=secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(ScmAuthError) as caught:
        scm.repository()
    assert caught.value.exit_code == EXIT_USAGE
    assert "BITBUCKET_USERNAME/BITBUCKET_TOKEN" in caught.value.message
    assert "Atlassian account e-mail" in caught.value.message
    assert secret not in caught.value.message
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert len(world.bb.requests) == 1  # a 401 is never retried


def test_a_missing_repository_is_not_found(world: World) -> None:
    scm = CloudScm(
        world.sb.bitbucket_url,
        WS,
        "nope",
        username=world.bb.username,
        token=world.bb.token,
        access_token=None,
        session=make_session(ca_bundle=None),
        policy=RetryPolicy(sleep=world.waits.append),
    )
    with pytest.raises(ScmNotFound) as caught:
        scm.repository()
    assert caught.value.status == 404
    assert "acme/nope" in caught.value.message


def test_missing_scopes_are_named(world: World) -> None:
    body = (
        b'{"type": "error", "error": {"message": "Your credentials lack one or more required privilege'
        b' scopes.", "detail": {"required": ["write:repository:bitbucket"],'
        b' "granted": ["read:repository:bitbucket"]}}}'
    )
    world.bb.faults.add("POST", r"/src$", status=403, body=body)
    with pytest.raises(ScmForbidden) as caught:
        commit(world.scm(), world)
    assert caught.value.exit_code == EXIT_FAILED
    assert (
        "needs scopes write:repository:bitbucket (granted: read:repository:bitbucket)" in caught.value.message
    )
    assert world.bb.branch_tip(WS, world.slug, BRANCH) is None


def test_a_session_that_already_carries_credentials_is_refused(world: World) -> None:
    session = make_session(ca_bundle=None)
    session.auth = ("someone", "else")
    with pytest.raises(ValueError, match="session"):
        CloudScm(
            world.sb.bitbucket_url,
            WS,
            world.slug,
            username="someone@example.com",
            token=NEVER_SENT,
            access_token=None,
            session=session,
            policy=RetryPolicy(),
        )


@pytest.mark.parametrize("name", ["..", ".", "a/b", ""])
def test_traversal_in_repository_names_is_refused(world: World, name: str) -> None:
    with pytest.raises(InvalidInputError):
        CloudScm(
            world.sb.bitbucket_url,
            WS,
            name,
            username="someone@example.com",
            token=NEVER_SENT,
            access_token=None,
            session=make_session(ca_bundle=None),
            policy=RetryPolicy(),
        )


@pytest.mark.parametrize("branch", ["x/../main", "../main", "x/./y", "x//y", ""])
def test_traversal_in_branch_names_sends_no_request(world: World, branch: str) -> None:
    scm = world.scm()
    with pytest.raises(InvalidInputError):
        scm.branch_tip(branch)
    with pytest.raises(InvalidInputError):
        scm.delete_branch(branch)
    assert world.bb.requests == []


def test_rate_limit_until_the_budget_runs_out(world: World) -> None:
    world.bb.faults.add("GET", r"/refs/branches/main$", status=429, times=10)
    with pytest.raises(ScmRateLimited) as caught:
        world.scm().branch_tip("main")
    assert caught.value.status == 429
    assert "1,000 API requests per hour" in caught.value.message
    assert len(world.bb.requests) == 5  # the default 5 attempts
    assert len(world.waits) == 4


# -- the fault matrix (the tests are bitbucket_world's) ----------------------------------------------

# name: every request the client makes, how to set it up and trigger it
STEPS = {
    "repository": Step("GET", r"/payments-\d+$", nothing, lambda w, s: s.repository(), False),
    "branch_tip": Step("GET", r"/refs/branches/main$", nothing, lambda w, s: s.branch_tip("main"), False),
    "read_file": Step("GET", r"/src/", nothing, lambda w, s: s.read_file(w.base, "port.yml"), False),
    "default_reviewers": Step(
        "GET", r"/effective-default-reviewers", nothing, lambda w, s: s.default_reviewers(), False
    ),
    "find_open_pr": Step("GET", r"/pullrequests$", with_pr, lambda w, s: s.find_open_pr(BRANCH), False),
    "commit_file": Step("POST", r"/src$", nothing, lambda w, s: w.commit(s), True),
    "create_pr": Step("POST", r"/pullrequests$", with_branch, lambda w, s: w.open_pr(s), True),
    "update_pr": Step("PUT", r"/pullrequests/\d+$", with_pr, update, True),
    "decline_pr": Step("POST", r"/decline$", with_pr, decline, True),
    "delete_branch": Step(
        "DELETE", r"/refs/branches/", with_branch, lambda w, s: s.delete_branch(BRANCH), True
    ),
}
COMMIT = ("POST", r"/src$")
CREATE_PR = ("POST", r"/pullrequests$")
SERVER_ERROR_TEXT = "HTTP 500"


class TestFaultMatrix(bitbucket_world.FaultMatrix):
    pass
