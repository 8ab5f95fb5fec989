"""Shared pytest fixtures. Paths are computed from this file so tests run from any directory."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from enrichkit import Enricher

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import Example, seed_example

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SPECS = REPO / "tests" / "specs"  # the published OpenAPI documents, carried with their checksums


def require_spec(name: str) -> Path:
    """A spec from tests/specs, else from ../shared/specs (a spec another change has not copied yet)."""
    carried = SPECS / name
    return carried if carried.exists() else require_shared(f"specs/{name}")


def require_shared(relative: str) -> Path:
    """Path into ../shared, skipping with a clear reason when absent (never when PORT_GITOPS_REQUIRE_SPECS=1)."""
    path = SHARED / relative
    if not path.exists():
        if os.environ.get("PORT_GITOPS_REQUIRE_SPECS") == "1":
            pytest.fail(f"{path} is required (PORT_GITOPS_REQUIRE_SPECS=1) but missing")
        pytest.skip(f"{path} not present: ../shared is not checked out beside this repository")
    return path


def run_cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed console script as a user would (falls back to `python -m port_gitops`)."""
    exe = shutil.which("port-gitops", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "port_gitops"]
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "BITBUCKET_", "GITHUB_", "X_PORT"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, env=full_env, cwd=cwd, timeout=120, check=False
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`step_name` runs over the STEPS of the module the test runs in (bitbucket_world's fault matrix)."""
    if "step_name" in metafunc.fixturenames:
        metafunc.parametrize("step_name", sorted(metafunc.module.STEPS))


# The sandbox (`sb`) is each module's own choice (one flavour, or every flavour in FLAVOURS); the
# example repository and the in-process `enrich` runner on it are the same everywhere.
@pytest.fixture(autouse=True)
def package_logger_restored() -> Iterator[None]:
    """A command run in a test gives the package logger a handler on that test's captured stderr (and -vv
    its DEBUG level); a request a test leaves in flight (a read ahead nobody asked for) must not log into
    that stream once it is closed ("--- Logging error ---" in a later test's output)."""
    logger = logging.getLogger("port_gitops")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture
def example(sb: Sandbox) -> Example:
    return seed_example(sb)


@pytest.fixture
def enrich(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Enricher:
    return Enricher(sb, tmp_path, monkeypatch, capsys)
