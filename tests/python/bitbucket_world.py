"""What the two Bitbucket client test modules share: the per-test repository (`World`) and the client
fault matrix.

The fault-matrix tests are written once here (`FaultMatrix`); `test_scm_bitbucket_cloud.py` and
`test_scm_bitbucket_datacenter.py` subclass it, so pytest runs them in each module with that module's
`world` fixture, `STEPS` (every request the client makes, with how to set it up and trigger it) and
`COMMIT`/`CREATE_PR` (where the flavour's commit and pull-request create are sent). conftest's
`pytest_generate_tests` parametrises `step` over the importing module's STEPS.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional

import pytest

from port_gitops.errors import EXIT_FAILED
from port_gitops.sandbox import Sandbox
from port_gitops.scm import PullRequest, Scm, ScmConflict, ScmError

EXISTING = (
    b"# The payments service, described for Port.\n- identifier: other  # keep me\n  blueprint: service\n"
)
CHANGED = EXISTING + b"- identifier: payments\n  blueprint: service\n"
BRANCH = "port/enrich-payments"
NEVER_SENT = "never-sent"  # for clients that must fail before any request
SHA40 = re.compile(r"[0-9a-f]{40}")


@dataclass
class World:
    """A fresh repository per test on the module's sandbox; `scm()` is the client under test."""

    sb: Sandbox
    owner: str  # Cloud's workspace, Data Center's project key
    slug: str
    base: str  # tip of its main branch when the test starts
    waits: list[float] = field(default_factory=list)

    @property
    def bb(self) -> Any:
        return self.sb.bitbucket

    def scm(self, *, timeout: tuple[float, float] = (5, 30), **credentials: Any) -> Any:
        raise NotImplementedError

    def commit(self, scm: Any, parent: Optional[str] = None, content: bytes = CHANGED) -> str:
        """A commit of port.yml on BRANCH, on `parent` (default: main as the test started)."""
        raise NotImplementedError

    def open_pr(self, scm: Any, reviewers: tuple[str, ...] = ()) -> PullRequest:
        pr: PullRequest = scm.create_pr(
            branch=BRANCH, base="main", title="Enrich", description="first", reviewers=reviewers
        )
        return pr

    def reviewer(self) -> str:
        """A user who can review, as the flavour's create_pr takes it."""
        raise NotImplementedError

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(self.bb.git_dir(self.owner, self.slug)), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def commits_on(self, branch: str) -> list[str]:
        """Commits on `branch` that main (as the test started) does not have, newest first."""
        return self.git("rev-list", f"{self.base}..refs/heads/{branch}").split()

    def pull_requests(self) -> list[dict[str, Any]]:
        return list(self.bb.pull_requests(self.owner, self.slug))

    def sent(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.bb.requests]


# -- the fault matrix ---------------------------------------------------------------------------------


class Step(NamedTuple):
    method: str
    path: str  # regex on the request path
    setup: Callable[[World], None]
    call: Callable[[World, Scm], Any]
    write: bool


def nothing(world: World) -> None:
    del world


def with_branch(world: World) -> None:
    world.commit(world.scm())


def with_pr(world: World) -> None:
    scm = world.scm()
    world.commit(scm)
    world.open_pr(scm, (world.reviewer(),))


def update(world: World, scm: Scm) -> PullRequest:
    pr = scm.find_open_pr(BRANCH)
    assert pr is not None
    return scm.update_pr(pr, title="Enrich again", description="second")


def decline(world: World, scm: Scm) -> None:
    pr = scm.find_open_pr(BRANCH)
    assert pr is not None
    scm.decline_pr(pr)


# Writes whose replay (the first attempt applied, its answer lost) must be harmless.
REPLAYABLE = ("update_pr", "decline_pr", "delete_branch")

TRANSIENT = {
    "429+Retry-After": {"status": 429, "retry_after": "2"},
    "429": {"status": 429},
    "502": {"status": 502},
    "503": {"status": 503},
    "504": {"status": 504},
    "reset": {"reset": True},
}


def _invariants(world: World, name: str) -> None:
    """Whatever happened: at most one commit on our branch, at most one pull request, main untouched."""
    assert world.bb.branch_tip(world.owner, world.slug, "main") == world.base
    if world.bb.branch_tip(world.owner, world.slug, BRANCH):
        assert len(world.commits_on(BRANCH)) <= 1, name
    assert len(world.pull_requests()) <= 1, name
    assert world.bb.read_file(world.owner, world.slug, "main", "port.yml") == EXISTING, "no line lost"


def _module(request: pytest.FixtureRequest, name: str) -> Any:
    return getattr(request.module, name)


