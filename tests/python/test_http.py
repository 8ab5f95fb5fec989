"""The shared session: our User-Agent, our timeout on every request (atlassian-python-api's 75 s
included), on-prem TLS through --ca-bundle or REQUESTS_CA_BUNDLE, proxies from the environment, and
no hidden retries. Real HTTP(S) on loopback against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import certifi
import pytest
import requests
from atlassian.bitbucket.cloud import Cloud

from port_gitops import __version__
from port_gitops.errors import EXIT_USAGE, UsageError
from port_gitops.http import make_session
from port_gitops.port_api import PortClient
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox
from port_gitops.scm.bitbucket_cloud import CloudScm

WS, SLUG = "acme", "payments"
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        sb.bitbucket.create_repository(WS, SLUG, files={"port.yml": b"x: 1\n"})
        yield sb


@pytest.fixture
def tls_sandbox() -> Iterator[Sandbox]:
    with Sandbox(tls=True) as sb:
        sb.bitbucket.create_repository(WS, SLUG, files={"port.yml": b"x: 1\n"})
        yield sb


def cloud_scm(sb: Sandbox, session: requests.Session, api_url: str | None = None) -> CloudScm:
    return CloudScm(
        api_url or sb.bitbucket_url,
        WS,
        SLUG,
        username=sb.bitbucket.username,
        token=sb.bitbucket.token,
        access_token=None,
        session=session,
        policy=RetryPolicy(sleep=lambda seconds: None),
    )


def test_every_request_says_who_it_is(sandbox: Sandbox) -> None:
    make_session(ca_bundle=None).get(f"{sandbox.port_url}/v1/actions/runs/r_1")
    assert sandbox.port.requests[-1].headers["user-agent"] == f"port-gitops/{__version__}"


def test_our_timeout_overrides_the_librarys_75_seconds(sandbox: Sandbox) -> None:
    # Sub-objects of atlassian's Cloud client always pass timeout=75; the session must win.
    session = make_session(ca_bundle=None, timeout=(2, 0.1))
    cloud = Cloud(
        url=sandbox.bitbucket_url,
        session=session,
        username=sandbox.bitbucket.username,
        password=sandbox.bitbucket.token,
    )  # type: ignore[no-untyped-call]
    assert cloud.repositories.timeout == 75
    sandbox.bitbucket.faults.add("GET", rf"/{SLUG}$", delay=0.3)
    with pytest.raises(requests.ReadTimeout):
        cloud.repositories.get(WS, SLUG)


def test_no_hidden_retries_below_ours(sandbox: Sandbox) -> None:
    sandbox.bitbucket.faults.add("GET", rf"/{SLUG}$", reset=True)
    with pytest.raises(requests.ConnectionError):
        make_session(ca_bundle=None).get(f"{sandbox.bitbucket_url}/2.0/repositories/{WS}/{SLUG}")
    assert len(sandbox.bitbucket.requests) == 1


def test_ca_bundle_flag_trusts_an_on_prem_ca(tls_sandbox: Sandbox) -> None:
    assert tls_sandbox.bitbucket_url.startswith("https://")
    scm = cloud_scm(tls_sandbox, make_session(ca_bundle=str(tls_sandbox.ca_bundle)))
    assert scm.repository().default_branch == "main"


def test_requests_ca_bundle_variable_works_without_the_flag(
    tls_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_sandbox.ca_bundle))
    session = make_session(ca_bundle=None)
    assert cloud_scm(tls_sandbox, session).repository().default_branch == "main"
    client = PortClient(
        tls_sandbox.port_url,
        tls_sandbox.port.client_id,
        tls_sandbox.port.client_secret,
        session=session,
        policy=RetryPolicy(sleep=lambda seconds: None),
    )
    client.authenticate()
    assert tls_sandbox.port.requests[-1].path == "/v1/auth/access_token"


def test_the_flag_wins_over_the_variable(tls_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # public CAs only: would fail
    session = make_session(ca_bundle=str(tls_sandbox.ca_bundle))
    assert cloud_scm(tls_sandbox, session).repository().default_branch == "main"
    client = PortClient(
        tls_sandbox.port_url,
        tls_sandbox.port.client_id,
        tls_sandbox.port.client_secret,
        session=session,
        policy=RetryPolicy(sleep=lambda seconds: None),
    )
    client.authenticate()


def test_an_untrusted_certificate_is_a_configuration_error_and_not_retried(tls_sandbox: Sandbox) -> None:
    scm = cloud_scm(tls_sandbox, make_session(ca_bundle=None))
    with pytest.raises(UsageError, match="--ca-bundle") as caught:
        scm.repository()
    assert caught.value.exit_code == EXIT_USAGE
    client = PortClient(
        tls_sandbox.port_url,
        tls_sandbox.port.client_id,
        tls_sandbox.port.client_secret,
        session=make_session(ca_bundle=None),
        policy=RetryPolicy(sleep=lambda seconds: pytest.fail("a TLS failure must not be retried")),
    )
    with pytest.raises(UsageError, match="REQUESTS_CA_BUNDLE"):
        client.authenticate()


def test_proxy_variables_are_honoured(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox plays the proxy: a host that does not resolve is reachable only through it.
    monkeypatch.setenv("HTTP_PROXY", sandbox.bitbucket_url)
    scm = cloud_scm(sandbox, make_session(ca_bundle=None), api_url="http://bitbucket.invalid")
    assert scm.repository().full_name == f"{WS}/{SLUG}"
    assert sandbox.bitbucket.requests[-1].headers["host"] == "bitbucket.invalid"


def test_no_proxy_is_honoured(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert cloud_scm(sandbox, make_session(ca_bundle=None)).repository().full_name == f"{WS}/{SLUG}"
