"""A network link between the tool and the sandbox: two network namespaces the bench creates (the
sandbox's, the client's), a veth pair between them shaped for rate with `tc tbf`, and the round-trip
time added by a relay in the sandbox's namespace that holds each direction back by RTT/2 (this
kernel has no `netem`; a user-space delay line works everywhere `tbf` does).

    client namespace                         sandbox namespace
    enrich / git ─► 127.0.0.1:P (forwarder) ═veth (tbf)═► 10.213.0.1:P (relay, +RTT/2 each way)
                                                               └─► 127.0.0.1:P (the sandbox)

The sandbox keeps its 127.0.0.1 URLs and its certificate: in the client's namespace the same address
and port reach a plain forwarder, which crosses the shaped veth to the relay. A new connection costs
one RTT before its first byte goes out (the TCP handshake); TLS then costs its own round trip, as on
a real link. The relay also counts exchanges (a request going out after the previous answer came
back, until the next answer starts) so the bench can say how many round trips were on the critical
path. Addresses exist only inside the two namespaces; `close()` deletes both (and with them the veth).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

CLONE_NEWNET = 0x40000000
SERVER_IP, CLIENT_IP = "10.213.0.1", "10.213.0.2"
_CHUNK = 64 * 1024
_BUFFERED_CHUNKS = 64  # per direction and connection: backpressure instead of buffering a whole pack


@dataclass(frozen=True)
class Profile:
    rtt_ms: int
    rate_mbit: int

    @property
    def name(self) -> str:
        rate = f"{self.rate_mbit // 1000} Gbit" if self.rate_mbit >= 1000 else f"{self.rate_mbit} Mbit"
        return f"{self.rtt_ms} ms / {rate}"


PROFILES = (Profile(20, 1000), Profile(40, 100), Profile(80, 20))


def unavailable() -> Optional[str]:
    """Why this machine cannot make a link (None when it can)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "network namespaces need root (the bench creates two and a veth pair)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"`{tool}` (iproute2) is not installed"
    return None


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the block with this thread in `namespace`: sockets created and processes started in it
    belong to that namespace for good (a socket keeps the namespace it was created in)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)
        os.close(target)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Link:
    """The two namespaces and the shaped veth; `shape(profile)` (re)sets rate and delay,
    `serve(ports)` makes the sandbox's ports reachable from the client namespace."""

    def __init__(self) -> None:
        tag = f"{os.getpid()}"
        self.server_ns, self.client_ns = f"pgbench-srv-{tag}", f"pgbench-cli-{tag}"
        self._veth = (f"pgbs{tag}"[:15], f"pgbc{tag}"[:15])
        self._made: list[str] = []
        self.relay: Optional[_Relay] = None
        self.profile: Optional[Profile] = None

    def __enter__(self) -> Link:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        for namespace in (self.server_ns, self.client_ns):
            _ip("netns", "add", namespace)
            self._made.append(namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
        server_dev, client_dev = self._veth
        _ip("-n", self.server_ns, "link", "add", server_dev, "type", "veth", "peer", "name", client_dev,
            "netns", self.client_ns)  # fmt: skip
        for namespace, dev, address in (
            (self.server_ns, server_dev, SERVER_IP),
            (self.client_ns, client_dev, CLIENT_IP),
        ):
            _ip("-n", namespace, "addr", "add", f"{address}/30", "dev", dev)
            _ip("-n", namespace, "link", "set", dev, "up")
        self.relay = _Relay(self)

    def shape(self, profile: Profile) -> None:
        """Both directions at `profile.rate_mbit`, and RTT/2 of delay each way in the relay."""
        rate_bytes = profile.rate_mbit * 1_000_000 // 8
        burst = max(rate_bytes // 250, 16 * 1024)  # at least one timer tick's worth at this rate
        for namespace, dev in ((self.server_ns, self._veth[0]), (self.client_ns, self._veth[1])):
            _ip("netns", "exec", namespace, "tc", "qdisc", "replace", "dev", dev, "root", "tbf",
                "rate", f"{profile.rate_mbit}mbit", "burst", str(burst), "latency", "50ms")  # fmt: skip
        assert self.relay is not None
        self.relay.one_way = profile.rtt_ms / 2000
        self.profile = profile

    def serve(self, ports: Sequence[int]) -> None:
        assert self.relay is not None
        self.relay.serve(ports)

    def close(self) -> None:
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        for namespace in reversed(self._made):  # deleting a namespace deletes its end of the veth
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        self._made.clear()

    # -- round trips on the critical path -------------------------------------------------------
    def reset_exchanges(self) -> None:
        assert self.relay is not None
        self.relay.take_exchanges()

    def critical_round_trips(self) -> tuple[int, int]:
        """(round trips on the critical path, exchanges in all) since the last reset. Which exchange
        waited for which is not visible on the wire, so every exchange that began after another ended
        is taken to depend on it: the critical path is the longest chain of exchanges one after the
        other (at most one of any set in flight together, on any connection or host), found greedily
        by earliest end. An upper bound on the true dependency chain, and what bounds the wall time."""
        assert self.relay is not None
        exchanges = self.relay.take_exchanges()
        chain, end = 0, float("-inf")
        for start, stop in sorted(exchanges, key=lambda exchange: exchange[1]):
            if start >= end:
                chain += 1
                end = stop
        return chain, len(exchanges)


class _Relay:
    """One asyncio loop in a thread of its own: per port, a forwarder in the client namespace and a
    delaying relay in the sandbox's namespace."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.one_way = 0.0
        self._exchanges: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._servers: list[asyncio.base_events.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="bench-link", daemon=True)
        self._thread.start()

    def take_exchanges(self) -> list[tuple[float, float]]:
        with self._lock:
            taken, self._exchanges = self._exchanges, []
        return taken

    def _record(self, start: float, stop: float) -> None:
        with self._lock:
            self._exchanges.append((start, stop))

    def serve(self, ports: Sequence[int]) -> None:
        for port in ports:
            with inside(self.link.server_ns):
                relay_sock = socket.create_server((SERVER_IP, port))
            with inside(self.link.client_ns):
                forward_sock = socket.create_server(("127.0.0.1", port))
            for sock, handler in (
                (relay_sock, self._relay_handler(port)),
                (forward_sock, self._forward_handler(port)),
            ):
                future = asyncio.run_coroutine_threadsafe(
                    asyncio.start_server(handler, sock=sock, limit=_CHUNK), self.loop
                )
                self._servers.append(future.result(timeout=10))

    def _forward_handler(self, port: int):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # This thread stays in the root namespace: the upstream socket is made in the client's.
            with inside(self.link.client_ns):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            with contextlib.suppress(asyncio.CancelledError):  # close() cancels idle connections
                await self._bridge(reader, writer, sock, (SERVER_IP, port), delayed=False)

        return handle

    def _relay_handler(self, port: int):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with inside(self.link.server_ns):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            with contextlib.suppress(asyncio.CancelledError):
                await self._bridge(reader, writer, sock, ("127.0.0.1", port), delayed=True)

        return handle

    async def _bridge(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sock: socket.socket,
        address: tuple[str, int],
        *,
        delayed: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        # asyncio (3.11) drops its reference to a connection's handler task once the client hangs up,
        # and a pending task nobody references is garbage-collected mid-flight ("Task was destroyed
        # but it is pending!"): hold each one until it is done.
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # No Nagle on either leg: asyncio sets TCP_NODELAY only on sockets whose `proto` is
        # IPPROTO_TCP, and these (socket(), create_server() and what it accepts) have proto 0. Left
        # on, a small write behind an unacknowledged one (TLS 1.3's second session ticket, then the
        # first answer) waited for the peer's delayed ACK: 40 ms that no router adds to a real link.
        for leg in (sock, writer.get_extra_info("socket")):
            if leg is not None:
                leg.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            up_reader, up_writer = await asyncio.open_connection(sock=sock, limit=_CHUNK)
        except OSError:
            sock.close()
            writer.close()
            return
        one_way = self.one_way if delayed else 0.0
        state = _Exchanges(self, one_way) if delayed else None
        if state is not None:
            state.handshake(accepted)
        # Client to server: nothing leaves before the (emulated) TCP handshake is done, one RTT.
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, one_way, accepted + 2 * one_way, state, outbound=True),
                self._pump(up_reader, writer, one_way, 0.0, state, outbound=False),
            )
        finally:
            writer.close()
            up_writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        delay: float,
        not_before: float,
        state: Optional[_Exchanges],
        *,
        outbound: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_BUFFERED_CHUNKS)

        async def read() -> None:
            due = 0.0
            while True:
                try:
                    data = await reader.read(_CHUNK)
                except OSError:
                    data = b""
                due = max(loop.time(), not_before) + delay if delay else 0.0
                await line.put((due, data))
                if not data:
                    return

        async def write() -> None:
            while True:
                due, data = await line.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError):
                        if writer.can_write_eof():
                            writer.write_eof()
                        else:
                            writer.close()
                    return
                if state is not None:
                    state.sent(loop.time(), outbound=outbound)
                writer.write(data)
                try:
                    await writer.drain()
                except OSError:
                    return

        reading = asyncio.ensure_future(read())
        try:
            await write()
        finally:
            reading.cancel()
            with contextlib.suppress(BaseException):
                await reading

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self.loop.close()


class _Exchanges:
    """One connection's exchanges, in the client's time: a request left the client one delay before
    the relay passes it on; an answer reaches the client as the relay passes it on (its delay is behind
    it, and the forwarder adds none)."""

    def __init__(self, relay: _Relay, one_way: float) -> None:
        self.relay, self.one_way = relay, one_way
        self.open: Optional[float] = None

    def handshake(self, accepted: float) -> None:
        self.relay._record(accepted, accepted + 2 * self.one_way)

    def sent(self, now: float, *, outbound: bool) -> None:
        if outbound and self.open is None:
            self.open = now - self.one_way
        elif not outbound and self.open is not None:
            self.relay._record(self.open, now)  # the client has it now: the delay is behind it
            self.open = None
