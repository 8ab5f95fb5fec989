"""resources/io/port/gitops/venv-bootstrap.sh, run by `sh` as the step runs it on an agent: one
environment per lock and Python, built aside and renamed into place, reused, shared by concurrent
builds. Packages come from a local PEP 503 index named by PIP_INDEX_URL (the agent's own setting),
holding one small wheel written here, so no network is used."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

BOOTSTRAP = REPO / "resources" / "io" / "port" / "gitops" / "venv-bootstrap.sh"
PY_TAG = f"{sys.version_info[0]}.{sys.version_info[1]}"


def write_wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel: a module saying its version, METADATA, WHEEL and RECORD."""
    dist = f"{name}-{version}"
    files = {
        f"{name}.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("index")
    project = root / "pg-demo"
    project.mkdir()
    wheel = write_wheel(project, "pg_demo", "1.0")
    (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n', encoding="utf-8")
    return root.as_uri()


def lock_file(directory: Path, *lines: str) -> Path:
    lock = directory / "requirements.lock"
    lock.write_text("\n".join(["# requires-python: >=3.9", *lines]) + "\n", encoding="utf-8")
    return lock


def agent_env(index: str, cache: Path) -> dict[str, str]:
    """The agent's environment: its own pip settings only (this machine's pip.conf is left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PORT_GITOPS_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL=index,
        PORT_GITOPS_CACHE_DIR=str(cache),
    )
    return env


def bootstrap(
    lock: Path, env: dict[str, str], python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(BOOTSTRAP), python, str(lock)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def expected_venv(cache: Path, lock: Path) -> Path:
    return cache / f"venv-{hashlib.sha256(lock.read_bytes()).hexdigest()[:16]}-py{PY_TAG}"


def imports_demo(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import pg_demo; print(pg_demo.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def built(index: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two builds started together, over a broken leftover (its interpreter gone) at the path the lock names."""
    root = tmp_path_factory.mktemp("built")
    cache = root / "cache"
    lock = lock_file(root, "pg-demo==1.0")
    leftover = expected_venv(cache, lock)
    (leftover / "bin").mkdir(parents=True)
    (leftover / "bin" / "python").symlink_to(root / "python-that-was-upgraded-away")
    env = agent_env(index, cache)
    builds = [
        subprocess.Popen(
            ["sh", str(BOOTSTRAP), sys.executable, str(lock)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs: list[str] = []
    logs: list[str] = []
    for build in builds:
        out, err = build.communicate(timeout=300)
        assert build.returncode == 0, err
        outputs.append(out.strip())
        logs.append(err)
    return {"cache": cache, "lock": lock, "outputs": outputs, "logs": logs}


def test_environment_is_named_by_lock_hash_and_python(built: dict[str, Any]) -> None:
    python = expected_venv(built["cache"], built["lock"]) / "bin" / "python"
    assert built["outputs"] == [str(python)] * 2
    assert imports_demo(str(python)) == "1.0"


def test_concurrent_builds_leave_one_environment_and_no_leftovers(
    built: dict[str, Any],
) -> None:
    assert [p.name for p in built["cache"].iterdir()] == [expected_venv(built["cache"], built["lock"]).name]
    # Both built (each took seconds, both started at once); the second rename lost and used the first's.
    assert sum("another build created" in log for log in built["logs"]) == 1


def test_existing_environment_is_reused(built: dict[str, Any]) -> None:
    sentinel = expected_venv(built["cache"], built["lock"]) / "sentinel"
    sentinel.write_text("kept", encoding="utf-8")
    done = bootstrap(built["lock"], agent_env("file:///nonexistent/index", built["cache"]))  # no index needed
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == built["outputs"][0]
    assert sentinel.read_text(encoding="utf-8") == "kept"
    assert "using the Python environment" in done.stderr


def test_failed_install_leaves_no_environment(index: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = bootstrap(lock_file(tmp_path, "pg-demo==9.9"), agent_env(index, cache))
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("port-gitops: could not install the pinned dependencies")
    )
    assert "PIP_INDEX_URL" in done.stderr
    assert list(cache.iterdir()) == []


def test_too_old_python_is_named_with_the_floor(index: str, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("# requires-python: >=99.1\npg-demo==1.0\n", encoding="utf-8")
    done = bootstrap(lock, agent_env(index, tmp_path / "cache"))
    assert done.returncode == 2
    assert f"is Python {sys.version_info[0]}.{sys.version_info[1]}" in done.stderr
    assert "need Python >= 99.1" in done.stderr
    assert not (tmp_path / "cache").exists()


def test_missing_interpreter_is_named(index: str, tmp_path: Path) -> None:
    done = bootstrap(
        lock_file(tmp_path, "pg-demo==1.0"),
        agent_env(index, tmp_path / "cache"),
        python="python3-not-installed",
    )
    assert done.returncode == 2
    assert "Python interpreter 'python3-not-installed' not found on this agent" in done.stderr
