"""What can go wrong talking to a Bitbucket, classified so the use case can decide (and the CLI exit).

All are `JobFailedError` (exit 1: the enrichment failed, reported to Port as FAILURE), except a
rejected credential, which is a configuration error (exit 2).
"""

from __future__ import annotations

from typing import Optional

from port_gitops.errors import EXIT_USAGE, InvalidInputError, JobFailedError


class ScmError(JobFailedError):
    """Bitbucket refused or failed a request; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: Optional[int] = None) -> None:
        self.status = status
        super().__init__(message)


class ScmConflict(ScmError):
    """409: a branch moved under us (a `parents`/`sourceCommitId` check failed). Re-read and decide again."""


class ScmNotFound(ScmError):
    """404 where something had to exist (the repository, a pull request)."""


class ScmAuthError(ScmError):
    """401: the configured credential was rejected. A configuration error, hence exit 2."""

    exit_code = EXIT_USAGE


class ScmForbidden(ScmError):
    """403: the credential works but lacks a permission or scope (the message names them when known)."""


class ScmRateLimited(ScmError):
    """429 until the retry budget ran out."""


class ScmPathNotAFile(InvalidInputError):
    """The path to write is a directory, or one of its parents is a file: writing there would replace
    the directory or delete the file, so it is refused (exit 3) before anything is written."""

    def __init__(self, path: str, commit: str, *, parent: str | None = None) -> None:
        self.path, self.parent = path, parent
        what = f"its parent {parent!r} is a file" if parent else "it is a directory"
        super().__init__(
            f"{path!r} at {commit[:12]}: {what}; expected the path of a file (existing or new)",
            field="--path/PORT_GITOPS_PATH",
        )
