"""A compiled Jayway path as syntax: its tokens, and whether Jayway treats it as definite.

A path is *definite* when every token is (one property, one index, a leaf multi-property, a
function); a definite path yields its single value or "not found", an indefinite one always a list.
Nothing here evaluates anything: jsonpath-ng does that (see query.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple, Union

if TYPE_CHECKING:
    from port_gitops.gwt.jayway.filters import Expression


@dataclass(frozen=True)
class Root:
    """`$` or `@`: both start at the document handed to the path."""

    char: str


@dataclass(frozen=True)
class Property:
    names: Tuple[str, ...]


@dataclass(frozen=True)
class Indexes:
    indexes: Tuple[int, ...]


@dataclass(frozen=True)
class Slice:
    start: Optional[int]
    stop: Optional[int]


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Scan:
    pass


@dataclass(frozen=True)
class Filter:
    criteria: Expression


@dataclass(frozen=True)
class Length:
    """`length()`, the one path function supported (only as the last token)."""


Token = Union[Root, Property, Indexes, Slice, Wildcard, Scan, Filter, Length]


@dataclass(frozen=True)
class Path:
    text: str
    tokens: Tuple[Token, ...]

    @property
    def definite(self) -> bool:
        return all(token_definite(self.tokens, i) for i in range(len(self.tokens)))

    @property
    def definite_prefix(self) -> int:
        """How many leading tokens are definite: where Jayway still throws instead of skipping."""
        tokens = self.tokens
        return next((i for i in range(len(tokens)) if not token_definite(tokens, i)), len(tokens))


def token_definite(tokens: Tuple[Token, ...], i: int) -> bool:
    token = tokens[i]
    if isinstance(token, Property):
        return len(token.names) == 1 or i == len(tokens) - 1  # a leaf multi-property is merged
    if isinstance(token, Indexes):
        return len(token.indexes) == 1
    return isinstance(token, (Root, Length))
