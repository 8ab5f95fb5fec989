"""port-gitops validate — check port.yml files (an entity or a list of entities) against blueprints.

Checks identifiers, required fields, property types, formats and enum values, relation values, and
that each entity's blueprint is defined; repeated keys and entities are reported too. Each problem
is printed on stdout as FILE:LINE: ENTITY: MESSAGE. The definitions are the bundled ones (what
`setup` puts in Port), a team's own (--blueprints), or the tenant's, fetched from Port
(--from-port: then properties and relations the blueprint lacks are problems as well).

examples:
  port-gitops validate                                  # ./port.yml
  port-gitops validate services/*/port.yml --blueprints our-blueprints.json
  git show HEAD:port.yml | port-gitops validate -
  PORT_CLIENT_ID=... PORT_CLIENT_SECRET=... port-gitops validate --from-port port.yml

exit codes: 0 clean, 1 problems found, 2 usage or configuration (incl. an unreadable file, or
  definitions that cannot be read from --blueprints or Port), 3 a file over the size (1 MiB) or
  nesting (100 levels) limit, which cannot be checked at all.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from port_gitops.commands.options import add_http_flags, add_port_flags, env_flag

if TYPE_CHECKING:
    from port_gitops.model import Blueprints

log = logging.getLogger("port_gitops")
STDIN = "-"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        default=["port.yml"],
        help="port.yml files (default: port.yml; - = stdin)",
    )
    definitions = parser.add_argument_group("definitions (default: bundled)")
    env_flag(
        definitions,
        "--blueprints",
        env="PORT_GITOPS_BLUEPRINTS",
        metavar="FILE",
        help="blueprint definitions",
    )
    definitions.add_argument(
        "--from-port", action="store_true", help="validate against the tenant's blueprints, read from Port"
    )
    add_port_flags(parser)
    add_http_flags(parser)


def run(args: argparse.Namespace) -> int:
    from port_gitops.errors import UsageError
    from port_gitops.model import load_blueprints
    from port_gitops.validate import validate_text

    if args.from_port and args.blueprints:
        raise UsageError("give either --from-port or --blueprints/PORT_GITOPS_BLUEPRINTS, not both")
    blueprints = _from_port(args) if args.from_port else load_blueprints(args.blueprints)
    problems = []
    for path in args.files:
        source = "<stdin>" if path == STDIN else path
        problems += validate_text(_read(path), blueprints, source=source, complete=args.from_port)
    for problem in problems:
        print(problem)
    files = len(args.files)
    if problems:
        log.info("%d problem(s) in %d file(s), checked against %s", len(problems), files, blueprints.source)
        return 1
    log.info("%d file(s) clean, checked against %s", files, blueprints.source)
    return 0


def _read(path: str) -> str:
    from port_gitops.errors import UsageError
    from port_gitops.limits import MAX_PORTYML_BYTES, read_bounded

    source = "<stdin>" if path == STDIN else path
    raw = read_bounded(path, limit=MAX_PORTYML_BYTES, what=source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _from_port(args: argparse.Namespace) -> Blueprints:
    """The tenant's blueprints; Port refusing or unreachable is a configuration problem (exit 2)."""
    from port_gitops.errors import PortReportError, UsageError
    from port_gitops.http import host_of
    from port_gitops.model import blueprints_from
    from port_gitops.port_setup import Catalog
    from port_gitops.wiring import port_client_from_args

    client = port_client_from_args(args, missing="--from-port needs PORT_CLIENT_ID and PORT_CLIENT_SECRET")
    try:
        definitions = Catalog(client).blueprints()
    except PortReportError as exc:
        raise UsageError(f"--from-port: {exc.message}") from exc
    return blueprints_from(definitions, f"Port ({host_of(client.base_url)})")
