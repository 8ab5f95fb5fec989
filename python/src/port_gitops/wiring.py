"""Builds the concrete SCM client from configuration; enrich.py only ever sees the `Scm` seam."""

from __future__ import annotations

from typing import TYPE_CHECKING

from port_gitops.config import BitbucketSettings
from port_gitops.repo_ref import RepoRef

if TYPE_CHECKING:
    import requests

    from port_gitops.retry import RetryPolicy
    from port_gitops.scm import Scm


def make_scm(
    settings: BitbucketSettings, repo: RepoRef, *, session: requests.Session, policy: RetryPolicy
) -> Scm:
    if settings.kind == "datacenter":
        from port_gitops.scm.datacenter import DataCenterScm

        return DataCenterScm(
            settings.api_url,
            repo.owner,
            repo.slug,
            username=settings.username,
            token=settings.token,
            access_token=settings.access_token,
            session=session,
            policy=policy,
        )
    from port_gitops.scm.cloud import CloudScm

    return CloudScm(
        settings.api_url,
        repo.owner,
        repo.slug,
        username=settings.username,
        token=settings.token,
        access_token=settings.access_token,
        session=session,
        policy=policy,
    )
