"""A compiled Jayway path as syntax: its tokens, and whether Jayway treats it as definite.

A path is *definite* when every token is (one property, one index, a leaf multi-property, a
function); a definite path yields its single value or "not found", an indefinite one always a list.
Nothing here evaluates anything: jsonpath-ng does that (see query.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional, Tuple, Union

if TYPE_CHECKING:
    from port_gitops.gwt.jayway.filters import Expression


class Root(NamedTuple):
    """`$` or `@`: both start at the document handed to the path."""

    char: str


class Property(NamedTuple):
    names: Tuple[str, ...]


class Indexes(NamedTuple):
    indexes: Tuple[int, ...]


class Slice(NamedTuple):
    start: Optional[int]
    stop: Optional[int]


class _Mark:
    """A token without a value: a plain class, since a field-less NamedTuple would equal `()` and every
    other one. Equal by class, as a frozen dataclass is."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Wildcard(_Mark):
    __slots__ = ()


class Scan(_Mark):
    __slots__ = ()


class Filter(NamedTuple):
    criteria: Expression


class Length(_Mark):
    """`length()`, the one path function supported (only as the last token)."""

    __slots__ = ()


Token = Union[Root, Property, Indexes, Slice, Wildcard, Scan, Filter, Length]


class Path(NamedTuple):
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
