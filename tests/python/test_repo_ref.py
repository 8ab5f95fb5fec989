"""Which repository a payload may name: host, workspace/project allow-list, slug rules."""

from __future__ import annotations

import pytest

from port_gitops.errors import InvalidInputError
from port_gitops.repo_ref import (
    RepoRef,
    cloud_repository,
    datacenter_repository,
    github_repository,
    gitlab_repository,
)

WEB = "https://bitbucket.org"


def cloud(url: str | None, entity: str = "payments", allowed: tuple[str, ...] = ("acme",)) -> RepoRef:
    return cloud_repository(
        repo_url=url, entity=entity, web_url=WEB, workspace="acme", allowed_workspaces=allowed
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://bitbucket.org/acme/payments",
        "https://bitbucket.org/acme/payments/",
        "https://bitbucket.org/acme/payments.git",
        "https://bitbucket.org/acme/payments/src/main/README.md",
        "https://BITBUCKET.org/acme/payments",
        "https://bitbucket.org/ACME/payments",
    ],
)
def test_cloud_url_forms(url: str) -> None:
    ref = cloud(url)
    assert ref.slug == "payments"
    assert ref.owner.lower() == "acme"


@pytest.mark.parametrize("absent", [None, "", "null", "  "])
def test_cloud_without_url_uses_workspace_and_entity(absent: str | None) -> None:
    assert cloud(absent) == RepoRef("acme", "payments")


def test_cloud_entity_with_workspace_prefix_is_split() -> None:
    assert cloud(None, entity="acme/orders") == RepoRef("acme", "orders")


@pytest.mark.parametrize(
    ("url", "entity", "needle"),
    [
        ("https://evil.example/acme/payments", "x", "not the configured Bitbucket web host"),
        ("https://bitbucket.org:8443/acme/payments", "x", "not the configured Bitbucket web host"),
        ("https://bitbucket.org/other/payments", "x", "workspace 'other' is not allowed"),
        ("https://bitbucket.org/acme", "x", "does not name a repository"),
        ("ftp://bitbucket.org/acme/payments", "x", "not an http(s) URL"),
        ("https://bitbucket.org/acme/..", "x", "is not valid"),
        (None, "../x", "is not valid"),
        (None, "a/b/c", "expected SLUG or OWNER/SLUG"),
        (None, "other/payments", "workspace 'other' is not allowed"),
        (None, "x" * 63, "at most 62"),
        (None, "bad slug", "is not valid"),
    ],
)
def test_cloud_rejections_name_the_field(url: str | None, entity: str, needle: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        cloud(url, entity=entity)
    assert needle in info.value.message
    assert info.value.field in ("port_context.repo_url", "port_context.entity")
    assert info.value.exit_code == 3


def test_cloud_allow_list_admits_more_workspaces() -> None:
    ref = cloud("https://bitbucket.org/other/payments", allowed=("acme", "other"))
    assert ref == RepoRef("other", "payments")


DC_WEB = "https://git.example.com/bitbucket"


def dc(url: str | None, entity: str = "payments") -> RepoRef:
    return datacenter_repository(
        repo_url=url, entity=entity, web_url=DC_WEB, project="PAY", allowed_projects=("PAY",)
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/bitbucket/projects/PAY/repos/payments/browse",
        "https://git.example.com/bitbucket/projects/PAY/repos/payments",
        "https://git.example.com/bitbucket/scm/pay/payments.git",
        "https://git.example.com/bitbucket/scm/pay/payments",
    ],
)
def test_datacenter_url_forms(url: str) -> None:
    assert dc(url) == RepoRef("PAY", "payments")


def test_datacenter_rejects_outside_context_path_and_other_projects() -> None:
    with pytest.raises(InvalidInputError, match="is not under"):
        dc("https://git.example.com/projects/PAY/repos/payments")
    with pytest.raises(InvalidInputError, match="project 'OTHER' is not allowed"):
        dc("https://git.example.com/bitbucket/projects/OTHER/repos/payments")
    with pytest.raises(InvalidInputError, match="not a Bitbucket Data Center repository URL"):
        dc("https://git.example.com/bitbucket/users/x")


# -- GitLab --------------------------------------------------------------------------------------------
GITLAB = "https://git.example.com/gitlab"  # self-managed under a relative URL root


def gitlab(url: str | None, entity: str = "payments", allowed: tuple[str, ...] = ("acme",)) -> RepoRef:
    return gitlab_repository(
        repo_url=url, entity=entity, web_url=GITLAB, group="acme", allowed_groups=allowed
    )


