"""Every request GitHubScm sends matches GitHub's REST description (../shared/specs/github.openapi.json,
Octokit's publication of github/rest-api-description; its quirks are named in contract.py): each method
of the client, the App's token minting, and every request of the outcome scenarios end to end.

Spec quirks met here: the description declares no security, so credentials are checked by the sandbox,
not here; `{ref}` (`heads/port/enrich-x`) and `{path}` hold slashes; `POST /graphql` (the branch-tips
query) is not in the REST description and is checked by hand. The checker is shown to catch mistakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from contract import assert_requests_match_spec, operations, request_problems
from enrichkit import Enricher, payload

from port_gitops.http import make_session
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example
from port_gitops.scm.github import GitHubScm

OWNER, SLUG = "acme", "payments"
BRANCH = "port/enrich-payments"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(flavour="github") as sb:
        yield sb


def scm_for(sb: Sandbox, **credentials: str | None) -> GitHubScm:
    return GitHubScm(
        sb.scm_url,
        OWNER,
        SLUG,
        session=make_session(ca_bundle=None),
        policy=RetryPolicy(sleep=lambda seconds: None),
        **(credentials or {"token": sb.scm.token}),
    )


def api_requests(sb: Sandbox) -> list[object]:
    return [r for r in sb.scm.requests if not r.path.endswith((".git/info/refs", "git-upload-pack"))]


def test_every_request_of_every_method_matches_the_spec(sandbox: Sandbox) -> None:
    sandbox.scm.create_repository(OWNER, SLUG, {"port.yml": "- identifier: other\n"})
    sandbox.scm.add_user("Rita Reviewer")
    scm = scm_for(
        sandbox, token=None, app_id=str(sandbox.scm.app_id), app_private_key=sandbox.scm.app_private_key
    )
    base = scm.repository().default_branch or ""
    tips = scm.branch_tips([base, BRANCH])
    base_tip = tips[base] or ""
    assert scm.read_file(base_tip, "port.yml") and scm.read_file(base_tip, "deploy/port.yml") is None
    first = scm.commit_file(
        branch=BRANCH, path="port.yml", content=b"- identifier: payments\n", message="m", parent=base_tip,
        create_from=base, author="Port Bot <port-bot@example.com>",
    )  # fmt: skip
    assert scm.commit_parents(first) == [base_tip]
    second = scm.commit_file(
        branch=BRANCH, path="deploy/port.yml", content=b"x: 1\n", message="m2", parent=first,
        create_from=None, author=None,
    )  # fmt: skip
    pr = scm.create_pr(
        branch=BRANCH, base=base, title="t", description="d", reviewers=["rita-reviewer"],
        labels=["catalog"], team_reviewers=["platform"], draft=True,
    )  # fmt: skip
    assert scm.find_open_pr(BRANCH) is not None and second
    scm.create_pr(branch=BRANCH, base=base, title="t", description="d", reviewers=[])  # taken over
    scm.decline_pr(scm.update_pr(pr, title="t2", description="d2"))
    scm.delete_branch(BRANCH)
    sent = api_requests(sandbox)
    assert_requests_match_spec(sent, flavour="github")  # type: ignore[arg-type]
    assert set(operations(sent, "github")) >= {  # type: ignore[arg-type]
        "GET /repos/{owner}/{repo}/installation",
        "POST /app/installations/{installation_id}/access_tokens",
        "GET /repos/{owner}/{repo}",
        "POST /graphql",
        "GET /repos/{owner}/{repo}/contents/{path}",
        "POST /repos/{owner}/{repo}/git/trees",
        "POST /repos/{owner}/{repo}/git/commits",
        "GET /repos/{owner}/{repo}/git/commits/{commit_sha}",
        "POST /repos/{owner}/{repo}/git/refs",
        "PATCH /repos/{owner}/{repo}/git/refs/{ref}",
        "DELETE /repos/{owner}/{repo}/git/refs/{ref}",
        "GET /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/pulls",
        "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
        "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
    }


def test_every_request_of_the_outcome_scenarios_matches_the_spec(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(sandbox)
    enrich = Enricher(sandbox, tmp_path, monkeypatch, capsys)
    outcomes = [
        enrich(example.payload, "--label", "catalog", "--reviewer", "dana-reviewer").result["outcome"]
    ]
    for run_id, changes in [("r_same", {}), ("r_change", {"lifecycle": "Deprecated"})]:
        sandbox.port.create_run(run_id)
        outcomes.append(enrich(payload(example, port_context={"runId": run_id}, **changes)).result["outcome"])
    sandbox.scm.decline_pull_request(OWNER, SLUG, 1)  # the branch is left over: deleted and recreated
    sandbox.port.create_run("r_again")
    outcomes.append(enrich(payload(example, port_context={"runId": "r_again"})).result["outcome"])
    assert outcomes == ["created", "unchanged", "updated", "created"]
    assert_requests_match_spec(api_requests(sandbox), flavour="github")  # type: ignore[arg-type]


def test_the_checker_catches_what_it_exists_for(sandbox: Sandbox) -> None:
    sandbox.scm.create_repository(OWNER, SLUG, {"port.yml": "a: 1\n"})
    url, auth = sandbox.scm_url, {"Authorization": f"token {sandbox.scm.token}"}
    requests.patch(
        f"{url}/repos/{OWNER}/{SLUG}/git/refs/heads/main", json={"sha": 1, "force": "no"}, headers=auth
    )
    requests.post(
        f"{url}/repos/{OWNER}/{SLUG}/git/trees", json={"tree": [{"path": "x", "mode": "644"}]}, headers=auth
    )
    requests.get(f"{url}/repos/{OWNER}/{SLUG}/pulls", params={"head_branch": "x"}, headers=auth)
    requests.post(f"{url}/graphql", json={"query": "{ viewer { login } }"}, headers=auth)
    requests.put(f"{url}/repos/{OWNER}/{SLUG}/pulls", json={}, headers=auth)
    found = [request_problems(r, "github") for r in sandbox.scm.requests]  # type: ignore[arg-type]
    assert all(found), found
    assert "sha" in " ".join(found[0]) and "force" in " ".join(found[0])
    assert "mode" in " ".join(found[1])
    assert "'head_branch' is not declared" in " ".join(found[2])
    assert 'body must be {"query", "variables"}' in found[3]
    assert "allows GET, POST, not PUT" in " ".join(found[4])
