"""From flags and a payload to what one run writes: the action, its values, and the rendered entities.

Two steps, so a caller knows the Port run id (step one) before anything can be refused (step two):
`collect` picks the action and resolves the mapping variables; `prepare` checks them, loads the
template and blueprints, and renders typed, validated entities. Shared by `enrich` and `render`.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Mapping, NamedTuple, Optional, Tuple

from port_gitops import actions, resources
from port_gitops.actions import Action
from port_gitops.compat import DATA_FLAGS
from port_gitops.errors import InvalidInputError, UsageError
from port_gitops.model import ACTION, ENTITY, REPO_URL, RUN_ID, Blueprints, EnrichValues, field_names

# The structural data flags: (argparse dest, mapping variable).
STRUCTURAL_FLAGS = (("entity", ENTITY), ("run_id", RUN_ID), ("repo_url", REPO_URL))
# Where the bundled bodies name their action; a --trigger with an ACTION variable may say otherwise.
ACTION_PATH = "$.port_context.action"
RUN_ID_PATH = "$.port_context.runId"
MAX_SETS = 200


class Collected(NamedTuple):
    action: Action
    folder: Optional[str]  # the bundled action folder in use, if any
    variables: Mapping[str, str]
    fields: Mapping[str, str]
    nulls: Tuple[str, ...]
    from_payload: bool

    @property
    def run_id(self) -> Optional[str]:
        return self.variables.get(RUN_ID) or None


class Prepared(NamedTuple):
    action: Action
    values: EnrichValues
    entities: Tuple[dict[str, Any], ...]
    blueprints: Blueprints


def add_input_flags(group: argparse._ArgumentGroup, *, run_flags: bool) -> None:
    """The data flags (no environment twins): structural values, --set, and the old Enrich Service ones."""
    group.add_argument("--entity", help="the entity identifier (instead of --payload)")
    if run_flags:
        group.add_argument("--run-id", help="Port action run id (instead of --payload)")
        group.add_argument("--repo-url", help="repository web URL (instead of --payload)")
    group.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="a mapping variable, repeatable (instead of --payload), e.g. --set TIER=gold",
    )
    for flag, (_, what) in DATA_FLAGS.items():
        group.add_argument(f"--{flag}", help=f"{what}; the same as --set")


def data_flags_given(args: argparse.Namespace) -> list[str]:
    names = [dest for dest, _ in STRUCTURAL_FLAGS if getattr(args, dest, None) is not None]
    names += [flag for flag in DATA_FLAGS if getattr(args, flag, None) is not None]
    return [f"--{name.replace('_', '-')}" for name in names] + (["--set"] if args.set else [])


def collect(args: argparse.Namespace, body: Optional[bytes]) -> Collected:
    """The action and the mapping variables of this run (`body`: the raw payload, or None for flags)."""
    given = data_flags_given(args)
    if body is not None and given:
        raise UsageError(f"give either --payload or the data flags, not both ({', '.join(given)} given)")
    if body is None and not given:
        raise UsageError(
            "no input: give --payload FILE|-, or all of --entity and the action's variables "
            "(--set NAME=VALUE; for Enrich Service also " + ", ".join(f"--{f}" for f in DATA_FLAGS) + ")"
        )
    chosen = actions.check_identifier(args.action, "--action/PORT_GITOPS_ACTION") if args.action else None
    if body is None:
        folder = chosen or (resources.DEFAULT_ACTION if not args.template else None)
        variables, fields = _flag_variables(args)
        action = _action(folder)
        missing = [
            fields.get(name, f"--set {name}") for name in (ENTITY, *action.required) if name not in variables
        ]
        if missing:
            raise UsageError(f"missing {', '.join(missing)} (or give --payload FILE|- instead)")
        return Collected(action, folder, variables, fields, (), from_payload=False)
    from port_gitops.gwt import load_trigger, resolve

    trigger = load_trigger(args.trigger) if args.trigger else None
    named = _named_action(trigger, body)
    if named and chosen and named != chosen:
        raise ActionRefused(
            f"{named!r} is not the action this job runs ({chosen!r}, from --action/PORT_GITOPS_ACTION)",
            _probe(trigger, body, RUN_ID, RUN_ID_PATH),
        )
    folder = chosen or named
    if folder and not (args.trigger and args.template):
        if folder not in actions.bundled_identifiers():
            known = ", ".join(actions.bundled_identifiers())
            raise ActionRefused(
                f"{folder[:100]!r} is not a bundled action; expected one of {known}",
                _probe(trigger, body, RUN_ID, RUN_ID_PATH),
            )
    elif folder is None and not args.template:
        folder = resources.DEFAULT_ACTION
    if trigger is None:
        trigger = load_trigger(None) if folder is None else _bundled_trigger(folder)
    variables = dict(resolve(trigger, body).variables)
    expressions = {v.key: v.expression for v in trigger.generic_variables}
    nulls = _nulls(trigger, body, variables)
    action = _action(folder) if folder and actions.has_file(folder, "action.json") else _one_off(named)
    return Collected(action, folder, variables, field_names(expressions), nulls, from_payload=True)


def prepare(
    collected: Collected,
    args: argparse.Namespace,
    *,
    live_blueprints: Optional[Callable[[], Blueprints]] = None,
) -> Prepared:
    """Checked values and the rendered entities; InvalidInputError names the field of the first problem."""
    from port_gitops.model import load_blueprints
    from port_gitops.portyml import render_entities

    action = collected.action
    required = (
        action.required if (collected.folder and not args.trigger) or not collected.from_payload else {}
    )
    values = EnrichValues.from_variables(
        collected.variables,
        fields=collected.fields,
        required=required,
        nulls=collected.nulls,
        entity_kind=action.blueprint,
    )
    if live_blueprints is not None:
        blueprints, strict = live_blueprints(), True
    elif args.blueprints:
        blueprints, strict = load_blueprints(args.blueprints), True
    elif collected.folder and actions.has_file(collected.folder, "blueprints.json"):
        blueprints, strict = (
            load_blueprints(None, actions.file_name(collected.folder, "blueprints.json")),
            True,
        )
    else:
        blueprints, strict = load_blueprints(None), False
    template, source = _template(args.template, collected.folder)
    entities = render_entities(template, values, blueprints, source=source, strict=strict)
    return Prepared(action, values, tuple(entities), blueprints)


def _flag_variables(args: argparse.Namespace) -> Tuple[dict[str, str], dict[str, str]]:
    variables: dict[str, str] = {}
    fields: dict[str, str] = {ENTITY: "--entity"}
    fields.update({variable: f"--{flag}" for flag, (variable, _) in DATA_FLAGS.items()})
    for text in (args.set or [])[:MAX_SETS]:
        name, sep, value = text.partition("=")
        if not sep or not actions.variable_name_ok(name):
            raise UsageError(f"--set: {text[:80]!r} is not NAME=VALUE with NAME a mapping variable name")
        variables[name] = value
        fields.setdefault(name, f"--set {name}")
    if len(args.set or []) > MAX_SETS:
        raise UsageError(f"--set: at most {MAX_SETS} variables")
    for flag, (variable, _) in DATA_FLAGS.items():
        if getattr(args, flag, None) is not None:
            variables[variable], fields[variable] = getattr(args, flag), f"--{flag}"
    for dest, variable in STRUCTURAL_FLAGS:
        flag = f"--{dest.replace('_', '-')}"
        if getattr(args, dest, None) is not None:
            variables[variable], fields[variable] = getattr(args, dest), flag
        else:
            fields.setdefault(variable, flag)  # messages about it missing name the flag (or its --set)
    return variables, fields


class ActionRefused(InvalidInputError):
    """The payload names an action this job does not run; carries the run id, so Port can be told."""

    def __init__(self, message: str, run_id: Optional[str]) -> None:
        super().__init__(message, field="port_context.action")
        self.run_id = run_id


def _named_action(trigger: Any, body: bytes) -> Optional[str]:
    """The action the payload names: the mapping's ACTION variable, else port_context.action."""
    return _probe(trigger, body, ACTION, ACTION_PATH)


