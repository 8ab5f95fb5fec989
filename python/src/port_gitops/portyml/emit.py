"""YAML text for the values we write: one line each, quoted whenever a plain scalar would change meaning.

Every value goes through PyYAML's emitter (never string formatting), so `null`, `123`, `*x`, `# c`,
`a: b` or `!!tag` come back from `yaml.safe_load` as the same strings; strings that a YAML 1.2 loader
would read as numbers, booleans or null (`1e3`, `0o17`, `+.5`, `.inf`) are quoted as well.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


class _OneLineDumper(yaml.SafeDumper):
    """PyYAML picks single quotes for multi-line strings and folds them over lines; we need one line."""


# What a YAML 1.2 core-schema loader (and YAML 1.1's `y`/`n` booleans, which PyYAML leaves out) reads as
# something other than a string; PyYAML quotes what *its* 1.1 resolver would read differently already.
_NOT_A_STRING_ELSEWHERE = re.compile(
    r"""null|Null|NULL|~|true|True|TRUE|false|False|FALSE|y|Y|n|N
    |[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+
    |[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN""",
    re.VERBOSE,
)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if any(ch in data for ch in _LINE_BREAKS):
        style: str | None = '"'
    elif _NOT_A_STRING_ELSEWHERE.fullmatch(data):
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_OneLineDumper.add_representer(str, _represent_str)


def inline(value: Any, *, flow: bool = True) -> str:
    """`value` as YAML on one line: valid in flow context, or (flow=False) as a block mapping's value,
    where fewer strings need quotes. Collections are always written in flow style."""
    if flow or isinstance(value, (list, dict)):
        # Inside a flow sequence PyYAML applies the stricter flow-context quoting rules.
        return _dump([value], flow=True)[1 : -len("]\n")]
    return _dump({"k": value}, flow=False)[len("k: ") : -len("\n")]


def _dump(data: Any, *, flow: bool) -> str:
    return yaml.dump(
        data, Dumper=_OneLineDumper, default_flow_style=flow, sort_keys=False, allow_unicode=True, width=2**30
    )


def block_lines(mapping: Mapping[str, Any], indent: int, step: int) -> list[str]:
    """Block lines of `mapping` at `indent` spaces; nested mappings go `step` deeper, the rest inline."""
    lines = []
    for key, value in mapping.items():
        head = " " * indent + inline(key) + ":"
        if isinstance(value, Mapping) and value:
            lines.append(head)
            lines.extend(block_lines(value, indent + step, step))
        else:
            lines.append(f"{head} {inline(value, flow=False)}")
    return lines


def list_item_lines(mapping: Mapping[str, Any], dash_column: int, offset: int, step: int) -> list[str]:
    """`mapping` as a block sequence item: `- ` at `dash_column`, its keys `offset` columns further."""
    lines = block_lines(mapping, dash_column + offset, step)
    lines[0] = " " * dash_column + "-" + lines[0][dash_column + 1 :]
    return lines
