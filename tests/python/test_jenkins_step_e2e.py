"""End to end on the Jenkins side: the portEnrichService step runs in the Groovy 2.4 harness, its one
`sh` really executed by the shell with the environment the step built, then port-gitops talks to the
sandbox Bitbucket Cloud and Port. Two ways to reach the tool, both with no package index:
`command:` (a pre-installed port-gitops), and the shipped zipapp through venv-bootstrap.sh with its
cache already holding an environment for the lock (this test's own one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

from port_gitops.sandbox import FLAVOURS, Sandbox
from port_gitops.sandbox.example import seed_example

GROOVY_DIR = REPO / "tests" / "groovy"
LOCK = REPO / "resources" / "io" / "port" / "gitops" / "requirements.lock"
WORKSPACE = "acme"


pytestmark = pytest.mark.skipif(  # `make test` requires groovy (its `tools` step), so it never skips there
    shutil.which("groovy") is None,
    reason="groovy not installed (apt: groovy default-jre-headless)",
)


@pytest.fixture
def sandbox():
    with Sandbox(workspace=WORKSPACE) as sb:
        sb.bitbucket.create_repository(WORKSPACE, "payments", {"README.md": "# payments\n"})
        sb.port.create_run("r_e2e", entity="payments")
        yield sb


def port_payload(sb: Sandbox, **overrides: str) -> str:
    """The body Port sends for the bundled action (resources/io/port/gitops/action.json)."""
    values = {
        "entity": "payments",
        "repo_url": f"{sb.bitbucket_web_url}/{WORKSPACE}/payments",
        "runId": "r_e2e",
    }
    values.update(overrides)
    body = {
        "port_context": values,
        "domain": "billing",
        "type": "backend",
        "lifecycle": "Production",
    }
    return json.dumps(body, separators=(",", ":"))


def signed(sb: Sandbox, payload: str) -> dict[str, str]:
    """The GWT header variables for Port's signature: v1,base64(HMAC-SHA256(secret, "<ts>.<body>"))."""
    timestamp = str(int(time.time()))
    digest = hmac.new(
        sb.port.client_secret.encode(),
        f"{timestamp}.{payload}".encode(),
        hashlib.sha256,
    ).digest()
    return {
        "x_port_signature": "v1," + base64.b64encode(digest).decode(),
        "x_port_timestamp": timestamp,
    }


