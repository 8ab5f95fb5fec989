"""Telling Port's action run what happens: a log line per step, the final status exactly once.

Port stays off the enrichment's critical path: the token, the log lines and the run's links and summary
go out in order from one background sender (the same client, so the same retries), while the SCM work
goes on; only the final status is sent in line, after everything queued before it. Lines that queue up
while the sender waits on Port go out together, as one log entry of several lines: Port's chain of
requests then never grows longer than the SCM's, and there are never more requests than lines. The
final status travels with the lines still queued, as the last log entry (`terminationStatus`), so the
end of a run costs one request to Port once its links and summary are set: `describe` sends them as
soon as the outcome is known (they cannot change after the status). Nothing is written to the SCM
before the token is known good (`ready`): a rejected credential is still exit 2 before any write.

Port being unreachable must not stop the enrichment: logs that cannot be delivered are dropped with
a warning, and only the final status decides exit 4 ("outcome known, Port could not be told").
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple

from port_gitops.errors import PortGitopsError, PortReportError, UsageError
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
        self._changed = threading.Condition()
        # ("token", None), ("log", line) or ("describe", (links, summary)), in order
        self._queued: deque[Tuple[str, Any]] = deque()
        self._described: Optional[Tuple[Tuple[str, ...], str]] = None  # what Port holds (links, summary)
        self._describe_failed: Optional[PortReportError] = None  # Port not told: exit 4 at `finish`
        self._sending = False
        self._stopping = False
        self._sender: Optional[threading.Thread] = None
        self._failed: Optional[UsageError] = None  # from the sender, raised in the caller's thread
        self._authenticated: Optional[threading.Event] = None  # set once the token request is answered

    @property
    def active(self) -> bool:
        return self.client is not None and self.run.id is not None

    # -- the background sender ----------------------------------------------------------------
    def _submit(self, kind: str, text: Any = None) -> None:
        with self._changed:
            if self._sender is None:
                self._stopping = False
                self._sender = threading.Thread(target=self._send_all, name="port-reporter", daemon=True)
                self._sender.start()
            self._queued.append((kind, text))
            self._changed.notify_all()

    def _next(self) -> Optional[Tuple[str, Any]]:
        """The next job; consecutive log lines already queued become one (no waiting for more)."""
        with self._changed:
            while not self._queued and not self._stopping:
                self._changed.wait()
            if not self._queued:
                return None
            kind, text = self._queued.popleft()
            if kind == "log":
                lines = [text]
                while self._queued and self._queued[0][0] == "log":
                    lines.append(self._queued.popleft()[1])
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

    def _send(self, kind: str, text: Any) -> None:
        assert self.client is not None and self.run.id is not None
        try:
            if kind == "token":
                self.client.authenticate()
            elif kind == "describe":
                self._describe(text)
            elif not (self.unreachable or self.closed) and not self.client.log(self.run.id, text):
                self._finished_before()
        except UsageError:
            raise
        except PortGitopsError as exc:
            if kind == "describe":  # like a failed final status: not replayed, Port was not told
                self._describe_failed = PortReportError(exc.message)
                return
            self._unreachable(kind, exc)

    def _describe(self, description: Tuple[Tuple[str, ...], str]) -> None:
        assert self.client is not None and self.run.id is not None
        if self.unreachable or self.closed or description == self._described:
            return
        links, summary = description
        if self.client.describe(self.run.id, links=links, summary=summary):
            self._described = description
        else:
            self._finished_before()

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
        if not self.active or self.run.reported:
            return
        self._raise_failure()
        self._submit("log", message)

    def describe(self, links: Sequence[str], summary: str) -> None:
        """The run's links and summary, sent in turn as soon as the outcome is known (before its last
        lines), so that the final status can then travel with those lines in one request."""
        if not self.active or self.run.reported:
            return
        self._submit("describe", (tuple(links), summary))

    def _take_lines(self) -> list[str]:
        """The log lines still queued (not yet picked up by the sender), out of the queue, in order."""
        with self._changed:
            lines = [text for kind, text in self._queued if kind == "log"]
            kept = [job for job in self._queued if job[0] != "log"]
            self._queued.clear()
            self._queued.extend(kept)
            return lines

    def finish(self, status: str, label: str, links: Sequence[str], summary: str) -> None:
        """Send the final status once, after everything queued; the lines still queued carry it (one
        request, once the links and summary are set). Raises PortReportError (exit 4) when Port
        cannot be told."""
        if not self.active or self.run.reported:
            return
        lines = self._take_lines()
        self.flush()
        assert self.client is not None and self.run.id is not None
        failed, self._describe_failed = self._describe_failed, None
        if failed is not None:
            raise failed
        self.run.status = status
        description = (tuple(links), summary)
        if lines and not self.unreachable:
            self._describe(description)  # in line only when the outcome changed since (a failure)
        if self._described != description or self.closed:
            lines = []  # the status goes with the links and summary (or meets the run's end) instead
        finished = self.client.finish(
            self.run.id, status=status, label=label, links=links, summary=summary, lines=lines
        )
        # The truth: a run Port had already finished keeps its status, and ours was not recorded.
        self.run.status, self.run.reported = finished.status, not finished.already_finished
        if finished.already_finished:
            log.warning(
                "Port run %s was already finished as %s: it was not set to %s",
                self.run.id,
                finished.status,
                status,
            )
