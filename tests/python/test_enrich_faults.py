"""The fault matrix: each injected fault on each step of a first enrichment.

Every cell ends in success after retry, or in FAILURE reported to Port — never a duplicate commit or
pull request, never a lost line of the existing port.yml.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from enrichkit import FLAVOURS, Enricher, payload

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import EXISTING_PORT_YML, Example, seed_example

BRANCH = "port/enrich-payments"
REPO = r"^/2\.0/repositories/acme/payments"
DC = r"^/bitbucket/rest/api/1\.0/projects/ACME/repos/payments"
GL = r"^/gitlab/api/v4/projects/acme%2Fpayments"
GH = r"^/repos/acme/payments"
PORT_STEPS = {
    "Port token": ("port", "POST", r"^/v1/auth/access_token$", True),
    "Port log": ("port", "POST", r"^/v1/actions/runs/[^/]+/logs$", True),
    "Port status": ("port", "PATCH", r"^/v1/actions/runs/[^/]+$", True),  # with the links and summary
}
# A 500 on these may have half-happened: not replayed, the run ends in exit 4 (Port not told).
PORT_FINAL = ("Port status",)
# Per flavour, every request of a first enrichment: (server, method, path regex, is a write). Some go
# out together (Cloud's default reviewers while the commit is written; Data Center's repository read
# beside its default branch, its default reviewers beside the commit; Port's token and log lines beside
# the SCM's work): each cell faults one of them.
STEPS = {
    "bitbucket-cloud": {
        "read repository": ("bitbucket", "GET", REPO + r"$", False),
        "read branch tips": ("bitbucket", "GET", REPO + r"/refs/branches$", False),
        "read port.yml": ("bitbucket", "GET", REPO + r"/src/[0-9a-f]{40}/port\.yml$", False),
        "commit": ("bitbucket", "POST", REPO + r"/src$", True),
        "default reviewers": ("bitbucket", "GET", REPO + r"/(effective-)?default-reviewers$", False),
        "create PR": ("bitbucket", "POST", REPO + r"/pullrequests$", True),
        **PORT_STEPS,
    },
    "bitbucket-datacenter": {
        "read default branch": ("bitbucket", "GET", DC + r"/branches/default$", False),  # and its tip
        "read our branch": ("bitbucket", "GET", DC + r"/branches$", False),
        "read port.yml": ("bitbucket", "GET", DC + r"/raw/port\.yml$", False),
        "commit": ("bitbucket", "PUT", DC + r"/browse/port\.yml$", True),
        "read repository": ("bitbucket", "GET", DC + r"$", False),
        "default reviewers": ("bitbucket", "GET", r"^/bitbucket/rest/default-reviewers/", False),
        "create PR": ("bitbucket", "POST", DC + r"/pull-requests$", True),
        **PORT_STEPS,
    },
    "gitlab": {
        "read project": ("bitbucket", "GET", GL + r"$", False),
        "read branch tips": ("bitbucket", "GET", GL + r"/repository/branches$", False),
        "read port.yml": ("bitbucket", "GET", GL + r"/repository/files/port\.yml/raw$", False),
        "commit": ("bitbucket", "POST", GL + r"/repository/commits$", True),
        "create PR": ("bitbucket", "POST", GL + r"/merge_requests$", True),
        **PORT_STEPS,
    },
    "github": {
        # One GraphQL query (a POST that only reads): the repository, both tips, port.yml at each and
        # the open pull request.
        "read all (query)": ("bitbucket", "POST", r"^/graphql$", False),
        "tree": ("bitbucket", "POST", GH + r"/git/trees$", True),
        "commit": ("bitbucket", "POST", GH + r"/git/commits$", True),
        "create branch": ("bitbucket", "POST", GH + r"/git/refs$", True),
        "create PR": ("bitbucket", "POST", GH + r"/pulls$", True),
        **PORT_STEPS,
    },
}
FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429},
    "429 Retry-After": {"status": 429, "retry_after": "1"},
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "504": {"status": 504},
    "reset": {"reset": True},
    "timeout": {"delay": 1.5},
}
WRITE_APPLIED = {
    "503 after the write": {"status": 503, "apply": True},
    "reset after the write": {"reset": True, "apply": True},
}


# GitHub's own answers: a secondary rate limit (a 403, retried like a 429), and a write that happened
# but answered 422 (a replayed create meets what the first one made: taken over, never duplicated), or
# a pull request refused because GitHub does not see the branch created a moment ago yet.
GH_SECONDARY = b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}'
GITHUB_FAULTS: dict[str, dict[str, Any]] = {
    "403 secondary rate limit": {"status": 403, "body": GH_SECONDARY},
    "403 secondary rate limit Retry-After": {"status": 403, "body": GH_SECONDARY, "retry_after": "1"},
}
GITHUB_STEP_FAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "create branch": {
        "422 after create": {
            "status": 422,
            "apply": True,
            "body": b'{"message": "Reference already exists"}',
        },
    },
    "create PR": {
        "422 after create": {
            "status": 422,
            "apply": True,
            "body": b'{"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",'
            b' "message": "A pull request already exists for acme:port/enrich-payments."}]}',
        },
        "422 head not visible yet": {
            "status": 422,
            "body": b'{"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "head",'
            b' "code": "invalid"}]}',
        },
    },
}


# Faults met without a retry: the 422 of a replayed create is recognised and said so.
MET_WITHOUT_RETRY = {"422 after create": "exists already"}


def faults_of(flavour: str, step: str, write: bool) -> dict[str, dict[str, Any]]:
    faults = {**FAULTS, **(WRITE_APPLIED if write else {})}
    if flavour == "github" and not step.startswith("Port"):
        faults.update(GITHUB_FAULTS)
        faults.update(GITHUB_STEP_FAULTS.get(step, {}))
    return faults


def cells() -> Iterator[Any]:
    for flavour in FLAVOURS:
        for step, (_, _, _, write) in STEPS[flavour].items():
            faults = faults_of(flavour, step, write)
            for name in faults:
                if name == "timeout" and step not in (
                    "read port.yml",
                    "read all (query)",
                    "commit",
                    *PORT_FINAL,
                ):
                    continue  # each timeout costs a real second: these steps cover read, write and Port
                yield pytest.param(flavour, step, name, id=f"{flavour}: {step}: {name}")


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.mark.parametrize(("flavour", "step", "fault"), list(cells()))
def test_fault_matrix(
    flavour: str,
    step: str,
    fault: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Sandbox(flavour=flavour) as sb:
        check_cell(sb, flavour, step, fault, tmp_path, monkeypatch, capsys)


def check_cell(
    sb: Sandbox,
    flavour: str,
    step: str,
    fault: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example: Example = seed_example(sb)
    server, method, path, write = STEPS[flavour][step]
    spec = faults_of(flavour, step, write)[fault]
    target = sb.bitbucket if server == "bitbucket" else sb.port
    target.faults.add(method, path, times=1, **spec)
    run = Enricher(sb, tmp_path, monkeypatch, capsys)(example.payload)

    repo = sb.bitbucket.repository(example.workspace, example.slug)
    prs = list(repo.pull_requests.values())
    assert len(prs) <= 1, "never a second pull request"
    tip = sb.bitbucket.branch_tip(example.workspace, example.slug, BRANCH)
    if tip is not None:
        log = repo.git.run("rev-list", f"main..{BRANCH}").decode().split()
        assert len(log) == 1, "never a duplicate commit"
        text = (sb.bitbucket.read_file(example.workspace, example.slug, BRANCH, "port.yml") or b"").decode()
        assert text.startswith(EXISTING_PORT_YML) and text.count("- identifier: payments\n") == 1

    state = sb.port.runs[example.run_id]
    non_retryable_write = fault == "500" and write and server == "bitbucket"
    if non_retryable_write:
        # A 500 on a write may have half-happened: not replayed; the run fails and says so.
        assert run.code == 1, run.stderr
        assert state["status"] == "FAILURE" and run.result["error"]
        return
    if server == "port" and step in PORT_FINAL and fault == "500":
        assert (
            run.code == 4 and run.result["outcome"] == "created"
        )  # a 500 on the final PATCH or status entry is not replayed
        return
    assert run.code == 0, run.stderr
    assert run.result["outcome"] == "created"
    assert len(prs) == 1 and prs[0].state == "OPEN"
    assert state["status"] == "SUCCESS"
    if step == "Port log" and fault != "429" and fault != "429 Retry-After":
        return  # a log line is never replayed (it could duplicate); losing one is acceptable
    if "Retry-After" in fault:
        assert 1.0 in run.waits, "Retry-After is honoured"
    if fault in ("429", "502", "503", "504", "422 head not visible yet") or (fault == "500" and not write):
        assert run.waits, f"{step} was retried"
    if fault.startswith("403 secondary"):
        assert run.waits, f"{step} was retried after GitHub's secondary rate limit"


def test_repeated_429_without_retry_after_gives_up_within_budget(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(sb)
    sb.bitbucket.faults.add("GET", REPO + r"$", status=429, times=100)
    run = Enricher(sb, tmp_path, monkeypatch, capsys)(example.payload, "--max-attempts", "4")
    assert run.code == 1 and "429" in run.result["error"]
    assert len(run.waits) == 3 and all(w > 0 for w in run.waits)
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    # four attempts at the repository (the default reviewers, read beside it, are another request)
    assert sum(1 for r in sb.bitbucket.requests if r.method == "GET" and re.search(REPO + "$", r.path)) == 4


def test_a_409_on_the_commit_re_reads_and_decides_again(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(sb)
    sb.bitbucket.faults.add("POST", REPO + r"/src$", status=409, times=1)
    run = Enricher(sb, tmp_path, monkeypatch, capsys)(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created"
    assert "conflict" in run.stderr
    assert sum(1 for r in sb.bitbucket.requests if r.method == "POST" and r.path.endswith("/src")) == 2


# A Data Center re-run reads ahead: our branch beside the default branch, then port.yml at both tips and
# the open pull request at once. A fault on any of them is retried where it happened, and the re-run
# still ends as it should, writing nothing.
DC_RE_RUN_READS = {
    "our branch": ("GET", DC + r"/branches$"),
    "port.yml": ("GET", DC + r"/raw/port\.yml$"),
    "open PR": ("GET", DC + r"/pull-requests$"),
}


@pytest.mark.parametrize("fault", ["503", "reset"])
@pytest.mark.parametrize("read", sorted(DC_RE_RUN_READS))
def test_datacenter_re_run_reads_ahead_survive_faults(
    read: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(flavour="bitbucket-datacenter") as sb:
        example = seed_example(sb)
        enrich = Enricher(sb, tmp_path, monkeypatch, capsys)
        first = enrich(example.payload)
        assert first.result["outcome"] == "created", first.stderr
        sb.port.create_run("r_again")
        sb.scm.clear()
        method, path = DC_RE_RUN_READS[read]
        sb.scm.faults.add(method, path, times=1, **FAULTS[fault])
        again = enrich(payload(example, port_context={"runId": "r_again"}))
        assert again.code == 0 and again.result["outcome"] == "unchanged", again.stderr
        assert again.result["pull_request"] == first.result["pull_request"]
        assert sb.scm.writes() == [] and again.waits, "retried, and nothing written"
        assert sb.port.runs["r_again"]["status"] == "SUCCESS"
