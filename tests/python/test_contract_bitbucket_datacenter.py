"""Every request DataCenterScm sends matches Atlassian's published Bitbucket Data Center 9.2 OpenAPI
document (tests/specs/bitbucket-datacenter.openapi.json). Its path keys are `/api/latest/...`
under the server's `/rest`; the client calls `/rest/api/1.0/...`, which is the same API (contract.py
maps one onto the other and drops the server's context path).

The checker is also shown to catch the mistakes it exists for, with requests really sent to the
sandbox: a validator that never fails would prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from contract import assert_requests_match_spec, operations, request_problems

from port_gitops.http import make_session
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox
from port_gitops.scm.bitbucket_datacenter import DataCenterScm

KEY, SLUG = "ACME", "payments"
BRANCH = "port/enrich-payments"
REPO = "/api/latest/projects/{projectKey}/repos/{repositorySlug}"


@pytest.fixture
def bb() -> Iterator[BitbucketDataCenterSandbox]:
    with Sandbox(flavour="datacenter") as sb:
        assert isinstance(sb.bitbucket, BitbucketDataCenterSandbox)
        sb.bitbucket.create_repository(KEY, SLUG, files={"port.yml": b"- identifier: other\n"})
        yield sb.bitbucket


def scm_for(bb: BitbucketDataCenterSandbox, **credentials: str | None) -> DataCenterScm:
    auth = credentials or {"username": bb.username, "token": bb.token}
    return DataCenterScm(
        bb.url,
        KEY,
        SLUG,
        session=make_session(ca_bundle=None),
        policy=RetryPolicy(sleep=lambda seconds: None),
        **{"username": None, "token": None, "access_token": None, **auth},
    )


def test_every_request_of_every_method_matches_the_spec(bb: BitbucketDataCenterSandbox) -> None:
    scm = scm_for(bb)
    reviewer = bb.add_user("Rita Reviewer")
    bb.set_default_reviewers(KEY, SLUG, [reviewer.uuid])

    base = scm.repository().default_branch
    assert base == "main"
    tips = scm.branch_tips([base, BRANCH])
    base_tip = tips[base]
    assert base_tip is not None and tips[BRANCH] is None
    assert scm.read_file(base_tip, "port.yml") is not None
    assert scm.read_file(base_tip, "deploy/port.yml") is None
    first = scm.commit_file(branch=BRANCH, path="port.yml", content=b"- identifier: payments\n",
                            message="Enrich service payments\n\n- added payments", parent=base_tip,
                            create_from=base, author="Port Bot <port-bot@example.com>")  # fmt: skip
    assert scm.commit_parents(first) == [base_tip]
    second = scm.commit_file(branch=BRANCH, path="/deploy/port.yml", content=b"nested: true\n", message="again",
                             parent=first, create_from=None, author=None)  # fmt: skip
    assert scm.find_open_pr(BRANCH) is None
    pr = scm.create_pr(branch=BRANCH, base=base, title="Enrich payments", description="why", reviewers=())
    again = scm.create_pr(
        branch=BRANCH, base=base, title="Enrich payments (2)", description="why", reviewers=()
    )
    assert again.id == pr.id  # the duplicate's 409, then an update of the existing one
    bb.edit_pull_request(KEY, SLUG, pr.id, title="someone else's edit")
    found = scm.update_pr(pr, title="Enrich payments again", description="why, again")  # stale: re-read
    bb.edit_pull_request(KEY, SLUG, pr.id, title="and again")
    scm.decline_pr(found)  # stale again: re-read, then declined
    scm.delete_branch(BRANCH)
    assert second != first

    recorded = bb.requests
    assert_requests_match_spec(recorded, flavour="datacenter")
    assert {r.status for r in recorded} >= {200, 201, 204, 404, 409}
    used = set(operations(recorded, "datacenter"))
    assert used >= {
        f"GET {REPO}",
        f"GET {REPO}/branches/default",
        f"GET {REPO}/branches",
        f"GET {REPO}/commits/{{commitId}}",
        f"GET {REPO}/raw/{{path}}",
        f"PUT {REPO}/browse/{{path}}",
        f"GET {REPO}/pull-requests",
        f"POST {REPO}/pull-requests",
        f"GET {REPO}/pull-requests/{{pullRequestId}}",
        f"PUT {REPO}/pull-requests/{{pullRequestId}}",
        f"POST {REPO}/pull-requests/{{pullRequestId}}/decline",
        "DELETE /branch-utils/latest/projects/{projectKey}/repos/{repositorySlug}/branches",
        "GET /default-reviewers/latest/projects/{projectKey}/repos/{repositorySlug}/reviewers",
    }


def test_a_re_runs_reads_ahead_match_the_spec(bb: BitbucketDataCenterSandbox) -> None:
    first = scm_for(bb)
    base_tip = first.branch_tip("main")
    assert base_tip is not None
    first.commit_file(branch=BRANCH, path="port.yml", content=b"- identifier: payments\n", message="Enrich",
                      parent=base_tip, create_from="main", author=None)  # fmt: skip
    first.create_pr(branch=BRANCH, base="main", title="Enrich payments", description="why", reviewers=())
    bb.clear()
    scm = scm_for(bb)
    scm.read_ahead(BRANCH, "port.yml")  # our branch looked up beside the default branch
    tips = scm.branch_tips([str(scm.repository().default_branch), BRANCH])
    assert scm.read_file(str(tips["main"]), "port.yml") is not None  # and at our tip, beside it
    assert scm.read_file(str(tips[BRANCH]), "port.yml") == b"- identifier: payments\n"
    assert scm.find_open_pr(BRANCH) is not None  # read beside the files
    assert len(bb.requests) == 5
    assert_requests_match_spec(bb.requests, flavour="datacenter")


def test_access_token_requests_match_the_spec(bb: BitbucketDataCenterSandbox) -> None:
    scm = scm_for(bb, access_token=bb.token)
    scm.repository()
    scm.branch_tip("main")
    assert_requests_match_spec(bb.requests, flavour="datacenter")


# -- the checker catches what it is for ------------------------------------------------------------


def _send(
    bb: BitbucketDataCenterSandbox, method: str, tail: str, version: str = "1.0", **kwargs: Any
) -> list[str]:
    session = make_session(ca_bundle=None)
    session.auth = (bb.username, bb.token)
    session.headers["X-Atlassian-Token"] = "no-check"
    bb.clear()
    session.request(method, f"{bb.url}/rest/api/{version}/projects/{KEY}/repos/{SLUG}{tail}", **kwargs)
    (recorded,) = bb.requests
    return request_problems(recorded, "datacenter")


def test_checker_reads_1_0_and_latest_as_the_same_api(bb: BitbucketDataCenterSandbox) -> None:
    assert _send(bb, "GET", "/default-branch") == []
    assert _send(bb, "GET", "/default-branch", version="latest") == []
    assert _send(bb, "GET", "/no-such-thing") == ["no operation in the spec has this path"]


def test_checker_flags_a_misspelt_commit_field(bb: BitbucketDataCenterSandbox) -> None:
    problems = _send(bb, "PUT", "/browse/port.yml", data={"branch": "main", "sourceCommit": "abc"},
                     files={"content": ("port.yml", b"x: 1\n")})  # fmt: skip
    assert problems == ["form field 'sourceCommit' is not in the spec's form"]


def test_checker_flags_a_commit_sent_as_json(bb: BitbucketDataCenterSandbox) -> None:
    problems = _send(bb, "PUT", "/browse/port.yml", json={"branch": "main", "content": "x"})
    assert any("multipart/form-data" in p for p in problems), problems


def test_checker_flags_undeclared_query_parameters(bb: BitbucketDataCenterSandbox) -> None:
    problems = _send(
        bb, "GET", "/pull-requests", params={"at": f"refs/heads/{BRANCH}", "directon": "OUTGOING"}
    )
    assert problems == ["query parameter 'directon' is not declared for this operation"]


def test_checker_flags_a_version_of_the_wrong_type_and_read_only_fields(
    bb: BitbucketDataCenterSandbox,
) -> None:
    body = {"version": "one", "title": "t", "toRef": {"id": "refs/heads/main", "repository": {"id": 7}}}
    problems = _send(bb, "PUT", "/pull-requests/1", json=body)
    assert any(p.startswith("body: version") and "integer" in p for p in problems), problems
    assert any(p.startswith("body: toRef/repository/id") and "read-only" in p for p in problems), problems


def test_checker_needs_the_rest_prefix(bb: BitbucketDataCenterSandbox) -> None:
    requests.get(f"{bb.url}/api/1.0/projects/{KEY}/repos/{SLUG}", timeout=5)
    assert request_problems(bb.requests[-1], "datacenter") == ["not under the API prefix /rest"]
