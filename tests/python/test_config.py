"""Settings from flags and environment: precedence, secrets from env only, clear configuration errors."""

from __future__ import annotations

import argparse

import pytest

from port_gitops import config
from port_gitops.commands import enrich_cmd
from port_gitops.errors import UsageError


def parse(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    for name in (
        "BITBUCKET_URL",
        "BITBUCKET_KIND",
        "BITBUCKET_WORKSPACE",
        "BITBUCKET_WEB_URL",
        "PORT_BASE_URL",
        "PORT_REGION",
        "PORT_GITOPS_MAX_ATTEMPTS",
        "BITBUCKET_PROJECT",
        "PORT_GITOPS_SCM",
        "GITHUB_OWNER",
        "GITHUB_API_URL",
        "GITHUB_WEB_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    enrich_cmd.register(parser)
    return parser.parse_args(argv)


CREDS = {"BITBUCKET_USERNAME": "bot@example.com", "BITBUCKET_TOKEN": "tok-1234"}


def test_flag_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--workspace", "flagws"], {"BITBUCKET_WORKSPACE": "envws"}, monkeypatch)
    assert config.bitbucket_settings(args, CREDS).owner == "flagws"
    args = parse([], {"BITBUCKET_WORKSPACE": "envws"}, monkeypatch)
    settings = config.bitbucket_settings(args, CREDS)
    assert settings.owner == "envws"
    assert settings.api_url == "https://api.bitbucket.org"
    assert settings.web_url == "https://bitbucket.org"


def test_app_password_is_refused_with_what_to_use_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--workspace", "w"], {}, monkeypatch)
    with pytest.raises(UsageError) as info:
        config.bitbucket_settings(args, {**CREDS, "BITBUCKET_APP_PASSWORD": "old"})
    assert "2026-07-28" in info.value.message
    assert "BITBUCKET_ACCESS_TOKEN" in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "Bitbucket credentials missing"),
        ({"BITBUCKET_USERNAME": "u"}, "BITBUCKET_TOKEN missing"),
        ({"BITBUCKET_TOKEN": "t"}, "BITBUCKET_USERNAME missing"),
        ({**CREDS, "BITBUCKET_ACCESS_TOKEN": "a"}, "not both"),
    ],
)
def test_credential_errors(env: dict[str, str], needle: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--workspace", "w"], {}, monkeypatch)
    with pytest.raises(UsageError, match=needle):
        config.bitbucket_settings(args, env)


def test_workspace_is_required_and_allow_list_extends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="--workspace/BITBUCKET_WORKSPACE is required"):
        config.bitbucket_settings(parse([], {}, monkeypatch), CREDS)
    args = parse(["--workspace", "acme"], {}, monkeypatch)
    settings = config.bitbucket_settings(args, {**CREDS, "PORT_GITOPS_ALLOWED_WORKSPACES": "x, y"})
    assert settings.allowed_owners == ("acme", "x", "y")


def test_datacenter_needs_url_and_project_and_defaults_web_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="--bitbucket-url/BITBUCKET_URL is required"):
        config.bitbucket_settings(
            parse(["--bitbucket-kind", "datacenter", "--project", "P"], {}, monkeypatch), CREDS
        )
    args = parse(
        ["--project", "PAY"],
        {"BITBUCKET_KIND": "datacenter", "BITBUCKET_URL": "https://git.example.com/bitbucket/"},
        monkeypatch,
    )
    settings = config.bitbucket_settings(args, CREDS)
    assert (settings.kind, settings.api_url, settings.web_url) == (
        "datacenter",
        "https://git.example.com/bitbucket",
        "https://git.example.com/bitbucket",
    )


def test_port_credentials_must_come_in_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse([], {}, monkeypatch)
    assert not config.port_settings(args, {}).has_credentials
    with pytest.raises(UsageError, match="PORT_CLIENT_SECRET is not set"):
        config.port_settings(args, {"PORT_CLIENT_ID": "id"})
    assert config.port_settings(args, {"PORT_CLIENT_ID": "i", "PORT_CLIENT_SECRET": "s"}).base_url == (
        "https://api.port.io"
    )


