"""Start-up cost is what a command imports: structural guards (which modules load), never timings.
Measured times are the benchmark's business (bench/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Optional

import pytest
from conftest import REPO
from enrichkit import FLAVOURS

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example

_MARK = "--- modules ---"
_LIST_MODULES = f"import sys; print({_MARK!r}); print('\\n'.join(sorted(sys.modules)))"


def _modules_after(code: str, env: Optional[Mapping[str, str]] = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_LIST_MODULES}"],
        capture_output=True,
        text=True,
        check=True,
        env=None if env is None else dict(env),
    )
    return set(done.stdout.rpartition(_MARK)[2].split())  # after whatever the code printed


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


_HEAVY = {"requests", "urllib3", "yaml", "atlassian", "jsonpath_ng", "tenacity", "github", "gitlab"}


def _cli(*argv: str) -> str:
    return (
        f"import sys\nfrom port_gitops.cli import main\nsys.argv = ['port-gitops', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )


def test_help_imports_no_http_yaml_jsonpath_or_sandbox():
    loaded = _modules_after(_cli("--help"))
    assert "port_gitops.cli" in loaded
    assert _roots(loaded) & _HEAVY == set()
    assert not any(name.startswith("port_gitops.sandbox") for name in loaded)
    # No command's flags are built for the top-level help, and logging waits for a parsed command.
    assert not any(name.startswith("port_gitops.commands.") for name in loaded)
    assert not {"logging", "typing"} & loaded


@pytest.mark.parametrize("command", ["vars", "render", "enrich", "report", "setup", "validate", "sandbox"])
def test_a_command_help_loads_only_that_command(command: str):
    loaded = _modules_after(_cli(command, "--help"))
    commands = {name for name in loaded if name.startswith("port_gitops.commands.")}
    assert commands - {"port_gitops.commands.options"} == {f"port_gitops.commands.{command}_cmd"}
    assert _roots(loaded) & _HEAVY == set()
    assert not any(name.startswith("port_gitops.sandbox") for name in loaded)


@pytest.mark.parametrize("command", ["vars", "render"])
def test_the_local_commands_load_no_http_or_scm_library(command: str, tmp_path):
    # vars and render send nothing: their start-up is the interpreter, PyYAML and jsonpath-ng.
    payload = tmp_path / "payload.json"
    payload.write_text(
        '{"port_context": {"entity": "payments", "runId": "r_1",'
        ' "repo_url": "https://bitbucket.org/acme/payments"},'
        ' "domain": "billing", "type": "backend", "lifecycle": "Production"}'
    )
    loaded = _modules_after(_cli(command, "--payload", str(payload)))
    assert {"yaml", "jsonpath_ng"} <= _roots(loaded)  # it did its work
    assert _roots(loaded) & (_HEAVY - {"yaml", "jsonpath_ng"}) == set()
    assert not {"ssl", "http.client", "concurrent.futures"} & loaded
    assert not any(name.startswith(("port_gitops.sandbox", "port_gitops.scm.")) for name in loaded)


def test_the_parser_built_for_one_command_parses_and_helps_as_the_whole_one(capsys):
    from port_gitops.cli import COMMANDS, build_parser, command_named

    def outcome(parser, argv):
        try:
            return vars(parser.parse_args(argv)), capsys.readouterr()
        except SystemExit as exc:
            return exc.code, capsys.readouterr()

    whole = build_parser()
    for argv in (["--help"], ["--version"], [], ["bogus"], ["-v", "vars", "--help"], ["render", "--bogus"]):
        assert outcome(build_parser(command_named(argv)), argv) == outcome(whole, argv), argv
    for name, _, _ in COMMANDS:
        for argv in ([name, "--help"], ["-vv", name]):
            assert outcome(build_parser(name), argv) == outcome(whole, argv), argv


@pytest.mark.parametrize(
    ("module", "cls", "owner"),
    [("bitbucket_cloud", "CloudScm", "acme"), ("bitbucket_datacenter", "DataCenterScm", "ACME")],
)
def test_a_bitbucket_client_loads_only_the_bitbucket_part_of_atlassian(module: str, cls: str, owner: str):
    # atlassian's package __init__ imports every product (Confluence pulls in bs4 and soupsieve).
    loaded = _modules_after(
        "import requests\nfrom port_gitops.retry import RetryPolicy\n"
        f"from port_gitops.scm.{module} import {cls}\n"
        f"{cls}('https://bitbucket.example.com', '{owner}', 'payments', username='bot', token='t',"
        " access_token=None, session=requests.Session(), policy=RetryPolicy())"
    )
    assert "atlassian.bitbucket" in loaded
    assert _roots(loaded) & {"bs4", "soupsieve"} == set()  # oauthlib stays: rest_client imports it
    assert not {"atlassian.confluence", "atlassian.jira", "atlassian.bamboo"} & loaded


# Each flavour's library, as its root module is named; an enrichment loads its own flavour's only.
_SCM_LIBRARIES = {
    "bitbucket-cloud": "atlassian",
    "bitbucket-datacenter": "atlassian",
    "github": "github",
    "gitlab": "gitlab",
}


def _after_an_enrichment(
    flavour: str, tmp_path: Path, *, before: str = "", report: str = _LIST_MODULES
) -> list[str]:
    """One sandbox enrichment in a fresh interpreter, `before` it and `report` after it: what the report
    printed. The enrichment must have done its work."""
    with Sandbox(flavour=flavour) as sb:
        example = seed_example(sb)
        payload = tmp_path / "payload.json"
        payload.write_text(json.dumps(example.payload))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "BITBUCKET_", "GITHUB_"))}
        code = _cli("enrich", "--payload", str(payload), "--result-file", str(tmp_path / "r.json"))
        done = subprocess.run(
            [sys.executable, "-c", f"{before}{code}\n{report}"],
            capture_output=True,
            text=True,
            check=True,
            env={**env, **sb.env()},
        )
    assert json.loads((tmp_path / "r.json").read_text())["outcome"] == "created"
    return done.stdout.rpartition(_MARK)[2].split()  # after whatever the code printed


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_enrichment_loads_its_own_scm_library_and_only_the_parts_it_uses(flavour: str, tmp_path: Path):
    loaded = set(_after_an_enrichment(flavour, tmp_path))
    roots = _roots(loaded)
    assert _SCM_LIBRARIES[flavour] in roots
    assert roots & (set(_SCM_LIBRARIES.values()) - {_SCM_LIBRARIES[flavour]}) == set()
    assert not any(name.startswith("port_gitops.sandbox") for name in loaded)
    # Package __init__s that import a whole library: atlassian's every product, PyGithub's every class
    # (github.Auth too, through InstallationAuthorization: PyJWT, cryptography, PyNaCl come with it).
    assert roots & {"bs4", "soupsieve", "jwt", "cryptography", "nacl"} == set()
    assert not {"atlassian.confluence", "atlassian.jira", "github.MainClass", "github.Auth"} & loaded
    if flavour == "github":
        assert "github.Requester" in loaded


# @dataclass builds each generated method with its own exec (~0.3-1 ms a class on 3.11): an enrichment's
# immutable records are NamedTuples. What stays a dataclass: the result (asdict), EnrichValues and RepoRef
# (fields left out of ==), mutable book-keeping (retry, validate, Progress, GitHub's Snapshot), tenacity's
# IterState, and python-gitlab's own four.
_DATACLASSES = {"bitbucket-cloud": 9, "bitbucket-datacenter": 9, "github": 10, "gitlab": 13}
_COUNT_DATACLASSES = (
    "import dataclasses\ndefined = []\nprocess_class = dataclasses._process_class\n"
    "def counted(cls, *args, **kwargs):\n"
    "    defined.append(f'{cls.__module__}.{cls.__qualname__}')\n"
    "    return process_class(cls, *args, **kwargs)\n"
    "dataclasses._process_class = counted\n"
)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_enrichment_defines_few_dataclasses(flavour: str, tmp_path: Path):
    report = f"print({_MARK!r}); print('\\n'.join(defined))"
    defined = _after_an_enrichment(flavour, tmp_path, before=_COUNT_DATACLASSES, report=report)
    assert "port_gitops.result.Result" in defined  # the count counts
    assert len(defined) <= _DATACLASSES[flavour], defined


def test_the_github_app_credential_is_pygithubs_own_loaded_on_first_use():
    loaded = _modules_after(
        "from port_gitops.scm.pygithub import Auth, jwt\n"
        "import sys\nassert 'github.Auth' not in sys.modules and 'jwt' not in sys.modules\n"
        "assert Auth.AppAuth.__module__ == 'github.Auth' and jwt.PyJWTError.__module__ == 'jwt.exceptions'\n"
        "headers = {}\nAuth.Token('t0k').authentication(headers)\n"
        "assert headers == {'Authorization': 'token t0k'}, headers\n"
        "Auth.Token('t0k').mask_authentication(headers)\n"
        "assert headers == {'Authorization': 'token (oauth token removed)'}, headers\n"
        "assert 't0k' not in repr(Auth.Token('t0k'))"
    )
    assert {"github.Auth", "jwt"} <= loaded


def test_our_github_token_credential_authenticates_as_pygithubs():
    from github.Auth import Token

    from port_gitops.scm.pygithub import Auth

    theirs: dict[str, str] = {}
    ours: dict[str, str] = {}
    Token("t0k").authentication(theirs)
    Auth.Token("t0k").authentication(ours)
    assert ours == theirs
    Token("t0k").mask_authentication(theirs)
    Auth.Token("t0k").mask_authentication(ours)
    assert ours == theirs


_PAYLOAD = (
    '{"port_context": {"entity": "payments", "runId": "r_1",'
    ' "repo_url": "https://bitbucket.org/acme/payments"},'
    ' "domain": "billing", "type": "backend", "lifecycle": "Production"}'
)
_COUNT_COLLECTIONS = (
    "import gc\nfrom port_gitops.cli import main\n"
    "collections = []\ngc.callbacks.append(lambda phase, info: collections.append(phase))\n"
)


def test_the_program_runs_without_the_cyclic_collector_and_never_scans_what_it_kept(tmp_path: Path):
    payload = tmp_path / "payload.json"
    payload.write_text(_PAYLOAD)
    code = f"{_COUNT_COLLECTIONS}{_cli('vars', '--payload', str(payload))}\n"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}print(len(collections), gc.isenabled(), gc.get_freeze_count() > 0)"],
        capture_output=True,
        text=True,
        check=True,
    )
    # vars loads PyYAML and jsonpath-ng: the collector would have run a dozen times.
    assert done.stdout.split()[-3:] == ["0", "True", "True"]


def test_main_called_with_arguments_leaves_the_collector_as_it_was(tmp_path: Path, capsys):
    import gc

    from port_gitops.cli import main

    payload = tmp_path / "payload.json"
    payload.write_text(_PAYLOAD)
    frozen = gc.get_freeze_count()
    assert main(["vars", "--payload", str(payload)]) == 0
    assert "DOMAIN" in capsys.readouterr().out
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        assert main(["vars", "--payload", str(payload)]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_sandbox_command_keeps_the_collector_on(monkeypatch):
    import gc

    from port_gitops import cli
    from port_gitops.commands import sandbox_cmd

    seen = []
    monkeypatch.setattr(sandbox_cmd, "run", lambda args: seen.append(gc.isenabled()) or 0)
    assert cli.main(["sandbox"]) == 0
    assert seen == [True]


def test_a_package_loaded_without_its_init_is_whole_for_code_that_asks_it_for_its_own_names():
    loaded = _modules_after(
        "import sys\nimport requests\nfrom port_gitops.retry import RetryPolicy\n"
        "from port_gitops.scm.github import GitHubScm\n"
        "from port_gitops.scm.libload import without_package_init\n"
        "GitHubScm('https://api.github.com', 'acme', 'payments', token='t', session=requests.Session(),"
        " policy=RetryPolicy())\n"
        "without_package_init('atlassian')\nimport atlassian.bitbucket\n"
        "assert not {'github.MainClass', 'atlassian.confluence'} & set(sys.modules)\n"
        "from github import Github\nimport atlassian\n"
        "assert Github.__module__ == 'github.MainClass' and atlassian.Confluence.__name__ == 'Confluence'"
    )
    assert {"github.MainClass", "atlassian.confluence"} <= loaded


def test_importing_the_scm_seam_loads_no_client_library():
    loaded = _modules_after("import port_gitops.scm, port_gitops.scm.bitbucket_cloud")
    assert "atlassian" not in _roots(loaded)


def test_shipped_parser_tables_are_what_build_parser_tables_generates(tmp_path):
    shipped = REPO / "python" / "src" / "port_gitops" / "gwt" / "jayway" / "ng_tables.py"
    fresh = tmp_path / "ng_tables.py"
    subprocess.run(
        [sys.executable, str(REPO / "python" / "build_parser_tables.py"), "--out", str(fresh)],
        check=True,
        capture_output=True,
    )
    assert fresh.read_text() == shipped.read_text(), "stale: run `make parser-tables`"


_TABLES_USED = """
from jsonpath_ng._ply import yacc
from jsonpath_ng.ext import parser

