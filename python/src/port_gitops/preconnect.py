"""Connection warm-up (issue 13): the TCP and TLS handshakes of a run's first requests happen while the
process is still importing and mapping, so those requests find their connections open.

requests and urllib3 have no public way to open a connection ahead of a request. The least fragile one:
take the very pool `HTTPAdapter.send` would take a connection to that URL from (http.py selects it with
requests' own adapter calls), take a connection from that pool, connect it as the pool does, and put it
back. The pool made the connection, so the proxy (a CONNECT tunnel through HTTPS_PROXY unless NO_PROXY),
the CA bundle, client certificate, verification, SNI and socket options are exactly the real request's,
and nothing else is configured twice. Nothing but the handshakes is sent (through a proxy, the CONNECT the
request would send). The pool calls used (`_get_conn`, `_put_conn`, `_prepare_proxy`) are urllib3's own
`urlopen` steps, the same in 1.26 and 2.x.

TLS 1.3 servers send session tickets after the handshake. Left unread, they make the idle socket
readable, which urllib3 takes for a closed connection (it would connect again): the warm-up keeps the
connection and reads them (handshake records only, never a byte of an answer) until the first request to
that host asks for it (`Warmup.settle`) or until its deadline.

Best effort: one attempt, no retries, bounded by the connect timeout, in a daemon thread (exit never waits
for it); any failure is a debug line and changes nothing: the request connects itself and reports as ever.
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
import time
from typing import Any, Callable, Tuple
from urllib.parse import urlsplit

log = logging.getLogger("port_gitops.http")

Origin = Tuple[str, str, int]


def origin(url: str) -> Origin:
    """What a connection is good for: scheme, host and port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


class Warmup:
    """One connection opened in the background into the pool `pool_for()` returns."""

    def __init__(self, url: str, pool_for: Callable[[], Any], timeout: float, host: str) -> None:
        self.origin = origin(url)
        self._pool_for = pool_for
        self._timeout = timeout
        self._host = host  # for the debug line: host[:port] only
        self._deadline = time.monotonic() + timeout
        self._wake, self._waker = socket.socketpair()  # wakes the ticket reading when a request comes
        self._wake_lock = threading.Lock()
        self._wanted = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="port-gitops-preconnect", daemon=True)
        self._thread.start()

    def settle(self) -> None:
        """A request to this origin is about to take a connection: hand it over now (stop reading tickets),
        and wait (at most until the deadline) for a handshake in progress, which is nearer done than a new
        one would be. A warm-up that failed or timed out leaves the request to connect by itself."""
        with self._wake_lock:
            if not self._wanted.is_set():
                self._wanted.set()
                if self._waker.fileno() != -1:  # else the warm-up has ended
                    self._waker.send(b"\0")
        # Once connected, the hand-over is immediate: wait for it even past the deadline (a thread starved
        # of CPU at that moment must not leave the request to open a second connection).
        bound = self._timeout if self._connected.is_set() else self._deadline - time.monotonic()
        self._thread.join(max(0.0, bound))

    def _run(self) -> None:
        self._started = time.monotonic()
        try:
            self._open(self._pool_for())
        except Exception as exc:  # best effort: the real request connects and reports by itself
            self._say(f"failed ({type(exc).__name__}); the first request connects by itself")
        finally:
            with self._wake_lock:
                self._wake.close()
                self._waker.close()

    def _say(self, what: str) -> None:
        elapsed = round((time.monotonic() - self._started) * 1000)
        log.debug("preconnect: %s %s (%d ms)", self._host, what, elapsed)

    def _open(self, pool: Any) -> None:
        from urllib3.util.proxy import connection_requires_http_tunnel

        conn = pool._get_conn()
        keep = None
        try:
            if getattr(conn, "sock", None) is not None:
                keep = conn  # the pool has an open one already
                return
            conn.timeout = self._timeout
            if pool.proxy is not None and connection_requires_http_tunnel(
                pool.proxy, pool.proxy_config, pool.scheme
            ):
                pool._prepare_proxy(conn)  # CONNECT, then TLS to the server, as urlopen does
            else:
                conn.connect()
            self._connected.set()
            self._say("connected")
            self._read_tickets(conn.sock)
            keep = conn
        finally:
            if keep is None:
                conn.close()
            pool._put_conn(keep)

    def _read_tickets(self, sock: Any) -> None:
        """Process what a TLS 1.3 server sends after its handshake (session tickets) until the connection
        is wanted or the deadline passes, and once more at the end, so that nothing already received is
        left unread when the connection goes back. Raises when the server closed it or sent anything else."""
        if not isinstance(sock, ssl.SSLSocket) or sock.version() != "TLSv1.3":
            return  # TLS 1.2 has no records after the handshake; a plain or TLS-in-TLS socket: hand over
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while True:
                _read_handshake_records(sock)
                remaining = self._deadline - time.monotonic()
                if self._wanted.is_set() or remaining <= 0:
                    return
                selector.select(remaining)


def _read_handshake_records(sock: ssl.SSLSocket) -> None:
    """Read, without blocking, what has arrived: handshake records are processed by OpenSSL and yield no
    data. Any data, or the end of the connection, makes it unusable for a request."""
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        while True:
            try:
                data = sock.recv(1)
            except ssl.SSLWantReadError:
                return  # nothing (more) to read
            raise ConnectionError(f"the server {'sent data' if data else 'closed'} before any request")
    finally:
        sock.settimeout(timeout)
