"""`python -m port_gitops enrich` against the sandbox, as a subprocess, with the requests it caused.

`measure_flavour` runs the three scenarios of a service (first run, unchanged re-run, changed re-run)
on fresh repositories, `runs` times, for one SCM flavour.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

from processes import BenchError, run_timed

from port_gitops.sandbox import RecordedRequest, Sandbox
from port_gitops.sandbox.example import seed_example

TOKEN_PATH = "/v1/auth/access_token"

# (label, expected outcome, how the payload differs from the seeded one)
SCENARIOS: tuple[tuple[str, str, Mapping[str, str]], ...] = (
    ("first run", "created", {}),
    ("unchanged re-run", "unchanged", {}),
    ("changed re-run", "updated", {"lifecycle": "Experimental"}),
)


@dataclass(frozen=True)
class Enrichment:
    outcome: str
    seconds: float
    max_rss_mb: float
    cpu_seconds: float
    bitbucket: list[RecordedRequest]  # the SCM's requests, whatever the flavour
    port: list[RecordedRequest]
    writes: int  # of the SCM's requests, as the flavour counts them (GitHub's GraphQL query reads)

    @property
    def tokens(self) -> int:
        return sum(request.path.endswith(TOKEN_PATH) for request in self.port)

    @property
    def scm_serving_seconds(self) -> float:
        """How long the SCM sandbox was busy answering this run (overlapping requests counted once):
        the stand-in's share of a loopback run's wall time, which a real SCM spends on its side."""
        busy, end = 0.0, 0.0
        for request in sorted(self.bitbucket, key=lambda r: r.received):
            start = max(request.received, end)
            if request.answered > start:
                busy += request.answered - start
            end = max(end, request.answered)
        return busy

    @property
    def port_after_scm(self) -> int:
        """Port's requests received after the SCM's last answer: on the run's critical path (on
        loopback nothing else separates them)."""
        last = max((request.answered for request in self.bitbucket), default=0.0)
        return sum(request.received >= last for request in self.port)


def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    """This machine's environment pointed at the sandbox (any real Port/Bitbucket settings dropped)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORT_", "BITBUCKET_", "GITHUB_", "BUILD_URL"))
    }
    env.update(sandbox.env())
    return env


def enrich(
    sandbox: Sandbox, env: Mapping[str, str], payload: Mapping[str, Any], workdir: Path, expect: str
) -> Enrichment:
    """One enrichment as Jenkins runs it (payload file, `--json`); BenchError unless it ends in `expect`."""
    run_id = str(payload["port_context"]["runId"])
    sandbox.port.create_run(run_id, entity=str(payload["port_context"]["entity"]))
    payload_file = workdir / f"{run_id}.json"
    payload_file.write_text(json.dumps(payload), encoding="utf-8")
    sandbox.bitbucket.clear()
    sandbox.port.clear()
    argv = [sys.executable, "-m", "port_gitops", "enrich", "--payload", str(payload_file), "--json"]
    done = run_timed(argv, env=env).check()
    outcome = str(json.loads(done.stdout)["outcome"])
    if outcome != expect:
        raise BenchError(f"enrich {run_id}: outcome {outcome}, expected {expect}")
    return Enrichment(
        outcome,
        done.seconds,
        done.max_rss_mb,
        done.cpu_seconds,
        sandbox.scm.requests,
        sandbox.port.requests,
        len(sandbox.scm.writes()),
    )


@dataclass
class FlavourResult:
    """Per scenario label: one Enrichment per repetition."""

    runs: dict[str, list[Enrichment]] = field(default_factory=dict)

    @property
    def all(self) -> list[Enrichment]:
        return [run for runs in self.runs.values() for run in runs]


def measure_flavour(flavour: str, runs: int, workdir: Path) -> Union[FlavourResult, str]:
    """The scenarios on `runs` fresh services, or why the flavour cannot be measured."""
    # A flavour exists when both its sandbox and its client do (scm/<flavour>.py, underscores for dashes).
    if importlib.util.find_spec(f"port_gitops.scm.{flavour.replace('-', '_')}") is None:
        return "n/a (not available)"
    try:
        sandbox = Sandbox(flavour=flavour)
    except ValueError:
        return "n/a (not available)"
    result = FlavourResult({label: [] for label, _, _ in SCENARIOS})
    print(
        f"bench: {flavour}: {runs} services x first/unchanged/changed runs",
        file=sys.stderr,
        flush=True,
    )
    with sandbox:
        env = sandbox_env(sandbox)
        for index in range(runs):
            example = seed_example(sandbox, slug=f"service-{index}", run_id=f"r_{flavour}_{index}_0")
            for step, (label, expect, changes) in enumerate(SCENARIOS):
                payload = copy.deepcopy(example.payload)
                payload["port_context"]["runId"] = f"r_{flavour}_{index}_{step}"
                payload.update(changes)
                result.runs[label].append(enrich(sandbox, env, payload, workdir, expect))
    return result
