"""Builds the concrete SCM client from configuration; enrich.py only ever sees the `Scm` seam."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Mapping, NamedTuple, Optional

from port_gitops import config, repo_ref
from port_gitops.config import ScmSettings
from port_gitops.errors import PortGitopsError, UsageError
from port_gitops.repo_ref import RepoRef

if TYPE_CHECKING:
    import requests

    from port_gitops.port_api import PortClient
    from port_gitops.retry import RetryPolicy
    from port_gitops.scm import Scm


def make_scm(settings: ScmSettings, repo: RepoRef, *, session: requests.Session, policy: RetryPolicy) -> Scm:
    """The client of the flavour `settings.scm` names (its module is imported only when used)."""
    if isinstance(settings, config.GitLabSettings):
        from port_gitops.scm.gitlab import GitLabScm

        token = settings.token or ""
        return GitLabScm(
            settings.api_url,
            repo.owner,
            repo.slug,
            token=token,
            session=session,
            policy=policy,
            url_setting=settings.url_setting,
        )
    if isinstance(settings, config.GitHubSettings):
        from port_gitops.scm.github import GitHubScm

        return GitHubScm(
            settings.api_url,
            repo.owner,
            repo.slug,
            token=settings.token,
            app_id=settings.app_id,
            app_private_key=settings.app_private_key,
            session=session,
            policy=policy,
            url_setting=settings.url_setting,
        )
    if settings.scm == "bitbucket-datacenter":
        from port_gitops.scm.bitbucket_datacenter import DataCenterScm

        return DataCenterScm(
            settings.api_url,
            repo.owner,
            repo.slug,
            username=settings.username,
            token=settings.token,
            access_token=settings.access_token,
            session=session,
            policy=policy,
            url_setting=settings.url_setting,
        )
    if settings.scm != "bitbucket-cloud":
        raise UsageError(f"--scm {settings.scm} has no client in this version")
    from port_gitops.scm.bitbucket_cloud import CloudScm

    return CloudScm(
        settings.api_url,
        repo.owner,
        repo.slug,
        username=settings.username,
        token=settings.token,
        access_token=settings.access_token,
        session=session,
        policy=policy,
        url_setting=settings.url_setting,
    )


class RunSessions(NamedTuple):
    """An enrich run's sessions: one per outside system, so that nothing one library puts on its session
    (atlassian-python-api stores Bitbucket's credential there) can reach the other's requests."""

    port: requests.Session
    scm: requests.Session


def run_sessions(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> RunSessions:
    """The run's sessions, their first connections opened now in the background (issue 13): the TCP and
    TLS handshakes overlap the imports, the mapping and the rendering instead of delaying the first
    requests. Called first thing, before the signature is checked: only configured hosts (settings, never
    a payload value) see a handshake, and nothing else. Never raises: a setting's error is raised, and
    reported, where the command reads it."""
    from port_gitops.http import make_session, preconnect

    sessions = RunSessions(
        port=make_session(ca_bundle=args.ca_bundle), scm=make_session(ca_bundle=args.ca_bundle)
    )
    try:
        scm = config.scm_settings(args, environ)
        preconnect(sessions.scm, scm.api_url, connections=first_connections(scm))
    except PortGitopsError:
        pass
    try:
        port = config.port_settings(args, environ)
        if port.has_credentials and not args.dry_run and (args.payload is not None or args.run_id):
            preconnect(sessions.port, port.base_url)  # the token goes first
    except PortGitopsError:
        pass
    return sessions


def first_connections(settings: ScmSettings) -> int:
    """How many connections a flavour's client opens at once for its first reads, so that the warm-up
    opens no more than a run uses: Cloud reads the default reviewers beside the repository; Data Center
    the default branch, our branch and the repository's id at once (a re-run's next reads, port.yml at
    both tips and the open pull request, go out together on the same three)."""
    return {"bitbucket-cloud": 2, "bitbucket-datacenter": 3}.get(settings.scm, 1)


def repository(settings: ScmSettings, *, repo_url: Optional[str], entity: str) -> RepoRef:
    """Which repository the payload names, checked against the flavour's host and allow-list."""
    from port_gitops.endpoint import without_userinfo

    web_url = without_userinfo(settings.web_url)  # it appears in the messages
    if isinstance(settings, config.GitLabSettings):
        return repo_ref.gitlab_repository(
            repo_url=repo_url,
            entity=entity,
            web_url=web_url,
            group=settings.owner,
            allowed_groups=settings.allowed_owners,
        )
    if isinstance(settings, config.GitHubSettings):
        return repo_ref.github_repository(
            repo_url=repo_url,
            entity=entity,
            web_url=web_url,
            owner=settings.owner,
            allowed_owners=settings.allowed_owners,
        )
    if settings.scm == "bitbucket-datacenter":
        return repo_ref.datacenter_repository(
            repo_url=repo_url,
            entity=entity,
            web_url=web_url,
            project=settings.owner,
            allowed_projects=settings.allowed_owners,
        )
    return repo_ref.cloud_repository(
        repo_url=repo_url,
        entity=entity,
        web_url=web_url,
        workspace=settings.owner,
        allowed_workspaces=settings.allowed_owners,
    )


def port_client_from_args(args: argparse.Namespace, *, missing: str) -> PortClient:
    """The Port client of `report`, `setup` and `validate --from-port`: credentials are required
    (`missing` is the usage error when they are not set), the session and retry bounds come from flags."""
    from port_gitops.http import make_session
    from port_gitops.port_api import PortClient
    from port_gitops.retry import RetryPolicy

    port = config.port_settings(args)
    if not port.has_credentials:
        raise UsageError(missing)
    retry = config.retry_settings(args)
    return PortClient(
        port.base_url,
        port.client_id or "",
        port.client_secret or "",
        session=make_session(ca_bundle=args.ca_bundle),
        policy=RetryPolicy(max_attempts=retry.max_attempts, max_wait=retry.max_wait),
        url_setting=port.url_setting,
    )
