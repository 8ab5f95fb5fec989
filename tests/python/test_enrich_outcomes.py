"""The outcome table of `enrich`, end to end against the git-backed sandbox, once per SCM flavour."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from enrichkit import FLAVOURS, Enricher, payload

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import EXISTING_PORT_YML, Example, seed_example

BRANCH = "port/enrich-payments"


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        yield sandbox


def repo(sb: Sandbox, ex: Example) -> Any:
    return sb.bitbucket.repository(ex.workspace, ex.slug)


def open_prs(sb: Sandbox, ex: Example) -> list[Any]:
    return [pr for pr in repo(sb, ex).pull_requests.values() if pr.state == "OPEN"]


def port_yml(sb: Sandbox, ex: Example, ref: str) -> str:
    raw = sb.bitbucket.read_file(ex.workspace, ex.slug, ref, "port.yml")
    assert raw is not None
    return raw.decode()


def git(sb: Sandbox, ex: Example, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=sb.bitbucket.git_dir(ex.workspace, ex.slug),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def entity(text: str, identifier: str) -> dict[str, Any]:
    return next(e for e in yaml.safe_load(text) if e["identifier"] == identifier)


def test_first_run_creates_branch_commit_and_one_pr(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    base_tip = sb.bitbucket.branch_tip(example.workspace, example.slug, "main")
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    r = run.result
    assert (r["outcome"], r["branch"], r["base"], r["dry_run"]) == ("created", BRANCH, "main", False)
    assert r["commit"] == sb.bitbucket.branch_tip(example.workspace, example.slug, BRANCH)
    # One commit on top of the base tip, touching port.yml only.
    assert git(sb, example, "rev-list", "--parents", "-n", "1", BRANCH).split() == [r["commit"], base_tip]
    assert git(sb, example, "diff", "--name-only", "main", BRANCH).split() == ["port.yml"]
    text = port_yml(sb, example, BRANCH)
    assert text.startswith(EXISTING_PORT_YML), "every existing line, comments included, is kept"
    assert entity(text, "payments") == {
        "identifier": "payments",
        "blueprint": "service",
        "properties": {"type": "backend", "lifecycle": "Production"},
        "relations": {"domain": "billing"},
    }
    [pr] = open_prs(sb, example)
    assert (pr.source, pr.destination) == (BRANCH, "main")
    assert r["pull_request"]["id"] == pr.id and str(pr.id) in r["pull_request"]["url"]
    defaults = ["Dana Reviewer"] if sb.scm.has_default_reviewers else []
    assert [a.display_name for a in pr.reviewers] == defaults, "default reviewers are added"
    run_state = sb.port.runs[example.run_id]
    assert run_state["status"] == "SUCCESS" and run_state["statusLabel"] == "created"
    assert r["pull_request"]["url"] in run_state["link"]
    assert r["port_run"] == {"id": example.run_id, "status": "SUCCESS", "reported": True, "verified": False}
    logs = [line for entry in run_state["logs"] for line in entry.split("\n")]  # queued lines go together
    assert logs[0].startswith("started") and logs[-1].startswith("committed ")
    # What the closing lines say on stderr, the final status's summary says in Port.
    assert f"Pull request #{pr.id}: {r['pull_request']['url']}" in run_state["summary"]
    assert "Outcome: **created**" in run_state["summary"]


def test_same_payload_again_is_unchanged_and_writes_nothing(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    first = enrich(example.payload)
    sb.port.create_run("r_again")
    sb.bitbucket.clear()
    second = enrich(payload(example, port_context={"runId": "r_again"}))
    assert second.code == 0 and second.result["outcome"] == "unchanged"
    assert second.result["commit"] == first.result["commit"]
    assert second.result["pull_request"] == first.result["pull_request"]
    assert sb.scm.writes() == [], "an unchanged re-run writes nothing"
    assert len(open_prs(sb, example)) == 1
    assert sb.port.runs["r_again"]["statusLabel"] == "unchanged"


def test_different_payload_updates_the_same_pr_and_keeps_reviewers(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    first = enrich(example.payload, "--reviewer", *_extra_reviewer(sb))
    [pr] = open_prs(sb, example)
    reviewers_before = sorted(a.display_name for a in pr.reviewers)
    assert len(reviewers_before) == (2 if sb.scm.has_default_reviewers else 1)
    sb.port.create_run("r_change")
    second = enrich(payload(example, lifecycle="Deprecated", port_context={"runId": "r_change"}))
    assert second.code == 0 and second.result["outcome"] == "updated", second.stderr
    [pr_after] = open_prs(sb, example)
    assert pr_after.id == pr.id, "never a second PR"
    assert sorted(a.display_name for a in pr_after.reviewers) == reviewers_before
    assert "Deprecated" in pr_after.title
    assert git(sb, example, "rev-list", "--parents", "-n", "1", BRANCH).split()[1] == first.result["commit"]
    assert entity(port_yml(sb, example, BRANCH), "payments")["properties"]["lifecycle"] == "Deprecated"
    assert port_yml(sb, example, BRANCH).startswith(EXISTING_PORT_YML)


def _extra_reviewer(sb: Sandbox) -> list[str]:
    account = sb.bitbucket.add_user("Eli Extra", email="eli@example.com")
    return [account.uuid if sb.flavour == "bitbucket-cloud" else account.nickname]


def test_base_already_desired_gives_none_and_declines_a_redundant_pr(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    first = enrich(example.payload)
    # Someone applies the same change on main by hand: the open PR is now redundant.
    sb.bitbucket.push(example.workspace, example.slug, "main", {"port.yml": port_yml(sb, example, BRANCH)})
    sb.port.create_run("r_none")
    run = enrich(payload(example, port_context={"runId": "r_none"}))
    assert run.code == 0 and run.result["outcome"] == "none", run.stderr
    assert run.result["commit"] is None and run.result["pull_request"] is None
    pr = repo(sb, example).pull_requests[first.result["pull_request"]["id"]]
    assert pr.state == "DECLINED"
    assert any("declined" in w for w in run.result["warnings"])
    assert sb.port.runs["r_none"]["statusLabel"] == "none"


def test_none_on_a_fresh_repository_opens_nothing(sb: Sandbox, enrich: Enricher) -> None:
    ex = seed_example(sb, slug="ledger", run_id="r_ledger")
    desired = (
        "- identifier: ledger\n  blueprint: service\n  properties:\n    type: backend\n"
        "    lifecycle: Production\n  relations:\n    domain: billing\n"
    )
    sb.bitbucket.push(ex.workspace, ex.slug, "main", {"port.yml": desired})
    sb.bitbucket.clear()
    run = enrich(ex.payload)
    assert run.result["outcome"] == "none"
    assert sb.bitbucket.branch_tip(ex.workspace, ex.slug, "port/enrich-ledger") is None
    assert open_prs(sb, ex) == []
    assert sb.scm.writes() == []


def test_base_moved_with_a_port_yml_change_keeps_the_other_change(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    enrich(example.payload)
    # A teammate adds an entity to port.yml on main while our PR is open.
    teammate = port_yml(sb, example, "main") + "- identifier: payments-cron\n  blueprint: service\n"
    sb.bitbucket.push(example.workspace, example.slug, "main", {"port.yml": teammate, "other.txt": "x\n"})
    sb.port.create_run("r_moved")
    run = enrich(payload(example, port_context={"runId": "r_moved"}))
    assert run.result["outcome"] == "updated", run.stderr
    branch_text = port_yml(sb, example, BRANCH)
    assert branch_text.startswith(teammate), "the PR carries main's new port.yml plus our change"
    assert entity(branch_text, "payments")["relations"] == {"domain": "billing"}
    # The PR touches port.yml only, so it cannot revert the teammate's other file.
    assert git(sb, example, "diff", "--name-only", f"main...{BRANCH}").split() == ["port.yml"]
    assert len(open_prs(sb, example)) == 1


def test_base_moved_elsewhere_keeps_the_pr_mergeable(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    first = enrich(example.payload)
    sb.bitbucket.push(example.workspace, example.slug, "main", {"src/app.py": "print('hi')\n"})
    sb.port.create_run("r_moved_elsewhere")
    run = enrich(payload(example, port_context={"runId": "r_moved_elsewhere"}))
    assert run.result["outcome"] == "unchanged" and run.result["commit"] == first.result["commit"]
    sb.bitbucket.merge_pull_request(example.workspace, example.slug, first.result["pull_request"]["id"])
    merged = port_yml(sb, example, "main")
    assert (
        merged.startswith(EXISTING_PORT_YML) and entity(merged, "payments")["properties"]["type"] == "backend"
    )
    assert sb.bitbucket.read_file(example.workspace, example.slug, "main", "src/app.py") == b"print('hi')\n"


def test_left_over_branch_after_a_declined_pr_is_recreated_from_the_tip(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    first = enrich(example.payload)
    sb.bitbucket.decline_pull_request(example.workspace, example.slug, first.result["pull_request"]["id"])
    sb.bitbucket.push(example.workspace, example.slug, "main", {"README.md": "moved on\n"})
    tip = sb.bitbucket.branch_tip(example.workspace, example.slug, "main")
    sb.port.create_run("r_stale")
    run = enrich(payload(example, type="library", port_context={"runId": "r_stale"}))
    assert run.result["outcome"] == "created", run.stderr
    assert run.result["pull_request"]["id"] != first.result["pull_request"]["id"]
    assert git(sb, example, "rev-list", "--parents", "-n", "1", BRANCH).split()[1] == tip
    assert len(open_prs(sb, example)) == 1


def test_a_concurrent_runs_fresh_branch_is_built_on_never_deleted(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    # issue 12 D: another run has just created our branch (one commit on the current base) and is about
    # to open its pull request. Deleting the branch as a left-over would close the PR that run reports.
    theirs = sb.bitbucket.push(
        example.workspace,
        example.slug,
        BRANCH,
        {"port.yml": EXISTING_PORT_YML + "- identifier: payments\n  blueprint: service\n"},
        "Enrich payments (another run)",
    )
    base_tip = sb.bitbucket.branch_tip(example.workspace, example.slug, "main")
    assert git(sb, example, "rev-list", "--parents", "-n", "1", BRANCH).split()[1] == base_tip
    sb.scm.clear()
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    assert run.result["outcome"] == "created"
    assert not [w for w in sb.scm.writes() if w.method == "DELETE"], "the fresh branch was deleted"
    assert git(sb, example, "rev-list", "--parents", "-n", "1", BRANCH).split()[1:] == [theirs]
    assert entity(port_yml(sb, example, BRANCH), "payments")["properties"]["lifecycle"] == "Production"
    assert [pr.id for pr in open_prs(sb, example)] == [run.result["pull_request"]["id"]]


def test_merged_pr_then_same_request_is_none(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    first = enrich(example.payload)
    sb.bitbucket.merge_pull_request(
        example.workspace, example.slug, first.result["pull_request"]["id"], squash=True
    )
    sb.port.create_run("r_after_merge")
    run = enrich(payload(example, port_context={"runId": "r_after_merge"}))
    assert run.result["outcome"] == "none"
    assert open_prs(sb, example) == []


def test_dry_run_reads_everything_writes_nothing_reports_nothing(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(example.payload, "--dry-run")
    assert run.code == 0
    r = run.result
    assert r["dry_run"] is True and r["outcome"] == "created"
    assert any("create branch" in p for p in r["planned"]) and any("pull request" in p for p in r["planned"])
    assert sb.scm.writes() == []
    assert sb.bitbucket.branch_tip(example.workspace, example.slug, BRANCH) is None
    assert sb.port.requests == [] and sb.port.runs[example.run_id]["status"] == "IN_PROGRESS"
    assert "+    lifecycle: Production" in run.stderr, "the port.yml diff is shown"
    assert r["port_run"]["reported"] is False


def test_custom_branch_base_and_path(sb: Sandbox, example: Example, enrich: Enricher) -> None:
    sb.bitbucket.push(example.workspace, example.slug, "release/2.x", {"README.md": "release\n"})
    run = enrich(
        example.payload, "--branch", "catalog/payments", "--base", "release/2.x", "--path", "catalog/port.yml"
    )
    assert run.result["outcome"] == "created", run.stderr
    [pr] = open_prs(sb, example)
    assert (pr.source, pr.destination) == ("catalog/payments", "release/2.x")
    raw = sb.bitbucket.read_file(example.workspace, example.slug, "catalog/payments", "catalog/port.yml")
    assert raw is not None and entity(raw.decode(), "payments")["properties"]["type"] == "backend"


@pytest.mark.parametrize(
    ("files", "path", "needle"),
    [
        ({"port.yml": None, "port.yml/inner.txt": "keep me\n"}, "port.yml", "it is a directory"),
        ({}, "README.md/port.yml", "its parent 'README.md' is a file"),
        ({"deploy/README": "x\n"}, "deploy/README/sub/port.yml", "its parent 'deploy/README' is a file"),
    ],
)
def test_a_path_that_is_not_a_file_is_exit_3_and_nothing_written(
    sb: Sandbox, example: Example, enrich: Enricher, files: dict[str, str | None], path: str, needle: str
) -> None:
    # issue 12 B3: Cloud read the directory listing as the file and the PR replaced the directory with
    # it; a path under a file deleted that file.
    if files:
        sb.bitbucket.push(example.workspace, example.slug, "main", files)
    before = git(sb, example, "ls-tree", "-r", "main")
    run = enrich(example.payload, "--path", path)
    assert run.code == 3, run.stderr
    assert run.result["error"].startswith("--path/PORT_GITOPS_PATH: ") and needle in run.result["error"]
    assert "directory" in run.result["error"] or "is a file" in run.result["error"]
    assert sb.scm.writes() == [], "nothing written"
    assert sb.bitbucket.branch_tip(example.workspace, example.slug, BRANCH) is None
    assert git(sb, example, "ls-tree", "-r", "main") == before
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"


@pytest.mark.parametrize("path", ["deploy/port.yml", "new/dir/port.yml"])
def test_a_new_file_in_a_directory_or_in_new_directories_is_created(
    sb: Sandbox, example: Example, enrich: Enricher, path: str
) -> None:
    sb.bitbucket.push(example.workspace, example.slug, "main", {"deploy/README": "x\n"})
    run = enrich(example.payload, "--path", path)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    raw = sb.bitbucket.read_file(example.workspace, example.slug, BRANCH, path)
    assert raw is not None and entity(raw.decode(), "payments")["relations"] == {"domain": "billing"}
    assert git(sb, example, "diff", "--name-only", "main", BRANCH).split() == [path]


def test_a_dry_run_on_the_update_path_never_says_it_wrote(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    assert enrich(example.payload).code == 0
    sb.bitbucket.clear()
    run = enrich(payload(example, lifecycle="Deprecated", port_context={"runId": ""}), "--dry-run")
    assert run.code == 0 and run.result["outcome"] == "updated"
    assert "would update pull request #" in run.stderr
    # issue 12 D: it went on to print "pull request #1 updated".
    assert " updated:" not in run.stderr and "committed" not in run.stderr
    assert sb.scm.writes() == []


def test_a_fork_pull_request_with_our_branch_name_is_not_taken_for_ours(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    # issue 12 D: Cloud's find_open_pr filtered on the branch name only, so the fork's pull request
    # was taken for ours: our commit went on, and its title and description were overwritten.
    sb.bitbucket.create_repository(example.workspace, "payments-fork", {"README.md": "a fork\n"})
    sb.bitbucket.push(example.workspace, "payments-fork", BRANCH, {"port.yml": "- identifier: theirs\n"})
    sb.bitbucket.push(example.workspace, example.slug, BRANCH, {"port.yml": "- identifier: left-over\n"})
    fork = sb.bitbucket.repository(example.workspace, "payments-fork")
    someone = sb.bitbucket.add_user("Fork Owner", email="fork@example.com")
    theirs = sb.bitbucket.open_fork_pull_request(
        repo(sb, example), fork, BRANCH, title="Theirs", author=someone
    )
    run = enrich(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert run.result["pull_request"]["id"] != theirs.id
    assert (theirs.title, theirs.state, theirs.description) == ("Theirs", "OPEN", "")
    ours = repo(sb, example).pull_requests[run.result["pull_request"]["id"]]
    assert ours.source_repo is None and ours.source == BRANCH


def test_twenty_concurrent_runs_with_different_values_all_succeed(
    sb: Sandbox, example: Example, tmp_path: Path
) -> None:
    # issue 12 D: 7 of 20 (Cloud) and 8 of 20 (DC) failed with "kept moving while we wrote it (3 attempts)".
    import json
    import os
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "BITBUCKET_"))}
    env.update(sb.env())
    procs = []
    for number in range(20):
        run_id = f"r_many{number}"
        sb.port.create_run(run_id)
        body = tmp_path / f"p{number}.json"
        body.write_text(
            json.dumps(payload(example, domain=f"domain-{number}", port_context={"runId": run_id}))
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "port_gitops", "enrich", "--payload", str(body), "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    started = time.monotonic()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, json.loads(out), err.decode()))
    failed = [err.strip().splitlines()[-1] for code, _, err in results if code != 0]
    print(
        f"{sb.scm.__class__.__name__}: {20 - len(failed)}/20 succeeded in {time.monotonic() - started:.1f} s"
    )
    assert failed == []
    [pr] = open_prs(sb, example)
    final = entity(port_yml(sb, example, BRANCH), "payments")["relations"]["domain"]
    assert final in {f"domain-{n}" for n in range(20)}
    assert {r["pull_request"]["id"] for _, r, _ in results} == {pr.id}
    assert all(sb.port.runs[f"r_many{n}"]["status"] == "SUCCESS" for n in range(20))


def test_concurrent_runs_end_with_one_pr_and_one_consistent_port_yml(
    sb: Sandbox, example: Example, tmp_path: Path
) -> None:
    import json
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "BITBUCKET_"))}
    env.update(sb.env())
    body = tmp_path / "p.json"
    body.write_text(json.dumps(example.payload))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "port_gitops", "enrich", "--payload", str(body), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        outcomes.append(json.loads(out)["outcome"])
        assert proc.returncode == 0, err.decode()
    assert outcomes.count("created") >= 1 and set(outcomes) <= {"created", "unchanged"}
    assert len(open_prs(sb, example)) == 1
    text = port_yml(sb, example, BRANCH)
    assert text.startswith(EXISTING_PORT_YML) and text.count("identifier: payments\n") == 1
    assert git(sb, example, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"


def test_draft_is_opened_as_a_draft_and_unsupported_pr_features_are_warned_about(
    sb: Sandbox, example: Example, enrich: Enricher
) -> None:
    run = enrich(example.payload, "--draft", "--label", "catalog", PORT_GITOPS_TEAM_REVIEWERS="platform")
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    [pr] = open_prs(sb, example)
    assert pr.draft, "every flavour has draft pull requests"
    assert run.result["scm"] == sb.flavour
    labels, teams = sb.scm.has_labels, sb.scm.has_team_reviewers
    assert run.result["warnings"] == [
        *([] if labels else ["labels are not supported here; the pull request is opened without them"]),
        *(
            []
            if teams
            else ["team reviewers are not supported here; the pull request is opened without them"]
        ),
    ]
    assert pr.labels == (["catalog"] if labels else [])
    assert pr.team_reviewers == (["platform"] if teams else [])
