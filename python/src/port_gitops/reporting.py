"""Telling Port's action run what happens: a log line per step, the final status exactly once.

Port stays off the enrichment's critical path: the token and the log lines go out in order from one
background sender (the same client, so the same retries), while the SCM work goes on; only the final
status is sent in line, after every queued line has gone (`finish` flushes first), so Port shows the
lines in the order they happened and before the status. Nothing is written to the SCM before the token
is known good (`ready`): a rejected credential is still exit 2 before any write.

Port being unreachable must not stop the enrichment: logs that cannot be delivered are dropped with
a warning, and only the final status decides exit 4 ("outcome known, Port could not be told").
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Callable, Optional, Sequence

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
        self._jobs: queue.Queue[Optional[Callable[[], None]]] = queue.Queue()
        self._sender: Optional[threading.Thread] = None
        self._failed: Optional[UsageError] = None  # from the sender, raised in the caller's thread
        self._authenticated: Optional[threading.Event] = None  # set once the token request is answered

    @property
    def active(self) -> bool:
        return self.client is not None and self.run.id is not None

    # -- the background sender ----------------------------------------------------------------
    def _submit(self, job: Callable[[], None]) -> None:
        if self._sender is None:
            self._sender = threading.Thread(target=self._send_all, name="port-reporter", daemon=True)
            self._sender.start()
        self._jobs.put(job)

    def _send_all(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._failed is None:
                    job()
            except UsageError as exc:
                self._failed = exc
            except Exception as exc:  # never lose the reason: the caller's thread raises it
                self._failed = UsageError(f"Port reporting failed: {type(exc).__name__}: {exc}")
                log.debug("Port reporter failed", exc_info=True)
            finally:
                self._jobs.task_done()

    def _raise_failure(self) -> None:
        failed, self._failed = self._failed, None
        if failed is not None:
            self.unreachable = self.unreachable or failed.message
            raise failed

    def flush(self) -> None:
        """Wait until everything queued has been sent (or given up on); raise what the sender could not
        carry on with (rejected credentials: exit 2)."""
        if self._sender is not None:
            self._jobs.join()
        self._raise_failure()

    def close(self) -> None:
        """Flush and stop the sender (errors were already raised, or no longer matter)."""
        if self._sender is not None:
            self._jobs.join()
            self._jobs.put(None)
            self._sender.join()
            self._sender = None

    # -- what the enrichment calls ------------------------------------------------------------
    def authenticate(self) -> None:
        """Ask for the token in the background; `ready()` waits for it."""
        if not self.active:
            return
        assert self.client is not None
        client, answered = self.client, threading.Event()
        self._authenticated = answered

        def token() -> None:
            try:
                client.authenticate()
            except UsageError:
                raise
            except PortGitopsError as exc:
                self.unreachable = exc.message
                log.warning(
                    "Port is unreachable, continuing; the final status will be retried: %s", exc.message
                )
            finally:
                answered.set()

        self._submit(token)

    def ready(self) -> None:
        """Before the first write: Port's answer to the token request is in, and it was not a 401
        (exit 2, nothing written). An unreachable Port only costs the log lines."""
        if self._authenticated is not None:
            self._authenticated.wait()  # the job sets it whatever happens
        self._raise_failure()

    def log(self, message: str) -> None:
        if not self.active or self.run.reported:
            return
        self._raise_failure()
        assert self.client is not None and self.run.id is not None
        client, run_id = self.client, self.run.id

        def send() -> None:
            if self.unreachable:
                return
            try:
                client.log(run_id, message)
            except UsageError:
                raise
            except PortGitopsError as exc:
                # Keep going: the enrichment matters more than its log; the final status is retried.
                self.unreachable = exc.message
                log.warning("Port run log unavailable, continuing without it: %s", exc.message)

        self._submit(send)

    def finish(self, status: str, label: str, links: Sequence[str], summary: str) -> None:
        """Send the final status once, after every queued line. Raises PortReportError (exit 4) when
        Port cannot be told."""
        if not self.active or self.run.reported:
            return
        self.flush()
        assert self.client is not None and self.run.id is not None
        self.run.status = status
        self.client.finish(self.run.id, status=status, label=label, links=links, summary=summary)
        self.run.reported = True
