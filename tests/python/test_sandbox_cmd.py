"""`port-gitops sandbox`, run as a user runs it: it prints the environment, serves until stopped,
logs each request, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import run_cli


def start_sandbox(
    *args: str,
) -> tuple[subprocess.Popen[str], dict[str, str], list[str]]:
    """The running command, the variables it exported, and its comment lines."""
    exe = shutil.which("port-gitops", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "port_gitops"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "BITBUCKET_"))}
    process = subprocess.Popen(
        [*cmd, "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    exported, comments = {}, []
    for line in process.stdout:
        if line.startswith("export "):
            name, _, value = line[len("export ") :].rstrip("\n").partition("=")
            exported[name] = shlex.split(value)[0]
        else:
            comments.append(line.rstrip("\n"))
        if line.startswith("# Ctrl-C"):
            break
    return process, exported, comments


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_sandbox_command_serves_until_stopped(stop: signal.Signals) -> None:
    process, env, comments = start_sandbox()
    try:
        assert {
            "BITBUCKET_URL",
            "BITBUCKET_WEB_URL",
            "BITBUCKET_TOKEN",
            "PORT_BASE_URL",
            "PORT_CLIENT_SECRET",
        } <= set(env)
        payload_file = Path(
            shlex.split(next(c for c in comments if "enrich --payload" in c).split("--payload", 1)[1])[0]
        )
        payload = json.loads(payload_file.read_text(encoding="utf-8"))
        assert payload["port_context"]["repo_url"] == f"{env['BITBUCKET_WEB_URL']}/acme/payments"
        assert (payload["type"], payload["lifecycle"]) == ("backend", "Production")
        auth = (env["BITBUCKET_USERNAME"], env["BITBUCKET_TOKEN"])
        repo = requests.get(
            f"{env['BITBUCKET_URL']}/2.0/repositories/acme/payments",
            auth=auth,
            timeout=10,
        )
        assert repo.json()["mainbranch"]["name"] == "main"
        port_yml = requests.get(
            f"{env['BITBUCKET_URL']}/2.0/repositories/acme/payments/src/main/port.yml",
            auth=auth,
            timeout=10,
        )
        assert "payments-worker" in port_yml.text  # another entity, with comments, already there
        token = requests.post(
            f"{env['PORT_BASE_URL']}/v1/auth/access_token",
            json={"clientId": env["PORT_CLIENT_ID"], "clientSecret": env["PORT_CLIENT_SECRET"]}, timeout=10,
        ).json()["accessToken"]  # fmt: skip
        run = requests.post(f"{env['PORT_BASE_URL']}/v1/actions/runs/{payload['port_context']['runId']}/logs",
                            json={"message": "hello from the test"}, headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
        assert run.status_code == 201
    finally:
        process.send_signal(stop)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "GET /2.0/repositories/acme/payments -> 200" in err
    assert "log: hello from the test" in err
    assert err.rstrip().endswith("sandbox stopped")
    assert not payload_file.exists()


def test_sandbox_help() -> None:
    done = run_cli("sandbox", "--help")
    assert done.returncode == 0
    assert b"--tls" in done.stdout and b"export" in done.stdout


def test_datacenter_flavour_enriches_end_to_end(tmp_path: Path) -> None:
    process, env, comments = start_sandbox("--bitbucket", "datacenter", "--quiet")
    try:
        assert env["PORT_GITOPS_SCM"] == "bitbucket-datacenter" and env["BITBUCKET_PROJECT"] == "ACME"
        assert any("/scm/acme/payments.git" in c for c in comments)
        payload = shlex.split(next(c for c in comments if "enrich --payload" in c).split("--payload", 1)[1])[
            0
        ]
        result = run_cli("enrich", "--payload", payload, "--json", env=env)
        assert result.returncode == 0, result.stderr.decode()
        assert json.loads(result.stdout)["outcome"] == "created"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_gitlab_flavour_prints_a_working_environment(tmp_path: Path) -> None:
    process, env, comments = start_sandbox("--scm", "gitlab", "--quiet")
    try:
        assert env["PORT_GITOPS_SCM"] == "gitlab" and env["GITLAB_GROUP"] == "acme"
        assert env["GITLAB_URL"].endswith("/gitlab") and env["GITLAB_TOKEN"].startswith("glpat-")
        assert any(
            c.endswith("/gitlab/acme/payments.git  (user port-bot, password: the token above)")
            for c in comments
        )
        payload = shlex.split(next(c for c in comments if "enrich --payload" in c).split("--payload", 1)[1])[
            0
        ]
        result = run_cli("enrich", "--payload", payload, "--json", env=env)
        assert result.returncode == 0, result.stderr.decode()
        assert json.loads(result.stdout)["pull_request"]["url"].endswith(
            "/gitlab/acme/payments/-/merge_requests/1"
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0
