"""No secret leaves the process: `port-gitops -v enrich` (debug level) through the fault matrix and the
failure paths, with secrets full of regex metacharacters. None of them — raw, URL-encoded,
JSON-escaped, inside a Basic credential — nor Port's access token appears on stdout, stderr or in
the result file."""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from enrichkit import FLAVOURS, Enricher
from test_enrich_faults import MET_WITHOUT_RETRY, STEPS, cells, faults_of

from port_gitops import cli, enrich_command, logsetup
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example
from port_gitops.signature import sign

PORT_SECRET = r"p0rt.*+?^$|()[]{}\-s3cr\\et"
BITBUCKET_TOKEN = r"ATATT3x(.*)+[a-z]{2}|^$\b\d"
ACCESS_TOKEN = r"acc3ss.+?(?=x)\Q\E[^]]*"
# The matrix of test_enrich_faults, one run per flavour and fault: armed at once on every step it
# strikes there.
MATRIX: dict[tuple[str, str], list[str]] = defaultdict(list)
for cell in cells():
    flavour, step, fault = cell.values
    MATRIX[(str(flavour), str(fault))].append(str(step))


@dataclass
class Outputs:
    code: int
    stdout: str
    stderr: str
    result: str


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sb(flavour: str) -> Iterator[Sandbox]:
    with Sandbox(flavour=flavour) as sandbox:
        sandbox.port.client_secret = PORT_SECRET
        sandbox.bitbucket.token = BITBUCKET_TOKEN
        sandbox.bitbucket.access_token = ACCESS_TOKEN
        yield sandbox


