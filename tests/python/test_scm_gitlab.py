"""GitLabScm against the GitLab sandbox: real HTTP on loopback (under a relative URL root), a real git
repository behind it, projects in subgroups.

Every method on the happy path, the GitLab specifics (one Commits API call that creates the branch,
`last_commit_id` as the lock, merge requests numbered per project, 409 "already exists" taken over,
only our own merge request counts, usernames resolved to ids, draft/labels/remove_source_branch),
the error classification (401, 403 insufficient_scope, 404, 429 with RateLimit-Reset, protected
branches), and the request budget of a whole enrichment.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from enrichkit import Enricher, payload

from port_gitops.errors import EXIT_USAGE
from port_gitops.http import make_session
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example
from port_gitops.sandbox.gitlab import GitLabSandbox
from port_gitops.scm import ScmAuthError, ScmConflict, ScmForbidden, ScmNotFound, ScmRateLimited
from port_gitops.scm.gitlab import GitLabScm, flatten_message

GROUP = "acme/platform/team"  # a subgroup two levels deep
EXISTING = b"# catalog\n- identifier: other  # keep me\n  blueprint: service\n"
CHANGED = EXISTING + b"- identifier: payments\n  blueprint: service\n"
BRANCH = "port/enrich-payments"
SHA40 = re.compile(r"[0-9a-f]{40}")
_numbers = itertools.count(1)


@dataclass
class World:
    gl: GitLabSandbox
    slug: str
    base: str
    waits: list[float] = field(default_factory=list)

    def scm(self, *, token: str | None = None, group: str = GROUP) -> GitLabScm:
        return GitLabScm(
            self.gl.url,
            group,
            self.slug,
            token=token or self.gl.token,
            session=make_session(ca_bundle=None),
            policy=RetryPolicy(sleep=self.waits.append),
        )

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(self.gl.git_dir(GROUP, self.slug)), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def api(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.gl.requests]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(flavour="gitlab") as sb:
        yield sb


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[World]:
    gl = sandbox.scm
    assert isinstance(gl, GitLabSandbox)
    slug = f"svc-{next(_numbers)}"
    base = gl.create_repository(GROUP, slug, {"port.yml": EXISTING, "README.md": "hi\n"})
    gl.clear()
    gl.faults.clear()
    gl.scopes = {"api"}
    yield World(gl, slug, base)
    gl.faults.clear()


def test_project_in_a_subgroup_by_encoded_path(world: World) -> None:
    info = world.scm().repository()
    assert (info.full_name, info.default_branch) == (f"{GROUP}/{world.slug}", "main")
    assert info.web_url == f"{world.gl.url}/{GROUP}/{world.slug}"
    assert world.api() == [("GET", f"/gitlab/api/v4/projects/acme%2Fplatform%2Fteam%2F{world.slug}")]
    # one URL-encoded path segment for the whole group/subgroup/project path


def test_branch_tips_in_one_request(world: World) -> None:
    world.gl.push(GROUP, world.slug, "port/enrich-paymentsX", {"x": "1\n"})  # a near miss stays out
    tips = world.scm().branch_tips(["main", BRANCH])
    assert tips == {"main": world.base, BRANCH: None}
    assert len(world.api()) == 1
    assert world.scm().branch_tip("port/enrich-paymentsX") is not None


def test_branch_tips_fall_back_when_the_regex_filter_is_ignored(world: World) -> None:
    # An older GitLab ignores `regex` and lists every branch: the client asks branch by branch.
    world.gl.push(GROUP, world.slug, "feature/other", {"x": "1\n"})
    everything = [
        {"name": "main", "commit": {"id": world.base}},
        {"name": "feature/other", "commit": {"id": "0" * 40}},
    ]
    world.gl.faults.add("GET", r"/repository/branches$", status=200, body=json.dumps(everything).encode())
    assert world.scm().branch_tips(["main", BRANCH]) == {"main": world.base, BRANCH: None}
    assert len(world.api()) == 3


def test_read_file_by_sha_and_absent_file(world: World) -> None:
    scm = world.scm()
    assert scm.read_file(world.base, "port.yml") == EXISTING
    assert scm.read_file(world.base, "nope/port.yml") is None
    assert all(r.query.get("ref") == [world.base] for r in world.gl.requests), (
        "ref is the SHA, never a branch"
    )
    assert world.gl.requests[0].path.endswith("/repository/files/port.yml/raw")


def test_commit_creates_the_branch_with_one_commit_touching_port_yml_only(world: World) -> None:
    scm = world.scm()
    scm.read_file(world.base, "port.yml")
    tip = scm.commit_file(
        branch=BRANCH, path="port.yml", content=CHANGED, message="Enrich", parent=world.base,
        create_from="main", author="Port Bot <bot@example.com>",
    )  # fmt: skip
    assert SHA40.fullmatch(tip) and world.gl.branch_tip(GROUP, world.slug, BRANCH) == tip
    assert world.git("rev-list", "--parents", "-n", "1", BRANCH).split() == [tip, world.base]
    assert world.git("diff", "--name-only", "main", BRANCH).split() == ["port.yml"]
    assert world.git("log", "-1", "--format=%an <%ae>", BRANCH).strip() == "Port Bot <bot@example.com>"
    [commit] = [r for r in world.gl.requests if r.method == "POST"]
    body = json.loads(commit.body)
    assert body["start_sha"] == world.base and body["actions"][0]["action"] == "update"
    assert body["actions"][0]["last_commit_id"] == world.base


def test_a_file_changed_since_we_read_it_is_a_conflict_and_commits_nothing(world: World) -> None:
    scm = world.scm()
    first = scm.commit_file(
        branch=BRANCH, path="port.yml", content=CHANGED, message="one", parent=world.base,
        create_from="main", author=None,
    )  # fmt: skip
    assert scm.read_file(first, "port.yml") == CHANGED
    other = world.gl.push(GROUP, world.slug, BRANCH, {"port.yml": EXISTING + b"# someone\n"})
    with pytest.raises(ScmConflict, match="changed since"):
        scm.commit_file(
            branch=BRANCH, path="port.yml", content=CHANGED + b"# more\n", message="two", parent=first,
            create_from=None, author=None,
        )  # fmt: skip
    assert world.gl.branch_tip(GROUP, world.slug, BRANCH) == other


def test_creating_a_branch_that_exists_is_a_conflict(world: World) -> None:
    world.gl.push(GROUP, world.slug, BRANCH, {"x": "1\n"})
    with pytest.raises(ScmConflict, match="already exists"):
        world.scm().commit_file(
            branch=BRANCH, path="port.yml", content=CHANGED, message="m", parent=world.base,
            create_from="main", author=None,
        )  # fmt: skip


def test_protected_branch_is_refused_in_one_line(world: World) -> None:
    world.gl.push(GROUP, world.slug, BRANCH, {"x": "1\n"})
    world.gl.protect_branch(GROUP, world.slug, BRANCH)
    tip = world.gl.branch_tip(GROUP, world.slug, BRANCH)
    assert tip is not None
    with pytest.raises(ScmForbidden) as caught:
        world.scm().commit_file(
            branch=BRANCH, path="port.yml", content=CHANGED, message="m", parent=tip, create_from=None,
            author=None,
        )  # fmt: skip
    message = caught.value.message
    assert "protected" in message and "not allowed to push" in message and "\n" not in message


def _opened(world: World, **kwargs: Any) -> Any:
    scm = world.scm()
    scm.commit_file(
        branch=BRANCH, path="port.yml", content=CHANGED, message="m", parent=world.base,
        create_from="main", author=None,
    )  # fmt: skip
    return scm, scm.create_pr(branch=BRANCH, base="main", title="Enrich", description="d", **kwargs)


def test_merge_request_lifecycle_keeps_reviewers_labels_and_draft(world: World) -> None:
    eli = world.gl.add_user("Eli Extra", email="eli@example.com")
    scm, pr = _opened(
        world, reviewers=["@" + eli.nickname, "nobody-here"], labels=["catalog", "port"], draft=True
    )
    assert pr.id == 1 and pr.url.endswith(f"/{GROUP}/{world.slug}/-/merge_requests/1")
    assert pr.reviewers == (eli.nickname,) and pr.title == "Draft: Enrich"
    hosted = world.gl.repository(GROUP, world.slug)
    assert hosted is not None
    mr = hosted.pull_requests[1]
    assert mr.labels == ["catalog", "port"] and mr.draft and mr.close_source_branch
    assert [a.nickname for a in mr.reviewers] == [eli.nickname]
    assert scm.find_open_pr(BRANCH) == pr
    updated = scm.update_pr(pr, title="Enrich again", description="d2")
    assert updated.title == "Draft: Enrich again", "a draft stays a draft"
    assert mr.labels == ["catalog", "port"] and [a.nickname for a in mr.reviewers] == [eli.nickname]
    scm.decline_pr(updated)
    assert mr.state == "DECLINED" and scm.find_open_pr(BRANCH) is None
    scm.decline_pr(updated)  # closing a closed merge request changes nothing
    with pytest.raises(ScmConflict, match="closed"):
        scm.update_pr(updated, title="t", description="d")


def test_another_open_merge_request_is_taken_over_never_duplicated(world: World) -> None:
    scm, first = _opened(world, reviewers=[])
    world.gl.clear()
    again = scm.create_pr(branch=BRANCH, base="main", title="Enrich", description="d", reviewers=[])
    assert again.id == first.id
    hosted = world.gl.repository(GROUP, world.slug)
    assert hosted is not None and len(hosted.pull_requests) == 1
    assert [r.status for r in world.gl.requests] == [409, 200]


def test_only_our_own_merge_request_counts(world: World) -> None:
    fork = {
        "iid": 7, "title": "from a fork", "description": "", "source_branch": BRANCH, "target_branch": "main",
        "source_project_id": 999, "target_project_id": 1, "web_url": "x", "reviewers": [],
    }  # fmt: skip
    world.gl.faults.add("GET", r"/merge_requests$", status=200, body=json.dumps([fork]).encode())
    assert world.scm().find_open_pr(BRANCH) is None
    query = world.gl.requests[-1].query
    assert query["state"] == ["opened"] and query["source_branch"] == [BRANCH]


def test_default_reviewers_ask_nothing(world: World) -> None:
    assert world.scm().default_reviewers() == [] and world.gl.requests == []


def test_delete_branch_is_idempotent(world: World) -> None:
    world.gl.push(GROUP, world.slug, BRANCH, {"x": "1\n"})
    scm = world.scm()
    scm.delete_branch(BRANCH)
    scm.delete_branch(BRANCH)
    assert world.gl.branch_tip(GROUP, world.slug, BRANCH) is None


def test_private_token_header_and_no_library_retries(world: World) -> None:
    world.gl.faults.add("GET", r".", status=503, times=1)
    world.scm().repository()
    first, second = world.gl.requests
    assert first.headers["private-token"] == world.gl.token and "authorization" not in first.headers
    assert first.headers["user-agent"].startswith("port-gitops/")
    assert first.status == 503 and second.status == 200 and len(world.waits) == 1, "retried by retry.py"


def test_a_rejected_token_is_a_configuration_error(world: World) -> None:
    with pytest.raises(ScmAuthError) as caught:
        world.scm(token="glpat-wrong").repository()
    assert caught.value.exit_code == EXIT_USAGE and "GITLAB_TOKEN" in caught.value.message
    assert "glpat-wrong" not in caught.value.message


def test_a_token_without_the_api_scope_names_it(world: World) -> None:
    world.gl.scopes = {"read_api"}
    scm = world.scm()
    assert scm.repository().default_branch == "main", "read_api reads"
    with pytest.raises(ScmForbidden, match="GITLAB_TOKEN lacks the api scope"):
        scm.commit_file(
            branch=BRANCH, path="port.yml", content=CHANGED, message="m", parent=world.base,
            create_from="main", author=None,
        )  # fmt: skip


def test_a_missing_project_is_not_found_or_no_access(world: World) -> None:
    with pytest.raises(ScmNotFound, match="not found, or GITLAB_TOKEN has no access"):
        world.scm(group="acme/elsewhere").repository()


def test_429_waits_for_retry_after_then_for_rate_limit_reset(world: World) -> None:
    world.gl.faults.add("GET", r".", status=429, times=1)  # GitLab's Retry-After: 1
    world.scm().repository()
    assert world.waits == [1.0]
    world.waits.clear()
    world.gl.faults.add("GET", r".", status=429, times=1, headers={"Retry-After": ""})
    world.scm().repository()
    assert len(world.waits) == 1 and 0.0 <= world.waits[0] <= 1.0, "RateLimit-Reset (epoch) is honoured"


def test_429_until_the_budget_runs_out_is_rate_limited(world: World) -> None:
    world.gl.faults.add("GET", r".", status=429, times=10)
    scm = GitLabScm(
        world.gl.url, GROUP, world.slug, token=world.gl.token, session=make_session(ca_bundle=None),
        policy=RetryPolicy(max_attempts=3, sleep=world.waits.append),
    )  # fmt: skip
    with pytest.raises(ScmRateLimited, match="GitLab rate-limits"):
        scm.repository()


def test_a_session_that_already_carries_credentials_is_refused(world: World) -> None:
    session = make_session(ca_bundle=None)
    session.headers["PRIVATE-TOKEN"] = "x"
    with pytest.raises(ValueError, match="without credentials"):
        GitLabScm(world.gl.url, GROUP, world.slug, token="t", session=session, policy=RetryPolicy())


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("404 Project Not Found", "404 Project Not Found"),
        (["Another open merge request already exists for this source branch: !1"], "Another open"),
        (
            {"base": ["is invalid"], "title": ["is too long", "is bad"]},
            "base: is invalid; title: is too long, is bad",
        ),
    ],
)
def test_gitlab_messages_of_every_shape_are_one_line(message: Any, text: str) -> None:
    assert text in flatten_message(message) and "\n" not in flatten_message(message)


# -- a whole enrichment: the request budget, the payload file GitLab writes ------------------------------
@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(flavour="gitlab") as sandbox:
        yield sandbox


def test_request_budget_of_a_first_run_and_an_unchanged_re_run(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(sb)
    enrich = Enricher(sb, tmp_path, monkeypatch, capsys)
    sb.scm.clear()
    first = enrich(example.payload)
    assert first.result["outcome"] == "created"
    assert len(sb.scm.requests) <= 7, [r.path for r in sb.scm.requests]
    sb.scm.clear()
    sb.port.create_run("r_again")
    again = enrich(payload(example, port_context={"runId": "r_again"}))
    assert again.result["outcome"] == "unchanged"
    assert len(sb.scm.requests) <= 5, [r.path for r in sb.scm.requests]


def test_trigger_payload_file_as_gitlab_writes_it(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pipeline triggered by Port's webhook gets the request body, unchanged, as the file-type
    variable TRIGGER_PAYLOAD (its value is the file's path): `--payload "$TRIGGER_PAYLOAD"`."""
    from port_gitops import cli

    example = seed_example(sb)
    trigger = tmp_path / "builds" / "TRIGGER_PAYLOAD"
    trigger.parent.mkdir()
    trigger.write_bytes(json.dumps(example.payload, separators=(",", ":")).encode())  # no trailing newline
    enrich = Enricher(sb, tmp_path, monkeypatch, capsys)
    enrich.env(TRIGGER_PAYLOAD=str(trigger))
    import os

    code = cli.main(["enrich", "--payload", os.environ["TRIGGER_PAYLOAD"], "--json"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["outcome"] == "created"
    assert sb.port.runs[example.run_id]["status"] == "SUCCESS"


def test_a_subgroup_project_end_to_end_from_its_web_url(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sb.scm.create_repository(GROUP, "ledger", {"port.yml": EXISTING})
    sb.port.create_run("r_sub", entity="ledger")
    url = sb.scm.repository_url(GROUP, "ledger") + "/-/tree/main"
    body = {"port_context": {"entity": "ledger", "repo_url": url, "runId": "r_sub"},
            "domain": "billing", "type": "backend", "lifecycle": "Production"}  # fmt: skip
    run = Enricher(sb, tmp_path, monkeypatch, capsys)(body)  # GITLAB_GROUP=acme allows its subgroups
    assert run.code == 0 and run.result["repository"] == f"{GROUP}/ledger", run.stderr
    hosted = sb.scm.repository(GROUP, "ledger")
    assert hosted is not None and len(hosted.pull_requests) == 1


def test_a_moved_file_on_the_commit_re_reads_and_decides_again(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(sb)
    moved = {"message": "The file has changed since you started editing it: port.yml"}
    sb.scm.faults.add("POST", r"/repository/commits$", status=400, body=json.dumps(moved).encode())
    run = Enricher(sb, tmp_path, monkeypatch, capsys)(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert "conflict" in run.stderr and "changed since" in run.stderr
    assert sum(1 for r in sb.scm.requests if r.method == "POST" and r.path.endswith("/commits")) == 2


def test_without_gitlabs_file_headers_the_lock_comes_from_the_files_metadata(world: World) -> None:
    scm = world.scm()
    world.gl.faults.add("GET", r"/raw$", status=200, body=EXISTING)  # an answer without X-Gitlab-* headers
    assert scm.read_file(world.base, "port.yml") == EXISTING
    scm.commit_file(
        branch=BRANCH, path="port.yml", content=CHANGED, message="m", parent=world.base,
        create_from="main", author=None,
    )  # fmt: skip
    [commit] = [r for r in world.gl.requests if r.method == "POST"]
    assert json.loads(commit.body)["actions"][0]["last_commit_id"] == world.base
    assert [r.path.rsplit("/", 1)[-1] for r in world.gl.requests] == ["raw", "port.yml", "commits"]
