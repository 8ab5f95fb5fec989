"""The bundled definitions (action folders, the seed template, blueprints), copied from `templates/`
and `resources/` by `make sync-data`. Read through importlib.resources so a zipapp works too."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from port_gitops import compat

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DEFAULT_ACTION: str = compat.ACTION  # what runs when neither --action nor the payload names one
TEMPLATE = "enrichService.yml"  # the seed template of Port's guide (its action folder holds a copy)
TRIGGER = f"actions/{DEFAULT_ACTION}/trigger.yml"
BLUEPRINTS = "blueprints.json"
ACTION = f"actions/{DEFAULT_ACTION}/action.json"
# The action's invocation when a GitHub workflow or a GitLab pipeline runs it (port_setup/invocation.py).
INVOCATIONS = {"github": "invocation.github.json", "gitlab": "invocation.gitlab.json"}


def data_path(name: str) -> Traversable:
    path = files("port_gitops") / "data"
    for part in name.split("/"):
        path = path / part
    return path


def read_text(name: str) -> str:
    return data_path(name).read_text(encoding="utf-8")
