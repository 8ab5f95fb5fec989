"""Issue 12 C.1: the raw payload is bounded, its signature checked before anything parses it, its
parsing costs a small multiple of its size, and the result file says whether the run id was verified."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Iterator

import pytest
from enrichkit import Enricher, payload

from port_gitops import enrich_command
from port_gitops.gwt.payload import read_payload
from port_gitops.limits import MAX_PAYLOAD_BYTES
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example
from port_gitops.signature import sign

VALUES = {"domain": "billing", "type": "backend", "lifecycle": "Production"}


def big_payload(size: int) -> bytes:
    body = {"port_context": {"entity": "payments", "runId": "r_1"}, **VALUES, "blob": ""}
    padding = size - len(json.dumps(body))
    return json.dumps({**body, "blob": "a" * padding}).encode()


# A regression must fail with MemoryError, not take the machine down: 2 GiB of address space, set
# in the child before it execs port-gitops (no preexec_fn: other tests' server threads may be alive).
LIMITED = (
    "import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'port_gitops', *sys.argv[1:]])"
)


def cli(*args: str, stdin: Any = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", LIMITED, *args],
        stdin=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


# -- the size cap ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["render"], ["vars"], ["enrich", "--dry-run"]])
def test_a_payload_over_the_cap_is_exit_3_with_its_size_and_the_limit(
    command: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "payload.json"
    path.write_bytes(big_payload(MAX_PAYLOAD_BYTES + 1))
    proc = cli(*command, "--payload", str(path))
    assert proc.returncode == 3, proc.stderr
    assert (
        f"payload: 1.0 MiB ({MAX_PAYLOAD_BYTES + 1} bytes), over the 1.0 MiB ({MAX_PAYLOAD_BYTES} bytes) limit"
        in (proc.stderr.decode())
    )


def test_a_payload_at_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "payload.json"
    path.write_bytes(big_payload(MAX_PAYLOAD_BYTES))
    proc = cli("render", "--payload", str(path))
    assert proc.returncode == 0, proc.stderr
    assert b"identifier: payments" in proc.stdout


@pytest.mark.parametrize("command", [["render"], ["vars"], ["enrich", "--dry-run"]])
def test_an_endless_stdin_is_never_read_whole(command: list[str]) -> None:
    with open("/dev/zero", "rb") as zeros:
        started = time.monotonic()
        proc = cli(*command, "--payload", "-", stdin=zeros)
    assert proc.returncode == 3, proc.stderr
    assert b"payload: more than 1.0 MiB" in proc.stderr
    assert time.monotonic() - started < 30


# -- linear parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        big_payload(MAX_PAYLOAD_BYTES),  # one long string: ~120 bytes per byte with the old token regex
        json.dumps({"s": "\n" * (MAX_PAYLOAD_BYTES // 2)}).encode(),  # escapes
        json.dumps({"a": [[0] * 9] * 9000, "b": ["x"] * 9000}).encode(),  # many small tokens
    ],
    ids=["string", "escapes", "tokens"],
)
def test_parsing_a_payload_costs_less_than_ten_times_its_size(body: bytes) -> None:
    tracemalloc.start()
    try:
        assert read_payload(body) is not None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * len(body), f"{peak / len(body):.1f} bytes per byte"


# -- the signature before the parser, and what the result file tells the Jenkins step ---------------


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    "body",
    [b'{"port_context": {"entity": "x"', b"\xff\xfe not utf-8", b"[" * 100_000, b'{"a":1,,,,}' * 1000],
    ids=["truncated", "not-utf8", "deep", "commas"],
)
def test_an_unsigned_body_is_exit_5_before_anything_parses_it(
    sb: Sandbox, example: Example, enrich: Enricher, body: bytes
) -> None:
    ts = str(int(time.time()))
    run = enrich(
        body, "--verify-signature", X_PORT_SIGNATURE=sign(b"{}", ts, "not the secret"), X_PORT_TIMESTAMP=ts
    )
    assert run.code == 5 and "does not match" in run.result["error"], run.result
    assert run.result["port_run"]["id"] is None and run.result["port_run"]["verified"] is False
    assert sb.bitbucket.requests == [] and sb.port.requests == []


def interim_results(monkeypatch: pytest.MonkeyPatch, result_files: Path) -> list[dict[str, Any]]:
    """Make the enrichment itself die at once, recording what the result file said at that moment."""
    seen: list[dict[str, Any]] = []

    class Dies:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def run(self) -> None:
            (latest,) = sorted(result_files.glob("result-*.json"))[-1:]
            seen.append(json.loads(latest.read_text()))
            raise MemoryError("killed")

    monkeypatch.setattr(enrich_command, "Enrichment", Dies)
    return seen


def test_while_it_runs_the_result_file_names_the_verified_run_id(
    sb: Sandbox, example: Example, enrich: Enricher, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = interim_results(monkeypatch, tmp_path)
    body = json.dumps(example.payload).encode()
    ts = str(int(time.time()))
    secret = sb.env()["PORT_CLIENT_SECRET"]
    run = enrich(body, "--verify-signature", X_PORT_SIGNATURE=sign(body, ts, secret), X_PORT_TIMESTAMP=ts)
    assert seen[0]["outcome"] == "running" and seen[0]["exit_code"] is None
    assert seen[0]["port_run"] == {"id": example.run_id, "status": None, "reported": False, "verified": True}
    assert run.code == 1 and run.result["outcome"] == "failed" and run.result["port_run"]["verified"] is True

    unverified = enrich(payload(example))
    assert seen[1]["port_run"]["id"] == example.run_id and seen[1]["port_run"]["verified"] is False
    assert unverified.result["port_run"]["verified"] is False
