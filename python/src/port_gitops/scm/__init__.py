"""The SCM seam (see base.py) and its errors. Concrete clients: `scm.bitbucket_cloud.CloudScm` (imported on
demand by the wiring, so that importing the seam does not import atlassian-python-api)."""

from __future__ import annotations

from port_gitops.scm.base import PullRequest, RepoInfo, Scm
from port_gitops.scm.errors import (
    ScmAuthError,
    ScmConflict,
    ScmError,
    ScmForbidden,
    ScmNotFound,
    ScmPathNotAFile,
    ScmRateLimited,
)

__all__ = [
    "PullRequest",
    "RepoInfo",
    "Scm",
    "ScmAuthError",
    "ScmConflict",
    "ScmError",
    "ScmForbidden",
    "ScmNotFound",
    "ScmPathNotAFile",
    "ScmRateLimited",
]
