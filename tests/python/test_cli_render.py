"""`port-gitops render` as a user runs it: values, files, --check, exit codes, nothing written on errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

FLAGS = (
    "--entity",
    "payments",
    "--domain",
    "billing",
    "--type",
    "backend",
    "--lifecycle",
    "Production",
)
NEW_FILE = (
    b"- identifier: payments\n  blueprint: service\n  properties:\n    type: backend\n    lifecycle: Production\n"
    b"  relations:\n    domain: billing\n"
)
PAYLOAD = {
    "port_context": {
        "entity": "payments",
        "repo_url": "https://bitbucket.org/acme/payments",
        "runId": "r_1",
    },
    "domain": "billing",
    "type": "backend",
    "lifecycle": "Production",
}


def stderr(result: object) -> str:
    return result.stderr.decode()  # type: ignore[attr-defined,no-any-return]


def test_flags_print_a_new_port_yml() -> None:
    result = run_cli("render", *FLAGS)
    assert result.returncode == 0, stderr(result)
    assert result.stdout == NEW_FILE
    assert "service payments: added" in stderr(result)


def test_help_shows_examples_and_exit_codes() -> None:
    result = run_cli("render", "--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    assert "examples:" in out and "--check" in out and "exit codes:" in out
    assert "PORT_GITOPS_TEMPLATE" in out and "PORT_GITOPS_BLUEPRINTS" in out and "PORT_GITOPS_TRIGGER" in out


def test_existing_file_is_merged_into_output(tmp_path: Path) -> None:
    existing = tmp_path / "port.yml"
    existing.write_bytes(
        b"# ours\nidentifier: payments\nblueprint: service\nproperties:\n  type: library  # x\n"
    )
    result = run_cli("render", *FLAGS, "--existing", str(existing), "--output", str(existing))
    assert result.returncode == 0, stderr(result)
    assert existing.read_bytes() == (
        b"# ours\nidentifier: payments\nblueprint: service\nproperties:\n  type: backend  # x\n"
        b"  lifecycle: Production\nrelations:\n  domain: billing\n"
    )
    assert "service payments: properties.type library -> backend" in stderr(result)
    assert result.stdout == b""


def test_an_unchanged_file_is_left_alone_and_check_passes(tmp_path: Path) -> None:
    existing = tmp_path / "port.yml"
    existing.write_bytes(NEW_FILE.replace(b"\n", b"\r\n").replace(b"Production", b"'Production'"))
    before = existing.stat()
    result = run_cli("render", *FLAGS, "--existing", str(existing), "--output", str(existing))
    assert result.returncode == 0, stderr(result)
    after = existing.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "no change" in stderr(result)
    check = run_cli("render", *FLAGS, "--existing", str(existing), "--check")
    assert (check.returncode, check.stdout) == (0, b"")


def test_check_exits_1_with_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    existing = tmp_path / "port.yml"
    content = b"- identifier: payments\r\n  blueprint: service\r\n  properties: {type: frontend}\r\n"
    existing.write_bytes(content)
    result = run_cli("render", *FLAGS, "--existing", str(existing), "--check")
    assert result.returncode == 1, stderr(result)
    diff = result.stdout.decode()
    assert f"--- a/{existing}" in diff
    assert (
        "-  properties: {type: frontend}\r\n+  properties: {type: backend, lifecycle: Production}\r\n" in diff
    )
    assert existing.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["port.yml"]


def test_crlf_and_bytes_are_kept_through_the_cli(tmp_path: Path) -> None:
    existing = tmp_path / "port.yml"
    existing.write_bytes("# café\r\n- identifier: web\r\n  blueprint: service\r\n".encode())
    output = tmp_path / "out.yml"
    result = run_cli("render", *FLAGS, "--existing", str(existing), "--output", str(output))
    assert result.returncode == 0, stderr(result)
    assert output.read_bytes() == existing.read_bytes() + NEW_FILE.replace(b"\n", b"\r\n")


def test_a_missing_existing_file_means_a_new_file(tmp_path: Path) -> None:
    output = tmp_path / "port.yml"
    result = run_cli("render", *FLAGS, "--existing", str(output), "--output", str(output))
    assert result.returncode == 0, stderr(result)
    assert output.read_bytes() == NEW_FILE


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"identifier: payments\nblueprint: service\nproperties:\n  type: [backend,\n",
            "line 5: not valid YAML",
        ),
        (b"identifier: payments\n\xff\n", "line 2: not UTF-8 text"),
        (b"- identifier: a\n- 42\n", "line 2: expected an entity"),
    ],
)
def test_a_malformed_existing_file_is_exit_3_naming_the_line_and_nothing_is_written(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    existing = tmp_path / "port.yml"
    existing.write_bytes(content)
    output = tmp_path / "out.yml"
    output.write_bytes(b"previous output\n")
    result = run_cli("render", *FLAGS, "--existing", str(existing), "--output", str(output))
    assert result.returncode == 3
    assert stderr(result).splitlines()[-1].startswith(f"port-gitops render: error: {existing} {expected}")
    assert existing.read_bytes() == content
    assert output.read_bytes() == b"previous output\n"


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        (
            "--lifecycle",
            "Production\nowner: evil",
            "--lifecycle: 'Production\\nowner: evil' is not allowed",
        ),
        (
            "--type",
            "' ; rm -rf /",
            '--type: "\' ; rm -rf /" is not allowed; expected one of frontend, backend',
        ),
        (
            "--entity",
            "*anchor",
            "--entity: '*anchor' is not valid; expected a Port identifier",
        ),
        ("--domain", "{{ other }}", "--domain: '{{ other }}' is not valid"),
        ("--entity", "", "--entity: missing; expected the service identifier"),
    ],
)
def test_invalid_values_are_exit_3_and_nothing_is_written(
    tmp_path: Path, flag: str, value: str, expected: str
) -> None:
    args = list(FLAGS)
    args[args.index(flag) + 1] = value
    output = tmp_path / "port.yml"
    result = run_cli("render", *args, "--output", str(output))
    assert result.returncode == 3
    [line] = stderr(result).splitlines()
    assert line.startswith(f"port-gitops render: error: {expected}")
    assert not output.exists()


@pytest.mark.parametrize("identifier", ["null", "true", "123", "-lead", "1.5", "0x1F", "ünï", "a:b", "x=y/z"])
def test_identifiers_that_look_like_yaml_stay_strings(identifier: str) -> None:
    result = run_cli(
        "render",
        f"--entity={identifier}",
        f"--domain={identifier}",
        "--type",
        "library",
        "--lifecycle",
        "Deprecated",
    )
    assert result.returncode == 0, stderr(result)
    loaded = yaml.safe_load(result.stdout.decode())
    assert loaded[0]["identifier"] == identifier and loaded[0]["relations"]["domain"] == identifier


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--entity", "payments"), "missing --domain, --type, --lifecycle"),
        ((), "give --payload FILE|-, or all of"),
        ((*FLAGS, "--payload", "-"), "not both"),
        ((*FLAGS, "--check", "--output", "x.yml"), "--check writes nothing"),
        (
            (*FLAGS, "--template", "/nonexistent/t.yml"),
            "--template/PORT_GITOPS_TEMPLATE: cannot read",
        ),
        (
            (*FLAGS, "--blueprints", "/nonexistent/b.json"),
            "PORT_GITOPS_BLUEPRINTS: cannot read",
        ),
    ],
)
def test_usage_errors_are_exit_2(args: tuple[str, ...], expected: str) -> None:
    result = run_cli("render", *args)
    assert result.returncode == 2
    assert expected in stderr(result)


def test_data_has_no_environment_twin() -> None:
    env = {
        "ENTITY": "payments",
        "ENTITY_IDENTIFIER": "payments",
        "DOMAIN": "billing",
        "TYPE": "backend",
        "LIFECYCLE": "Production",
    }
    result = run_cli("render", env=env)
    assert result.returncode == 2
    assert "give --payload FILE|-, or all of" in stderr(result)


def test_template_and_blueprints_come_from_their_environment_twins(
    tmp_path: Path,
) -> None:
    template = tmp_path / "t.yml"
    template.write_text(
        'identifier: "{{ service_identifier }}"\nblueprint: service\nproperties:\n  lifecycle: "{{ service_lifecycle }}"\n'
        '  owner: "{{ var.ENTITY_IDENTIFIER }}-team"\n',
        encoding="utf-8",
    )
    bundled = json.loads((REPO / "resources/io/port/gitops/blueprints.json").read_text(encoding="utf-8"))
    service = next(b for b in bundled["blueprints"] if b["identifier"] == "service")
    service["schema"]["properties"]["lifecycle"]["enum"].append("Sunset")
    service["schema"]["properties"]["owner"] = {"type": "string"}  # a given blueprint file is complete
    blueprints = tmp_path / "b.json"
    blueprints.write_text(json.dumps(bundled), encoding="utf-8")
    args = [*FLAGS[:-1], "Sunset"]
    env = {
        "PORT_GITOPS_TEMPLATE": str(template),
        "PORT_GITOPS_BLUEPRINTS": str(blueprints),
    }
    result = run_cli("render", *args, env=env)
    assert result.returncode == 0, stderr(result)
    assert yaml.safe_load(result.stdout.decode()) == [
        {
            "identifier": "payments",
            "blueprint": "service",
            "properties": {"lifecycle": "Sunset", "owner": "payments-team"},
        }
    ]
    assert run_cli("render", *args).returncode == 3  # the bundled blueprints do not allow it


def test_a_template_error_is_exit_2(tmp_path: Path) -> None:
    template = tmp_path / "t.yml"
    template.write_text("identifier: x\nblueprint: service\ntitle: '{{ owner }}'\n", encoding="utf-8")
    result = run_cli("render", *FLAGS, "--template", str(template))
    assert result.returncode == 2
    assert f"{template}: unknown placeholder {{{{ owner }}}}" in stderr(result)


# --- payloads, resolved through the GWT mapping ---------------------------------------


def test_a_payload_file_and_stdin_give_the_same_result(tmp_path: Path) -> None:
    payload = tmp_path / "body.json"
    payload.write_text(json.dumps(PAYLOAD), encoding="utf-8")
    from_file = run_cli("render", "--payload", str(payload))
    from_stdin = run_cli("render", "--payload", "-", stdin=json.dumps(PAYLOAD).encode())
    assert from_file.returncode == from_stdin.returncode == 0, stderr(from_file) + stderr(from_stdin)
    assert from_file.stdout == from_stdin.stdout == NEW_FILE


def test_a_missing_payload_field_is_exit_3_naming_it() -> None:
    body = {**PAYLOAD, "port_context": {"runId": "r_1"}}
    result = run_cli("render", "--payload", "-", stdin=json.dumps(body).encode())
    assert result.returncode == 3
    assert "port_context.entity: missing; expected the service identifier" in stderr(result)


def test_errors_name_the_payload_field_of_a_custom_mapping(tmp_path: Path) -> None:
    bundled = (REPO / "resources/io/port/gitops/actions/service_enrich_service/trigger.yml").read_text(
        encoding="utf-8"
    )
    trigger = tmp_path / "trigger.yml"
    trigger.write_text(bundled.replace("$.lifecycle", "$.inputs.lifecycle"), encoding="utf-8")
    body = {**PAYLOAD, "inputs": {"lifecycle": "Legacy"}}
    result = run_cli("render", "--payload", "-", "--trigger", str(trigger), stdin=json.dumps(body).encode())
    assert result.returncode == 3
    assert "error: inputs.lifecycle: 'Legacy' is not allowed" in stderr(result)


def test_a_new_action_input_needs_only_the_mapping_and_the_template(
    tmp_path: Path,
) -> None:
    bundled = (REPO / "resources/io/port/gitops/actions/service_enrich_service/trigger.yml").read_text(
        encoding="utf-8"
    )
    trigger = tmp_path / "trigger.yml"
    trigger.write_text(
        bundled.replace(
            "genericVariables:\n",
            "genericVariables:\n  - {key: OWNER, value: $.owner}\n",
        ),
        encoding="utf-8",
    )
    template = tmp_path / "t.yml"
    template.write_text(
        (REPO / "templates/enrichService.yml").read_text(encoding="utf-8") + '  team: "{{ var.OWNER }}"\n',
        encoding="utf-8",
    )
    hostile = "Production\nowner: evil # {{ service_type }} *x &y !!python/object"
    body = json.dumps({**PAYLOAD, "owner": hostile}).encode()
    result = run_cli(
        "render",
        "--payload",
        "-",
        "--trigger",
        str(trigger),
        "--template",
        str(template),
        stdin=body,
    )
    assert result.returncode == 0, stderr(result)
    assert yaml.safe_load(result.stdout.decode())[0]["team"] == hostile
    without = run_cli(
        "render",
        "--payload",
        "-",
        "--trigger",
        str(trigger),
        "--template",
        str(template),
        stdin=json.dumps(PAYLOAD).encode(),
    )
    # An optional value that is not given leaves its key out: the existing value is kept.
    assert without.returncode == 0, stderr(without)
    assert "team" not in yaml.safe_load(without.stdout.decode())[0]


def test_nothing_else_is_left_in_the_output_directory(tmp_path: Path) -> None:
    existing = tmp_path / "port.yml"
    existing.write_bytes(b"identifier: payments\nblueprint: service\n")
    os.chmod(existing, 0o640)
    result = run_cli("render", *FLAGS, "--existing", str(existing), "--output", str(existing))
    assert result.returncode == 0, stderr(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["port.yml"]
    assert existing.stat().st_mode & 0o777 == 0o640
    assert yaml.safe_load(existing.read_text(encoding="utf-8"))["relations"] == {"domain": "billing"}
