"""Independent requests at the same time, on the one pooled session: a small bounded pool.

Used where one step's reads do not depend on each other (Data Center's per-branch lookups; the default
reviewers beside the first reads). Results come back in call order; when calls fail, the first
failure in call order is raised, after every call has ended (nothing is left running behind an error).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generic, List, Sequence, TypeVar

_T = TypeVar("_T")
MAX_WORKERS = 4  # a handful of reads at once: the session's pool keeps one connection per worker


def all_of(calls: Sequence[Callable[[], _T]]) -> List[_T]:
    """Run `calls` concurrently (one at a time when there is only one) and return their results."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]  # the pool has joined: every call has ended


class Prefetch(Generic[_T]):
    """One call started now, in a thread of its own, whose result is asked for later (`result()`).
    `close()` waits for it without raising: a prefetch nobody asked for never outlives its step."""

    def __init__(self, call: Callable[[], _T]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future: Future[_T] = self._pool.submit(call)

    def result(self) -> _T:
        return self._future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
