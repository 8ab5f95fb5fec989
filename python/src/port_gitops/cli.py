"""Command-line entry point: builds the parser, dispatches, and maps errors to exit codes.

Start-up is what a run imports: only the named command's module is loaded to build its flags
(`port-gitops --help` loads none), command modules stay import-light (argparse only) and each imports
its real work inside `run`; logging loads once the arguments parsed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from port_gitops import __version__
from port_gitops.errors import EXIT_FAILED, PortGitopsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms of --help); mypy knows it
if TYPE_CHECKING:
    from typing import Callable, Optional, Sequence

# (command, module under port_gitops.commands, one-line help). Order = order in --help.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("vars", "vars_cmd", "resolve webhook variables exactly as Jenkins' Generic Webhook Trigger does"),
    ("render", "render_cmd", "render port.yml from the template and merge it into an existing file"),
    ("enrich", "enrich_cmd", "the whole job: port.yml change, commit, pull request, report to Port"),
    ("report", "report_cmd", "close a Port action run (for a pipeline's failure path)"),
    ("setup", "setup_cmd", "create or update the Port blueprints and the Enrich Service action"),
    ("validate", "validate_cmd", "validate port.yml files against the blueprint definitions"),
    ("sandbox", "sandbox_cmd", "start local Bitbucket and Port sandboxes for manual use"),
    ("demo", "demo_cmd", "run the whole job against the embedded sandbox and show what it did"),
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors, which is already our usage code; keep messages one line."""


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """Every command is listed; only `command`'s flags are built (its module imported), so a run
    loads one command module and `port-gitops --help` none. None: all of them (for tools and tests)."""
    parser = _Parser(
        prog="port-gitops",
        description="Port's Enrich Service action on Jenkins + Bitbucket. "
        "Every command has --help with examples.",
    )
    parser.add_argument("--version", action="version", version=f"port-gitops {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="debug detail on stderr (secrets stay masked)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module, help_text in COMMANDS:
        if command is not None and name != command:
            sub.add_parser(name, help=help_text)  # never parsed: the arguments name another command
            continue
        mod = importlib.import_module(f"port_gitops.commands.{module}")
        cmd = sub.add_parser(
            name,
            help=help_text,
            description=mod.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.register(cmd)
        cmd.set_defaults(_module=module)
    return parser


def command_named(argv: Sequence[str]) -> str:
    """The command `argv` names: its first argument that is not an option (the top-level options
    take no value), or "" when there is none, which argparse then rejects as it always did."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command_named(arguments)).parse_args(arguments)
    import logging  # only once the arguments parsed: `--help` and usage errors need none of it

    from port_gitops.logsetup import configure_logging, mask

    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    module = importlib.import_module(f"port_gitops.commands.{args._module}")
    run: Callable[[argparse.Namespace], int] = module.run
    try:
        return run(args)
    except PortGitopsError as exc:
        print(f"port-gitops {args.command}: error: {mask(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"port-gitops {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:
        logging.getLogger("port_gitops").debug("unexpected error", exc_info=True)
        print(
            f"port-gitops {args.command}: error: unexpected {type(exc).__name__}: "
            + mask(" ".join(str(exc).split())),
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
