"""The one retry policy for every outside call (Port, Bitbucket, GitHub alike), built on tenacity.

What is retried:
- HTTP 429 always: the server refused the request without acting on it. Likewise a 403 that is a rate
  limit in disguise (GitHub's): `x-ratelimit-remaining: 0`, a `Retry-After`, or a body that says
  "rate limit" (GitHub's secondary limits).
- HTTP 502, 503, 504, connection errors and timeouts, when the caller says a replay cannot duplicate
  (`idempotent=True`: reads, PUT/PATCH, a commit pinned by `parents`, a Cloud PR create after a lookup).
  For other writes only failures that prove nothing was sent (the connection was never made).
- HTTP 500 only on reads (GET/HEAD, or a POST the caller says only reads, e.g. a GraphQL query): a 500
  on a write may have half-happened.
- What the caller names transient for its API (`transient=`), e.g. GitHub's 422 on a pull request whose
  branch was created a moment ago (eventual consistency).
Never any other 400/401/403/404/409/422, nor a TLS verification failure: callers turn the "absent" 404
of a read into an answer before it gets here.

How long: the server's `Retry-After` (seconds or HTTP date), else a reset header: Port's and GitHub's
`x-ratelimit-reset`, GitLab's `RateLimit-Reset` (epoch seconds when > 10,000, else a delta; only when
the matching `...-remaining` is absent or 0, since GitHub sends the window's reset on every answer),
capped; otherwise exponential backoff with jitter. Bounded by attempts and by total time: when the
server asks for more than the budget has left, or the backoff would overrun it, we stop at once, so an
hourly rate-limit window fails fast with a clear message instead of sleeping through a Jenkins step.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from datetime import timezone
from typing import Callable, Optional, TypeVar

import requests
import tenacity
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from port_gitops.errors import JobFailedError

log = logging.getLogger("port_gitops")

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
READ_METHODS = frozenset({"GET", "HEAD"})
EPOCH_THRESHOLD = 10_000  # a reset header's value: larger values are epoch seconds, smaller a delta
# When the window resets, after Retry-After: Port's `x-ratelimit-reset`, then the `RateLimit-Reset` of
# the IETF draft (a delta) that GitLab sends as epoch seconds; EPOCH_THRESHOLD tells the two apart.
RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset")


class RetriesExhausted(JobFailedError):
    """Attempts or time ran out; `last_error` is the final failure, `status` its HTTP code (or None)."""

    def __init__(
        self, what: str, attempts: int, reason: str, last_error: BaseException, *, limit: str = ""
    ) -> None:
        self.what = what
        self.attempts = attempts
        self.reason = reason
        self.last_error = last_error
        self.status = status_of(last_error)
        self.limit = limit  # the bound that stopped us: "5 attempts allowed", "... of the budget left"
        super().__init__(f"{what}: {self._gave_up()}: {reason}")

    def _gave_up(self) -> str:
        return f"gave up after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"

    def explained(self, cause: str) -> str:
        """The message with `cause` (what the caller knows of the last failure, e.g. which host did not
        answer) in place of the retry reason: `what: cause; gave up after N attempts (limit)`."""
        limit = f" ({self.limit})" if self.limit else ""
        return f"{self.what}: {cause}; {self._gave_up()}{limit}"


def status_of(exc: BaseException) -> Optional[int]:
    response = getattr(exc, "response", None)
    return response.status_code if isinstance(response, requests.Response) else None


def _never_sent(exc: BaseException) -> bool:
    """True when the connection was never made, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def rate_limited(response: requests.Response) -> bool:
    """A 429, or a 403 that says it is a rate limit (how GitHub answers both its primary and its
    secondary limits): `x-ratelimit-remaining: 0`, a `Retry-After`, or "rate limit" in the body."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if response.headers.get("x-ratelimit-remaining", "").strip() == "0" or response.headers.get(
        "Retry-After"
    ):
        return True
    try:
        return "rate limit" in response.text[:2000].lower()
    except (RuntimeError, ValueError):  # a streamed body already consumed
        return False


def retry_reason(exc: BaseException, *, idempotent: bool, read: Optional[bool] = None) -> Optional[str]:
    """Why `exc` deserves another attempt, or None when it must not be retried. `read` says whether
    the request only reads (None: judged by its method; GitHub's GraphQL query is a POST that reads)."""
    status = status_of(exc)
    if status is not None:
        response: requests.Response = exc.response  # type: ignore[attr-defined]
        method = (response.request.method or "").upper() if response.request is not None else ""
        if rate_limited(response):
            return f"HTTP {status} (rate limited)"
        if status in RETRYABLE_STATUSES and idempotent:
            return f"HTTP {status}"
        if status == 500 and idempotent and (method in READ_METHODS if read is None else read):
            return "HTTP 500 on a read"
        return None
    if not isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return None
    if isinstance(exc, requests.exceptions.SSLError):
        return None  # an untrusted certificate stays untrusted
    if not (idempotent or _never_sent(exc)):
        return None
    kind = "timeout" if isinstance(exc, requests.Timeout) else "connection error"
    return f"{kind} ({type(exc).__name__})"


def server_wait(response: requests.Response, now: float) -> Optional[float]:
    """Seconds the server asked us to wait (Retry-After, then a reset header), or None."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None  # unparseable: fall through to the other header, then backoff
        if when is not None:
            if when.tzinfo is None:  # "-0000" means UTC too
                when = when.replace(tzinfo=timezone.utc)
            return max(0.0, when.timestamp() - now)
    for name in RESET_HEADERS:
        reset = response.headers.get(name)
        remaining = response.headers.get(name.replace("-reset", "-remaining"), "0").strip()
        if reset and remaining == "0":
            try:
                seconds = float(reset)
            except ValueError:
                continue
            return max(0.0, seconds - now if seconds > EPOCH_THRESHOLD else seconds)
    return None


@dataclass(eq=False, repr=False)  # internal book-keeping: never compared or shown
class _Call:
    """Book-keeping for one `RetryPolicy.call`: why the last failure was retried, or why we stopped."""

    what: str
    idempotent: bool
    started: float
    attempt: int = 1
    reason: str = ""
    wait: float = 0.0
    gave_up: Optional[str] = None
    limit: str = ""
    transient: Optional[Callable[[BaseException], Optional[str]]] = None
    read: Optional[bool] = None


class RetryPolicy:
    """`policy.call(fn, what=..., idempotent=...)` runs `fn` until it succeeds or the policy gives up.

    `fn` raises requests' exceptions (an `HTTPError` must carry its response). A failure that is not
    retryable propagates unchanged; running out of attempts or time raises `RetriesExhausted`.
    `sleep` and `clock` are injectable so tests record the waits instead of sleeping.
    """

    def __init__(
        self,
        max_attempts: int = 5,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        *,
        clock: Callable[[], float] = time.monotonic,
        cap: float = 120.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.cap = cap
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._clock = clock

    def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        idempotent: bool,
        transient: Optional[Callable[[BaseException], Optional[str]]] = None,
        read: Optional[bool] = None,
    ) -> T:
        """`transient(exc)` may name (return the reason for) a failure the caller's API documents as
        passing, which is then retried like a 503; None for everything else."""
        state = _Call(what, idempotent, self._clock(), transient=transient, read=read)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda exc: self._should_retry(exc, state)),
            wait=lambda retry_state: state.wait,
            stop=tenacity.stop_never,
            sleep=self._sleep,
            before_sleep=lambda retry_state: self._log_retry(state),
            reraise=True,
        )
        try:
            return retrying(fn)
        except Exception as exc:
            if state.gave_up is not None:
                raise RetriesExhausted(what, state.attempt, state.gave_up, exc, limit=state.limit) from exc
            raise

    def _should_retry(self, exc: BaseException, state: _Call) -> bool:
        """Decide, and compute the wait, in one place (tenacity asks `retry` before `wait` and `stop`)."""
        reason = retry_reason(exc, idempotent=state.idempotent, read=state.read)
        if reason is None and state.transient is not None:
            reason = state.transient(exc)
        if reason is None:
            return False
        attempt = state.attempt
        if attempt >= self.max_attempts:
            state.limit = f"{self.max_attempts} attempts allowed"
            state.gave_up = f"{reason} ({state.limit})"
            return False
        response = getattr(exc, "response", None)
        asked = server_wait(response, time.time()) if isinstance(response, requests.Response) else None
        remaining = self.max_wait - (self._clock() - state.started)
        # A server that asks for more than the budget has left will not be ready in time: stop now.
        # Otherwise its wait is capped (servers err on the long side), and backoff fills in when it is silent.
        needed = asked if asked is not None else self._backoff(attempt)
        if needed > remaining:
            asked_text = f"the server asked for {asked:.0f} s; " if asked is not None else ""
            left = f"{max(remaining, 0):.0f} s of the {self.max_wait:.0f} s budget left"
            state.limit = f"{asked_text}{left}"
            state.gave_up = f"{reason}; {state.limit}"
            return False
        wait = min(needed, self.cap)
        state.reason, state.wait, state.attempt = reason, wait, attempt + 1
        return True

    def now(self) -> float:
        return self._clock()

    def pause(self, attempt: int, started: float) -> Optional[float]:
        """Sleep the jittered backoff before attempt `attempt + 1` of something that is not one request
        (re-deciding after a conflict) and return it; None, without sleeping, when it would overrun the
        time budget counted from `started` (a `now()`)."""
        wait = self._backoff(attempt)
        if self._clock() - started + wait > self.max_wait:
            return None
        self._sleep(wait)
        return wait

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff_max, self.backoff_initial * 2.0 ** (attempt - 1))
        return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not cryptography

    def _log_retry(self, state: _Call) -> None:
        log.info(
            "%s: %s; retry %d/%d in %.1f s",
            state.what,
            state.reason,
            state.attempt,
            self.max_attempts,
            state.wait,
        )
