"""Enrich against the clone baseline over shaped links (netlink.py): per flavour, the sandbox (TLS on)
in a network namespace of its own, one repository per size of history, then per link profile the
clone → edit → push baseline and enrich's first run from the client namespace, with the round trips
each enrichment had on its critical path."""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from enrichments import enrich, sandbox_env
from history import add_history, clone_edit_push
from netlink import Link, Profile, inside, unavailable
from sizes import MB

from port_gitops.sandbox import Sandbox
from port_gitops.sandbox.example import seed_example


@dataclass
class LinkCell:
    profile: Profile
    size_label: str
    pack_bytes: int
    baseline_seconds: list[float] = field(default_factory=list)
    enrich_seconds: list[float] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)  # sequential, on the critical path
    exchanges: list[int] = field(default_factory=list)  # all request/answer exchanges


LinkResult = Union[list[LinkCell], str]  # a string says why there is no measurement


def _ports(sandbox: Sandbox) -> list[int]:
    urls = " ".join([sandbox.scm_url, sandbox.scm_web_url, sandbox.port_url])
    return sorted({int(port) for port in re.findall(r"//127\.0\.0\.1:(\d+)", urls)})


def measure_links(
    flavour: str,
    profiles: Sequence[Profile],
    sizes_mb: Sequence[int],
    runs: int,
    clones: int,
    workdir: Path,
) -> LinkResult:
    if importlib.util.find_spec(f"port_gitops.scm.{flavour.replace('-', '_')}") is None:
        return "n/a (not available)"
    why = unavailable()
    if why is not None:
        return f"skipped: {why}"
    try:
        sandbox = Sandbox(tls=True, flavour=flavour)
    except ValueError:
        return "n/a (not available)"
    cells: list[LinkCell] = []
    with Link() as link:
        with inside(link.server_ns):  # the sandbox's listening sockets live in its namespace
            sandbox.start()
        try:
            link.serve(_ports(sandbox))
            env = sandbox_env(sandbox)
            repos = []
            for size_mb in sizes_mb:
                print(f"bench: {flavour}: ~{size_mb} MB of history", file=sys.stderr, flush=True)
                slug = f"history-{size_mb}mb"
                example = seed_example(sandbox, slug=slug, run_id=f"r_{slug}")
                pack = add_history(sandbox, example.workspace, slug, size_mb * MB, seed=size_mb)
                repos.append((f"~{size_mb} MB", example, pack))
            for p_index, profile in enumerate(profiles):
                link.shape(profile)
                for label, example, pack in repos:
                    print(f"bench: {flavour}: {profile.name}, {label}: {clones} clone(s), {runs} enrichments",
                          file=sys.stderr, flush=True)  # fmt: skip
                    cell = LinkCell(profile, label, pack)
                    with inside(link.client_ns):  # every client process starts on the far side
                        for n in range(clones):
                            entity = f"svc-{p_index}-{n}"
                            seconds = clone_edit_push(
                                sandbox, example.workspace, example.slug, entity, f"baseline/enrich-{entity}"
                            )
                            cell.baseline_seconds.append(seconds)
                        for n in range(runs):  # a new service each time: every run is a first run
                            payload = copy.deepcopy(example.payload)
                            entity, run_id = f"svc-{p_index}-{n}", f"r_{example.slug}_{p_index}_{n}"
                            payload["port_context"].update(entity=entity, runId=run_id)
                            link.reset_exchanges()
                            done = enrich(sandbox, env, payload, workdir, "created")
                            sequential, total = link.critical_round_trips()
                            cell.enrich_seconds.append(done.seconds)
                            cell.round_trips.append(sequential)
                            cell.exchanges.append(total)
                    cells.append(cell)
        finally:
            sandbox.close()
    return cells
