"""The Port sandbox over plain HTTP: access token, action runs and their logs — shapes checked
against Port's own OpenAPI document, semantics as Port documents them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import requests
import yaml
from conftest import require_spec

from port_gitops.sandbox import Sandbox

RUN = "r_test_1"
Conforms = Callable[[Any, str, str, int], None]


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.port.create_run(RUN, entity="payments")
        yield sandbox


@pytest.fixture
def port(sb: Sandbox) -> requests.Session:
    """A session that holds a fresh access token, as port-gitops does."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token(sb)}"
    return session


@pytest.fixture(scope="module")
def conforms() -> Conforms:
    """Validate a response body against the operation's response schema in tests/specs."""

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """The spec has unquoted `=` scalars (YAML 1.1's `value` tag): read them as strings."""

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    spec = yaml.load(
        require_spec("port.openapi.yaml").read_text(encoding="utf-8"),
        Loader=Loader,
    )

    def check(body: Any, path: str, method: str, status: int) -> None:
        key = path.replace("~", "~0").replace("/", "~1")
        pointer = f"#/paths/{key}/{method}/responses/{status}/content/application~1json/schema"
        root = {
            "$ref": pointer,
            "paths": spec["paths"],
            "components": spec.get("components", {}),
        }
        jsonschema.Draft202012Validator(root).validate(body)

    return check


def token(sb: Sandbox) -> str:
    body = {"clientId": sb.port.client_id, "clientSecret": sb.port.client_secret}
    return str(requests.post(f"{sb.port_url}/v1/auth/access_token", json=body).json()["accessToken"])


def run_url(sb: Sandbox, run_id: str = RUN, tail: str = "") -> str:
    return f"{sb.port_url}/v1/actions/runs/{run_id}{tail}"


def test_access_token(sb: Sandbox, conforms: Conforms) -> None:
    endpoint = f"{sb.port_url}/v1/auth/access_token"
    good = {"clientId": sb.port.client_id, "clientSecret": sb.port.client_secret}
    first = requests.post(endpoint, json=good)
    assert first.status_code == 200
    conforms(first.json(), "/v1/auth/access_token", "post", 200)
    assert (first.json()["ok"], first.json()["tokenType"]) == (True, "Bearer")
    assert (
        requests.post(endpoint, json=good).json()["accessToken"] == first.json()["accessToken"]
    )  # one active token
    wrong = requests.post(endpoint, json={**good, "clientSecret": "nope"})
    assert wrong.status_code == 401
    conforms(wrong.json(), "/v1/auth/access_token", "post", 401)
    for body in (
        {**good, "extra": 1},
        {"clientId": sb.port.client_id},
        ["not", "an", "object"],
    ):
        invalid = requests.post(endpoint, json=body)
        assert (invalid.status_code, invalid.json()["error"]) == (
            422,
            "invalid_request",
        ), body
        conforms(invalid.json(), "/v1/auth/access_token", "post", 422)


def test_run_endpoints_need_a_valid_bearer_token(sb: Sandbox, conforms: Conforms) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": token(sb)}):
        response = requests.get(run_url(sb), headers=headers)
        assert response.status_code == 401, headers
        conforms(response.json(), "/v1/actions/runs/{run_id}", "get", 401)


