"""Which repository to write to: from the payload's repository URL or the entity identifier.

The payload comes from whoever may run the Port action, so it must not steer the bot's write access:
a URL must use the configured web host and name an allowed workspace (Cloud) or project (DC), and
every name is validated before any request is built from it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional, Sequence
from urllib.parse import SplitResult, urlsplit

from port_gitops.errors import InvalidInputError

# Cloud slugs: ASCII letters, digits, `_`, `-`, `.`, at most 62 (Atlassian "What is a repository slug?").
_CLOUD_SLUG = re.compile(r"^[A-Za-z0-9_.-]{1,62}$")
# DC slugs are looser (longer, must start alphanumeric); still no `/` and never `.`/`..`.
_DC_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_WORKSPACE = re.compile(r"^(?:[A-Za-z0-9_.-]{1,62}|\{[0-9a-fA-F-]{36}\})$")
_PROJECT_KEY = re.compile(r"^~?[A-Za-z0-9_.-]{1,128}$")
_ABSENT_URLS = {"", "null", "none", "<nil>"}
# GitHub logins: letters, digits and single inner hyphens, at most 39; repository names: at most 100 of
# letters, digits, `_`, `-`, `.` (never `.`/`..`, and `.git` is the clone suffix, not part of the name).
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class RepoRef:
    owner: str  # Cloud workspace or DC project key
    slug: str
    # True when no repository URL was given and the name was made from the owner setting and the entity
    # identifier: a 404 then most likely means the payload lacks the URL (enrich_command says so).
    fallback: bool = dataclasses.field(default=False, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.slug}"


def _check(value: str, pattern: re.Pattern[str], field: str, expected: str) -> str:
    if value in (".", "..") or not pattern.match(value):
        raise InvalidInputError(f"{value!r} is not valid; expected {expected}", field=field)
    return value


def _allowed(owner: str, allowed: Sequence[str], field: str, kind: str) -> None:
    # `allowed` is never empty: configuration requires the workspace/project (config.py).
    if owner.lower() not in {a.lower() for a in allowed}:
        raise InvalidInputError(
            f"{kind} {owner!r} is not allowed; expected one of: {', '.join(allowed)}", field=field
        )


def _parsed(url: str, field: str) -> tuple[SplitResult, Optional[int]]:
    """The URL and its port; urllib raises ValueError for a bad port (`:99999`, `:abc`) or an unclosed
    IPv6 bracket, which is the payload's fault: invalid input, never a crash."""
    try:
        parts = urlsplit(url)
        return parts, parts.port
    except ValueError as exc:
        raise InvalidInputError(f"{url!r} is not a valid URL ({exc})", field=field) from None


def _same_host(url: str, web_url: str, field: str, product: str = "Bitbucket") -> tuple[str, list[str]]:
    (got, got_port), want = _parsed(url, field), urlsplit(web_url)
    if got.scheme not in ("http", "https") or not got.hostname:
        raise InvalidInputError(f"{url!r} is not an http(s) URL", field=field)
    if (got.hostname or "").lower() != (want.hostname or "").lower() or got_port != want.port:
        raise InvalidInputError(
            f"host {got.netloc!r} is not the configured {product} web host {want.netloc!r}", field=field
        )
    parts = [p for p in got.path.split("/") if p]
    prefix = [p for p in want.path.split("/") if p]  # DC under a context path such as /bitbucket
    if parts[: len(prefix)] != prefix:
        raise InvalidInputError(f"{url!r} is not under {web_url!r}", field=field)
    return got.path, parts[len(prefix) :]


def cloud_repository(
    *,
    repo_url: Optional[str],
    entity: str,
    web_url: str,
    workspace: str,
    allowed_workspaces: Sequence[str],
) -> RepoRef:
    """`https://bitbucket.org/{ws}/{slug}[.git][/][/src/...]`, else `{workspace}/{entity}` (or a
    `ws/slug` entity identifier)."""
    field = "port_context.repo_url"
    if repo_url is not None and repo_url.strip().lower() not in _ABSENT_URLS:
        _, parts = _same_host(repo_url.strip(), web_url, field)
        if len(parts) < 2:
            raise InvalidInputError(
                f"{repo_url!r} does not name a repository; expected {web_url}/WORKSPACE/SLUG", field=field
            )
        owner, slug = parts[0], parts[1]
        slug = slug[:-4] if slug.endswith(".git") else slug
        _check(owner, _WORKSPACE, field, "a Bitbucket workspace slug")
        _check(slug, _CLOUD_SLUG, field, "a repository slug (letters, digits, _ - ., at most 62)")
        _allowed(owner, allowed_workspaces, field, "workspace")
        return RepoRef(owner, slug)
    field = "port_context.entity"
    owner, slug = _split_identifier(entity, workspace, field)
    _check(owner, _WORKSPACE, field, "a Bitbucket workspace slug")
    _check(slug, _CLOUD_SLUG, field, "a repository slug (letters, digits, _ - ., at most 62)")
    _allowed(owner, allowed_workspaces, field, "workspace")
    return RepoRef(owner, slug, fallback=True)


