"""JSONPath as Jenkins' Generic Webhook Trigger reads it (Jayway JsonPath, default options),
evaluated by jsonpath-ng.

`compile_path` validates the expression with Jayway's own scanner (compiler.py, filters.py), refuses
what jsonpath-ng cannot answer as Jayway does (translate.py), and parses the translation once
(query.py); `Query.read(document)` then behaves like `JsonPath.read(body, expression)`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from port_gitops.gwt.jayway import compiler
from port_gitops.gwt.jayway.errors import (
    InvalidPath,
    PathNotFound,
    Unsupported,
)
from port_gitops.gwt.jayway.query import Query
from port_gitops.gwt.jayway.translate import check_supported

if TYPE_CHECKING:
    from port_gitops.gwt.jayway.filters import Expression
    from port_gitops.gwt.jayway.tokens import Path

__all__ = [
    "InvalidPath",
    "PathNotFound",
    "Query",
    "Unsupported",
    "compile_path",
]

_cache: dict[str, Query] = {}
_lock = threading.Lock()


def compile_path(expression: str) -> Query:
    """The query for `expression`; InvalidPath if Jayway rejects it, Unsupported if jsonpath-ng
    cannot give Jayway's answer. Compiled once, shared between threads."""
    with _lock:
        query = _cache.get(expression)
        if query is None:
            path = compiler.compile_path(expression, _compile_filter)
            check_supported(path)
            query = _cache[expression] = Query.of(path)
        return query


def _compile_filter(criteria: str, compile_path: Callable[[str], Path]) -> Expression:
    # filters.py (ten node classes) loads with the first path that has a filter: most have none.
    from port_gitops.gwt.jayway.filters import compile_filter

    return compile_filter(criteria, compile_path)
