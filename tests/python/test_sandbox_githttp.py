"""Git's smart HTTP on the sandbox's web host: a real `git clone --no-local` and `git push`, with the
same credentials as the API, and what a push does to the API's view (branches, pull requests)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from port_gitops.sandbox import Sandbox

WS, SLUG = "acme", "svc"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.bitbucket.create_repository(WS, SLUG, {"port.yml": "a: 1\n", "README.md": "hi\n"})
        yield sandbox


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="/bin/false",
    )
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def clone_url(sb: Sandbox, user: str, password: str) -> str:
    host = sb.bitbucket_web_url.split("://", 1)[1]
    return f"http://{quote(user, safe='')}:{quote(password, safe='')}@{host}/{WS}/{SLUG}.git"


def test_clone_edit_push_over_smart_http(sb: Sandbox, tmp_path: Path) -> None:
    work = tmp_path / "work"
    git(
        "clone",
        "--quiet",
        "--no-local",
        clone_url(sb, sb.bitbucket.username, sb.bitbucket.token),
        str(work),
    )
    assert (work / "port.yml").read_text() == "a: 1\n"
    assert git("rev-parse", "HEAD", cwd=work).stdout.strip() == sb.bitbucket.branch_tip(WS, SLUG, "main")
    (work / "port.yml").write_text("a: 2\n")
    git(
        "-c",
        "user.name=Clone Baseline",
        "-c",
        "user.email=cb@example.com",
        "commit",
        "--quiet",
        "-am",
        "edit",
        cwd=work,
    )
    git("push", "--quiet", "origin", "HEAD:refs/heads/port/baseline", cwd=work)
    pushed = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert sb.bitbucket.branch_tip(WS, SLUG, "port/baseline") == pushed
    assert sb.bitbucket.read_file(WS, SLUG, pushed, "port.yml") == b"a: 2\n"
    smart = [r for r in sb.bitbucket.requests if r.path.startswith(f"/{WS}/{SLUG}.git/")]
    assert {r.path.rsplit("/", 1)[1] for r in smart} >= {
        "refs",
        "git-upload-pack",
        "git-receive-pack",
    }


def test_access_tokens_work_as_git_credentials(sb: Sandbox, tmp_path: Path) -> None:
    git(
        "clone",
        "--quiet",
        "--no-local",
        clone_url(sb, "x-token-auth", sb.bitbucket.access_token),
        str(tmp_path / "c"),
    )
    assert (tmp_path / "c" / "README.md").read_text() == "hi\n"


def test_git_needs_credentials(sb: Sandbox, tmp_path: Path) -> None:
    refused = git(
        "clone",
        "--quiet",
        "--no-local",
        clone_url(sb, sb.bitbucket.username, "wrong"),
        str(tmp_path / "c"),
        check=False,
    )
    assert refused.returncode != 0
    challenge = requests.get(
        f"{sb.bitbucket_web_url}/{WS}/{SLUG}.git/info/refs",
        params={"service": "git-upload-pack"},
    )
    assert challenge.status_code == 401 and challenge.headers["WWW-Authenticate"].startswith("Basic")
    unknown = requests.get(
        f"{sb.bitbucket_web_url}/{WS}/nope.git/info/refs",
        auth=(sb.bitbucket.username, sb.bitbucket.token),
    )
    assert unknown.status_code == 404


def test_deleting_a_branch_by_push_declines_its_pull_request(sb: Sandbox, tmp_path: Path) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "a: 3\n"})
    session = requests.Session()
    session.auth = (sb.bitbucket.username, sb.bitbucket.token)
    api = f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}/pullrequests"
    pr = session.post(api, json={"title": "t", "source": {"branch": {"name": "port/e"}}}).json()
    work = tmp_path / "w"
    git(
        "clone",
        "--quiet",
        "--no-local",
        clone_url(sb, sb.bitbucket.username, sb.bitbucket.token),
        str(work),
    )
    git("push", "--quiet", "origin", ":refs/heads/port/e", cwd=work)
    assert session.get(f"{api}/{pr['id']}").json()["state"] == "DECLINED"


def test_web_pages_show_the_repository_and_pull_requests(sb: Sandbox) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "a: 3\n"})
    session = requests.Session()
    session.auth = (sb.bitbucket.username, sb.bitbucket.token)
    api = f"{sb.bitbucket_url}/2.0/repositories/{WS}/{SLUG}/pullrequests"
    pr = session.post(api, json={"title": "Enrich svc", "source": {"branch": {"name": "port/e"}}}).json()
    page = requests.get(pr["links"]["html"]["href"])
    assert page.status_code == 200
    assert "#1 Enrich svc [OPEN]" in page.text and "-a: 1" in page.text and "+a: 3" in page.text
    listing = requests.get(f"{sb.bitbucket_web_url}/{WS}/{SLUG}").text
    assert "port/e" in listing and pr["links"]["html"]["href"] in listing
    assert requests.get(f"{sb.bitbucket_web_url}/{WS}/{SLUG}/pull-requests/9").status_code == 404


def test_a_large_push_arrives_chunked_and_intact(sb: Sandbox, tmp_path: Path) -> None:
    work = tmp_path / "w"
    git(
        "clone",
        "--quiet",
        "--no-local",
        clone_url(sb, sb.bitbucket.username, sb.bitbucket.token),
        str(work),
    )
    blob = os.urandom(3 * 1024 * 1024)  # above git's 1 MiB post buffer: sent with chunked encoding
    (work / "big.bin").write_bytes(blob)
    git("add", "big.bin", cwd=work)
    git(
        "-c",
        "user.name=B",
        "-c",
        "user.email=b@example.com",
        "commit",
        "--quiet",
        "-m",
        "big",
        cwd=work,
    )
    git("push", "--quiet", "origin", "HEAD:refs/heads/big", cwd=work)
    assert sb.bitbucket.read_file(WS, SLUG, "big", "big.bin") == blob
    pushes = [r for r in sb.bitbucket.requests if r.path.endswith("/git-receive-pack")]
    assert pushes[-1].headers.get("transfer-encoding") == "chunked" and len(pushes[-1].body) > len(blob) // 2
