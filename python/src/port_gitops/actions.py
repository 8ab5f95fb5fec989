"""Actions as data: one folder per Port self-service action, and what the tool reads from it.

A bundled action lives in `resources/io/port/gitops/actions/<identifier>/` (the package's
`data/actions/<identifier>/`):
- `action.json`: Port's action definition, exactly what `setup --action <identifier>` sends;
- `template.yml`: the port.yml template;
- `trigger.yml`: the variable mapping, derived from the action's invocation body (`mapping_from_body`;
  a test keeps the two equal);
- `example.json`: the inputs part of a body Port sends (the rest is `port_context`), for `demo --action`;
- `blueprints.json` (optional): the blueprint definitions the action writes (default: the bundled ones);
- `texts.yml` (optional): the pull request `title` and `description`, the `commit` message, the
  `started` line of the run log and the `branch` prefix, with placeholders.

A one-off action needs no folder: `--trigger`, `--template` and `--blueprints` describe it.
"""

from __future__ import annotations

import json
import re
from types import MappingProxyType
from typing import Any, Iterator, Mapping, NamedTuple, Optional, Tuple

from port_gitops import resources
from port_gitops.errors import UsageError
from port_gitops.model import ACTION, ENTITY, RUN_ID

ACTIONS = "actions"
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,100}")
# Port's webhook body expressions that carry a structural value; any other leaf is named after its key.
_STRUCTURAL_EXPRESSIONS = {
    ".entity.identifier": ENTITY,
    ".run.id": RUN_ID,
    ".action.identifier": ACTION,
}
_EXPRESSION = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_INPUT = re.compile(r"\.inputs\.([A-Za-z0-9_]+)")
PAYLOAD_VARIABLE = "PORT_PAYLOAD"  # the whole body, for the Jenkins job


class Texts(NamedTuple):
    """The pull request's title and description and the commit message, with placeholders."""

    title: str = "{{ action.title }}: {{ entity }}"
    description: str = (
        "Requested through Port's **{{ action.title }}** action{{ run }}.\n\n"
        "Changes to `{{ path }}` (merged into the existing file; nothing else is touched):\n"
        "{{ changes }}\n{{ build }}\n"
        "This pull request is maintained by port-gitops: running the action again for this entity "
        "updates it.\n"
    )
    commit: str = "{{ action.title }}: {{ entity }} in {{ path }}\n\n{{ changes }}\n"
    branch: str = ""  # the pull request branch is <branch><entity>; default port/<action identifier>-
    started: str = "started: {{ action.title }} for {{ entity }}"  # the first line of the run log


_DEFAULT_TEXTS = Texts()


class Action(NamedTuple):
    identifier: str
    title: str
    blueprint: str  # the blueprint of the entity the action runs on ("entity" when not known)
    definition: Mapping[str, Any]
    required: Mapping[str, str] = MappingProxyType({})  # variable -> what it is, for messages
    texts: Texts = _DEFAULT_TEXTS

    @property
    def branch_prefix(self) -> str:
        return self.texts.branch or f"port/{self.identifier}-"


def bundled_identifiers() -> Tuple[str, ...]:
    folder = resources.data_path(ACTIONS)
    return tuple(sorted(entry.name for entry in folder.iterdir() if entry.is_dir()))


def check_identifier(identifier: str, flag: str) -> str:
    if not _IDENTIFIER.fullmatch(identifier) or identifier not in bundled_identifiers():
        known = ", ".join(bundled_identifiers())
        raise UsageError(f"{flag}: {identifier!r} is not a bundled action; expected one of {known}")
    return identifier


def file_name(identifier: str, name: str) -> str:
    """The resources name of one file of a bundled action folder."""
    return f"{ACTIONS}/{identifier}/{name}"


def has_file(identifier: str, name: str) -> bool:
    return resources.data_path(file_name(identifier, name)).is_file()


def load_action(identifier: str) -> Action:
    """A bundled action; its files are the project's own, so a broken one is a UsageError."""
    source = file_name(identifier, "action.json")
    try:
        definition = json.loads(resources.read_text(source))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: not valid JSON: {exc.msg}") from None
    texts = Texts()
    if has_file(identifier, "texts.yml"):
        texts = _texts(resources.read_text(file_name(identifier, "texts.yml")), identifier)
    return action_from_definition(definition, texts)


def action_from_definition(definition: Mapping[str, Any], texts: Texts = _DEFAULT_TEXTS) -> Action:
    trigger = definition.get("trigger") or {}
    inputs = trigger.get("userInputs") or {}
    properties = inputs.get("properties") or {}
    required: dict[str, str] = {}
    body = (definition.get("invocationMethod") or {}).get("body") or {}
    for variable, _, input_name in _leaves(body):
        if input_name and input_name in (inputs.get("required") or ()):
            title = (properties.get(input_name) or {}).get("title") or input_name
            required[variable] = f"{title} (a required input of {definition.get('title')})"
    return Action(
        identifier=str(definition.get("identifier")),
        title=str(definition.get("title") or definition.get("identifier")),
        blueprint=str(trigger.get("blueprintIdentifier") or "entity"),
        definition=definition,
        required=required,
        texts=texts,
    )


def mapping_from_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The GWT mapping of an invocation body: each leaf holding a Port expression is a variable."""
    variables = [{"key": variable, "value": path} for variable, path, _ in _leaves(body)]
    variables.append({"key": PAYLOAD_VARIABLE, "value": "$"})
    return {
        "genericVariables": variables,
        "genericHeaderVariables": [{"key": "x-port-signature"}, {"key": "x-port-timestamp"}],
        "shouldNotFlatten": True,
    }


def _leaves(body: Mapping[str, Any], path: str = "$") -> Iterator[Tuple[str, str, Optional[str]]]:
    """(variable, JSONPath, the input it reads or None) for every templated leaf, in body order."""
    for key, value in body.items():
        at = f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}['{key}']"
        if isinstance(value, Mapping):
            yield from _leaves(value, at)
        elif isinstance(value, str):
            match = _EXPRESSION.fullmatch(value.strip())
            if match is None:
                continue
            expression = match.group(1)
            variable = _STRUCTURAL_EXPRESSIONS.get(expression) or variable_name(key)
            read = _INPUT.match(expression)
            yield variable, at, read.group(1) if read else None


def variable_name_ok(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,99}", name) is not None


def variable_name(key: str) -> str:
    """`repo_url` -> REPO_URL, `onCall` -> ON_CALL, `sloTarget` -> SLO_TARGET."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).replace("-", "_").upper()


def _texts(text: str, identifier: str) -> Texts:
    from port_gitops import yamlload

    data = yamlload.safe_load(text) or {}
    known = {"title", "description", "commit", "branch", "started"}
    if not isinstance(data, dict) or set(data) - known or not all(isinstance(v, str) for v in data.values()):
        raise UsageError(
            f"{file_name(identifier, 'texts.yml')}: expected text under {', '.join(sorted(known))}"
        )
    return Texts(**data)
