"""Compiled paths and their evaluation, token by token as Jayway's PathToken classes do it.

The rules that decide GWT's answer live here: a path is *definite* when every token is (one
property, one index, a leaf multi-property, a function); a definite path yields its single value or
"not found", an indefinite one always yields a list. Whether a missing property ends the whole read
or is skipped depends on where it sits, exactly as in Jayway (no options set, as in GWT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Protocol, Tuple, Union

from port_gitops.gwt.jayway.errors import InvalidPath, PathNotFound


class Predicate(Protocol):
    def matches(self, item: Any, root: Any) -> bool: ...


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
    predicate: Predicate


@dataclass(frozen=True)
class Length:
    """`length()`, the one path function reproduced (only as the last token)."""


Token = Union[Root, Property, Indexes, Slice, Wildcard, Scan, Filter, Length]


@dataclass(frozen=True)
class Path:
    text: str
    tokens: Tuple[Token, ...]

    @property
    def definite(self) -> bool:
        return all(_token_definite(self.tokens, i) for i in range(len(self.tokens)))

    def read(self, document: Any, root: Any, *, require_properties: bool = False) -> Any:
        """JsonPath.read: the value of a definite path, or the list an indefinite one collects.

        `root` is what `$` means inside filters. Raises PathNotFound (or another evaluation error)
        where Jayway throws.
        """
        results = _Evaluation(self, root, require_properties).run(document)
        if not self.definite:
            return results
        if not results:
            raise PathNotFound(f"no results for path {self.text}")
        return results[-1]


def _token_definite(tokens: Tuple[Token, ...], i: int) -> bool:
    token = tokens[i]
    if isinstance(token, Property):
        return len(token.names) == 1 or i == len(tokens) - 1  # a leaf multi-property is merged
    if isinstance(token, Indexes):
        return len(token.indexes) == 1
    return isinstance(token, (Root, Length))


class _Evaluation:
    def __init__(self, path: Path, root: Any, require_properties: bool) -> None:
        self.tokens = path.tokens
        self.root = root
        self.require = require_properties  # Jayway's REQUIRE_PROPERTIES, used for filter exists-checks
        self.definite = [_token_definite(self.tokens, i) for i in range(len(self.tokens))]
        self.upstream = [all(self.definite[:i]) for i in range(len(self.tokens))]
        self.results: List[Any] = []

    def run(self, document: Any) -> List[Any]:
        self.evaluate(0, document)
        return self.results

    def evaluate(self, i: int, model: Any) -> None:
        token = self.tokens[i]
        if isinstance(token, Root):
            self.emit(i, model)
        elif isinstance(token, Property):
            self.property(i, token, model)
        elif isinstance(token, Indexes):
            self.indexes(i, token, model)
        elif isinstance(token, Slice):
            self.slice(i, token, model)
        elif isinstance(token, Wildcard):
            self.wildcard(i, model)
        elif isinstance(token, Scan):
            self.scan(i, model)
        elif isinstance(token, Filter):
            self.filter(i, token, model)
        else:  # Length, always the last token
            self.results.append(len(model) if isinstance(model, (list, dict)) else None)

    def leaf(self, i: int) -> bool:
        return i == len(self.tokens) - 1

    def emit(self, i: int, value: Any) -> None:
        if self.leaf(i):
            self.results.append(value)
        else:
            self.evaluate(i + 1, value)

    # -- objects ----------------------------------------------------------------------------
    def property(self, i: int, token: Property, model: Any) -> None:
        if not isinstance(model, dict):
            if self.upstream[i]:
                raise PathNotFound(f"expected an object with property {list(token.names)}")
            return
        if len(token.names) == 1 or self.leaf(i):
            self.object_property(i, model, token.names)
        else:
            for name in token.names:
                self.object_property(i, model, (name,))

    def object_property(self, i: int, model: dict[str, Any], names: Tuple[str, ...]) -> None:
        if len(names) > 1:  # leaf multi-property: one merged object of the properties present
            merged = {}
            for name in names:
                if name in model:
                    merged[name] = model[name]
                elif self.require:
                    raise PathNotFound(f"missing property {name!r}")
            self.results.append(merged)
            return
        name = names[0]
        if name in model:
            self.emit(i, model[name])
        elif self.leaf(i):
            if self.require:
                raise PathNotFound(f"no results for property {name!r}")
        elif (self.upstream[i] and self.definite[i]) or self.require:
            raise PathNotFound(f"missing property {name!r}")

    def wildcard(self, i: int, model: Any) -> None:
        if isinstance(model, dict):
            for value in list(model.values()):
                self.emit(i, value)
        elif isinstance(model, list):
            for index in range(len(model)):
                try:
                    self.array_index(i, index, model)
                except PathNotFound:  # Jayway skips an element whose branch finds nothing
                    if self.require:
                        raise

    # -- arrays ------------------------------------------------------------------------------
    def array_model(self, i: int, model: Any) -> bool:
        if isinstance(model, list):
            return True
        if self.upstream[i]:
            raise PathNotFound("an index can only be applied to an array")
        return False

    def array_index(self, i: int, index: int, model: List[Any]) -> None:
        effective = index + len(model) if index < 0 else index
        if 0 <= effective < len(model):
            self.emit(i, model[effective])

    def indexes(self, i: int, token: Indexes, model: Any) -> None:
        if self.array_model(i, model):
            for index in token.indexes:
                self.array_index(i, index, model)

    def slice(self, i: int, token: Slice, model: Any) -> None:
        if not self.array_model(i, model):
            return
        length = len(model)
        if token.stop is None:  # [from:]
            assert token.start is not None
            start = max(0, token.start + length if token.start < 0 else token.start)
            positions = range(start, length)
        elif token.start is None:  # [:to]
            stop = token.stop + length if token.stop < 0 else token.stop
            positions = range(0, min(length, stop))
        else:  # [from:to]: Jayway does not normalise a negative `from` here, each index wraps alone
            stop = min(length, token.stop)
            positions = range(token.start, stop) if length and token.start < stop else range(0)
        for index in positions:
            self.array_index(i, index, model)

    # -- filters and deep scan ---------------------------------------------------------------
    def filter(self, i: int, token: Filter, model: Any) -> None:
        if isinstance(model, dict):  # a filter on an object tests the object itself
            if self.accept(token, model):
                self.emit(i, model)
        elif isinstance(model, list):
            for index, item in enumerate(model):
                if self.accept(token, item):
                    self.array_index(i, index, model)
        elif self.upstream[i]:
            raise InvalidPath("a filter can not be applied to a primitive")

    def accept(self, token: Filter, item: Any) -> bool:
        try:
            return token.predicate.matches(item, self.root)
        except InvalidPath:
            return False

    def scan(self, i: int, model: Any) -> None:
        # The compiler only lets a scan be followed by one last token: beyond that Jayway's deep
        # scan keeps state between evaluations and differs between versions.
        target = self.tokens[i + 1]
        self.walk(i + 1, model, self.scan_predicate(target))

    def scan_predicate(self, target: Token) -> Callable[[Any], bool]:
        if isinstance(target, Property):
            return lambda model: isinstance(model, dict) and all(name in model for name in target.names)
        if isinstance(target, (Indexes, Slice)):
            return lambda model: isinstance(model, list)
        if isinstance(target, Filter):
            return lambda model: self.accept(target, model)
        return lambda model: True  # Wildcard

    def walk(self, target: int, model: Any, matches: Callable[[Any], bool]) -> None:
        if isinstance(model, dict):
            if matches(model):
                self.evaluate(target, model)
            children = list(model.values())
        elif isinstance(model, list):
            if matches(model):
                self.evaluate(target, model)
            children = list(model)
        else:
            return
        for child in children:
            self.walk(target, child, matches)
