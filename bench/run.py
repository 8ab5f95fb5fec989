"""port-gitops benchmark: measures, in one run, what issue 3 §6 and issue 4 set targets for, and
prints markdown tables with each target beside its measurement (✓/✗). Nothing is asserted: a ✗
is a finding. Progress goes to stderr, the tables to stdout.

    .venv/bin/python bench/run.py [--quick]      # or: make bench
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Union

from enrichments import FlavourResult, measure_flavour
from processes import BenchError, run_timed
from report import FLAVOURS, Measurements, enrichment_table, request_lists, size_table
from sizes import measure_sizes

SIZES_MB = (1, 50, 200)
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


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (3 instead of 7, 1 clone, not 5)"
    )
    args = parser.parse_args(argv)
    runs, help_runs, clones = (3, 5, 1) if args.quick else (7, 15, 5)
    help_argv, help_label = help_command()
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="port-gitops-bench-") as tmp:
            measurements = Measurements(
                flavours=measure_flavours(runs, Path(tmp)),
                help_seconds=measure_help(help_argv, help_runs),
                help_command=help_label,
                sizes=measure_sizes(SIZES_MB, runs, clones, Path(tmp)),
            )
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
    print("### Requests counted (first service)\n")
    print(request_lists(measurements.flavours) + "\n")
    print(f"Measured in {time.perf_counter() - started:.0f} s.")
    return 1 if FAILED in measurements.flavours.values() else 0


if __name__ == "__main__":
    sys.exit(main())
