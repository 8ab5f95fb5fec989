"""Fault injection and request recording, on both sandbox servers: every fault kind, its body as
the real service would send it, and `times`/`after`/`apply` semantics."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.bitbucket_cloud import BitbucketCloudSandbox
from port_gitops.sandbox.faults import RESET_STATUS
from port_gitops.sandbox.port import PortSandbox

WS, SLUG, RUN = "acme", "svc", "r_1"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.bitbucket.create_repository(WS, SLUG, {"port.yml": "a: 1\n"})
        sandbox.port.create_run(RUN)
        yield sandbox


def bitbucket(sb: Sandbox) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.auth = (sb.bitbucket.username, sb.bitbucket.token)
    return session, f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}"


def port(sb: Sandbox) -> tuple[requests.Session, str]:
    session = requests.Session()
    body = {"clientId": sb.port.client_id, "clientSecret": sb.port.client_secret}
    session.headers["Authorization"] = (
        "Bearer " + requests.post(f"{sb.port_url}/v1/auth/access_token", json=body).json()["accessToken"]
    )
    return session, f"{sb.port_url}/v1/actions/runs/{RUN}"


SERVICES = {"bitbucket": bitbucket, "port": port}


def server(sb: Sandbox, service: str) -> BitbucketCloudSandbox | PortSandbox:
    return sb.bitbucket if service == "bitbucket" else sb.port


@pytest.mark.parametrize("service", SERVICES)
def test_status_fault_strikes_once_then_the_service_answers(sb: Sandbox, service: str) -> None:
    session, base = SERVICES[service](sb)
    target = server(sb, service)
    fault = target.faults.add("GET", r".*", status=503)
    first = session.get(base)
    assert (first.status_code, first.headers["Content-Type"].split(";")[0]) == (
        503,
        "text/html",
    )  # a gateway page
    assert "Retry-After" not in first.headers
    assert session.get(base).status_code == 200
    assert fault.fired == 1 and target.faults.pending == []


def test_cloud_429_is_plain_text_with_or_without_retry_after(sb: Sandbox) -> None:
    session, base = bitbucket(sb)
    sb.bitbucket.faults.add("GET", r"/refs/branches/", status=429)
    sb.bitbucket.faults.add("GET", r"/refs/branches/", status=429, retry_after="7")
    bare, told = (
        session.get(f"{base}/refs/branches/main"),
        session.get(f"{base}/refs/branches/main"),
    )
    for response in (bare, told):
        assert (response.status_code, response.text) == (
            429,
            "Rate limit for this resource has been exceeded",
        )
        assert response.headers["Content-Type"].startswith("text/plain")
    assert "Retry-After" not in bare.headers and told.headers["Retry-After"] == "7"


def test_port_429_carries_its_rate_limit_headers(sb: Sandbox) -> None:
    session, base = port(sb)
    reset_at = str(int(time.time()) + 3)
    sb.port.faults.add(
        "PATCH",
        r"/runs/",
        status=429,
        headers={"x-ratelimit-reset": reset_at},
        retry_after="3",
    )
    response = session.patch(base, json={"status": "SUCCESS"})
    assert response.status_code == 429
    assert (response.headers["x-ratelimit-reset"], response.headers["Retry-After"]) == (
        reset_at,
        "3",
    )
    assert response.json()["ok"] is False
    assert sb.port.runs[RUN]["status"] == "IN_PROGRESS"  # a refused request changes nothing


@pytest.mark.parametrize(
    ("service", "status"),
    [("bitbucket", 500), ("bitbucket", 409), ("port", 500), ("port", 404)],
)
def test_other_statuses_use_the_service_error_shape(sb: Sandbox, service: str, status: int) -> None:
    session, base = SERVICES[service](sb)
    server(sb, service).faults.add("*", r".*", status=status)
    body = session.get(base).json()
    assert body["type"] == "error" if service == "bitbucket" else body["ok"] is False


def test_custom_body(sb: Sandbox) -> None:
    session, base = bitbucket(sb)
    sb.bitbucket.faults.add(
        "GET",
        r".*",
        status=400,
        body=b'{"type": "error", "error": {"message": "custom"}}',
    )
    assert session.get(base).json()["error"]["message"] == "custom"


@pytest.mark.parametrize("service", SERVICES)
def test_reset_closes_the_connection_without_an_answer(sb: Sandbox, service: str) -> None:
    session, base = SERVICES[service](sb)
    target = server(sb, service)
    target.faults.add("GET", r".*", reset=True)
    with pytest.raises(requests.ConnectionError):
        session.get(base)
    assert session.get(base).status_code == 200
    assert [r.status for r in target.requests if r.method == "GET"] == [
        RESET_STATUS,
        200,
    ]


def test_reset_after_applying_loses_only_the_answer(sb: Sandbox) -> None:
    """The dangerous case for replays: the commit happened, the client saw a dropped connection.
    Sent again with `parents`, the commit is refused with 409 instead of stacking a second one."""
    session, base = bitbucket(sb)
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    form = {"branch": "port/e", "parents": main, "message": "m"}
    sb.bitbucket.faults.add("POST", r"/src$", reset=True, apply=True)
    with pytest.raises(requests.ConnectionError):
        session.post(f"{base}/src", data=form, files={"port.yml": ("port.yml", b"b: 2\n")})
    tip = sb.bitbucket.branch_tip(WS, SLUG, "port/e")
    assert tip is not None
    assert (
        session.post(f"{base}/src", data=form, files={"port.yml": ("port.yml", b"b: 2\n")}).status_code == 409
    )
    assert sb.bitbucket.branch_tip(WS, SLUG, "port/e") == tip


def test_status_after_applying(sb: Sandbox) -> None:
    session, base = port(sb)
    sb.port.faults.add("POST", r"/logs$", status=502, apply=True)
    assert session.post(f"{base}/logs", json={"message": "hello"}).status_code == 502
    assert sb.port.runs[RUN]["logs"] == ["hello"]


def test_delay_alone_is_a_slow_but_normal_answer(sb: Sandbox) -> None:
    """A client that times out does not undo the write: the server finishes it anyway."""
    session, base = bitbucket(sb)
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    sb.bitbucket.faults.add("POST", r"/src$", delay=0.3)
    with pytest.raises(requests.ReadTimeout):
        session.post(
            f"{base}/src",
            data={"branch": "slow", "parents": main},
            files={"port.yml": ("port.yml", b"x")},
            timeout=0.05,
        )
    deadline = time.monotonic() + 5
    while sb.bitbucket.branch_tip(WS, SLUG, "slow") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sb.bitbucket.read_file(WS, SLUG, "slow", "port.yml") == b"x"
    assert [r.status for r in sb.bitbucket.requests if r.method == "POST"] == [201]


def test_delay_then_status(sb: Sandbox) -> None:
    session, base = port(sb)
    sb.port.faults.add("GET", r".*", delay=0.05, status=504)
    assert session.get(base).status_code == 504


def test_after_and_times_count_matching_requests_only(sb: Sandbox) -> None:
    session, base = bitbucket(sb)
    fault = sb.bitbucket.faults.add("GET", r"/refs/branches/main$", status=502, after=1, times=2)
    assert session.get(f"{base}/refs/branches/main").status_code == 200  # let through
    assert session.get(base).status_code == 200  # another path: not counted
    assert session.post(f"{base}/refs/branches/main").status_code != 502  # another method: not counted
    assert [session.get(f"{base}/refs/branches/main").status_code for _ in range(3)] == [502, 502, 200]
    assert (fault.skipped, fault.fired) == (1, 2)


def test_rules_apply_in_order_and_can_be_cleared(sb: Sandbox) -> None:
    session, base = bitbucket(sb)
    sb.bitbucket.faults.add("*", r"/svc$", status=503)
    sb.bitbucket.faults.add("GET", r"/svc$", status=500)
    sb.bitbucket.faults.add("GET", r"/svc$", status=429, times=5)
    assert [session.get(base).status_code for _ in range(2)] == [503, 500]
    sb.bitbucket.faults.clear()
    assert session.get(base).status_code == 200


def test_fault_arguments_are_checked(sb: Sandbox) -> None:
    faults = sb.bitbucket.faults
    for kwargs in (
        {"status": 500, "reset": True},
        {"times": 0},
        {"retry_after": "1"},
        {"delay": -1.0},
    ):
        with pytest.raises(ValueError):
            faults.add("GET", ".*", **kwargs)  # type: ignore[arg-type]
    assert faults.pending == []


def test_requests_are_recorded_as_sent(sb: Sandbox) -> None:
    session, base = bitbucket(sb)
    session.get(
        f"{base}/pullrequests",
        params={"q": 'state="OPEN"', "state": ["OPEN", "MERGED"]},
        headers={"X-Trace": "t1"},
    )
    session.put(f"{base}/refs/branches/a%2Fb", data=b"raw body")
    requests.get(base)  # no credentials: recorded with its 401
    get, put, anonymous = sb.bitbucket.requests
    assert (get.method, get.path, get.status) == (
        "GET",
        f"/2.0/repositories/{WS}/{SLUG}/pullrequests",
        200,
    )
    assert get.query == {"q": ['state="OPEN"'], "state": ["OPEN", "MERGED"]}
    assert get.headers["x-trace"] == "t1" and get.headers["authorization"].startswith("Basic ")
    assert (put.path, put.body, put.status) == (
        f"/2.0/repositories/{WS}/{SLUG}/refs/branches/a%2Fb",
        b"raw body",
        405,
    )
    assert anonymous.status == 401
    sb.bitbucket.clear()
    assert sb.bitbucket.requests == []
    json_body = port(sb)[0].post(f"{sb.port_url}/v1/actions/runs/{RUN}/logs", json={"message": "m"})
    assert json_body.status_code == 201
    assert sb.port.requests[-1].json() == {"message": "m"}