fresh = (getattr(parser, "ExtendedJsonPathParser", None) or parser.ExtentedJsonPathParser)()


def generate(*args, **kwargs):
    raise AssertionError("PLY generated the tables again")


yacc.LRGeneratedTable = generate
from port_gitops.gwt.jayway.query import ng_parse

for text in EXPRESSIONS:
    try:
        expected = repr(fresh.parse(text))
    except Exception as exc:
        expected = f"{type(exc).__name__}: {exc}"
    try:
        got = repr(ng_parse(text))
    except Exception as exc:
        got = f"{type(exc).__name__}: {exc}"
    assert got == expected, (text, got, expected)
print("same")
"""


def test_the_jsonpath_parser_is_built_from_the_shipped_tables_and_parses_as_a_generated_one():
    expressions = [
        "$.port_context.runId",
        "$.properties['domain', 'type']",
        "$..entity[0:2]",
        "$.a[?(@.b == 'c' & @.d > 2)].e",
        "$.list[*].name.`len`",
        "$.a | $.b",
        "$.x[-1]",
        "$.[",
        "$.a[?(@.b ==",
        "sorted(a)",
    ]
    done = subprocess.run(
        [sys.executable, "-c", f"EXPRESSIONS = {expressions!r}\n{_TABLES_USED}"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["same"]
    assert done.stderr == ""


def test_jayway_filters_load_only_for_a_path_with_a_filter():
    plain = _modules_after(
        "from port_gitops.gwt.jayway import compile_path\n"
        "assert compile_path('$.port_context.entity').read({'port_context': {'entity': 'x'}}) == 'x'"
    )
    assert "port_gitops.gwt.jayway.query" in plain
    assert "port_gitops.gwt.jayway.filters" not in plain
    filtered = _modules_after(
        "from port_gitops.gwt.jayway import compile_path\n"
        "assert compile_path(\"$.a[?(@.k == 'v')].n\").read({'a': [{'k': 'v', 'n': 1}, {'k': 'w'}]}) == [1]"
    )
    assert "port_gitops.gwt.jayway.filters" in filtered
