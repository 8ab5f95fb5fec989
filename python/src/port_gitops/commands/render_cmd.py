"""port-gitops render — render port.yml from the template and merge it into an existing file.

Values come from a webhook payload (through the variable mapping) or from flags. The template is
parsed as YAML before placeholders are filled, so values are always data. The merge changes only
what the template sets and keeps every other byte of the existing file; when nothing changes, the
output is the input, byte for byte. Everything is validated before anything is written.

examples:
  # print the port.yml for one service (no existing file: a new one)
  port-gitops render --entity payments --domain billing --type backend --lifecycle Production

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
from typing import TYPE_CHECKING, Optional

from port_gitops.commands.options import env_flag
from port_gitops.errors import EXIT_FAILED, EXIT_OK, InvalidInputError, UsageError

if TYPE_CHECKING:
    from port_gitops.model import EnrichValues

log = logging.getLogger("port_gitops")

_DATA_FLAGS = ("entity", "domain", "type", "lifecycle")


def register(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("input (data flags have no environment twin)")
    data.add_argument("--payload", metavar="FILE|-", help="the webhook body Port sent (- = stdin)")
    data.add_argument("--entity", help="service identifier (instead of --payload)")
    data.add_argument("--domain", help="domain identifier (instead of --payload)")
    data.add_argument("--type", help="service type (instead of --payload)")
    data.add_argument("--lifecycle", help="service lifecycle (instead of --payload)")
    definitions = parser.add_argument_group("definitions")
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
    from port_gitops import resources
    from port_gitops.model import EnrichValues, load_blueprints
    from port_gitops.portyml import merge, render_entities, unified_diff

    if args.check and args.output:
        raise UsageError("--check writes nothing; leave out --output")
    _check_input_flags(args)
    blueprints = load_blueprints(args.blueprints)
    if args.payload is not None:
        values = _payload_values(args.payload, args.trigger)
    else:
        values = EnrichValues.from_flags(**{name: getattr(args, name) for name in _DATA_FLAGS})
    values.validate(blueprints)
    template = _template(args.template) if args.template else resources.read_text(resources.TEMPLATE)
    entities = render_entities(template, values, source=args.template or "bundled template")
    blueprints.check(entities)
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


def _check_input_flags(args: argparse.Namespace) -> None:
    given = [f"--{name}" for name in _DATA_FLAGS if getattr(args, name) is not None]
    if args.payload is not None and given:
        raise UsageError(f"give either --payload or the data flags, not both ({', '.join(given)} given)")
    missing = [f"--{name}" for name in _DATA_FLAGS if f"--{name}" not in given]
    if args.payload is None and missing:
        raise UsageError(
            "give --payload FILE|-, or all of --entity, --domain, --type, --lifecycle "
            f"(missing {', '.join(missing)})"
        )


def _payload_values(path: str, trigger_path: Optional[str]) -> EnrichValues:
    from port_gitops.gwt import load_trigger, resolve
    from port_gitops.limits import MAX_PAYLOAD_BYTES, read_bounded
    from port_gitops.model import EnrichValues, payload_fields

    # The GWT resolver is the one place where a payload becomes variables (render, vars and enrich agree).
    trigger = load_trigger(trigger_path)
    body = read_bounded(path, limit=MAX_PAYLOAD_BYTES, what="payload", flag="--payload")
    variables = resolve(trigger, body).variables
    expressions = {variable.key: variable.expression for variable in trigger.generic_variables}
    return EnrichValues.from_variables(variables, fields=payload_fields(expressions))


def _read(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path!r}: {exc.strerror}") from None


def _template(path: str) -> str:
    try:
        return _read(path, "--template/PORT_GITOPS_TEMPLATE").decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--template/PORT_GITOPS_TEMPLATE: {path!r} is not UTF-8 text") from None


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
