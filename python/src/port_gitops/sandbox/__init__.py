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
`gitstore` (bare repositories written with git plumbing), `codehost` (repositories, pull requests,
credentials: what every Bitbucket flavour shares), `bitbucket_cloud` (Cloud 2.0: the sandbox and
its JSON shapes; `bitbucket_cloud_api` its endpoints, `bitbucket_cloud_web` its web host), `bbql`
(Cloud's `q` filter), `bitbucket_datacenter` (Data Center REST 1.0 on one host; `_api` its
endpoints, `_web` its pages and git), `forms` (multipart/urlencoded parsing), `githttp` (git's smart
HTTP), `port` (Port's token and action-run endpoints), `tls` (a throw-away CA), `example` (the
seeded service).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Optional

from port_gitops.sandbox.bitbucket_cloud import BitbucketCloudSandbox
from port_gitops.sandbox.bitbucket_datacenter import BitbucketDataCenterSandbox
from port_gitops.sandbox.codehost import CodeHost
from port_gitops.sandbox.faults import Fault, FaultPlan, RecordedRequest
from port_gitops.sandbox.port import PortSandbox
from port_gitops.sandbox.tls import make_server_context

__all__ = [
    "BitbucketCloudSandbox",
    "BitbucketDataCenterSandbox",
    "Fault",
    "FaultPlan",
    "PortSandbox",
    "RecordedRequest",
    "Sandbox",
]

_LOOPBACK = "127.0.0.1,localhost"


class Sandbox:
    """Bitbucket and Port on 127.0.0.1, at free ports, until `close()`. `flavour` names the Bitbucket
    played: "cloud" (an API host and a web host) or "datacenter" (one server under the context path
    /bitbucket; `workspace` is then its project key). Both share the git store and fault machinery.
    With `tls=True` every server speaks HTTPS with a certificate from a throw-away CA (`ca_bundle`)."""

    def __init__(self, tls: bool = False, *, flavour: str = "cloud", workspace: str = "acme") -> None:
        if flavour not in ("cloud", "datacenter"):
            raise ValueError(f"unknown Bitbucket flavour {flavour!r}: expected 'cloud' or 'datacenter'")
        self.tls = tls
        self.flavour = flavour
        self.workspace = workspace
        self._directory = tempfile.TemporaryDirectory(prefix="port-gitops-sandbox-")
        self.root = Path(self._directory.name)
        self.bitbucket: CodeHost = (
            BitbucketCloudSandbox(self.root / "bitbucket")
            if flavour == "cloud"
            else BitbucketDataCenterSandbox(self.root / "bitbucket")
        )
        self.port = PortSandbox()
        self.ca_bundle: Optional[Path] = None

    def start(self) -> Sandbox:
        context = None
        if self.tls:
            context, self.ca_bundle = make_server_context(self.root / "tls")
        self.bitbucket.start(context)
        self.port.start(context)
        return self

    def close(self) -> None:
        self.bitbucket.close()
        self.port.close()
        self._directory.cleanup()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: Optional[type[BaseException]], value: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    @property
    def bitbucket_url(self) -> str:
        return self.bitbucket.url

    @property
    def bitbucket_web_url(self) -> str:
        return self.bitbucket.web_url

    @property
    def port_url(self) -> str:
        return self.port.url

    def env(self) -> dict[str, str]:
        """The environment that points port-gitops at this sandbox (loopback added to NO_PROXY, so
        a proxy configured on the machine does not swallow the requests)."""
        no_proxy = ",".join(
            filter(None, [os.environ.get("NO_PROXY") or os.environ.get("no_proxy"), _LOOPBACK])
        )
        # Data Center: the web URL defaults to the server URL, and the owner is a project key.
        where = (
            {"BITBUCKET_WEB_URL": self.bitbucket.web_url, "BITBUCKET_WORKSPACE": self.workspace}
            if self.flavour == "cloud"
            else {"BITBUCKET_PROJECT": self.workspace.upper()}
        )
        env = {
            "BITBUCKET_KIND": self.flavour,
            "BITBUCKET_URL": self.bitbucket.url,
            **where,
            "BITBUCKET_USERNAME": self.bitbucket.username,
            "BITBUCKET_TOKEN": self.bitbucket.token,
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
