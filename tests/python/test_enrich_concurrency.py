"""Independent reads go out together (issue 13): on Cloud the default reviewers are read beside the
first reads, and the 201's Location saves reading the branch again; on Data Center the default
branch comes with its tip and our branch is looked up beside it, a re-run reads port.yml at the base and
at our branch and our open pull request at once, and the pull request's default reviewers are read while
the commit is written; GitLab resolves every --reviewer at once. Checked by holding one request back and looking at what else arrived
meanwhile (structure, not timing)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest
from enrichkit import Enricher, payload

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example
from port_gitops.sandbox.faults import Fault


@pytest.fixture
def cloud() -> Iterator[Sandbox]:
    with Sandbox(flavour="bitbucket-cloud") as sandbox:
        yield sandbox


@pytest.fixture
def datacenter() -> Iterator[Sandbox]:
    with Sandbox(flavour="bitbucket-datacenter") as sandbox:
        yield sandbox


def hold(sb: Sandbox, method: str, suffix: str, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Hold back the first request `method ...suffix` for 0.4 s; record the SCM paths recorded by then."""
    seen: list[list[str]] = []
    take = sb.scm.faults.take
    lock = threading.Lock()

    def slow(m: str, path: str) -> Optional[Fault]:
        with lock:
            first = m == method and path.endswith(suffix) and not seen
            if first:
                seen.append([])
        if first:
            time.sleep(0.4)
            seen[0] = [request.path for request in sb.scm.requests]
        return take(m, path)

    monkeypatch.setattr(sb.scm.faults, "take", slow)
    return seen


def test_cloud_reads_the_default_reviewers_while_the_commit_is_written(
    cloud: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(cloud)
    seen = hold(cloud, "POST", "/src", monkeypatch)
    run = Enricher(cloud, tmp_path, monkeypatch, capsys)(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert any(path.endswith("default-reviewers") for path in seen[0])
    paths = [(request.method, request.path) for request in cloud.scm.requests]
    assert len(paths) == 6, paths  # the new tip comes from the 201's Location
    assert not any(path.endswith("/refs/branches/port/enrich-payments") for _, path in paths)
    pr = next(iter(cloud.scm.repository(example.workspace, example.slug).pull_requests.values()))
    assert pr.reviewers, "the default reviewer read meanwhile is on the pull request"


def test_datacenter_reads_the_base_tip_with_the_default_branch(
    datacenter: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(datacenter)
    run = Enricher(datacenter, tmp_path, monkeypatch, capsys)(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    repo = f"/bitbucket/rest/api/1.0/projects/{example.workspace.upper()}/repos/{example.slug}"
    sent = sorted(f"{r.method} {r.path.replace(repo, '')}" for r in datacenter.scm.requests)
    assert sent == sorted([
        "GET /branches/default",  # the default branch and its tip
        "GET ",  # the repository's id, for the default reviewers (beside the default branch)
        "GET /branches",  # our branch only
        "GET /raw/port.yml",
        f"GET /bitbucket/rest/default-reviewers/1.0/projects/{example.workspace.upper()}/repos/{example.slug}/reviewers",
        "PUT /browse/port.yml",
        "POST /pull-requests",
    ])  # fmt: skip


def test_datacenter_looks_our_branch_up_beside_the_default_branch(
    datacenter: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(datacenter)
    seen = hold(datacenter, "GET", "/branches/default", monkeypatch)
    run = Enricher(datacenter, tmp_path, monkeypatch, capsys)(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert sum(path.endswith("/branches") for path in seen[0]) == 1  # ours, answered meanwhile


def test_datacenter_re_run_reads_port_yml_at_both_tips_and_the_open_pr_at_once(
    datacenter: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(datacenter)
    enrich = Enricher(datacenter, tmp_path, monkeypatch, capsys)
    assert enrich(example.payload).result["outcome"] == "created"
    datacenter.port.create_run("r_again")
    datacenter.scm.clear()
    seen = hold(datacenter, "GET", "/raw/port.yml", monkeypatch)
    again = enrich(payload(example, port_context={"runId": "r_again"}))
    assert again.code == 0 and again.result["outcome"] == "unchanged", again.stderr
    meanwhile = seen[0]  # answered while one of the two reads of port.yml was held back
    assert sum(path.endswith("/raw/port.yml") for path in meanwhile) == 1, meanwhile
    assert sum(path.endswith("/pull-requests") for path in meanwhile) == 1, meanwhile
    assert sum(r.path.endswith("/raw/port.yml") for r in datacenter.scm.requests) == 2
    assert len(datacenter.scm.requests) == 6, [r.path for r in datacenter.scm.requests]


def test_datacenter_reads_the_pairs_default_reviewers_while_the_commit_is_written(
    datacenter: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(datacenter)
    seen = hold(datacenter, "PUT", "/browse/port.yml", monkeypatch)
    run = Enricher(datacenter, tmp_path, monkeypatch, capsys)(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert any("/rest/default-reviewers/" in path for path in seen[0]), seen[0]
    pr = next(iter(datacenter.scm.repository(example.workspace, example.slug).pull_requests.values()))
    assert pr.reviewers, "the default reviewer read meanwhile is on the pull request"


def test_gitlab_looks_every_reviewer_up_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(flavour="gitlab") as gitlab:
        example = seed_example(gitlab)
        names = [gitlab.scm.add_user(name).nickname for name in ("Eli Extra", "Fay Further")]
        seen = hold(gitlab, "GET", "/users", monkeypatch)
        run = Enricher(gitlab, tmp_path, monkeypatch, capsys)(
            example.payload, *[arg for name in names for arg in ("--reviewer", name)]
        )
        assert run.code == 0 and run.result["outcome"] == "created", run.stderr
        assert sum(path.endswith("/users") for path in seen[0]) == 1  # the other one, answered meanwhile
        pr = next(iter(gitlab.scm.repository(example.workspace, example.slug).pull_requests.values()))
        assert sorted(account.nickname for account in pr.reviewers) == sorted(names)
