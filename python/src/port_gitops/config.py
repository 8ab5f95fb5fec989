"""Typed settings for the commands that talk to Port and Bitbucket, built from flags and environment.

Flags win over their environment twins (the twins are applied as argparse defaults, see
commands/options.py). Secrets are read from the environment only and registered for masking.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Mapping, NamedTuple, Optional, Tuple, Union
from urllib.parse import urlsplit

from port_gitops.errors import UsageError
from port_gitops.logsetup import register_secrets

# The SCM flavours, by the names of `--scm`/PORT_GITOPS_SCM; each is one client module under scm/ and one
# sandbox flavour under sandbox/ with the same name (underscores for dashes).
SCM_KINDS = ("bitbucket-cloud", "bitbucket-datacenter", "github", "gitlab")
# BITBUCKET_KIND (wave 1) names the Bitbucket flavours without the prefix; it stays an accepted alias.
_BITBUCKET_KINDS = {"cloud": "bitbucket-cloud", "datacenter": "bitbucket-datacenter"}
CLOUD_API_URL = "https://api.bitbucket.org"
CLOUD_WEB_URL = "https://bitbucket.org"
# Port's API hosts per region (its published spec's `servers`); the legacy api[.us].getport.io hosts
# still answer and are accepted as --port-url. EU is the default.
PORT_REGIONS = {"eu": "https://api.port.io", "us": "https://api.us.port.io"}
PORT_API_URL = PORT_REGIONS["eu"]
# What an HTTP header (Bearer token, Basic credentials) can carry: visible ASCII for a token or secret,
# printable Latin-1 for a user name (requests encodes Basic credentials as Latin-1).
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
_USERNAME_CHARS = re.compile(r"[\x20-\x7e\xa0-\xff]+")
_PORT_URL = "--port-url/PORT_BASE_URL"
_BITBUCKET_URL_SETTING = "--bitbucket-url/BITBUCKET_URL"
_GITLAB_URL_SETTING = "--gitlab-url/GITLAB_URL"
_GITHUB_URL_SETTING = "--github-api-url/GITHUB_API_URL"
GITHUB_API_URL = "https://api.github.com"
GITHUB_WEB_URL = "https://github.com"
GITLAB_URL = "https://gitlab.com"
_AUTHOR = re.compile(r"^[^<>\n]+ <[^<>@\s]+@[^<>\s]+>$")


class RetrySettings(NamedTuple):
    max_attempts: int = 5
    max_wait: float = 300.0


class PortSettings(NamedTuple):
    base_url: str
    client_id: Optional[str]
    client_secret: Optional[str]
    url_setting: str = "--port-url/PORT_BASE_URL"  # where base_url came from, for connection failures

    @property
    def has_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)


class BitbucketSettings(NamedTuple):
    kind: str  # "cloud" | "datacenter" (the Bitbucket flavour; `scm` is its --scm name)
    api_url: str
    web_url: str
    owner: str  # Cloud workspace or DC project key
    allowed_owners: Tuple[str, ...]
    username: Optional[str]
    token: Optional[str]
    access_token: Optional[str]

    # Properties, not class attributes: a NamedTuple's body holds fields and methods only.
    @property
    def url_setting(self) -> str:  # names api_url in the message of a connection failure
        return _BITBUCKET_URL_SETTING

    @property
    def scm(self) -> str:
        return _BITBUCKET_KINDS[self.kind]

    @property
    def owner_setting(self) -> str:  # names `owner` in messages
        return "--workspace/BITBUCKET_WORKSPACE" if self.kind == "cloud" else "--project/BITBUCKET_PROJECT"


class GitHubSettings(NamedTuple):
    api_url: str  # https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server
    web_url: str
    owner: str  # user or organisation
    allowed_owners: Tuple[str, ...]
    token: Optional[str]
    app_id: Optional[str]
    app_private_key: Optional[str]  # PEM text

    @property
    def scm(self) -> str:
        return "github"

    @property
    def url_setting(self) -> str:
        return _GITHUB_URL_SETTING

    @property
    def owner_setting(self) -> str:
        return "--owner/GITHUB_OWNER"


def scm_kind(args: argparse.Namespace) -> str:
    """The flavour from --scm/PORT_GITOPS_SCM, else from the wave-1 alias --bitbucket-kind/BITBUCKET_KIND."""
    scm = (getattr(args, "scm", None) or "").strip().lower()
    kind = (getattr(args, "bitbucket_kind", None) or "").strip().lower()
    if kind and kind not in _BITBUCKET_KINDS:
        raise UsageError(
            f"--bitbucket-kind/BITBUCKET_KIND: {kind!r} is not valid; expected cloud or datacenter"
        )
    if not scm:
        return _BITBUCKET_KINDS.get(kind, "bitbucket-cloud")
    if scm not in SCM_KINDS:
        raise UsageError(
            f"--scm/PORT_GITOPS_SCM: {scm!r} is not valid; expected one of {', '.join(SCM_KINDS)}"
        )
    if kind and scm.startswith("bitbucket") and _BITBUCKET_KINDS[kind] != scm:
        raise UsageError(
            f"--scm/PORT_GITOPS_SCM says {scm} but --bitbucket-kind/BITBUCKET_KIND says {kind}; "
            "set only one of them"
        )
    return scm


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{name}: {value!r} is not an http(s) URL")
    return value.rstrip("/")


def _env(environ: Mapping[str, str], name: str) -> Optional[str]:
    value = environ.get(name, "").strip()
    return value or None


def credential(environ: Mapping[str, str], name: str, *, username: bool = False) -> Optional[str]:
    """A credential from the environment, refused (exit 2, naming the variable, never the value) when it
    holds what no HTTP header can carry: a newline, a control or a non-ASCII character. Checked with the
    settings, before any request, so it never surfaces as a crash in the middle of a run."""
    value = _env(environ, name)
    if value is not None and not (_USERNAME_CHARS if username else _TOKEN_CHARS).fullmatch(value):
        what = (
            "a control or non-Latin-1 character"
            if username
            else "whitespace, a control or a non-ASCII character"
        )
        raise UsageError(
            f"{name} holds {what}, which cannot be sent in an HTTP header; "
            "set it to the value exactly as issued"
        )
    return value


def retry_settings(args: argparse.Namespace) -> RetrySettings:
    try:
        attempts = int(args.max_attempts)
        wait = float(args.max_wait)
    except (TypeError, ValueError):
        raise UsageError(
            "--max-attempts/--max-wait (PORT_GITOPS_MAX_ATTEMPTS/PORT_GITOPS_MAX_WAIT): expected numbers"
        ) from None
    if attempts < 1 or wait <= 0:
        raise UsageError("--max-attempts must be >= 1 and --max-wait > 0 seconds")
    return RetrySettings(max_attempts=attempts, max_wait=wait)


def port_settings(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> PortSettings:
    client_id, secret = credential(environ, "PORT_CLIENT_ID"), credential(environ, "PORT_CLIENT_SECRET")
    if bool(client_id) != bool(secret):
        missing = "PORT_CLIENT_SECRET" if client_id else "PORT_CLIENT_ID"
        raise UsageError(
            f"{missing} is not set; Port credentials need both PORT_CLIENT_ID and PORT_CLIENT_SECRET"
        )
    register_secrets([secret])
    return PortSettings(
        base_url=port_base_url(args),
        client_id=client_id,
        client_secret=secret,
        url_setting=port_url_setting(args),
    )


def port_base_url(args: argparse.Namespace) -> str:
    """--port-url/PORT_BASE_URL when given (it wins), else the host of --port-region/PORT_REGION (eu)."""
    region = (getattr(args, "port_region", None) or "eu").strip().lower()
    if region not in PORT_REGIONS:
        raise UsageError(
            f"--port-region/PORT_REGION: {region!r} is not valid; expected one of {', '.join(PORT_REGIONS)}"
        )
    url = getattr(args, "port_url", None)
    return _url(url, _PORT_URL) if url else PORT_REGIONS[region]


def port_url_setting(args: argparse.Namespace) -> str:
    """Which setting chose Port's host (for the message when it cannot be reached)."""
    if getattr(args, "port_url", None):
        return _PORT_URL
    region = "--port-region/PORT_REGION"
    return region if getattr(args, "port_region", None) else f"the default of {region}"