def _probe(trigger: Any, body: bytes, variable: str, path: str) -> Optional[str]:
    """One variable of the payload: from the mapping when it has it, else at the bundled bodies' path."""
    from port_gitops.gwt import resolve, trigger_from_dict

    if trigger is None or not any(v.key == variable for v in trigger.generic_variables):
        trigger = trigger_from_dict({"genericVariables": [{"key": variable, "value": path}]})
    return resolve(trigger, body).variables.get(variable) or None


def _nulls(trigger: Any, body: bytes, variables: Mapping[str, str]) -> Tuple[str, ...]:
    """The variables whose JSONPath reads a JSON null (GWT makes no variable of it: Port's "clear")."""
    from port_gitops.gwt.gson import GsonError
    from port_gitops.gwt.jayway import InvalidPath, PathNotFound
    from port_gitops.gwt.payload import read_payload

    payload = read_payload(body)
    if payload is None:
        return ()
    found = []
    for variable in trigger.generic_variables:
        if variable.key in variables or variable.path is None:
            continue
        try:
            value = variable.path.read(payload.document)
        except (PathNotFound, InvalidPath, GsonError):
            continue  # a path GWT cannot read is simply not a null
        if value is None or value == [None]:
            found.append(variable.key)
    return tuple(found)


def _bundled_trigger(folder: str) -> Any:
    from port_gitops.gwt import load_trigger

    return load_trigger(None, actions.file_name(folder, "trigger.yml"))


def _action(folder: Optional[str]) -> Action:
    return actions.load_action(folder) if folder else _one_off(None)


def _one_off(named: Optional[str]) -> Action:
    """An action without a folder: described by --trigger, --template and --blueprints alone."""
    return actions.action_from_definition({"identifier": named or "custom", "title": "Port action"})


def _template(path: Optional[str], folder: Optional[str]) -> Tuple[str, str]:
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), path
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--template/PORT_GITOPS_TEMPLATE: cannot read {path!r}: {exc}") from None
    name = actions.file_name(folder, "template.yml") if folder else resources.TEMPLATE
    return resources.read_text(name), f"bundled {name}"
