"""Loopback stand-ins for Bitbucket Cloud and Port, git-backed, with fault injection and request
recording — for the tests, `port-gitops sandbox` (manual use) and `port-gitops demo`.

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
(Cloud's `q` filter), `forms` (multipart/urlencoded parsing), `githttp` (git's smart HTTP), `port`
(Port's token and action-run endpoints), `tls` (a throw-away CA), `example` (the seeded service).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Optional

from port_gitops.sandbox.bitbucket_cloud import BitbucketCloudSandbox
from port_gitops.sandbox.faults import Fault, FaultPlan, RecordedRequest
from port_gitops.sandbox.port import PortSandbox
from port_gitops.sandbox.tls import make_server_context

__all__ = ["BitbucketCloudSandbox", "Fault", "FaultPlan", "PortSandbox", "RecordedRequest", "Sandbox"]

_LOOPBACK = "127.0.0.1,localhost"


class Sandbox:
    """Bitbucket Cloud (API host + web host) and Port on 127.0.0.1, at free ports, until `close()`.
    With `tls=True` every server speaks HTTPS with a certificate from a throw-away CA (`ca_bundle`).
    `flavour` names the Bitbucket flavour played; "cloud" is the only one so far ("datacenter" comes
    with its own issue, beside Cloud on the same git store and fault machinery)."""

    def __init__(self, tls: bool = False, *, flavour: str = "cloud", workspace: str = "acme") -> None:
        if flavour != "cloud":
            raise ValueError(f"the {flavour!r} Bitbucket sandbox is not available yet (only 'cloud')")
        self.tls = tls
        self.flavour = flavour
        self.workspace = workspace
        self._directory = tempfile.TemporaryDirectory(prefix="port-gitops-sandbox-")
        self.root = Path(self._directory.name)
        self.bitbucket = BitbucketCloudSandbox(self.root / "bitbucket")
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
        env = {
            "BITBUCKET_KIND": self.flavour,
            "BITBUCKET_URL": self.bitbucket.url,
            "BITBUCKET_WEB_URL": self.bitbucket.web_url,
            "BITBUCKET_WORKSPACE": self.workspace,
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
