"""Issue 12 C.2-C.4: an existing port.yml cannot cost unbounded time or memory: YAML aliases are
compared without expanding them, the file has a size limit, and nesting has a depth limit (exit 3
with file and line, never RecursionError) in render, validate and enrich."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Iterator

import pytest
from enrichkit import Enricher

from port_gitops.errors import LimitExceededError
from port_gitops.limits import MAX_PORTYML_BYTES, MAX_YAML_DEPTH
from port_gitops.model import load_blueprints
from port_gitops.portyml import merge
from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example
from port_gitops.validate import validate_text

FLAGS = ("--entity", "payments", "--domain", "billing", "--type", "backend", "--lifecycle", "Production")
PAYMENTS = {
    "identifier": "payments",
    "blueprint": "service",
    "properties": {"type": "backend", "lifecycle": "Production"},
}


def alias_bomb(levels: int = 10) -> str:
    """Another entity whose property nests aliases `levels` deep: 9**levels leaves when expanded."""
    lines = [
        "- identifier: other",
        "  blueprint: service",
        "  properties:",
        "    x0: &a0 [1,2,3,4,5,6,7,8,9]",
    ]
    lines += [f"    x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return f"- identifier: other\n  blueprint: service\n  properties:\n    x: {'[' * depth}{']' * depth}\n"


def big_file(size: int) -> str:
    entity = "- identifier: svc{}\n  blueprint: service\n  properties:\n    type: backend\n"
    text, i = [], 0
    while sum(map(len, text)) < size:
        text.append(entity.format(i))
        i += 1
    return "".join(text)


# A regression must fail with MemoryError, not take the machine down: 2 GiB of address space, set
# in the child before it execs port-gitops (no preexec_fn: other tests' server threads may be alive).
LIMITED = (
    "import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'port_gitops', *sys.argv[1:]])"
)


def cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[bytes], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED, *args],
        capture_output=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return proc, time.monotonic() - started


# -- C.2 aliases ------------------------------------------------------------------------------------


def test_an_alias_bomb_in_another_entity_is_merged_in_seconds() -> None:
    bomb = alias_bomb()
    assert len(bomb) < 600
    started = time.monotonic()
    appended = merge(bomb, [PAYMENTS])
    updated = merge(bomb + "- identifier: payments\n  blueprint: service\n", [PAYMENTS])
    problems = validate_text(bomb, load_blueprints(None), source="port.yml")
    assert time.monotonic() - started < 5
    assert appended.text.startswith(bomb) and "payments: added" in appended.changes[0]
    assert updated.text.startswith(bomb) and updated.changed
    assert problems == []


def test_an_alias_cycle_is_compared_without_recursing_forever() -> None:
    cycle = "- identifier: other\n  blueprint: service\n  properties:\n    loop: &l [1, *l]\n"
    assert merge(cycle, [PAYMENTS]).text.startswith(cycle)


@pytest.mark.parametrize("command", ["render", "validate"])
def test_the_cli_on_an_alias_bomb_takes_seconds(command: str, tmp_path: Path) -> None:
    (tmp_path / "port.yml").write_text(alias_bomb())
    args = [*FLAGS, "--existing", "port.yml"] if command == "render" else ["port.yml"]
    proc, took = cli(command, *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert took < 10


# -- C.3 size ---------------------------------------------------------------------------------------


def test_an_existing_file_over_the_size_limit_is_exit_3_with_its_size(tmp_path: Path) -> None:
    text = big_file(MAX_PORTYML_BYTES + 1)
    (tmp_path / "port.yml").write_text(text)
    size = len(text.encode())
    for args in [("render", *FLAGS, "--existing", "port.yml"), ("validate", "port.yml")]:
        proc, took = cli(*args, cwd=tmp_path)
        assert proc.returncode == 3, proc.stderr
        assert f"port.yml: 1.0 MiB ({size} bytes), over the 1.0 MiB ({MAX_PORTYML_BYTES} bytes) limit" in (
            proc.stderr.decode()
        )
        assert took < 10


def test_below_the_limit_memory_grows_linearly() -> None:
    def peak_per_byte(text: str) -> float:
        tracemalloc.start()
        try:
            merge(text, [PAYMENTS])
            return tracemalloc.get_traced_memory()[1] / len(text)
        finally:
            tracemalloc.stop()

    small, large = peak_per_byte(big_file(8 * 1024)), peak_per_byte(big_file(32 * 1024))
    assert large < 1.3 * small, (small, large)


# -- C.4 depth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 400, 5000])
def test_deep_nesting_is_exit_3_with_file_and_line(depth: int, tmp_path: Path) -> None:
    (tmp_path / "port.yml").write_text(nested(depth))
    for args, code in [
        (("render", *FLAGS, "--existing", "port.yml"), 3),
        (("render", *FLAGS, "--existing", "port.yml", "--check"), 3),
        (("validate", "port.yml"), 3),
    ]:
        proc, _ = cli(*args, cwd=tmp_path)
        assert proc.returncode == code, proc.stderr
        message = proc.stderr.decode()
        assert f"port.yml line 4: collections nested deeper than {MAX_YAML_DEPTH} levels" in message
        assert "RecursionError" not in message


def test_nesting_up_to_the_limit_is_fine() -> None:
    text = nested(MAX_YAML_DEPTH - 3)  # the entity list and its mappings are three levels
    assert merge(text, [PAYMENTS]).text.startswith(text)
    with pytest.raises(LimitExceededError, match="line 4"):
        merge(nested(MAX_YAML_DEPTH - 2), [PAYMENTS])


# -- enrich reads the file through the SCM -----------------------------------------------------------


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def test_enrich_bounds_the_existing_file(sb: Sandbox, enrich: Enricher) -> None:
    cases = {
        "bomb": (alias_bomb(), 0, None),
        "big": (big_file(MAX_PORTYML_BYTES + 1), 3, "over the 1.0 MiB (1048576 bytes) limit"),
        "deep": (nested(500), 3, "port.yml@"),
    }
    for slug, (content, code, message) in cases.items():
        ex = seed_example(sb, slug=slug, run_id=f"r_{slug}")
        sb.bitbucket.push(ex.workspace, ex.slug, "main", {"port.yml": content})
        started = time.monotonic()
        run = enrich(ex.payload)
        assert time.monotonic() - started < 10
        assert run.code == code, run.result
        if message:
            assert message in run.result["error"] and "RecursionError" not in run.result["error"]
            assert sb.port.runs[f"r_{slug}"]["status"] == "FAILURE"
        else:
            assert run.result["outcome"] == "created"
