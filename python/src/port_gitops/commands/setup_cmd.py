"""port-gitops setup — create or update, through Port's API, what one bundled action needs.

--action names it (default: Enrich Service, described below); `--action set_ownership` sets up the
`team` blueprint, the `service` blueprint's ownership properties and `owners` relation, and its action.

Idempotent: the `domain` blueprint; the `service` blueprint's `type` and `lifecycle` properties and
`domain` relation, merged into the tenant's `service` (nothing already there is dropped); and the
`service_enrich_service` action. Each object is printed as created, updated or unchanged; a second
run prints only unchanged. With --dry-run the exact changes are printed as JSON diffs and nothing is
written.

Who runs the action: with --jenkins-url, Jenkins (its Generic Webhook Trigger at
URL/generic-webhook-trigger/invoke), whatever the SCM. Without it, --scm github runs the GitHub
workflow --github-workflow in --github-workflow-repo (Port's GitHub app must be installed there;
templates/ci/github/port-enrich-service.yml), and --scm gitlab runs the pipeline of
--gitlab-trigger-project through its pipeline trigger URL (on --gitlab-url, default https://gitlab.com;
templates/ci/gitlab/.gitlab-ci.yml).

The webhook's token comes from PORT_GITOPS_WEBHOOK_TOKEN (environment only): Jenkins' GWT job token,
sent in a `token` header (--token-in-url: in the URL's query), or GitLab's pipeline trigger token
(required; GitLab takes it only in the URL's query). Without a GWT token setup refuses (exit 2),
unless --allow-unauthenticated-webhook says the Jenkins job has none: it is then reachable by anyone
who knows the URL. Every credential header and URL parameter is masked in what setup prints, old or
new. A `service` blueprint without the property the action sends as port_context.repo_url (`url`) is
a warning: enrich then falls back to <workspace>/<entity identifier>.

When the tenant's `service` already has `type` or `lifecycle` with other values (or another type or
format, or a `domain` relation to elsewhere), setup writes nothing and exits 1, unless --force
replaces them with these definitions.

examples:
  export PORT_CLIENT_ID=... PORT_CLIENT_SECRET=... PORT_GITOPS_WEBHOOK_TOKEN=...
  port-gitops setup --jenkins-url https://jenkins.example.com --dry-run
  port-gitops setup --jenkins-url https://jenkins.example.com
  port-gitops setup --jenkins-url https://jenkins.example.com --domains domains.yml --json
  port-gitops setup --scm github --github-workflow-repo acme/port-actions
  PORT_GITOPS_WEBHOOK_TOKEN=glptt-... port-gitops setup --scm gitlab --gitlab-trigger-project acme/pipes
  port-gitops setup --jenkins-url https://jenkins.example.com --action set_ownership

exit codes: 0 done, 1 failed (incl. a conflict with the tenant's blueprints without --force),
  2 usage or configuration (incl. missing or rejected Port credentials), 3 invalid input (--domains).
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any, Optional

from port_gitops.commands.options import add_http_flags, add_port_flags, env_bool, env_flag
from port_gitops.config import GITLAB_URL, SCM_KINDS

if TYPE_CHECKING:
    from port_gitops.port_setup import Change

log = logging.getLogger("port_gitops")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jenkins-url",
        metavar="URL",
        help="Jenkins' root URL; the action's webhook goes to URL/generic-webhook-trigger/invoke "
        "(required unless --scm github or gitlab runs the action in a workflow or pipeline)",
    )
    backends = parser.add_argument_group("GitHub workflow or GitLab pipeline instead of Jenkins")
    env_flag(
        backends,
        "--scm",
        env="PORT_GITOPS_SCM",
        choices=SCM_KINDS,
        help="without --jenkins-url, github or gitlab: the action runs there",
    )
    env_flag(
        backends,
        "--github-workflow-repo",
        env="PORT_GITOPS_GITHUB_WORKFLOW_REPO",
        metavar="OWNER/REPO",
        help="the repository holding the workflow (Port's GitHub app installed)",
    )
    env_flag(
        backends,
        "--github-workflow",
        env="PORT_GITOPS_GITHUB_WORKFLOW",
        default="port-enrich-service.yml",
        metavar="FILE",
        help="the workflow's file name in .github/workflows",
    )
    env_flag(
        backends,
        "--gitlab-trigger-project",
        env="PORT_GITOPS_GITLAB_TRIGGER_PROJECT",
        metavar="ID|PATH",
        help="the project whose pipeline runs the action (id or group/project)",
    )
    env_flag(
        backends,
        "--gitlab-url",
        env="GITLAB_URL",
        default=GITLAB_URL,
        help="the GitLab instance of the trigger URL (with its relative URL root if any)",
    )
    env_flag(
        backends,
        "--gitlab-trigger-ref",
        env="PORT_GITOPS_GITLAB_TRIGGER_REF",
        default="main",
        metavar="REF",
        help="the branch whose pipeline runs",
    )
    parser.add_argument(
        "--domains",
        metavar="FILE",
        help="also create or update the domain entities of this port.yml-style list",
    )
    parser.add_argument(
        "--token-in-url",
        action="store_true",
        help="send the GWT token as ?token= in the webhook URL instead of a `token` header",
    )
    parser.add_argument(
        "--allow-unauthenticated-webhook",
        action="store_true",
        help="set up Jenkins' webhook with no token when PORT_GITOPS_WEBHOOK_TOKEN is unset (else refused)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the tenant's conflicting properties and relations with these definitions",
    )
    env_flag(
        parser,
        "--action",
        env="PORT_GITOPS_ACTION",
        help="the bundled action to set up, with the blueprint changes it needs (default: Enrich Service)",
    )
    env_bool(parser, "--dry-run", env="PORT_GITOPS_DRY_RUN", help="print the exact changes; write nothing")
    parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object on stdout")
    add_port_flags(parser)
    add_http_flags(parser)


def run(args: argparse.Namespace) -> int:
    import json
    import os

    from port_gitops import resources
    from port_gitops.errors import JobFailedError, PortGitopsError, PortReportError, UsageError
    from port_gitops.logsetup import register_secret
    from port_gitops.model import load_blueprints
    from port_gitops.port_setup import (
        TOKEN_ENV,
        Catalog,
        apply_change,
        domain_entities,
        missing_read_property,
        plan_setup,
    )
    from port_gitops.wiring import port_client_from_args

    token = os.environ.get(TOKEN_ENV, "").strip() or None
    register_secret(token)
    if token is None and args.jenkins_url and not args.allow_unauthenticated_webhook:
        raise UsageError(
            f"{TOKEN_ENV} is not set: the action's webhook would carry no token (a token the live action "
            "sends would be removed), and a Generic Webhook Trigger with a token (the ready Jenkinsfile's "
            "tokenCredentialId) then rejects every request from Port, so no run of the action would "
            "start; set it, or pass --allow-unauthenticated-webhook for a job without a token"
        )
    from port_gitops import actions

    identifier = actions.check_identifier(
        args.action or resources.DEFAULT_ACTION, "--action/PORT_GITOPS_ACTION"
    )
    template = json.loads(resources.read_text(actions.file_name(identifier, "action.json")))
    action = _action(args, template, token)
    client = port_client_from_args(
        args, missing="PORT_CLIENT_ID and PORT_CLIENT_SECRET must be set: setup writes through Port's API"
    )
    own_blueprints = actions.has_file(identifier, "blueprints.json")
    blueprints = (
        load_blueprints(None, actions.file_name(identifier, "blueprints.json"))
        if own_blueprints
        else load_blueprints()
    )
    domains = domain_entities(_read(args.domains), blueprints, source=args.domains) if args.domains else []
    output = _Output(as_json=args.json, dry_run=args.dry_run)
    if token is None and args.jenkins_url:
        output.warn(f"{TOKEN_ENV} is not set: the Jenkins job is then reachable by anyone who knows its URL")
    catalog = Catalog(client)
    try:
        client.authenticate()  # a 401 is exit 2 before anything is read
        changes = plan_setup(catalog, blueprints, action, domains, force=args.force)
        missing = missing_read_property(changes, action)
        if missing:
            output.warn(missing)
        output.conflicts([conflict for change in changes for conflict in change.conflicts], forced=args.force)
        if output.conflict_lines and not args.force:
            raise JobFailedError(
                f"{len(output.conflict_lines)} conflict(s) with the tenant's blueprints, nothing written; "
                "--force replaces them with these definitions"
            )
        for change in changes:
            if not args.dry_run:
                apply_change(catalog, change)
            output.change(change)
    except PortReportError as exc:  # Port refused, or could not be reached: setup failed
        output.finish(exc.message)
        raise JobFailedError(exc.message) from exc
    except PortGitopsError as exc:
        output.finish(exc.message)
        raise
    output.finish(None)
    return 0


def _action(args: argparse.Namespace, template: dict[str, Any], token: Optional[str]) -> dict[str, Any]:
    """The bundled action, invoked by Jenkins (--jenkins-url) or, per --scm, a GitHub workflow or a
    GitLab pipeline trigger; a flag of another backend is a usage error rather than silently unused."""
    import json

    from port_gitops import resources
    from port_gitops.errors import UsageError
    from port_gitops.port_setup import (
        TOKEN_ENV,
        action_definition,
        github_values,
        gitlab_values,
        webhook_url,
        with_invocation,
    )

    backend = "jenkins" if args.jenkins_url else args.scm
    others = {
        "--github-workflow-repo": args.github_workflow_repo if backend != "github" else None,
        "--gitlab-trigger-project": args.gitlab_trigger_project if backend != "gitlab" else None,
        "--token-in-url": args.token_in_url if backend != "jenkins" else None,
    }
    stray = next((flag for flag, value in others.items() if value), None)
    if stray:
        raise UsageError(f"{stray} does not apply: the action runs on {backend or 'Jenkins'}")
    if backend == "jenkins":
        return action_definition(
            template, webhook_url(args.jenkins_url), token, token_in_url=args.token_in_url
        )
    if backend == "github":
        if not args.github_workflow_repo:
            raise UsageError("--scm github: --github-workflow-repo OWNER/REPO (or --jenkins-url) is required")
        values = github_values(args.github_workflow_repo, args.github_workflow)
    elif backend == "gitlab":
        if not args.gitlab_trigger_project:
            raise UsageError("--scm gitlab: --gitlab-trigger-project (or --jenkins-url) is required")
        if token is None:
            raise UsageError(f"--scm gitlab: {TOKEN_ENV} must hold the project's pipeline trigger token")
        values = gitlab_values(args.gitlab_url, args.gitlab_trigger_project, args.gitlab_trigger_ref, token)
    else:
        raise UsageError("--jenkins-url is required (or --scm github / --scm gitlab to run the action there)")
    overlay = json.loads(resources.read_text(resources.INVOCATIONS[backend]))
    return with_invocation(template, overlay, values)


def _read(path: str) -> str:
    from port_gitops.errors import UsageError

    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--domains: cannot read {path!r}: {exc}") from None


class _Output:
    """One line per object as it is written (or the JSON object at the end); the token is masked."""

    def __init__(self, *, as_json: bool, dry_run: bool) -> None:
        self.as_json = as_json
        self.dry_run = dry_run
        self.changes: list[dict[str, Any]] = []
        self.conflict_lines: list[str] = []
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(_masked(message))
        log.warning("%s", message)

    def conflicts(self, lines: list[str], *, forced: bool) -> None:
        self.conflict_lines = [_masked(line) for line in lines]
        for line in lines:
            if forced:
                self.warn(f"replacing (--force): {line}")
            elif not self.as_json:
                _print(f"conflict: {line}")

    def change(self, change: Change) -> None:
        changed = change.status != "unchanged"
        self.changes.append(
            {
                "kind": change.kind,
                "identifier": change.identifier,
                "blueprint": change.blueprint,
                "status": change.status,
                "diff": change.diff() if changed else None,  # masked by Change.diff
            }
        )
        if self.as_json:
            return
        _print(
            f"{change.name}: {change.status}"
            + (" (dry run: not written)" if self.dry_run and changed else "")
        )
        if self.dry_run and changed:
            _print(change.diff().rstrip("\n"))

    def finish(self, error: Optional[str]) -> None:
        import json

        if self.as_json:
            outcome = {
                "dry_run": self.dry_run,
                "changes": self.changes,
                "conflicts": self.conflict_lines,
                "warnings": self.warnings,
                "error": _masked(error) if error else None,
            }
            _print(json.dumps(outcome, indent=2, ensure_ascii=False))
        elif self.dry_run and error is None:
            log.info("dry run: nothing was written")


def _masked(text: str) -> str:
    from port_gitops.logsetup import mask

    return mask(text)


def _print(text: str) -> None:
    """Stdout, masked: JSON is built from masked strings, so escaping cannot hide a secret from `mask`."""
    print(_masked(text))
