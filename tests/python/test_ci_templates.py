"""The ready CI templates (templates/ci/): their shell steps, run by bash as GitHub Actions and GitLab CI
run them, against the sandbox, with the environment those runners would set.

Only the `run:` / `script:` / `after_script:` text of the files is executed (`uses:` steps are the
runner's: setup-python puts a Python on PATH, which the test's PATH already has). Expressions in `env:`
(`${{ ... }}`) and variables (`$CI_...`) are resolved from a table of what GitHub/GitLab would put there;
an expression the table does not know fails the test, so the files cannot grow one unnoticed. The
install step runs for real (pip install of python/ into a fresh virtual environment; its dependencies
come from the test's own environment). Until the GitHub and GitLab flavours of the sandbox exist, the
steps run against Bitbucket Cloud with `--scm github|gitlab` swapped for it, which proves the step logic
(payload, result file, closing the run exactly once) the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from conftest import REPO

from port_gitops import resources
from port_gitops.sandbox import FLAVOURS, Sandbox
from port_gitops.sandbox.example import Example, seed_example

GITHUB_WORKFLOW = REPO / "templates" / "ci" / "github" / "port-enrich-service.yml"
GITLAB_PIPELINE = REPO / "templates" / "ci" / "gitlab" / ".gitlab-ci.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CANCEL_OR_FAILURE = "cancelled() || failure()"
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with port-gitops installed by the workflow's own install step."""
    root = tmp_path_factory.mktemp("runner-python")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    venv_site = next((root / "venv" / "lib").glob("python*/site-packages"))
    # The dependencies are the test environment's (no index needed for them); port-gitops itself is
    # built from a copy of python/ so that no build output lands in the repository.
    (venv_site / "test-dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    source = root / "source"
    shutil.copytree(
        REPO / "python", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    step = _github_steps()["Install port-gitops"]
    env = {**_base_env(root / "venv" / "bin"), "PIP_NO_DEPS": "1"}
    env.update(_resolve(step.get("env", {}), {"vars.PORT_GITOPS_SOURCE": str(source)}))
    proc = _bash(step["run"], env)
    assert proc.returncode == 0, proc.stderr
    assert (root / "venv" / "bin" / "port-gitops").exists()
    return root / "venv" / "bin"


def _base_env(bin_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "NO_PROXY", "no_proxy", "TMPDIR")}
    return {**keep, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CI": "true"}


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A step's script as the runners run it (`bash --noprofile --norc -eo pipefail`)."""
    return subprocess.run([*BASH, script], env=env, capture_output=True, text=True, timeout=600, check=False)


def _github_steps() -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(GITHUB_WORKFLOW.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    return {step.get("name", step.get("uses")): step for step in job["steps"]}


def _resolve(env: dict[str, Any], table: dict[str, str]) -> dict[str, str]:
    """`env:` values with every `${{ expr }}` replaced as GitHub would; unknown expressions fail."""

    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr in table:
            return table[expr]
        if expr.startswith(("secrets.", "vars.")):
            return ""  # an unset secret or variable is the empty string
        raise AssertionError(f"the test does not know what GitHub puts in ${{{{ {expr} }}}}")

    return {name: EXPRESSION.sub(value, str(text)) for name, text in env.items()}


@dataclass
class Job:
    """The outcome of one simulated job: each step's exit status and output, the job's status."""

    status: str = "success"
    steps: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def output(self) -> str:
        return "".join(p.stdout + p.stderr for p in self.steps.values())


def _sandbox(scm: str) -> Sandbox:
    return Sandbox(flavour=scm if scm in FLAVOURS else "bitbucket-cloud")


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """The GitHub sandbox (Bitbucket Cloud standing in until it exists)."""
    with _sandbox("github") as sandbox:
        yield sandbox


@pytest.fixture
def gl_sb() -> Iterator[Sandbox]:
    """The GitLab sandbox (Bitbucket Cloud standing in until it exists)."""
    with _sandbox("gitlab") as sandbox:
        yield sandbox


def _stand_in(script: str, sb: Sandbox, scm: str) -> str:
    """The script as written when the sandbox plays `scm`, else with Bitbucket Cloud standing in."""
    return script if sb.flavour == scm else script.replace(f"--scm {scm}", f"--scm {sb.flavour}")


def _status_writes(sb: Sandbox, run_id: str) -> list[dict[str, Any]]:
    """Every request that tried to give the run its final status (there must be exactly one)."""
    writes = []
    for r in sb.port.requests:
        body = r.json() if r.method in ("PATCH", "POST") and run_id in r.path else None
        if isinstance(body, dict) and (body.get("status") or body.get("terminationStatus")):
            writes.append(body)
    return writes


class GitHubRunner:
    def __init__(self, sb: Sandbox, bin_dir: Path, tmp: Path) -> None:
        self.sb, self.bin_dir, self.tmp = sb, bin_dir, tmp
        self.steps = _github_steps()
        workflow = yaml.safe_load(GITHUB_WORKFLOW.read_text(encoding="utf-8"))
        (self.job,) = workflow["jobs"].values()

    def env(
        self, step: dict[str, Any], inputs: dict[str, str], status: str, vars: dict[str, str]
    ) -> dict[str, str]:
        sb = self.sb
        runner = {  # what GitHub sets on every runner
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": sb.scm_url if sb.flavour == "github" else "https://api.github.com",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "acme/port-actions",
            "GITHUB_RUN_ID": "4242",
            "RUNNER_TEMP": str(self.tmp / "runner-temp"),
        }
        scm_secrets = {k: v for k, v in sb.env().items() if not k.startswith("PORT_")}
        table = {
            "github.server_url": sb.scm_web_url if sb.flavour == "github" else runner["GITHUB_SERVER_URL"],
            "github.repository": runner["GITHUB_REPOSITORY"],
            "github.run_id": runner["GITHUB_RUN_ID"],
            "github.repository_owner": sb.workspace,
            "toJSON(inputs)": json.dumps(inputs, indent=2),
            "job.status": status,
            "secrets.PORT_CLIENT_ID": sb.port.client_id,
            "secrets.PORT_CLIENT_SECRET": sb.port.client_secret,
            "secrets.PORT_GITOPS_GITHUB_TOKEN": scm_secrets.get("GITHUB_TOKEN", ""),
            "vars.PORT_BASE_URL": sb.port.url,
            **{f"vars.{k}": v for k, v in vars.items()},
        }
        env = (
            {**_base_env(self.bin_dir), **runner, **sb.env()}
            if sb.flavour != "github"
            else {
                **_base_env(self.bin_dir),
                **runner,
                "NO_PROXY": sb.env()["NO_PROXY"],
                "no_proxy": sb.env()["no_proxy"],
            }
        )
        for name in ("PORT_CLIENT_ID", "PORT_CLIENT_SECRET", "PORT_BASE_URL", "PORT_GITOPS_SCM"):
            env.pop(name, None)  # only what the workflow itself passes (from secrets and vars) counts
        env.update(_resolve(self.job.get("env", {}), table))
        env.update(_resolve(step.get("env", {}), table))
        return env

    def run(
        self,
        inputs: dict[str, str],
        *,
        cancel_during: Optional[str] = None,
        vars: Optional[dict[str, str]] = None,
    ) -> Job:
        job = Job()
        for name, step in self.steps.items():
            if "run" not in step or name == "Install port-gitops":
                continue  # `uses:` steps belong to the runner; the install step ran in `installed`
            condition = step.get("if")
            assert condition in (None, CANCEL_OR_FAILURE), f"{name}: a condition the test does not model"
            if (condition is None) != (job.status == "success"):
                continue
            assert "${{" not in step["run"], f"{name}: an expression inside a shell script"
            script = _stand_in(step["run"], self.sb, "github")
            env = self.env(step, inputs, job.status, vars or {})
            if name == cancel_during:
                job.steps[name] = _interrupted([*BASH, script], env, self.sb)
                job.status = "cancelled"
                continue
            job.steps[name] = _bash(script, env)
            if job.steps[name].returncode != 0 and job.status == "success":
                job.status = "failure"
        return job


def _interrupted(
    argv: list[str], env: dict[str, str], sb: Sandbox, how: signal.Signals = signal.SIGINT
) -> subprocess.CompletedProcess[str]:
    """Cancel the step as a runner does (GitHub: SIGINT, GitLab: SIGTERM to its process group) once
    the tool has begun writing."""
    writes = r"^/(?!graphql$)"  # GitHub's GraphQL query is a POST that only reads
    hanging = [sb.scm.faults.add(method, writes, delay=20.0, times=5) for method in ("POST", "PUT")]
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not any(fault.fired for fault in hanging):  # the first write has arrived and hangs
        assert time.monotonic() < deadline and process.poll() is None, (
            "the tool never reached its first write"
        )
        time.sleep(0.05)
    os.killpg(process.pid, how)
    out, err = process.communicate(timeout=60)
    sb.scm.faults.clear()
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _github_inputs(example: Example, **changes: str) -> dict[str, str]:
    """workflow_dispatch inputs as Port's GitHub backend sends the action's body: strings, with
    `port_context` a JSON string."""
    body = {**example.payload, **changes}
    return {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in body.items()}


@pytest.fixture
def github(sb: Sandbox, installed: Path, tmp_path: Path) -> GitHubRunner:
    return GitHubRunner(sb, installed, tmp_path)


def test_github_workflow_enriches_and_the_tool_reports_once(sb: Sandbox, github: GitHubRunner) -> None:
    example = seed_example(sb, run_id="r_gh_ok")
    job = github.run(_github_inputs(example))
    assert job.status == "success", job.output()
    assert "Close the Port run if port-gitops could not" not in job.steps
    run = sb.port.runs["r_gh_ok"]
    assert run["status"] == "SUCCESS" and len(_status_writes(sb, "r_gh_ok")) == 1
    server = sb.scm_web_url if sb.flavour == "github" else "https://github.com"  # github.server_url
    assert f"{server}/acme/port-actions/actions/runs/4242" in run["link"], "BUILD_URL is the run page"
    assert len(sb.scm.pull_requests(example.workspace, example.slug)) == 1


def test_github_workflow_a_failure_the_tool_reported_is_not_reported_again(
    sb: Sandbox, github: GitHubRunner
) -> None:
    example = seed_example(sb, run_id="r_gh_bad")
    job = github.run(_github_inputs(example, lifecycle="Prod"))
    assert job.status == "failure"
    assert job.steps["Enrich the service"].returncode == 3
    closing = job.steps["Close the Port run if port-gitops could not"]
    assert closing.returncode == 0 and "nothing to close" in closing.stderr
    assert sb.port.runs["r_gh_bad"]["status"] == "FAILURE" and len(_status_writes(sb, "r_gh_bad")) == 1


def test_github_workflow_cancelled_mid_way_closes_the_run_once(sb: Sandbox, github: GitHubRunner) -> None:
    example = seed_example(sb, run_id="r_gh_cancel")
    job = github.run(_github_inputs(example), cancel_during="Enrich the service")
    assert job.status == "cancelled"
    assert job.steps["Enrich the service"].returncode != 0
    closing = job.steps["Close the Port run if port-gitops could not"]
    assert closing.returncode == 0, closing.stderr
    run = sb.port.runs["r_gh_cancel"]
    assert run["status"] == "FAILURE" and len(_status_writes(sb, "r_gh_cancel")) == 1
    assert "The GitHub workflow run ended (cancelled) before port-gitops finished" in run["logs"]


def test_github_workflow_hostile_inputs_stay_data(sb: Sandbox, github: GitHubRunner, tmp_path: Path) -> None:
    example = seed_example(sb, run_id="r_gh_hostile")
    marker = tmp_path / "pwned"
    hostile = f"$(touch {marker})`touch {marker}`'\"; touch {marker}"
    job = github.run(_github_inputs(example, domain=hostile, type=hostile))
    assert not marker.exists()
    assert job.steps["Enrich the service"].returncode == 3, job.output()
    payload = json.loads((tmp_path / "runner-temp" / "port-gitops" / "payload.json").read_text())
    assert payload["domain"] == hostile and payload["port_context"]["runId"] == "r_gh_hostile"
    assert len(_status_writes(sb, "r_gh_hostile")) == 1
    assert sb.port.client_secret not in job.output()


def test_github_workflow_without_a_source_to_install_from_says_so(
    github: GitHubRunner, tmp_path: Path
) -> None:
    step = github.steps["Install port-gitops"]
    env = {**_base_env(Path(sys.executable).parent), **_resolve(step["env"], {})}
    proc = _bash(step["run"], env)
    assert proc.returncode == 2 and "set the repository variable PORT_GITOPS_SOURCE" in proc.stdout


def test_github_workflow_declares_the_inputs_of_the_actions_body() -> None:
    workflow = yaml.safe_load(GITHUB_WORKFLOW.read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    declared = set(on["workflow_dispatch"]["inputs"])
    body = json.loads(resources.read_text(resources.ACTION))
    assert declared == set(body["invocationMethod"]["body"]), "Port dispatches exactly the body's keys"
    assert workflow["permissions"] == {"contents": "read"}, "the tool writes with its own token only"


# ---- GitLab CI ------------------------------------------------------------------------------------


class GitLabRunner:
    """One `enrich-service` job: `script` lines in one bash (the job fails at the first failing line),
    then `after_script` in a new bash with CI_JOB_STATUS, as GitLab Runner does."""

    def __init__(self, sb: Sandbox, bin_dir: Path, tmp: Path) -> None:
        self.sb, self.bin_dir, self.tmp = sb, bin_dir, tmp
        pipeline = yaml.safe_load(GITLAB_PIPELINE.read_text(encoding="utf-8"))
        self.job = pipeline["enrich-service"]

    def env(self, payload: bytes) -> dict[str, str]:
        sb = self.sb
        sandbox = sb.env()
        (self.tmp / "project").mkdir(exist_ok=True)
        trigger_payload = self.tmp / "TRIGGER_PAYLOAD"  # GitLab hands the webhook's body over as a file
        trigger_payload.write_bytes(payload)
        predefined = {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "trigger",
            "CI_SERVER_URL": sandbox.get("GITLAB_URL", "https://gitlab.example.com"),
            "CI_PROJECT_ROOT_NAMESPACE": sb.workspace,
            "CI_JOB_URL": "https://gitlab.example.com/acme/port-pipelines/-/jobs/77",
            "CI_PROJECT_DIR": str(self.tmp / "project"),
            "TRIGGER_PAYLOAD": str(trigger_payload),
        }
        ci_variables = {  # the project's CI/CD variables
            "PORT_CLIENT_ID": sb.port.client_id,
            "PORT_CLIENT_SECRET": sb.port.client_secret,
            "PORT_BASE_URL": sb.port.url,
            "PORT_GITOPS_SOURCE": "port-gitops",  # installed already: pip answers "already satisfied"
            "PIP_NO_INDEX": "1",
            "PIP_NO_DEPS": "1",  # its dependencies are the test environment's
            **({"GITLAB_TOKEN": sandbox["GITLAB_TOKEN"]} if "GITLAB_TOKEN" in sandbox else {}),
        }
        env = {**_base_env(self.bin_dir), **predefined, **ci_variables}
        if sb.flavour != "gitlab":  # the stand-in SCM's own settings and credentials
            env.update({k: v for k, v in sandbox.items() if not k.startswith("PORT_")})
        for name, value in self.job.get("variables", {}).items():
            env[name] = re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: env.get(m.group(1), ""), str(value))
        return env

    def run(self, payload: bytes, *, cancel: bool = False) -> Job:
        job = Job()
        env = self.env(payload)
        script = "\n".join(_stand_in(line, self.sb, "gitlab") for line in self.job["script"])
        if cancel:
            job.steps["script"] = _interrupted([*BASH, script], env, self.sb, signal.SIGTERM)
            job.status = "canceled"
        else:
            job.steps["script"] = _bash(script, env)
            job.status = "success" if job.steps["script"].returncode == 0 else "failed"
        after = "\n".join(self.job["after_script"])
        job.steps["after_script"] = _bash(after, {**env, "CI_JOB_STATUS": job.status})
        return job


@pytest.fixture
def gitlab(gl_sb: Sandbox, installed: Path, tmp_path: Path) -> GitLabRunner:
    return GitLabRunner(gl_sb, installed, tmp_path)


def test_gitlab_pipeline_enriches_and_the_tool_reports_once(gl_sb: Sandbox, gitlab: GitLabRunner) -> None:
    example = seed_example(gl_sb, run_id="r_gl_ok")
    job = gitlab.run(json.dumps(example.payload).encode())
    assert job.status == "success", job.output()
    assert (
        job.steps["after_script"].returncode == 0 and "nothing to close" in job.steps["after_script"].stderr
    )
    run = gl_sb.port.runs["r_gl_ok"]
    assert run["status"] == "SUCCESS" and len(_status_writes(gl_sb, "r_gl_ok")) == 1
    assert len(gl_sb.scm.pull_requests(example.workspace, example.slug)) == 1


def test_gitlab_pipeline_a_failure_the_tool_reported_is_not_reported_again(
    gl_sb: Sandbox, gitlab: GitLabRunner
) -> None:
    example = seed_example(gl_sb, run_id="r_gl_bad")
    job = gitlab.run(json.dumps({**example.payload, "type": "mainframe"}).encode())
    assert job.status == "failed"
    assert gl_sb.port.runs["r_gl_bad"]["status"] == "FAILURE" and len(_status_writes(gl_sb, "r_gl_bad")) == 1


def test_gitlab_pipeline_cancelled_mid_way_closes_the_run_once(gl_sb: Sandbox, gitlab: GitLabRunner) -> None:
    example = seed_example(gl_sb, run_id="r_gl_cancel")
    job = gitlab.run(json.dumps(example.payload).encode(), cancel=True)
    assert job.steps["after_script"].returncode == 0, job.steps["after_script"].stderr
    run = gl_sb.port.runs["r_gl_cancel"]
    assert run["status"] == "FAILURE" and len(_status_writes(gl_sb, "r_gl_cancel")) == 1
    assert "The GitLab job ended (canceled) before port-gitops finished" in run["logs"]


def test_gitlab_pipeline_hostile_payload_stays_data(
    gl_sb: Sandbox, gitlab: GitLabRunner, tmp_path: Path
) -> None:
    example = seed_example(gl_sb, run_id="r_gl_hostile")
    marker = tmp_path / "pwned"
    hostile = f"$(touch {marker})`touch {marker}`'\"; touch {marker}"
    job = gitlab.run(json.dumps({**example.payload, "domain": hostile}).encode())
    assert job.status == "failed" and not marker.exists()
    assert len(_status_writes(gl_sb, "r_gl_hostile")) == 1
    unreadable = gitlab.run(b"{not json")  # no run id can be known: nothing to close, nothing crashes
    assert unreadable.steps["after_script"].returncode == 0
    assert "no Port run id in the payload" in unreadable.steps["after_script"].stdout


def test_gitlab_pipeline_runs_only_for_ports_trigger() -> None:
    pipeline = yaml.safe_load(GITLAB_PIPELINE.read_text(encoding="utf-8"))
    assert pipeline["workflow"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "trigger"'}]
    assert not any("jq" in line or "yq" in line for line in pipeline["enrich-service"]["script"])


def test_github_workflow_takes_secrets_only_into_step_environments() -> None:
    workflow = yaml.safe_load(GITHUB_WORKFLOW.read_text(encoding="utf-8"))
    found: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, str(key)))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, str(index)))
        elif isinstance(node, str) and "secrets." in node:
            found.append(path)

    walk(workflow, ())
    assert found, "the workflow reads its credentials from secrets"
    assert all(path[-2] == "env" and path[-4] == "steps" for path in found), found


def test_github_workflow_uses_contexts_only_where_github_offers_them() -> None:
    # GitHub's context availability: a job's `env` has no `runner`, `job` or `steps` context.
    workflow = yaml.safe_load(GITHUB_WORKFLOW.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    job_level = {"github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"}
    for value in job.get("env", {}).values():
        for expr in EXPRESSION.findall(str(value)):
            assert re.match(r"[A-Za-z]+", expr).group(0) in job_level, expr  # type: ignore[union-attr]
