"""Git's smart HTTP protocol for the sandbox repositories: `git http-backend` run as a CGI per
request, so `git clone --no-local http://…` and `git push` go over a real transport (the baseline
the benchmark compares the REST-only enrichment with).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import IO, Generator, Mapping
from urllib.parse import urlencode

from port_gitops.sandbox.gitstore import git_executable
from port_gitops.sandbox.server import Request, Response

_CHUNK = 64 * 1024


def serve_git(
    request: Request, *, project_root: Path, path_info: str, remote_user: str, env: Mapping[str, str]
) -> Response:
    """Answer one smart-HTTP request for the repository at `project_root` + `path_info`.
    Pushing is enabled because `REMOTE_USER` is set (http-backend's own rule)."""
    cgi_env = {
        **env,
        "GIT_PROJECT_ROOT": str(project_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "QUERY_STRING": urlencode(request.query, doseq=True),
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "REMOTE_USER": remote_user,
        "REMOTE_ADDR": "127.0.0.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if "content-encoding" in request.headers:
        cgi_env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if "git-protocol" in request.headers:
        cgi_env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    process = subprocess.Popen(
        [git_executable(), "http-backend"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cgi_env,
    )
    assert process.stdin and process.stdout and process.stderr
    # Feed and drain in threads: a large push or clone must not deadlock on full pipes.
    feeder = threading.Thread(target=_feed, args=(process.stdin, request.body), daemon=True)
    drainer = threading.Thread(target=process.stderr.read, daemon=True)
    feeder.start()
    drainer.start()
    status, headers = _read_cgi_headers(process.stdout)
    return Response(status, headers=headers, stream=_stream(process, feeder, drainer))


def _feed(pipe: IO[bytes], body: bytes) -> None:
    try:
        pipe.write(body)
    except BrokenPipeError:
        pass  # the backend answered without reading everything (e.g. an error)
    finally:
        pipe.close()


def _read_cgi_headers(stdout: IO[bytes]) -> tuple[int, dict[str, str]]:
    status, headers = 200, {}
    for raw in iter(stdout.readline, b""):
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers[name.strip()] = value.strip()
    return status, headers


def _stream(
    process: subprocess.Popen[bytes], feeder: threading.Thread, drainer: threading.Thread
) -> Generator[bytes, None, None]:
    stdout = process.stdout
    assert stdout is not None
    try:
        # Stateless RPC: the backend writes its whole answer and exits, nothing interactive to wait for.
        yield from iter(lambda: stdout.read(_CHUNK), b"")
    finally:
        if process.poll() is None:
            process.kill()  # the client went away mid-transfer
        process.wait()
        stdout.close()
        feeder.join()
        drainer.join()
        assert process.stderr
        process.stderr.close()
