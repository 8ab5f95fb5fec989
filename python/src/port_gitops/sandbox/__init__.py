"""Loopback stand-ins for Bitbucket (Cloud or Data Center) and Port, git-backed, with fault
injection and request recording — for the tests, `port-gitops sandbox` (manual use) and `port-gitops demo`.

    with Sandbox() as sb:
        sb.bitbucket.create_repository("acme", "payments", {"port.yml": "..."})
        sb.port.create_run("r_1")
        env = sb.env()          # point port-gitops at the sandbox
        sb.bitbucket.faults.add("POST", r"/src$", status=503)
        ...
        sb.bitbucket.requests   # what the client sent, in order

Module map: `server` (the HTTP listener), `faults` (fault plan + recorder, shared by all servers),
`gitstore` (bare repositories; `gitobjects`/`gittree` read and write their objects without a git
process per call), `codehost` (repositories, pull requests, credentials: what every Bitbucket flavour
shares), `bitbucket_cloud` (Cloud 2.0: the sandbox and
its JSON shapes; `bitbucket_cloud_api` its endpoints, `bitbucket_cloud_web` its web host), `bbql`
(Cloud's `q` filter), `bitbucket_datacenter` (Data Center REST 1.0 on one host; `_api` its
endpoints, `_web` its pages and git), `gitlab` (GitLab v4 on one host under a relative URL root;
`gitlab_api` its endpoints, `gitlab_web` its pages and git), `forms` (multipart/urlencoded parsing),
`githttp` (git's smart HTTP), `port` (Port's token and action-run endpoints), `tls` (a throw-away
CA), `example` (the seeded service).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Callable, Optional

from port_gitops.sandbox.bitbucket_cloud import BitbucketCloudSandbox
from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox
from port_gitops.sandbox.codehost import CodeHost
from port_gitops.sandbox.faults import Fault, FaultPlan, RecordedRequest
from port_gitops.sandbox.github import GitHubSandbox
from port_gitops.sandbox.gitlab import GitLabSandbox
from port_gitops.sandbox.port import PortSandbox
from port_gitops.sandbox.tls import make_server_context

__all__ = [
    "FLAVOURS",
    "BitbucketCloudSandbox",
    "BitbucketDataCenterSandbox",
    "Fault",
    "FaultPlan",
    "GitHubSandbox",
    "GitLabSandbox",
    "PortSandbox",
    "RecordedRequest",
    "Sandbox",
]

_LOOPBACK = "127.0.0.1,localhost"

# The SCM flavours the sandbox plays, by their --scm names; the wave-1 names stay accepted.
_HOSTS: dict[str, Callable[[Path], CodeHost]] = {
    "bitbucket-cloud": BitbucketCloudSandbox,
    "bitbucket-datacenter": BitbucketDataCenterSandbox,
    "gitlab": GitLabSandbox,
    "github": GitHubSandbox,
}
FLAVOURS = tuple(_HOSTS)
_ALIASES = {"cloud": "bitbucket-cloud", "datacenter": "bitbucket-datacenter"}


class Sandbox:
    """An SCM and Port on 127.0.0.1, at free ports, until `close()`. `flavour` names the SCM played, by
    its --scm name (FLAVOURS): "bitbucket-cloud" (an API host and a web host), "bitbucket-datacenter"
    (one server under the context path /bitbucket; `workspace` is then its project key), ... All share
    the git store and fault machinery. `scm` is the code host (`bitbucket` is its wave-1 name).
    With `tls=True` every server speaks HTTPS with a certificate from a throw-away CA (`ca_bundle`)."""

    def __init__(
        self, tls: bool = False, *, flavour: str = "bitbucket-cloud", workspace: str = "acme"
    ) -> None:
        flavour = _ALIASES.get(flavour, flavour)
        if flavour not in _HOSTS:
            raise ValueError(f"unknown SCM flavour {flavour!r}: expected one of {', '.join(FLAVOURS)}")
        self.tls = tls
        self.flavour = flavour
        self.workspace = workspace
        self._directory = tempfile.TemporaryDirectory(prefix="port-gitops-sandbox-")
        self.root = Path(self._directory.name)
        self.scm: CodeHost = _HOSTS[flavour](self.root / "scm")
        self.bitbucket = self.scm
        self.port = PortSandbox()
        self.ca_bundle: Optional[Path] = None

    def start(self) -> Sandbox:
        context = None
        if self.tls:
            context, self.ca_bundle = make_server_context(self.root / "tls")
        self.scm.start(context)
        self.port.start(context)
        return self

    def close(self) -> None:
        try:
            self.scm.close()
            self.port.close()
        finally:
            self._directory.cleanup()  # whatever failed (or was interrupted) above

    def __enter__(self) -> Sandbox:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, kind: Optional[type[BaseException]], value: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    @property
    def scm_url(self) -> str:
        return self.scm.url

    @property
    def scm_web_url(self) -> str:
        return self.scm.web_url

    bitbucket_url, bitbucket_web_url = scm_url, scm_web_url  # wave-1 names

    @property
    def port_url(self) -> str:
        return self.port.url

    def env(self) -> dict[str, str]:
        """The environment that points port-gitops at this sandbox (loopback added to NO_PROXY, so
        a proxy configured on the machine does not swallow the requests)."""
        no_proxy = ",".join(
            filter(None, [os.environ.get("NO_PROXY") or os.environ.get("no_proxy"), _LOOPBACK])
        )
        env = {
            "PORT_GITOPS_SCM": self.flavour,
            **self.scm.client_env(self.workspace),
            "PORT_BASE_URL": self.port.url,
            "PORT_CLIENT_ID": self.port.client_id,
            "PORT_CLIENT_SECRET": self.port.client_secret,
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }
        if self.ca_bundle is not None:
            env["REQUESTS_CA_BUNDLE"] = str(self.ca_bundle)
            env["GIT_SSL_CAINFO"] = str(self.ca_bundle)
        return env
