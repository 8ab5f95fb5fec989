"""Command-line entry point: builds the parser, dispatches, and maps errors to exit codes.

Start-up is what a run imports: only the named command's module is loaded to build its flags
(`port-gitops --help` loads none), command modules stay import-light (argparse only) and each imports
its real work inside `run`; logging loads once the arguments parsed.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from port_gitops import __version__
from port_gitops.errors import EXIT_FAILED, EXIT_USAGE, PortGitopsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms of --help); mypy knows it
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn, Optional, Sequence

VERBOSE_HELP = "debug detail on stderr, each HTTP request included (secrets stay masked)"

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


class _UsageProblem(SystemExit):
    """argparse's complaint, raised instead of its own printing and exit (2, already our usage code) so
    that `main` ends it like any usage error."""

    def __init__(self, message: str) -> None:
        super().__init__(EXIT_USAGE)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """Usage errors are said by `main` in one line: not the whole usage (enrich's runs to a screenful),
    and `enrich` still writes its result file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}  # the commands whose flags were built

    def error(self, message: str) -> NoReturn:
        raise _UsageProblem(message)


def build_parser(command: Optional[str] = None) -> _Parser:
    """Every command is listed; only `command`'s flags are built (its module imported), so a run
    loads one command module and `port-gitops --help` none. None: all of them (for tools and tests)."""
    parser = _Parser(
        prog="port-gitops",
        description="Port's Enrich Service action on Jenkins + Bitbucket. "
        "Every command has --help with examples.",
    )
    parser.add_argument("--version", action="version", version=f"port-gitops {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
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
        # Also after the command (`enrich -v`, as the README writes it); counts add up with the first.
        cmd.add_argument(
            "-v", "--verbose", action="count", default=0, dest="verbose_after", help=VERBOSE_HELP
        )
        cmd.set_defaults(_module=module)
        parser.commands[name] = cmd
    return parser


def command_named(argv: Sequence[str]) -> str:
    """The command `argv` names: its first argument that is not an option (the top-level options
    take no value), or "" when there is none, which argparse then rejects as it always did."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


# Commands that serve until stopped: the cyclic collector stays on while they run.
_SERVING = frozenset({"sandbox"})


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = command_named(arguments)
    if command in _SERVING or not gc.isenabled():
        return _main(arguments, command)
    # Any other run is a short process that imports hundreds of modules and keeps nearly all it
    # allocates: the cyclic collector's passes over those objects (~90 in an enrichment, and one over
    # all of them at exit: ~10% of its CPU) free next to nothing. Inputs are bounded (limits.py), so
    # the cycles a run leaves stay small.
    gc.disable()
    try:
        return _main(arguments, command)
    finally:
        if argv is None:  # the program, ending now: what it kept is not scanned again, at exit either
            gc.freeze()
        gc.enable()  # where the process goes on (tests call main with arguments), as it was


def _main(arguments: list[str], command: str) -> int:
    parser = build_parser(command)
    try:
        args = parser.parse_args(arguments)
    except _UsageProblem as exc:
        return _usage_error(parser, arguments, exc.message, None)
    from port_gitops.commands.options import env_problem

    problem = env_problem(args)
    if problem:
        return _usage_error(parser, arguments, problem, args)
    import logging  # only once the arguments parsed: `--help` and usage errors need none of it

    from port_gitops.logsetup import configure_logging, mask

    args.verbose += args.verbose_after
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


def _usage_error(
    parser: _Parser, argv: Sequence[str], message: str, args: Optional[argparse.Namespace]
) -> int:
    """One line on stderr, exit 2; a command with --result-file (enrich: every exit) still gets its
    failed result object there and on stdout, read from argv when parsing did not get that far. No
    Port run is told: nothing is trusted yet."""
    command = command_named(argv)
    sub = parser.commands.get(command)
    prog = f"port-gitops {command}" if sub else "port-gitops"
    hint = "" if args else f" (see {prog} --help)"
    print(f"{prog}: error: {message}{hint}", file=sys.stderr)
    if sub is None or "--result-file" not in sub._option_string_actions:
        return EXIT_USAGE
    rest = argv[argv.index(command) + 1 :]
    path = args.result_file if args else _given(sub, rest, "--result-file")
    as_json = args.json if args else _given(sub, rest, "--json", switch=True) is not None
    from port_gitops.result import Result

    result = Result(outcome="failed", exit_code=EXIT_USAGE, error=message)
    if path:
        try:
            Result.write(path, result.to_json())
        except OSError as exc:
            print(f"{prog}: error: cannot write --result-file: {exc}", file=sys.stderr)
    print(result.to_json() if as_json else result.summary())
    return EXIT_USAGE


def _given(
    parser: argparse.ArgumentParser, argv: Sequence[str], flag: str, *, switch: bool = False
) -> Optional[str]:
    """The last value of `flag` in argv as argparse reads it (`--flag X`, `--flag=X`, an unambiguous
    abbreviation), for when parsing stopped elsewhere; None when absent ("" for a given switch)."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if len(name) < 3 or not flag.startswith(name):
            continue
        if name != flag and [o for o in parser._option_string_actions if o.startswith(name)] != [flag]:
            continue  # ambiguous: argparse refuses it too
        if switch:
            found = ""
        elif eq:
            found = value
        elif i + 1 < len(argv) and (argv[i + 1] == "-" or not argv[i + 1].startswith("-")):
            found = argv[i + 1]
    return found


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
