"""Flag helpers shared by the commands: flags with environment twins (flags win over env)."""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional, Sequence

from port_gitops.config import GITHUB_API_URL, GITHUB_WEB_URL, GITLAB_URL, PORT_REGIONS, SCM_KINDS

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *flags: str,
    env: str,
    help: str,
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
    help: str,
) -> None:
    """A switch that is on when given, or when `env` holds a true word (1/true/yes/on)."""
    raw = os.environ.get(env, "").strip().lower()
    default: bool | EnvProblem = raw in TRUE_WORDS
    if raw not in TRUE_WORDS | FALSE_WORDS:
        # A typo must not silently mean "off" (e.g. a dry run that writes): a usage error (exit 2), said
        # by `cli` once the command that reads this variable is the one being run.
        default = EnvProblem(f"{env} must be one of 1/0/true/false/yes/no, not {raw!r}")
    parser.add_argument(flag, action="store_true", default=default, help=f"{help} [env {env}]")


class EnvProblem:
    """The value of a switch whose environment twin holds no boolean word (giving the flag replaces it).
    Never true or false: reading it as a condition raises."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __bool__(self) -> bool:
        raise TypeError(self.message)


def env_problem(args: argparse.Namespace) -> Optional[str]:
    """The first environment twin of the parsed command that holds no valid value, if any."""
    return next((v.message for v in vars(args).values() if isinstance(v, EnvProblem)), None)


def env_list(env: str, given: Optional[Sequence[str]]) -> list[str]:
    """Repeated flag values, or the comma list in `env` when the flag was not given."""
    if given:
        return [v for v in given if v]
    return [v.strip() for v in os.environ.get(env, "").split(",") if v.strip()]


def add_port_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Port (credentials: PORT_CLIENT_ID, PORT_CLIENT_SECRET — environment only)"
    )
    env_flag(
        group,
        "--port-region",
        env="PORT_REGION",
        help="eu or us: Port's API host of that region ("
        + ", ".join(f"{name} {url}" for name, url in PORT_REGIONS.items())
        + "); default eu",
    )
    env_flag(
        group,
        "--port-url",
        env="PORT_BASE_URL",
        help="Port API base URL; wins over --port-region (legacy https://api[.us].getport.io work too)",
    )


def add_http_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("HTTP")
    env_flag(
        group,
        "--ca-bundle",
        env="REQUESTS_CA_BUNDLE",
        help="CA bundle for on-prem TLS (proxies come from HTTPS_PROXY/NO_PROXY)",
    )
    env_flag(
        group,
        "--max-attempts",
        env="PORT_GITOPS_MAX_ATTEMPTS",
        default="5",
        help="attempts per request before giving up",
    )
    env_flag(
        group,
        "--max-wait",
        env="PORT_GITOPS_MAX_WAIT",
        default="300",
        help="seconds a request may spend retrying in total",
    )


def add_scm_flags(parser: argparse.ArgumentParser) -> None:
    """`--scm` and each flavour's own flags (each flavour's group names its credentials)."""
    env_flag(
        parser.add_argument_group("SCM"),
        "--scm",
        env="PORT_GITOPS_SCM",
        choices=SCM_KINDS,
        help="where the repositories live (default bitbucket-cloud; BITBUCKET_KIND=cloud/datacenter too)",
    )
    add_bitbucket_flags(parser)
    add_gitlab_flags(parser)
    add_github_flags(parser)


def add_flavour_flags(parser: argparse.ArgumentParser) -> None:
    """`--scm` of the sandbox and the demo: which flavour the sandbox plays (not an env twin: a
    PORT_GITOPS_SCM meant for real runs must not change what a demo shows)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--scm", choices=SCM_KINDS, help="which SCM flavour the sandbox plays (default bitbucket-cloud)"
    )
    group.add_argument(
        "--bitbucket", choices=("cloud", "datacenter"), help="the older form of --scm bitbucket-*"
    )


def flavour(args: argparse.Namespace) -> str:
    return str(args.scm or ("bitbucket-" + args.bitbucket if args.bitbucket else "bitbucket-cloud"))


def add_bitbucket_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Bitbucket (credentials: BITBUCKET_USERNAME + BITBUCKET_TOKEN, or BITBUCKET_ACCESS_TOKEN,"
        " environment only)"
    )
    env_flag(
        group,
        "--bitbucket-kind",
        env="BITBUCKET_KIND",
        choices=("cloud", "datacenter"),
        help="cloud or datacenter (the older form of --scm bitbucket-cloud/bitbucket-datacenter)",
    )
    env_flag(
        group,
        "--bitbucket-url",
        env="BITBUCKET_URL",
        help="API base (Cloud default https://api.bitbucket.org; DC: the server URL)",
    )
    env_flag(
        group,
        "--bitbucket-web-url",
        env="BITBUCKET_WEB_URL",
        help="host that repository URLs in payloads must use (Cloud https://bitbucket.org)",
    )
    env_flag(
        group,
        "--workspace",
        env="BITBUCKET_WORKSPACE",
        help="Cloud workspace; the only one payloads may name (PORT_GITOPS_ALLOWED_WORKSPACES adds more)",
    )
    env_flag(
        group,
        "--project",
        env="BITBUCKET_PROJECT",
        help="DC project key; same rule with PORT_GITOPS_ALLOWED_PROJECTS",
    )


def add_gitlab_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("GitLab (credentials: GITLAB_TOKEN, environment only)")
    env_flag(
        group,
        "--gitlab-url",
        env="GITLAB_URL",
        default=GITLAB_URL,
        help="gitlab.com or a self-managed instance, with its relative URL root if any (https://host/gitlab)",
    )
    env_flag(
        group,
        "--group",
        env="GITLAB_GROUP",
        help="group (or group/subgroup) whose projects, subgroups' included, payloads may name "
        "(PORT_GITOPS_ALLOWED_GROUPS adds more)",
    )


def add_github_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "GitHub (credentials: GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY, environment only)"
    )
    env_flag(
        group,
        "--github-api-url",
        env="GITHUB_API_URL",
        default=GITHUB_API_URL,
        help="API base (GitHub Enterprise Server: https://HOST/api/v3)",
    )
    env_flag(
        group,
        "--github-web-url",
        env="GITHUB_WEB_URL",
        help=f"host that repository URLs in payloads must use (default GITHUB_SERVER_URL, which GitHub "
        f"Actions sets, else {GITHUB_WEB_URL})",
    )
    env_flag(
        group,
        "--owner",
        env="GITHUB_OWNER",
        help="user or organisation; the only one payloads may name (PORT_GITOPS_ALLOWED_OWNERS adds more)",
    )
