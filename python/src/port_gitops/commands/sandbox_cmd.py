"""Start local Bitbucket Cloud and Port servers to try port-gitops by hand, without credentials.

Both listen on 127.0.0.1. An example service repository (with a hand-commented port.yml that
describes another entity) and an IN_PROGRESS Port run are seeded, and an example webhook payload
is written. The `export` lines printed on stdout point port-gitops at the sandbox (the credentials
in them are the sandbox's own, made up at start). Every request is then logged on stderr, with the
Port run's log lines and final status; Ctrl-C or SIGTERM stops it all and deletes the repositories
and every temporary file. Unknown
run ids are accepted as new runs, so the payload can be edited and sent again.

examples:
  port-gitops sandbox                 # then, in another shell: paste the export lines, and
                                      # port-gitops enrich --payload <the payload file it printed>
  port-gitops sandbox --tls           # HTTPS with a throw-away CA (REQUESTS_CA_BUNDLE is exported)
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from typing import TYPE_CHECKING

from port_gitops.commands.options import add_flavour_flags, flavour

if TYPE_CHECKING:
    from port_gitops.sandbox import RecordedRequest, Sandbox


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate from a throw-away CA"
    )
    add_flavour_flags(parser)
    parser.add_argument(
        "--workspace", default="acme", help="the Bitbucket workspace (DC: project, upper-cased) to seed"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request on stderr")


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived: leave the `with` block, so the servers stop and the files go."""


def _stop(signum: int, frame: object) -> None:
    for sig in _STOP_SIGNALS:  # a second signal must not interrupt the clean-up
        signal.signal(sig, signal.SIG_IGN)
    raise _Stopped


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run(args: argparse.Namespace) -> int:
    # Both signals stop it the same way, from the first moment: SIGINT too when the shell that started
    # it ignores SIGINT (a background job), where Python would otherwise never raise KeyboardInterrupt.
    previous = {sig: signal.signal(sig, _stop) for sig in _STOP_SIGNALS}
    try:
        _serve(args)
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("port-gitops: sandbox stopped", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> None:
    from port_gitops.sandbox import Sandbox
    from port_gitops.sandbox.example import seed_example

    with Sandbox(tls=args.tls, flavour=flavour(args), workspace=args.workspace) as sandbox:
        example = seed_example(sandbox)
        sandbox.port.auto_create_runs = True
        payload = sandbox.root / "payload.json"
        payload.write_text(json.dumps(example.payload, indent=2) + "\n", encoding="utf-8")
        if not args.quiet:
            _log_requests(sandbox)
        for name, value in sandbox.env().items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"# example payload ({example.workspace}/{example.slug}, Port run {example.run_id}):")
        print(f"#   port-gitops enrich --payload {shlex.quote(str(payload))}")
        print(f"# repository page (pull requests, branches): {example.repo_url}")
        print(f"# git clone {sandbox.scm.clone_url(example.workspace, example.slug)}"
              f"  (user {sandbox.scm.username}, password: the token above)")  # fmt: skip
        print("# Ctrl-C (or SIGTERM) stops the sandbox", flush=True)
        while True:
            time.sleep(3600)  # the signal handler ends this


def _log_requests(sandbox: Sandbox) -> None:
    def line(service: str, request: RecordedRequest) -> None:
        text = (
            f"port-gitops sandbox: {service}: {request.method} {request.path} -> {request.status or 'reset'}"
        )
        if service == "port" and request.method in ("POST", "PATCH") and "/actions/runs/" in request.path:
            text += _run_event(request)
        print(text, file=sys.stderr, flush=True)

    sandbox.scm.recorder.subscribe(lambda request: line(sandbox.flavour, request))
    sandbox.port.recorder.subscribe(lambda request: line("port", request))


def _run_event(request: RecordedRequest) -> str:
    """What a run request told Port, for the person watching: the log line or the final status."""
    try:
        body = request.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    if "message" in body:
        return f"  log: {body['message']}"
    if "status" in body:
        return f"  status: {body['status']} ({body.get('statusLabel', '')})"
    return ""