@pytest.mark.parametrize(
    ("argv", "env", "url"),
    [
        ([], {}, "https://api.port.io"),  # issue 12 D: Port's current EU host is the default
        (["--port-region", "us"], {}, "https://api.us.port.io"),
        ([], {"PORT_REGION": "US"}, "https://api.us.port.io"),
        ([], {"PORT_REGION": "eu"}, "https://api.port.io"),
        (["--port-region", "us"], {"PORT_BASE_URL": "https://api.getport.io"}, "https://api.getport.io"),
        (["--port-url", "https://api.us.getport.io/"], {"PORT_REGION": "eu"}, "https://api.us.getport.io"),
    ],
)
def test_port_region_and_url(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], url: str
) -> None:
    assert config.port_settings(parse(argv, env, monkeypatch), {}).base_url == url


def test_an_unknown_port_region_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        UsageError, match="--port-region/PORT_REGION: 'ap' is not valid; expected one of eu, us"
    ):
        config.port_settings(parse([], {"PORT_REGION": "ap"}, monkeypatch), {})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BITBUCKET_TOKEN", "tok\nen"),
        ("BITBUCKET_TOKEN", "tök€n"),
        ("BITBUCKET_TOKEN", "tok en"),
        ("BITBUCKET_ACCESS_TOKEN", "abc\r\nX-Evil: 1"),
        ("BITBUCKET_ACCESS_TOKEN", "токен"),
        ("BITBUCKET_USERNAME", "bot\n@example.com"),
        ("BITBUCKET_USERNAME", "bøt€@example.com"),
        ("PORT_CLIENT_SECRET", "s\x00ecret"),
    ],
)
def test_a_credential_no_header_can_carry_is_exit_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    # issue 12 D: was `unexpected UnicodeEncodeError` (exit 1) or requests' InvalidHeader mid-run.
    args = parse(["--workspace", "acme"], {}, monkeypatch)
    env = {"BITBUCKET_USERNAME": "bot@example.com", "BITBUCKET_TOKEN": "tok", "PORT_CLIENT_ID": "i",
           "PORT_CLIENT_SECRET": "s"}  # fmt: skip
    if name == "BITBUCKET_ACCESS_TOKEN":
        del env["BITBUCKET_USERNAME"], env["BITBUCKET_TOKEN"]
    env[name] = value
    with pytest.raises(UsageError) as info:
        config.bitbucket_settings(args, env) if name.startswith("BITBUCKET") else config.port_settings(
            args, env
        )
    assert info.value.message.startswith(f"{name} holds ") and info.value.exit_code == 2
    assert value.strip() not in info.value.message, "the value itself is never shown"


def test_a_latin1_user_name_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--workspace", "acme"], {}, monkeypatch)
    settings = config.bitbucket_settings(
        args, {"BITBUCKET_USERNAME": "rené@example.com", "BITBUCKET_TOKEN": "t"}
    )
    assert settings.username == "rené@example.com"


