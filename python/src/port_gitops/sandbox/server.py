"""One loopback HTTP(S) listener: parses requests, applies the fault plan, records, and hands the
rest to a flavour's `App` (Bitbucket Cloud, Port, the git web host).

Stdlib only (http.server + threads). HTTP/1.1 with keep-alive, as real clients pool connections;
`close()` shuts idle connections down so no handler thread outlives the server.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import selectors
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generator, Optional, Protocol
from urllib.parse import parse_qs, urlsplit

from port_gitops.sandbox.faults import RESET_STATUS, Fault, FaultPlan, RecordedRequest, Recorder

log = logging.getLogger("port_gitops.sandbox")

_IDLE_TIMEOUT = 60.0  # seconds an idle keep-alive connection is kept
_serials = itertools.count(1)  # connection serials, unique across servers (next() is atomic in CPython)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent: not percent-decoded, no query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def json_or_none(self) -> Any:
        """The body as JSON; None when it is not JSON (the endpoint then answers its own 400)."""
        try:
            return self.json()
        except ValueError:
            return None

    def first(self, name: str) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Optional[Generator[bytes, None, None]] = None  # sent chunked instead of `body`

    @classmethod
    def json(cls, status: int, payload: Any, headers: Optional[dict[str, str]] = None) -> Response:
        return cls(
            status,
            json.dumps(payload).encode("utf-8"),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})

    def discard(self) -> None:
        if self.stream is not None:
            self.stream.close()


GATEWAY_STATUSES = (502, 503, 504)


def gateway_page(status: int) -> Response:
    """A 502/503/504 comes from the load balancer in front of a service: HTML, not the API's JSON."""
    phrase = HTTPStatus(status).phrase
    page = (
        f"<html><head><title>{status} {phrase}</title></head><body><h1>{status} {phrase}</h1></body></html>"
    )
    return Response.text(status, page, "text/html; charset=utf-8")


class App(Protocol):
    """What a flavour implements: the endpoints, and its error body for a bare status code."""

    def handle(self, request: Request) -> Response: ...

    def error_response(self, status: int) -> Response: ...


class LoopbackServer:
    """An `App` served on 127.0.0.1 at a free port, in daemon threads."""

    def __init__(
        self,
        app: App,
        *,
        faults: FaultPlan,
        recorder: Recorder,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.recorder = recorder
        self.ssl_context = ssl_context
        self._httpd = _HTTPServer(self)
        self._httpd.socket.setblocking(False)  # a connection that vanished before accept() must not hang
        self._stopping = threading.Event()
        self._wake, self._waker = socket.socketpair()
        self._thread = threading.Thread(target=self._accept_until_stopped, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        port = self._httpd.server_address[1]
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    def _accept_until_stopped(self) -> None:
        # Not serve_forever(): its poll interval would delay every shutdown; this loop wakes at once.
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._httpd and not self._stopping.is_set():
                        self._httpd.handle_request()

    def close(self) -> None:
        """Stop accepting, end open connections, and wait for every thread of this server."""
        self._stopping.set()
        self._waker.send(b"\0")
        self._thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()  # joins the handler threads
        self._wake.close()
        self._waker.close()

    def serve(self, handler: _Handler, request: Request) -> None:
        received = time.monotonic()
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.delay and self._stopping.wait(fault.delay):
            # Closing while the answer is held back: the connection drops unanswered, at once, so
            # closing never waits out a delay.
            self._record(request, RESET_STATUS, received, handler.serial)
            handler.reset_connection()
            return
        response: Optional[Response] = None
        if fault is None or not fault.replaces_answer or fault.apply:
            response = self._call_app(request)
        if fault is not None and fault.replaces_answer:
            if response is not None:
                response.discard()
            if fault.reset:
                self._record(request, RESET_STATUS, received, handler.serial)
                handler.reset_connection()
                return
            response = self._fault_response(fault)
        assert response is not None
        self._record(request, response.status, received, handler.serial)
        handler.send(response)

    def _call_app(self, request: Request) -> Response:
        try:
            return self.app.handle(request)
        except Exception:
            log.exception("sandbox: %s %s failed", request.method, request.path)
            return self.app.error_response(500)

    def _fault_response(self, fault: Fault) -> Response:
        assert fault.status is not None
        response = self.app.error_response(fault.status)
        if fault.body is not None:
            response.body = fault.body
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        response.headers.update(fault.headers)
        return response

    def _record(self, request: Request, status: int, received: float, connection: int) -> None:
        self.recorder.record(
            RecordedRequest(
                request.method,
                request.path,
                request.query,
                request.headers,
                request.body,
                status,
                received=received,
                answered=time.monotonic(),
                connection=connection,
            )
        )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins handler threads

    def __init__(self, owner: LoopbackServer) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._open_lock:
            if add:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def close_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts, rejected certificates) are part of the tests, not errors.
        log.debug("sandbox: connection from %s ended abruptly", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stalls
    server: _HTTPServer
    serial = 0

    def setup(self) -> None:
        context = self.server.owner.ssl_context
        if context is not None:
            # Handshake here, in the connection's own thread, never in the accept loop.
            self.request.settimeout(self.timeout)
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()
        self.server.track(self.connection, add=True)
        self.serial = next(_serials)
        self.server.owner.recorder.connection_opened(self.serial)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorder is the log."""

    def _serve(self) -> None:
        target = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            # The client went away before its body arrived (a killed process, a reset): a real
            # server never acts on half a request, so neither is it served nor recorded.
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            path=target.path,
            query=parse_qs(target.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        self.server.owner.serve(self, request)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _read_body(self) -> Optional[bytes]:
        """The request's body, or None when the connection ended before all of it came."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline()
                if not line:
                    return None
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    return None
                chunks.append(chunk)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.stream is not None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in response.stream:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout): fine
        finally:
            response.discard()

    def reset_connection(self) -> None:
        """Close with a TCP RST, as a dropped connection looks to the client."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