def test_expired_tokens_are_refused_until_a_new_one_is_fetched(sb: Sandbox, port: requests.Session) -> None:
    old = port.headers["Authorization"]
    assert port.get(run_url(sb)).status_code == 200
    sb.port.expire_tokens()
    assert port.get(run_url(sb)).status_code == 401
    fresh = token(sb)
    assert f"Bearer {fresh}" != old
    assert requests.get(run_url(sb), headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_patch_overwrites_each_key_and_a_status_ends_the_run(
    sb: Sandbox, port: requests.Session, conforms: Conforms
) -> None:
    label = port.patch(
        run_url(sb),
        json={"statusLabel": "working", "link": "https://ci/1", "externalRunId": "b-1"},
    )
    assert label.status_code == 200
    conforms(label.json(), "/v1/actions/runs/{run_id}", "patch", 200)
    assert label.json()["run"]["status"] == "IN_PROGRESS"
    done = port.patch(
        run_url(sb),
        json={
            "status": "SUCCESS",
            "statusLabel": "created",
            "link": ["https://ci/1", "https://pr/1"],
            "summary": "PR #1",
        },
    )
    run = done.json()["run"]
    assert (run["status"], run["statusLabel"], run["link"], run["summary"]) == (
        "SUCCESS",
        "created",
        ["https://ci/1", "https://pr/1"],
        "PR #1",
    )
    assert "endedAt" in run
    got = port.get(run_url(sb))
    conforms(got.json(), "/v1/actions/runs/{run_id}", "get", 200)
    assert got.json()["run"] == run
    assert sb.port.runs[RUN] == {
        "id": RUN, "status": "SUCCESS", "statusLabel": "created", "link": ["https://ci/1", "https://pr/1"],
        "summary": "PR #1", "externalRunId": "b-1", "synchronized": False, "endedAt": run["endedAt"], "logs": [],
    }  # fmt: skip


def test_a_finished_run_refuses_every_change(sb: Sandbox, port: requests.Session, conforms: Conforms) -> None:
    port.patch(run_url(sb), json={"status": "FAILURE"})
    for method, tail, body in (
        ("PATCH", "", {"status": "SUCCESS"}),
        ("PATCH", "", {"statusLabel": "x"}),
        ("POST", "/logs", {"message": "late"}),
    ):
        response = port.request(method, run_url(sb, tail=tail), json=body)
        assert (response.status_code, response.json()["error"]) == (
            422,
            "run_exhausted",
        ), (method, body)
    conforms(response.json(), "/v1/actions/runs/{run_id}/logs", "post", 422)
    assert sb.port.runs[RUN]["status"] == "FAILURE"


@pytest.mark.parametrize(
    "body",
    [
        {"message": {"run_status": "done"}},
        {"status": "DONE"},
        {"statusLabel": 3},
        {"link": [1]},
        {"unknown": "x"},
        [],
    ],
)
def test_patch_bodies_outside_the_schema_are_422(sb: Sandbox, port: requests.Session, body: Any) -> None:
    response = port.patch(run_url(sb), json=body)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
    assert sb.port.runs[RUN]["status"] == "IN_PROGRESS"


def test_unknown_run_is_404(sb: Sandbox, port: requests.Session, conforms: Conforms) -> None:
    response = port.patch(run_url(sb, "r_nope"), json={"status": "SUCCESS"})
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    conforms(response.json(), "/v1/actions/runs/{run_id}", "patch", 404)
    sb.port.auto_create_runs = True  # the `sandbox` command's convenience
    assert port.patch(run_url(sb, "r_new"), json={"status": "SUCCESS"}).status_code == 200
    assert sb.port.runs["r_new"]["status"] == "SUCCESS"


def test_a_synchronized_run_keeps_its_status_to_port(sb: Sandbox, port: requests.Session) -> None:
    sb.port.create_run("r_sync", synchronized=True)
    for tail, body in (
        ("", {"status": "SUCCESS"}),
        ("/logs", {"message": "m", "terminationStatus": "SUCCESS"}),
    ):
        response = port.request("PATCH" if not tail else "POST", run_url(sb, "r_sync", tail), json=body)
        assert (response.status_code, response.json()["error"]) == (
            422,
            "run_synchronized_error",
        )
    assert port.patch(run_url(sb, "r_sync"), json={"statusLabel": "fine"}).status_code == 200
    assert sb.port.runs["r_sync"]["status"] == "IN_PROGRESS"


def test_logs_and_termination_by_log(sb: Sandbox, port: requests.Session, conforms: Conforms) -> None:
    first = port.post(run_url(sb, tail="/logs"), json={"message": "started"})
    assert first.status_code == 201
    conforms(first.json(), "/v1/actions/runs/{run_id}/logs", "post", 201)
    assert (first.json()["runLog"]["runId"], first.json()["runLog"]["message"]) == (
        RUN,
        "started",
    )
    last = port.post(
        run_url(sb, tail="/logs"),
        json={"message": "done", "terminationStatus": "SUCCESS", "statusLabel": "ok"},
    )
    assert last.status_code == 201
    listing = port.get(run_url(sb, tail="/logs"), params={"limit": "1", "offset": "1"})
    conforms(listing.json(), "/v1/actions/runs/{run_id}/logs", "get", 200)
    assert [log["message"] for log in listing.json()["runLogs"]] == ["done"]
    assert port.get(run_url(sb, tail="/logs"), params={"limit": "51"}).status_code == 422
    snapshot = sb.port.runs[RUN]
    assert (snapshot["status"], snapshot["statusLabel"], snapshot["logs"]) == (
        "SUCCESS",
        "ok",
        ["started", "done"],
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": 1},
        {"message": "m", "terminationStatus": "DONE"},
        {"message": "m", "link": "x"},
    ],
)
def test_log_bodies_outside_the_schema_are_422(sb: Sandbox, port: requests.Session, body: Any) -> None:
    response = port.post(run_url(sb, tail="/logs"), json=body)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
    assert sb.port.runs[RUN]["logs"] == []


def test_unknown_routes_and_versions(sb: Sandbox, port: requests.Session) -> None:
    assert port.get(f"{sb.port_url}/v1/teams").status_code == 404
    assert port.get(run_url(sb, tail="/approvers")).status_code == 404
    assert port.delete(run_url(sb)).status_code == 404
    assert port.get(run_url(sb), params={"version": "v2"}).status_code == 200
    assert port.get(run_url(sb), params={"version": "v3"}).status_code == 422