def run_step(
    sb: Sandbox,
    tmp_path: Path,
    params: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    agent_env: dict[str, str] | None = None,
    scm: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the step as Jenkins would: sandbox credentials in the credential store, settings as parameters.
    `scm` replaces the Bitbucket Cloud parameters and credentials with another SCM's (step_scm)."""
    settings = sb.env()
    scm_params, scm_credentials = scm or (
        {
            "bitbucketCredentialsId": "bitbucket-credentials",
            "bitbucketUrl": settings["BITBUCKET_URL"],
            "bitbucketWebUrl": settings["BITBUCKET_WEB_URL"],
            "workspace": WORKSPACE,
        },
        {
            "bitbucket-credentials": {
                "username": settings["BITBUCKET_USERNAME"],
                "password": settings["BITBUCKET_TOKEN"],
            }
        },
    )
    spec = {
        "params": {
            "portCredentialsId": "port-credentials",
            **scm_params,
            "portBaseUrl": settings["PORT_BASE_URL"],
            **params,
        },
        "credentials": {
            "port-credentials": {
                "username": settings["PORT_CLIENT_ID"],
                "password": settings["PORT_CLIENT_SECRET"],
            },
            **scm_credentials,
        },
        "env": env or {},
        # A small retry budget: a failing case must not wait out the production defaults.
        "agentEnv": {
            "NO_PROXY": settings["NO_PROXY"],
            "no_proxy": settings["no_proxy"],
            "PORT_GITOPS_MAX_WAIT": "5",
            **(agent_env or {}),
        },
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    done = subprocess.run(
        ["groovy", "-cp", "harness", "drive_step.groovy", str(spec_file)],
        cwd=GROOVY_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PORT_GITOPS_REPO": str(REPO)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_enriched(sb: Sandbox, outcome: dict[str, Any], *, verified: bool = False) -> None:
    assert outcome["error"] is None, outcome["log"]
    assert outcome["build"] == "SUCCESS"
    result = outcome["result"]
    assert result["outcome"] == "created"
    assert result["repository"] == f"{WORKSPACE}/payments"
    repo = sb.bitbucket.repository(WORKSPACE, "payments")
    assert repo is not None
    (pr,) = repo.pull_requests.values()
    assert result["pull_request"]["id"] == pr.id
    assert pr.source == result["branch"]
    written = sb.bitbucket.read_file(WORKSPACE, "payments", result["branch"], "port.yml")
    assert written is not None and b"payments" in written and b"billing" in written
    assert sb.port.runs["r_e2e"]["status"] == "SUCCESS"
    assert result["port_run"] == {"id": "r_e2e", "status": "SUCCESS", "reported": True, "verified": verified}


def test_preinstalled_command_with_signed_payload_creates_the_pull_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    payload = port_payload(sandbox)
    outcome = run_step(
        sandbox,
        tmp_path,
        {
            "payload": payload,
            "verifySignature": True,
            "command": str(Path(sys.executable).parent / "port-gitops"),
        },
        env=signed(sandbox, payload),
    )
    assert_enriched(sandbox, outcome, verified=True)


def test_shipped_zipapp_runs_in_the_cached_environment(sandbox: Sandbox, tmp_path: Path) -> None:
    # The bootstrap finds an environment for this lock and interpreter already in its cache: this
    # test's own one, which holds the pinned packages, so no index is needed.
    lock_hash = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"venv-{lock_hash}-py{sys.version_info[0]}.{sys.version_info[1]}").symlink_to(sys.prefix)
    outcome = run_step(
        sandbox,
        tmp_path,
        {"payload": port_payload(sandbox), "python": sys.executable},
        agent_env={"PORT_GITOPS_CACHE_DIR": str(cache)},
    )
    assert_enriched(sandbox, outcome)
    assert "using the Python environment" in outcome["log"]


def test_invalid_input_fails_the_build_with_the_tools_reason(sandbox: Sandbox, tmp_path: Path) -> None:
    outcome = run_step(
        sandbox,
        tmp_path,
        {
            "payload": port_payload(sandbox, entity="$(touch pwned)"),
            "command": str(Path(sys.executable).parent / "port-gitops"),
        },
    )
    assert outcome["result"] is None
    assert outcome["error"].startswith("portEnrichService: ")
    assert outcome["error"].endswith("(port-gitops exit 3)")
    assert "wrote no result file" not in outcome["error"]
    assert not (GROOVY_DIR / "pwned").exists()
    assert sandbox.port.runs["r_e2e"]["status"] == "FAILURE"
    assert sandbox.bitbucket.repository(WORKSPACE, "payments").pull_requests == {}


def test_rejected_signature_leaves_the_named_run_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    payload = port_payload(sandbox)
    forged = {
        **signed(sandbox, payload),
        "x_port_signature": "v1," + base64.b64encode(b"0" * 32).decode(),
    }
    outcome = run_step(
        sandbox,
        tmp_path,
        {
            "payload": payload,
            "verifySignature": True,
            "command": str(Path(sys.executable).parent / "port-gitops"),
        },
        env=forged,
    )
    assert outcome["error"].endswith("(port-gitops exit 5)")
    assert sandbox.port.runs["r_e2e"]["status"] == "IN_PROGRESS"


# The step parameter that sets each setting a sandbox flavour configures (vars/portEnrichService.groovy
# SETTINGS), and the credential parameter with its kind for each secret: a flavour whose configuration
# the step cannot express fails here.
STEP_SETTINGS = {
    "PORT_GITOPS_SCM": "scm",
    "BITBUCKET_URL": "bitbucketUrl",
    "BITBUCKET_WEB_URL": "bitbucketWebUrl",
    "BITBUCKET_WORKSPACE": "workspace",
    "BITBUCKET_PROJECT": "project",
    "GITHUB_API_URL": "githubApiUrl",
    "GITHUB_WEB_URL": "githubWebUrl",
    "GITHUB_OWNER": "owner",
    "GITLAB_URL": "gitlabUrl",
    "GITLAB_GROUP": "group",
}
STEP_SECRETS = {"GITHUB_TOKEN": "githubCredentialsId", "GITLAB_TOKEN": "gitlabCredentialsId"}
NOT_STEP_SETTINGS = {"PORT_BASE_URL", "PORT_CLIENT_ID", "PORT_CLIENT_SECRET", "NO_PROXY", "no_proxy"}


def step_scm(sb: Sandbox, *, app_credential: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The step parameters and Jenkins credentials that point the step at `sb`'s SCM."""
    settings = {k: v for k, v in sb.env().items() if k not in NOT_STEP_SETTINGS}
    params: dict[str, Any] = {}
    credentials: dict[str, Any] = {}
    if "BITBUCKET_USERNAME" in settings:
        params["bitbucketCredentialsId"] = "scm-credentials"
        credentials["scm-credentials"] = {
            "username": settings.pop("BITBUCKET_USERNAME"),
            "password": settings.pop("BITBUCKET_TOKEN"),
        }
    for name, param in STEP_SECRETS.items():
        if name in settings:
            params[param] = "scm-credentials"
            secret = settings.pop(name)
            # Jenkins' GitHub App credential: username/password whose password is an installation token.
            credentials["scm-credentials"] = (
                {"username": "12345", "password": secret} if app_credential else secret
            )
    unknown = sorted(set(settings) - set(STEP_SETTINGS))
    assert not unknown, f"the {sb.flavour} sandbox needs settings the step cannot set: {unknown}"
    params.update({STEP_SETTINGS[name]: value for name, value in settings.items()})
    return params, credentials


SCM_CASES = [(flavour, False) for flavour in FLAVOURS] + [("github", True)] * ("github" in FLAVOURS)


@pytest.mark.parametrize(("flavour", "app_credential"), SCM_CASES)
def test_every_scm_through_the_steps_parameters(flavour: str, app_credential: bool, tmp_path: Path) -> None:
    with Sandbox(flavour=flavour, workspace=WORKSPACE) as sb:
        example = seed_example(sb, run_id="r_scm")
        params, credentials = step_scm(sb, app_credential=app_credential)
        assert params["scm"] == flavour
        outcome = run_step(
            sb,
            tmp_path,
            {
                "payload": json.dumps(example.payload),
                "command": str(Path(sys.executable).parent / "port-gitops"),
                "labels": ["port"],
                "draft": True,
            },
            scm=(params, credentials),
        )
        assert outcome["error"] is None, outcome["log"]
        result = outcome["result"]
        assert (result["outcome"], result["scm"]) == ("created", flavour)
        assert len(sb.scm.pull_requests(example.workspace, example.slug)) == 1
        assert sb.port.runs["r_scm"]["status"] == "SUCCESS"


def test_any_action_through_the_step_with_values_writes_typed_values(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    params = {
        "action": "set_ownership",
        "entity": "payments",
        "repoUrl": f"{sandbox.bitbucket_web_url}/{WORKSPACE}/payments",
        "runId": "r_e2e",
        "values": {"owners": ["platform", "sre"], "tier": "gold", "onCall": True, "sloTarget": 99.5},
        "command": str(Path(sys.executable).parent / "port-gitops"),
    }
    outcome = run_step(sandbox, tmp_path, params)
    assert outcome["error"] is None, outcome["log"]
    result = outcome["result"]
    assert (result["outcome"], result["action"]) == ("created", "set_ownership")
    written = sandbox.bitbucket.read_file(WORKSPACE, "payments", result["branch"], "port.yml")
    assert written is not None
    assert yaml.safe_load(written) == [
        {
            "identifier": "payments",
            "blueprint": "service",
            "properties": {"tier": "gold", "onCall": True, "sloTarget": 99.5},
            "relations": {"owners": ["platform", "sre"]},
        }
    ]
    assert sandbox.port.runs["r_e2e"]["status"] == "SUCCESS"


def test_a_wrong_enum_through_the_step_fails_the_build_and_the_run(sandbox: Sandbox, tmp_path: Path) -> None:
    params = {
        "action": "set_ownership",
        "entity": "payments",
        "repoUrl": f"{sandbox.bitbucket_web_url}/{WORKSPACE}/payments",
        "runId": "r_e2e",
        "values": {"owners": ["platform"], "tier": "platinum"},
        "command": str(Path(sys.executable).parent / "port-gitops"),
    }
    outcome = run_step(sandbox, tmp_path, params)
    assert outcome["error"] is not None and "tier: 'platinum' is not allowed" in outcome["error"]
    assert sandbox.port.runs["r_e2e"]["status"] == "FAILURE"
    assert (
        sandbox.bitbucket.read_file(WORKSPACE, "payments", "port/set_ownership-payments", "port.yml") is None
    )
