"""port-gitops render — render port.yml from the template and merge it into an existing file.

Values come from a webhook payload (through the variable mapping) or from flags. The template is
parsed as YAML before placeholders are filled, so values are always data. The merge changes only
what the template sets and keeps every other byte of the existing file; when nothing changes, the
output is the input, byte for byte. Everything is validated before anything is written.

examples:
  # print the port.yml for one service (no existing file: a new one)
  port-gitops render --entity payments --domain billing --type backend --lifecycle Production
  port-gitops render --action set_ownership --entity payments --set OWNERS=platform --set TIER=gold

  # update the repository's port.yml in place from the webhook body Port sent
  port-gitops render --payload body.json --existing port.yml --output port.yml

  # CI gate: exit 1 and show the diff when port.yml does not hold the values yet
  port-gitops render --payload body.json --existing port.yml --check

exit codes: 0 done (with --check: nothing to change), 1 --check: a change is due,
  2 usage or configuration error, 3 invalid input or a malformed existing file.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from typing import Optional

from port_gitops.commands.options import env_flag
from port_gitops.errors import EXIT_FAILED, EXIT_OK, InvalidInputError, UsageError

log = logging.getLogger("port_gitops")


def register(parser: argparse.ArgumentParser) -> None:
    from port_gitops.inputs import add_input_flags

    data = parser.add_argument_group("input (data flags have no environment twin)")
    data.add_argument("--payload", metavar="FILE|-", help="the webhook body Port sent (- = stdin)")
    add_input_flags(data, run_flags=False)
    definitions = parser.add_argument_group("definitions")
    env_flag(
        definitions,
        "--action",
        env="PORT_GITOPS_ACTION",
        help="the bundled action folder to use (default: the one the payload names, else Enrich Service)",
    )
    env_flag(
        definitions,
        "--trigger",
        env="PORT_GITOPS_TRIGGER",
        metavar="FILE",
        help="GWT-style variable mapping (default: bundled)",
    )
    env_flag(
        definitions,
        "--template",
        env="PORT_GITOPS_TEMPLATE",
        metavar="FILE",
        help="port.yml template (default: bundled)",
    )
    env_flag(
        definitions,
        "--blueprints",
        env="PORT_GITOPS_BLUEPRINTS",
        metavar="FILE",
        help="blueprint definitions (default: bundled)",
    )
    files = parser.add_argument_group("files")
    files.add_argument(
        "--existing", metavar="FILE", help="the current port.yml to merge into (absent: a new file)"
    )
    files.add_argument("--output", metavar="FILE", help="write the result here (default: stdout)")
    files.add_argument(
        "--check", action="store_true", help="write nothing; print the diff and exit 1 when a change is due"
    )


def run(args: argparse.Namespace) -> int:
    from port_gitops.inputs import collect, prepare
    from port_gitops.portyml import merge, unified_diff

    if args.check and args.output:
        raise UsageError("--check writes nothing; leave out --output")
    from port_gitops.limits import MAX_PAYLOAD_BYTES, read_bounded

    body = None
    if args.payload is not None:
        body = read_bounded(args.payload, limit=MAX_PAYLOAD_BYTES, what="payload", flag="--payload")
    entities = list(prepare(collect(args, body), args).entities)
    existing = _existing(args.existing) if args.existing else None
    path = args.existing or "port.yml"
    result = merge(existing, entities, source=path)
    for change in result.changes:
        log.info("%s", change)
    if not result.changed:
        log.info("no change: %s already holds these values", path)
    if args.check:
        sys.stdout.write(unified_diff(existing, result.text, path))
        return EXIT_FAILED if result.changed else EXIT_OK
    if args.output:
        _write(args.output, result.text.encode("utf-8"))
    else:
        sys.stdout.buffer.write(result.text.encode("utf-8"))
        sys.stdout.flush()
    return EXIT_OK


def _read(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path!r}: {exc.strerror}") from None


def _existing(path: str) -> Optional[str]:
    """The current file's text, exactly (CRLF kept); None when there is none yet."""
    from port_gitops.limits import MAX_PORTYML_BYTES, read_bounded

    if not os.path.lexists(path):
        log.info("%s does not exist yet: writing a new file", path)
        return None
    raw = read_bounded(path, limit=MAX_PORTYML_BYTES, what=path, flag="--existing")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(f"{path} line {line}: not UTF-8 text") from None


def _write(path: str, content: bytes) -> None:
    """Write `path`; an existing file is replaced atomically (never half written) with its mode kept,
    and left alone when it already holds `content`."""
    try:
        if not os.path.exists(path):
            with open(path, "wb") as handle:
                handle.write(content)
            return
        with open(path, "rb") as handle:
            if handle.read() == content:
                return
        fd, temporary = tempfile.mkstemp(prefix=".port-gitops-", dir=os.path.dirname(os.path.abspath(path)))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            shutil.copymode(path, temporary)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise UsageError(f"--output: cannot write {path!r}: {exc.strerror}") from None
