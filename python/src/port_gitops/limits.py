"""The bounds on what the tool reads (README, "Limits"): every input is refused past its bound, with
exit 3, before it can cost time or memory. Below the bounds, cost is linear in the input's size.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import BinaryIO, Optional

from port_gitops.errors import LimitExceededError, UsageError

# Port's action bodies are a few kilobytes (identifiers, enum values, a URL, the run context): 1 MiB
# leaves room for a team's own mapping that sends a whole entity, and bounds what an unverified
# request can make us hold before its signature is checked.
MAX_PAYLOAD_BYTES = 1024 * 1024
# A service's port.yml is a few kilobytes; 1 MiB keeps render/enrich well under ~10 s and ~200 MB
# (PyYAML's pure-Python composer costs ~150 bytes of memory per byte of YAML).
MAX_PORTYML_BYTES = 1024 * 1024
# Collections inside collections: entities nest a few levels; PyYAML's composer and our comparisons
# recurse, and Python's stack ends near 1000 frames.
MAX_YAML_DEPTH = 100


def size_text(size: int) -> str:
    return f"{size} bytes" if size < 10 * 1024 else f"{size / 1024 / 1024:.1f} MiB ({size} bytes)"


def too_large(what: str, size: int, limit: int, *, at_least: bool = False) -> LimitExceededError:
    more = "more than " if at_least else ""
    return LimitExceededError(f"{what}: {more}{size_text(size)}, over the {size_text(limit)} limit")


def read_bounded(path: str, *, limit: int, what: str, flag: str = "") -> bytes:
    """The bytes of file `path` (`-`: stdin), reading at most `limit` + 1 of them; more is refused."""
    try:
        if path == "-":
            return _bounded(sys.stdin.buffer, limit, what)
        with open(path, "rb") as handle:
            return _bounded(handle, limit, what)
    except OSError as exc:
        raise UsageError(f"{flag + ': ' if flag else ''}cannot read {path!r}: {exc.strerror}") from None


def _bounded(handle: BinaryIO, limit: int, what: str) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        size = _file_size(handle)
        raise too_large(what, size or len(data), limit, at_least=size is None)
    return data


def _file_size(handle: BinaryIO) -> Optional[int]:
    """A regular file's whole size (for the message); None for a pipe, whose rest is never read."""
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def check_size(what: str, size: int, limit: int) -> None:
    if size > limit:
        raise too_large(what, size, limit)
