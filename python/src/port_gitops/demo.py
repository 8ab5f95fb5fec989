"""`port-gitops demo`: the real command line against the embedded sandbox, narrated.

The tool runs as a subprocess with the sandbox's environment, exactly as a user (or Jenkins) runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping, Optional


def _say(text: str = "") -> None:
    print(text, flush=True)


def _enrich(env: Mapping[str, str], body: Mapping[str, Any], workdir: Path) -> Dict[str, Any]:
    payload_file = workdir / f"{body['port_context']['runId']}.json"
    payload_file.write_text(json.dumps(body), encoding="utf-8")
    _say(f"$ port-gitops enrich --payload {payload_file.name} --json")
    proc = subprocess.run(
        [sys.executable, "-m", "port_gitops", "enrich", "--payload", str(payload_file), "--json"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stderr.splitlines():
        _say("  " + line)
    if not proc.stdout.strip():
        raise SystemExit(f"demo: enrich printed no result (exit {proc.returncode})")
    result: Dict[str, Any] = json.loads(proc.stdout)
    _say(f"  exit {proc.returncode}: outcome {result['outcome']}")
    return result


def _show_run(sandbox: Any, run_id: str) -> None:
    run = sandbox.port.runs[run_id]
    _say(f"Port run {run_id} log:")
    for line in run["logs"]:
        _say(f"  - {line}")
    _say(f"Port run {run_id}: {run['status']} ({run.get('statusLabel')}), links {run.get('link')}")


def run_demo(flavour: str, action: Optional[str] = None) -> int:
    from port_gitops.sandbox import Sandbox
    from port_gitops.sandbox.example import seed_example

    with Sandbox(flavour=flavour) as sb, tempfile.TemporaryDirectory(prefix="port-gitops-demo-") as tmp:
        workdir = Path(tmp)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PORT_", "BITBUCKET_", "GITHUB_", "GITLAB_"))
        }
        env.update(sb.env())
        example = seed_example(sb, run_id="r_demo_1")
        payload = example.payload if action is None else _action_payload(example.payload, action)
        _say(f"Sandbox: {flavour} at {sb.scm_url}, Port at {sb.port_url}")
        _say(
            f"Seeded {example.workspace}/{example.slug}: its port.yml already describes another entity, "
            "with comments."
        )
        _say()
        if action is not None:
            _say(f"Action {action}: the body Port sends for it (actions/{action}/example.json):")
            _say("  " + json.dumps(payload))
        first = _enrich(env, payload, workdir)
        if first["outcome"] == "failed":
            return 1
        pr = first["pull_request"] or {}
        _say()
        _say(f"Pull request #{pr.get('id')}: {pr.get('url')}")
        _say(f"port.yml diff {first['base']} -> {first['branch']}:")
        diff = subprocess.run(
            ["git", "diff", first["base"], first["branch"], "--", "port.yml"],
            cwd=sb.bitbucket.git_dir(example.workspace, example.slug),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in diff.splitlines():
            _say("  " + line)
        _show_run(sb, example.run_id)
        _say()
        _say("Running the same request again (a new Port run):")
        second_payload = json.loads(json.dumps(payload))
        second_payload["port_context"]["runId"] = "r_demo_2"
        sb.port.create_run("r_demo_2")
        second = _enrich(env, second_payload, workdir)
        _show_run(sb, "r_demo_2")
        ok = first["outcome"] == "created" and second["outcome"] == "unchanged"
        _say()
        _say("demo: OK" if ok else "demo: unexpected outcomes")
        return 0 if ok else 1


def _action_payload(guide: Mapping[str, Any], action: str) -> Dict[str, Any]:
    """The body Port sends for a bundled action: the example's port_context, the action's example inputs."""
    from port_gitops import actions, resources

    actions.check_identifier(action, "--action")
    inputs = json.loads(resources.read_text(actions.file_name(action, "example.json")))
    return {"port_context": {**guide["port_context"], "action": action}, **inputs}
