"""One source per fact: the package's data/ holds exact copies of templates/ and resources/ (`make sync-data`)."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize("source", sources())
def test_package_copy_is_fresh(source: str) -> None:
    original = (REPO / source).read_bytes()
    copy = DATA / source.rsplit("/", 1)[-1]
    assert copy.exists(), f"{copy} is missing: run `make sync-data`"
    assert copy.read_bytes() == original, f"{copy} is stale: run `make sync-data`"


def test_nothing_else_is_bundled_and_every_constant_is_readable() -> None:
    names = {s.rsplit("/", 1)[-1] for s in sources()}
    assert {p.name for p in DATA.iterdir() if p.is_file()} == names
    constants = (resources.TEMPLATE, resources.TRIGGER, resources.BLUEPRINTS, resources.ACTION)
    for name in (*constants, *resources.INVOCATIONS.values()):
        assert resources.read_text(name) == (DATA / name).read_text(encoding="utf-8")
