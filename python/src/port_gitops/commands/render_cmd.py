"""port-gitops render — placeholder until its issue lands."""

from __future__ import annotations

import argparse

from port_gitops.errors import UsageError


def register(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    raise UsageError("'render' is not available in this version yet")