class FaultMatrix:
    """The client fault matrix; a module runs it with `class TestFaultMatrix(bitbucket_world.FaultMatrix)`."""

    @pytest.mark.parametrize("fault", sorted(TRANSIENT))
    def test_transient_faults_succeed_after_a_retry(
        self, world: World, step_name: str, fault: str, request: pytest.FixtureRequest
    ) -> None:
        step: Step = _module(request, "STEPS")[step_name]
        step.setup(world)
        scm = world.scm()
        world.bb.clear()
        world.bb.faults.add(step.method, step.path, **TRANSIENT[fault])
        step.call(world, scm)
        hits = [r for r in world.bb.requests if r.method == step.method and re.search(step.path, r.path)]
        assert len(hits) == 2, world.sent()  # the faulted attempt and its successful retry
        assert len(world.waits) == 1
        if fault == "429+Retry-After":
            assert world.waits == [2.0]
        _invariants(world, step_name)

    def test_500_is_retried_on_reads_and_reported_on_writes(
        self, world: World, step_name: str, request: pytest.FixtureRequest
    ) -> None:
        step: Step = _module(request, "STEPS")[step_name]
        step.setup(world)
        scm = world.scm()
        world.bb.clear()
        world.bb.faults.add(step.method, step.path, status=500)
        if step.write:
            with pytest.raises(ScmError) as caught:
                step.call(world, scm)
            assert caught.value.status == 500 and caught.value.exit_code == EXIT_FAILED
            assert _module(request, "SERVER_ERROR_TEXT") in caught.value.message  # the server's own text
            assert world.waits == []
        else:
            step.call(world, scm)
            assert len(world.waits) == 1
        _invariants(world, step_name)

    def test_a_slow_answer_times_out_and_is_retried(
        self, world: World, step_name: str, request: pytest.FixtureRequest
    ) -> None:
        step: Step = _module(request, "STEPS")[step_name]
        step.setup(world)
        scm = world.scm(timeout=(2, 0.1))
        world.bb.clear()
        # Answered late: the client has given up by then. Late enough that the retry, even on a loaded
        # machine, is answered before the delayed original is applied (a write would then answer 409).
        world.bb.faults.add(step.method, step.path, delay=1.0)
        step.call(world, scm)
        assert len(world.waits) == 1
        _invariants(world, step_name)

    def test_a_commit_whose_answer_was_lost_is_not_replayed_into_a_second_commit(
        self, world: World, request: pytest.FixtureRequest
    ) -> None:
        # The commit happens, the connection drops before the answer: the replay names the same parent
        # (Cloud's `parents`, Data Center's `sourceCommitId`), which is no longer the tip: a 409, not a
        # duplicate commit.
        scm = world.scm()
        world.bb.faults.add(*_module(request, "COMMIT"), reset=True, apply=True)
        with pytest.raises(ScmConflict):
            world.commit(scm)
        assert len(world.commits_on(BRANCH)) == 1
        assert world.bb.read_file(world.owner, world.slug, BRANCH, "port.yml") == CHANGED

    def test_a_pull_request_whose_answer_was_lost_is_not_opened_twice(
        self, world: World, request: pytest.FixtureRequest
    ) -> None:
        with_branch(world)
        scm = world.scm()
        world.bb.faults.add(*_module(request, "CREATE_PR"), reset=True, apply=True)
        pr = world.open_pr(scm)
        (stored,) = world.pull_requests()
        assert stored["id"] == pr.id and stored["state"] == "OPEN"

    @pytest.mark.parametrize("name", REPLAYABLE)
    def test_other_writes_whose_answer_was_lost_are_safe_to_replay(
        self, world: World, name: str, request: pytest.FixtureRequest
    ) -> None:
        step: Step = _module(request, "STEPS")[name]
        step.setup(world)
        world.bb.faults.add(step.method, step.path, status=503, apply=True)
        step.call(world, world.scm())
        _invariants(world, name)
        if name == "update_pr":  # reviewers kept (Data Center: the replay's version was stale, re-read)
            (stored,) = world.pull_requests()
            assert stored["title"] == "Enrich again" and len(stored["reviewers"]) == 1
        if name == "decline_pr":
            assert [p["state"] for p in world.pull_requests()] == ["DECLINED"]

    def test_a_409_from_a_racing_writer_is_a_conflict(
        self, world: World, request: pytest.FixtureRequest
    ) -> None:
        world.bb.faults.add(*_module(request, "COMMIT"), status=409)
        with pytest.raises(ScmConflict):
            world.commit(world.scm())
        assert world.bb.branch_tip(world.owner, world.slug, BRANCH) is None
