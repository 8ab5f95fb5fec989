"""The one HTTP session every outside call goes through: our User-Agent, a timeout on every request.

atlassian-python-api passes its own `timeout=75` on each call (and its sub-objects ignore any other
value), so the timeout cannot be a mere default: the transport adapter enforces ours on every
request whatever the caller passed. Likewise an explicit `--ca-bundle` is enforced there, because
requests lets `REQUESTS_CA_BUNDLE` override `Session.verify` for callers that do not pass `verify`.
Proxies come from the usual environment (`HTTPS_PROXY`, `NO_PROXY`, ...), as requests does by default.
With -v (DEBUG) the adapter logs one line per request sent — method, host and path, status, time — and
nothing else: headers carry credentials, and a query string can.

`preconnect()` opens a session's first connections ahead of its first requests (issue 13, preconnect.py).

Port and Bitbucket may share one session: atlassian-python-api stores Bitbucket's credential on it
(so CloudScm insists on a session without one), and PortClient sends an explicit `auth` on every
request, so Bitbucket's credential never reaches Port.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from port_gitops import __version__
from port_gitops.parallel import MAX_WORKERS
from port_gitops.preconnect import Warmup, origin

USER_AGENT = f"port-gitops/{__version__}"
log = logging.getLogger("port_gitops.http")
# Idle connections kept per host: the parallel reads plus the Port sender's and a prefetch's, so that
# none of them is discarded after use (urllib3 drops what exceeds the pool and reconnects next time).
POOL_SIZE = max(10, 2 * MAX_WORKERS)

Timeout = Tuple[float, float]


class _EnforcingAdapter(HTTPAdapter):
    """Sends with our (connect, read) timeout and, when configured, our CA bundle; never retries."""

    def __init__(self, timeout: Timeout, ca_bundle: Optional[str]) -> None:
        # Retries are ours (port_gitops.retry), never urllib3's.
        super().__init__(max_retries=0, pool_maxsize=POOL_SIZE)
        self._timeout = timeout
        self._ca_bundle = ca_bundle
        self._warmups: List[Warmup] = []
        self._warmups_lock = threading.Lock()

    def preconnect(self, url: str, settings: Mapping[str, Any], host: str) -> None:
        """Open one connection to `url` in the background, as a request with these merged `settings`
        (Session.merge_environment_settings) would (preconnect.py)."""
        warmup = Warmup(
            url,
            lambda: self.pool_for(url, settings["proxies"], settings["verify"], settings["cert"]),
            self._timeout[0],
            host,
        )
        with self._warmups_lock:
            self._warmups.append(warmup)

    def pool_for(self, url: str, proxies: Mapping[str, str], verify: Union[bool, str], cert: Any) -> Any:
        """The urllib3 pool `send` takes a connection to `url` from, chosen by requests' own calls (which
        differ by version: the pool is keyed by the TLS settings since requests 2.32)."""
        verify = self._ca_bundle or verify
        request = requests.Request("GET", url).prepare()  # never sent: only its URL is read
        # requests >= 2.32.2, and the same call under its private name in 2.32.0-2.32.1:
        select = getattr(self, "get_connection_with_tls_context", None) or getattr(
            self, "_get_connection", None
        )
        if select is not None:
            pool = select(request, verify, proxies=dict(proxies), cert=cert)
        else:  # requests 2.31
            pool = self.get_connection(url, dict(proxies))
        self.cert_verify(pool, url, verify, cert)  # type: ignore[no-untyped-call]  # as send() does
        return pool

    def _settle_warmup(self, url: str) -> None:
        """A request takes one warmed connection to its origin, if one is being opened (preconnect.py)."""
        if not self._warmups:
            return
        where = origin(url)
        with self._warmups_lock:
            warmup = next((w for w in self._warmups if w.origin == where), None)
            if warmup is not None:
                self._warmups.remove(warmup)
        if warmup is not None:
            warmup.settle()

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
        self._settle_warmup(request.url or "")
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


def preconnect(session: requests.Session, url: str, *, connections: int = 1) -> None:
    """Best effort: open `connections` connections to `url`'s host in the background, in the pool the
    session's requests to it will use (preconnect.py). Never raises; `url` comes from settings, never from
    a payload."""
    try:
        adapter = session.get_adapter(url)
        if not isinstance(adapter, _EnforcingAdapter):
            return
        settings = session.merge_environment_settings(url, {}, None, None, None)  # what request() merges
        for _ in range(connections):
            adapter.preconnect(url, settings, host_of(url))
    except Exception as exc:
        log.debug("preconnect: %s not attempted (%s)", host_of(url), type(exc).__name__)


def host_of(url: str) -> str:
    """`host[:port]` of a URL for messages: never a path, and never userinfo (it could hold a secret)."""
    return urlsplit(url).netloc.rpartition("@")[2]


def untrusted_certificate(what: str) -> str:
    """The message for a TLS verification failure (usually an on-prem CA this machine does not trust)."""
    return (
        f"{what}: the server's TLS certificate is not trusted; point --ca-bundle (REQUESTS_CA_BUNDLE) "
        "at the CA bundle that signed it"
    )
