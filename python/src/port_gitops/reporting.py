"""Telling Port's action run what happens: a log line per step, the final status exactly once.

Port being unreachable must not stop the enrichment: logs that cannot be delivered are dropped with
a warning, and only the final status decides exit 4 ("outcome known, Port could not be told").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional, Sequence

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

    @property
    def active(self) -> bool:
        return self.client is not None and self.run.id is not None

    def authenticate(self) -> None:
        """Fail fast on rejected credentials (exit 2); an unreachable Port only costs the log lines."""
        if not self.active:
            return
        assert self.client is not None
        try:
            self.client.authenticate()
        except UsageError:
            raise
        except PortGitopsError as exc:
            self.unreachable = exc.message
            log.warning("Port is unreachable, continuing; the final status will be retried: %s", exc.message)

    def log(self, message: str) -> None:
        if not self.active or self.unreachable or self.run.reported:
            return
        assert self.client is not None and self.run.id is not None
        try:
            self.client.log(self.run.id, message)
        except UsageError:
            raise
        except PortGitopsError as exc:
            # Keep going: the enrichment matters more than its log; the final status is retried anyway.
            self.unreachable = exc.message
            log.warning("Port run log unavailable, continuing without it: %s", exc.message)

    def finish(self, status: str, label: str, links: Sequence[str], summary: str) -> None:
        """Send the final status once. Raises PortReportError (exit 4) when Port cannot be told."""
        if not self.active or self.run.reported:
            return
        assert self.client is not None and self.run.id is not None
        self.run.status = status
        self.client.finish(self.run.id, status=status, label=label, links=links, summary=summary)
        self.run.reported = True
