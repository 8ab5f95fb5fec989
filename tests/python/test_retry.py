"""The one retry policy: what is retried, how long it waits, when it gives up, and what it logs.

Waits are recorded by an injected `sleep` that advances an injected clock: nothing really sleeps.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import time
from typing import Callable, Optional

import pytest
import requests

from port_gitops.http import make_session
from port_gitops.retry import RetriesExhausted, RetryPolicy, retry_reason, server_wait


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def policy(t: FakeTime, **kwargs: float) -> RetryPolicy:
    return RetryPolicy(sleep=t.sleep, clock=t.clock, **kwargs)  # type: ignore[arg-type]


def http_error(
    status: int, method: str = "GET", headers: Optional[dict[str, str]] = None
) -> requests.HTTPError:
    """An HTTPError shaped like the ones requests raises: carrying its response and request."""
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response.request = requests.Request(method, "http://127.0.0.1/x").prepare()
    return requests.HTTPError(f"HTTP {status}", response=response)


def failing(*errors: BaseException, result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """A call that raises `errors` in turn, then returns `result`; also returns its call counter."""
    calls = [0]

    def fn() -> str:
        calls[0] += 1
        if calls[0] <= len(errors):
            raise errors[calls[0] - 1]
        return result

    return fn, calls


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_until_success(status: int) -> None:
    t = FakeTime()
    fn, calls = failing(http_error(status), http_error(status))
    assert policy(t).call(fn, what="read", idempotent=True) == "ok"
    assert calls[0] == 3
    assert len(t.waits) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    t = FakeTime()
    fn, calls = failing(http_error(status))
    with pytest.raises(requests.HTTPError) as caught:
        policy(t).call(fn, what="read", idempotent=True)
    assert caught.value.response is not None and caught.value.response.status_code == status
    assert calls[0] == 1
    assert t.waits == []


def test_500_is_retried_on_reads_only() -> None:
    t = FakeTime()
    fn, calls = failing(http_error(500, "GET"))
    assert policy(t).call(fn, what="read", idempotent=True) == "ok"
    assert calls[0] == 2

    fn, calls = failing(http_error(500, "POST"))
    with pytest.raises(requests.HTTPError):
        policy(t).call(fn, what="commit", idempotent=True)
    assert calls[0] == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_on_a_write_that_could_duplicate_are_not_retried(
    status: int,
) -> None:
    t = FakeTime()
    fn, calls = failing(http_error(status, "POST"))
    with pytest.raises(requests.HTTPError):
        policy(t).call(fn, what="log", idempotent=False)
    assert calls[0] == 1


def test_429_is_retried_even_on_a_write_that_could_duplicate() -> None:
    # A 429 is a refusal: the server did not act on the request.
    t = FakeTime()
    fn, calls = failing(http_error(429, "POST"))
    assert policy(t).call(fn, what="log", idempotent=False) == "ok"
    assert calls[0] == 2


def test_timeouts_are_retried_only_when_a_replay_cannot_duplicate() -> None:
    t = FakeTime()
    fn, calls = failing(requests.ReadTimeout("read timed out"))
    assert policy(t).call(fn, what="read", idempotent=True) == "ok"
    assert calls[0] == 2

    fn, calls = failing(requests.ReadTimeout("read timed out"))
    with pytest.raises(requests.ReadTimeout):
        policy(t).call(fn, what="log", idempotent=False)
    assert calls[0] == 1

    # A connect timeout proves the request never left: safe for any write.
    fn, calls = failing(requests.ConnectTimeout("connect timed out"))
    assert policy(t).call(fn, what="log", idempotent=False) == "ok"
    assert calls[0] == 2


def test_a_refused_connection_is_retried_for_any_write_then_gives_up() -> None:
    # Real HTTP on loopback to a port nobody listens on: the connection is refused, nothing was sent.
    # The port stays bound (never listening) throughout, so no concurrent test's server can take it.
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/v1/actions/runs/r_1/logs"
        session = make_session(ca_bundle=None, timeout=(1, 1))
        t = FakeTime()
        with pytest.raises(RetriesExhausted) as caught:
            policy(t, max_attempts=3).call(lambda: session.post(url, json={}), what="log", idempotent=False)
    assert caught.value.attempts == 3
    assert caught.value.status is None
    assert isinstance(caught.value.last_error, requests.ConnectionError)
    assert "connection error" in caught.value.message
    assert len(t.waits) == 2


def test_retry_after_seconds_is_honoured() -> None:
    t = FakeTime()
    fn, _ = failing(http_error(503, headers={"Retry-After": "7"}))
    policy(t).call(fn, what="read", idempotent=True)
    assert t.waits == [7.0]


def test_retry_after_http_date_is_honoured() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = server_wait(http_error(429, headers={"Retry-After": when}).response, time.time())  # type: ignore[arg-type]
    assert wait is not None and 25 <= wait <= 31


def test_port_ratelimit_reset_as_delta_and_as_epoch() -> None:
    now = time.time()
    delta = server_wait(http_error(429, headers={"x-ratelimit-reset": "12"}).response, now)  # type: ignore[arg-type]
    epoch = server_wait(
        http_error(429, headers={"x-ratelimit-reset": str(int(now) + 40)}).response,  # type: ignore[arg-type]
        now,
    )
    assert delta == 12.0
    assert epoch is not None and 38 <= epoch <= 41


def test_the_ietf_ratelimit_reset_header_gitlab_sends_as_epoch_seconds() -> None:
    now = time.time()
    epoch = http_error(429, headers={"RateLimit-Reset": str(int(now) + 30)}).response
    wait = server_wait(epoch, now)  # type: ignore[arg-type]
    assert wait is not None and 28 <= wait <= 31
    delta = http_error(429, headers={"RateLimit-Reset": "7"}).response  # the draft's own form: a delta
    assert server_wait(delta, now) == 7.0  # type: ignore[arg-type]
    bad_then_good = http_error(429, headers={"x-ratelimit-reset": "soon", "RateLimit-Reset": "5"}).response
    assert server_wait(bad_then_good, now) == 5.0  # type: ignore[arg-type]


def test_retry_after_wins_over_ratelimit_reset_and_garbage_falls_back_to_backoff() -> None:
    both = http_error(429, headers={"Retry-After": "3", "x-ratelimit-reset": "50"}).response
    assert server_wait(both, time.time()) == 3.0  # type: ignore[arg-type]
    garbage = http_error(429, headers={"Retry-After": "soon"}).response
    assert server_wait(garbage, time.time()) is None  # type: ignore[arg-type]


def test_server_waits_are_capped() -> None:
    t = FakeTime()
    fn, _ = failing(http_error(429, headers={"Retry-After": "200"}))
    policy(t, cap=120.0).call(fn, what="read", idempotent=True)
    assert t.waits == [120.0]


def test_backoff_grows_exponentially_with_jitter() -> None:
    t = FakeTime()
    fn, _ = failing(*(http_error(503) for _ in range(4)))
    policy(t, backoff_initial=1.0, backoff_max=30.0).call(fn, what="read", idempotent=True)
    # attempt n waits between half and all of min(30, 2**(n-1)).
    for n, wait in enumerate(t.waits, start=1):
        base = min(30.0, 2.0 ** (n - 1))
        assert base / 2 <= wait <= base


def test_exhausted_attempts_keep_the_last_status() -> None:
    t = FakeTime()
    fn, calls = failing(*(http_error(503) for _ in range(10)))
    with pytest.raises(RetriesExhausted) as caught:
        policy(t, max_attempts=4).call(fn, what="Bitbucket: read port.yml", idempotent=True)
    assert calls[0] == 4
    assert caught.value.status == 503
    assert caught.value.attempts == 4
    assert caught.value.message.startswith("Bitbucket: read port.yml: gave up after 4 attempts: HTTP 503")
    assert caught.value.exit_code == 1


def test_a_wait_beyond_the_remaining_budget_is_not_started() -> None:
    # Bitbucket Cloud's window is an hour: fail now with a clear message rather than sleep it out.
    t = FakeTime()
    fn, calls = failing(http_error(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RetriesExhausted) as caught:
        policy(t, max_wait=300.0).call(fn, what="read", idempotent=True)
    assert calls[0] == 1
    assert t.waits == []
    assert "the server asked for 3600 s" in caught.value.message
    assert "300 s budget" in caught.value.message


def test_a_backoff_beyond_the_remaining_budget_is_not_started() -> None:
    t = FakeTime()
    fn, calls = failing(*(http_error(503) for _ in range(10)))
    with pytest.raises(RetriesExhausted) as caught:
        policy(t, max_attempts=10, max_wait=20.0, backoff_initial=8.0, backoff_max=60.0).call(
            fn, what="read", idempotent=True
        )
    assert sum(t.waits) <= 20.0
    assert calls[0] == len(t.waits) + 1
    assert "budget left" in caught.value.message


def test_total_time_bounds_the_retries() -> None:
    t = FakeTime()
    fn, calls = failing(*(http_error(503, headers={"Retry-After": "40"}) for _ in range(10)))
    with pytest.raises(RetriesExhausted):
        policy(t, max_attempts=10, max_wait=100.0).call(fn, what="read", idempotent=True)
    assert t.waits == [40.0, 40.0]  # a third wait would end beyond 100 s
    assert calls[0] == 3
    assert sum(t.waits) <= 100.0


def test_each_retry_is_logged_with_reason_and_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    t = FakeTime()
    fn, _ = failing(
        http_error(503, headers={"Retry-After": "2"}),
        http_error(429, headers={"Retry-After": "3"}),
    )
    with caplog.at_level(logging.INFO, logger="port_gitops"):
        policy(t).call(fn, what="Bitbucket: read branch main", idempotent=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "port_gitops"]
    assert lines == [
        "Bitbucket: read branch main: HTTP 503; retry 2/5 in 2.0 s",
        "Bitbucket: read branch main: HTTP 429 (rate limited); retry 3/5 in 3.0 s",
    ]


def test_non_http_exceptions_pass_through_untouched() -> None:
    t = FakeTime()
    fn, calls = failing(ValueError("bug"))
    with pytest.raises(ValueError, match="bug"):
        policy(t).call(fn, what="read", idempotent=True)
    assert calls[0] == 1


def test_retry_reason_names_what_happened() -> None:
    assert retry_reason(http_error(500, "GET"), idempotent=True) == "HTTP 500 on a read"
    assert retry_reason(http_error(500, "PUT"), idempotent=True) is None
    assert retry_reason(requests.ConnectTimeout(), idempotent=False) == "timeout (ConnectTimeout)"
    assert retry_reason(http_error(404), idempotent=True) is None


def github_403(headers: Optional[dict[str, str]] = None, message: str = "") -> requests.HTTPError:
    error = http_error(403, "POST", headers)
    assert error.response is not None
    error.response._content = ('{"message": "%s"}' % message).encode()  # noqa: UP031
    return error


def test_github_rate_limit_403s_are_retried_like_429_even_on_writes() -> None:
    now = time.time()
    primary = github_403({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 7)})
    secondary = github_403(message="You have exceeded a secondary rate limit. Please wait a few minutes.")
    asked = github_403({"Retry-After": "3"}, message="Something else")
    for error in (primary, secondary, asked):
        assert retry_reason(error, idempotent=False) == "HTTP 403 (rate limited)"
    assert retry_reason(github_403(message="Resource not accessible by integration"), idempotent=True) is None
    t = FakeTime()
    fn, calls = failing(asked, secondary)
    assert policy(t).call(fn, what="GitHub: commit", idempotent=False) == "ok" and calls == [3]
    assert t.waits[0] == 3.0
    assert server_wait(primary.response, now) == pytest.approx(7, abs=1)  # type: ignore[arg-type]


def test_ratelimit_reset_counts_only_when_nothing_remains() -> None:
    # GitHub sends the window's reset on every answer: a 502 with quota left must not wait an hour.
    now = time.time()
    with_quota = http_error(
        502, headers={"x-ratelimit-remaining": "4999", "x-ratelimit-reset": str(now + 3600)}
    )
    assert server_wait(with_quota.response, now) is None  # type: ignore[arg-type]


def test_a_caller_may_name_a_transient_answer_and_a_read_that_posts() -> None:
    t = FakeTime()
    unprocessable = http_error(422, "POST")
    fn, calls = failing(unprocessable)
    assert policy(t).call(
        fn, what="x", idempotent=True, transient=lambda exc: "not visible yet"
    ) == "ok" and calls == [2]
    fn, calls = failing(http_error(422, "POST"))
    with pytest.raises(requests.HTTPError):
        policy(t).call(fn, what="x", idempotent=True, transient=lambda exc: None)
    assert retry_reason(http_error(500, "POST"), idempotent=True) is None
    assert retry_reason(http_error(500, "POST"), idempotent=True, read=True) == "HTTP 500 on a read"
