"""Where a client's requests go and which setting points there, so that a failure to connect names both.

A refused connection, a host that does not resolve, a timeout, a TLS failure or a failing proxy is
told as `what: cannot connect to HOST[:PORT] (SETTING): CAUSE`, with the proxy variable and the
proxy's host when requests sends through one (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, unless
`NO_PROXY` exempts the host). Hosts only: never userinfo (it may hold a secret), a path or a query.
The classifiers (`scm/common.py` RequestRunner, `port_api.py`) ask this module, for every flavour.
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Iterator, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

import requests
import requests.utils

from port_gitops.http import host_of, untrusted_certificate


class Endpoint(NamedTuple):
    """A service's base URL and the setting that names it (e.g. `--bitbucket-url/BITBUCKET_URL`)."""

    url: str
    setting: Optional[str] = None  # None: built without configuration (a library caller, a test)

    @property
    def host(self) -> str:
        return host_of(self.url)

    def where(self) -> str:
        """`HOST (SETTING)`, and the proxy in between when one is used."""
        text = f"{self.host} ({self.setting})" if self.setting else self.host
        proxy = proxy_for(self.url)
        return f"{text} through the proxy {proxy[1]} ({proxy[0]})" if proxy else text

    def unreachable(self, exc: BaseException) -> Optional[str]:
        """`cannot connect to ...: CAUSE` when `exc` is a failure to connect or to get an answer; None
        for anything else (an HTTP answer is the server speaking, not a connection failure)."""
        if not isinstance(exc, requests.RequestException) or isinstance(exc, requests.HTTPError):
            return None
        if isinstance(exc, requests.exceptions.ProxyError):
            proxy = proxy_for(self.url)
            via = f"the proxy {proxy[1]} ({proxy[0]})" if proxy else "the proxy"
            target = f"{self.host} ({self.setting})" if self.setting else self.host
            return f"cannot connect to {via} for {target}: {_cause(exc)}"
        if not isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            return None
        return f"cannot connect to {self.where()}: {_cause(exc)}"

    def tls_failure(self, what: str, exc: requests.exceptions.SSLError) -> str:
        """The message for a TLS failure (a configuration error): an untrusted certificate says which
        CA bundle setting to use; any other handshake failure says what TLS said."""
        if any(isinstance(e, ssl.SSLCertVerificationError) for e in _chain(exc)):
            return untrusted_certificate(f"{what}: {self.where()}")
        return f"{what}: cannot connect to {self.where()}: {_cause(exc)}"


def without_userinfo(url: str) -> str:
    """`url` for messages: a configured URL may carry `user:secret@`, which is never shown."""
    parts = urlsplit(url)
    return parts._replace(netloc=host_of(url)).geturl() if "@" in parts.netloc else url


def proxy_for(url: str, environ: Mapping[str, str] = os.environ) -> Optional[Tuple[str, str]]:
    """(variable, proxy host) of the proxy requests would use for `url`, or None (no proxy, or NO_PROXY
    exempts the host). The variable is named as set (`HTTPS_PROXY` or `https_proxy`, ...)."""
    proxies = requests.utils.get_environ_proxies(url)
    scheme = urlsplit(url).scheme
    for key in (scheme, "all"):  # requests' order (select_proxy) for what the environment can set
        if proxies.get(key):
            names = [n for n in environ if n.lower() == f"{key}_proxy" and environ[n]]
            # The lower-case name wins when both are set, as in urllib's getproxies_environment.
            name = min(names, key=lambda n: n != n.lower()) if names else f"{key.upper()}_PROXY"
            return name, host_of(proxies[key])
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: requests -> urllib3 (`reason`, `args[0]`) -> the socket's OSError."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        nested = [getattr(item, "reason", None), getattr(item, "original_error", None)]
        nested += [*item.args[:2], item.__cause__, item.__context__]
        todo.extend(e for e in nested if isinstance(e, BaseException))


def _cause(exc: BaseException) -> str:
    """What went wrong, in a few words, from the innermost error that says it."""
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, socket.gaierror) for e in chain) or "Failed to resolve" in text:
        return "the host name does not resolve (DNS)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS failed ({_short(chain)})"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(e, (TimeoutError, socket.timeout)) for e in chain
    ):
        return "timed out connecting"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "the connection was reset"
    return f"the connection failed ({_short(chain)})"


def _short(chain: list[BaseException]) -> str:
    """The innermost socket or TLS error's name and text, bounded; never requests' or urllib3's text,
    which quotes the request's path and query."""
    leaf = next((e for e in reversed(chain) if isinstance(e, OSError) and not _library(e)), None)
    if leaf is None:
        return type(chain[0]).__name__
    text = " ".join(str(leaf).split())[:160]
    return f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__


def _library(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("requests", "urllib3")
