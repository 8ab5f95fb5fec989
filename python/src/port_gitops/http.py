"""The one HTTP session every outside call goes through: our User-Agent, a timeout on every request.

atlassian-python-api passes its own `timeout=75` on each call (and its sub-objects ignore any other
value), so the timeout cannot be a mere default: the transport adapter enforces ours on every
request whatever the caller passed. Likewise an explicit `--ca-bundle` is enforced there, because
requests lets `REQUESTS_CA_BUNDLE` override `Session.verify` for callers that do not pass `verify`.
Proxies come from the usual environment (`HTTPS_PROXY`, `NO_PROXY`, ...), as requests does by default.
With -v (DEBUG) the adapter logs one line per request sent — method, host and path, status, time — and
nothing else: headers carry credentials, and a query string can.

Port and Bitbucket may share one session: atlassian-python-api stores Bitbucket's credential on it
(so CloudScm insists on a session without one), and PortClient sends an explicit `auth` on every
request, so Bitbucket's credential never reaches Port.
"""

from __future__ import annotations

import logging
import time
from typing import Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from port_gitops import __version__

USER_AGENT = f"port-gitops/{__version__}"
log = logging.getLogger("port_gitops.http")

Timeout = Tuple[float, float]


class _EnforcingAdapter(HTTPAdapter):
    """Sends with our (connect, read) timeout and, when configured, our CA bundle; never retries."""

    def __init__(self, timeout: Timeout, ca_bundle: Optional[str]) -> None:
        super().__init__(max_retries=0)  # retries are ours (port_gitops.retry), never urllib3's
        self._timeout = timeout
        self._ca_bundle = ca_bundle

    def send(  # noqa: PLR0917 - requests' own signature
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Union[float, Tuple[float, float], Tuple[float, None], None] = None,
        verify: Union[bool, str] = True,
        cert: Union[bytes, str, Tuple[Union[bytes, str], Union[bytes, str]], None] = None,
        proxies: Optional[Mapping[str, str]] = None,
    ) -> requests.Response:
        del timeout
        started = time.monotonic()
        try:
            response = super().send(
                request,
                stream=stream,
                timeout=self._timeout,
                verify=self._ca_bundle or verify,
                cert=cert,
                proxies=proxies,
            )
        except Exception as exc:
            _log_request(request, type(exc).__name__, started)
            raise
        _log_request(request, str(response.status_code), started)
        return response


def _log_request(request: requests.PreparedRequest, outcome: str, started: float) -> None:
    """-v: one line per request sent (each retry too): method, host and path, status, time. Never the
    query (some APIs take tokens there), headers or bodies."""
    if log.isEnabledFor(logging.DEBUG):
        url = request.url or ""
        elapsed = round((time.monotonic() - started) * 1000)
        log.debug(
            "http: %s %s%s -> %s (%d ms)", request.method, host_of(url), urlsplit(url).path, outcome, elapsed
        )


def make_session(*, ca_bundle: Optional[str], timeout: Timeout = (5, 30)) -> requests.Session:
    """A session for Port and Bitbucket alike. `ca_bundle` None keeps requests' default verification."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    if ca_bundle:
        session.verify = ca_bundle
    adapter = _EnforcingAdapter(timeout, ca_bundle)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def host_of(url: str) -> str:
    """`host[:port]` of a URL for messages: never a path, and never userinfo (it could hold a secret)."""
    return urlsplit(url).netloc.rpartition("@")[2]


def untrusted_certificate(what: str) -> str:
    """The message for a TLS verification failure (usually an on-prem CA this machine does not trust)."""
    return (
        f"{what}: the server's TLS certificate is not trusted; point --ca-bundle (REQUESTS_CA_BUNDLE) "
        "at the CA bundle that signed it"
    )
