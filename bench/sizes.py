"""Cost against repository size: the tool's first run next to the clone/edit/push baseline on the
same sandbox repository at several sizes of history (Bitbucket Cloud)."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from enrichments import Enrichment, enrich, sandbox_env
from history import add_history, clone_edit_push

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example

MB = 1024 * 1024


@dataclass(frozen=True)
class SizeResult:
    label: str
    pack_bytes: int
    baseline_seconds: list[float]
    enrichments: list[Enrichment]


def measure_sizes(sizes_mb: Sequence[int], runs: int, clones: int, workdir: Path) -> list[SizeResult]:
    results = []
    with Sandbox() as sandbox:
        env = sandbox_env(sandbox)
        for size_mb in sizes_mb:
            print(f"bench: ~{size_mb} MB of history: generating, {clones} clone(s), {runs} enrichments",
                  file=sys.stderr, flush=True)  # fmt: skip
            slug = f"history-{size_mb}mb"
            example = seed_example(sandbox, slug=slug, run_id=f"r_{slug}")
            pack = add_history(sandbox, example.workspace, slug, size_mb * MB, seed=size_mb)
            baseline = [
                clone_edit_push(sandbox, example.workspace, slug, f"svc-{n}", f"baseline/enrich-svc-{n}")
                for n in range(clones)
            ]
            enrichments = []
            for n in range(runs):  # a new service each time: every run is a first run (created)
                payload = copy.deepcopy(example.payload)
                payload["port_context"].update(entity=f"svc-{n}", runId=f"r_{slug}_{n}")
                enrichments.append(enrich(sandbox, env, payload, workdir, "created"))
            results.append(SizeResult(f"~{size_mb} MB", pack, baseline, enrichments))
    return results