def bitbucket_settings(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> BitbucketSettings:
    if _env(environ, "BITBUCKET_APP_PASSWORD"):
        raise UsageError(
            "BITBUCKET_APP_PASSWORD is set, but Bitbucket Cloud removed app passwords on 2026-07-28: set "
            "BITBUCKET_USERNAME (your Atlassian account e-mail) + BITBUCKET_TOKEN (a scoped API token), or "
            "BITBUCKET_ACCESS_TOKEN (a repository, project or workspace access token), and unset "
            "BITBUCKET_APP_PASSWORD"
        )
    scm = scm_kind(args)
    if not scm.startswith("bitbucket-"):
        raise ValueError(f"bitbucket_settings called for --scm {scm}")
    kind = scm[len("bitbucket-") :]
    username = credential(environ, "BITBUCKET_USERNAME", username=True)
    token = credential(environ, "BITBUCKET_TOKEN")
    access_token = credential(environ, "BITBUCKET_ACCESS_TOKEN")
    register_secrets([token, access_token])
    if access_token and (username or token):
        raise UsageError(
            "set either BITBUCKET_ACCESS_TOKEN or BITBUCKET_USERNAME + BITBUCKET_TOKEN, not both"
        )
    if not access_token and not (username and token):
        missing = (
            "BITBUCKET_TOKEN" if username else "BITBUCKET_USERNAME" if token else "Bitbucket credentials"
        )
        raise UsageError(
            f"{missing} missing: set BITBUCKET_USERNAME + BITBUCKET_TOKEN (HTTP Basic) or "
            "BITBUCKET_ACCESS_TOKEN (Bearer)"
        )
    if kind == "cloud":
        api_url = _url(args.bitbucket_url or CLOUD_API_URL, _BITBUCKET_URL_SETTING)
        web_url = _url(args.bitbucket_web_url or CLOUD_WEB_URL, "--bitbucket-web-url/BITBUCKET_WEB_URL")
        owner, allowed_env, owner_flag = (
            args.workspace,
            "PORT_GITOPS_ALLOWED_WORKSPACES",
            "--workspace/BITBUCKET_WORKSPACE",
        )
    else:
        if not args.bitbucket_url:
            raise UsageError(
                "--bitbucket-url/BITBUCKET_URL is required for Bitbucket Data Center (the server's base URL)"
            )
        api_url = _url(args.bitbucket_url, _BITBUCKET_URL_SETTING)
        web_url = _url(args.bitbucket_web_url or api_url, "--bitbucket-web-url/BITBUCKET_WEB_URL")
        owner, allowed_env, owner_flag = (
            args.project,
            "PORT_GITOPS_ALLOWED_PROJECTS",
            "--project/BITBUCKET_PROJECT",
        )
    if not owner:
        raise UsageError(
            f"{owner_flag} is required: it names where repositories live and which ones payloads may name"
        )
    extra = [v.strip() for v in environ.get(allowed_env, "").split(",") if v.strip()]
    return BitbucketSettings(
        kind=kind,
        api_url=api_url,
        web_url=web_url,
        owner=owner,
        allowed_owners=(owner, *extra),
        username=username,
        token=token,
        access_token=access_token,
    )


# -- GitLab -----------------------------------------------------------------------------------------
class GitLabSettings(NamedTuple):
    """gitlab.com or a self-managed instance, possibly under a relative URL root (`https://host/gitlab`):
    the API is `{api_url}/api/v4`, repository pages are under `web_url` (the same URL)."""

    api_url: str
    web_url: str
    owner: str  # the group (`group` or `group/sub`); payloads may name its projects and its subgroups'
    allowed_owners: Tuple[str, ...]
    token: Optional[str]  # GITLAB_TOKEN: a project, group or personal access token with `api` scope
    scm: str = "gitlab"

    @property
    def url_setting(self) -> str:
        return _GITLAB_URL_SETTING

    @property
    def owner_setting(self) -> str:
        return "--group/GITLAB_GROUP"


def gitlab_settings(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> GitLabSettings:
    token = credential(environ, "GITLAB_TOKEN")
    register_secrets([token])
    if not token:
        raise UsageError(
            "GITLAB_TOKEN missing: set a project, group or personal access token with the api scope "
            "(environment only; it is sent as PRIVATE-TOKEN)"
        )
    url = _url(getattr(args, "gitlab_url", None) or GITLAB_URL, _GITLAB_URL_SETTING)
    group = (getattr(args, "group", None) or "").strip().strip("/")
    if not group:
        raise UsageError(
            "--group/GITLAB_GROUP is required: it names where projects live and which ones payloads may name"
        )
    extra = [v.strip().strip("/") for v in environ.get("PORT_GITOPS_ALLOWED_GROUPS", "").split(",")]
    return GitLabSettings(
        api_url=url,
        web_url=url,
        owner=group,
        allowed_owners=(group, *(v for v in extra if v)),
        token=token,
    )


def github_settings(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> GitHubSettings:
    token = _env(environ, "GITHUB_TOKEN")
    app_id, key = _env(environ, "GITHUB_APP_ID"), _env(environ, "GITHUB_APP_PRIVATE_KEY")
    register_secrets([token, key])
    if key and "\n" not in key and "\\n" in key:
        key = key.replace("\\n", "\n")  # a PEM stored on one line with `\n` escapes (CI variables)
        register_secrets(line for line in key.splitlines() if "-----" not in line)
    if token and (app_id or key):
        raise UsageError("set either GITHUB_TOKEN or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY, not both")
    if not token and not (app_id and key):
        missing = "GITHUB_APP_PRIVATE_KEY" if app_id else "GITHUB_APP_ID" if key else "GitHub credentials"
        raise UsageError(
            f"{missing} missing: set GITHUB_TOKEN (a personal access token or an installation token), or "
            "GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY (the App's PEM key; the tool mints the installation "
            "token)"
        )
    if app_id and not app_id.isdigit():
        raise UsageError(f"GITHUB_APP_ID: {app_id!r} is not valid; expected the App's numeric id")
    if key and "-----BEGIN" not in key:
        raise UsageError(
            "GITHUB_APP_PRIVATE_KEY: expected the App's private key in PEM form (-----BEGIN ...)"
        )
    owner = getattr(args, "owner", None)
    if not owner:
        raise UsageError(
            "--owner/GITHUB_OWNER is required: it names where repositories live and which ones payloads "
            "may name"
        )
    extra = [v.strip() for v in environ.get("PORT_GITOPS_ALLOWED_OWNERS", "").split(",") if v.strip()]
    return GitHubSettings(
        api_url=_url(getattr(args, "github_api_url", None) or GITHUB_API_URL, _GITHUB_URL_SETTING),
        # GitHub Actions names its own host in GITHUB_SERVER_URL (github.com or the Enterprise Server).
        web_url=_url(
            getattr(args, "github_web_url", None) or _env(environ, "GITHUB_SERVER_URL") or GITHUB_WEB_URL,
            "--github-web-url/GITHUB_WEB_URL",
        ),
        owner=owner,
        allowed_owners=(owner, *extra),
        token=token,
        app_id=app_id,
        app_private_key=key,
    )


# The settings of whichever flavour --scm names; each has `scm`, `api_url`, `web_url`, `owner` and
# `allowed_owners`.
ScmSettings = Union[BitbucketSettings, GitHubSettings, GitLabSettings]


def scm_settings(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> ScmSettings:
    scm = scm_kind(args)
    if scm.startswith("bitbucket-"):
        return bitbucket_settings(args, environ)
    if scm == "gitlab":
        return gitlab_settings(args, environ)
    if scm == "github":
        return github_settings(args, environ)
    raise UsageError(f"--scm/PORT_GITOPS_SCM: {scm} is not available in this version")


def author(value: Optional[str]) -> Optional[str]:
    if value and not _AUTHOR.match(value):
        raise UsageError(f"--author/PORT_GITOPS_AUTHOR: {value!r} is not valid; expected 'Name <email>'")
    return value or None
