"""Git objects without a git process per call: reads through one long-lived `git cat-file
--batch-command` per repository, writes as loose objects from Python (git's own formats, zlib +
SHA-1). Objects are immutable, so nothing here can answer from a stale view; refs are never read
here (gitstore keeps those a git process each, exactly as correct as git itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import subprocess
import tempfile
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Mapping, Optional, Sequence

FULL_SHA = re.compile(r"[0-9a-f]{40}")
TREE, GITLINK, SYMLINK, REGULAR, EXECUTABLE = 0o40000, 0o160000, 0o120000, 0o100644, 0o100755
_OCTAL = re.compile(rb"[0-7]+")


class MalformedObject(ValueError):
    """An object this module does not read the way git does; the caller asks git instead."""


@dataclass(frozen=True)
class RawEntry:
    name: bytes
    mode: int  # canonical, as git's tree walker reports it (canon_mode)
    sha: str

    @property
    def type(self) -> str:
        return "tree" if self.mode == TREE else "commit" if self.mode == GITLINK else "blob"


def canonical_mode(mode: int) -> int:
    kind = mode & 0o170000
    if kind == 0o100000:
        return EXECUTABLE if mode & 0o100 else REGULAR
    return kind if kind in (SYMLINK, TREE) else GITLINK


def decode_tree(data: bytes) -> list[RawEntry]:
    entries, pos = [], 0
    while pos < len(data):
        space = data.find(b" ", pos)
        nul = data.find(b"\0", space + 1)
        if space < 0 or nul < 0 or nul + 21 > len(data) or not _OCTAL.fullmatch(data[pos:space]):
            raise MalformedObject("malformed tree")
        name = data[space + 1 : nul]
        if not name:
            raise MalformedObject("empty name in a tree")
        mode = canonical_mode(int(data[pos:space], 8))
        entries.append(RawEntry(name, mode, data[nul + 1 : nul + 21].hex()))
        pos = nul + 21
    return entries


def sort_key(entry: RawEntry) -> bytes:
    """Git's tree order: a directory sorts as if its name ended in "/"."""
    return entry.name + b"/" if entry.mode == TREE else entry.name


def encode_tree(entries: Iterable[RawEntry]) -> bytes:
    ordered = sorted(entries, key=sort_key)
    return b"".join(b"%o %s\0%s" % (entry.mode, entry.name, bytes.fromhex(entry.sha)) for entry in ordered)


def header_value(data: bytes, key: bytes) -> Optional[bytes]:
    """The first `key value` header line of a commit or tag (None when absent)."""
    for line in data.split(b"\n\n", 1)[0].split(b"\n"):
        name, _, value = line.partition(b" ")
        if name == key:
            return value
    return None


def write_loose_object(objects: Path, kind: str, data: bytes) -> str:
    """Store an object as git's `hash-object -w` would (a zlib stream of "<kind> <size>\\0<data>",
    read-only, renamed into place so no reader ever sees half of it); returns its SHA."""
    raw = b"%s %d\0%s" % (kind.encode(), len(data), data)
    sha = hashlib.sha1(raw).hexdigest()  # noqa: S324 - git's object names are SHA-1
    final = objects / sha[:2] / sha[2:]
    if final.exists():
        return sha
    final.parent.mkdir(exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix="tmp_obj_", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(zlib.compress(raw, 1))
        os.chmod(temporary, 0o444)
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return sha


class ObjectReader:
    """One `git cat-file --batch-command` per repository: started on first use, restarted if it
    died, ended by `close()`. Requests are serialised (handler threads share it). After `close()`
    each request runs a one-shot cat-file, so nothing is left running whoever asks later."""

    def __init__(self, git: Sequence[str], env: Mapping[str, str]) -> None:
        self._argv = [*git, "cat-file", "--batch-command"]
        self._env = dict(env)
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._closed = False

    def read(self, sha: str) -> Optional[tuple[str, bytes]]:
        """(type, content) of the object with this full SHA; None when the store lacks it."""
        found = self._ask(f"contents {sha}\n".encode(), with_content=True)
        return None if found is None else (found[0], found[2])

    def info(self, sha: str) -> Optional[tuple[str, int]]:
        """(type, size) of the object with this full SHA; None when the store lacks it."""
        found = self._ask(f"info {sha}\n".encode(), with_content=False)
        return None if found is None else (found[0], found[1])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop()

    def _ask(self, command: bytes, with_content: bool) -> Optional[tuple[str, int, bytes]]:
        with self._lock:
            if self._closed:
                done = subprocess.run(
                    self._argv, input=command, env=self._env, capture_output=True, check=False
                )
                return _answer(io.BytesIO(done.stdout), with_content)
            for attempt in (1, 2):
                process = self._running()
                assert process.stdin is not None and process.stdout is not None
                try:
                    process.stdin.write(command)
                    process.stdin.flush()
                    return _answer(process.stdout, with_content)
                except (OSError, EOFError):
                    self._stop()  # it died (or was killed): a fresh one answers the retry
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._process = subprocess.Popen(
                self._argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self._env,
            )
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):
            process.stdin.close()  # end of input: cat-file exits on its own
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _answer(out: IO[bytes], with_content: bool) -> Optional[tuple[str, int, bytes]]:
    header = out.readline()
    if not header.endswith(b"\n"):
        raise EOFError("git cat-file ended")
    fields = header.split()
    if len(fields) != 3:
        return None  # "<name> missing" (or "ambiguous", impossible for a full SHA)
    size = int(fields[2])
    content = b""
    if with_content:
        content = out.read(size + 1)
        if len(content) != size + 1:
            raise EOFError("git cat-file ended")
        content = content[:size]
    return fields[1].decode(), size, content
