"""Telling Port's action run what happens: a log line per step, the final status exactly once.

Port stays off the enrichment's critical path: the token and the log lines go out in order from one
background sender (the same client, so the same retries), while the SCM work goes on. Lines that queue
up while the sender waits on Port go out together, as one log entry of several lines: Port's chain of
requests then never grows longer than the SCM's, and there are never more requests than lines.

The end of a run costs one request: the final status, with the run's links and summary, in one PATCH.
Port takes nothing after a status (no log line, no link), and the pull request's link exists only once
the SCM has answered, so lines said after the outcome is settled (`conclude`: "pull request #1
created", "finished") would each cost a request before the status. They stay on stderr, and the
summary says them instead. Nothing is written to the SCM before the token is known good (`ready`): a
rejected credential is still exit 2 before any write.

Port being unreachable must not stop the enrichment: logs that cannot be delivered are dropped with
a warning, and only the final status decides exit 4 ("outcome known, Port could not be told").
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

from port_gitops.errors import PortGitopsError, UsageError
from port_gitops.result import PortRun

if TYPE_CHECKING:
    from port_gitops.port_api import PortClient

log = logging.getLogger("port_gitops")


class RunReporter:
    def __init__(self, client: Optional[PortClient], run: PortRun) -> None:
        self.client = client
        self.run = run
        self.unreachable: Optional[str] = None
        self.closed = False  # Port had already finished the run: nothing more can be added to it
        self.concluded = False  # the outcome is settled: the final status's summary says the rest
        self._changed = threading.Condition()
        self._queued: deque[Tuple[str, Optional[str]]] = deque()  # ("token", None) or ("log", line), in order
        self._sending = False
        self._stopping = False
        self._sender: Optional[threading.Thread] = None
        self._failed: Optional[UsageError] = None  # from the sender, raised in the caller's thread
        self._authenticated: Optional[threading.Event] = None  # set once the token request is answered

    @property
    def active(self) -> bool:
        return self.client is not None and self.run.id is not None

    # -- the background sender ----------------------------------------------------------------
    def _submit(self, kind: str, text: Optional[str] = None) -> None:
        with self._changed:
            if self._sender is None:
                self._stopping = False
                self._sender = threading.Thread(target=self._send_all, name="port-reporter", daemon=True)
                self._sender.start()
            self._queued.append((kind, text))
            self._changed.notify_all()

    def _next(self) -> Optional[Tuple[str, Optional[str]]]:
        """The next job; consecutive log lines already queued become one (no waiting for more)."""
        with self._changed:
            while not self._queued and not self._stopping:
                self._changed.wait()
            if not self._queued:
                return None
            kind, text = self._queued.popleft()
            if kind == "log":
                lines = [text or ""]
                while self._queued and self._queued[0][0] == "log":
                    lines.append(self._queued.popleft()[1] or "")
                text = "\n".join(lines)
            self._sending = True
            return kind, text

    def _send_all(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            try:
                if self._failed is None:
                    self._send(*job)
            except UsageError as exc:
                self._failed = exc
            except Exception as exc:  # never lose the reason: the caller's thread raises it
                self._failed = UsageError(f"Port reporting failed: {type(exc).__name__}: {exc}")
                log.debug("Port reporter failed", exc_info=True)
            finally:
                if job[0] == "token" and self._authenticated is not None:
                    self._authenticated.set()
                with self._changed:
                    self._sending = False
                    self._changed.notify_all()

    def _send(self, kind: str, text: Optional[str]) -> None:
        assert self.client is not None and self.run.id is not None
        try:
            if kind == "token":
                self.client.authenticate()
            elif not (self.unreachable or self.closed) and not self.client.log(self.run.id, text or ""):
                self._finished_before()
        except UsageError:
            raise
        except PortGitopsError as exc:
            self._unreachable(kind, exc)

    def _finished_before(self) -> None:
        self.closed = True
        log.warning("Port run %s is already finished: its log and status are left as they are", self.run.id)

    def _unreachable(self, kind: str, exc: PortGitopsError) -> None:
        # Keep going: the enrichment matters more than its log; the final status is retried.
        self.unreachable = exc.message
        if kind == "token":
            what = "Port is unreachable, continuing; the final status will be retried"
        else:
            what = "Port run log unavailable, continuing without it"
        log.warning("%s: %s", what, exc.message)

    def _raise_failure(self) -> None:
        failed, self._failed = self._failed, None
        if failed is not None:
            self.unreachable = self.unreachable or failed.message
            raise failed

    def _drain(self) -> None:
        with self._changed:
            while self._queued or self._sending:
                self._changed.wait()

    def flush(self) -> None:
        """Wait until everything queued has been sent (or given up on); raise what the sender could not
        carry on with (rejected credentials: exit 2)."""
        self._drain()
        self._raise_failure()

    def close(self) -> None:
        """Flush and stop the sender (errors were already raised, or no longer matter)."""
        self._drain()
        sender = self._sender
        if sender is not None:
            with self._changed:
                self._stopping = True
                self._changed.notify_all()
            sender.join()
            self._sender = None

    # -- what the enrichment calls ------------------------------------------------------------
    def authenticate(self) -> None:
        """Ask for the token in the background; `ready()` waits for it."""
        if not self.active:
            return
        self._authenticated = threading.Event()
        self._submit("token")

    def ready(self) -> None:
        """Before the first write: Port's answer to the token request is in, and it was not a 401
        (exit 2, nothing written). An unreachable Port only costs the log lines."""
        if self._authenticated is not None:
            self._authenticated.wait()  # the sender sets it whatever happens
        self._raise_failure()

    def log(self, message: str) -> None:
        if not self.active or self.run.reported or self.concluded:
            return
        self._raise_failure()
        self._submit("log", message)

    def conclude(self) -> None:
        """The outcome, pull request and changes are settled: the lines that follow close the run, and
        the final status's summary says them (see the module's docstring)."""
        self.concluded = True

    def finish(self, status: str, label: str, links: Sequence[str], summary: str) -> None:
        """Send the final status once, with the links and summary, after every line queued before it.
        Raises PortReportError (exit 4) when Port cannot be told."""
        if not self.active or self.run.reported:
            return
        self.flush()
        assert self.client is not None and self.run.id is not None
        self.run.status = status
        finished = self.client.finish(self.run.id, status=status, label=label, links=links, summary=summary)
        # The truth: a run Port had already finished keeps its status, and ours was not recorded.
        self.run.status, self.run.reported = finished.status, not finished.already_finished
        if finished.already_finished:
            log.warning(
                "Port run %s was already finished as %s: it was not set to %s",
                self.run.id,
                finished.status,
                status,
            )
