"""Port off the critical path: the token and the log lines go out from a background sender while the
SCM work goes on, in the order they happened, all before the final status; the end of a run is one
request (the status with the links and summary); nothing is written to the SCM before Port accepted
the credentials. Every flavour."""

from __future__ import annotations

import time
from typing import Any, Iterator, Optional

import pytest
from enrichkit import FLAVOURS, Enricher

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example
from port_gitops.sandbox.faults import Fault

TOKEN = "/v1/auth/access_token"


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        yield sandbox


def test_log_lines_reach_port_in_order_before_the_final_status(sb: Sandbox, enrich: Enricher) -> None:
    example = seed_example(sb)
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    entries = sb.port.runs[example.run_id]["logs"]
    lines = [line for entry in entries for line in entry.split("\n")]
    assert lines[0].startswith("started: enrich service payments") and lines[-1].startswith("committed ")
    # The same lines, in the same order, as the progress on stderr, up to the settled outcome.
    positions = [run.stderr.find(line) for line in lines]
    assert -1 not in positions and positions == sorted(positions)
    # The closing lines stay on stderr: the final status's summary says them.
    closing = ["pull request #1 created: ", "finished: created"]
    assert all(text in run.stderr and text not in "\n".join(lines) for text in closing)
    requests = sb.port.requests
    methods = [(request.method, request.path) for request in requests]
    assert methods[0] == ("POST", TOKEN)
    # The end of the run is one request, after every other one: the status, links and summary.
    url = run.result["pull_request"]["url"]
    final = requests[-1].json()
    assert methods[-1][0] == "PATCH" and final["status"] == "SUCCESS" and final["link"] == [url]
    assert [method for method, _ in methods].count("PATCH") == 1
    assert not [r for r in requests if r.body and "terminationStatus" in r.json()]
    state = sb.port.runs[example.run_id]
    assert state["link"] == [url] and f"Pull request #1: {url}" in state["summary"]
    assert "Outcome: **created**" in state["summary"]
    # token + one request per entry + the status: fewer requests than lines said
    assert len(methods) == 1 + len(entries) + 1 and len(entries) <= len(lines) == 4
    assert state["status"] == "SUCCESS" and state["statusLabel"] == "created"