@pytest.mark.parametrize(
    ("url", "owner"),
    [
        (f"{GITLAB}/acme/payments", "acme"),
        (f"{GITLAB}/acme/payments/", "acme"),
        (f"{GITLAB}/acme/payments.git", "acme"),
        (f"{GITLAB}/acme/payments/-/tree/main", "acme"),
        (f"{GITLAB}/acme/platform/team/payments/-/blob/main/port.yml", "acme/platform/team"),
        ("https://GIT.example.com/gitlab/acme/sub/payments", "acme/sub"),
    ],
)
def test_gitlab_url_forms_with_subgroups_of_any_depth(url: str, owner: str) -> None:
    assert gitlab(url) == RepoRef(owner, "payments")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("https://gitlab.com/acme/payments", "not the configured GitLab web host"),
        ("https://git.example.com/acme/payments", "is not under"),  # outside the relative root
        (f"{GITLAB}/other/payments", "group 'other' is not allowed"),
        (f"{GITLAB}/acmeish/payments", "group 'acmeish' is not allowed"),  # a prefix is not a parent
        (f"{GITLAB}/acme", "does not name a project"),
        (f"{GITLAB}/acme/..", "is not valid"),
        (f"{GITLAB}/acme/-payments", "is not valid"),
        (f"{GITLAB}/acme/x.atom", "not a valid GitLab path"),
    ],
)
def test_gitlab_refusals_name_the_field(url: str, needle: str) -> None:
    with pytest.raises(InvalidInputError, match=needle) as caught:
        gitlab(url)
    assert caught.value.field == "port_context.repo_url"


def test_gitlab_entity_forms() -> None:
    assert gitlab(None) == RepoRef("acme", "payments")
    assert gitlab(None, entity="acme/sub/payments") == RepoRef("acme/sub", "payments")
    assert gitlab(f"{GITLAB}/team/x", allowed=("acme", "team")) == RepoRef("team", "x")
    with pytest.raises(InvalidInputError, match="group 'evil' is not allowed") as caught:
        gitlab(None, entity="evil/payments")
    assert caught.value.field == "port_context.entity"


MALFORMED_URLS = [
    "https://{host}:99999/acme/payments",  # port out of range
    "https://{host}:abc/acme/payments",  # port not a number
    "https://{host}:-1/acme/payments",
    "http://[::1/acme/payments",  # unclosed IPv6 bracket
]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_malformed_url_is_invalid_input_naming_the_field(url: str) -> None:
    # issue 12 B4: was `unexpected ValueError` (exit 1) from urllib's port/IPv6 parsing.
    for parse, host in ((cloud, "bitbucket.org"), (dc, "git.example.com"), (gitlab, "git.example.com")):
        with pytest.raises(InvalidInputError) as info:
            parse(url.format(host=host))
        assert info.value.field == "port_context.repo_url"
        assert info.value.exit_code == 3
        assert "is not a valid URL" in info.value.message


def gh(url: str | None, entity: str = "payments", allowed: tuple[str, ...] = ("acme",)) -> RepoRef:
    return github_repository(
        repo_url=url, entity=entity, web_url="https://github.com", owner="acme", allowed_owners=allowed
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/payments",
        "https://github.com/acme/payments.git",
        "https://github.com/acme/payments/",
        "https://github.com/ACME/payments/tree/main/src",
        "https://GitHub.com/acme/payments/blob/main/port.yml",
    ],
)
def test_github_url_forms(url: str) -> None:
    assert gh(url).slug == "payments" and gh(url).owner.lower() == "acme"


@pytest.mark.parametrize(
    ("url", "entity", "needle"),
    [
        ("https://github.example/acme/payments", "x", "not the configured GitHub web host"),
        ("https://github.com/other/payments", "x", "owner 'other' is not allowed"),
        ("https://github.com/acme", "x", "does not name a repository"),
        ("https://github.com/-acme-/payments", "x", "GitHub user or organisation"),
        ("https://github.com/acme/..", "x", "repository name"),
        (None, "../payments", "GitHub user or organisation"),
        (None, "pay/..", "repository name"),
        (None, "other/payments", "port_context.entity: owner 'other' is not allowed"),
        (None, "a/b/c", "expected SLUG or OWNER/SLUG"),
    ],
)
def test_github_rejections_name_the_field(url: str | None, entity: str, needle: str) -> None:
    with pytest.raises(InvalidInputError, match="port_context") as exc:
        gh(url, entity)
    assert needle in str(exc.value)


def test_github_entity_and_allow_list() -> None:
    assert gh(None) == RepoRef("acme", "payments")
    assert gh(None, "platform/payments", ("acme", "platform")) == RepoRef("platform", "payments")
