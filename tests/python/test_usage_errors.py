"""Usage errors (argparse's and a bad boolean environment twin) are exit 2 with one line naming the flag
or variable, and `enrich` still writes its --result-file (the contract: every exit); nothing reaches Port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example


def _failed_result(path: Path, *needles: str) -> dict[str, object]:
    result = json.loads(path.read_text())
    assert result["outcome"] == "failed" and result["exit_code"] == 2
    assert all(needle in str(result["error"]) for needle in needles), result["error"]
    assert result["port_run"]["reported"] is False and result["port_run"]["status"] is None
    return dict(result)


@pytest.mark.parametrize("form", ["separate", "equals"])
def test_an_unknown_flag_is_exit_2_with_a_result_file(tmp_path: Path, form: str) -> None:
    result_file = tmp_path / "r.json"
    given = ["--result-file", str(result_file)] if form == "separate" else [f"--result-file={result_file}"]
    proc = run_cli("enrich", "--bogus", *given)
    assert proc.returncode == 2
    [line] = proc.stderr.decode().splitlines()
    assert line.startswith("port-gitops enrich: error: ") and "--bogus" in line and "--help" in line
    _failed_result(result_file, "--bogus")
    assert proc.stdout.decode().strip() == "failed (exit 2)"


def test_a_bad_value_is_exit_2_with_the_result_file_and_json(tmp_path: Path) -> None:
    result_file = tmp_path / "r.json"
    proc = run_cli("enrich", "--json", "--result-file", str(result_file), "--scm", "svn")
    assert proc.returncode == 2
    [line] = proc.stderr.decode().splitlines()
    assert "--scm" in line and "svn" in line
    result = _failed_result(result_file, "--scm")
    assert json.loads(proc.stdout) == result, "--json prints the same object"


def test_an_abbreviated_result_file_flag_is_honoured(tmp_path: Path) -> None:
    result_file = tmp_path / "r.json"
    proc = run_cli("enrich", "--result-fi", str(result_file), "--bogus")
    assert proc.returncode == 2
    _failed_result(result_file, "--bogus")


def test_a_usage_error_without_a_result_path_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("enrich", "--result-file", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.decode().splitlines()
    assert "--result-file" in line and "expected one argument" in line
    assert list(tmp_path.iterdir()) == []


def test_a_bad_boolean_twin_is_exit_2_naming_it_with_a_result_file(tmp_path: Path) -> None:
    with Sandbox() as sb:
        ex = seed_example(sb)
        body = tmp_path / "payload.json"
        body.write_text(json.dumps(ex.payload))
        result_file = tmp_path / "r.json"
        proc = run_cli(
            "enrich",
            "--payload",
            str(body),
            "--result-file",
            str(result_file),
            env={**sb.env(), "PORT_GITOPS_DRY_RUN": "maybe"},
        )
        assert proc.returncode == 2
        [line] = proc.stderr.decode().splitlines()
        assert line.startswith("port-gitops enrich: error: PORT_GITOPS_DRY_RUN ") and "'maybe'" in line
        _failed_result(result_file, "PORT_GITOPS_DRY_RUN")
        assert sb.port.requests == [] and sb.scm.requests == [], "nothing asked of Port or the SCM"


def test_another_commands_bad_twin_does_not_break_this_command() -> None:
    # PORT_GITOPS_DRAFT belongs to enrich: `render` and the top-level help do not read it.
    env = {"PORT_GITOPS_DRAFT": "maybe"}
    assert run_cli("--help", env=env).returncode == 0
    assert run_cli("render", "--help", env=env).returncode == 0
    proc = run_cli("enrich", "--dry-run", "--draft", env=env)
    assert proc.returncode != 2 or "PORT_GITOPS_DRAFT" not in proc.stderr.decode(), "the flag wins"
