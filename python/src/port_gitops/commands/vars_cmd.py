"""port-gitops vars — the variables Jenkins' Generic Webhook Trigger would give a build.

Feed it a webhook request (body, headers, query parameters) and a GenericTrigger mapping; it prints
what GWT would contribute, computed the way GWT computes it (Jayway JSONPath, Gson formatting,
flattening, filters, defaults), and whether the regexp filter lets the request trigger. Without
--trigger the bundled "Enrich Service" mapping is used (LIFECYCLE, TYPE, DOMAIN, ENTITY_IDENTIFIER,
REPO_URL, RUN_ID, PORT_PAYLOAD and the x-port-signature/x-port-timestamp headers).

Output: one NAME='value' line per variable, quoted for POSIX sh (`eval` and `source` are safe for any
value); names that are not shell names (GWT keeps `.` or `/` in flattened names) and values holding a
NUL are left out and listed on stderr. --json prints {"triggered": ..., "variables": {...}} instead.
Exit 0 whether or not the filter lets the request trigger; 2 for a bad mapping or flag; 3 for a body
that is not JSON Jenkins would read the same way.

examples:
  port-gitops vars --payload payload.json --json
  port-gitops vars --trigger trigger.yml --payload - --header 'X-Port-Signature: v1,abc' < body.json
  eval "$(port-gitops vars --payload payload.json)"; echo "$ENTITY_IDENTIFIER"
  port-gitops vars --trigger gwt.json --payload push.json --param ref=main --param ref=dev
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Tuple

from port_gitops.commands.options import env_flag
from port_gitops.errors import UsageError


def register(parser: argparse.ArgumentParser) -> None:
    env_flag(
        parser,
        "--trigger",
        env="PORT_GITOPS_TRIGGER",
        metavar="FILE",
        help="GenericTrigger mapping (JSON or YAML: genericVariables, genericHeaderVariables, "
        "genericRequestVariables, shouldNotFlatten, regexpFilterText, regexpFilterExpression); "
        "default: the bundled Enrich Service mapping",
    )
    parser.add_argument("--payload", metavar="FILE|-", help="the raw request body ('-' reads stdin)")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header; repeat it for more headers or for several values of one",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a request (query) parameter; repeat it for more parameters or several values of one",
    )
    parser.add_argument("--json", action="store_true", help='print {"triggered": ..., "variables": {...}}')
    parser.add_argument(
        "--empty-when-missing",
        action="store_true",
        help='newer GWT behaviour: an unresolved variable without defaultValue is "" instead of absent',
    )


def run(args: argparse.Namespace) -> int:
    from port_gitops.gwt import load_trigger, resolve
    from port_gitops.gwt.shell import assignment, can_hold, is_shell_name

    trigger = load_trigger(args.trigger)
    resolution = resolve(
        trigger,
        _read_body(args.payload),
        [_header(h) for h in args.header],
        [_param(p) for p in args.param],
        empty_when_missing=args.empty_when_missing,
    )
    if args.json:
        document = {"triggered": resolution.triggered, "variables": dict(resolution.variables)}
        _write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return 0
    lines: List[str] = []
    left_out: List[str] = []
    for name, value in resolution.variables.items():
        if is_shell_name(name) and can_hold(value):
            lines.append(assignment(name, value) + "\n")
        else:
            left_out.append(name)
    _write("".join(lines))
    if left_out:
        names = ", ".join(json.dumps(n, ensure_ascii=False) for n in left_out)
        print(
            f"port-gitops vars: left out (not a shell name, or a NUL in the value): {names}", file=sys.stderr
        )
    return 0


def _read_body(source: Optional[str]) -> Optional[bytes]:
    from port_gitops.limits import MAX_PAYLOAD_BYTES, read_bounded

    if source is None:
        return None
    return read_bounded(source, limit=MAX_PAYLOAD_BYTES, what="payload", flag="--payload")


def _header(given: str) -> Tuple[str, str]:
    name, found, value = given.partition(":")
    name = name.strip()
    if not found or not name or any(c.isspace() for c in name):
        raise UsageError(f"--header {given!r}: expected 'Name: value'")
    return name, value.strip(" \t")  # HTTP drops the blanks around a header value


def _param(given: str) -> Tuple[str, str]:
    name, found, value = given.partition("=")
    if not found or not name:
        raise UsageError(f"--param {given!r}: expected name=value")
    return name, value


def _write(text: str) -> None:
    # bytes, so the output is UTF-8 whatever the locale of the Jenkins agent
    buffer = sys.stdout.buffer
    buffer.write(text.encode("utf-8"))
    buffer.flush()
