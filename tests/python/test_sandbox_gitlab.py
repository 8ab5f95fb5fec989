"""The GitLab sandbox itself, seen as a client sees it: one host under a relative URL root, projects
addressed by id or encoded path, GitLab's error shapes (message as string, list or object;
insufficient_scope), the rate limiter's headers, the pages behind `web_url`, and git's smart HTTP."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.gitlab import GitLabSandbox

GROUP = "acme/platform"


@pytest.fixture
def gl() -> Iterator[GitLabSandbox]:
    with Sandbox(flavour="gitlab") as sb:
        assert isinstance(sb.scm, GitLabSandbox)
        sb.scm.create_repository(GROUP, "payments", {"port.yml": "- identifier: x\n"})
        yield sb.scm


def api(
    gl: GitLabSandbox, method: str, path: str, token: str | None = None, **kwargs: Any
) -> requests.Response:
    headers = {"PRIVATE-TOKEN": gl.token if token is None else token}
    return requests.request(method, f"{gl.url}/api/v4{path}", headers=headers, timeout=10, **kwargs)


def test_project_by_encoded_path_and_by_id(gl: GitLabSandbox) -> None:
    by_path = api(gl, "GET", "/projects/acme%2Fplatform%2Fpayments").json()
    assert by_path["path_with_namespace"] == "acme/platform/payments"
    assert by_path["namespace"]["full_path"] == GROUP and by_path["default_branch"] == "main"
    assert api(gl, "GET", f"/projects/{by_path['id']}").json() == by_path
    assert api(gl, "GET", "/projects/acme%2Fnope").json() == {"message": "404 Project Not Found"}


def test_errors_in_each_of_gitlabs_shapes(gl: GitLabSandbox) -> None:
    project = "/projects/acme%2Fplatform%2Fpayments"
    assert api(gl, "GET", project, token="glpat-wrong").json() == {"message": "401 Unauthorized"}
    gl.push(GROUP, "payments", "feature", {"a": "1\n"})
    body = {"source_branch": "feature", "target_branch": "main", "title": "t"}
    assert api(gl, "POST", f"{project}/merge_requests", json=body).status_code == 201
    again = api(gl, "POST", f"{project}/merge_requests", json=body)
    assert again.status_code == 409
    assert again.json() == {
        "message": ["Another open merge request already exists for this source branch: !1"]
    }
    long_title = api(
        gl, "POST", f"{project}/merge_requests", json={**body, "source_branch": "x", "title": "t" * 300}
    )
    assert long_title.status_code == 400 and list(long_title.json()["message"]) == ["title"]
    assert api(gl, "POST", f"{project}/merge_requests", json={}).json() == {
        "error": "source_branch is missing"
    }
    gl.scopes = {"read_api"}
    refused = api(gl, "PUT", f"{project}/merge_requests/1", json={"title": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope" and refused.json()["scope"] == "api"


def test_the_rate_limiter_answers_with_its_headers(gl: GitLabSandbox) -> None:
    gl.faults.add("GET", r"/projects/", status=429)
    answer = api(gl, "GET", "/projects/acme%2Fplatform%2Fpayments")
    assert answer.status_code == 429 and answer.text == "Retry later\n"
    assert answer.headers["Retry-After"] == "1" and answer.headers["RateLimit-Remaining"] == "0"
    assert 0 <= int(answer.headers["RateLimit-Reset"]) - time.time() <= 2


def test_commits_api_creates_a_branch_and_locks_on_last_commit_id(gl: GitLabSandbox) -> None:
    project = "/projects/acme%2Fplatform%2Fpayments"
    base = gl.branch_tip(GROUP, "payments", "main")
    raw = api(gl, "GET", f"{project}/repository/files/port.yml/raw", params={"ref": base})
    assert raw.content == b"- identifier: x\n" and raw.headers["X-Gitlab-Last-Commit-Id"] == base
    action = {"action": "update", "file_path": "port.yml", "encoding": "base64",
              "content": base64.b64encode(b"- identifier: y\n").decode(), "last_commit_id": base}  # fmt: skip
    body = {"branch": "port/x", "start_sha": base, "commit_message": "m", "actions": [action]}
    created = api(gl, "POST", f"{project}/repository/commits", json=body)
    assert created.status_code == 201 and created.json()["parent_ids"] == [base]
    assert (
        api(gl, "POST", f"{project}/repository/commits", json=body)
        .json()["message"]
        .endswith("Branch already exists")
    )
    stale = {"branch": "port/x", "commit_message": "m", "actions": [action]}
    assert api(gl, "POST", f"{project}/repository/commits", json=stale).json() == {
        "message": "The file has changed since you started editing it: port.yml"
    }
    branch = api(gl, "GET", f"{project}/repository/branches/port%2Fx").json()
    assert branch["commit"]["id"] == created.json()["id"]
    listed = api(gl, "GET", f"{project}/repository/branches", params={"regex": r"^(?:main|port/x)$"}).json()
    assert sorted(b["name"] for b in listed) == ["main", "port/x"]


def test_pages_and_git_over_smart_http_under_the_relative_root(gl: GitLabSandbox, tmp_path: Path) -> None:
    page = requests.get(gl.repository_url(GROUP, "payments"), timeout=10)
    assert page.status_code == 200 and page.text.startswith("acme/platform/payments")
    url = gl.clone_url(GROUP, "payments").replace("://", f"://oauth2:{gl.token}@")
    assert url.endswith("/gitlab/acme/platform/payments.git")
    clone = tmp_path / "clone"
    env = {**gl.git_env, "GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(["git", "clone", "-q", url, str(clone)], check=True, env=env, capture_output=True)
    assert (clone / "port.yml").read_text() == "- identifier: x\n"
    anonymous = subprocess.run(
        ["git", "clone", "-q", gl.clone_url(GROUP, "payments"), str(tmp_path / "anon")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert anonymous.returncode != 0
