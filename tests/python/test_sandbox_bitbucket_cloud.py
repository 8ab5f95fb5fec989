"""The Bitbucket Cloud sandbox over plain HTTP: repository, branches, reading and committing files
(`src` and its branch/parents rules), authentication — shapes checked against Atlassian's spec."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import requests
from conftest import require_spec

from port_gitops.sandbox import Sandbox

WS, SLUG = "acme", "svc"
PORT_YML = b"# hand-written\n- identifier: other\n  blueprint: service\n"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.bitbucket.create_repository(WS, SLUG, {"port.yml": PORT_YML, "docs/readme.md": "hello\n"})
        yield sandbox


@pytest.fixture
def api(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    session.auth = (sb.bitbucket.username, sb.bitbucket.token)
    return session


@pytest.fixture(scope="module")
def conforms() -> Callable[[Any, str], None]:
    """Validate a response body against a schema of the Cloud spec. Nulls are dropped first: the
    real API sends e.g. `"closed_by": null` although the spec has no `nullable` anywhere."""
    spec = json.loads(require_spec("bitbucket-cloud.openapi.json").read_text(encoding="utf-8"))

    def without_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [without_nulls(v) for v in value]
        return value

    def check(body: Any, schema: str) -> None:
        root = {
            "$ref": f"#/components/schemas/{schema}",
            "components": spec["components"],
        }
        jsonschema.Draft4Validator(root).validate(without_nulls(body))

    return check


def url(sb: Sandbox, tail: str = "", slug: str = SLUG) -> str:
    return f"{sb.bitbucket_url}/2.0/repositories/{WS}/{slug}{tail}"


def commit(
    api: requests.Session,
    sb: Sandbox,
    files: dict[str, bytes],
    slug: str = SLUG,
    **fields: str,
) -> requests.Response:
    """POST src the way the notes prescribe: metadata as plain fields, files as parts with a filename."""
    parts = {path: (path.rsplit("/", 1)[-1], content, "text/yaml") for path, content in files.items()}
    return api.post(url(sb, "/src", slug), data=fields, files=parts or None)


def log(sb: Sandbox, ref: str, slug: str = SLUG) -> list[str]:
    """`git log` in the bare repository: hash|parents|author|subject per commit."""
    out = subprocess.run(
        ["git", f"--git-dir={sb.bitbucket.git_dir(WS, slug)}", "log", "--format=%H|%P|%an <%ae>|%s", ref],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.splitlines()


# --- repository and branches ----------------------------------------------------------------------


def test_repository_shape(sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]) -> None:
    body = api.get(url(sb)).json()
    conforms(body, "repository")
    assert body["mainbranch"] == {"type": "branch", "name": "main"}
    assert body["full_name"] == f"{WS}/{SLUG}"
    assert body["links"]["html"]["href"] == f"{sb.bitbucket_web_url}/{WS}/{SLUG}"


def test_empty_repository_has_no_main_branch_yet(sb: Sandbox, api: requests.Session) -> None:
    assert sb.bitbucket.create_repository(WS, "empty", empty=True) == ""
    assert api.get(url(sb, slug="empty")).json()["mainbranch"] is None


def test_unknown_repository_is_a_404_error_object(
    sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]
) -> None:
    response = api.get(url(sb, slug="nope"))
    assert response.status_code == 404
    conforms(response.json(), "error")
    assert response.json()["type"] == "error" and "nope" in response.json()["error"]["message"]


def test_branch_with_slash_in_path(
    sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]
) -> None:
    tip = sb.bitbucket.push(WS, SLUG, "port/enrich-svc", {"x.txt": "x"})
    body = api.get(url(sb, "/refs/branches/port/enrich-svc")).json()
    conforms(body, "branch")
    assert (body["name"], body["target"]["hash"]) == ("port/enrich-svc", tip)
    assert body["target"]["parents"][0]["hash"] == sb.bitbucket.branch_tip(WS, SLUG, "main")
    assert api.get(url(sb, "/refs/branches/port%2Fenrich-svc")).json()["target"]["hash"] == tip
    missing = api.get(url(sb, "/refs/branches/port/other"))
    assert missing.status_code == 404 and missing.json()["type"] == "error"


def test_create_list_and_delete_branches(
    sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]
) -> None:
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    created = api.post(url(sb, "/refs/branches"), json={"name": "feature/a", "target": {"hash": main}})
    assert created.status_code == 201 and created.json()["target"]["hash"] == main
    again = api.post(url(sb, "/refs/branches"), json={"name": "feature/a", "target": {"hash": main}})
    assert again.status_code == 400 and again.json()["error"]["data"]["key"] == "BRANCH_ALREADY_EXISTS"
    listing = api.get(url(sb, "/refs/branches"), params={"q": 'name="feature/a"'}).json()
    conforms(listing, "paginated_branches")
    assert [branch["name"] for branch in listing["values"]] == ["feature/a"]
    assert api.delete(url(sb, "/refs/branches/feature/a")).status_code == 204
    assert sb.bitbucket.branch_tip(WS, SLUG, "feature/a") is None
    assert api.delete(url(sb, "/refs/branches/feature/a")).status_code == 404
    assert api.delete(url(sb, "/refs/branches/main")).status_code == 400


def test_commit_shape(sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]) -> None:
    root = sb.bitbucket.branch_tip(WS, SLUG, "main")
    tip = sb.bitbucket.push(WS, SLUG, "main", {"x.txt": "x"}, message="second")
    body = api.get(url(sb, f"/commit/{tip}")).json()
    conforms(body, "commit")
    assert (body["hash"], [p["hash"] for p in body["parents"]], body["message"]) == (
        tip,
        [root],
        "second\n",
    )
    assert body["author"]["raw"] == "Alex Maintainer <alex@example.com>"
    assert api.get(url(sb, "/commit/main")).json()["hash"] == tip
    assert api.get(url(sb, "/commit/" + "0" * 40)).status_code == 404


# --- reading files --------------------------------------------------------------------------------


def test_read_file_by_sha_and_by_plain_branch_name(sb: Sandbox, api: requests.Session) -> None:
    tip = sb.bitbucket.branch_tip(WS, SLUG, "main")
    for ref in (tip, tip[:12], "main", "HEAD"):
        response = api.get(url(sb, f"/src/{ref}/port.yml"))
        assert (response.status_code, response.content) == (200, PORT_YML), ref


def test_read_file_keeps_bytes_exactly(sb: Sandbox, api: requests.Session) -> None:
    raw = "é\r\n\x00\xff".encode("latin-1") + "ü\n".encode()
    sb.bitbucket.push(WS, SLUG, "main", {"bin/data.bin": raw})
    assert api.get(url(sb, "/src/main/bin/data.bin")).content == raw


def test_branch_with_slash_as_commit_fails_like_the_real_one(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.push(WS, SLUG, "port/enrich-svc", {"port.yml": "new\n"})
    tip = sb.bitbucket.branch_tip(WS, SLUG, "port/enrich-svc")
    for ref in ("port/enrich-svc", "port%2Fenrich-svc"):
        assert api.get(url(sb, f"/src/{ref}/port.yml")).status_code == 404, ref
    assert api.get(url(sb, f"/src/{tip}/port.yml")).content == b"new\n"


def test_missing_file_and_unknown_commit(sb: Sandbox, api: requests.Session) -> None:
    missing = api.get(url(sb, "/src/main/nope.yml"))
    assert missing.status_code == 404
    assert missing.json() == {
        "type": "error",
        "error": {"message": "No such file or directory: nope.yml"},
    }
    assert api.get(url(sb, "/src/" + "a" * 40 + "/port.yml")).status_code == 404


def test_directory_listing_and_meta(
    sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]
) -> None:
    listing = api.get(url(sb, "/src/main/")).json()
    conforms(listing, "paginated_treeentries")
    assert {(v["type"], v["path"]) for v in listing["values"]} == {
        ("commit_file", "port.yml"),
        ("commit_directory", "docs"),
    }
    assert [v["path"] for v in api.get(url(sb, "/src/main/docs")).json()["values"]] == ["docs/readme.md"]
    meta = api.get(url(sb, "/src/main/port.yml"), params={"format": "meta"}).json()
    assert (meta["type"], meta["path"], meta["size"]) == (
        "commit_file",
        "port.yml",
        len(PORT_YML),
    )
    directory = api.get(url(sb, "/src/main/docs"), params={"format": "meta"}).json()
    assert (directory["type"], directory["path"]) == ("commit_directory", "docs")


# --- committing: POST src -------------------------------------------------------------------------


def test_new_branch_with_parents_is_created_on_that_parent(sb: Sandbox, api: requests.Session) -> None:
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    response = commit(api, sb, {"port.yml": b"v2\n"}, message="chore(port): enrich", branch="port/e",
                      parents=main, author="Port Bot <bot@example.com>")  # fmt: skip
    assert (response.status_code, response.content) == (201, b"")
    head = log(sb, "port/e")[0].split("|")
    assert head[1:] == [main, "Port Bot <bot@example.com>", "chore(port): enrich"]
    assert sb.bitbucket.read_file(WS, SLUG, "port/e", "port.yml") == b"v2\n"
    assert sb.bitbucket.read_file(WS, SLUG, "port/e", "docs/readme.md") == b"hello\n"  # the rest carries over
    assert sb.bitbucket.branch_tip(WS, SLUG, "main") == main


def test_new_branch_on_an_older_parent(sb: Sandbox, api: requests.Session) -> None:
    old = sb.bitbucket.branch_tip(WS, SLUG, "main")
    sb.bitbucket.push(WS, SLUG, "main", {"other.txt": "moved on"})
    assert commit(api, sb, {"port.yml": b"x\n"}, branch="b", parents=old).status_code == 201
    assert log(sb, "b")[0].split("|")[1] == old


def test_new_branch_without_parents_starts_at_main_which_stays(sb: Sandbox, api: requests.Session) -> None:
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    assert commit(api, sb, {"port.yml": b"x\n"}, branch="b").status_code == 201
    assert log(sb, "b")[0].split("|")[1] == main
    assert sb.bitbucket.branch_tip(WS, SLUG, "main") == main


def test_existing_branch_needs_its_tip_as_parent_else_409(sb: Sandbox, api: requests.Session) -> None:
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    assert commit(api, sb, {"port.yml": b"1\n"}, branch="b", parents=main).status_code == 201
    tip = sb.bitbucket.branch_tip(WS, SLUG, "b")
    replay = commit(api, sb, {"port.yml": b"1\n"}, branch="b", parents=main)  # a retried POST
    assert replay.status_code == 409 and replay.json()["type"] == "error"
    assert sb.bitbucket.branch_tip(WS, SLUG, "b") == tip  # nothing stacked
    assert commit(api, sb, {"port.yml": b"2\n"}, branch="b", parents=tip).status_code == 201
    assert log(sb, "b")[0].split("|")[1] == tip
    assert commit(api, sb, {"port.yml": b"3\n"}, branch="b").status_code == 201  # no parents: on the tip


def test_without_branch_the_main_branch_advances_and_parents_must_be_its_tip(
    sb: Sandbox, api: requests.Session
) -> None:
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    assert commit(api, sb, {"port.yml": b"1\n"}, parents=main).status_code == 201
    moved = sb.bitbucket.branch_tip(WS, SLUG, "main")
    assert log(sb, "main")[0].split("|")[1] == main
    assert commit(api, sb, {"port.yml": b"2\n"}, parents=main).status_code == 409
    assert sb.bitbucket.branch_tip(WS, SLUG, "main") == moved


def test_empty_repository_gets_a_root_commit_and_its_main_branch(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.create_repository(WS, "empty", empty=True)
    assert commit(api, sb, {"port.yml": b"x\n"}, slug="empty", branch="develop").status_code == 201
    assert log(sb, "develop", "empty")[0].split("|")[1] == ""
    assert api.get(url(sb, slug="empty")).json()["mainbranch"]["name"] == "develop"


def test_files_field_deletes_and_attributes_set_modes(sb: Sandbox, api: requests.Session) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"\r\n\r\ndocs/readme.md\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="branch"\r\n\r\nb\r\n'
        f'--{boundary}\r\nContent-Disposition: attachment; name="bin/run.sh"; filename="run.sh"; '
        f'x-attributes:"executable"\r\n\r\n#!/bin/sh\r\n--{boundary}--\r\n'
    )
    response = api.post(
        url(sb, "/src"),
        data=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201
    tree = subprocess.run(
        ["git", f"--git-dir={sb.bitbucket.git_dir(WS, SLUG)}", "ls-tree", "-r", "--format=%(objectmode) %(path)", "b"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert tree == ["100755 bin/run.sh", "100644 port.yml"]


def test_metadata_sent_with_a_filename_becomes_a_file(sb: Sandbox, api: requests.Session) -> None:
    """The pitfall the notes warn about: metadata in `files=` gets a filename, so it is a file."""
    response = api.post(
        url(sb, "/src"),
        files={"message": ("message", b"oops"), "branch": ("branch", b"b")},
    )
    assert response.status_code == 201
    assert sb.bitbucket.read_file(WS, SLUG, "main", "message") == b"oops"
    assert sb.bitbucket.read_file(WS, SLUG, "main", "branch") == b"b"
    assert sb.bitbucket.branch_tip(WS, SLUG, "b") is None
    assert log(sb, "main")[0].endswith("|Edited online with Bitbucket")


def test_urlencoded_form(sb: Sandbox, api: requests.Session) -> None:
    response = api.post(
        url(sb, "/src"),
        data={
            "/message": "a file named message",
            "message": "the message",
            "branch": "b",
        },
    )
    assert response.status_code == 201
    assert sb.bitbucket.read_file(WS, SLUG, "b", "message") == b"a file named message"
    assert log(sb, "b")[0].endswith("|the message")


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        ({"branch": ["a", "b"]}, {"port.yml": b"x"}),
        ({"parents": ["a" * 40, "b" * 40]}, {"port.yml": b"x"}),
        ({"branch": "bad..name"}, {"port.yml": b"x"}),
        ({"author": "no email here"}, {"port.yml": b"x"}),
        ({"parents": "c" * 40}, {"port.yml": b"x"}),
        ({"branch": "b"}, {"../escape": b"x"}),
    ],
)
def test_bad_uploads_are_400(
    sb: Sandbox, api: requests.Session, fields: dict[str, Any], files: dict[str, bytes]
) -> None:
    main = sb.bitbucket.branch_tip(WS, SLUG, "main")
    response = api.post(url(sb, "/src"), data=fields, files={k: (k, v) for k, v in files.items()})
    assert response.status_code == 400 and response.json()["type"] == "error"
    assert sb.bitbucket.branch_tip(WS, SLUG, "main") == main


def test_default_author_is_the_authenticated_account(sb: Sandbox, api: requests.Session) -> None:
    assert commit(api, sb, {"port.yml": b"1\n"}, branch="basic").status_code == 201
    assert log(sb, "basic")[0].split("|")[2] == f"Port Bot <{sb.bitbucket.username}>"
    bearer = requests.post(
        url(sb, "/src"), data={"branch": "bearer"}, files={"port.yml": ("port.yml", b"2\n")},
        headers={"Authorization": f"Bearer {sb.bitbucket.access_token}"},
    )  # fmt: skip
    assert bearer.status_code == 201
    assert log(sb, "bearer")[0].split("|")[2] == "port-gitops access token <noreply@bitbucket.org>"


# --- authentication and routing -------------------------------------------------------------------


def test_authentication(sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]) -> None:
    anonymous = requests.get(url(sb))
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    conforms(anonymous.json(), "error")
    assert requests.get(url(sb), auth=(sb.bitbucket.username, "wrong")).status_code == 401
    api_token_as_bearer = requests.get(url(sb), headers={"Authorization": f"Bearer {sb.bitbucket.token}"})
    assert api_token_as_bearer.status_code == 401
    assert api_token_as_bearer.json()["error"]["message"].startswith(
        "Token is invalid, expired, or not supported"
    )
    assert (
        requests.get(url(sb), headers={"Authorization": f"Bearer {sb.bitbucket.access_token}"}).status_code
        == 200
    )
    me = api.get(f"{sb.bitbucket_url}/2.0/user").json()
    conforms(me, "account")
    assert me["uuid"] == sb.bitbucket.bot.uuid
    token_user = requests.get(
        f"{sb.bitbucket_url}/2.0/user",
        headers={"Authorization": f"Bearer {sb.bitbucket.access_token}"},
    )
    assert token_user.status_code == 403


def test_unknown_routes_and_methods(sb: Sandbox, api: requests.Session) -> None:
    assert api.get(f"{sb.bitbucket_url}/2.0/workspaces/acme").status_code == 404
    assert api.get(url(sb, "/pipelines")).status_code == 404
    not_allowed = api.patch(url(sb, "/pullrequests"))
    assert not_allowed.status_code == 405 and set(not_allowed.headers["Allow"].split(", ")) == {"GET", "POST"}


# --- pull requests --------------------------------------------------------------------------------


def open_pr(api: requests.Session, sb: Sandbox, source: str, **extra: Any) -> requests.Response:
    body = {
        "title": f"Enrich {source}",
        "source": {"branch": {"name": source}},
        **extra,
    }
    return api.post(url(sb, "/pullrequests"), json=body)


def test_create_pull_request(
    sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]
) -> None:
    tip = sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    response = open_pr(api, sb, "port/e", description="what changed", close_source_branch=True)
    assert response.status_code == 201
    pr = response.json()
    conforms(pr, "pullrequest")
    assert response.headers["Location"] == url(sb, f"/pullrequests/{pr['id']}")
    assert pr["links"]["html"]["href"] == f"{sb.bitbucket_web_url}/{WS}/{SLUG}/pull-requests/{pr['id']}"
    assert (
        pr["state"],
        pr["destination"]["branch"]["name"],
        pr["source"]["commit"]["hash"],
    ) == ("OPEN", "main", tip[:12])
    assert (pr["description"], pr["summary"]["raw"], pr["close_source_branch"]) == (
        "what changed",
        "what changed",
        True,
    )
    assert pr["author"]["uuid"] == sb.bitbucket.bot.uuid
    assert api.get(url(sb, f"/pullrequests/{pr['id']}")).json() == pr
    assert api.get(url(sb, "/pullrequests/99")).status_code == 404


def test_open_pull_request_for_the_same_branches_is_silently_updated(
    sb: Sandbox, api: requests.Session
) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    first = open_pr(api, sb, "port/e").json()
    second = open_pr(api, sb, "port/e", title="Retitled")
    assert second.status_code == 201
    assert (second.json()["id"], second.json()["title"]) == (first["id"], "Retitled")
    sb.bitbucket.push(WS, SLUG, "develop", {"dev.txt": "d"})
    other_base = open_pr(api, sb, "port/e", destination={"branch": {"name": "develop"}}).json()
    assert other_base["id"] != first["id"]
    assert [pr["title"] for pr in sb.bitbucket.pull_requests(WS, SLUG)] == [
        "Retitled",
        "Enrich port/e",
    ]


def test_pull_request_refusals(sb: Sandbox, api: requests.Session) -> None:
    api.post(url(sb, "/refs/branches"), json={"name": "same", "target": {"hash": "main"}})
    nothing = open_pr(api, sb, "same")
    assert (nothing.status_code, nothing.json()["error"]["message"]) == (
        400,
        "There are no changes to be pulled",
    )
    missing = open_pr(api, sb, "nope")
    assert missing.status_code == 400 and "source" in missing.json()["error"]["fields"]
    untitled = api.post(url(sb, "/pullrequests"), json={"source": {"branch": {"name": "same"}}})
    assert untitled.status_code == 400 and "title" in untitled.json()["error"]["fields"]
    assert sb.bitbucket.pull_requests(WS, SLUG) == []


def test_reviewers_are_checked(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    dana = sb.bitbucket.add_user("Dana Reviewer")
    itself = open_pr(api, sb, "port/e", reviewers=[{"uuid": sb.bitbucket.bot.uuid}])
    assert itself.status_code == 400
    assert itself.json()["error"]["fields"]["reviewers"] == [
        "Port Bot is the author and cannot be included as a reviewer."
    ]
    unknown = open_pr(
        api,
        sb,
        "port/e",
        reviewers=[{"uuid": "{00000000-0000-0000-0000-000000000000}"}],
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["fields"]["reviewers"] == [
        "Malformed reviewers list"
    ]
    pr = open_pr(api, sb, "port/e", reviewers=[{"uuid": dana.uuid}]).json()
    assert [r["uuid"] for r in pr["reviewers"]] == [dana.uuid]


def test_list_filters_with_bbql_and_state(
    sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]
) -> None:
    for branch in ("port/a", 'we"ird', "port/c"):
        sb.bitbucket.push(WS, SLUG, branch, {"f": branch})
        open_pr(api, sb, branch)
    sb.bitbucket.decline_pull_request(WS, SLUG, 3)
    listing = api.get(url(sb, "/pullrequests")).json()
    conforms(listing, "paginated_pullrequests")
    assert [pr["id"] for pr in listing["values"]] == [
        1,
        2,
    ]  # open ones unless told otherwise

    def ids(**params: str) -> list[int]:
        return [pr["id"] for pr in api.get(url(sb, "/pullrequests"), params=params).json()["values"]]

    assert ids(q='source.branch.name="we\\"ird" AND state="OPEN"') == [2]
    assert ids(q='source.branch.name="port/c"') == []  # still only open ones
    assert ids(q='source.branch.name="port/c" AND state="DECLINED"') == [3]  # q names the state
    assert ids(state="DECLINED") == [3]
    assert ids(
        q='destination.branch.name="main" AND (title ~ "PORT/A" OR id = 3)',
        state="OPEN",
    ) == [1]
    bad = api.get(url(sb, "/pullrequests"), params={"q": 'source.branch.name = "unterminated'})
    assert bad.status_code == 400 and bad.json()["type"] == "error"


def test_list_is_paginated(sb: Sandbox, api: requests.Session) -> None:
    for branch in ("a", "b", "c"):
        sb.bitbucket.push(WS, SLUG, branch, {"f": branch})
        open_pr(api, sb, branch)
    page = api.get(url(sb, "/pullrequests"), params={"pagelen": "2"}).json()
    assert ([pr["id"] for pr in page["values"]], page["size"]) == ([1, 2], 3)
    rest = api.get(page["next"]).json()
    assert [pr["id"] for pr in rest["values"]] == [3] and "next" not in rest


def test_update_replaces_what_is_sent_and_clears_what_is_omitted(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    dana = sb.bitbucket.add_user("Dana Reviewer")
    pr = open_pr(api, sb, "port/e", description="d1", reviewers=[{"uuid": dana.uuid}]).json()
    kept = api.put(
        url(sb, f"/pullrequests/{pr['id']}"),
        json={"title": "t2", "description": "d2", "reviewers": pr["reviewers"]},
    )
    assert kept.status_code == 200
    assert (
        kept.json()["title"],
        kept.json()["description"],
        len(kept.json()["reviewers"]),
    ) == ("t2", "d2", 1)
    cleared = api.put(url(sb, f"/pullrequests/{pr['id']}"), json={"title": "t3"}).json()
    assert (cleared["title"], cleared["description"], cleared["reviewers"]) == (
        "t3",
        "",
        [],
    )
    bad_base = api.put(
        url(sb, f"/pullrequests/{pr['id']}"),
        json={"title": "t", "destination": {"branch": {"name": "nope"}}},
    )
    assert bad_base.status_code == 400


def test_only_open_pull_requests_change(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    pr = open_pr(api, sb, "port/e").json()
    declined = api.post(url(sb, f"/pullrequests/{pr['id']}/decline"))
    assert (declined.status_code, declined.json()["state"]) == (200, "DECLINED")
    assert api.put(url(sb, f"/pullrequests/{pr['id']}"), json={"title": "x"}).status_code == 400
    assert api.post(url(sb, f"/pullrequests/{pr['id']}/decline")).status_code == 400
    reopened = open_pr(api, sb, "port/e").json()  # a declined PR is not reused: a new one opens
    assert reopened["id"] != pr["id"] and reopened["state"] == "OPEN"


def test_deleting_the_source_branch_declines_the_pull_request(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    pr = open_pr(api, sb, "port/e").json()
    assert api.delete(url(sb, "/refs/branches/port/e")).status_code == 204
    assert api.get(url(sb, f"/pullrequests/{pr['id']}")).json()["state"] == "DECLINED"


def test_open_pull_request_follows_its_branch(sb: Sandbox, api: requests.Session) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    pr = open_pr(api, sb, "port/e").json()
    tip = sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "newer\n"})
    assert api.get(url(sb, f"/pullrequests/{pr['id']}")).json()["source"]["commit"]["hash"] == tip[:12]
    diff = api.get(url(sb, f"/pullrequests/{pr['id']}/diff"))
    assert diff.status_code == 200 and "+newer" in diff.text and "-# hand-written" in diff.text


@pytest.mark.parametrize("squash", [False, True])
def test_merge_makes_a_real_commit_and_closes_the_source_branch(
    sb: Sandbox, api: requests.Session, squash: bool
) -> None:
    source = sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    main = sb.bitbucket.push(WS, SLUG, "main", {"other.txt": "someone else"})
    pr = open_pr(api, sb, "port/e", close_source_branch=True).json()
    merged = sb.bitbucket.merge_pull_request(WS, SLUG, pr["id"], squash=squash)
    assert log(sb, "main")[0].split("|")[:2] == [
        merged,
        main if squash else f"{main} {source}",
    ]
    assert sb.bitbucket.read_file(WS, SLUG, "main", "port.yml") == b"new\n"
    assert sb.bitbucket.read_file(WS, SLUG, "main", "other.txt") == b"someone else"
    after = api.get(url(sb, f"/pullrequests/{pr['id']}")).json()
    assert (after["state"], after["merge_commit"]["hash"]) == ("MERGED", merged[:12])
    assert sb.bitbucket.branch_tip(WS, SLUG, "port/e") is None


def test_merge_keeps_the_branch_unless_asked_and_merges_over_the_api(
    sb: Sandbox, api: requests.Session
) -> None:
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    pr = open_pr(api, sb, "port/e").json()
    merged = api.post(
        url(sb, f"/pullrequests/{pr['id']}/merge"),
        json={"merge_strategy": "merge_commit"},
    )
    assert (merged.status_code, merged.json()["state"]) == (200, "MERGED")
    assert sb.bitbucket.branch_tip(WS, SLUG, "port/e") is not None  # left behind, as Cloud does
    assert sb.bitbucket.read_file(WS, SLUG, "main", "port.yml") == b"new\n"


def test_default_reviewers(sb: Sandbox, api: requests.Session, conforms: Callable[[Any, str], None]) -> None:
    dana = sb.bitbucket.add_user("Dana Reviewer")
    sb.bitbucket.set_default_reviewers(WS, SLUG, [dana.uuid, {"uuid": "{1234}", "display_name": "Lee Lead"}])
    plain = api.get(url(sb, "/default-reviewers")).json()
    conforms(plain, "paginated_accounts")
    assert [(u["uuid"], u["display_name"]) for u in plain["values"]] == [
        (dana.uuid, "Dana Reviewer"),
        ("{1234}", "Lee Lead"),
    ]
    effective = api.get(url(sb, "/effective-default-reviewers")).json()
    conforms(effective, "paginated_default_reviewer_and_type")
    assert [v["user"]["uuid"] for v in effective["values"]] == [dana.uuid, "{1234}"]
    sb.bitbucket.push(WS, SLUG, "port/e", {"port.yml": "new\n"})
    pr = open_pr(
        api,
        sb,
        "port/e",
        reviewers=[{"uuid": v["user"]["uuid"]} for v in effective["values"]],
    ).json()
    assert len(pr["reviewers"]) == 2  # accepted as reviewers; never added by the API on its own
    assert open_pr(api, sb, "port/e").json()["reviewers"] == []
