"""PortClient against the Port sandbox: one token per run, log lines, the final status exactly once,
and errors that say what Port said (its `error` code and X-Trace-Id) without ever showing a secret."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from port_gitops.errors import EXIT_PORT_UNREACHABLE, EXIT_USAGE, InvalidInputError, UsageError
from port_gitops.http import make_session
from port_gitops.port_api import FinishResult, PortApiError, PortClient
from port_gitops.retry import RetryPolicy
from port_gitops.sandbox import Sandbox

RUN = "r_EnrichPayments01"


@dataclass
class PortWorld:
    sb: Sandbox
    waits: list[float] = field(default_factory=list)

    @property
    def port(self) -> Any:
        return self.sb.port

    def client(self, *, secret: str | None = None, url: str | None = None, **policy: Any) -> PortClient:
        return PortClient(
            url or self.sb.port_url,
            self.port.client_id,
            secret or self.port.client_secret,
            session=make_session(ca_bundle=None, timeout=policy.pop("timeout", (5, 30))),
            policy=RetryPolicy(sleep=self.waits.append, **policy),
        )

    def sent(self, path_end: str = "") -> list[str]:
        return [f"{r.method} {r.path}" for r in self.port.requests if r.path.endswith(path_end)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[PortWorld]:
    sandbox.port.create_run(RUN)
    sandbox.port.clear()
    yield PortWorld(sandbox)
    sandbox.port.faults.clear()


def finish(client: PortClient, status: str = "SUCCESS") -> FinishResult:
    return client.finish(
        RUN,
        status=status,
        label="created",
        links=["https://bitbucket.example/pr/1", "https://jenkins.example/job/1/"],
        summary="Pull request #1 opened for payments",
    )


def test_one_token_serves_the_whole_run(world: PortWorld) -> None:
    client = world.client()
    client.authenticate()
    client.log(RUN, "started")
    client.log(RUN, "repository resolved")
    result = finish(client)
    assert result == FinishResult(status="SUCCESS", already_finished=False)
    assert world.sent("/access_token") == ["POST /v1/auth/access_token"]
    run = world.port.runs[RUN]
    assert run["logs"] == ["started", "repository resolved"]
    assert (run["status"], run["statusLabel"], run["summary"]) == (
        "SUCCESS",
        "created",
        "Pull request #1 opened for payments",
    )
    assert run["link"] == ["https://bitbucket.example/pr/1", "https://jenkins.example/job/1/"]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in world.port.requests[1:])


def test_an_expired_token_is_refreshed_once(world: PortWorld) -> None:
    client = world.client()
    client.log(RUN, "before")
    world.port.expire_tokens()
    client.log(RUN, "after")
    assert world.port.runs[RUN]["logs"] == ["before", "after"]
    assert len(world.sent("/access_token")) == 2
    assert [r.status for r in world.port.requests if r.path.endswith("/logs")] == [201, 401, 201]


def test_wrong_credentials_are_a_configuration_error_without_the_secret(
    world: PortWorld, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-secret-" + "z" * 24
    with caplog.at_level(logging.DEBUG), pytest.raises(UsageError) as caught:
        world.client(secret=wrong).authenticate()
    assert caught.value.exit_code == EXIT_USAGE
    assert "PORT_CLIENT_ID/PORT_CLIENT_SECRET" in caught.value.message
    assert wrong not in caught.value.message
    assert all(wrong not in r.getMessage() for r in caplog.records)
    assert len(world.port.requests) == 1  # a 401 is never retried


def test_the_final_status_is_sent_exactly_once(world: PortWorld) -> None:
    client = world.client()
    first = finish(client)
    again = finish(client, status="FAILURE")
    assert again == first
    assert world.sent(RUN) == [f"PATCH /v1/actions/runs/{RUN}"]
    assert world.port.runs[RUN]["status"] == "SUCCESS"


def test_a_run_finished_before_is_not_an_error(world: PortWorld) -> None:
    finish(world.client(), status="FAILURE")  # e.g. `port-gitops report` from the pipeline
    result = finish(world.client())
    assert result == FinishResult(status="FAILURE", already_finished=True)
    assert world.port.runs[RUN]["status"] == "FAILURE"
    assert world.waits == []  # the 422 is answered by reading the run, not by retrying


def test_a_lost_answer_to_the_final_status_is_recognised_on_the_replay(world: PortWorld) -> None:
    # The PATCH lands, the gateway answers 503: the replay gets 422, and reading the run shows ours.
    world.port.faults.add("PATCH", RUN, status=503, apply=True)
    result = finish(world.client())
    assert result == FinishResult(status="SUCCESS", already_finished=True)
    assert world.sent(RUN) == [f"PATCH /v1/actions/runs/{RUN}"] * 2 + [f"GET /v1/actions/runs/{RUN}"]
    assert world.port.runs[RUN]["statusLabel"] == "created"


def test_a_log_line_for_a_finished_run_is_skipped_not_an_error(world: PortWorld) -> None:
    client = world.client()
    assert client.log(RUN, "started") is True
    finish(client)
    assert client.log(RUN, "too late") is False
    assert world.port.runs[RUN]["logs"] == ["started"]
    assert world.waits == []


def test_a_synchronized_action_is_a_configuration_error(world: PortWorld) -> None:
    world.port.create_run("r_sync", synchronized=True)
    with pytest.raises(UsageError, match=r"set `synchronized: false`") as caught:
        world.client().finish("r_sync", status="SUCCESS", label="created", links=[], summary="s")
    assert caught.value.exit_code == EXIT_USAGE
    assert world.port.runs["r_sync"]["status"] == "IN_PROGRESS"


def test_an_unknown_run_carries_port_code_and_trace_id(world: PortWorld) -> None:
    world.port.faults.add(
        "GET",
        "/r_missing$",
        status=404,
        headers={"X-Trace-Id": "trace-0123"},
        body=b'{"ok": false, "error": "not_found", "message": "The action run was not found"}',
    )
    with pytest.raises(PortApiError) as caught:
        world.client().get_run("r_missing")
    error = caught.value
    assert (error.status, error.code, error.trace_id) == (404, "not_found", "trace-0123")
    assert error.exit_code == EXIT_PORT_UNREACHABLE
    assert "X-Trace-Id trace-0123" in error.message


@pytest.mark.parametrize("fault", [{"status": 429}, {"status": 503}, {"status": 502}, {"reset": True}])
def test_transient_faults_on_the_final_status_are_retried(world: PortWorld, fault: dict[str, Any]) -> None:
    world.port.faults.add("PATCH", RUN, **fault)
    assert finish(world.client()).already_finished is False
    assert len(world.waits) == 1
    assert world.port.runs[RUN]["status"] == "SUCCESS"


def test_a_log_line_is_not_replayed_when_it_may_have_landed(world: PortWorld) -> None:
    world.port.faults.add("POST", "/logs$", status=503, apply=True)
    with pytest.raises(PortApiError) as caught:
        world.client().log(RUN, "repository resolved")
    assert caught.value.status == 503
    assert world.port.runs[RUN]["logs"] == ["repository resolved"]  # once, never twice
    assert world.waits == []


def test_a_rate_limited_log_line_is_retried_after_the_reset(world: PortWorld) -> None:
    world.port.faults.add("POST", "/logs$", status=429, headers={"x-ratelimit-reset": "4"})
    world.client().log(RUN, "commit 1a2b3c")
    assert world.waits == [4.0]
    assert world.port.runs[RUN]["logs"] == ["commit 1a2b3c"]


def test_a_slow_port_times_out_and_is_retried_for_reads(world: PortWorld) -> None:
    world.port.faults.add("GET", RUN, delay=0.25)
    run = world.client(timeout=(2, 0.1)).get_run(RUN)
    assert run["status"] == "IN_PROGRESS"
    assert len(world.waits) == 1


def test_unreachable_port_after_all_retries_is_exit_4(world: PortWorld) -> None:
    with socket.socket() as sock:  # bound, never listening: refused, and no concurrent test can take it
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(PortApiError) as caught:
            world.client(url=closed, max_attempts=3).authenticate()
    assert caught.value.exit_code == EXIT_PORT_UNREACHABLE
    assert "gave up after 3 attempts" in caught.value.message
    assert len(world.waits) == 2


@pytest.mark.parametrize("run_id", ["..", "../v1/blueprints", "r/1", "", ".hidden"])
def test_a_run_id_cannot_leave_its_path_segment(world: PortWorld, run_id: str) -> None:
    client = world.client()
    with pytest.raises(InvalidInputError):
        client.log(run_id, "x")
    with pytest.raises(InvalidInputError):
        client.finish(run_id, status="SUCCESS", label="x", links=[], summary="x")
    assert world.port.requests == []


def test_secrets_never_reach_logs_or_errors(world: PortWorld, caplog: pytest.LogCaptureFixture) -> None:
    client = world.client()
    with caplog.at_level(logging.DEBUG):
        client.authenticate()
        world.port.faults.add("POST", "/logs$", status=429, times=2)
        client.log(RUN, "retried twice")
        world.port.expire_tokens()
        finish(client)
        with pytest.raises(PortApiError) as caught:
            client.get_run("r_unknown")
    token = world.port.requests[-1].headers["authorization"].split(" ", 1)[1]
    texts = [r.getMessage() for r in caplog.records] + [caught.value.message]
    assert len(caplog.records) >= 2  # the retries were logged
    for secret in (world.port.client_secret, token):
        assert all(secret not in text for text in texts)
