"""The whole job: read the Port payload, merge port.yml, commit it, open or update one pull request,
and report every step and the final SUCCESS/FAILURE to Port's action run.

examples:
  port-gitops enrich --payload payload.json
  port-gitops enrich --payload - --json --result-file result.json < payload.json
  port-gitops enrich --action set_ownership --entity payments --set OWNERS=platform,sre \\
      --set TIER=gold --repo-url https://bitbucket.org/acme/payments --dry-run

exit codes: 0 done (created/updated/unchanged/none), 1 the enrichment failed, 2 usage or configuration,
3 invalid input, 4 outcome known but Port could not be told, 5 webhook signature rejected.
"""

from __future__ import annotations

import argparse

from port_gitops.commands.options import (
    add_http_flags,
    add_port_flags,
    add_scm_flags,
    env_bool,
    env_flag,
)


def register(parser: argparse.ArgumentParser) -> None:
    from port_gitops.inputs import add_input_flags

    data = parser.add_argument_group("input (data flags have no environment twin)")
    data.add_argument("--payload", metavar="FILE|-", help="the raw webhook body Port sent (- = stdin)")
    add_input_flags(data, run_flags=True)
    job = parser.add_argument_group("job")
    env_flag(
        job,
        "--action",
        env="PORT_GITOPS_ACTION",
        help="the bundled action folder to use (default: the one the payload names, else Enrich Service)",
    )
    env_flag(
        job, "--trigger", env="PORT_GITOPS_TRIGGER", help="GWT-style variable mapping (default: bundled)"
    )
    env_flag(job, "--template", env="PORT_GITOPS_TEMPLATE", help="port.yml template (default: bundled)")
    env_flag(
        job, "--blueprints", env="PORT_GITOPS_BLUEPRINTS", help="blueprint definitions (default: bundled)"
    )
    env_bool(
        job,
        "--blueprints-from-port",
        env="PORT_GITOPS_BLUEPRINTS_FROM_PORT",
        help="check values against the tenant's live blueprints (one read per run; needs Port credentials)",
    )
    env_bool(
        job,
        "--check-relations",
        env="PORT_GITOPS_CHECK_RELATIONS",
        help="also check that each related entity exists in Port (one read each)",
    )
    env_flag(job, "--path", env="PORT_GITOPS_PATH", default="port.yml", help="file in the repository")
    env_flag(
        job, "--branch", env="PORT_GITOPS_BRANCH", help="pull request branch (default port/enrich-<entity>)"
    )
    env_flag(job, "--base", env="PORT_GITOPS_BASE", help="target branch (default: the repository's default)")
    job.add_argument(
        "--reviewer",
        action="append",
        default=None,
        help="reviewer, repeatable; added to the default reviewers [env PORT_GITOPS_REVIEWERS, comma list]",
    )
    job.add_argument(
        "--team-reviewer",
        action="append",
        default=None,
        help="team reviewer (GitHub: a team slug), repeatable [env PORT_GITOPS_TEAM_REVIEWERS, comma list]",
    )
    job.add_argument(
        "--label",
        action="append",
        default=None,
        help="pull request label (GitHub, GitLab), repeatable [env PORT_GITOPS_LABELS, comma list]",
    )
    env_bool(job, "--draft", env="PORT_GITOPS_DRAFT", help="open the pull request as a draft")
    env_flag(job, "--author", env="PORT_GITOPS_AUTHOR", help="commit author 'Name <email>'")
    env_bool(
        job,
        "--dry-run",
        env="PORT_GITOPS_DRY_RUN",
        help="read everything, print the diff and the planned writes; write nothing, report nothing",
    )
    sig = parser.add_argument_group("webhook signature")
    env_bool(
        sig,
        "--verify-signature",
        env="PORT_GITOPS_VERIFY_SIGNATURE",
        help="check Port's x-port-signature over the raw --payload",
    )
    sig.add_argument("--signature", help="x-port-signature value [env X_PORT_SIGNATURE or x_port_signature]")
    sig.add_argument("--timestamp", help="x-port-timestamp value [env X_PORT_TIMESTAMP or x_port_timestamp]")
    env_flag(
        sig,
        "--signature-tolerance",
        env="PORT_GITOPS_SIGNATURE_TOLERANCE",
        default="900",
        help="seconds a signed webhook stays valid",
    )
    add_port_flags(parser)
    add_scm_flags(parser)
    add_http_flags(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result object instead of a summary line")
    out.add_argument(
        "--result-file", metavar="FILE", help="also write the result object here (on every exit)"
    )


def run(args: argparse.Namespace) -> int:
    from port_gitops.wiring import run_sessions

    sessions = run_sessions(args)  # first: their connections open while the rest loads (issue 13)
    from port_gitops.enrich_command import EnrichCommand

    return EnrichCommand(args, sessions=sessions).execute()
