"""Start-up cost is what a command imports: structural guards (which modules load), never timings.
Measured times are the benchmark's business (bench/README.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

_LIST_MODULES = "import sys; print('\\n'.join(sorted(sys.modules)))"


def _modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_LIST_MODULES}"], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_http_yaml_jsonpath_or_sandbox():
    loaded = _modules_after(
        "import sys\nfrom port_gitops.cli import main\nsys.argv = ['port-gitops', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert "port_gitops.cli" in loaded
    assert _roots(loaded) & {"requests", "urllib3", "yaml", "atlassian", "jsonpath_ng", "tenacity"} == set()
    assert not any(name.startswith("port_gitops.sandbox") for name in loaded)


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


def test_importing_the_scm_seam_loads_no_client_library():
    loaded = _modules_after("import port_gitops.scm, port_gitops.scm.bitbucket_cloud")
    assert "atlassian" not in _roots(loaded)
