"""Actions as data: the bundled folders, the mapping derived from each invocation body, and how a run
picks its action (--action, the payload's port_context.action, the Enrich Service default)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from port_gitops import actions, resources
from port_gitops.port_setup import action_definition

FOLDERS = REPO / "resources/io/port/gitops/actions"
IDENTIFIERS = sorted(p.name for p in FOLDERS.iterdir() if p.is_dir())
OWNERSHIP = {
    "port_context": {"entity": "payments", "runId": "r_1", "action": "set_ownership"},
    "owners": ["platform", "sre"],
    "tier": "gold",
    "onCall": True,
    "sloTarget": 99.9,
    "runbook": "https://wiki.example.com/payments",
}


def test_the_bundled_actions_are_the_folders() -> None:
    assert IDENTIFIERS == ["service_enrich_service", "set_ownership"]
    assert actions.bundled_identifiers() == tuple(IDENTIFIERS)
    for identifier in IDENTIFIERS:
        definition = json.loads((FOLDERS / identifier / "action.json").read_text(encoding="utf-8"))
        assert definition["identifier"] == identifier, "a folder is named after its action"


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_the_shipped_mapping_is_derived_from_what_setup_sends(identifier: str) -> None:
    definition = json.loads((FOLDERS / identifier / "action.json").read_text(encoding="utf-8"))
    sent = action_definition(definition, "https://jenkins.example.com/x", "t0ken", token_in_url=False)
    shipped = yaml.safe_load((FOLDERS / identifier / "trigger.yml").read_text(encoding="utf-8"))
    assert shipped == actions.mapping_from_body(sent["invocationMethod"]["body"])
    # Each body names its action, so one Jenkins job can serve several.
    assert sent["invocationMethod"]["body"]["port_context"]["action"] == "{{ .action.identifier }}"
    keys = [v["key"] for v in shipped["genericVariables"]]
    assert keys[:4] == ["ENTITY_IDENTIFIER", "REPO_URL", "RUN_ID", "ACTION"] and keys[-1] == "PORT_PAYLOAD"


def test_required_inputs_become_required_variables() -> None:
    assert list(actions.load_action("set_ownership").required) == ["OWNERS", "TIER"]
    enrich = actions.load_action(resources.DEFAULT_ACTION)
    assert len(enrich.required) == 3 and enrich.blueprint == "service"


@pytest.mark.parametrize(
    ("key", "name"), [("repo_url", "REPO_URL"), ("onCall", "ON_CALL"), ("slo-target", "SLO_TARGET")]
)
def test_variable_names_follow_the_body_keys(key: str, name: str) -> None:
    assert actions.variable_name(key) == name


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_each_action_offers_exactly_what_its_blueprints_allow(identifier: str) -> None:
    folder = FOLDERS / identifier
    definition = json.loads((folder / "action.json").read_text(encoding="utf-8"))
    blueprints_file = folder / "blueprints.json"
    if not blueprints_file.exists():
        blueprints_file = REPO / "resources/io/port/gitops/blueprints.json"
    blueprints = json.loads(blueprints_file.read_text(encoding="utf-8"))["blueprints"]
    target = next(b for b in blueprints if b["identifier"] == definition["trigger"]["blueprintIdentifier"])
    for name, spec in definition["trigger"]["userInputs"]["properties"].items():
        if "enum" in spec:
            assert spec["enum"] == target["schema"]["properties"][name]["enum"]


def test_the_payload_picks_its_action_folder(tmp_path: Path) -> None:
    result = run_cli("render", "--payload", "-", stdin=json.dumps(OWNERSHIP).encode())
    assert result.returncode == 0, result.stderr.decode()
    assert yaml.safe_load(result.stdout) == [
        {
            "identifier": "payments",
            "blueprint": "service",
            "properties": {
                "tier": "gold",
                "onCall": True,
                "sloTarget": 99.9,
                "runbook": "https://wiki.example.com/payments",
            },
            "relations": {"owners": ["platform", "sre"]},
        }
    ]


def test_a_payload_naming_another_action_than_the_job_is_invalid_input() -> None:
    result = run_cli(
        "render", "--payload", "-", "--action", resources.DEFAULT_ACTION, stdin=json.dumps(OWNERSHIP).encode()
    )
    assert result.returncode == 3
    assert "port_context.action: 'set_ownership' is not the action this job runs" in result.stderr.decode()
    twin = run_cli(
        "render",
        "--payload",
        "-",
        stdin=json.dumps(OWNERSHIP).encode(),
        env={"PORT_GITOPS_ACTION": "set_ownership"},
    )
    assert twin.returncode == 0, twin.stderr.decode()


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (
            ["--action", "nope", "--entity", "x"],
            2,
            "--action/PORT_GITOPS_ACTION: 'nope' is not a bundled action",
        ),
        (["--action", "set_ownership", "--entity", "x", "--set", "TIER"], 2, "is not NAME=VALUE"),
        (["--action", "set_ownership", "--entity", "x", "--set", "TIER=gold"], 2, "missing --set OWNERS"),
        (
            ["--action", "set_ownership", "--entity", "x", "--set", "OWNERS=a", "--set", "TIER=tin"],
            3,
            "--set TIER: 'tin'",
        ),
    ],
)
def test_set_supplies_variables_without_a_payload(args: list[str], code: int, expected: str) -> None:
    result = run_cli("render", *args)
    assert result.returncode == code
    assert expected in result.stderr.decode()


def test_set_output_and_data_have_no_environment_twin() -> None:
    result = run_cli(
        "render",
        "--action",
        "set_ownership",
        "--entity",
        "payments",
        "--set",
        "OWNERS=platform",
        "--set",
        "TIER=gold",
        env={"TIER": "silver", "PORT_GITOPS_SET": "TIER=bronze"},
    )
    assert result.returncode == 0, result.stderr.decode()
    assert yaml.safe_load(result.stdout)[0]["properties"] == {"tier": "gold"}


def test_no_name_of_the_enrich_service_action_appears_outside_its_definitions_and_shims() -> None:
    """A new action is data: the code knows only the structural values (entity, repository, run id)."""
    names = re.compile(
        r"\b(domain|lifecycle|DOMAIN|TYPE|LIFECYCLE|service_type|service_lifecycle|domain_identifier)\b"
    )
    allowed = {
        "python/src/port_gitops/compat.py",  # the old flags and the guide's placeholders
        "python/src/port_gitops/port_setup/domains.py",  # setup --domains: the guide's domain entities
        "python/src/port_gitops/commands/setup_cmd.py",  # ... and its --domains flag
        "vars/portEnrichService.groovy",  # the old step parameters
    }
    package = REPO / "python/src/port_gitops"
    sources = [
        *package.glob("*.py"),
        *(package / "portyml").glob("*.py"),
        *(package / "commands").glob("*.py"),
    ]
    sources += [REPO / "Jenkinsfile", *(REPO / "vars").glob("*.groovy")]
    found = []
    for path in sources:
        relative = str(path.relative_to(REPO))
        if relative in allowed:
            continue
        comment = "#" if path.suffix == ".py" else "//"
        in_docstring = False  # documentation may name the bundled actions' inputs; code may not
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split(comment, 1)[0]
            quotes = line.count('"""') % 2 == 1
            if in_docstring or '"""' in line or line.strip().startswith(("*", "/**")):
                in_docstring ^= quotes
                continue
            if names.search(code):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
