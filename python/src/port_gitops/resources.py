"""The bundled definitions (template, GWT mapping, blueprints, action), copied from `templates/`
and `resources/` by `make sync-data`. Read through importlib.resources so a zipapp works too."""

from __future__ import annotations

from importlib.resources import files

TEMPLATE = "enrichService.yml"
TRIGGER = "trigger.yml"
BLUEPRINTS = "blueprints.json"
ACTION = "action.json"
# The action's invocation when a GitHub workflow or a GitLab pipeline runs it (port_setup/invocation.py).
INVOCATIONS = {"github": "invocation.github.json", "gitlab": "invocation.gitlab.json"}


def read_text(name: str) -> str:
    return (files("port_gitops") / "data" / name).read_text(encoding="utf-8")
