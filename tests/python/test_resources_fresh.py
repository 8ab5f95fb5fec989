"""What the Jenkins library ships (resources/io/port/gitops/port-gitops.pyz and requirements.lock) is
exactly what `make resources` builds from python/ now: contents are compared, never zip timestamps."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SHIPPED = REPO / "resources" / "io" / "port" / "gitops"
BUILD = REPO / "python" / "build_resources.py"


def build(out: Path) -> Path:
    subprocess.run([sys.executable, str(BUILD), "--out", str(out)], check=True, capture_output=True)
    return out


def archive_contents(pyz: Path) -> dict[str, bytes]:
    data = pyz.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["<interpreter line>"] = data.split(b"\n", 1)[0]
    return members


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("resources"))


def test_shipped_zipapp_matches_the_package(fresh: Path) -> None:
    shipped, built = (
        archive_contents(SHIPPED / "port-gitops.pyz"),
        archive_contents(fresh / "port-gitops.pyz"),
    )
    stale = sorted(name for name in shipped.keys() | built.keys() if shipped.get(name) != built.get(name))
    assert not stale, f"resources/io/port/gitops/port-gitops.pyz is stale (run `make resources`): {stale}"


def test_shipped_lock_matches_the_constraints(fresh: Path) -> None:
    assert (SHIPPED / "requirements.lock").read_text(encoding="utf-8") == (
        fresh / "requirements.lock"
    ).read_text(encoding="utf-8"), (
        "resources/io/port/gitops/requirements.lock is stale (run `make resources`)"
    )


def test_zipapp_build_is_byte_for_byte_reproducible(fresh: Path, tmp_path: Path) -> None:
    assert (
        build(tmp_path).joinpath("port-gitops.pyz").read_bytes() == (fresh / "port-gitops.pyz").read_bytes()
    )


def pinned(path: Path) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines of a requirements file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_lock_pins_exactly_the_runtime_dependencies() -> None:
    pins = pinned(SHIPPED / "requirements.lock")
    constraints = pinned(REPO / "python" / "constraints.txt")
    assert pins and all(constraints[name] == version for name, version in pins.items())
    direct = {
        canonicalize_name(Requirement(req).name)
        for req in metadata.requires("port-gitops") or []
        if "extra ==" not in req
    }
    assert direct <= pins.keys()
    assert not {"pytest", "mypy", "ruff", "jsonschema"} & pins.keys(), "development tools must not ship"


# Imports the package from the archive (first on sys.path) and reads a bundled file through it.
FROM_ARCHIVE = (
    "import sys; sys.path.insert(0, sys.argv[1]); import port_gitops.resources as r; "
    "print(r.__file__); print(r.read_text(r.TRIGGER))"
)


def test_zipapp_runs_its_own_copy_of_the_package() -> None:
    pyz = SHIPPED / "port-gitops.pyz"
    version = subprocess.run(
        [sys.executable, str(pyz), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"port-gitops {metadata.version('port-gitops')}"
    loaded = subprocess.run(
        [sys.executable, "-c", FROM_ARCHIVE, str(pyz)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert loaded.startswith(str(pyz) + "/port_gitops/")
    assert "genericVariables" in loaded


def test_the_zipapp_unpacks_and_compiles_itself_once_into_a_virtual_environment(
    fresh: Path, tmp_path: Path
) -> None:
    # Python caches no bytecode for a zip: in the agent's cached venv the package is unpacked and
    # compiled once, then imported from there.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pyz = fresh / "port-gitops.pyz"
    first = subprocess.run([str(python), str(pyz), "--version"], capture_output=True, text=True, check=True)
    (unpacked,) = venv.glob("port-gitops-*")
    assert (unpacked / "port_gitops" / "cli.py").is_file()
    assert list((unpacked / "port_gitops" / "__pycache__").glob("cli.*.pyc"))
    again = subprocess.run(
        [str(python), "-v", str(pyz), "--version"], capture_output=True, text=True, check=True
    )
    assert again.stdout == first.stdout
    assert f"code object from '{unpacked}/port_gitops/__pycache__/cli." in again.stderr
    assert list(venv.glob("port-gitops-*")) == [unpacked]


def test_the_zipapp_runs_from_the_archive_outside_a_virtual_environment(fresh: Path) -> None:
    base = Path(sys.base_prefix)
    python = base / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not python.exists():
        pytest.skip(f"no base interpreter at {python}")
    before = set(base.glob("port-gitops-*"))
    argv = [str(python), str(fresh / "port-gitops.pyz"), "--version"]
    done = subprocess.run(argv, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert set(base.glob("port-gitops-*")) == before  # a system Python is never written to


def test_lock_follows_extras_and_drops_their_markers() -> None:
    # PyGithub needs pyjwt[crypto]: without cryptography an agent could not sign a GitHub App's JWT.
    text = (SHIPPED / "requirements.lock").read_text(encoding="utf-8")
    assert "cryptography" in pinned(SHIPPED / "requirements.lock")
    assert "extra ==" not in text, "pip reads an extra marker as false when installing the lock"
