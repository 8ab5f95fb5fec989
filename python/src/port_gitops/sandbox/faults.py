"""Fault injection and request recording, shared by every sandbox server.

A test arms a fault (`faults.add("POST", r"/src$", status=503)`) and reads what the client sent
(`server.requests`). Rules are tried in the order they were added; a rule first lets `after`
matching requests through, then fires `times` times, then retires.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

RESET_STATUS = 0
"""`RecordedRequest.status` of a request that was answered by closing the connection."""


@dataclass
class Fault:
    """One armed fault. `fired` counts how often it has struck so far."""

    method: str
    path: re.Pattern[str]
    status: Optional[int] = None
    retry_after: Optional[str] = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Optional[bytes] = None
    reset: bool = False
    delay: float = 0.0
    times: int = 1
    after: int = 0
    apply: bool = False
    fired: int = 0
    skipped: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.path.search(path) is not None

    @property
    def replaces_answer(self) -> bool:
        """False for a pure delay: the request is then served normally, only late."""
        return self.reset or self.status is not None


class FaultPlan:
    """The armed faults of one server. Thread-safe: handler threads consume rules concurrently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(
        self,
        method: str,
        path: str,
        *,
        status: Optional[int] = None,
        retry_after: Optional[str] = None,
        headers: Optional[dict[str, str]] = None,
        body: Optional[bytes] = None,
        reset: bool = False,
        delay: float = 0.0,
        times: int = 1,
        after: int = 0,
        apply: bool = False,
    ) -> Fault:
        """Arm a fault for requests whose method is `method` ("*" for any) and whose path (as sent,
        without the query string) contains a match of the regex `path`.

        `status` answers with that status and the real service's error body for it; `reset` closes
        the connection without an answer; `delay` sleeps before answering (alone: a slow but normal
        answer). `apply` carries the request out first, so a write happens and only its answer is
        lost or replaced — the case that makes a blind replay dangerous.
        """
        if times < 1 or after < 0 or delay < 0:
            raise ValueError("times must be >= 1, after and delay >= 0")
        if status is not None and reset:
            raise ValueError("a fault either answers with a status or resets the connection, not both")
        if (retry_after is not None or headers or body is not None) and status is None:
            raise ValueError("retry_after, headers and body shape a status answer: give status too")
        fault = Fault(
            method=method.upper(),
            path=re.compile(path),
            status=status,
            retry_after=retry_after,
            headers=dict(headers or {}),
            body=body,
            reset=reset,
            delay=delay,
            times=times,
            after=after,
            apply=apply,
        )
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, method: str, path: str) -> Optional[Fault]:
        """The fault that strikes this request, if any (counting it as seen or fired)."""
        with self._lock:
            for fault in self._rules:
                if not fault.matches(method, path):
                    continue
                if fault.skipped < fault.after:
                    fault.skipped += 1
                    continue
                fault.fired += 1
                if fault.fired >= fault.times:
                    self._rules.remove(fault)
                return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. Header names are lower-cased; `path` is as sent (not
    percent-decoded) without the query string; `status` is what was answered (0: connection reset)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    # When the server had the request and when it answered (time.monotonic()): what went out one
    # after the other (the bench counts Port's requests after the SCM's last answer).
    received: float = field(default=0.0, compare=False)
    answered: float = field(default=0.0, compare=False)
    # Which connection carried it: its serial among `Recorder.connections` (connection reuse is visible).
    connection: int = field(default=0, compare=False)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Recorder:
    """Every request a server answered, in order, plus optional listeners (the `sandbox` command
    prints each one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: list[int] = []
        self._listeners: list[Callable[[RecordedRequest], None]] = []

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(request)

    def connection_opened(self, serial: int) -> None:
        with self._lock:
            self._connections.append(serial)

    @property
    def connections(self) -> list[int]:
        """The serials of the connections opened (TCP and TLS handshakes done), in order: a client's
        connection reuse is visible here and in each request's `connection`."""
        with self._lock:
            return list(self._connections)

    def subscribe(self, listener: Callable[[RecordedRequest], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._connections.clear()
