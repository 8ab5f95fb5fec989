"""Where the action sends its webhook: Jenkins' Generic Webhook Trigger, with the job's token.

GWT takes the token as `?token=`, a `token` header or `Authorization: Bearer`. A header keeps it out
of URLs, which end up in proxy and access logs; `--token-in-url` is for setups that drop custom
headers. The token is a secret: every line this tool prints has it masked.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

from port_gitops.errors import UsageError
from port_gitops.logsetup import register_secret

GWT_PATH = "/generic-webhook-trigger/invoke"
URL_PLACEHOLDER = "{{JENKINS_WEBHOOK_URL}}"
TOKEN_ENV = "PORT_GITOPS_WEBHOOK_TOKEN"  # noqa: S105 - the variable's name, not a value
# Path segments of Jenkins' own pages (jobs, views, agents, settings): never part of its root URL.
_PAGES = frozenset({"job", "view", "computer", "manage", "me", "user", "blue", "configure", "credentials"})


def webhook_url(jenkins_url: str) -> str:
    """Jenkins' root URL + GWT's path; anything that is not a plain root URL is a usage error."""
    parts = urlsplit(jenkins_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--jenkins-url: {jenkins_url!r} is not an http(s) URL; expected Jenkins' root URL")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"--jenkins-url: must not carry credentials; the job token comes from {TOKEN_ENV}")
    if parts.query or parts.fragment:
        raise UsageError(
            "--jenkins-url: expected Jenkins' root URL without a query or fragment; "
            f"the job token comes from {TOKEN_ENV}"
        )
    path = parts.path.rstrip("/")
    if path.endswith(GWT_PATH):
        raise UsageError(f"--jenkins-url: expected Jenkins' root URL; setup appends {GWT_PATH} itself")
    inside = next((segment for segment in path.split("/") if segment in _PAGES), None)
    if inside is not None:
        raise UsageError(
            f"--jenkins-url: {jenkins_url!r} is a page inside Jenkins (/{inside}/...); expected Jenkins' "
            "root URL, e.g. https://jenkins.example.com or https://ci.example.com/jenkins"
        )
    return urlunsplit((parts.scheme, parts.netloc, path + GWT_PATH, "", ""))


def action_definition(
    template: Mapping[str, Any], url: str, token: Optional[str], *, token_in_url: bool
) -> dict[str, Any]:
    """The bundled action with its webhook URL filled in and the token placed."""
    action = copy.deepcopy(dict(template))
    invocation = action.get("invocationMethod")
    if not isinstance(invocation, dict) or invocation.get("url") != URL_PLACEHOLDER:
        raise UsageError(f"the bundled action definition must have invocationMethod.url {URL_PLACEHOLDER}")
    if token and token_in_url:
        query = urlencode({"token": token})
        register_secret(query.partition("=")[2])  # the encoded form must be masked as well
        url = f"{url}?{query}"
    elif token:
        invocation["headers"] = {**invocation.get("headers", {}), "token": token}
    invocation["url"] = url
    return action
