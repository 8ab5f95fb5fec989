"""The warm-up (issue 13): a run's first connections are opened while it maps and renders, in the very pool
its requests use, so the first SCM request and Port's token request ride them; nothing else changes.

Real HTTPS on loopback; the sandbox numbers each connection it accepts (`Recorder.connections`) and says
which one carried each request (`RecordedRequest.connection`). No timing is asserted: the run is held
before its first request until the warmed connections are open (bounded), so "opened before" is exact.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from enrichkit import FLAVOURS, Enricher, Run, payload

from port_gitops import config, http, wiring
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=FLAVOURS)
def tls(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(tls=True, flavour=request.param) as sandbox:
        yield sandbox


def no_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "preconnect", lambda *a, **k: None)


def hold_before_first_request(
    monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, *, port: bool = True
) -> dict[str, list[int]]:
    """Holds the run where its SCM client is made (after mapping, before any SCM or Port request) until the
    warmed connections are open, and notes which connections were open then."""
    seen: dict[str, list[int]] = {}
    make_scm: Callable[..., Any] = wiring.make_scm

    def held(settings: config.ScmSettings, *args: Any, **kwargs: Any) -> Any:
        want = wiring.first_connections(settings)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            len(sandbox.scm.recorder.connections) < want or (port and not sandbox.port.recorder.connections)
        ):
            time.sleep(0.005)
        seen["scm"], seen["port"] = sandbox.scm.recorder.connections, sandbox.port.recorder.connections
        seen["want"] = [want]
        return make_scm(settings, *args, **kwargs)

    monkeypatch.setattr(wiring, "make_scm", held)
    return seen


def first_run(
    sandbox: Sandbox, tmp_path: Path, mp: pytest.MonkeyPatch, cap: Any, *args: str, **env: str
) -> Run:
    example = seed_example(sandbox)
    sandbox.scm.recorder.clear()
    sandbox.port.recorder.clear()
    tmp_path.mkdir(parents=True, exist_ok=True)
    return Enricher(sandbox, tmp_path, mp, cap)(example.payload, *args, **env)


def test_the_first_scm_request_and_the_token_ride_connections_opened_before_them(
    tls: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the warm-up, for comparison: the connections a first run opens.
    with monkeypatch.context() as cold_patch, Sandbox(tls=True, flavour=tls.flavour) as cold:
        no_warmup(cold_patch)
        run = first_run(cold, tmp_path / "cold", cold_patch, capsys)
        assert run.code == 0, run.stderr
        cold_counts = len(cold.scm.recorder.connections), len(cold.port.recorder.connections)

    seen = hold_before_first_request(monkeypatch, tls)
    run = first_run(tls, tmp_path, monkeypatch, capsys, "-vv")
    assert run.code == 0 and run.result["outcome"] == "created", run.stderr
    assert len(seen["scm"]) == seen["want"][0] and len(seen["port"]) == 1
    first_scm = tls.scm.recorder.requests[0]
    assert first_scm.connection in seen["scm"], "the first SCM request opened a connection of its own"
    # As many as the flavour's reads use at once (wiring.first_connections): none needs a handshake.
    late = [(r.method, r.path) for r in tls.scm.recorder.requests if r.connection not in seen["scm"]]
    assert not late, f"these SCM requests waited for a connection of their own: {late}"
    token = tls.port.recorder.requests[0]
    assert token.path.endswith("/auth/access_token") and token.connection in seen["port"]
    warm_counts = len(tls.scm.recorder.connections), len(tls.port.recorder.connections)
    assert warm_counts <= cold_counts, "the warm-up opened connections the run did not use"
    assert "preconnect: " in run.stderr
    secrets = [v for k, v in tls.env().items() if k.endswith(("TOKEN", "SECRET", "KEY", "PASSWORD"))]
    for secret in secrets:
        assert secret not in run.stderr + run.stdout


def test_no_proxy_is_respected_as_requests_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # HTTPS_PROXY points nowhere and NO_PROXY exempts the sandbox: warm-up and requests go direct alike.
    with Sandbox(tls=True) as sb, socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed.getsockname()[1]}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        seen = hold_before_first_request(monkeypatch, sb)
        run = first_run(sb, tmp_path, monkeypatch, capsys)
        assert run.code == 0, run.stderr
        assert sb.scm.recorder.requests[0].connection in seen["scm"]
        assert sb.port.recorder.requests[0].connection in seen["port"]


class ConnectProxy:
    """A minimal forward proxy for https:// URLs: one CONNECT tunnel per connection, bytes relayed."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.tunnels: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        target = head.split(b" ")[1].decode()
        self.tunnels.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


