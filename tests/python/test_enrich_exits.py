"""Every exit code of `enrich`, the result file on every exit, and FAILURE reported whenever possible."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
from conftest import run_cli
from enrichkit import Enricher, payload

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example, seed_example
from port_gitops.signature import sign


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def nothing_written(sb: Sandbox) -> bool:
    return sb.scm.writes() == []


def test_invalid_enum_is_exit_3_reported_and_nothing_written(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(payload(example, lifecycle="Production\nowner: evil"))
    assert run.code == 3
    assert (
        "lifecycle" in run.result["error"] and "Production, Experimental, Deprecated" in run.result["error"]
    )
    assert len(run.stderr.strip().splitlines()[-1]) < 300
    assert sb.bitbucket.requests == [], "invalid input sends no Bitbucket request"
    state = sb.port.runs[example.run_id]
    assert state["status"] == "FAILURE" and "lifecycle" in state["summary"]
    assert run.result["port_run"] == {
        "id": example.run_id,
        "status": "FAILURE",
        "reported": True,
        "verified": False,
    }


def test_foreign_repository_url_is_exit_3_and_sends_no_request(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(payload(example, port_context={"repo_url": "https://bitbucket.org/other/payments"}))
    assert run.code == 3 and "port_context.repo_url" in run.result["error"]
    assert sb.bitbucket.requests == []
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"


def test_traversal_in_identifier_is_exit_3(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(payload(example, port_context={"entity": "../x", "repo_url": ""}))
    assert run.code == 3 and sb.bitbucket.requests == []


def test_app_password_is_exit_2_and_reported(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(example.payload, BITBUCKET_APP_PASSWORD="legacy")
    assert run.code == 2 and "app passwords" in run.result["error"]
    assert sb.bitbucket.requests == []
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"


@pytest.mark.parametrize(
    "env",
    [
        {"BITBUCKET_TOKEN": "tok€n"},
        {"BITBUCKET_USERNAME": None, "BITBUCKET_TOKEN": None, "BITBUCKET_ACCESS_TOKEN": "abc\ndef"},
    ],
)
def test_a_credential_no_header_can_carry_is_exit_2_and_port_still_hears(
    sb: Sandbox, example: Example, enrich: Enricher, env: dict[str, str | None]
) -> None:
    # issue 12 D: `unexpected UnicodeEncodeError` (exit 1), or an InvalidHeader that also broke Port
    # reporting, the Bitbucket header sitting on a session shared with Port.
    run = enrich(example.payload, **env)
    name = next(k for k, v in env.items() if v)
    assert run.code == 2 and run.result["error"].startswith(f"{name} holds "), run.result["error"]
    assert sb.bitbucket.requests == []
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    assert run.result["port_run"]["reported"] is True


def test_port_and_bitbucket_never_share_a_session(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    from port_gitops import http

    sessions: list[object] = []
    real = http.make_session

    def counting(**kwargs: object) -> object:
        sessions.append(real(**kwargs))  # type: ignore[arg-type]
        return sessions[-1]

    enrich.monkeypatch.setattr(http, "make_session", counting)
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    assert len(sessions) == 2 and sessions[0] is not sessions[1]
    assert all(
        req.headers.get("authorization", "").startswith("Bearer ") or req.path.endswith("/access_token")
        for req in sb.port.requests
    )


def test_rejected_port_credentials_are_exit_2_before_any_write(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(example.payload, PORT_CLIENT_SECRET="wrong-secret")
    assert run.code == 2
    assert nothing_written(sb)
    assert sb.port.runs[example.run_id]["status"] == "IN_PROGRESS"


def test_bitbucket_refusal_is_exit_1_with_failure_reported(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    sb.bitbucket.faults.add("POST", r"/src$", status=403, times=10)
    run = enrich(example.payload)
    assert run.code == 1 and run.result["outcome"] == "failed"
    assert "403" in run.result["error"] or "permission" in run.result["error"].lower()
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    assert sb.bitbucket.repository(example.workspace, example.slug).pull_requests == {}


def test_port_unreachable_at_the_end_is_exit_4_with_the_outcome(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    sb.port.faults.add("PATCH", r"/v1/actions/runs/", status=503, times=100)
    run = enrich(example.payload, "--max-attempts", "3")
    assert run.code == 4
    assert run.result["outcome"] == "created" and run.result["pull_request"] is not None
    assert run.result["port_run"]["reported"] is False
    assert len(run.waits) == 2, "the final status was retried"


def test_port_down_throughout_still_enriches_and_exits_4(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    sb.port.faults.add("POST", r"/v1/", status=503, times=1000)
    sb.port.faults.add("PATCH", r"/v1/", status=503, times=1000)
    run = enrich(example.payload, "--max-attempts", "2")
    assert run.code == 4 and run.result["outcome"] == "created"


def test_synchronized_action_is_a_configuration_error(sb: Sandbox, enrich: Enricher) -> None:
    ex = seed_example(sb, slug="ledger", run_id="r_sync")
    sb.port.runs.pop("r_sync")
    sb.port.create_run("r_sync", synchronized=True)
    run = enrich(ex.payload)
    assert run.code == 2 and "synchronized: false" in run.result["error"]


def test_a_run_port_already_finished_is_said_and_not_claimed(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    # issue 12 D2: every log and the final status got 422, yet the result said SUCCESS/reported and
    # stderr said nothing.
    sb.port.finish_run(example.run_id, "FAILURE")
    run = enrich(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert run.result["port_run"] == {**run.result["port_run"], "status": "FAILURE", "reported": False}
    assert f"Port run {example.run_id} is already finished" in run.stderr
    assert "already finished as FAILURE: it was not set to SUCCESS" in run.stderr
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    logs = [r for r in sb.port.requests if r.path.endswith("/logs")]
    assert len(logs) == 1, "after the first 422 no more log lines are sent"


def test_no_run_id_skips_reporting_and_says_so(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(payload(example, port_context={"runId": ""}))
    assert run.code == 0 and run.result["outcome"] == "created"
    assert run.result["port_run"] == {"id": None, "status": None, "reported": False, "verified": False}
    assert run.stderr.count("not reported to Port") == 1
    assert sb.port.requests == []


def test_data_flags_instead_of_payload(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(
        None,
        "--entity",
        "payments",
        "--domain",
        "billing",
        "--type",
        "library",
        "--lifecycle",
        "Experimental",
        "--run-id",
        example.run_id,
        "--repo-url",
        example.repo_url,
    )
    assert run.code == 0 and run.result["outcome"] == "created"
    assert sb.port.runs[example.run_id]["status"] == "SUCCESS"


def test_usage_errors_are_exit_2(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    assert enrich(None).code == 2
    both = enrich(example.payload, "--entity", "x")
    assert both.code == 2 and "not both" in both.result["error"]
    assert enrich(example.payload, "--branch", "bad..name").code == 2
    assert enrich(example.payload, "--path", "../etc/passwd").code == 2


def test_signature_checked_exit_5_never_reported(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    body = json.dumps(example.payload).encode()
    secret = sb.env()["PORT_CLIENT_SECRET"]
    ts = str(int(time.time()))
    ok = enrich(body, "--verify-signature", X_PORT_SIGNATURE=sign(body, ts, secret), X_PORT_TIMESTAMP=ts)
    assert ok.code == 0, ok.stderr
    sb.port.create_run("r_forged")
    forged = body.replace(example.run_id.encode(), b"r_forged").replace(b"backend", b"library")
    bad = enrich(forged, "--verify-signature", x_port_signature=sign(body, ts, secret), x_port_timestamp=ts)
    assert bad.code == 5 and "does not match" in bad.result["error"]
    assert bad.result["port_run"]["id"] is None
    assert sb.port.runs["r_forged"]["status"] == "IN_PROGRESS"
    missing = enrich(body, "--verify-signature")
    assert missing.code == 5 and "missing" in missing.result["error"]


def test_cli_subprocess_writes_result_file_and_summary(sb: Sandbox, example: Example, tmp_path: Path) -> None:
    body = tmp_path / "payload.json"
    body.write_text(json.dumps(example.payload))
    result_file = tmp_path / "out" / "result.json"
    proc = run_cli(
        "enrich", "--payload", "-", "--result-file", str(result_file), stdin=body.read_bytes(), env=sb.env()
    )
    assert proc.returncode == 0, proc.stderr.decode()
    summary = proc.stdout.decode().strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("created: pull request #1 ")
    result = json.loads(result_file.read_text())
    assert result["outcome"] == "created" and result["exit_code"] == 0
    env = sb.env()
    for secret in (env["BITBUCKET_TOKEN"], env["PORT_CLIENT_SECRET"]):
        assert secret not in proc.stdout.decode() + proc.stderr.decode() + result_file.read_text()


def test_python_dash_m_entry_point_works(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "port_gitops", "enrich", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "--result-file" in proc.stdout and "exit codes" in proc.stdout


def test_problems_in_other_entities_are_warnings_never_a_refusal(sb: Sandbox, enrich: Enricher) -> None:
    broken_neighbour = "- identifier: ledger-db\n  blueprint: service\n  properties:\n    lifecycle: Prod\n"
    ex = seed_example(sb, slug="ledger", run_id="r_warn")
    sb.bitbucket.push(ex.workspace, ex.slug, "main", {"port.yml": broken_neighbour})
    run = enrich(ex.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    [warning] = run.result["warnings"]
    assert "ledger-db" in warning and "lifecycle" in warning and ":4:" in warning
    assert "ledger-db" in run.stderr


def test_an_invalid_entity_we_would_write_is_invalid_input(
    sb: Sandbox, enrich: Enricher, tmp_path: Path
) -> None:
    ex = seed_example(sb, slug="ledger", run_id="r_bad_template")
    template = tmp_path / "template.yml"
    template.write_text(
        '- identifier: "{{ service_identifier }}"\n  blueprint: service\n  properties:\n'
        '    type: "{{ service_type }}"\n    lifecycle: "{{ service_lifecycle }}"\n'
        "  relations:\n    domain: [a, b]\n"
    )
    run = enrich(ex.payload, "--template", str(template))
    assert run.code == 3, run.stderr
    assert "domain" in run.result["error"]
    assert nothing_written(sb), "nothing committed"
    assert sb.port.runs["r_bad_template"]["status"] == "FAILURE"


def test_on_prem_tls_with_a_ca_bundle_and_without(tmp_path: Path) -> None:
    with Sandbox(tls=True) as tls:
        ex = seed_example(tls)
        body = tmp_path / "p.json"
        body.write_text(json.dumps(ex.payload))
        env = {k: v for k, v in tls.env().items() if k != "REQUESTS_CA_BUNDLE"}
        untrusted = run_cli("enrich", "--payload", str(body), "--json", env=env)
        assert untrusted.returncode == 2 and b"--ca-bundle" in untrusted.stderr
        trusted = run_cli(
            "enrich", "--payload", str(body), "--json", "--ca-bundle", str(tls.ca_bundle), env=env
        )
        assert trusted.returncode == 0, trusted.stderr.decode()
        assert json.loads(trusted.stdout)["outcome"] == "created"
        assert tls.port.runs[ex.run_id]["status"] == "SUCCESS"


def test_a_port_yml_that_is_not_utf8_is_invalid_input_and_left_alone(sb: Sandbox, enrich: Enricher) -> None:
    ex = seed_example(sb, slug="ledger", run_id="r_latin1")
    sb.bitbucket.push(
        ex.workspace, ex.slug, "main", {"port.yml": "- identifier: caf\xe9\n".encode("latin-1")}
    )
    run = enrich(ex.payload)
    assert run.code == 3 and "not UTF-8" in run.result["error"]
    assert nothing_written(sb)
