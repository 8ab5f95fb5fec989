"""Hostile payloads end to end, once per flavour: refused before any request, or shown only as data."""

from __future__ import annotations

import subprocess
from typing import Iterator

import pytest
import yaml
from enrichkit import FLAVOURS, Enricher, payload
from test_markdown import HOSTILE_RUN_ID, outside_spans, spans

from port_gitops.enrich import default_branch_name
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        yield sandbox


def commit_message(sb: Sandbox, ex: Example, ref: str) -> str:
    return subprocess.run(
        ["git", "log", "-1", "--format=%B", ref],
        cwd=sb.scm.git_dir(ex.workspace, ex.slug),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_hostile_run_id_is_refused_before_any_request(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    # issue 12 B1: the branch, commit and PR were written (the description carrying the attacker's
    # heading, link and image) and only then exit 3.
    sb.port.create_run(HOSTILE_RUN_ID)
    run = enrich(payload(example, port_context={"runId": HOSTILE_RUN_ID}))
    assert run.code == 3, run.stderr
    assert run.result["error"].startswith("port_context.runId: ")
    assert "expected a Port run id" in run.result["error"]
    assert "\n" not in run.result["error"]
    assert sb.scm.requests == [], "no SCM request before every input is valid"
    assert sb.port.requests == [], "an id that is not Port's is never a URL path, nor reported to"
    assert run.result["port_run"]["id"] is None and run.result["port_run"]["reported"] is False
    assert sb.scm.repository(example.workspace, example.slug).pull_requests == {}


@pytest.mark.parametrize(
    "run_id", ["r_", "r_" + "a" * 65, "R_abc", "x_abc", "r_a.b", "r_a/b", "r_a b", "r_é", " r_abc"]
)
def test_run_id_outside_ports_shape_is_exit_3(
    sb: Sandbox, example: Example, enrich: Enricher, run_id: str
) -> None:
    run = enrich(payload(example, port_context={"runId": run_id}))
    assert run.code == 3 and "port_context.runId" in run.result["error"]
    assert sb.scm.requests == []


def test_hostile_values_are_data_in_title_description_and_commit_message(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    # Valid Port identifiers may still hold mentions, autolinks, emphasis and backslashes.
    entity, domain = "@admin_https://evil.example/x.png", "@channel"
    run = enrich(payload(example, domain=domain, port_context={"entity": entity}), BUILD_URL=None)
    assert run.code == 0, run.stderr
    [pr] = sb.scm.repository(example.workspace, example.slug).pull_requests.values()
    message = commit_message(sb, example, run.result["branch"])
    for text in (pr.title, pr.description, message):
        shown = spans(text)
        assert any(entity in span for span in shown)
        # Outside code spans only our own words remain: no payload text for Markdown to interpret.
        rest = outside_spans(text)
        assert "@" not in rest and "evil" not in rest and "http" not in rest, text
    assert domain in spans(pr.title)
    assert run.result["port_run"]["id"] in spans(pr.description)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/acme/payments",
        "http://127.0.0.1:abc/acme/payments",
        "http://[::1/acme/payments",
    ],
)
def test_malformed_repository_url_is_exit_3_naming_the_field(
    sb: Sandbox, example: Example, enrich: Enricher, url: str
) -> None:
    # issue 12 B4: was `unexpected ValueError`, exit 1.
    run = enrich(payload(example, port_context={"repo_url": url}))
    assert run.code == 3, run.result["error"]
    assert (
        run.result["error"].startswith("port_context.repo_url: ")
        and "is not a valid URL" in run.result["error"]
    )
    assert sb.scm.requests == []
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"


COLLIDING = [
    ("svc+a", "svc@a"),
    ("x:y", "x-y"),
    ("café", "caf"),
    ("a..b", "a.b"),
    ("x.lock", "x-lock"),
    ("-x", "x"),
]
LONG = [("a" * 1000, "a" * 999), ("é" * 300, "b" * 250)]


@pytest.mark.parametrize(
    "pair", COLLIDING + LONG + [("acme/orders", "acme-orders"), ("svc-a-2287e9e5", "svc+a")]
)
def test_branch_names_are_distinct_valid_refs(pair: tuple[str, str]) -> None:
    # issue 12 B2: both identifiers of each pair mapped to one branch, and 250+ characters gave HTTP 500.
    names = [default_branch_name(identifier) for identifier in pair]
    assert names[0] != names[1]
    for name in names:
        assert name.startswith("port/enrich-") and len(name.encode()) <= 255
        checked = subprocess.run(
            ["git", "check-ref-format", "--branch", name], check=False, capture_output=True, text=True
        )
        assert checked.returncode == 0 and checked.stdout.strip() == name, checked.stderr
        assert default_branch_name(pair[0]) == names[0], "stable"


def test_untouched_identifiers_keep_their_plain_branch_name() -> None:
    assert default_branch_name("payments") == "port/enrich-payments"
    assert default_branch_name("x", prefix="port/scaffold-") == "port/scaffold-x"
    assert default_branch_name("svc+a").startswith("port/enrich-svc-a-")


@pytest.mark.parametrize("pair", COLLIDING)
def test_colliding_identifiers_get_two_branches_and_two_prs(
    sb: Sandbox, example: Example, enrich: Enricher, pair: tuple[str, str]
) -> None:
    runs = []
    for number, identifier in enumerate(pair):
        sb.port.create_run(f"r_pair{number}")
        runs.append(enrich(payload(example, port_context={"entity": identifier, "runId": f"r_pair{number}"})))
        assert runs[-1].code == 0 and runs[-1].result["outcome"] == "created", runs[-1].stderr
    assert runs[0].result["branch"] != runs[1].result["branch"]
    assert runs[0].result["pull_request"] != runs[1].result["pull_request"]
    prs = [pr for pr in sb.scm.repository(example.workspace, example.slug).pull_requests.values()]
    assert sorted(pr.source for pr in prs) == sorted(run.result["branch"] for run in runs)
    for run, identifier in zip(runs, pair):
        text = sb.scm.read_file(example.workspace, example.slug, run.result["branch"], "port.yml")
        assert text is not None and identifier in yaml.safe_load(text.decode())[-1]["identifier"]


def test_a_1000_character_identifier_gets_a_valid_branch_and_pr(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    identifier = "s" * 1000
    run = enrich(payload(example, port_context={"entity": identifier}))
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    branch = run.result["branch"]
    assert len(branch) == 255 and sb.scm.branch_tip(example.workspace, example.slug, branch) is not None
    [pr] = sb.scm.repository(example.workspace, example.slug).pull_requests.values()
    assert pr.source == branch
    assert len(pr.title) <= 255 and "…" in pr.title, "GitLab refuses longer titles"
