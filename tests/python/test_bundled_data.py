"""One source per fact: the package's data/ holds exact copies of templates/ and resources/ (`make sync-data`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO

from port_gitops import resources

DATA = REPO / "python" / "src" / "port_gitops" / "data"


def sources() -> list[str]:
    makefile = (REPO / "Makefile").read_text()
    line = re.search(r"^DATA_SOURCES := (.+)$", makefile, re.MULTILINE)
    assert line, "the Makefile names the hand-written sources"
    res = re.search(r"^RES\s*:= (.+)$", makefile, re.MULTILINE)
    assert res
    return [s.replace("$(RES)", res.group(1).strip()) for s in line.group(1).split()]


def files_of(source: str) -> list[str]:
    """A source file, or every file under a source folder (repository-relative)."""
    path = REPO / source
    if path.is_dir():
        return sorted(str(p.relative_to(REPO)) for p in path.rglob("*") if p.is_file())
    return [source]


def copy_of(source: str, file: str) -> Path:
    base = source.rsplit("/", 1)[-1]
    return DATA / base / file[len(source) + 1 :] if file != source else DATA / base


@pytest.mark.parametrize("source", sources())
def test_package_copy_is_fresh(source: str) -> None:
    for file in files_of(source):
        copy = copy_of(source, file)
        assert copy.exists(), f"{copy} is missing: run `make sync-data`"
        assert copy.read_bytes() == (REPO / file).read_bytes(), f"{copy} is stale: run `make sync-data`"


def test_nothing_else_is_bundled_and_every_constant_is_readable() -> None:
    expected = {copy_of(source, file) for source in sources() for file in files_of(source)}
    assert {p for p in DATA.rglob("*") if p.is_file()} == expected
    constants = (resources.TEMPLATE, resources.TRIGGER, resources.BLUEPRINTS, resources.ACTION)
    for name in (*constants, *resources.INVOCATIONS.values()):
        assert resources.read_text(name) == (DATA / name).read_text(encoding="utf-8")


def test_each_action_folder_carries_the_seed_template_or_its_own() -> None:
    folder = REPO / "resources/io/port/gitops/actions" / resources.DEFAULT_ACTION
    seed = (REPO / "templates/enrichService.yml").read_bytes()
    assert (folder / "template.yml").read_bytes() == seed, "the seed template and its action's copy differ"