def test_through_a_proxy_the_warmed_tunnel_is_the_one_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # HTTPS_PROXY applies (NO_PROXY empty): the warm-up opens the CONNECT tunnel the requests then use.
    proxy = ConnectProxy()
    try:
        with Sandbox(tls=True) as sb:
            seen = hold_before_first_request(monkeypatch, sb)
            run = first_run(
                sb, tmp_path, monkeypatch, capsys, HTTPS_PROXY=proxy.url, NO_PROXY="", no_proxy=""
            )
            assert run.code == 0, run.stderr
            assert sb.scm.recorder.requests[0].connection in seen["scm"]
            assert sb.port.recorder.requests[0].connection in seen["port"]
            # every connection the sandbox saw came through the proxy
            assert len(proxy.tunnels) == len(sb.scm.recorder.connections) + len(sb.port.recorder.connections)
    finally:
        proxy.close()


def outcome(run: Run) -> tuple[int, str, list[str]]:
    errors = [line for line in run.stderr.splitlines() if line.startswith("port-gitops enrich: error: ")]
    return run.code, run.result["outcome"], errors


@pytest.mark.parametrize("fault", ["untrusted certificate", "closed port", "proxy refuses"])
def test_a_failed_warmup_changes_nothing(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        where = f"127.0.0.1:{closed.getsockname()[1]}"
        env = {
            "untrusted certificate": {"REQUESTS_CA_BUNDLE": None},
            "closed port": {"BITBUCKET_URL": f"https://{where}", "PORT_BASE_URL": f"https://{where}"},
            "proxy refuses": {
                "HTTPS_PROXY": f"http://proxyuser:pr0xypass@{where}",
                "NO_PROXY": "",
                "no_proxy": "",
            },
        }[fault]
        outcomes = []
        for warm in (False, True):
            with monkeypatch.context() as mp, Sandbox(tls=True) as sb:
                if not warm:
                    no_warmup(mp)
                example = seed_example(sb)
                (tmp_path / str(warm)).mkdir()
                enrich = Enricher(sb, tmp_path / str(warm), mp, capsys)
                run = enrich(payload(example), "--max-attempts", "1", "-vv", **env)
                code, result, errors = outcome(run)
                # the same messages in both runs, whatever ports their sandboxes got
                outcomes.append((code, result, [_unport(line, sb) for line in errors]))
                secrets = [v for k, v in sb.env().items() if k.endswith(("TOKEN", "SECRET"))]
                for secret in ("pr0xypass", *secrets):
                    assert secret not in run.stderr + run.stdout
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] != 0


def _unport(line: str, sb: Sandbox) -> str:
    for url, name in ((sb.scm_url, "SCM"), (sb.port_url, "PORT"), (sb.scm_web_url, "WEB")):
        line = line.replace(url.split("//")[1], name)
    return line


def test_the_warmup_never_outlives_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that accepts TCP and never answers the TLS handshake: the warm-up gives up within the
    # connect timeout, in a daemon thread, and a request would connect by itself.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        session = http.make_session(ca_bundle=None, timeout=(0.3, 0.3))
        before = {t for t in threading.enumerate() if t.name == "port-gitops-preconnect"}
        http.preconnect(session, f"https://127.0.0.1:{silent.getsockname()[1]}")
        warming = [t for t in threading.enumerate() if t.name == "port-gitops-preconnect" and t not in before]
        assert warming and all(t.daemon for t in warming)
        for thread in warming:
            thread.join(5)
            assert not thread.is_alive()
        session.close()
