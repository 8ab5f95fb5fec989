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

IGNORING_SIGINT = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


def start_sandbox(
    *args: str, ignore_sigint: bool = False
) -> tuple[subprocess.Popen[str], dict[str, str], list[str]]:
    """The running command, the variables it exported, and its comment lines. `ignore_sigint`:
    started as from a background shell job, which ignores SIGINT."""
    exe = shutil.which("port-gitops", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "port_gitops"]
    if ignore_sigint:  # SIG_IGN survives exec, as it does for a shell's background job
        cmd = [sys.executable, "-c", IGNORING_SIGINT, *cmd]
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


def stop_sandbox(process: subprocess.Popen[str], stop: int) -> str:
    """Its stderr once `stop` ended it; a sandbox that ignores the signal is killed, never left behind."""
    process.send_signal(stop)
    try:
        return process.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the sandbox did not stop on {signal.Signals(stop).name}") from None


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("ignored", [False, True], ids=["foreground", "background-job"])
def test_either_signal_stops_it_and_removes_every_temporary_file(stop: int, ignored: bool) -> None:
    process, _, comments = start_sandbox("--quiet", ignore_sigint=ignored)
    payload = Path(
        shlex.split(next(c for c in comments if "enrich --payload" in c).split("--payload", 1)[1])[0]
    )
    root = payload.parent
    assert root.name.startswith("port-gitops-sandbox-") and root.is_dir()
    err = stop_sandbox(process, stop)
    assert process.returncode == 0, err
    assert err.rstrip().endswith("sandbox stopped")
    assert not root.exists(), "the repositories, the payload and the TLS files are gone"


@pytest.mark.parametrize("stop", [signal.SIGTERM])
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
        err = stop_sandbox(process, stop)
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
        stop_sandbox(process, signal.SIGTERM)
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


def test_github_flavour_prints_a_working_environment(tmp_path: Path) -> None:
    process, env, comments = start_sandbox("--scm", "github", "--quiet")
    try:
        assert env["PORT_GITOPS_SCM"] == "github" and env["GITHUB_OWNER"] == "acme"
        assert env["GITHUB_TOKEN"].startswith("github_pat_")
        assert any("/acme/payments.git" in c for c in comments)
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
