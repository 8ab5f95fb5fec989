"""`port-gitops vars` run as a user (or a Jenkinsfile) runs it."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

PORT_BODY = {
    "port_context": {"entity": "svc", "repo_url": "https://bitbucket.org/ws/svc", "runId": "r_1"},
    "domain": "payments",
    "type": "backend",
    "lifecycle": "Production",
}


def write(path: Path, content: Any) -> str:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def cli_command() -> str:
    exe = shutil.which("port-gitops", path=str(Path(sys.executable).parent))
    return shlex.quote(exe) if exe else f"{shlex.quote(sys.executable)} -m port_gitops"


def test_json_output_with_the_bundled_mapping(tmp_path: Path):
    payload = write(tmp_path / "payload.json", PORT_BODY)
    done = run_cli("vars", "--payload", payload, "--header", "X-Port-Signature: v1,abc", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["triggered"] is True
    assert result["variables"]["ENTITY_IDENTIFIER"] == "svc"
    assert result["variables"]["RUN_ID"] == "r_1"
    assert result["variables"]["PORT_PAYLOAD"] == Path(payload).read_text(encoding="utf-8")
    assert result["variables"]["x_port_signature"] == "v1,abc"
    assert list(result["variables"]) == sorted(result["variables"])


HOSTILE = {
    "newline": "first\nsecond\n",
    "quotes": "it's \"quoted\" ''",
    "substitution": "$(touch pwned-by-substitution)",
    "backticks": "`touch pwned-by-backticks`",
    "expansion": "${HOME} $HOME \\ \\n;|&<> *",
}


def test_shell_output_evaluates_to_the_exact_values_and_runs_nothing(tmp_path: Path):
    names = sorted(HOSTILE)
    write(tmp_path / "gwt.json", {"genericVariables": [{"key": n.upper(), "value": f"$.{n}"} for n in names]})
    write(tmp_path / "payload.json", HOSTILE)
    show = "; ".join(f'printf "%s|" "${n.upper()}"' for n in names)
    script = f'eval "$({cli_command()} vars --trigger gwt.json --payload payload.json)"; {show}'
    done = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "".join(f"{HOSTILE[n]}|" for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gwt.json", "payload.json"]  # nothing ran


def test_names_that_are_not_shell_names_are_left_out_and_listed(tmp_path: Path):
    trigger = write(tmp_path / "gwt.json", {"genericVariables": [{"key": "V", "value": "$.o"}]})
    payload = write(tmp_path / "payload.json", {"o": {"dot.key": "1", "ok": "2", "nul": "a\u0000b"}})
    done = run_cli("vars", "--trigger", trigger, "--payload", payload)
    assert done.returncode == 0
    assert done.stdout.decode().splitlines() == [
        'V=\'{"dot.key":"1","ok":"2","nul":"a\\u0000b"}\'',
        "V_ok='2'",
    ]
    assert '"V_dot.key"' in done.stderr.decode()
    assert '"V_nul"' in done.stderr.decode()


def test_payload_from_stdin_and_repeated_headers_and_params(tmp_path: Path):
    trigger = write(
        tmp_path / "gwt.yml",
        "genericVariables: [{key: ref, value: $.ref}]\n"
        "genericHeaderVariables: [{key: X-Event}]\n"
        "genericRequestVariables: [{key: env}]\n",
    )
    done = run_cli(
        "vars", "--trigger", trigger, "--payload", "-", "--json",
        "--header", "X-Event: push", "--header", "x-event:  ping ",
        "--param", "env=dev", "--param", "env=prod=x",
        stdin=b'{"ref": "refs/heads/main",}',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["variables"] == {
        "env_0": "dev",
        "env_1": "prod=x",
        "ref": "refs/heads/main",
        "x_event": "push",
        "x_event_0": "push",
        "x_event_1": "ping",
    }


def test_not_triggered_still_exits_zero(tmp_path: Path):
    trigger = write(
        tmp_path / "gwt.json",
        {
            "genericVariables": [{"key": "ref", "value": "$.ref"}],
            "regexpFilterText": "$ref",
            "regexpFilterExpression": "^refs/heads/main$",
        },
    )
    payload = write(tmp_path / "payload.json", {"ref": "refs/heads/dev"})
    done = run_cli("vars", "--trigger", trigger, "--payload", payload, "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"triggered": False, "variables": {"ref": "refs/heads/dev"}}


def test_empty_when_missing_and_the_trigger_environment_twin(tmp_path: Path):
    trigger = write(tmp_path / "gwt.json", {"genericVariables": [{"key": "GONE", "value": "$.gone"}]})
    payload = write(tmp_path / "payload.json", {"here": 1})
    env = {"PORT_GITOPS_TRIGGER": trigger}
    assert json.loads(run_cli("vars", "--payload", payload, "--json", env=env).stdout)["variables"] == {}
    done = run_cli("vars", "--payload", payload, "--empty-when-missing", env=env)
    assert done.stdout.decode() == "GONE=''\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--header", "no colon"], "--header 'no colon': expected 'Name: value'"),
        (["--param", "novalue"], "--param 'novalue': expected name=value"),
        (["--payload", "missing.json"], "--payload: cannot read 'missing.json'"),
        (
            ["--trigger", "xpath.json"],
            "genericVariables[0].expressionType: XPath is not supported; use JSONPath",
        ),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str):
    write(
        tmp_path / "xpath.json",
        {"genericVariables": [{"key": "A", "value": "/a", "expressionType": "XPath"}]},
    )
    done = run_cli("vars", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr.decode()


def test_a_body_jenkins_might_read_differently_exits_3(tmp_path: Path):
    payload = write(tmp_path / "payload.json", "{'single': 'quotes'}")
    done = run_cli("vars", "--payload", payload)
    assert done.returncode == 3
    assert done.stderr.decode().startswith("port-gitops vars: error: payload: not standard JSON")


def test_help_has_examples():
    done = run_cli("vars", "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    assert "examples:" in text
    assert "--empty-when-missing" in text
    assert "PORT_GITOPS_TRIGGER" in text
