"""python/dependency_range.py: the pins `make test-ranges` installs for the lowest run come from every
runtime dependency in pyproject.toml, at its lower bound; a dependency without one is refused."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the metadata the script reads needs no TOML


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dependency_range", REPO / "python" / "dependency_range.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "python" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def test_lowest_pins_every_runtime_dependency_at_its_lower_bound() -> None:
    pins = {
        canonicalize_name(name): version for name, version in (p.split("==") for p in load_script().lowest())
    }
    expected = declared()
    assert set(pins) == set(expected)  # none left out, no dev tool pinned
    for name, requirement in expected.items():
        floor = [s.version for s in requirement.specifier if s.operator == ">="]
        assert [pins[name]] == floor, name


def test_installed_names_the_version_of_every_runtime_dependency() -> None:
    lines = load_script().installed()
    assert {canonicalize_name(line.split("==")[0]) for line in lines} == set(declared())
    assert all(line.split("==")[1] for line in lines)


def test_a_dependency_without_a_lower_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script()
    monkeypatch.setattr(script, "runtime_requirements", lambda: ["requests>=2.31,<3", "somelib<2"])
    with pytest.raises(SystemExit, match=r"'somelib<2' in pyproject\.toml has no lower bound"):
        script.lowest()


def test_usage_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_script().main(["highest"]) == 2
    assert "usage: dependency_range.py lowest|installed" in capsys.readouterr().err
