"""Close a Port action run from a pipeline's failure path (bootstrap error, timeout, abort).

A run that is already finished is left alone (exit 0): the tool may have reported it before dying.

examples:
  port-gitops report --run-id "$RUN_ID" --status FAILURE --message "build aborted" --link "$BUILD_URL"
  port-gitops report --run-id r_abc --status SUCCESS

exit codes: 0 reported (or already finished), 1 Port could not be told, 2 usage or configuration
(incl. missing or rejected Port credentials), 3 invalid input.
"""

from __future__ import annotations

import argparse

from port_gitops.commands.options import add_http_flags, add_port_flags


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", required=True, help="the Port action run to close")
    parser.add_argument("--status", required=True, choices=("SUCCESS", "FAILURE"), help="final status")
    parser.add_argument("--message", default="", help="one line shown in the run's log and summary")
    parser.add_argument("--link", action="append", default=[], help="a link for the run page, repeatable")
    add_port_flags(parser)
    add_http_flags(parser)


def run(args: argparse.Namespace) -> int:
    import logging

    from port_gitops.errors import InvalidInputError, JobFailedError, PortReportError
    from port_gitops.wiring import port_client_from_args

    if not args.run_id.strip() or any(c.isspace() for c in args.run_id):
        raise InvalidInputError(f"{args.run_id!r} is not a run id", field="--run-id")
    client = port_client_from_args(
        args, missing="PORT_CLIENT_ID and PORT_CLIENT_SECRET must be set to report to Port"
    )
    message = " ".join(args.message.split())
    try:
        if message:
            client.log(args.run_id, message)
        client.finish(
            args.run_id,
            status=args.status,
            label=args.status.lower(),
            links=args.link,
            summary=message or f"Closed as {args.status} by port-gitops report",
        )
    except PortReportError as exc:
        raise JobFailedError(exc.message) from exc
    logging.getLogger("port_gitops").info("run %s closed as %s", args.run_id, args.status)
    return 0
