"""`port-gitops validate` as a user runs it: FILE:LINE: ENTITY: MESSAGE lines, exit 0 / 1 / 2, the
definitions bundled, a team's own, or the tenant's read from Port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, run_cli
from contract import assert_requests_match_spec, operations

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import EXISTING_PORT_YML

BROKEN = """\
- identifier: web
  blueprint: service
  properties:
    type: mobile
- identifier: api
  blueprint: servise
"""


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def test_a_clean_file_exits_0(tmp_path: Path) -> None:
    (tmp_path / "port.yml").write_text(EXISTING_PORT_YML, encoding="utf-8")
    done = run_cli("validate", cwd=tmp_path)  # port.yml by default
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert b"1 file(s) clean, checked against bundled blueprints.json" in done.stderr


def test_problems_are_listed_with_file_line_and_entity(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        "identifier: x\nblueprint: domain\nproperties:\n  architecture: wiki\n", encoding="utf-8"
    )
    (tmp_path / "c.yml").write_text(EXISTING_PORT_YML, encoding="utf-8")
    done = run_cli("validate", "a.yml", "b.yml", "c.yml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.decode().splitlines() == [
        "a.yml:4: web: properties.type: 'mobile' is not allowed; expected one of frontend, backend, library",
        "a.yml:6: api: blueprint: 'servise' is not defined in bundled blueprints.json",
        "b.yml:4: x: properties.architecture: 'wiki' is not a valid url; expected an http(s) URL such as "
        "https://example.com/page",
    ]
    assert b"3 problem(s) in 3 file(s)" in done.stderr


def test_stdin_and_unreadable_files(tmp_path: Path) -> None:
    piped = run_cli("validate", "-", stdin=BROKEN.encode())
    assert piped.returncode == 1 and piped.stdout.startswith(b"<stdin>:4: web: properties.type:")
    missing = run_cli("validate", str(tmp_path / "nope.yml"))
    assert missing.returncode == 2 and b"cannot read" in missing.stderr and b"No such file" in missing.stderr
    (tmp_path / "latin1.yml").write_bytes("identifier: caf\xe9\n".encode("latin-1"))
    binary = run_cli("validate", str(tmp_path / "latin1.yml"))
    assert binary.returncode == 2 and b"not UTF-8 text" in binary.stderr


def test_a_teams_own_blueprints(tmp_path: Path) -> None:
    bundled = json.loads((REPO / "resources/io/port/gitops/blueprints.json").read_text(encoding="utf-8"))
    bundled["blueprints"][1]["schema"]["properties"]["type"]["enum"].append("mobile")
    bundled["blueprints"][1]["schema"]["properties"]["tier"] = {"type": "number"}
    ours = tmp_path / "ours.json"
    ours.write_text(json.dumps(bundled), encoding="utf-8")
    port_yml = tmp_path / "port.yml"
    port_yml.write_text(
        "- identifier: web\n  blueprint: service\n  properties:\n    type: mobile\n    tier: high\n"
    )
    for done in (
        run_cli("validate", "--blueprints", str(ours), str(port_yml)),
        run_cli("validate", str(port_yml), env={"PORT_GITOPS_BLUEPRINTS": str(ours)}),
    ):
        assert done.returncode == 1
        assert done.stdout.decode() == f"{port_yml}:5: web: properties.tier: expected a number, not 'high'\n"
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert run_cli("validate", "--blueprints", str(broken), str(port_yml)).returncode == 2


def test_from_port_checks_against_the_tenants_blueprints(sb: Sandbox, tmp_path: Path) -> None:
    sb.port.catalog.add_blueprint(
        {"identifier": "domain", "title": "Domain", "schema": {"properties": {}}, "relations": {}}
    )
    sb.port.catalog.add_blueprint(
        {
            "identifier": "service",
            "title": "Service",
            "schema": {
                "properties": {"url": {"type": "string", "format": "url"}, "lifecycle": {"type": "string"}}
            },
            "relations": {"domain": {"target": "domain", "required": False, "many": False}},
        }
    )
    port_yml = tmp_path / "port.yml"
    port_yml.write_text(
        "- identifier: web\n  blueprint: service\n  properties:\n    url: https://bitbucket.org/acme/web\n"
        "    lifecyle: Production\n  relations:\n    domain: billing\n",
        encoding="utf-8",
    )
    done = run_cli("validate", "--from-port", str(port_yml), env=sb.env())
    assert done.returncode == 1, done.stderr
    assert done.stdout.decode() == f"{port_yml}:5: web: properties.lifecyle: service has no such property\n"
    assert b"checked against Port (127.0.0.1:" in done.stderr
    assert_requests_match_spec(sb.port.requests, flavour="port")
    assert operations(sb.port.requests, "port") == ["POST /v1/auth/access_token", "GET /v1/blueprints"]


def test_from_port_usage_errors(sb: Sandbox, tmp_path: Path) -> None:
    port_yml = tmp_path / "port.yml"
    port_yml.write_text(EXISTING_PORT_YML, encoding="utf-8")
    both = run_cli("validate", "--from-port", "--blueprints", "x.json", str(port_yml), env=sb.env())
    assert both.returncode == 2 and b"either --from-port or --blueprints" in both.stderr
    env = {k: v for k, v in sb.env().items() if not k.startswith("PORT_CLIENT")}
    anonymous = run_cli("validate", "--from-port", str(port_yml), env=env)
    assert (
        anonymous.returncode == 2
        and b"--from-port needs PORT_CLIENT_ID and PORT_CLIENT_SECRET" in anonymous.stderr
    )
    sb.port.faults.add("GET", r"^/v1/blueprints$", status=503)
    down = run_cli("validate", "--from-port", "--max-attempts", "1", str(port_yml), env=sb.env())
    assert (
        down.returncode == 2
        and b"--from-port: Port: read the blueprints: gave up after 1 attempt" in down.stderr
    )
