"""JSONPath as Jenkins' Generic Webhook Trigger reads it (Jayway JsonPath, default options),
evaluated by jsonpath-ng.

`compile_path` validates the expression with Jayway's own scanner (compiler.py, filters.py), refuses
what jsonpath-ng cannot answer as Jayway does (translate.py), and parses the translation once
(query.py); `Query.read(document)` then behaves like `JsonPath.read(body, expression)`.
"""

from __future__ import annotations

import threading

from port_gitops.gwt.jayway import compiler
from port_gitops.gwt.jayway.errors import (
    InvalidPath,
    PathNotFound,
    Unsupported,
)
from port_gitops.gwt.jayway.filters import compile_filter
from port_gitops.gwt.jayway.query import Query
from port_gitops.gwt.jayway.translate import check_supported

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
            path = compiler.compile_path(expression, compile_filter)
            check_supported(path)
            query = _cache[expression] = Query.of(path)
        return query
