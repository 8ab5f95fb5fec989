"""Every request CloudScm sends matches Atlassian's published Bitbucket Cloud OpenAPI document
(tests/specs/bitbucket-cloud.openapi.json; its quirks are handled, and named, in contract.py).

The checker is also shown to catch the mistakes it exists for, with requests really sent to the
sandbox: a validator that never fails would prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from contract import assert_requests_match_spec, operations, request_problems

from port_gitops.http import make_session
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.scm.bitbucket_cloud import CloudScm

WS, SLUG = "acme", "payments"
BRANCH = "port/enrich-payments"
REPO = "/repositories/{workspace}/{repo_slug}"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        sb.bitbucket.create_repository(WS, SLUG, files={"port.yml": b"- identifier: other\n"})
        yield sb


def scm_for(sb: Sandbox, **credentials: str | None) -> CloudScm:
    auth = credentials or {
        "username": sb.bitbucket.username,
        "token": sb.bitbucket.token,
        "access_token": None,
    }
    return CloudScm(
        sb.bitbucket_url,
        WS,
        SLUG,
        session=make_session(ca_bundle=None),
        policy=RetryPolicy(sleep=lambda seconds: None),
        **{"username": None, "token": None, "access_token": None, **auth},
    )


def test_every_request_of_every_method_matches_the_spec(sandbox: Sandbox) -> None:
    scm = scm_for(sandbox)
    reviewer = sandbox.bitbucket.add_user("Rita Reviewer")
    sandbox.bitbucket.set_default_reviewers(WS, SLUG, [reviewer.uuid])

    base = scm.repository().default_branch
    assert base == "main"
    tips = scm.branch_tips([base, BRANCH])
    base_tip = tips[base]
    assert base_tip is not None and tips[BRANCH] is None
    assert scm.branch_tip(BRANCH) is None
    assert scm.read_file(base_tip, "port.yml") is not None
    assert scm.read_file(base_tip, "deploy/port.yml") is None
    first = scm.commit_file(
        branch=BRANCH,
        path="port.yml",
        content=b"- identifier: payments\n",
        message="Enrich service payments\n\n- added payments",
        parent=base_tip,
        create_from=base,
        author="Port Bot <port-bot@example.com>",
    )
    assert scm.commit_parents(first) == [base_tip]
    second = scm.commit_file(
        branch=BRANCH,
        path="/deploy/port.yml",
        content=b"nested: true\n",
        message="again",
        parent=first,
        create_from=None,
        author=None,
    )
    assert scm.find_open_pr(BRANCH) is None
    pr = scm.create_pr(
        branch=BRANCH,
        base=base,
        title="Enrich payments",
        description="why",
        reviewers=scm.default_reviewers(),
    )
    found = scm.find_open_pr(BRANCH)
    assert found is not None and found.id == pr.id
    scm.update_pr(found, title="Enrich payments again", description="why, again")
    scm.decline_pr(found)
    scm.delete_branch(BRANCH)
    assert second != first

    recorded = sandbox.bitbucket.requests
    assert_requests_match_spec(recorded, flavour="cloud")
    used = set(operations(recorded, "cloud"))
    assert used >= {
        f"GET {REPO}",
        f"GET {REPO}/refs/branches",
        f"GET {REPO}/refs/branches/{{name}}",
        f"DELETE {REPO}/refs/branches/{{name}}",
        f"GET {REPO}/src/{{commit}}/{{path}}",
        f"POST {REPO}/src",
        f"GET {REPO}/commit/{{commit}}",
        f"GET {REPO}/pullrequests",
        f"POST {REPO}/pullrequests",
        f"GET {REPO}/pullrequests/{{pull_request_id}}",
        f"PUT {REPO}/pullrequests/{{pull_request_id}}",
        f"POST {REPO}/pullrequests/{{pull_request_id}}/decline",
        f"GET {REPO}/effective-default-reviewers",
    }


def test_access_token_requests_match_the_spec(sandbox: Sandbox) -> None:
    scm = scm_for(sandbox, access_token=sandbox.bitbucket.access_token)
    scm.repository()
    scm.branch_tip("main")
    assert_requests_match_spec(sandbox.bitbucket.requests, flavour="cloud")


# -- the checker catches what it is for ------------------------------------------------------------


def _send(sb: Sandbox, method: str, path: str, **kwargs: object) -> list[str]:
    session = make_session(ca_bundle=None)
    session.auth = (sb.bitbucket.username, sb.bitbucket.token)
    sb.bitbucket.clear()
    session.request(method, f"{sb.bitbucket_url}/2.0{path}", **kwargs)  # type: ignore[arg-type]
    (recorded,) = sb.bitbucket.requests
    return request_problems(recorded, "cloud")


def test_checker_flags_commit_metadata_in_the_query_string(sandbox: Sandbox) -> None:
    problems = _send(
        sandbox,
        "POST",
        f"/repositories/{WS}/{SLUG}/src",
        params={"branch": BRANCH},
        files={"port.yml": ("port.yml", b"x: 1\n")},
    )
    assert any("query string" in p for p in problems), problems


def test_checker_flags_commit_metadata_sent_as_files(sandbox: Sandbox) -> None:
    # requests' files= gives every part a filename: Bitbucket would commit a file named "message".
    problems = _send(
        sandbox,
        "POST",
        f"/repositories/{WS}/{SLUG}/src",
        files={"message": "m", "port.yml": ("port.yml", b"x: 1\n")},
    )
    assert any("metadata field 'message'" in p for p in problems), problems


def test_checker_flags_a_misspelt_pull_request_field(sandbox: Sandbox) -> None:
    problems = _send(
        sandbox,
        "POST",
        f"/repositories/{WS}/{SLUG}/pullrequests",
        json={"title": "t", "source": {"branch": {"nmae": BRANCH}}},
    )
    assert any("source/branch" in p and "nmae" in p for p in problems), problems


def test_checker_flags_undeclared_query_parameters_and_bad_ids(sandbox: Sandbox) -> None:
    assert any(
        "'stat'" in p
        for p in _send(sandbox, "GET", f"/repositories/{WS}/{SLUG}/pullrequests", params={"stat": "OPEN"})
    )
    assert any("integer" in p for p in _send(sandbox, "GET", f"/repositories/{WS}/{SLUG}/pullrequests/first"))


def test_checker_flags_unknown_paths_and_missing_credentials(sandbox: Sandbox) -> None:
    assert _send(sandbox, "GET", f"/repositories/{WS}/{SLUG}/no-such-thing") == [
        "no operation in the spec has this path"
    ]
    requests.get(f"{sandbox.bitbucket_url}/2.0/repositories/{WS}/{SLUG}", timeout=5)
    assert "requires authentication" in request_problems(sandbox.bitbucket.requests[-1], "cloud")[0]
