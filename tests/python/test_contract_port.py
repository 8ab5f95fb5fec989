"""Every request PortClient sends matches Port's published OpenAPI document
(tests/specs/port.openapi.yaml; its quirks are handled, and named, in contract.py), and the
checker catches the mistakes it exists for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contract import assert_requests_match_spec, operations, request_problems

from port_gitops.http import make_session
from port_gitops.port_api import PortClient
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox

RUN = "r_contract"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        sb.port.create_run(RUN)
        sb.port.create_run("r_done")
        yield sb


def client_for(sb: Sandbox) -> PortClient:
    return PortClient(
        sb.port_url,
        sb.port.client_id,
        sb.port.client_secret,
        session=make_session(ca_bundle=None),
        policy=RetryPolicy(sleep=lambda seconds: None),
    )


def test_every_request_of_a_run_matches_the_spec(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    client.authenticate()
    client.log(RUN, "started: enrich service payments")
    sandbox.port.expire_tokens()  # the refresh goes through the same, checked, token request
    client.log(RUN, "pull request #1 created")
    assert client.get_run(RUN)["status"] == "IN_PROGRESS"
    # The status with the links and summary, in one PATCH.
    client.finish(RUN, status="SUCCESS", label="created", links=["https://bb.example/pr/1"], summary="done")
    assert (
        sandbox.port.runs[RUN]["status"] == "SUCCESS" and sandbox.port.runs[RUN]["statusLabel"] == "created"
    )
    assert not client_for(sandbox).log(RUN, "late")  # 422 run_exhausted: False
    client_for(sandbox).finish("r_done", status="FAILURE", label="failed", links=[], summary="no")
    client_for(sandbox).finish(
        "r_done", status="SUCCESS", label="created", links=[], summary="late"
    )  # 422 path

    recorded = sandbox.port.requests
    assert_requests_match_spec(recorded, flavour="port")
    assert set(operations(recorded, "port")) == {
        "POST /v1/auth/access_token",
        "POST /v1/actions/runs/{run_id}/logs",
        "GET /v1/actions/runs/{run_id}",
        "PATCH /v1/actions/runs/{run_id}",
    }


def _problems(sb: Sandbox, method: str, path: str, body: object, token: bool = True) -> list[str]:
    session = make_session(ca_bundle=None)
    headers = {"Authorization": "Bearer not-checked-here"} if token else {}
    sb.port.clear()
    session.request(method, f"{sb.port_url}{path}", json=body, headers=headers)
    (recorded,) = sb.port.requests
    return request_problems(recorded, "port")


def test_checker_flags_bad_bodies(sandbox: Sandbox) -> None:
    assert any(
        "'DONE'" in p for p in _problems(sandbox, "PATCH", f"/v1/actions/runs/{RUN}", {"status": "DONE"})
    )
    assert any(
        "Additional properties" in p
        for p in _problems(sandbox, "PATCH", f"/v1/actions/runs/{RUN}", {"status": "SUCCESS", "links": ["x"]})
    )
    assert any(
        "'message' is a required" in p for p in _problems(sandbox, "POST", f"/v1/actions/runs/{RUN}/logs", {})
    )
    assert any(
        "'clientSecret' is a required" in p
        for p in _problems(sandbox, "POST", "/v1/auth/access_token", {"clientId": "x"}, token=False)
    )


def test_checker_flags_a_missing_token(sandbox: Sandbox) -> None:
    problems = _problems(sandbox, "POST", f"/v1/actions/runs/{RUN}/logs", {"message": "m"}, token=False)
    assert problems == ["the operation requires authentication; Authorization is absent"]
