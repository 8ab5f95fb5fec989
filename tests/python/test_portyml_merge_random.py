"""Merging into many generated port.yml layouts (seeded): each result is exactly the intended content,
keeps the untouched lines, and a second merge changes nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from port_gitops.errors import InvalidInputError, JobFailedError
from port_gitops.portyml import document, merge

WORDS = [
    "payments",
    "web",
    "x y",
    "1",
    "true",
    "null",
    "Production",
    "#c",
    "a: b",
    "-x",
    "",
    "é",
    "*a",
]
KEYS = ["type", "lifecycle", "domain", "url", "k"]


class _Styles(yaml.SafeDumper):
    """Strings in every scalar style PyYAML writes, block scalars included."""


def _layout(rnd: random.Random) -> str:
    def represent(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        styles = ["|", ">", None, "'", '"'] if "\n" in data else [None, None, "'", '"']
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=rnd.choice(styles))

    _Styles.add_representer(str, represent)

    def scalar() -> Any:
        return rnd.choice(
            [
                rnd.choice(WORDS),
                rnd.randint(0, 3),
                None,
                True,
                1.5,
                "multi\nline",
                "keep\n\n",
            ]
        )

    def value(depth: int) -> Any:
        roll = rnd.random()
        if depth < 2 and roll < 0.25:
            return {rnd.choice(KEYS): value(depth + 1) for _ in range(rnd.randint(0, 3))}
        if depth < 2 and roll < 0.35:
            return [value(depth + 1) for _ in range(rnd.randint(0, 2))]
        return scalar()

    def entity() -> dict[str, Any]:
        found = {
            "identifier": rnd.choice(["payments", "web"]),
            "blueprint": rnd.choice(["service", "domain"]),
        }
        for key in rnd.sample(["title", "properties", "relations", "team"], rnd.randint(0, 4)):
            found[key] = value(1) if key in ("properties", "relations") else scalar()
        return found

    document: Any = [entity() for _ in range(rnd.randint(1, 3))] if rnd.random() < 0.7 else entity()
    text = yaml.dump(
        document,
        Dumper=_Styles,
        default_flow_style=rnd.choice([False, None, True]),
        sort_keys=False,
        indent=rnd.choice([2, 3, 4]),
        allow_unicode=True,
        width=rnd.choice([20, 80, 1000]),
    )
    lines = []
    for line in text.split("\n"):
        if rnd.random() < 0.1:
            lines.append("# comment")
        if rnd.random() < 0.05:
            lines.append("")
        trailing = line and rnd.random() < 0.1 and not line.rstrip().endswith(("|", ">", "|-", ">-"))
        lines.append(line + "  # trailing" if trailing else line)
    text = "\n".join(lines)
    if rnd.random() < 0.2:
        text = text.replace("\n", "\r\n")
    return "---\n" + text if rnd.random() < 0.1 else text


@pytest.mark.parametrize("seed", range(4))
def test_random_layouts(seed: int) -> None:
    rnd = random.Random(seed)
    merged = 0
    for _ in range(40):
        existing = _layout(rnd)
        try:
            before = document.parse(existing, "port.yml")
        except InvalidInputError:
            continue  # a comment landed inside a quoted scalar's line folding: not a file anyone has
        wanted = {
            "identifier": "payments",
            "blueprint": "service",
            "properties": {"type": "backend", rnd.choice(KEYS): rnd.choice(WORDS)},
            "relations": rnd.choice([{"domain": "billing"}, "billing", ["a", "b"], {}]),
            rnd.choice(["title", "team"]): rnd.choice([*WORDS, "multi\nline"]),
        }
        result = merge(existing, [wanted])  # proves its own result, or raises JobFailedError
        merged += 1
        again = merge(result.text, [wanted])
        assert (again.changed, again.text) == (False, result.text)
        if isinstance(before.root, yaml.SequenceNode):  # (an object-form file may become a list)
            for item in before.items:
                if not (_field(item, "identifier") == "payments" and _field(item, "blueprint") == "service"):
                    assert existing[item.start_mark.index : document.last_end(item)] in result.text
    assert merged >= 30


def _field(node: yaml.Node, key: str) -> object:
    return next((v.value for k, v in node.value if k.value == key), None)


def test_a_block_scalar_without_a_final_newline_cannot_get_lines_after_it() -> None:
    # Adding a line break would turn "keep" into "keep\n": the merge refuses rather than change it.
    with pytest.raises(JobFailedError, match="nothing was written"):
        merge(
            "identifier: web\nblueprint: service\ntitle: >\n  keep",
            [{"identifier": "p", "blueprint": "s"}],
        )
