"""What can go wrong with a JSONPath, split by who is to blame.

Compile time: `InvalidPath` is a path Jayway itself rejects (GWT would never resolve it);
`Unsupported` is a valid Jayway path whose answer jsonpath-ng cannot be made to give.
Run time: `PathNotFound` is Jayway's "not found", which GWT treats as "not resolved".
"""

from __future__ import annotations


class InvalidPath(Exception):
    """Jayway's InvalidPathException: the expression does not compile."""


class CompileFailure(InvalidPath):
    """Any other exception Jayway meets while compiling (index out of range, bad number).

    Jayway reports it as an invalid path too, but its filter compiler only backtracks on a genuine
    InvalidPathException, so callers that backtrack must let this one through.
    """


class Unsupported(Exception):
    """Valid for Jayway, but jsonpath-ng cannot be made to give Jayway's answer."""


class PathNotFound(Exception):
    """Jayway's PathNotFoundException."""
