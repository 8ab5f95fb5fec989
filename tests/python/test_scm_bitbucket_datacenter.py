"""DataCenterScm against the Bitbucket Data Center sandbox: real HTTP on loopback, a real git repository
behind it.

Every method on the happy path, the Data Center specifics (one-call branch + commit, `sourceCommitId`,
`version`, duplicate pull requests, default reviewers per branch pair, tokens without a user), then the
fault matrix (its shared tests are bitbucket_world's): each injected fault on each call ends in success
after a retry or in a classified error, and never in a second commit or a second pull request (checked
on the sandbox's git repository and pull-request list, not on what the client believes).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
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
from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox
from port_gitops.scm import (
    PullRequest,
    ScmAuthError,
    ScmConflict,
    ScmForbidden,
    ScmNotFound,
    ScmPathNotAFile,
    ScmRateLimited,
)
from port_gitops.scm.bitbucket_datacenter import DataCenterScm

KEY = "ACME"
_numbers = itertools.count(1)


def make_scm(bb: BitbucketDataCenterSandbox, slug: str, waits: list[float], *,
             timeout: tuple[float, float] = (5, 30), **credentials: Any) -> DataCenterScm:  # fmt: skip
    auth = credentials or {"username": bb.username, "token": bb.token}
    return DataCenterScm(
        bb.url,
        KEY,
        slug,
        session=make_session(ca_bundle=None, timeout=timeout),
        policy=RetryPolicy(sleep=waits.append),
        **{"username": None, "token": None, "access_token": None, **auth},
    )


@dataclass
class World(bitbucket_world.World):
    def scm(self, *, timeout: tuple[float, float] = (5, 30), **credentials: Any) -> DataCenterScm:
        return make_scm(self.bb, self.slug, self.waits, timeout=timeout, **credentials)

    def commit(self, scm: DataCenterScm, parent: str | None = None, content: bytes = CHANGED) -> str:
        return commit(scm, self, parent, content)

    def reviewer(self) -> str:
        return str(self.bb.add_user("Rita Reviewer").nickname)

    def open_pr_on_branch(self) -> PullRequest:
        """A commit on BRANCH and its open pull request, made by another client; the requests forgotten."""
        scm = self.scm()
        self.commit(scm)
        pr = open_pr(scm)
        self.bb.clear()
        return pr

    def form(self, request_index: int = -1) -> dict[str, str]:
        """The plain fields of a recorded multipart commit (content excluded)."""
        request = self.bb.requests[request_index]
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        fields = {}
        for part in request.body.split(b"--" + boundary)[1:-1]:
            head, _, data = part.partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]+)"', head)
            assert name is not None
            if name[1] != b"content":
                fields[name[1].decode()] = data[:-2].decode()
        return fields


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(flavour="datacenter") as sb:
        yield sb


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[World]:
    bb = sandbox.bitbucket
    assert isinstance(bb, BitbucketDataCenterSandbox)
    slug = f"payments-{next(_numbers)}"
    base = bb.create_repository(KEY, slug, files={"port.yml": EXISTING}, main_branch="main")
    bb.clear()
    yield World(sandbox, KEY, slug, base)
    bb.faults.clear()


def commit(scm: DataCenterScm, world: World, parent: str | None = None, content: bytes = CHANGED) -> str:
    """A commit of port.yml on BRANCH: created from main when it does not exist yet."""
    exists = world.bb.branch_tip(KEY, world.slug, BRANCH) is not None
    return scm.commit_file(
        branch=BRANCH,
        path="port.yml",
        content=content,
        message="Enrich service payments",
        parent=parent or world.base,
        create_from=None if exists else "main",
        author="Port Bot <port-bot@example.com>",
    )


def open_pr(scm: DataCenterScm, reviewers: tuple[str, ...] = (), title: str = "Enrich") -> PullRequest:
    return scm.create_pr(branch=BRANCH, base="main", title=title, description="first", reviewers=reviewers)


# -- the happy path, one method at a time ----------------------------------------------------------


def test_repository_names_default_branch_its_tip_and_web_url_in_one_request(world: World) -> None:
    scm = world.scm()
    info = scm.repository()
    assert info.full_name == f"{KEY}/{world.slug}"
    assert info.default_branch == "main"
    assert info.web_url == f"{world.bb.url}/projects/{KEY}/repos/{world.slug}/browse"
    repo = f"/bitbucket/rest/api/1.0/projects/{KEY}/repos/{world.slug}"
    assert world.sent() == [f"GET {repo}/branches/default"]
    # The default branch's tip came with it: only our branch is looked up, once.
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert world.sent() == [f"GET {repo}/branches/default", f"GET {repo}/branches"]
    assert world.bb.requests[-1].query["filterText"] == [BRANCH]
    # What `repository` read serves one `branch_tips`: the next one asks again.
    world.bb.clear()
    assert scm.branch_tips(["main"]) == {"main": world.base}
    assert world.sent() == [f"GET {repo}/branches"]


def test_an_empty_repository_names_a_default_branch_that_has_no_tip(world: World) -> None:
    world.bb.create_repository(KEY, f"{world.slug}-empty", empty=True)
    scm = make_scm(world.bb, f"{world.slug}-empty", world.waits)
    assert scm.repository().default_branch == "main"  # configured (`default-branch`), not yet pushed
    assert scm.branch_tips(["main"]) == {"main": None}  # which is how the use case tells "empty"
    assert [r.status for r in world.bb.requests] == [204, 200, 200]  # branches/default: 204, no content


def test_a_configured_default_branch_that_was_never_pushed_has_no_tip(world: World) -> None:
    world.bb.repository(KEY, world.slug).main_branch = "develop"
    scm = world.scm()
    assert scm.repository().default_branch == "develop"  # from `default-branch` after the 404
    assert scm.branch_tips(["develop", BRANCH]) == {"develop": None, BRANCH: None}


@pytest.mark.parametrize("status", [404, 405])
def test_a_server_without_the_deprecated_default_branch_read_falls_back(world: World, status: int) -> None:
    world.bb.faults.add("GET", r"/branches/default$", status=status, times=1)  # as if it had been dropped
    scm = world.scm()
    assert scm.repository().default_branch == "main"
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert [r.path.rsplit("/", 1)[-1] for r in world.bb.requests] == [
        "default", "default-branch", "branches", "branches"
    ]  # fmt: skip
    assert world.waits == []  # an answer, not a fault to retry


def test_the_file_at_the_other_tip_is_read_beside_the_first_read(world: World) -> None:
    scm = world.scm()
    world.commit(scm)
    tips = scm.branch_tips(["main", BRANCH])
    world.bb.clear()
    assert scm.read_file(world.base, "port.yml") == EXISTING
    assert scm.read_file(str(tips[BRANCH]), "port.yml") == CHANGED  # read beside the first: no request
    assert sorted(r.query["at"][0] for r in world.bb.requests) == sorted([world.base, tips[BRANCH]])
    assert scm.read_file(str(tips[BRANCH]), "deploy/port.yml") is None  # another path: read now
    assert len(world.bb.requests) > 2


def paths(world: World) -> list[str]:
    """The requests sent, in the order their answers went out, as `METHOD last-part-of-the-path`."""
    return [f"{r.method} {r.path.rsplit('/', 1)[-1]}" for r in world.bb.requests]


def test_our_branch_named_up_front_is_looked_up_beside_the_default_branch(world: World) -> None:
    world.bb.faults.add("GET", r"/branches/default$", delay=0.3)  # slow: the lookup beside it answers first
    scm = world.scm()
    scm.read_ahead(BRANCH, "port.yml")
    assert scm.repository().default_branch == "main"
    assert paths(world) == ["GET branches", "GET default"]
    assert world.bb.requests[0].query["filterText"] == [BRANCH]
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}  # nothing more sent
    assert len(world.bb.requests) == 2
    world.bb.clear()
    scm.repository()  # another round (after a conflict): both read again, together
    assert sorted(paths(world)) == ["GET branches", "GET default"]


def test_with_the_base_given_our_branch_named_up_front_is_looked_up_once(world: World) -> None:
    scm = world.scm()
    scm.read_ahead(BRANCH, "port.yml")
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert sorted(r.query["filterText"][0] for r in world.bb.requests) == sorted(["main", BRANCH])


def test_our_branchs_open_pull_request_is_read_beside_the_files(world: World) -> None:
    pr = world.open_pr_on_branch()
    scm = world.scm()
    scm.read_ahead(BRANCH, "port.yml")
    scm.repository()
    tip = scm.branch_tips(["main", BRANCH])[BRANCH]
    assert scm.read_file(world.base, "port.yml") == EXISTING
    assert scm.read_file(str(tip), "port.yml") == CHANGED
    found = scm.find_open_pr(BRANCH)
    assert found is not None and found.id == pr.id
    assert sorted(paths(world)) == sorted(
        ["GET default", "GET branches", "GET port.yml", "GET port.yml", "GET pull-requests"]
    )  # a re-run's reads, each sent once
    # A write in between drops what was read ahead: the lookup is sent again.
    scm.repository()
    scm.branch_tips(["main", BRANCH])
    scm.delete_branch(BRANCH)
    world.bb.clear()
    assert scm.find_open_pr(BRANCH) is None  # deleting the branch declined its pull request
    assert paths(world) == ["GET pull-requests"]


def test_an_error_of_a_read_ahead_is_raised_only_when_that_file_is_asked_for(world: World) -> None:
    tip = world.bb.push(KEY, world.slug, BRANCH, {"deploy": b"a file where a directory is wanted\n"})
    scm = world.scm()
    assert scm.branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: tip}
    assert scm.read_file(world.base, "deploy/port.yml") is None  # absent at the base: fine
    with pytest.raises(ScmPathNotAFile):
        scm.read_file(tip, "deploy/port.yml")  # the read beside it found a file as a parent


@pytest.mark.parametrize("path", ["../x", "a/../../etc/passwd", "./port.yml", "a//b"])
def test_paths_that_leave_the_repository_send_no_request(world: World, path: str) -> None:
    scm = world.scm()
    with pytest.raises(InvalidInputError):
        scm.read_file(world.base, path)
    with pytest.raises(InvalidInputError):
        scm.commit_file(branch=BRANCH, path=path, content=b"x", message="m", parent=world.base,
                        create_from="main", author=None)  # fmt: skip
    assert world.bb.requests == []


def test_commit_creates_the_branch_from_the_base_in_one_request(world: World) -> None:
    scm = world.scm()
    assert scm.read_file(world.base, "port.yml") == EXISTING  # the use case always reads first
    world.bb.clear()
    new = commit(scm, world)
    # Beside it, the default reviewers of the pull request to come (the repository's id, then the pair's).
    reviewers = [f"GET /bitbucket/rest/api/1.0/projects/{KEY}/repos/{world.slug}"]
    reviewers.append(f"GET /bitbucket/rest/default-reviewers/1.0/projects/{KEY}/repos/{world.slug}/reviewers")
    written = [request for request in world.sent() if request not in reviewers]
    assert written == [f"PUT /bitbucket/rest/api/1.0/projects/{KEY}/repos/{world.slug}/browse/port.yml"]
    assert world.form() == {
        "branch": BRANCH,
        "message": "Enrich service payments",
        "sourceBranch": "main",  # creates BRANCH from main in the same call
        "sourceCommitId": world.base,  # the file existed there: pins what we read
    }
    assert SHA40.fullmatch(new) and world.commits_on(BRANCH) == [new]
    assert world.git("rev-parse", f"{new}^") == world.base
    assert world.bb.read_file(KEY, world.slug, BRANCH, "port.yml") == CHANGED
    # Data Center commits as the authenticated user: there is no author field to send.
    assert world.git("log", "-1", "--format=%an <%ae>%n%s", new) == (
        "Port Bot <port-bot@example.com>\nEnrich service payments"
    )


def test_a_new_file_is_committed_without_source_commit_id(world: World) -> None:
    scm = world.scm()
    new = scm.commit_file(branch=BRANCH, path="catalog/port.yml", content=b"- identifier: x\n", message="m",
                          parent=world.base, create_from="main", author=None)  # fmt: skip
    # Not read before: checked first (raw 404, then what the path and its parent directory are); the
    # default reviewers of the pull request to come are read beside the commit.
    sent = [(r.method, r.path.rsplit("/", 1)[-1]) for r in world.bb.requests]
    assert [request for request in sent if request not in (("GET", world.slug), ("GET", "reviewers"))] == [
        ("GET", "port.yml"),
        ("GET", "port.yml"),
        ("GET", "catalog"),
        ("PUT", "port.yml"),
    ]
    assert "sourceCommitId" not in world.form()
    assert world.bb.read_file(KEY, world.slug, BRANCH, "catalog/port.yml") == b"- identifier: x\n"
    assert world.commits_on(BRANCH) == [new]


def test_a_stale_parent_is_a_conflict_and_commits_nothing(world: World) -> None:
    scm = world.scm()
    first = commit(scm, world)
    with pytest.raises(ScmConflict) as caught:
        commit(scm, world, parent=world.base, content=b"other\n")  # port.yml changed since base
    assert caught.value.status == 409 and caught.value.exit_code == EXIT_FAILED
    assert "modified since" in caught.value.message
    assert world.commits_on(BRANCH) == [first]


def test_content_that_does_not_modify_the_file_is_a_conflict_to_re_read(world: World) -> None:
    scm = world.scm()
    first = commit(scm, world)
    with pytest.raises(ScmConflict, match="does not modify the file"):
        commit(scm, world, parent=first)  # the use case re-reads and finds it unchanged
    assert world.commits_on(BRANCH) == [first]


def test_a_follow_up_commit_goes_on_top_of_the_branch(world: World) -> None:
    scm = world.scm()
    first = commit(scm, world)
    second = commit(scm, world, parent=first, content=CHANGED + b"# again\n")
    assert world.commits_on(BRANCH) == [second, first]
    assert "sourceBranch" not in world.form() and world.form()["sourceCommitId"] == first


def test_pull_request_lifecycle_with_default_reviewers(world: World) -> None:
    scm = world.scm()
    rita = world.bb.add_user("Rita Reviewer")
    eli = world.bb.add_user("Eli Extra")
    world.bb.set_default_reviewers(KEY, world.slug, [rita.uuid])
    commit(scm, world)
    assert scm.find_open_pr(BRANCH) is None
    assert scm.default_reviewers() == []  # they depend on the branch pair: create_pr adds them

    pr = open_pr(scm, (eli.nickname,))
    assert (pr.source, pr.destination, pr.version) == (BRANCH, "main", 0)
    assert pr.url == f"{world.bb.url}/projects/{KEY}/repos/{world.slug}/pull-requests/{pr.id}"
    assert set(pr.reviewers) == {eli.nickname, rita.nickname}
    reviewers_query = next(r.query for r in world.bb.requests if r.path.endswith("/reviewers"))
    assert reviewers_query["sourceRefId"] == [f"refs/heads/{BRANCH}"]
    assert reviewers_query["targetRefId"] == ["refs/heads/main"]

    found = scm.find_open_pr(BRANCH)
    assert found is not None and found.id == pr.id
    updated = scm.update_pr(found, title="Enrich again", description="second")
    assert (updated.title, updated.description, updated.version) == ("Enrich again", "second", 1)
    (stored,) = world.pull_requests()
    assert {r["user"]["name"] for r in stored["reviewers"]} == {eli.nickname, rita.nickname}  # resent

    scm.decline_pr(updated)
    assert scm.find_open_pr(BRANCH) is None
    assert [p["state"] for p in world.pull_requests()] == ["DECLINED"]


def test_find_open_pr_looks_at_the_source_branch_only(world: World) -> None:
    # A pull request *into* our branch must not be taken for ours (direction=OUTGOING).
    scm = world.scm()
    commit(scm, world)
    world.bb.push(KEY, world.slug, "feature", {"f.txt": "f"})
    repo = world.bb.repository(KEY, world.slug)
    assert repo is not None
    world.bb.open_pull_request(repo, title="into ours", description="", source="feature", destination=BRANCH,
                               author=world.bb.maintainer, reviewers=[], close_source_branch=False)  # fmt: skip
    assert scm.find_open_pr(BRANCH) is None
    assert world.bb.requests[-1].query["direction"] == ["OUTGOING"]


def test_a_stale_version_is_re_read_and_the_new_reviewers_kept(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    dana = world.bb.add_user("Dana Reviewer")
    world.bb.edit_pull_request(KEY, world.slug, pr.id, title="edited in the UI", reviewers=[dana])
    world.bb.clear()
    updated = scm.update_pr(pr, title="Enrich again", description="second")
    assert [r.method for r in world.bb.requests] == ["PUT", "GET", "PUT"]
    assert world.bb.requests[0].status == 409
    assert updated.reviewers == (dana.nickname,) and updated.version == 2
    assert world.pull_requests()[0]["title"] == "Enrich again"


def test_updating_a_merged_pull_request_is_a_conflict(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    world.bb.merge_pull_request(KEY, world.slug, pr.id)
    with pytest.raises(ScmConflict, match="MERGED"):
        scm.update_pr(pr, title="t", description="d")


def test_declining_a_pull_request_that_is_already_closed_is_fine(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    world.bb.decline_pull_request(KEY, world.slug, pr.id)
    scm.decline_pr(pr)
    assert [p["state"] for p in world.pull_requests()] == ["DECLINED"]


def test_declining_with_a_stale_version_re_reads_it(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    world.bb.edit_pull_request(KEY, world.slug, pr.id, title="edited in the UI")
    scm.decline_pr(pr)
    assert [p["state"] for p in world.pull_requests()] == ["DECLINED"]


def test_a_duplicate_pull_request_is_reused_and_refreshed(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    first = open_pr(scm, title="Enrich (old payload)")
    again = open_pr(scm, title="Enrich (new payload)")  # e.g. a concurrent run opened it first
    assert again.id == first.id and again.title == "Enrich (new payload)"
    (stored,) = world.pull_requests()
    assert stored["title"] == "Enrich (new payload)"


def test_a_branch_with_nothing_to_merge_is_a_conflict_to_re_read(world: World) -> None:
    world.bb.repository(KEY, world.slug).git.update_branch(BRANCH, world.base, None)
    with pytest.raises(ScmConflict, match="up to date"):
        open_pr(world.scm())
    assert world.pull_requests() == []


def test_reviewers_bitbucket_refuses_are_dropped_not_fatal(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # The bot itself among the default reviewers: Data Center refuses "the author" as a reviewer.
    scm = world.scm()
    rita = world.bb.add_user("Rita Reviewer")
    world.bb.set_default_reviewers(KEY, world.slug, [world.bb.bot.uuid, rita.uuid])
    commit(scm, world)
    with caplog.at_level(logging.WARNING, logger="port_gitops"):
        pr = open_pr(scm, ("nobody-by-that-name",))
    assert pr.reviewers == (rita.nickname,)  # only the refused ones were dropped
    assert len(world.pull_requests()) == 1
    assert any(
        "is the author" in r.getMessage() and "is not a user" in r.getMessage() for r in caplog.records
    )


def test_delete_branch_is_idempotent(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    scm.delete_branch(BRANCH)
    assert scm.branch_tip(BRANCH) is None
    scm.delete_branch(BRANCH)  # already gone: fine
    assert world.bb.branch_tip(KEY, world.slug, BRANCH) is None
    assert world.bb.requests[-1].json() == {"name": f"refs/heads/{BRANCH}"}


def test_a_personal_token_as_bearer_reads_and_commits(world: World) -> None:
    scm = world.scm(access_token=world.bb.token)
    commit(scm, world)
    assert all(r.headers["authorization"].startswith("Bearer ") for r in world.bb.requests)


def test_a_project_token_cannot_commit_and_the_message_says_what_to_use(world: World) -> None:
    scm = world.scm(access_token=world.bb.access_token)
    assert scm.branch_tip("main") == world.base  # reading is fine
    with pytest.raises(ScmForbidden) as caught:
        commit(scm, world)
    message = caught.value.message
    assert caught.value.exit_code == EXIT_FAILED and "HTTP 403" in message
    assert "project or repository access token has no user behind it" in message
    assert "bot user's personal HTTP access token" in message
    assert world.bb.branch_tip(KEY, world.slug, BRANCH) is None


def test_every_request_opts_out_of_xsrf_checks_and_names_the_tool(world: World) -> None:
    scm = world.scm()
    commit(scm, world)
    pr = open_pr(scm)
    scm.decline_pr(pr)
    scm.delete_branch(BRANCH)
    assert {r.method for r in world.bb.requests} == {"GET", "PUT", "POST", "DELETE"}
    assert all(r.headers.get("x-atlassian-token") == "no-check" for r in world.bb.requests)
    assert all(r.headers["user-agent"].startswith("port-gitops/") for r in world.bb.requests)


def test_no_library_retries(world: World) -> None:
    world.bb.faults.add("GET", r"/branches$", status=429, retry_after="120")
    assert world.scm().branch_tip("main") == world.base
    assert world.waits == [120.0]  # our policy waited (injected), not atlassian-python-api's sleep


@pytest.mark.parametrize("context_path", ["", "/tools/bitbucket"])
def test_servers_with_and_without_a_context_path(tmp_path: Path, context_path: str) -> None:
    bb = BitbucketDataCenterSandbox(tmp_path, context_path=context_path)
    bb.start()
    try:
        base = bb.create_repository(KEY, "svc", files={"port.yml": EXISTING})
        scm = make_scm(bb, "svc", [])
        assert scm.repository().default_branch == "main"
        scm.read_file(base, "port.yml")
        scm.commit_file(branch=BRANCH, path="port.yml", content=CHANGED, message="m", parent=base,
                        create_from="main", author=None)  # fmt: skip
        pr = scm.create_pr(branch=BRANCH, base="main", title="t", description="d", reviewers=())
        assert pr.url.startswith(f"{bb.url}/projects/{KEY}/repos/svc/pull-requests/")
        assert all(r.path.startswith(f"{context_path}/rest/") for r in bb.requests)
    finally:
        bb.close()


# -- errors, classified ------------------------------------------------------------------------------


def test_wrong_credentials_are_a_configuration_error_naming_the_credential(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-" + "x" * 30
    scm = world.scm(username="port-bot", token=secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(ScmAuthError) as caught:
        scm.repository()
    assert caught.value.exit_code == EXIT_USAGE
    assert "BITBUCKET_USERNAME/BITBUCKET_TOKEN" in caught.value.message
    assert "personal HTTP access token" in caught.value.message
    assert secret not in caught.value.message
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert len(world.bb.requests) == 1  # a 401 is never retried


def test_a_missing_repository_is_not_found_even_where_absence_is_an_answer(world: World) -> None:
    scm = make_scm(world.bb, "nope", world.waits)
    with pytest.raises(ScmNotFound) as caught:
        scm.repository()
    assert caught.value.status == 404 and "does not exist" in caught.value.message
    with pytest.raises(ScmNotFound):
        scm.read_file(world.base, "port.yml")  # not "the file is absent"


def test_a_user_without_write_permission_is_told_so(world: World) -> None:
    world.bb.faults.add("PUT", r"/browse/", status=403)
    with pytest.raises(ScmForbidden, match="needs write permission"):
        commit(world.scm(), world)


def test_a_session_that_already_carries_credentials_is_refused(world: World) -> None:
    session = make_session(ca_bundle=None)
    session.headers["Authorization"] = "Bearer someone-else"
    with pytest.raises(ValueError, match="session"):
        DataCenterScm(world.bb.url, KEY, world.slug, username=None, token=None, access_token=NEVER_SENT,
                      session=session, policy=RetryPolicy())  # fmt: skip


@pytest.mark.parametrize(("project", "slug"), [("..", "svc"), (KEY, "."), (KEY, "a/b"), ("", "svc")])
def test_traversal_in_repository_names_is_refused(world: World, project: str, slug: str) -> None:
    with pytest.raises(InvalidInputError):
        DataCenterScm(world.bb.url, project, slug, username="port-bot", token=NEVER_SENT, access_token=None,
                      session=make_session(ca_bundle=None), policy=RetryPolicy())  # fmt: skip


@pytest.mark.parametrize("branch", ["x/../main", "../main", "x/./y", "x//y", ""])
def test_traversal_in_branch_names_sends_no_request(world: World, branch: str) -> None:
    scm = world.scm()
    for call in (scm.branch_tip, scm.delete_branch, scm.find_open_pr):
        with pytest.raises(InvalidInputError):
            call(branch)
    assert world.bb.requests == []


def test_rate_limit_until_the_budget_runs_out(world: World) -> None:
    world.bb.faults.add("GET", r"/branches$", status=429, times=10)
    with pytest.raises(ScmRateLimited) as caught:
        world.scm().branch_tip("main")
    assert caught.value.status == 429 and "administrators" in caught.value.message
    assert len(world.bb.requests) == 5  # the default 5 attempts
    assert len(world.waits) == 4


# -- the fault matrix (the shared tests are bitbucket_world's) ----------------------------------------

# name: every request the client makes, how to set it up and trigger it
STEPS = {
    "repository": Step("GET", r"/branches/default$", nothing, lambda w, s: s.repository(), False),
    "branch_tip": Step("GET", r"/branches$", nothing, lambda w, s: s.branch_tip("main"), False),
    "read_file": Step("GET", r"/raw/", nothing, lambda w, s: s.read_file(w.base, "port.yml"), False),
    "commit_parents": Step(
        "GET", r"/commits/[0-9a-f]+$", nothing, lambda w, s: s.commit_parents(w.base), False
    ),
    "find_open_pr": Step("GET", r"/pull-requests$", with_pr, lambda w, s: s.find_open_pr(BRANCH), False),
    "create_pr(reviewers)": Step("GET", r"/reviewers$", with_branch, lambda w, s: w.open_pr(s), False),
    "commit_file": Step("PUT", r"/browse/", nothing, lambda w, s: w.commit(s), True),
    "create_pr": Step("POST", r"/pull-requests$", with_branch, lambda w, s: w.open_pr(s), True),
    "update_pr": Step("PUT", r"/pull-requests/\d+$", with_pr, update, True),
    "decline_pr": Step("POST", r"/decline$", with_pr, decline, True),
    "delete_branch": Step("DELETE", r"/branches$", with_branch, lambda w, s: s.delete_branch(BRANCH), True),
}
COMMIT = ("PUT", r"/browse/")
CREATE_PR = ("POST", r"/pull-requests$")
SERVER_ERROR_TEXT = "Check the server logs"  # Data Center's own error text


def test_a_follow_up_commit_whose_answer_was_lost_is_not_replayed(world: World) -> None:
    scm = world.scm()
    first = commit(scm, world)
    world.bb.faults.add("PUT", r"/browse/", status=503, apply=True)
    with pytest.raises(ScmConflict):
        commit(scm, world, parent=first, content=CHANGED + b"# again\n")
    assert len(world.commits_on(BRANCH)) == 2


class TestFaultMatrix(bitbucket_world.FaultMatrix):
    pass
