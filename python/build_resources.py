"""Generate what the Jenkins library ships to agents from `python/` (run by `make resources`).

- `port-gitops.pyz`: a zipapp of `src/port_gitops`, byte-for-byte reproducible (sorted entries, fixed
  dates and modes), run on the agent as `python port-gitops.pyz ARGS`; in a virtual environment it
  unpacks itself into it once, so that Python caches its bytecode (ZIPAPP_MAIN_TEMPLATE).
- `requirements.lock`: the runtime closure of pyproject's dependencies, pinned from constraints.txt,
  with the lowest Python every pinned package accepts (the agent-side bootstrap checks it).

`libraryResource` can only read `resources/`, so these copies are committed there;
tests/python/test_resources_fresh.py fails when they differ from a fresh build.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

PYTHON_DIR = Path(__file__).resolve().parent
PACKAGE = PYTHON_DIR / "src" / "port_gitops"
CONSTRAINTS = PYTHON_DIR / "constraints.txt"
DEFAULT_OUT = PYTHON_DIR.parent / "resources" / "io" / "port" / "gitops"
DIST = "port-gitops"
# Python versions a dependency marker is evaluated for: a dependency needed on any of them is locked.
SUPPORTED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# The archive's entry point. Python never caches bytecode for modules imported from a zip, so every run
# would compile the whole package again (~70 ms): when it runs in a virtual environment (the agent's
# cached one, venv-bootstrap.sh), the package is unpacked and compiled once into that environment, next
# to its libraries, and imported from there with its bytecode. `{digest}` names this
# build's contents, so another build never reuses a stale copy. Anywhere else (a system Python, a
# read-only environment) it runs from the archive as before.
ZIPAPP_MAIN_TEMPLATE = """\
import os
import sys

DIGEST = "{digest}"


def _unpacked(archive):
    if sys.prefix == sys.base_prefix or not os.path.isfile(archive):
        return None  # not a virtual environment: never write into a system Python
    target = os.path.join(sys.prefix, "port-gitops-" + DIGEST)
    if os.path.isdir(target):
        return target
    import compileall
    import shutil
    import tempfile
    import zipfile

    try:
        staging = tempfile.mkdtemp(prefix="port-gitops-" + DIGEST + ".", dir=sys.prefix)
    except OSError:
        return None
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(staging, [n for n in zipped.namelist() if n.startswith("port_gitops/")])
        compileall.compile_dir(staging, quiet=2)  # once, whatever PYTHONDONTWRITEBYTECODE says
        os.rename(staging, target)  # atomic: a concurrent first run either wins or finds it done
    except OSError:
        pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target if os.path.isdir(target) else None


_path = _unpacked(sys.path[0])
if _path is not None:
    sys.path[0] = _path

from port_gitops.cli import main  # noqa: E402

raise SystemExit(main())
"""


def package_files() -> List[Tuple[str, bytes]]:
    """(archive name, content) of every package file, sorted; caches and bytecode left out."""
    found = []
    for path in PACKAGE.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            found.append((path.relative_to(PACKAGE.parent).as_posix(), path.read_bytes()))
    digest = hashlib.sha256()
    for name, content in sorted(found):
        digest.update(b"%d:%s%d:%s" % (len(name), name.encode(), len(content), content))
    main = ZIPAPP_MAIN_TEMPLATE.replace("{digest}", digest.hexdigest()[:16])
    found.append(("__main__.py", main.encode("utf-8")))
    return sorted(found)


def write_zipapp(target: Path) -> None:
    with target.open("wb") as raw:
        raw.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(raw, "w") as archive:
            for name, content in package_files():
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, content, compresslevel=9)


def read_pins() -> Dict[str, str]:
    pins: Dict[str, str] = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        name, _, version = raw.split("#", 1)[0].partition("==")
        if version:
            pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def needed(marker: Optional[Marker], extras: Tuple[str, ...] = ("",)) -> bool:
    """Whether a requirement applies on some supported Python, with one of `extras` ("" for none)
    requested of the distribution that declares it."""
    return marker is None or any(
        marker.evaluate({"python_version": v, "python_full_version": f"{v}.0", "extra": extra})
        for v in SUPPORTED_PYTHONS
        for extra in extras
    )


_EXTRA_CLAUSE = re.compile(r'\s*(?:\band\s+)?extra\s*==\s*"[^"]*"(?:\s+and\b)?\s*')


def _without_extras(marker: Optional[Marker]) -> Optional[str]:
    """The marker as the lock must say it: an `extra == ...` clause was already decided by the
    closure (the extra was requested), and pip would read it as false when installing the lock."""
    if marker is None:
        return None
    text = _EXTRA_CLAUSE.sub(" ", str(marker)).strip()
    return text or None


def runtime_closure() -> Dict[str, Requirement]:
    """Every distribution the installed `port-gitops` needs at run time, by canonical name. Extras
    are followed (PyGithub needs `pyjwt[crypto]`, i.e. cryptography too)."""
    todo: List[Tuple[Requirement, Tuple[str, ...]]] = [
        (Requirement(r), ("",)) for r in metadata.requires(DIST) or []
    ]
    closure: Dict[str, Requirement] = {}
    seen: set[Tuple[str, str]] = set()
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if not needed(req.marker, extras):
            continue
        wanted = ("", *sorted(req.extras))
        if all((name, extra) in seen for extra in wanted):
            continue
        seen.update((name, extra) for extra in wanted)
        closure.setdefault(name, req)
        todo.extend((Requirement(r), wanted) for r in metadata.requires(name) or [])
    return closure


def python_floor(names: List[str]) -> Version:
    """The highest lower bound among the Requires-Python of `port-gitops` and `names`."""
    floor = Version("3.9")
    for name in [DIST, *names]:
        for spec in SpecifierSet(metadata.metadata(name)["Requires-Python"] or ""):
            if spec.operator in (">=", "~=", "==") and Version(spec.version) > floor:
                floor = Version(spec.version)
    return floor


def lock_text() -> str:
    pins = read_pins()
    closure = runtime_closure()
    lines = []
    for name in sorted(closure):
        if name not in pins:
            raise SystemExit(
                f"build_resources: runtime dependency {name} is not pinned in {CONSTRAINTS.name}"
            )
        installed = metadata.version(name)
        if installed != pins[name]:
            raise SystemExit(
                f"build_resources: {name} {installed} is installed but {CONSTRAINTS.name} pins {pins[name]}; "
                "reinstall the virtual environment (make clean test)"
            )
        marker = _without_extras(closure[name].marker)
        lines.append(f"{name}=={pins[name]}" + (f" ; {marker}" if marker else ""))
    return (
        "# Generated by `make resources` (python/build_resources.py): the runtime closure of\n"
        "# python/pyproject.toml's dependencies, pinned from python/constraints.txt. Do not edit.\n"
        f"# requires-python: >={python_floor(sorted(closure))}\n" + "\n".join(lines) + "\n"
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="target directory (default: %(default)s)"
    )
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    write_zipapp(out / "port-gitops.pyz")
    (out / "requirements.lock").write_text(lock_text(), encoding="utf-8")
    print(f"build_resources: wrote port-gitops.pyz and requirements.lock in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
