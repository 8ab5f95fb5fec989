"""The result object of `enrich`: printed with --json and written to --result-file on every exit."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional


@dataclass(eq=False)  # serialised by asdict, never compared
class PortRun:
    id: Optional[str] = None
    status: Optional[str] = None  # SUCCESS | FAILURE once decided
    reported: bool = False
    verified: bool = False  # the id came from a body whose webhook signature was checked and valid


@dataclass(eq=False)  # serialised by asdict, never compared
class Result:
    outcome: str = "failed"  # created | updated | unchanged | none | failed (file only: running)
    dry_run: bool = False
    scm: Optional[str] = None  # the --scm flavour, once known
    action: Optional[str] = None  # the action identifier, once known
    repository: Optional[str] = None
    branch: Optional[str] = None
    base: Optional[str] = None
    commit: Optional[str] = None
    pull_request: Optional[Dict[str, Any]] = None  # {"id": int, "url": str}
    port_run: PortRun = field(default_factory=PortRun)
    exit_code: int = 0
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    changes: List[str] = field(default_factory=list)
    planned: List[str] = field(default_factory=list)  # with --dry-run: the writes that would happen

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    def running_json(self) -> str:
        """The result file while the run goes on: what the Jenkins step trusts if this process dies."""
        return json.dumps({**self.to_dict(), "outcome": "running", "exit_code": None}, ensure_ascii=False)

    def summary(self) -> str:
        """The one-line stdout summary. A failure's reason is not repeated: the stderr `error:` line said
        it, and a console (Jenkins) shows both streams."""
        if self.outcome == "failed":
            return f"failed (exit {self.exit_code})"
        prefix = "dry run: would be " if self.dry_run else ""
        pr = self.pull_request
        where = f"{self.repository} {self.branch} -> {self.base}"
        if pr:
            return f"{prefix}{self.outcome}: pull request #{pr['id']} {pr['url']} ({where})"
        if self.outcome == "none":
            return f"{prefix}none: {self.repository} {self.base} already has the desired port.yml"
        return f"{prefix}{self.outcome}: {where}"

    @staticmethod
    def write(path: str, text: str) -> None:
        """Write the result JSON `text` atomically: a reader (the Jenkins step) never sees half a file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=".result-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
