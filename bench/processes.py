"""Whole processes, timed: wall time from spawn to exit and the process's own peak RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence


class BenchError(RuntimeError):
    """A measured step did not do what it was measured for: its numbers would mean nothing."""


@dataclass(frozen=True)
class Finished:
    argv: tuple[str, ...]
    seconds: float
    exit_code: int
    stdout: str
    stderr: str
    max_rss_mb: float
    cpu_seconds: float  # user + system time of the process itself (not the sandbox serving it)

    def check(self) -> Finished:
        if self.exit_code != 0:
            tail = self.stderr.strip().splitlines()[-3:]
            raise BenchError(f"{' '.join(self.argv[:4])} … exited {self.exit_code}: {' / '.join(tail)}")
        return self


def run_timed(argv: Sequence[str], *, env: Mapping[str, str], cwd: Optional[str] = None) -> Finished:
    """Run `argv` to completion. Output goes to files, not pipes, so nothing but the process itself
    is waited for; `wait4` gives this child's own rusage (RUSAGE_CHILDREN would also count the
    sandbox's `git http-backend` children of this process)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C or SIGTERM: stop the measured process too, then unwind
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap it again
        out.seek(0)
        err.seek(0)
        return Finished(
            tuple(argv),
            seconds,
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            _rss_mb(usage.ru_maxrss),
            usage.ru_utime + usage.ru_stime,
        )


def _rss_mb(ru_maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes.
    return ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
