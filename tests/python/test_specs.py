"""The specs in tests/specs are the published documents, byte for byte: each matches its line in
SHA256SUMS (`sha256sum` format, so adding a spec is one line), and none is carried unlisted."""

from __future__ import annotations

import hashlib
import re

import pytest
from conftest import SPECS

SUMS = SPECS / "SHA256SUMS"
NOT_SPECS = {"SHA256SUMS", "README.md", ".gitattributes"}


def listed() -> dict[str, str]:
    sums = {}
    for number, line in enumerate(SUMS.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.fullmatch(r"([0-9a-f]{64}) [ *]([^/\\]+)", line)
        assert match, f"SHA256SUMS line {number} is not '<sha256>  <file>': {line!r}"
        assert match.group(2) not in sums, f"SHA256SUMS lists {match.group(2)} twice"
        sums[match.group(2)] = match.group(1)
    return sums


@pytest.mark.parametrize("name", sorted(listed()))
def test_spec_is_the_published_document(name: str) -> None:
    path = SPECS / name
    assert path.is_file(), f"{path} is listed in SHA256SUMS but missing"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == listed()[name], f"{name} differs from the published document (sha256 {digest})"


def test_every_spec_carried_is_listed_and_described() -> None:
    carried = {p.name for p in SPECS.iterdir() if p.name not in NOT_SPECS}
    assert carried - set(listed()) == set(), "add these to tests/specs/SHA256SUMS"
    readme = (SPECS / "README.md").read_text(encoding="utf-8")
    assert [name for name in sorted(carried) if f"## {name}" not in readme] == [], "say where it came from"


def test_the_contract_specs_are_carried() -> None:
    """A fresh clone has no ../shared: what the contract tests read must be here."""
    assert {"bitbucket-cloud.openapi.json", "bitbucket-datacenter.openapi.json", "port.openapi.yaml"} <= set(
        listed()
    )
