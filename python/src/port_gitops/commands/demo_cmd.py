"""Run the whole job against the embedded sandbox and show what it did — no credentials needed.

Starts loopback Bitbucket and Port sandboxes, seeds a service repository whose port.yml already holds a
commented entity, runs `port-gitops enrich` on the payload of Port's guide, and shows the pull request,
the port.yml diff and the Port run's log and status; then runs again and shows `unchanged`.

examples:
  port-gitops demo
  port-gitops demo --scm bitbucket-datacenter
  port-gitops demo --action set_ownership
"""

from __future__ import annotations

import argparse

from port_gitops.commands.options import add_flavour_flags, flavour


def register(parser: argparse.ArgumentParser) -> None:
    add_flavour_flags(parser)
    parser.add_argument("--action", help="the bundled action to run (default: the guide's Enrich Service)")


def run(args: argparse.Namespace) -> int:
    from port_gitops.demo import run_demo

    return run_demo(flavour(args), args.action)
