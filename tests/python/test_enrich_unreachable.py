"""A connection that cannot be made names the host and the setting that points there (issue 12 D2).

Before: `gave up after 5 attempts: connection error (ConnectionError)`, naming neither the host nor
BITBUCKET_URL/PORT_BASE_URL/HTTPS_PROXY. Now one line says `cannot connect to HOST[:PORT] (SETTING)`,
through which proxy when one is used, and why; never userinfo, a path or a query, never a credential.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Iterator

import pytest
from enrichkit import FLAVOURS, Enricher, Run, payload

from port_gitops import config
from port_gitops.endpoint import Endpoint, proxy_for
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example

# The variable each flavour's API URL is read from (config.py), as the message must name it.
URL_VARIABLE = {
    "bitbucket-cloud": "--bitbucket-url/BITBUCKET_URL",
    "bitbucket-datacenter": "--bitbucket-url/BITBUCKET_URL",
    "github": "--github-api-url/GITHUB_API_URL",
    "gitlab": "--gitlab-url/GITLAB_URL",
}
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        yield sandbox


@pytest.fixture
def cloud() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def tls() -> Iterator[Sandbox]:
    with Sandbox(tls=True) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def enricher(
    sandbox: Sandbox, tmp_path: Path, mp: pytest.MonkeyPatch, cap: pytest.CaptureFixture[str]
) -> Enricher:
    return Enricher(sandbox, tmp_path, mp, cap)


def error_line(run: Run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.startswith("port-gitops enrich: error: ")]
    assert lines, run.stderr
    return lines[0]


def assert_clean(text: str, sandbox: Sandbox, *absent: str) -> None:
    secrets = [v for k, v in sandbox.env().items() if k.endswith(("TOKEN", "SECRET", "PASSWORD"))]
    for value in (*secrets, *absent):
        assert value not in text, f"{value!r} leaked into {text!r}"


def test_an_scm_that_refuses_the_connection_is_named_with_its_setting(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(sb)
    port = closed_port()
    variable = URL_VARIABLE[sb.flavour].split("/")[1]
    enrich = enricher(sb, tmp_path, monkeypatch, capsys)
    # userinfo, a path and a query in the configured URL: none of them may appear in a message
    url = f"http://bot:hunter2@127.0.0.1:{port}/ctx/api?sig=q5ecr3t"
    # An empty repo_url: the repository then comes from the owner setting, whatever host the URL has.
    run = enrich(payload(example, port_context={"repo_url": ""}), "--max-attempts", "2", **{variable: url})
    assert run.code == 1 and run.result["outcome"] == "failed", run.stderr
    line = error_line(run)
    assert f"cannot connect to 127.0.0.1:{port} ({URL_VARIABLE[sb.flavour]}): connection refused" in line
    assert "gave up after 2 attempts" in line
    assert run.result["error"] in line
    assert_clean(run.stderr + run.stdout, sb, "hunter2", "bot:", "/ctx", "sig=", "q5ecr3t")
    state = sb.port.runs[example.run_id]
    assert state["status"] == "FAILURE" and f"127.0.0.1:{port}" in state["summary"]


def test_port_unreachable_names_port_base_url_and_is_exit_4(
    cloud: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(cloud)
    port = closed_port()
    enrich = enricher(cloud, tmp_path, monkeypatch, capsys)
    run = enrich(
        example.payload,
        "--max-attempts",
        "2",
        PORT_BASE_URL=f"http://id:hunter2@127.0.0.1:{port}/v0?x=secretq",
    )
    assert run.code == 4 and run.result["outcome"] == "created", run.stderr
    line = error_line(run)
    assert f"cannot connect to 127.0.0.1:{port} (--port-url/PORT_BASE_URL): connection refused" in line
    assert_clean(run.stderr + run.stdout, cloud, "hunter2", "/v0", "secretq")


def test_a_proxy_that_refuses_names_the_proxy_variable_and_both_hosts(
    tls: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(tls)
    proxy = closed_port()
    enrich = enricher(tls, tmp_path, monkeypatch, capsys)
    run = enrich(
        example.payload,
        "--max-attempts",
        "2",
        HTTPS_PROXY=f"http://proxyuser:pr0xypass@127.0.0.1:{proxy}",
        NO_PROXY="",
        no_proxy="",
    )
    assert run.code == 1, run.stderr
    scm_host = tls.scm_url.split("//")[1]
    line = error_line(run)
    assert (
        f"cannot connect to the proxy 127.0.0.1:{proxy} (HTTPS_PROXY) for {scm_host} "
        "(--bitbucket-url/BITBUCKET_URL): connection refused"
    ) in line
    port_host = tls.port.url.split("//")[1]
    assert (
        f"the proxy 127.0.0.1:{proxy} (HTTPS_PROXY) for {port_host} (--port-url/PORT_BASE_URL)" in run.stderr
    )
    assert_clean(run.stderr + run.stdout, tls, "pr0xypass", "proxyuser")


def test_an_untrusted_certificate_names_the_host_and_setting(
    tls: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(tls)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    enrich = enricher(tls, tmp_path, monkeypatch, capsys)
    run = enrich(example.payload, REQUESTS_CA_BUNDLE=None)
    assert run.code == 2, run.stderr
    line = error_line(run)
    scm_host = tls.scm_url.split("//")[1]
    assert f"{scm_host} (--bitbucket-url/BITBUCKET_URL): the server's TLS certificate is not trusted" in line
    assert "--ca-bundle" in line


def test_a_host_that_does_not_resolve_and_one_that_never_answers(
    cloud: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = seed_example(cloud)
    enrich = enricher(cloud, tmp_path, monkeypatch, capsys)
    run = enrich(example.payload, "--max-attempts", "2", BITBUCKET_URL="http://bitbucket.invalid:8443")
    assert run.code == 1
    assert (
        "cannot connect to bitbucket.invalid:8443 (--bitbucket-url/BITBUCKET_URL): "
        "the host name does not resolve (DNS); gave up after 2 attempts"
    ) in error_line(run)
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        run = enrich(example.payload, "--max-attempts", "2", BITBUCKET_URL=f"http://127.0.0.1:{port}")
    assert run.code == 1
    assert (
        f"cannot connect to 127.0.0.1:{port} (--bitbucket-url/BITBUCKET_URL): no answer within the read timeout"
    ) in error_line(run)


# -- the pieces ------------------------------------------------------------------------------------
def _args(**given: str) -> argparse.Namespace:
    return argparse.Namespace(port_url=given.get("port_url"), port_region=given.get("port_region"))


def test_the_port_setting_is_the_one_that_chose_the_host() -> None:
    env = {"PORT_CLIENT_ID": "id", "PORT_CLIENT_SECRET": "s"}
    assert (
        config.port_settings(_args(port_url="http://p.example"), env).url_setting
        == "--port-url/PORT_BASE_URL"
    )
    assert config.port_settings(_args(port_region="us"), env).url_setting == "--port-region/PORT_REGION"
    default = config.port_settings(_args(), env)
    assert default.base_url == "https://api.port.io"
    assert default.url_setting == "the default of --port-region/PORT_REGION"


def test_the_proxy_is_the_one_requests_would_use(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://u:secret@proxy.example:3128")
    assert proxy_for("https://api.example") == ("HTTPS_PROXY", "proxy.example:3128")
    assert proxy_for("http://api.example") is None, "HTTPS_PROXY is for https:// URLs only"
    monkeypatch.setenv("https_proxy", "http://lower.example:8080")  # the lower-case name wins, as in urllib
    assert proxy_for("https://api.example") == ("https_proxy", "lower.example:8080")
    monkeypatch.setenv("ALL_PROXY", "socks5://all.example:1080")
    assert proxy_for("http://api.example") == ("ALL_PROXY", "all.example:1080")
    monkeypatch.setenv("NO_PROXY", "api.example")
    assert proxy_for("https://api.example") is None
    assert Endpoint("https://api.example/x?y=1", "--x/X").where() == "api.example (--x/X)"


def test_userinfo_in_a_configured_url_never_reaches_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(flavour="bitbucket-datacenter") as dc:
        example = seed_example(dc)
        enrich = enricher(dc, tmp_path, monkeypatch, capsys)
        # Data Center's web URL defaults to BITBUCKET_URL: the payload's host is compared with it.
        url = dc.scm_url.replace("://", "://bot:hunter2@")
        run = enrich(
            payload(example, port_context={"repo_url": "https://elsewhere.example/projects/A/repos/b"}),
            BITBUCKET_URL=url,
        )
    assert run.code == 3 and "is not the configured Bitbucket web host" in run.result["error"]
    assert_clean(run.stderr + run.stdout, dc, "hunter2", "bot:")
