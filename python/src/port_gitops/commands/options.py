"""Flag helpers shared by the commands: flags with environment twins (flags win over env)."""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional, Sequence

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *flags: str,
    env: str,
    help: str,  # noqa: A002 - argparse's own name
    default: Optional[str] = None,
    **kwargs: Any,
) -> None:
    """A string flag whose default comes from `env` (then `default`). The help names the twin."""
    value = os.environ.get(env)
    parser.add_argument(
        *flags,
        default=value if value not in (None, "") else default,
        help=f"{help} [env {env}" + (f"; default {default}]" if default else "]"),
        **kwargs,
    )


def env_bool(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    *,
    env: str,
    help: str,  # noqa: A002
) -> None:
    """A switch that is on when given, or when `env` holds a true word (1/true/yes/on)."""
    raw = os.environ.get(env, "").strip().lower()
    if raw not in TRUE_WORDS | FALSE_WORDS:
        raise SystemExit(f"port-gitops: error: {env} must be one of 1/0/true/false/yes/no, not {raw!r}")
    parser.add_argument(flag, action="store_true", default=raw in TRUE_WORDS, help=f"{help} [env {env}]")


def env_list(env: str, given: Optional[Sequence[str]]) -> list[str]:
    """Repeated flag values, or the comma list in `env` when the flag was not given."""
    if given:
        return [v for v in given if v]
    return [v.strip() for v in os.environ.get(env, "").split(",") if v.strip()]
