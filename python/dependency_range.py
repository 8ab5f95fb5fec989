"""The runtime dependencies' ranges in pyproject.toml, as `make test` checks them (Makefile: test-ranges).

    python dependency_range.py lowest     # `name==lower-bound` for each runtime dependency (pip -c)
    python dependency_range.py installed  # `name==version` of each runtime dependency installed here

Reads the requirements of the installed port-gitops distribution (pip writes them from pyproject.toml,
so a dependency added there is picked up without naming it here). `lowest` runs where `packaging` is
installed; `installed` needs only the standard library, to run in any venv. A runtime dependency without
a lower bound is an error: a range that promises every old release is one nobody tests.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from typing import List

DISTRIBUTION = "port-gitops"


def runtime_requirements() -> List[str]:
    """The requirement strings of the installed distribution, without the extras' ones."""
    return [r for r in metadata.requires(DISTRIBUTION) or [] if "extra ==" not in r.replace('"', "")]


def lowest() -> List[str]:
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = []
    for text in runtime_requirements():
        requirement = Requirement(text)
        floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "~=", "==")]
        if not floors:
            raise SystemExit(f"dependency_range: {text!r} in pyproject.toml has no lower bound (>=)")
        pins.append(f"{requirement.name}=={max(floors)}")
    return pins


def installed() -> List[str]:
    names = [re.split(r"[^A-Za-z0-9._-]", text, maxsplit=1)[0] for text in runtime_requirements()]
    return [f"{name}=={metadata.version(name)}" for name in names]


def main(argv: List[str]) -> int:
    modes = {"lowest": lowest, "installed": installed}
    if len(argv) != 1 or argv[0] not in modes:
        print(f"usage: dependency_range.py {'|'.join(modes)}", file=sys.stderr)
        return 2
    print("\n".join(modes[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