def datacenter_repository(
    *,
    repo_url: Optional[str],
    entity: str,
    web_url: str,
    project: str,
    allowed_projects: Sequence[str],
) -> RepoRef:
    """`{web}/projects/KEY/repos/slug[/browse...]` or `{web}/scm/key/slug.git`, else `{project}/{entity}`."""
    field = "port_context.repo_url"
    if repo_url is not None and repo_url.strip().lower() not in _ABSENT_URLS:
        _, parts = _same_host(repo_url.strip(), web_url, field)
        if len(parts) >= 4 and parts[0] == "projects" and parts[2] == "repos":
            owner, slug = parts[1], parts[3]
        elif len(parts) >= 3 and parts[0] == "scm":
            owner, slug = parts[1], parts[2][:-4] if parts[2].endswith(".git") else parts[2]
        else:
            raise InvalidInputError(
                f"{repo_url!r} is not a Bitbucket Data Center repository URL; expected "
                f"{web_url}/projects/KEY/repos/SLUG or {web_url}/scm/KEY/SLUG.git",
                field=field,
            )
        _check(owner, _PROJECT_KEY, field, "a project key")
        _check(slug, _DC_SLUG, field, "a repository slug")
        _allowed(owner, allowed_projects, field, "project")
        return RepoRef(owner.upper() if not owner.startswith("~") else owner, slug)
    field = "port_context.entity"
    owner, slug = _split_identifier(entity, project, field)
    _check(owner, _PROJECT_KEY, field, "a project key")
    _check(slug, _DC_SLUG, field, "a repository slug")
    _allowed(owner, allowed_projects, field, "project")
    return RepoRef(owner.upper() if not owner.startswith("~") else owner, slug, fallback=True)


# GitLab paths (a group, subgroup or project): letters, digits, `_`, `.`, `-`, not starting with `-`
# nor ending in `.git`/`.atom`; subgroups nest up to 20 levels.
_GITLAB_PATH = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$")
_GITLAB_DEPTH = 21


def _gitlab_path(parts: Sequence[str], field: str) -> list[str]:
    if not 2 <= len(parts) <= _GITLAB_DEPTH:
        raise InvalidInputError(
            f"{'/'.join(parts)!r} is not valid; expected GROUP[/SUBGROUP...]/PROJECT", field=field
        )
    for part in parts:
        _check(part, _GITLAB_PATH, field, "GitLab group and project paths (letters, digits, _ . -)")
        if part.lower().endswith((".git", ".atom")):
            raise InvalidInputError(f"{part!r} is not a valid GitLab path", field=field)
    return list(parts)


def _allowed_group(namespace: str, allowed: Sequence[str], field: str) -> None:
    """The project's namespace must be an allowed group or one of its subgroups (any depth)."""
    name = namespace.lower()
    if not any(name == a.lower() or name.startswith(a.lower() + "/") for a in allowed):
        raise InvalidInputError(
            f"group {namespace!r} is not allowed; expected one of: {', '.join(allowed)} (or a subgroup)",
            field=field,
        )


def gitlab_repository(
    *,
    repo_url: Optional[str],
    entity: str,
    web_url: str,
    group: str,
    allowed_groups: Sequence[str],
) -> RepoRef:
    """`{GITLAB_URL}/group[/sub...]/project[.git][/][/-/tree/...]` as Port's GitLab integration writes
    it, else `{group}/{entity}` (or an entity identifier that is a whole `group/.../project` path)."""
    field = "port_context.repo_url"
    if repo_url is not None and repo_url.strip().lower() not in _ABSENT_URLS:
        _, parts = _same_host(repo_url.strip(), web_url, field, "GitLab")
        if "-" in parts:  # `/-/tree/main`, `/-/blob/...`: GitLab's separator before a page of the project
            parts = parts[: parts.index("-")]
        if parts and parts[-1].endswith(".git"):
            parts[-1] = parts[-1][: -len(".git")]
        if len(parts) < 2:
            raise InvalidInputError(
                f"{repo_url!r} does not name a project; expected {web_url}/GROUP[/SUBGROUP...]/PROJECT",
                field=field,
            )
    else:
        field = "port_context.entity"
        parts = entity.split("/") if "/" in entity else [*group.split("/"), entity]
    *namespace, project = _gitlab_path(parts, field)
    _allowed_group("/".join(namespace), allowed_groups, field)
    return RepoRef("/".join(namespace), project, fallback=field == "port_context.entity")


def github_repository(
    *,
    repo_url: Optional[str],
    entity: str,
    web_url: str,
    owner: str,
    allowed_owners: Sequence[str],
) -> RepoRef:
    """`https://github.com/OWNER/REPO[.git][/][/tree/...]` (as Port's GitHub integration writes them),
    else `{owner}/{entity}` (or an `OWNER/REPO` entity identifier)."""
    field = "port_context.repo_url"
    if repo_url is not None and repo_url.strip().lower() not in _ABSENT_URLS:
        _, parts = _same_host(repo_url.strip(), web_url, field, "GitHub")
        if len(parts) < 2:
            raise InvalidInputError(
                f"{repo_url!r} does not name a repository; expected {web_url}/OWNER/REPO", field=field
            )
        name, slug = parts[0], parts[1]
        slug = slug[:-4] if slug.endswith(".git") else slug
    else:
        field = "port_context.entity"
        name, slug = _split_identifier(entity, owner, field)
    _check(name, _GITHUB_OWNER, field, "a GitHub user or organisation (letters, digits, inner -, at most 39)")
    _check(slug, _GITHUB_REPO, field, "a repository name (letters, digits, _ - ., at most 100)")
    if slug.lower().endswith(".git"):
        raise InvalidInputError(f"{slug!r} is not valid; expected a repository name", field=field)
    _allowed(name, allowed_owners, field, "owner")
    return RepoRef(name, slug, fallback=field == "port_context.entity")


def _split_identifier(entity: str, default_owner: str, field: str) -> tuple[str, str]:
    """Some Port integrations name repositories `workspace/slug`; a plain identifier is the slug."""
    if entity.count("/") == 1:
        owner, slug = entity.split("/")
        return owner, slug
    if "/" in entity:
        raise InvalidInputError(f"{entity!r} is not valid; expected SLUG or OWNER/SLUG", field=field)
    return default_owner, entity
