"""`port-gitops setup` against the Port sandbox: created, then all unchanged; the tenant's own
blueprint content kept; conflicts refused unless --force; dry runs write nothing; the GWT token
placed as asked and never printed; every request as Port's OpenAPI document describes it."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
from contract import assert_requests_match_spec, operations

from port_gitops import cli, http, logsetup, resources, retry
from port_gitops.sandbox import Sandbox

JENKINS = "https://jenkins.example.com"
WEBHOOK = JENKINS + "/generic-webhook-trigger/invoke"
TOKEN = 'gwt-t0ken"with&odd=chars'
ACTION = "service_enrich_service"
DOMAINS = """\
- identifier: payment
  title: Payment
  blueprint: domain
  properties:
    architecture: https://lucid.app/documents/embedded/533f05ad-aa68-43ce-9499-c5f767dc8ea5
- identifier: shipping
  title: Shipping
  blueprint: domain
  properties:
    architecture: https://lucid.app/documents/embedded/533f05ad-aa68-43ce-9499-c5f767dc8ea5
"""
# `service` as Port's Bitbucket integration makes it; a mirror property over a relation of its own.
INTEGRATION_SERVICE = {
    "identifier": "service",
    "title": "Service",
    "icon": "Microservice",
    "schema": {
        "properties": {
            "url": {"title": "URL", "type": "string", "format": "url"},
            "readme": {"title": "README", "type": "string", "format": "markdown"},
        },
        "required": ["url"],
    },
    "mirrorProperties": {"repo_owner": {"path": "owner.title"}},
    "calculationProperties": {},
    "relations": {"owner": {"title": "Owner", "target": "service", "required": False, "many": False}},
}


@dataclass
class Run:
    code: int
    out: str
    err: str
    waits: list[float]

    @property
    def statuses(self) -> dict[str, str]:
        lines = [line.replace(" (dry run: not written)", "") for line in self.out.splitlines()]
        return dict(
            line.rsplit(": ", 1) for line in lines if line.startswith(("blueprint ", "action ", "entity "))
        )


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


SetupRunner = Callable[..., Run]


@pytest.fixture
def setup(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> SetupRunner:
    waits: list[float] = []
    # Secrets registered by earlier tests in this process must not mask what this run failed to register.
    monkeypatch.setattr(logsetup, "_secrets", set())
    monkeypatch.setattr(retry, "RetryPolicy", functools.partial(retry.RetryPolicy, sleep=waits.append))
    monkeypatch.setattr(http, "make_session", functools.partial(http.make_session, timeout=(2.0, 2.0)))

    def run(
        *args: str, token: Optional[str] = TOKEN, jenkins: Optional[str] = JENKINS, **env: Optional[str]
    ) -> Run:
        for name in list(os.environ):
            if name.startswith(("PORT_", "BITBUCKET_", "GITHUB_", "GITLAB_")):
                monkeypatch.delenv(name)
        for name, value in {**sb.env(), "PORT_GITOPS_WEBHOOK_TOKEN": token, **env}.items():
            if value is not None:
                monkeypatch.setenv(name, value)
        capsys.readouterr()
        del waits[:]
        code = cli.main(["setup", *(["--jenkins-url", jenkins] if jenkins else []), *args])
        out = capsys.readouterr()
        return Run(code, out.out, out.err, list(waits))

    return run


def writes(sb: Sandbox) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in sb.port.requests
        if r.method != "GET" and r.path != "/v1/auth/access_token"
    ]


def test_first_run_creates_a_second_changes_nothing(sb: Sandbox, setup: SetupRunner) -> None:
    sb.port.catalog.add_blueprint(INTEGRATION_SERVICE)
    first = setup()
    assert first.code == 0, first.err
    assert first.statuses == {
        "blueprint domain": "created",
        "blueprint service": "updated",
        f"action {ACTION}": "created",
    }
    assert first.out.splitlines()[0] == "blueprint domain: created", "relation targets first"

    service = sb.port.catalog.blueprint("service")
    assert service is not None
    assert set(service["schema"]["properties"]) == {"url", "readme", "type", "lifecycle"}
    assert service["schema"]["required"] == ["url"]
    assert set(service["relations"]) == {"owner", "domain"}
    assert service["mirrorProperties"] == INTEGRATION_SERVICE["mirrorProperties"]
    assert service["schema"]["properties"]["lifecycle"]["enumColors"]["Deprecated"] == "red"
    action = sb.port.catalog.action(ACTION)
    assert action is not None and action["invocationMethod"]["synchronized"] is False
    assert action["trigger"]["blueprintIdentifier"] == "service"
    assert_requests_match_spec(sb.port.requests, flavour="port")

    sb.port.clear()
    second = setup()
    assert second.code == 0, second.err
    assert set(second.statuses.values()) == {"unchanged"} and len(second.statuses) == 3
    assert writes(sb) == [], "an unchanged object is not written"
    assert sb.port.catalog.blueprint("service") == service


def test_a_tenant_without_service_gets_the_whole_blueprint(sb: Sandbox, setup: SetupRunner) -> None:
    run = setup()
    assert run.code == 0, run.err
    assert run.statuses["blueprint service"] == "created"
    assert writes(sb) == ["POST /v1/blueprints", "POST /v1/blueprints", "POST /v1/actions"]
    assert_requests_match_spec(sb.port.requests, flavour="port")
    assert set(operations(sb.port.requests, "port")) == {
        "POST /v1/auth/access_token",
        "GET /v1/blueprints/{identifier}",
        "GET /v1/actions/{action_identifier}",
        "POST /v1/blueprints",
        "POST /v1/actions",
    }


def test_dry_run_prints_the_exact_changes_and_writes_nothing(sb: Sandbox, setup: SetupRunner) -> None:
    sb.port.catalog.add_blueprint(INTEGRATION_SERVICE)
    run = setup("--dry-run")
    assert run.code == 0, run.err
    assert "blueprint service: updated (dry run: not written)\n--- Port: blueprint service\n" in run.out
    assert '+      "lifecycle": {' in run.out and '+    "domain": {' in run.out
    assert f'+    "url": "{WEBHOOK}"' in run.out
    assert "dry run: nothing was written" in run.err
    assert writes(sb) == []
    assert sb.port.catalog.blueprint("domain") is None and sb.port.catalog.action(ACTION) is None
    assert run.statuses == setup().statuses, "a dry run announces what the real run then does"


def test_dry_run_has_an_environment_twin(sb: Sandbox, setup: SetupRunner) -> None:
    assert setup(PORT_GITOPS_DRY_RUN="true").code == 0
    assert writes(sb) == []


@pytest.mark.parametrize(
    ("existing", "conflict"),
    [
        ({"type": "string", "enum": ["web", "api"]}, "property type: it allows web, api in Port"),
        ({"type": "string"}, "property type: it takes any value in Port"),
        ({"type": "array"}, "property type: its type is 'array' in Port"),
    ],
)
def test_a_conflicting_property_is_refused_unless_forced(
    sb: Sandbox, setup: SetupRunner, existing: dict[str, Any], conflict: str
) -> None:
    service = json.loads(json.dumps(INTEGRATION_SERVICE))
    service["schema"]["properties"]["type"] = existing
    sb.port.catalog.add_blueprint(service)
    refused = setup()
    assert refused.code == 1
    assert f"conflict: blueprint service: {conflict}" in refused.out
    assert "1 conflict(s) with the tenant's blueprints, nothing written; --force replaces them" in refused.err
    assert writes(sb) == [] and sb.port.catalog.blueprint("domain") is None

    forced = setup("--force")
    assert forced.code == 0, forced.err
    assert "replacing (--force): blueprint service: " + conflict in forced.err
    held = sb.port.catalog.blueprint("service")
    assert held is not None and held["schema"]["properties"]["type"]["enum"] == [
        "frontend",
        "backend",
        "library",
    ]
    assert "readme" in held["schema"]["properties"]
    assert_requests_match_spec(sb.port.requests, flavour="port")


@pytest.mark.parametrize("mode", ["header", "query", "none"])
def test_the_webhook_token_is_placed_as_asked_and_never_printed(
    sb: Sandbox, setup: SetupRunner, mode: str
) -> None:
    token = None if mode == "none" else TOKEN
    flags = ["--token-in-url"] if mode == "query" else []
    flags += ["--allow-unauthenticated-webhook"] if mode == "none" else []
    previews = [setup(*flags, "--dry-run", token=token), setup(*flags, "--dry-run", "--json", token=token)]
    run = setup(*flags, token=token)
    assert [p.code for p in previews] == [0, 0] and run.code == 0, run.err
    assert all("+    " in p.out for p in previews), "the previews show the action's JSON"
    for text in [run.out, run.err] + [p.out for p in previews] + [p.err for p in previews]:
        assert "t0ken" not in text, "the token, raw, JSON-escaped or URL-encoded, is never printed"
    action = sb.port.catalog.action(ACTION)
    assert action is not None
    url = urlsplit(action["invocationMethod"]["url"])
    headers = action["invocationMethod"]["headers"]
    assert url._replace(query="").geturl() == WEBHOOK
    if mode == "header":
        assert headers["token"] == TOKEN and not url.query
        assert '"token": "****"' in json.loads(previews[1].out)["changes"][2]["diff"]
    elif mode == "query":
        assert parse_qs(url.query) == {"token": [TOKEN]} and "token" not in headers
    else:
        assert not url.query and "token" not in headers
        assert "PORT_GITOPS_WEBHOOK_TOKEN is not set: the Jenkins job is then reachable by anyone" in run.err


def test_a_new_token_or_jenkins_url_updates_the_action(sb: Sandbox, setup: SetupRunner) -> None:
    assert setup().code == 0
    rotated = setup(token="another-token-5678")
    assert rotated.statuses[f"action {ACTION}"] == "updated"
    moved = setup(token="another-token-5678", jenkins="https://ci.example.com/jenkins/")
    assert moved.statuses[f"action {ACTION}"] == "updated"
    action = sb.port.catalog.action(ACTION)
    assert action is not None
    assert (
        action["invocationMethod"]["url"] == "https://ci.example.com/jenkins/generic-webhook-trigger/invoke"
    )
    assert action["invocationMethod"]["headers"]["token"] == "another-token-5678"
    assert [w.split()[0] for w in writes(sb)].count("PUT") == 2
    assert_requests_match_spec(sb.port.requests, flavour="port")


def test_domains_are_upserted_then_unchanged(sb: Sandbox, setup: SetupRunner, tmp_path: Path) -> None:
    domains = tmp_path / "domains.yml"
    domains.write_text(DOMAINS, encoding="utf-8")
    first = setup("--domains", str(domains))
    assert first.code == 0, first.err
    assert first.statuses["entity domain/payment"] == first.statuses["entity domain/shipping"] == "created"
    held = sb.port.catalog.entity("domain", "payment")
    assert held is not None and held["title"] == "Payment"
    assert held["properties"]["architecture"].startswith("https://lucid.app/")

    assert set(setup("--domains", str(domains)).statuses.values()) == {"unchanged"}
    domains.write_text(DOMAINS.replace("533f05ad", "0000", 1), encoding="utf-8")
    third = setup("--domains", str(domains))
    assert (third.statuses["entity domain/payment"], third.statuses["entity domain/shipping"]) == (
        "updated",
        "unchanged",
    )
    assert_requests_match_spec(sb.port.requests, flavour="port")
    assert "POST /v1/blueprints/{blueprint_identifier}/entities" in operations(sb.port.requests, "port")


def test_a_domains_file_with_problems_is_invalid_input(
    sb: Sandbox, setup: SetupRunner, tmp_path: Path
) -> None:
    domains = tmp_path / "domains.yml"
    domains.write_text(DOMAINS.replace("title: Shipping", "title: [Shipping]"), encoding="utf-8")
    run = setup("--domains", str(domains))
    assert run.code == 3
    assert f"{domains}:7: shipping: title: expected text, not a list" in run.err
    assert sb.port.requests == [], "nothing is sent before the input is valid"


@pytest.mark.parametrize(
    ("jenkins", "reason"),
    [
        ("jenkins.example.com", "is not an http(s) URL"),
        (JENKINS + "/?token=abc", "without a query or fragment"),
        (WEBHOOK, "setup appends /generic-webhook-trigger/invoke itself"),
        (JENKINS + "/job/x", "is a page inside Jenkins (/job/...)"),
        ("https://ci.example.com/jenkins/view/all/job/enrich/", "is a page inside Jenkins (/view/...)"),
        (JENKINS + "/manage/", "is a page inside Jenkins (/manage/...)"),
    ],
)
def test_a_jenkins_url_that_is_not_its_root_is_a_usage_error(
    sb: Sandbox, setup: SetupRunner, jenkins: str, reason: str
) -> None:
    run = setup(jenkins=jenkins)
    assert run.code == 2 and reason in run.err
    assert sb.port.requests == []


def test_credentials(sb: Sandbox, setup: SetupRunner) -> None:
    missing = setup(PORT_CLIENT_SECRET="")
    assert missing.code == 2 and "PORT_CLIENT_SECRET is not set" in missing.err
    wrong = setup(PORT_CLIENT_SECRET="not-the-secret")
    assert wrong.code == 2 and "Port rejected PORT_CLIENT_ID/PORT_CLIENT_SECRET (HTTP 401" in wrong.err
    assert writes(sb) == []


def test_port_refusing_a_write_fails_the_run(sb: Sandbox, setup: SetupRunner) -> None:
    sb.port.catalog.add_blueprint(INTEGRATION_SERVICE)
    sb.port.faults.add(
        "PATCH",
        r"^/v1/blueprints/service$",
        status=422,
        body=b'{"ok": false, "error": "invalid_request", "message": "no"}',
    )
    run = setup("--json")
    assert run.code == 1
    assert "Port: update blueprint service: HTTP 422 invalid_request: no" in run.err
    outcome = json.loads(run.out)
    assert [c["status"] for c in outcome["changes"]] == ["created"], "what was written before is reported"
    assert outcome["error"].startswith("Port: update blueprint service: HTTP 422")
    assert sb.port.catalog.action(ACTION) is None, "nothing after the failure"


def test_transient_errors_are_retried(sb: Sandbox, setup: SetupRunner) -> None:
    sb.port.faults.add("GET", r"^/v1/blueprints/domain$", status=503)
    sb.port.faults.add("POST", r"^/v1/blueprints$", status=429, retry_after="1")
    run = setup()
    assert run.code == 0, run.err
    assert len(run.waits) == 2 and run.waits[1] == 1.0, "503 on a read: backoff; 429: Retry-After"
    assert sb.port.catalog.blueprint("domain") is not None


def test_a_create_whose_answer_is_lost_is_not_replayed(sb: Sandbox, setup: SetupRunner) -> None:
    sb.port.faults.add("POST", r"^/v1/actions$", status=503, apply=True)
    lost = setup()
    assert lost.code == 1 and "Port: create action service_enrich_service" in lost.err
    again = setup()
    assert again.code == 0 and again.statuses[f"action {ACTION}"] == "unchanged"
    assert [r.method for r in sb.port.requests if r.path == "/v1/actions"] == ["POST"]


def test_json_outcome(sb: Sandbox, setup: SetupRunner) -> None:
    run = setup("--json")
    assert run.code == 0, run.err
    outcome = json.loads(run.out)
    assert outcome["dry_run"] is False and outcome["error"] is None and outcome["conflicts"] == []
    assert [(c["kind"], c["identifier"], c["status"]) for c in outcome["changes"]] == [
        ("blueprint", "domain", "created"),
        ("blueprint", "service", "created"),
        ("action", ACTION, "created"),
    ]
    assert outcome["changes"][0]["diff"].startswith("--- Port: blueprint domain")


# ---- GitHub workflow and GitLab pipeline backends -------------------------------------------------


def test_scm_github_runs_the_action_in_a_github_workflow(sb: Sandbox, setup: SetupRunner) -> None:
    run = setup("--scm", "github", "--github-workflow-repo", "acme/port-actions", jenkins=None, token=None)
    assert run.code == 0, run.err
    assert run.statuses[f"action {ACTION}"] == "created"
    assert_requests_match_spec(sb.port.requests, flavour="port")
    action = sb.port.catalog.action(ACTION)
    assert action is not None
    webhook = json.loads(resources.read_text(resources.ACTION))["invocationMethod"]
    assert action["invocationMethod"] == {
        "type": "GITHUB",
        "org": "acme",
        "repo": "port-actions",
        "workflow": "port-enrich-service.yml",
        "workflowInputs": webhook["body"],  # the same payload as the Jenkins webhook's body
        "reportWorkflowStatus": False,  # port-gitops reports, Port must not close the run first
    }
    bundled = json.loads(resources.read_text(resources.ACTION))
    assert {k: action[k] for k in bundled if k != "invocationMethod"} == {
        k: v for k, v in bundled.items() if k != "invocationMethod"
    }
    assert "is not set" not in run.err, "no Jenkins job: no token warning"

    sb.port.clear()
    again = setup(
        jenkins=None,
        token=None,
        PORT_GITOPS_SCM="github",
        PORT_GITOPS_GITHUB_WORKFLOW_REPO="acme/port-actions",
    )
    assert again.code == 0, again.err
    assert set(again.statuses.values()) == {"unchanged"} and writes(sb) == [], "the env twins say the same"
    moved = setup(
        "--scm",
        "github",
        "--github-workflow-repo",
        "acme/ci",
        "--github-workflow",
        "enrich.yaml",
        jenkins=None,
    )
    assert moved.statuses[f"action {ACTION}"] == "updated"
    invocation = sb.port.catalog.action(ACTION)["invocationMethod"]  # type: ignore[index]
    assert (invocation["repo"], invocation["workflow"]) == ("ci", "enrich.yaml")


def test_scm_gitlab_runs_the_action_through_a_pipeline_trigger(sb: Sandbox, setup: SetupRunner) -> None:
    trigger = "glptt-0123&odd=token"
    run = setup(
        "--scm",
        "gitlab",
        "--gitlab-trigger-project",
        "acme/platform/port-pipelines",
        jenkins=None,
        token=trigger,
        GITLAB_URL="https://gitlab.acme.example/gitlab/",
    )
    assert run.code == 0, run.err
    assert_requests_match_spec(sb.port.requests, flavour="port")
    invocation = sb.port.catalog.action(ACTION)["invocationMethod"]  # type: ignore[index]
    url = urlsplit(invocation.pop("url"))
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "gitlab.acme.example",
        "/gitlab/api/v4/projects/acme%2Fplatform%2Fport-pipelines/ref/main/trigger/pipeline",
    )
    assert parse_qs(url.query) == {"token": [trigger]}, "GitLab takes the trigger token in the query only"
    webhook = json.loads(resources.read_text(resources.ACTION))["invocationMethod"]
    assert invocation == {
        "type": "WEBHOOK",
        "agent": False,
        "synchronized": False,
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": webhook["body"],
    }
    assert trigger not in run.out + run.err

    dry = setup(
        "--scm",
        "gitlab",
        "--gitlab-trigger-project",
        "42",
        "--gitlab-trigger-ref",
        "release/1.x",
        "--dry-run",
        jenkins=None,
        token=trigger,
    )
    assert dry.code == 0, dry.err
    assert "/api/v4/projects/42/ref/release%2F1.x/trigger/pipeline?token=" in dry.out
    assert trigger not in dry.out and "glptt-0123" not in dry.out, "the diff masks the token in the URL"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {}, "--jenkins-url is required (or --scm github / --scm gitlab"),
        (("--scm", "bitbucket-cloud"), {}, "--jenkins-url is required"),
        (
            ("--scm", "github"),
            {},
            "--scm github: --github-workflow-repo OWNER/REPO (or --jenkins-url) is required",
        ),
        (("--scm", "github", "--github-workflow-repo", "port-actions"), {}, "is not OWNER/REPO"),
        (
            ("--scm", "github", "--github-workflow-repo", "a/b", "--github-workflow", "../x.yml"),
            {},
            "--github-workflow: '../x.yml' is not a workflow file name",
        ),
        (("--scm", "gitlab"), {}, "--scm gitlab: --gitlab-trigger-project (or --jenkins-url) is required"),
        (
            ("--scm", "gitlab", "--gitlab-trigger-project", "a/b"),
            {"token": None},
            "PORT_GITOPS_WEBHOOK_TOKEN must hold the project's pipeline trigger token",
        ),
        (
            ("--scm", "gitlab", "--gitlab-trigger-project", "a b"),
            {},
            "is not a project id or a group/project path",
        ),
        (
            ("--scm", "gitlab", "--gitlab-trigger-project", "a/b"),
            {"GITLAB_URL": "gitlab.com"},
            "GITLAB_URL: 'gitlab.com' is not GitLab's http(s) root URL",
        ),
        (
            ("--scm", "github", "--github-workflow-repo", "a/b", "--token-in-url"),
            {},
            "--token-in-url does not apply: the action runs on github",
        ),
        (("--github-workflow-repo", "a/b"), {"jenkins": JENKINS}, "--github-workflow-repo does not apply"),
    ],
)
def test_backend_flags_that_do_not_fit_are_usage_errors(
    sb: Sandbox, setup: SetupRunner, args: tuple[str, ...], env: dict[str, Optional[str]], expected: str
) -> None:
    options: dict[str, Any] = {"jenkins": None, **env}
    run = setup(*args, **options)
    assert run.code == 2, run.err
    assert expected in run.err
    assert writes(sb) == [] and [r for r in sb.port.requests if r.path != "/v1/auth/access_token"] == []


def test_action_set_ownership_sets_up_its_blueprint_changes_and_its_action(
    sb: Sandbox, setup: SetupRunner
) -> None:
    sb.port.catalog.add_blueprint(INTEGRATION_SERVICE)
    first = setup("--action", "set_ownership")
    assert first.code == 0, first.err
    assert first.statuses == {
        "blueprint team": "created",
        "blueprint service": "updated",
        "action set_ownership": "created",
    }
    service = sb.port.catalog.blueprint("service")
    assert service is not None
    assert {"url", "readme", "tier", "onCall", "sloTarget", "runbook"} <= set(service["schema"]["properties"])
    assert service["relations"]["owners"] == {
        "title": "Owners",
        "target": "team",
        "required": False,
        "many": True,
    }
    assert_requests_match_spec(sb.port.requests, flavour="port")
    again = setup("--action", "set_ownership")
    assert set(again.statuses.values()) == {"unchanged"}
    assert setup("--action", "nope").code == 2


# -- issue 12 D2 ---------------------------------------------------------------------------------------


def test_without_the_token_setup_refuses_unless_told_and_names_what_would_break(
    sb: Sandbox, setup: SetupRunner
) -> None:
    assert setup().code == 0
    requests_before = len(sb.port.requests)
    for flags in [(), ("--dry-run",)]:
        run = setup(*flags, token=None)
        assert run.code == 2, run.err
        assert "PORT_GITOPS_WEBHOOK_TOKEN is not set" in run.err
        assert "would be removed" in run.err and "tokenCredentialId" in run.err
        assert "--allow-unauthenticated-webhook" in run.err
    assert len(sb.port.requests) == requests_before, "nothing read or written"
    action = sb.port.catalog.action(ACTION)
    assert action is not None and action["invocationMethod"]["headers"]["token"] == TOKEN
    allowed = setup("--allow-unauthenticated-webhook", token=None)
    assert allowed.code == 0 and allowed.statuses[f"action {ACTION}"] == "updated"


@pytest.mark.parametrize("flags", [(), ("--token-in-url",)], ids=["header", "query"])
def test_an_old_token_is_masked_too_and_its_change_still_shown(
    sb: Sandbox, setup: SetupRunner, flags: tuple[str, ...]
) -> None:
    old, new = "0ld-s3cr3t-token", "n3w-s3cr3t-token"
    assert setup(*flags, token=old).code == 0
    logsetup._secrets.clear()  # a later run knows only its own token, not the one Port holds
    text = setup(*flags, "--dry-run", token=new)
    as_json = setup(*flags, "--dry-run", "--json", token=new)
    assert text.code == as_json.code == 0
    for out in (text.out + text.err, as_json.out + as_json.err):
        assert "s3cr3t" not in out, "neither the old nor the new token is printed"
    diff = json.loads(as_json.out)["changes"][2]["diff"]
    assert "**** (old value)" in diff and "**** (new value)" in diff
    assert diff in text.out


def test_a_service_blueprint_without_the_url_property_the_action_reads_is_a_warning(
    sb: Sandbox, setup: SetupRunner
) -> None:
    bare = setup()  # the bundled `service` has no `url`
    assert bare.code == 0
    assert "blueprint service has no property url" in bare.err
    assert "{{ .entity.properties.url }}" in bare.err and "<workspace>/<entity identifier>" in bare.err


def test_the_url_property_present_means_no_warning(sb: Sandbox, setup: SetupRunner) -> None:
    sb.port.catalog.add_blueprint(INTEGRATION_SERVICE)
    run = setup()
    assert run.code == 0 and "has no property" not in run.err