def test_retry_bounds_and_author_format(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--max-attempts", "0"], {}, monkeypatch)
    with pytest.raises(UsageError, match="--max-attempts must be >= 1"):
        config.retry_settings(args)
    assert config.retry_settings(parse([], {"PORT_GITOPS_MAX_ATTEMPTS": "7"}, monkeypatch)).max_attempts == 7
    assert config.author("Port Bot <bot@example.com>") == "Port Bot <bot@example.com>"
    with pytest.raises(UsageError, match="expected 'Name <email>'"):
        config.author("just-a-name")


@pytest.mark.parametrize(
    ("argv", "env", "scm"),
    [
        ([], {}, "bitbucket-cloud"),
        ([], {"BITBUCKET_KIND": "datacenter"}, "bitbucket-datacenter"),
        ([], {"PORT_GITOPS_SCM": "github"}, "github"),
        (["--scm", "gitlab"], {"PORT_GITOPS_SCM": "github"}, "gitlab"),
        (["--scm", "bitbucket-datacenter"], {"BITBUCKET_KIND": "datacenter"}, "bitbucket-datacenter"),
    ],
)
def test_scm_from_flag_env_or_the_bitbucket_kind_alias(
    argv: list[str], env: dict[str, str], scm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert config.scm_kind(parse(argv, env, monkeypatch)) == scm


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {"PORT_GITOPS_SCM": "svn"}, "--scm/PORT_GITOPS_SCM: 'svn' is not valid; expected one of"),
        ([], {"BITBUCKET_KIND": "server"}, "--bitbucket-kind/BITBUCKET_KIND: 'server' is not valid"),
        (["--scm", "bitbucket-cloud", "--bitbucket-kind", "datacenter"], {}, "set only one of them"),
    ],
)
def test_scm_conflicts_and_typos_are_usage_errors(
    argv: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.scm_kind(parse(argv, env, monkeypatch))


def test_gitlab_settings_default_url_relative_root_group_and_allow_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GITLAB_URL", "GITLAB_GROUP", "GITLAB_TOKEN", "PORT_GITOPS_ALLOWED_GROUPS"):
        monkeypatch.delenv(name, raising=False)
    env = {"GITLAB_TOKEN": "glpat-secret", "GITLAB_GROUP": "acme/platform/"}
    settings = config.scm_settings(parse(["--scm", "gitlab"], env, monkeypatch), env)
    assert isinstance(settings, config.GitLabSettings)
    assert (settings.scm, settings.api_url, settings.web_url) == (
        "gitlab",
        config.GITLAB_URL,
        config.GITLAB_URL,
    )
    assert settings.owner == "acme/platform" and settings.allowed_owners == ("acme/platform",)
    env = {"GITLAB_TOKEN": "glpat-secret", "PORT_GITOPS_ALLOWED_GROUPS": "other, third/sub"}
    args = parse(["--scm", "gitlab", "--gitlab-url", "https://git.example.com/gitlab/", "--group", "acme"], env,
                 monkeypatch)  # fmt: skip
    settings = config.scm_settings(args, env)
    assert settings.api_url == "https://git.example.com/gitlab"
    assert settings.allowed_owners == ("acme", "other", "third/sub")


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--group", "acme"], {}, "GITLAB_TOKEN missing"),
        ([], {"GITLAB_TOKEN": "t"}, "--group/GITLAB_GROUP is required"),
        (["--group", "acme", "--gitlab-url", "gitlab.com"], {"GITLAB_TOKEN": "t"}, "is not an http"),
    ],
)
def test_gitlab_configuration_errors(
    argv: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITLAB_URL", "GITLAB_GROUP", "GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UsageError, match=message):
        config.scm_settings(parse(["--scm", "gitlab", *argv], env, monkeypatch), env)


GH_TOKEN = {"GITHUB_TOKEN": "ghp_secret-token"}


def test_github_defaults_ghes_urls_and_the_owner_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--scm", "github", "--owner", "acme"], {}, monkeypatch)
    settings = config.scm_settings(args, {**GH_TOKEN, "PORT_GITOPS_ALLOWED_OWNERS": "platform, "})
    assert isinstance(settings, config.GitHubSettings)
    assert (settings.scm, settings.api_url, settings.web_url) == (
        "github",
        "https://api.github.com",
        "https://github.com",
    )
    assert settings.allowed_owners == ("acme", "platform") and settings.token == "ghp_secret-token"
    env = {
        "GITHUB_OWNER": "acme",
        "GITHUB_API_URL": "https://ghe.example/api/v3/",
    }
    server = {"GITHUB_SERVER_URL": "https://ghe.example"}  # what GitHub Actions sets
    settings = config.scm_settings(parse(["--scm", "github"], env, monkeypatch), {**GH_TOKEN, **server})
    assert (settings.api_url, settings.web_url, settings.owner) == (
        "https://ghe.example/api/v3",
        "https://ghe.example",
        "acme",
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "GitHub credentials missing: set GITHUB_TOKEN"),
        ({"GITHUB_APP_ID": "12"}, "GITHUB_APP_PRIVATE_KEY missing"),
        ({**GH_TOKEN, "GITHUB_APP_ID": "12"}, "not both"),
        ({"GITHUB_APP_ID": "my-app", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN x"}, "numeric id"),
        ({"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": "not a pem"}, "PEM form"),
    ],
)
def test_github_credential_errors(env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--scm", "github", "--owner", "acme"], {}, monkeypatch)
    with pytest.raises(UsageError, match=message):
        config.scm_settings(args, env)


def test_github_owner_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="--owner/GITHUB_OWNER is required"):
        config.scm_settings(parse(["--scm", "github"], {}, monkeypatch), GH_TOKEN)


def test_github_app_key_stored_on_one_line_with_escaped_newlines(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["--scm", "github", "--owner", "acme"], {}, monkeypatch)
    one_line = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEabc\\n-----END RSA PRIVATE KEY-----\\n"
    settings = config.scm_settings(args, {"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": one_line})
    assert isinstance(settings, config.GitHubSettings)
    assert settings.app_private_key == one_line.replace("\\n", "\n")
