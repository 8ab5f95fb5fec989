"""`yamlload.safe_load`: libyaml's speed, `yaml.safe_load`'s data and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from port_gitops import yamlload

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted(p for p in (REPO / "resources").rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
DOCUMENTS = [
    "a: 1\nb: [x, 'y', \"z\"]\nc: {d: null, e: ~, f: true, g: 1.5e3, h: 0o17, i: 2001-12-14}\n",
    "- &base {a: 1, b: [1, 2]}\n- *base\n- <<: *base\n  c: 3\n",
    "text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n",
    "# only a comment\n",
    "",
    "unicode: \"\\u00e9\\U0001F600\"\nkey with spaces: 'it''s'\n",
]
BROKEN = [
    "a: b: c\n",
    "a: [1, 2\n",
    "- a\nb: c\n",
    "a: *missing\n",
    "x: !!int abc\n",
    "bad: \x07\n",
    "a: 1\n---\nb: 2\n",
]


def _error(text: str, load: Any) -> str:
    with pytest.raises(Exception) as caught:
        load(text)
    return f"{type(caught.value).__name__}: {caught.value}"


def test_libyaml_is_what_runs_here() -> None:
    assert yamlload._LIBYAML, "PyYAML without libyaml: the pins install its wheels, which carry it"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(REPO)))
def test_the_bundled_documents_load_as_with_yaml_safe_load(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yamlload.safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_documents_load_as_with_yaml_safe_load(text: str) -> None:
    assert yamlload.safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", BROKEN)
@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure"])
def test_errors_are_yaml_safe_loads_own(text: str, libyaml: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "_LIBYAML", libyaml)
    assert _error(text, yamlload.safe_load) == _error(text, yaml.safe_load)
