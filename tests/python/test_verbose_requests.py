"""`enrich -v` (the flag after the command, as the README writes it) shows every HTTP request it sends —
Port's and the SCM client library's alike, each retry on its own line — as method, host and path,
status and time; never a query string, a header or a credential."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from enrichkit import FLAVOURS, Enricher

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example

LINE = re.compile(r"^port-gitops: http: (?P<method>[A-Z]+) (?P<where>\S+) -> (?P<status>\d{3}) \((\d+) ms\)$")
TOKEN_PATH = "/v1/auth/access_token"


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=str(request.param)) as sandbox:
        yield sandbox


def test_enrich_v_shows_each_request_and_no_secret(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = seed_example(sb)
    enrich = Enricher(sb, tmp_path, monkeypatch, capsys)
    sb.scm.clear()
    sb.port.clear()
    sb.port.faults.add("POST", TOKEN_PATH + "$", status=503, times=1)  # a retry is a line of its own
    run = enrich(ex.payload, "-v")
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr

    shown = [line for line in run.stderr.splitlines() if line.startswith("port-gitops: http: ")]
    matches = [LINE.match(line) for line in shown]
    assert all(matches), shown
    logged = Counter((m["method"], m["where"], m["status"]) for m in matches if m)
    sent = Counter(
        (r.method, urlsplit(base).netloc + r.path, str(r.status))
        for base, requests in ((sb.port_url, sb.port.requests), (sb.scm_url, sb.scm.requests))
        for r in requests
    )
    assert logged == sent, "one line per request each sandbox saw, no more"
    port = urlsplit(sb.port_url).netloc
    assert logged[("POST", port + TOKEN_PATH, "503")] == 1 and logged[("POST", port + TOKEN_PATH, "200")] == 1
    scm = urlsplit(sb.scm_url).netloc
    # (a read: a GET, or GitHub's GraphQL query, a POST that only reads)
    assert any(where.startswith(scm) and s == "200" for m, where, s in logged), logged

    assert not any(
        "?" in line or "authorization" in line.lower() or "bearer" in line.lower() for line in shown
    )
    secrets = [v for k, v in sb.env().items() if k.endswith(("TOKEN", "SECRET", "PASSWORD", "KEY")) and v]
    assert secrets and not any(secret in run.stderr + run.stdout for secret in secrets)


def test_v_counts_add_up_before_and_after_the_command() -> None:
    from port_gitops import cli

    args = cli.build_parser().parse_args(["-v", "enrich", "-vv"])
    assert args.verbose + args.verbose_after == 3
    quiet = cli.build_parser().parse_args(["vars"])
    assert quiet.verbose + quiet.verbose_after == 0
