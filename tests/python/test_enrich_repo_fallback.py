"""A payload without `repo_url`: the repository made from the owner setting and the entity is said, and a
404 on it says where the name came from and how to fix it (issue 12 D2; before, both were silent)."""

from __future__ import annotations

from typing import Iterator

import pytest
from enrichkit import FLAVOURS, Enricher, Run, payload

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example

OWNER_SETTING = {
    "bitbucket-cloud": "--workspace/BITBUCKET_WORKSPACE",
    "bitbucket-datacenter": "--project/BITBUCKET_PROJECT",
    "github": "--owner/GITHUB_OWNER",
    "gitlab": "--group/GITLAB_GROUP",
}


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        yield sandbox


def port_log(sb: Sandbox, run_id: str) -> list[str]:
    return [line for entry in sb.port.runs[run_id]["logs"] for line in entry.split("\n")]


def error_line(run: Run) -> str:
    return next(line for line in run.stderr.splitlines() if line.startswith("port-gitops enrich: error: "))


def test_an_empty_repo_url_is_said_in_the_progress_and_port_log(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(payload(example, port_context={"repo_url": ""}))
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    name = run.result["repository"]
    assert name.lower() == f"{example.workspace}/{example.slug}"
    note = (
        f"repository not given in the payload (port_context.repo_url empty); using {name} from "
        f"{OWNER_SETTING[sb.flavour]} and port_context.entity"
    )
    assert f"port-gitops: {note}" in run.stderr.splitlines()
    logs = port_log(sb, example.run_id)
    assert logs[0].startswith("started") and logs[1] == note


def test_a_given_repo_url_says_nothing_of_a_fallback(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    run = enrich(example.payload)
    assert run.code == 0 and "not given" not in run.stderr
    assert not any("not given" in line for line in port_log(sb, example.run_id))


def test_a_404_on_the_made_up_repository_says_where_the_name_came_from_and_the_fix(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(payload(example, port_context={"repo_url": "null", "entity": "ledger"}))
    assert run.code == 1 and run.result["outcome"] == "failed", run.stderr
    line = error_line(run)
    assert "/ledger" in line and run.result["error"] in line
    made = f"the name {run.result['repository']} was made from {OWNER_SETTING[sb.flavour]} and port_context.entity"
    assert (
        f"{made} because port_context.repo_url is empty: give the service blueprint the `url` property"
        in line
    )
    assert "{{ .entity.properties.url }}" in line
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"
    assert made in sb.port.runs[example.run_id]["summary"]


def test_a_404_on_a_repository_the_payload_named_gives_no_fallback_advice(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    url = sb.scm.repository_url(example.workspace, example.slug).replace(f"/{example.slug}", "/ledger")
    run = enrich(payload(example, port_context={"repo_url": url, "entity": "ledger"}))
    assert run.code == 1, run.stderr
    assert "was made from" not in error_line(run) and "`url` property" not in error_line(run)


def test_data_flags_without_repo_url_name_the_flag(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    args = ["--entity", "ledger", "--domain", "billing", "--type", "backend", "--lifecycle", "Production"]
    run = enrich(None, *args)
    assert run.code == 1, run.stderr
    assert "repository not given (--repo-url empty); using" in run.stderr
    assert error_line(run).endswith("because --repo-url is empty: pass the repository's URL as --repo-url")
