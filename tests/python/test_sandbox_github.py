"""The GitHub sandbox itself: GitHub's rules and shapes where the client relies on them (error bodies,
rate-limit headers, the ref rules of `force: false`, the App's JWT checked with its public key, the
installation token's reach) and git's smart HTTP with a token, as the bench's clone baseline uses it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from port_gitops.sandbox import Sandbox

OWNER, SLUG = "acme", "svc"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(flavour="github") as sandbox:
        sandbox.scm.create_repository(OWNER, SLUG, {"port.yml": "a: 1\n"})
        yield sandbox


def api(sb: Sandbox, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.scm.token}", **kwargs.pop("headers", {})}
    return requests.request(method, sb.scm_url + path, headers=headers, timeout=10, **kwargs)


def test_errors_have_githubs_shape_and_every_answer_its_rate_headers(sb: Sandbox) -> None:
    missing = api(sb, "GET", f"/repos/{OWNER}/nope")
    assert missing.status_code == 404 and set(missing.json()) == {"message", "documentation_url", "status"}
    assert (
        missing.headers["x-ratelimit-limit"] == "5000"
        and int(missing.headers["x-ratelimit-reset"]) > time.time()
    )
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}", token="wrong").json()["message"] == "Bad credentials"
    sb.scm.faults.add("GET", r"/repos/", status=403)
    limited = api(sb, "GET", f"/repos/{OWNER}/{SLUG}")
    assert "secondary rate limit" in limited.json()["message"] and "x-ratelimit-remaining" in limited.headers


def test_refs_create_once_and_move_only_forward_unless_forced(sb: Sandbox) -> None:
    gh = sb.scm
    base = gh.branch_tip(OWNER, SLUG, "main")
    assert (
        api(
            sb, "POST", f"/repos/{OWNER}/{SLUG}/git/refs", json={"ref": "refs/heads/x", "sha": base}
        ).status_code
        == 201
    )
    again = api(sb, "POST", f"/repos/{OWNER}/{SLUG}/git/refs", json={"ref": "refs/heads/x", "sha": base})
    assert (again.status_code, again.json()["message"]) == (422, "Reference already exists")
    ahead = gh.push(OWNER, SLUG, "main", {"b": "1\n"})
    sideways = gh.push(OWNER, SLUG, "x", {"c": "1\n"})
    refused = api(sb, "PATCH", f"/repos/{OWNER}/{SLUG}/git/refs/heads/x", json={"sha": ahead, "force": False})
    assert (refused.status_code, refused.json()["message"]) == (422, "Update is not a fast forward")
    assert gh.branch_tip(OWNER, SLUG, "x") == sideways
    forced = api(sb, "PATCH", f"/repos/{OWNER}/{SLUG}/git/refs/heads/x", json={"sha": ahead, "force": True})
    assert forced.status_code == 200 and gh.branch_tip(OWNER, SLUG, "x") == ahead


def test_contents_raw_and_json_and_trees_with_inline_content(sb: Sandbox) -> None:
    base = sb.scm.branch_tip(OWNER, SLUG, "main")
    raw = api(sb, "GET", f"/repos/{OWNER}/{SLUG}/contents/port.yml", params={"ref": base},
              headers={"Accept": "application/vnd.github.raw+json"})  # fmt: skip
    assert raw.content == b"a: 1\n"
    meta = api(sb, "GET", f"/repos/{OWNER}/{SLUG}/contents/port.yml", params={"ref": base}).json()
    assert (meta["type"], meta["encoding"]) == ("file", "base64")
    commit = api(sb, "GET", f"/repos/{OWNER}/{SLUG}/git/commits/{base}").json()
    tree = api(sb, "POST", f"/repos/{OWNER}/{SLUG}/git/trees", json={
        "base_tree": commit["tree"]["sha"], "tree": [{"path": "new.txt", "mode": "100644", "type": "blob", "content": "n\n"}],
    })  # fmt: skip
    assert tree.status_code == 201
    made = api(sb, "POST", f"/repos/{OWNER}/{SLUG}/git/commits",
               json={"message": "m", "tree": tree.json()["sha"], "parents": [base]})  # fmt: skip
    assert made.status_code == 201 and made.json()["verification"]["verified"] is False  # a user's token


def test_the_app_jwt_is_checked_with_the_apps_public_key(sb: Sandbox) -> None:
    gh = sb.scm
    now = int(time.time())
    claims = {"iat": now - 60, "exp": now + 540, "iss": str(gh.app_id)}
    good = jwt.encode(claims, gh.app_private_key, algorithm="RS256")
    installation = api(sb, "GET", f"/repos/{OWNER}/{SLUG}/installation", token=good)
    assert installation.status_code == 200
    from cryptography.hazmat.primitives.asymmetric import rsa

    forged = jwt.encode(
        claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256"
    )
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}/installation", token=forged).status_code == 401
    expired = jwt.encode(
        {**claims, "iat": now - 1200, "exp": now - 600}, gh.app_private_key, algorithm="RS256"
    )
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}/installation", token=expired).status_code == 401
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}/installation").status_code == 401, "a token is not a JWT"
    minted = api(sb, "POST", f"/app/installations/{installation.json()['id']}/access_tokens", token=good,
                 json={"repositories": [SLUG]})  # fmt: skip
    assert minted.status_code == 201 and minted.json()["token"].startswith("ghs_")
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}", token=minted.json()["token"]).status_code == 200
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}", token=good).status_code == 403, "a JWT reads no data"


def test_pull_requests_one_per_head_and_head_filter_needs_the_owner(sb: Sandbox) -> None:
    sb.scm.push(OWNER, SLUG, "feature", {"x": "1\n"})
    body = {"title": "t", "head": "feature", "base": "main", "body": "b"}
    assert api(sb, "POST", f"/repos/{OWNER}/{SLUG}/pulls", json=body).status_code == 201
    second = api(sb, "POST", f"/repos/{OWNER}/{SLUG}/pulls", json=body)
    assert second.status_code == 422
    assert second.json()["errors"][0]["message"] == f"A pull request already exists for {OWNER}:feature."
    listing = api(sb, "GET", f"/repos/{OWNER}/{SLUG}/pulls", params={"head": f"{OWNER}:feature"}).json()
    assert [p["head"]["ref"] for p in listing] == ["feature"]
    assert api(sb, "GET", f"/repos/{OWNER}/{SLUG}/pulls", params={"head": "feature"}).json() == []
    missing = api(sb, "POST", f"/repos/{OWNER}/{SLUG}/pulls", json={**body, "head": "nope"}).json()
    assert missing["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]


def test_git_clone_and_push_with_a_token(sb: Sandbox, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    host = sb.scm_web_url.split("://", 1)[1]
    url = f"http://x-access-token:{sb.scm.token}@{host}/{OWNER}/{SLUG}.git"
    work = tmp_path / "w"
    subprocess.run(["git", "clone", "-q", "--no-local", url, str(work)], env=env, check=True, timeout=60)
    assert (work / "port.yml").read_text() == "a: 1\n"
    (work / "port.yml").write_text("a: 2\n")
    for args in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
        ["push", "-q"],
    ):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, timeout=60)
    assert sb.scm.read_file(OWNER, SLUG, "main", "port.yml") == b"a: 2\n"
    denied = subprocess.run(
        ["git", "ls-remote", url.replace(sb.scm.token, "wrong")],
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert denied.returncode != 0


def graphql(sb: Sandbox, query: str, **variables: Any) -> Any:
    answer = api(sb, "POST", "/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200  # GraphQL answers its errors in the body
    return answer.json()


def test_graphql_answers_from_the_git_store_with_githubs_error_shapes(sb: Sandbox) -> None:
    tip = sb.scm.push(OWNER, SLUG, "main", {"bin": b"\x00\x01", "dir/x": "x\n"})
    query = """query($o: String!, $n: String!, $p: String!) { repository(owner: $o, name: $n) {
        nameWithOwner defaultBranchRef { name target { oid ... on Commit {
            parents(first: 5) { totalCount nodes { oid } } tree { oid }
            yml: file(path: $p) { type mode object { ... on Blob { text byteSize isBinary isTruncated } } }
            bin: file(path: "bin") { object { ... on Blob { text isBinary } } }
            dir: file(path: "dir") { type object { oid } }
            none: file(path: "nope.yml") { oid } } } }
        missing: ref(qualifiedName: "refs/heads/nope") { name } } }"""
    answer = graphql(sb, query, o=OWNER, n=SLUG, p="port.yml")
    repo = sb.scm.repository(OWNER, SLUG)
    assert repo is not None
    commit = answer["data"]["repository"]["defaultBranchRef"]["target"]
    assert answer["data"]["repository"]["nameWithOwner"] == "acme/svc" and commit["oid"] == tip
    assert commit["parents"]["totalCount"] == 1 and commit["tree"]["oid"] == repo.git.tree_of(tip)
    assert commit["yml"] == {
        "type": "blob",
        "mode": 0o100644,
        "object": {"text": "a: 1\n", "byteSize": 5, "isBinary": False, "isTruncated": False},
    }
    assert commit["bin"]["object"] == {"text": None, "isBinary": True}
    assert commit["dir"]["type"] == "tree" and commit["none"] is None
    assert answer["data"]["repository"]["missing"] is None  # a missing ref is null, no error
    [error] = answer["errors"]
    assert error["type"] == "NOT_FOUND" and error["path"] == [
        "repository",
        "defaultBranchRef",
        "target",
        "none",
    ]
    assert error["message"] == "Could not resolve file for path 'nope.yml'."

    hidden = graphql(sb, 'query($o: String!) { repository(owner: $o, name: "nope") { url } }', o=OWNER)
    assert hidden["data"] == {"repository": None}
    assert hidden["errors"][0]["type"] == "NOT_FOUND" and hidden["errors"][0]["path"] == ["repository"]

    wrong = graphql(sb, '{ repository(owner: "acme", name: "svc") { nope defaultBranchRef { name } } }')
    assert "data" not in wrong
    assert wrong["errors"][0]["message"] == "Field 'nope' doesn't exist on type 'Repository'"
    assert wrong["errors"][0]["extensions"]["code"] == "undefinedField"
    broken = graphql(sb, "{ repository(owner: ")
    assert "data" not in broken and broken["errors"][0]["message"].startswith("Parse error on")
    unset = graphql(sb, 'query($o: String!) { repository(owner: $o, name: "svc") { url } }')
    assert unset["errors"][0]["message"] == "Variable $o of type String! was provided invalid value"


def test_graphql_takes_faults_like_any_endpoint(sb: Sandbox) -> None:
    sb.scm.faults.add("POST", r"^/graphql$", status=502)
    answer = api(sb, "POST", "/graphql", json={"query": '{ repository(owner: "acme", name: "svc") { url } }'})
    assert answer.status_code == 502
    assert graphql(sb, '{ repository(owner: "acme", name: "svc") { url } }')["data"]["repository"]["url"]
