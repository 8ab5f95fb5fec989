"""port-gitops benchmark: measures, in one run, what issue 3 §6 and issue 4 set targets for, and
prints markdown tables with each target beside its measurement (✓/✗). Nothing is asserted: a ✗
is a finding. Progress goes to stderr, the tables to stdout.

    .venv/bin/python bench/run.py [--quick]      # or: make bench
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Union

from enrichments import FlavourResult, measure_flavour
from links import LinkResult, measure_links
from netlink import PROFILES, Profile
from processes import BenchError, run_timed
from report import (
    FLAVOURS,
    TARGET_PROFILE,
    Measurements,
    enrichment_table,
    link_table,
    request_lists,
    size_table,
)
from sizes import measure_sizes

SIZES_MB = (1, 50, 200)
# The sandbox example's payload (port_gitops.sandbox.example), for the commands that send nothing.
EXAMPLE_PAYLOAD = {
    "port_context": {
        "entity": "payments",
        "repo_url": "https://bitbucket.org/acme/payments",
        "runId": "r_bench_1",
    },
    "domain": "billing",
    "type": "backend",
    "lifecycle": "Production",
}
FAILED = "failed (see stderr)"


def help_command() -> tuple[list[str], str]:
    """The console script installed beside this interpreter (what users run), else the module."""
    script = Path(sys.executable).with_name("port-gitops")
    if script.exists():
        return [str(script), "--help"], "port-gitops --help"
    return [sys.executable, "-m", "port_gitops", "--help"], "python -m port_gitops --help"


def measure_help(argv: list[str], runs: int) -> list[float]:
    env = dict(os.environ)
    return [run_timed(argv, env=env).check().seconds for _ in range(runs)]


def compile_package() -> None:
    """Bytecode for the package beside its sources, as the agent's cached venv has it (the zipapp
    compiles itself there once). Without it, under PYTHONDONTWRITEBYTECODE or after an edit, every
    measured process would compile the package again and the bench would time the compiler."""
    import port_gitops

    compileall.compile_dir(str(Path(port_gitops.__file__).parent), quiet=2)


def measure_commands(runs: int, workdir: Path) -> dict[str, list[float]]:
    """`vars` and `render` on the example payload, whole processes: what a run costs before any request."""
    payload = workdir / "example-payload.json"
    payload.write_text(json.dumps(EXAMPLE_PAYLOAD), encoding="utf-8")
    env = dict(os.environ)
    return {
        command: [
            run_timed([sys.executable, "-m", "port_gitops", command, "--payload", str(payload)], env=env)
            .check()
            .seconds
            for _ in range(runs)
        ]
        for command in ("vars", "render")
    }


def measure_flavours(runs: int, workdir: Path) -> dict[str, Union[FlavourResult, str]]:
    results: dict[str, Union[FlavourResult, str]] = {}
    for key, title in FLAVOURS:
        try:
            results[key] = measure_flavour(key, runs, workdir)
        except BenchError as exc:  # the other flavour's column still means something
            print(f"bench: error: {title}: {exc}", file=sys.stderr)
            results[key] = FAILED
        if isinstance(results[key], str):
            print(f"bench: {title}: {results[key]}", file=sys.stderr, flush=True)
    return results


def parse_profiles(text: str) -> list[Profile]:
    """`all`, `none`, or RTT_MS/RATE_MBIT[,...], e.g. `40/100,80/20`."""
    if text == "all":
        return list(PROFILES)
    if text == "none":
        return []
    try:
        return [Profile(*(int(part) for part in item.split("/", 1))) for item in text.split(",")]
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r}: expected all, none or RTT_MS/RATE_MBIT[,...]") from None


def measure_all_links(
    profiles: list[Profile], sizes_mb: tuple[int, ...], runs: int, clones: int, workdir: Path
) -> dict[str, LinkResult]:
    results: dict[str, LinkResult] = {}
    for key, title in FLAVOURS:
        try:
            results[key] = measure_links(key, profiles, sizes_mb, runs, clones, workdir)
        except (BenchError, RuntimeError, OSError) as exc:  # the other flavours still mean something
            print(f"bench: error: {title} over links: {exc}", file=sys.stderr)
            results[key] = FAILED
        if isinstance(results[key], str):
            print(f"bench: {title} over links: {results[key]}", file=sys.stderr, flush=True)
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (5 instead of 7, 1 clone, not 5)"
    )
    parser.add_argument(
        "--links",
        type=parse_profiles,
        default=None,
        metavar="PROFILES",
        help="link profiles: all (default), none, or RTT_MS/RATE_MBIT[,...]; --quick: 40/100",
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the namespaces, the veth and the sandbox are removed; Ctrl-C
    # does so even where the shell started this with SIGINT ignored (a background job).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    runs, help_runs, clones = (5, 7, 1) if args.quick else (7, 15, 5)
    profiles = args.links if args.links is not None else ([TARGET_PROFILE] if args.quick else list(PROFILES))
    link_sizes, link_clones = ((1, 200), 1) if args.quick else (SIZES_MB, 3)
    help_argv, help_label = help_command()
    started = time.perf_counter()
    compile_package()
    try:
        with tempfile.TemporaryDirectory(prefix="port-gitops-bench-") as tmp:
            measurements = Measurements(
                flavours=measure_flavours(runs, Path(tmp)),
                help_seconds=measure_help(help_argv, help_runs),
                help_command=help_label,
                python_seconds=measure_help([sys.executable, "-c", "pass"], help_runs),
                sizes=measure_sizes(SIZES_MB, runs, clones, Path(tmp)),
                commands=measure_commands(help_runs, Path(tmp)),
            )
            links = measure_all_links(profiles, link_sizes, 3, link_clones, Path(tmp)) if profiles else {}
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"## port-gitops benchmark ({'quick' if args.quick else 'full'})\n")
    print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · Python {platform.python_version()} · {git} · "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs · sandbox on loopback\n"
    )
    print("### One enrichment against the sandbox\n")
    print(enrichment_table(measurements, runs) + "\n")
    print("### Cost against repository size (Bitbucket Cloud sandbox, git smart HTTP for the baseline)\n")
    print(size_table(measurements.sizes) + "\n")
    if profiles:
        print("### Over a network link (TLS on; the sandbox in a network namespace of its own)\n")
        print(
            "Rate shaped with `tc tbf` on a veth pair; the RTT added by a relay in the sandbox's namespace"
            " (RTT/2 each way; a new connection's TCP handshake costs one RTT). A round trip on the critical"
            " path is a request/answer exchange (or handshake) in the longest chain of exchanges"
            " one after the other.\n"
        )
        print(link_table(links, profiles) + "\n")
    print("### Requests counted (first service)\n")
    print(request_lists(measurements.flavours) + "\n")
    print(f"Measured in {time.perf_counter() - started:.0f} s.")
    return 1 if FAILED in [*measurements.flavours.values(), *links.values()] else 0


if __name__ == "__main__":
    sys.exit(main())