def test_the_token_request_overlaps_the_scm_reads_but_not_the_writes(
    sb: Sandbox, enrich: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = seed_example(sb)
    seen: dict[str, Any] = {}
    take = sb.port.faults.take

    def slow_token(method: str, path: str) -> Optional[Fault]:
        if path == TOKEN:
            time.sleep(0.4)  # Port is slow to answer: the SCM reads go on meanwhile
            seen["scm"] = [sb.scm.is_write(request) for request in sb.scm.requests]
        return take(method, path)

    monkeypatch.setattr(sb.port.faults, "take", slow_token)
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    assert seen["scm"], "the first SCM reads did not wait for Port's token"
    assert not any(seen["scm"]), "nothing is written before the token is in"


def test_a_failing_log_line_loses_only_the_lines_and_the_run_still_ends_reported(
    sb: Sandbox, enrich: Enricher
) -> None:
    example = seed_example(sb)
    sb.port.faults.add("POST", r"/logs$", status=500, times=1)  # a log line is never replayed
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    assert "Port run log unavailable" in run.stderr
    assert sb.port.runs[example.run_id]["status"] == "SUCCESS"
    assert [request.method for request in sb.port.requests][-1] == "PATCH"


def test_rejected_port_credentials_stop_before_any_write_even_when_port_is_slow(
    sb: Sandbox, enrich: Enricher
) -> None:
    example = seed_example(sb)
    sb.port.faults.add("POST", TOKEN, times=1, delay=0.3)
    run = enrich(example.payload, PORT_CLIENT_SECRET="wrong-secret")
    assert run.code == 2, run.stderr
    assert sb.scm.writes() == []  # (GitHub's GraphQL query is a POST that only reads)
    assert sb.scm.repository(example.workspace, example.slug).pull_requests == {}


def test_lines_that_queue_up_behind_a_slow_port_go_out_together_in_order(
    sb: Sandbox, enrich: Enricher
) -> None:
    # Port answers every log request late: the SCM work goes on, its lines queue up and go out in
    # fewer requests, so Port's chain of requests stays shorter than the SCM's.
    example = seed_example(sb)
    sb.port.faults.add("POST", r"/logs$", delay=0.3, times=100)
    run = enrich(example.payload)
    assert run.code == 0, run.stderr
    entries = sb.port.runs[example.run_id]["logs"]
    lines = [line for entry in entries for line in entry.split("\n")]
    assert len(lines) == 4 and len(entries) < len(lines)
    positions = [run.stderr.find(line) for line in lines]
    assert -1 not in positions and positions == sorted(positions)
    assert sb.port.requests[-1].json()["status"] == "SUCCESS"


def test_a_run_finished_by_someone_else_before_our_final_status_is_said_and_not_claimed(
    sb: Sandbox, enrich: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between our last log entry and our final status, someone ends the run in Port's UI: the final
    # status meets Port's 422, the run is read, and the result says it was not ours.
    example = seed_example(sb)
    take = sb.port.faults.take

    def end_before_the_final_status(method: str, path: str) -> Optional[Fault]:
        if method == "PATCH" and sb.port.runs[example.run_id]["status"] == "IN_PROGRESS":
            sb.port.finish_run(example.run_id, "FAILURE")
        return take(method, path)

    monkeypatch.setattr(sb.port.faults, "take", end_before_the_final_status)
    run = enrich(example.payload)
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert run.result["port_run"] == {**run.result["port_run"], "status": "FAILURE", "reported": False}
    assert "already finished as FAILURE: it was not set to SUCCESS" in run.stderr
    assert sb.port.runs[example.run_id]["status"] == "FAILURE"


def test_a_final_status_port_could_not_take_is_exit_4_and_the_run_is_not_ended(
    sb: Sandbox, enrich: Enricher
) -> None:
    # A 500 on the final status may have half-happened: not replayed (exit 4, Port not told).
    example = seed_example(sb)
    sb.port.faults.add("PATCH", r"^/v1/actions/runs/[^/]+$", status=500, times=1)
    run = enrich(example.payload)
    assert run.code == 4 and run.result["outcome"] == "created", run.stderr
    assert "Port could not be told" in " ".join(run.result["warnings"])
    assert sb.port.runs[example.run_id]["status"] == "IN_PROGRESS"
    assert [r.method for r in sb.port.requests].count("PATCH") == 1


def test_the_summary_shows_payload_text_as_code(sb: Sandbox, enrich: Enricher) -> None:
    # Port renders the summary as Markdown: a value from the payload cannot become a link there.
    example = seed_example(sb)
    run = enrich({**example.payload, "domain": "[click](https://evil.example)"})
    assert run.code == 3, run.stderr
    summary = sb.port.runs[example.run_id]["summary"]
    (error,) = [line for line in summary.splitlines() if line.startswith("Error: ")]
    assert "[click](https://evil.example)" in error
    assert error.startswith("Error: `") and error.endswith("`") and error.count("`") == 2


def test_a_failure_ends_the_run_with_its_reason_in_the_summary(sb: Sandbox, enrich: Enricher) -> None:
    example = seed_example(sb)
    sb.scm.faults.add("*", r".", status=404, times=100)  # the repository is not there
    run = enrich(example.payload)
    assert run.code == 1, run.stderr
    state = sb.port.runs[example.run_id]
    assert state["status"] == "FAILURE" and state["statusLabel"] == "failed"
    assert "Error: " in state["summary"]
    finals = [r for r in sb.port.requests if r.body and {"status", "terminationStatus"} & set(r.json())]
    assert len(finals) == 1, "the final status exactly once"
