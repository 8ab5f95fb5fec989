"""The `Sandbox` facade: its environment, TLS mode, clean shutdown, and consistency under concurrent
writers (what the tool's race handling relies on)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from port_gitops.sandbox import Sandbox

WS, SLUG = "acme", "svc"


def test_env_points_the_tool_at_the_sandbox() -> None:
    with Sandbox() as sb:
        env = sb.env()
        assert set(env) == {
            "PORT_GITOPS_SCM", "BITBUCKET_URL", "BITBUCKET_WEB_URL", "BITBUCKET_WORKSPACE", "BITBUCKET_USERNAME",
            "BITBUCKET_TOKEN", "PORT_BASE_URL", "PORT_CLIENT_ID", "PORT_CLIENT_SECRET", "NO_PROXY", "no_proxy",
        }  # fmt: skip
        assert (env["BITBUCKET_URL"], env["BITBUCKET_WEB_URL"], env["PORT_BASE_URL"]) == (
            sb.bitbucket_url, sb.bitbucket_web_url, sb.port_url,
        )  # fmt: skip
        assert len({sb.bitbucket_url, sb.bitbucket_web_url, sb.port_url}) == 3
        assert (env["PORT_GITOPS_SCM"], env["BITBUCKET_WORKSPACE"]) == ("bitbucket-cloud", "acme")
        assert "127.0.0.1" in env["NO_PROXY"].split(",")
        repo = requests.get(
            f"{env['BITBUCKET_URL']}/2.0/repositories/acme/x",
            auth=(env["BITBUCKET_USERNAME"], env["BITBUCKET_TOKEN"]),
        )
        assert repo.status_code == 404  # authenticated, the repository just does not exist
        token = requests.post(
            f"{env['PORT_BASE_URL']}/v1/auth/access_token",
            json={"clientId": env["PORT_CLIENT_ID"], "clientSecret": env["PORT_CLIENT_SECRET"]},
        )  # fmt: skip
        assert token.status_code == 200


def test_unknown_flavours_are_refused() -> None:
    with pytest.raises(ValueError, match="expected one of bitbucket-cloud, bitbucket-datacenter"):
        Sandbox(flavour="server")


def _git_children() -> set[int]:
    """This process's child processes that are git (the repositories' long-lived cat-file)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
        except OSError:
            continue  # it ended meanwhile
        name, _, fields = rest.rpartition(") ")
        if name == "(git" and int(fields.split()[1]) == os.getpid():
            found.add(int(pid))
    return found


def test_close_leaves_no_thread_port_or_directory_behind() -> None:
    before = set(threading.enumerate())
    git_before = _git_children()
    sb = Sandbox().start()
    sb.bitbucket.create_repository(WS, SLUG, {"f": "x"})
    urls, root = [sb.bitbucket_url, sb.bitbucket_web_url, sb.port_url], sb.root
    idle = requests.Session()  # keeps its connection open (keep-alive) across the close
    idle.auth = (sb.bitbucket.username, sb.bitbucket.token)
    assert idle.get(f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}").status_code == 200
    assert requests.get(f"{sb.bitbucket_web_url}/{WS}/{SLUG}").status_code == 200
    assert sb.bitbucket.read_file(WS, SLUG, "main", "f") == b"x"  # starts the repository's cat-file
    assert _git_children() - git_before
    sb.close()
    assert set(threading.enumerate()) <= before
    assert _git_children() <= git_before  # nor a git process
    for url in urls:
        parts = urlsplit(url)
        with pytest.raises(OSError):
            socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    assert not root.exists()


def test_closing_drops_a_request_held_by_a_delay_at_once() -> None:
    sb = Sandbox().start()
    sb.port.create_run("r_held", entity="svc")
    held = sb.port.faults.add("GET", r"/runs/", delay=60.0)
    outcome: list[object] = []
    client = threading.Thread(
        target=lambda: outcome.append(_get_or_error(f"{sb.port_url}/v1/actions/runs/r_held")), daemon=True
    )
    client.start()
    while not held.fired:
        time.sleep(0.01)
    started = time.monotonic()
    sb.close()
    client.join(timeout=10)
    assert time.monotonic() - started < 5, "close waited out the delay"
    assert len(outcome) == 1 and isinstance(outcome[0], requests.ConnectionError)
    assert [r.status for r in sb.port.requests] == [0]  # recorded as dropped, never answered


def _get_or_error(url: str) -> object:
    try:
        return requests.get(url, timeout=30)
    except requests.RequestException as exc:
        return exc


