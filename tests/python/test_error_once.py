"""A failing `enrich` says its reason once in a console: the stderr `error:` line is the interface; the
stdout summary gives only the outcome and the exit code (a Jenkins console shows both streams)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli
from enrichkit import payload

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example


def test_a_failing_enrich_prints_its_error_exactly_once(tmp_path: Path) -> None:
    with Sandbox() as sb:
        ex = seed_example(sb)
        body = tmp_path / "payload.json"
        body.write_text(
            json.dumps(payload(ex, port_context={"repo_url": "https://bitbucket.org/other/payments"}))
        )
        result_file = tmp_path / "result.json"
        proc = run_cli("enrich", "--payload", str(body), "--result-file", str(result_file), env=sb.env())
    assert proc.returncode == 3, proc.stderr.decode()
    error = json.loads(result_file.read_text())["error"]
    assert "port_context.repo_url" in error
    stdout, stderr = proc.stdout.decode(), proc.stderr.decode()
    assert (stdout + stderr).count(error) == 1, (stdout, stderr)
    assert f"port-gitops enrich: error: {error}" in stderr.splitlines()
    assert stdout.strip() == "failed (exit 3)"
