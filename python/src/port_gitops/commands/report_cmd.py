"""Close a Port action run from a pipeline's failure path (bootstrap error, timeout, abort).

A run that is already finished is left alone (exit 0): the tool may have reported it before dying.
With --enrich-result, the run is also left alone when that result file of `enrich` shows it finished
(it then reported itself, or, after a rejected signature, must not trust the run id); an absent or
unreadable file, or one still saying "running", means it never finished.

examples:
  port-gitops report --run-id "$RUN_ID" --status FAILURE --message "build aborted" --link "$BUILD_URL"
  port-gitops report --run-id r_abc --status SUCCESS
  port-gitops report --run-id "$RUN_ID" --status FAILURE --enrich-result result.json  # a CI failure path

exit codes: 0 reported (or already finished), 1 Port could not be told, 2 usage or configuration
(incl. missing or rejected Port credentials), 3 invalid input.
"""

from __future__ import annotations

import argparse
from typing import Optional

from port_gitops.commands.options import add_http_flags, add_port_flags


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", required=True, help="the Port action run to close")
    parser.add_argument("--status", required=True, choices=("SUCCESS", "FAILURE"), help="final status")
    parser.add_argument("--message", default="", help="one line shown in the run's log and summary")
    parser.add_argument("--link", action="append", default=[], help="a link for the run page, repeatable")
    parser.add_argument(
        "--enrich-result",
        metavar="FILE",
        help="enrich's --result-file: do nothing when it shows enrich finished (and dealt with the run)",
    )
    add_port_flags(parser)
    add_http_flags(parser)


def run(args: argparse.Namespace) -> int:
    import logging

    from port_gitops.errors import InvalidInputError, JobFailedError, PortReportError
    from port_gitops.wiring import port_client_from_args

    if not args.run_id.strip() or any(c.isspace() for c in args.run_id):
        raise InvalidInputError(f"{args.run_id!r} is not a run id", field="--run-id")
    outcome = _finished_outcome(args.enrich_result) if args.enrich_result else None
    if outcome:
        logging.getLogger("port_gitops").info(
            "enrich finished (outcome %s) and dealt with the Port run itself: nothing to close", outcome
        )
        return 0
    client = port_client_from_args(
        args, missing="PORT_CLIENT_ID and PORT_CLIENT_SECRET must be set to report to Port"
    )
    message = " ".join(args.message.split())
    try:
        if message:
            client.log(args.run_id, message)
        finished = client.finish(
            args.run_id,
            status=args.status,
            label=args.status.lower(),
            links=args.link,
            summary=message or f"Closed as {args.status} by port-gitops report",
        )
    except PortReportError as exc:
        raise JobFailedError(exc.message) from exc
    if finished.already_finished:
        logging.getLogger("port_gitops").warning(
            "run %s was already finished as %s: left unchanged (not closed as %s)",
            args.run_id,
            finished.status,
            args.status,
        )
        return 0
    logging.getLogger("port_gitops").info("run %s closed as %s", args.run_id, args.status)
    return 0


def _finished_outcome(path: str) -> Optional[str]:
    """The outcome in enrich's result file when enrich finished; None when it never did."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
    except (OSError, ValueError):
        return None
    outcome = result.get("outcome") if isinstance(result, dict) else None
    return outcome if isinstance(outcome, str) and outcome != "running" else None
