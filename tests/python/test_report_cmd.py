"""`port-gitops report`: close a Port run from a pipeline's failure path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

import pytest
from conftest import run_cli

from port_gitops.sandbox import Sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def port_env(sb: Sandbox) -> dict[str, str]:
    return {k: v for k, v in sb.env().items() if k.startswith("PORT_") or k.lower() == "no_proxy"}


def test_closes_the_run_with_message_and_links(sb: Sandbox) -> None:
    sb.port.create_run("r_abort")
    proc = run_cli(
        "report",
        "--run-id",
        "r_abort",
        "--status",
        "FAILURE",
        "--message",
        "build  aborted\nby hand",
        "--link",
        "https://jenkins.example.com/job/x/7/",
        env=port_env(sb),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    run = sb.port.runs["r_abort"]
    assert run["status"] == "FAILURE" and run["summary"] == "build aborted by hand"
    assert run["link"] == ["https://jenkins.example.com/job/x/7/"]
    assert run["logs"] == ["build aborted by hand"]


def test_an_already_finished_run_is_left_alone(sb: Sandbox) -> None:
    sb.port.create_run("r_done")
    assert run_cli("report", "--run-id", "r_done", "--status", "SUCCESS", env=port_env(sb)).returncode == 0
    proc = run_cli(
        "report", "--run-id", "r_done", "--status", "FAILURE", "--message", "late", env=port_env(sb)
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert sb.port.runs["r_done"]["status"] == "SUCCESS"
    # issue 12 D: it printed "closed as FAILURE" although the run stayed SUCCESS.
    err = proc.stderr.decode()
    assert "already finished as SUCCESS" in err and "closed as FAILURE" not in err.replace(
        "not closed as", ""
    )


def test_usage_and_input_errors(sb: Sandbox) -> None:
    no_creds = run_cli("report", "--run-id", "r_x", "--status", "FAILURE", env={"PORT_BASE_URL": sb.port_url})
    assert no_creds.returncode == 2 and b"PORT_CLIENT_ID" in no_creds.stderr
    bad_id = run_cli("report", "--run-id", "a b", "--status", "FAILURE", env=port_env(sb))
    assert bad_id.returncode == 3 and b"--run-id" in bad_id.stderr
    assert run_cli("report", "--run-id", "r", "--status", "DONE", env=port_env(sb)).returncode == 2
    wrong = run_cli(
        "report",
        "--run-id",
        "r_x",
        "--status",
        "FAILURE",
        env={**port_env(sb), "PORT_CLIENT_SECRET": "nope-nope"},
    )
    assert wrong.returncode == 2


def test_port_down_is_exit_1(sb: Sandbox) -> None:
    sb.port.create_run("r_down")
    sb.port.faults.add("PATCH", r"/v1/actions/runs/", status=503, times=100)
    proc = run_cli(
        "report",
        "--run-id",
        "r_down",
        "--status",
        "FAILURE",
        "--max-attempts",
        "2",
        "--max-wait",
        "5",
        env=port_env(sb),
    )
    assert proc.returncode == 1 and b"gave up" in proc.stderr
    assert sb.port.runs["r_down"]["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("result", "closed"),
    [
        (None, True),  # enrich never started (or died before its first write)
        ('{"outcome": "running", "port_run": {"id": "r_ci"}}', True),  # killed mid-way
        ('{"outcome": ', True),  # cut off while written
        ('{"outcome": "failed", "exit_code": 3, "port_run": {"reported": true}}', False),
        ('{"outcome": "created", "exit_code": 4, "port_run": {"reported": false}}', False),
    ],
)
def test_enrich_result_decides_whether_the_run_is_still_open(
    sb: Sandbox, tmp_path: Path, result: Optional[str], closed: bool
) -> None:
    sb.port.create_run("r_ci")
    path = tmp_path / "result.json"
    if result is not None:
        path.write_text(result, encoding="utf-8")
    proc = run_cli(
        "report",
        "--run-id",
        "r_ci",
        "--status",
        "FAILURE",
        "--message",
        "job cancelled",
        "--enrich-result",
        str(path),
        env=port_env(sb),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert sb.port.runs["r_ci"]["status"] == ("FAILURE" if closed else "IN_PROGRESS")
    if not closed:
        assert b"nothing to close" in proc.stderr