@pytest.fixture
def kit(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Enricher:
    # Secrets registered by earlier tests in this process must not mask what this run failed to register.
    monkeypatch.setattr(logsetup, "_secrets", set())
    return Enricher(sb, tmp_path, monkeypatch, capsys)


def enrich_debug(kit: Enricher, body: bytes, *args: str, **env: str | None) -> Outputs:
    """`port-gitops -v enrich --json --result-file ...`, in-process (retry waits recorded, not slept)."""
    kit.count += 1
    kit.env(**env)
    payload, result = kit.tmp / f"payload-{kit.count}.json", kit.tmp / f"result-{kit.count}.json"
    payload.write_bytes(body)
    kit.capsys.readouterr()
    code = cli.main(
        ["-v", "enrich", "--json", "--payload", str(payload), "--result-file", str(result), *args]
    )
    out = kit.capsys.readouterr()
    return Outputs(code, out.out, out.err, result.read_text(encoding="utf-8"))


def assert_no_secret(sb: Sandbox, outputs: Outputs, *extra: str) -> None:
    secrets = [PORT_SECRET, BITBUCKET_TOKEN, ACCESS_TOKEN, *extra]
    secrets.append(base64.b64encode(f"{sb.bitbucket.username}:{BITBUCKET_TOKEN}".encode()).decode())
    secrets += [  # the access tokens Port issued in this test
        r.headers["authorization"].split(" ", 1)[1] for r in sb.port.requests if "authorization" in r.headers
    ]
    forms = {form for s in secrets for form in (s, quote(s, safe=""), quote_plus(s), json.dumps(s)[1:-1])}
    texts = {"stdout": outputs.stdout, "stderr": outputs.stderr, "result file": outputs.result}
    leaks = [
        f"{where} holds {form!r}" for where, text in texts.items() for form in sorted(forms) if form in text
    ]
    assert not leaks, "\n".join(leaks)


def body_of(example: Example, **changes: Any) -> bytes:
    return json.dumps({**example.payload, **changes}).encode()


@pytest.mark.parametrize(("flavour", "fault"), sorted(MATRIX))
def test_fault_matrix_at_debug_level(
    sb: Sandbox, example: Example, kit: Enricher, flavour: str, fault: str
) -> None:
    for step in MATRIX[(flavour, fault)]:
        server, method, path, write = STEPS[flavour][step]
        spec = faults_of(flavour, step, write)[fault]
        (sb.bitbucket if server == "bitbucket" else sb.port).faults.add(method, path, times=1, **spec)
    outputs = enrich_debug(kit, body_of(example))
    assert outputs.code in (0, 1, 2, 4), outputs.stderr
    assert (MET_WITHOUT_RETRY.get(fault, "; retry ")) in outputs.stderr, (
        "the faults were met and retried (or recognised)"
    )
    assert json.loads(outputs.result)["exit_code"] == outputs.code
    assert_no_secret(sb, outputs)


@pytest.mark.parametrize("fault", [None, "503"])
def test_access_token_at_debug_level(sb: Sandbox, example: Example, kit: Enricher, fault: str | None) -> None:
    if fault:  # on the commit, whose answer is lost: replayed
        commit = STEPS[sb.flavour]["commit"]
        sb.bitbucket.faults.add(commit[1], commit[2], status=503, apply=True)
    outputs = enrich_debug(kit, body_of(example), **sb.scm.access_token_env(ACCESS_TOKEN))
    # Data Center lets only a user commit: a project or repository token fails there (exit 1), by design.
    assert outputs.code in (0, 1) and json.loads(outputs.result)["exit_code"] == outputs.code, outputs.stderr
    assert sb.scm.access_header(ACCESS_TOKEN) in [sb.scm.sent_credential(r) for r in sb.scm.requests]
    assert_no_secret(sb, outputs)


@pytest.mark.parametrize("case", ["port secret", "token", "access token", "app password"])
def test_rejected_credentials_at_debug_level(sb: Sandbox, example: Example, kit: Enricher, case: str) -> None:
    env: dict[str, str | None] = {
        "port secret": {"PORT_CLIENT_SECRET": PORT_SECRET + "x"},  # Port refuses the credentials
        "token": {sb.scm.credential_variable: BITBUCKET_TOKEN + "x"},  # the SCM refuses the token
        "access token": sb.scm.access_token_env(ACCESS_TOKEN + "x"),
        "app password": {"BITBUCKET_APP_PASSWORD": BITBUCKET_TOKEN},
    }[case]
    # A Bitbucket app password is refused by the Bitbucket flavours and means nothing to the others.
    ignored = case == "app password" and not sb.scm.credential_variable.startswith("BITBUCKET_")
    code = 0 if ignored else 2
    outputs = enrich_debug(kit, body_of(example), **env)
    assert outputs.code == code, outputs.stderr
    assert_no_secret(sb, outputs, *(value for value in env.values() if value))


def test_invalid_input_and_dry_run_at_debug_level(sb: Sandbox, example: Example, kit: Enricher) -> None:
    invalid = enrich_debug(kit, body_of(example, lifecycle="Production\nowner: evil"))
    assert invalid.code == 3 and "lifecycle" in json.loads(invalid.result)["error"]
    assert_no_secret(sb, invalid)
    dry = enrich_debug(kit, body_of(example), "--dry-run")
    assert dry.code == 0 and "+- identifier: payments" in dry.stdout + dry.stderr
    assert_no_secret(sb, dry)


def test_rejected_signature_at_debug_level(sb: Sandbox, example: Example, kit: Enricher) -> None:
    body = body_of(example)
    stamp = str(int(time.time()))
    outputs = enrich_debug(
        kit,
        body,
        "--verify-signature",
        X_PORT_SIGNATURE=sign(body + b" ", stamp, PORT_SECRET),
        X_PORT_TIMESTAMP=stamp,
    )
    assert outputs.code == 5, outputs.stderr
    assert_no_secret(sb, outputs, sign(body, stamp, PORT_SECRET).split(",", 1)[1])


def test_an_exception_carrying_secrets_is_masked_in_its_debug_traceback(
    sb: Sandbox, example: Example, kit: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: object) -> None:
        raise RuntimeError(f"library said: auth {BITBUCKET_TOKEN} / {PORT_SECRET}")

    monkeypatch.setattr(enrich_command.Enrichment, "run", crash)
    outputs = enrich_debug(kit, body_of(example))
    assert outputs.code == 1
    assert "Traceback" in outputs.stderr and "RuntimeError: library said: auth ****" in outputs.stderr
    assert "library said: auth ****" in json.loads(outputs.result)["error"]
    assert_no_secret(sb, outputs)
