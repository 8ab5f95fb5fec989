"""Where Port sends the action when no Jenkins runs it: a GitHub workflow, or a GitLab pipeline trigger.

Each is a small overlay over the bundled action (`invocation.github.json`, `invocation.gitlab.json`): it
replaces `invocationMethod`, and its `{{BODY}}` receives the action's own webhook body, so every action
sends the same payload whichever backend runs it. Port's GitHub backend turns that body into
`workflow_dispatch` inputs (objects such as `port_context` become JSON strings) and reports nothing
itself (`reportWorkflowStatus: false`: port-gitops reports). GitLab has no invocation type of its own
without Port's execution agent (`GITLAB` needs it), so a WEBHOOK to the project's pipeline trigger URL
runs the pipeline with the body as the file `$TRIGGER_PAYLOAD`.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping
from urllib.parse import quote, urlencode, urlsplit

from port_gitops.errors import UsageError
from port_gitops.logsetup import register_secret

BODY = "{{BODY}}"
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_WORKFLOW = re.compile(r"[A-Za-z0-9_.-]{1,200}\.ya?ml")
_GITLAB_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
_REF = re.compile(r"[^\s~^:?*\[\\]{1,255}")


def github_values(repo: str, workflow: str) -> dict[str, str]:
    """`--github-workflow-repo OWNER/REPO` and `--github-workflow FILE` as the overlay's values."""
    owner, _, name = repo.strip().partition("/")
    if not (_GITHUB_NAME.fullmatch(owner) and _GITHUB_NAME.fullmatch(name)):
        raise UsageError(
            f"--github-workflow-repo: {repo!r} is not OWNER/REPO (the repository of the workflow)"
        )
    if not _WORKFLOW.fullmatch(workflow):
        raise UsageError(
            f"--github-workflow: {workflow!r} is not a workflow file name in .github/workflows "
            "(e.g. port-enrich-service.yml)"
        )
    return {"GITHUB_ORG": owner, "GITHUB_REPO": name, "GITHUB_WORKFLOW": workflow}


def gitlab_values(gitlab_url: str, project: str, ref: str, token: str) -> dict[str, str]:
    """GitLab's pipeline trigger URL for PROJECT (id or full path) at REF, the trigger token in its query."""
    parts = urlsplit(gitlab_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise UsageError(f"--gitlab-url/GITLAB_URL: {gitlab_url!r} is not GitLab's http(s) root URL")
    project = project.strip().strip("/")
    if not (project.isdigit() or _GITLAB_PATH.fullmatch(project)):
        raise UsageError(f"--gitlab-trigger-project: {project!r} is not a project id or a group/project path")
    if not _REF.fullmatch(ref) or ".." in ref:
        raise UsageError(f"--gitlab-trigger-ref: {ref!r} is not a branch or tag name")
    query = urlencode({"token": token})
    register_secret(query.partition("=")[2])  # the URL carries the token: mask its encoded form too
    url = (
        f"{gitlab_url.strip().rstrip('/')}/api/v4/projects/{quote(project, safe='')}"
        f"/ref/{quote(ref, safe='')}/trigger/pipeline?{query}"
    )
    return {"GITLAB_TRIGGER_URL": url}


def with_invocation(
    template: Mapping[str, Any], overlay: Mapping[str, Any], values: Mapping[str, str]
) -> dict[str, Any]:
    """The bundled action with `overlay` as its invocationMethod: `{{BODY}}` is the action's webhook
    body, every other `{{NAME}}` one of `values`."""
    action = copy.deepcopy(dict(template))
    body = (action.get("invocationMethod") or {}).get("body")
    if not isinstance(body, (dict, list)):
        raise UsageError("the bundled action definition must have an invocationMethod.body")

    def fill(value: Any) -> Any:
        if value == BODY:
            return copy.deepcopy(body)
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda match: values[match.group(1)], value)
        return value

    try:
        action["invocationMethod"] = fill(overlay)
    except KeyError as exc:
        raise UsageError(
            f"the invocation overlay names {{{{{exc.args[0]}}}}}, which setup does not know"
        ) from None
    return action
