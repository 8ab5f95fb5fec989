"""JSONPath exactly as Jenkins' Generic Webhook Trigger reads it: Jayway JsonPath, default options.

`compile_path` parses each expression once (cached under a lock, so concurrent resolvers share it);
`Path.read(document, document)` then behaves like `JsonPath.read(body, expression)`.
"""

from __future__ import annotations

import threading

from port_gitops.gwt.jayway import compiler
from port_gitops.gwt.jayway.errors import EvaluationFailure, InvalidPath, PathNotFound, Unsupported
from port_gitops.gwt.jayway.filters import compile_filter
from port_gitops.gwt.jayway.tokens import Path

__all__ = ["EvaluationFailure", "InvalidPath", "Path", "PathNotFound", "Unsupported", "compile_path"]

_cache: dict[str, Path] = {}
_lock = threading.Lock()


def compile_path(expression: str) -> Path:
    """The compiled path; InvalidPath if Jayway rejects it, Unsupported if we cannot match Jayway."""
    with _lock:
        path = _cache.get(expression)
        if path is None:
            path = _cache[expression] = compiler.compile_path(expression, compile_filter)
        return path