@pytest.mark.parametrize(
    "cut",
    [
        b"Content-Length: 40\r\n\r\n" + b'{"message": "half',
        b"Transfer-Encoding: chunked\r\n\r\n10\r\n" + b'{"message": ',
        b"Transfer-Encoding: chunked\r\n\r\n5\r\n" + b'{"a":\r\n',
    ],
    ids=["content-length", "chunk cut short", "no last chunk"],
)
def test_a_request_whose_body_never_arrives_is_neither_served_nor_recorded(cut: bytes) -> None:
    """A client killed mid-send (a cancelled CI job) leaves half a request: no server acts on it."""
    with Sandbox() as sb:
        sb.port.create_run("r_cut", entity="svc")
        parts = urlsplit(sb.port_url)
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as raw:
            raw.sendall(b"POST /v1/actions/runs/r_cut/logs HTTP/1.1\r\nHost: port\r\n" + cut)
            raw.shutdown(socket.SHUT_WR)
            assert raw.recv(1024) == b""  # closed without an answer
        whole = requests.get(f"{sb.port_url}/v1/actions/runs/r_cut")  # the server still serves
        assert whole.status_code == 401
        assert [(r.method, r.path) for r in sb.port.requests] == [("GET", "/v1/actions/runs/r_cut")]
        assert sb.port.runs["r_cut"]["logs"] == []


def test_tls_mode(tmp_path: Path) -> None:
    with Sandbox(tls=True) as sb:
        assert sb.ca_bundle is not None and sb.env()["REQUESTS_CA_BUNDLE"] == str(sb.ca_bundle)
        assert all(
            url.startswith("https://127.0.0.1:")
            for url in (sb.bitbucket_url, sb.bitbucket_web_url, sb.port_url)
        )
        sb.bitbucket.create_repository(WS, SLUG, {"port.yml": "a: 1\n"})
        api = f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}"
        auth = (sb.bitbucket.username, sb.bitbucket.token)
        assert requests.get(api, auth=auth, verify=str(sb.ca_bundle)).status_code == 200
        assert requests.get(f"{sb.port_url}/v1/actions/runs/r", verify=str(sb.ca_bundle)).status_code == 401
        for url in (api, sb.port_url):
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(url, auth=auth, verify=True)  # the system's CAs do not know the sandbox's
        host = urlsplit(sb.bitbucket_web_url).netloc
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, "GIT_SSL_CAINFO": str(sb.ca_bundle),
               "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}  # fmt: skip
        clone = f"https://x-token-auth:{sb.bitbucket.access_token}@{host}/{WS}/{SLUG}.git"
        subprocess.run(
            ["git", "clone", "--quiet", clone, str(tmp_path / "c")],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        assert (tmp_path / "c" / "port.yml").read_text() == "a: 1\n"


@pytest.fixture
def sb_repo() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        sb.bitbucket.create_repository(WS, SLUG, {"port.yml": "n: 0\n"})
        yield sb


def _session(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    session.auth = (sb.bitbucket.username, sb.bitbucket.token)
    return session


def test_concurrent_replays_of_one_commit_land_once(sb_repo: Sandbox) -> None:
    sb = sb_repo
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    api = f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}/src"

    def post(n: int) -> int:
        form = {"branch": "port/e", "parents": main, "message": f"writer {n}"}
        return (
            _session(sb)
            .post(api, data=form, files={"port.yml": ("port.yml", f"n: {n}\n".encode())})
            .status_code
        )

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))
    assert statuses == [201] + [409] * 7
    tip = sb.bitbucket.branch_tip(WS, SLUG, "port/e")
    assert tip is not None
    log = subprocess.run(["git", f"--git-dir={sb.bitbucket.git_dir(WS, SLUG)}", "rev-list", f"{main}..{tip}"],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert log == [tip]


def test_concurrent_writers_that_reread_on_409_build_a_linear_history(
    sb_repo: Sandbox,
) -> None:
    sb = sb_repo
    api = f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}"

    def write(n: int) -> None:
        session = _session(sb)
        while True:
            tip = session.get(f"{api}/refs/branches/main").json()["target"]["hash"]
            form = {"parents": tip, "message": f"writer {n}"}
            status = session.post(
                f"{api}/src", data=form, files={f"w{n}.txt": (f"w{n}.txt", b"x")}
            ).status_code
            if status == 201:
                return
            assert status == 409

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    history = subprocess.run(["git", f"--git-dir={sb.bitbucket.git_dir(WS, SLUG)}", "log", "--format=%P", "main"],
                             capture_output=True, text=True, check=True).stdout.splitlines()  # fmt: skip
    assert len(history) == 7 and all(len(parents.split()) <= 1 for parents in history)
    listing = _session(sb).get(f"{api}/src/main/").json()["values"]
    assert {entry["path"] for entry in listing} == {
        "port.yml",
        *(f"w{n}.txt" for n in range(6)),
    }


def test_concurrent_pull_request_creation_yields_one_pull_request(
    sb_repo: Sandbox,
) -> None:
    sb = sb_repo
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "n: 1\n"})
    api = f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}/pullrequests"

    def create(n: int) -> int:
        body = {"title": f"attempt {n}", "source": {"branch": {"name": "port/e"}}}
        return int(_session(sb).post(api, json=body).json()["id"])

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(create, range(6)))
    assert ids == {1}
    assert len(sb.bitbucket.pull_requests(WS, SLUG)) == 1
