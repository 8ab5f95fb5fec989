"""jsonpath-ng evaluates; this module turns its matches into the answer Jayway gives.

`JsonPath.read` semantics on top of `find()`:
- a definite path gives its single value or "not found"; an indefinite one always a list;
- ng's wildcard is replaced, and two ng node types get a guard on what they accept (see
  _jayway_nodes): the rest is ng's own;
- where Jayway throws instead of skipping (a property, index or filter that does not fit, while the
  path is still definite), an indefinite path that found nothing is not found rather than `[]`;
- leaf multi-properties become one merged object each; a tail `length()` is applied per match.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from typing import Any, Dict, List, NamedTuple, Tuple

import jsonpath_ng.jsonpath
from jsonpath_ng import DatumInContext, Fields, Index, JSONPath
from jsonpath_ng import Slice as NgSlice
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parser as ng_ext_parser
from jsonpath_ng.ext.filter import Filter as NgFilter

from port_gitops.gwt.jayway.errors import InvalidPath, PathNotFound, Unsupported
from port_gitops.gwt.jayway.tokens import Filter, Indexes, Length, Path, Property, Slice, Token
from port_gitops.gwt.jayway.translate import translate

_NG_WILDCARD = getattr(jsonpath_ng.jsonpath, "Wildcard", ())  # ng's own `*` node, from 1.16
_parsed: Dict[str, JSONPath] = {}
_parse_lock = threading.Lock()  # PLY's parser keeps its state in the instance: one parse at a time
# Spelled "Extented" before jsonpath-ng 1.8 (the old name stays as an alias there).
_PARSER_CLASS = getattr(ng_ext_parser, "ExtendedJsonPathParser", None) or ng_ext_parser.ExtentedJsonPathParser


@functools.cache
def _ng_parser() -> Any:
    """jsonpath-ng's extended parser, built once per process: `jsonpath_ng.ext.parse` builds a new one
    for every expression. Its `parse` takes a fresh lexer each call."""
    _offer_tables()
    return _PARSER_CLASS()


def _offer_tables() -> None:
    """Put the shipped LALR tables (ng_tables.py, python/build_parser_tables.py) where PLY looks for a
    table module: jsonpath-ng never writes one, so PLY would generate them again (~10 ms a process).
    PLY takes them only when their signature matches the installed grammar, else generates as before."""
    try:
        from jsonpath_ng._ply import yacc
    except ImportError:  # a jsonpath-ng without its own PLY: nothing to offer
        return
    from port_gitops.gwt.jayway import ng_tables

    if getattr(yacc, "__tabversion__", None) != ng_tables.TABVERSION:
        return  # PLY would warn on stderr about a table version it cannot read
    module = types.ModuleType(ng_tables.MODULE)
    module.__dict__.update(
        _tabversion=ng_tables.TABVERSION,
        _lr_method=ng_tables.METHOD,
        _lr_signature=ng_tables.SIGNATURE,
        _lr_action=ng_tables.ACTION,
        _lr_goto=ng_tables.GOTO,
        _lr_productions=ng_tables.PRODUCTIONS,
    )
    sys.modules.setdefault(ng_tables.MODULE, module)


def ng_parse(expression: str) -> JSONPath:
    """`jsonpath_ng.ext.parse`, on the one parser."""
    return _ng_parser().parse(expression)


def parsed(expression: str) -> JSONPath:
    """`jsonpath_ng.ext.parse(expression)`, once per expression."""
    with _parse_lock:
        tree = _parsed.get(expression)
        if tree is None:
            try:
                tree = _parsed[expression] = _jayway_nodes(ng_parse(expression))
            except (JsonPathLexerError, JsonPathParserError) as exc:
                raise Unsupported(f"jsonpath-ng cannot parse {expression}: {exc}") from exc
        return tree


class Query(NamedTuple):
    """A Jayway path, ready to read documents with jsonpath-ng."""

    path: Path
    ng: JSONPath

    @classmethod
    def of(cls, path: Path) -> Query:
        return cls(path, parsed(translate(_evaluated(path), merge_leaf=_merges_leaf(path))))

    @property
    def text(self) -> str:
        return self.path.text

    @property
    def definite(self) -> bool:
        return self.path.definite

    def read(self, document: Any) -> Any:
        """JsonPath.read: the value of a definite path, or the list an indefinite one collects.

        Raises PathNotFound (or InvalidPath) where Jayway throws.
        """
        values = self._values(document)
        if self.definite:
            if not values:
                raise PathNotFound(f"no results for path {self.text}")
            return values[-1]
        if not values:
            self._check_definite_prefix(document)
        return values

    def _values(self, document: Any) -> List[Any]:
        matches: List[DatumInContext] = self.ng.find(document)
        if _merges_leaf(self.path):
            return _merged(matches, self.path.tokens[-1])
        if isinstance(self.path.tokens[-1], Length):
            return [len(m.value) if isinstance(m.value, (list, dict)) else None for m in matches]
        return [m.value for m in matches]

    def _check_definite_prefix(self, document: Any) -> None:
        """Raise where Jayway throws: a definite step that does not fit the value before it."""
        tokens = self.path.tokens
        end = self.path.definite_prefix
        value = document
        for length in range(2, end + 1):
            found = parsed(translate(tokens[:length])).find(document)
            if not found:
                if isinstance(tokens[length - 1], Indexes) and isinstance(value, list):
                    return  # an index out of range just selects nothing
                raise PathNotFound(f"{self.text}: nothing at step {length - 1}")
            value = found[-1].value
        if not _fits(tokens[end], value):
            problem = f"{self.text}: step {end} does not apply to {type(value).__name__}"
            raise InvalidPath(problem) if isinstance(tokens[end], Filter) else PathNotFound(problem)


def _evaluated(path: Path) -> Tuple[Token, ...]:
    tokens = path.tokens
    return tokens[:-1] if isinstance(tokens[-1], Length) else tokens


def _merges_leaf(path: Path) -> bool:
    leaf = path.tokens[-1]
    return isinstance(leaf, Property) and len(leaf.names) > 1


def _fits(token: Token, value: Any) -> bool:
    """Whether Jayway accepts this first indefinite step on a value reached by a definite path."""
    if isinstance(token, Property):
        return isinstance(value, dict)
    if isinstance(token, (Indexes, Slice)):
        return isinstance(value, list)
    if isinstance(token, Filter):
        return isinstance(value, (dict, list))
    return True  # a wildcard or a deep scan on anything else just finds nothing


def _merged(matches: List[DatumInContext], leaf: Token) -> List[Any]:
    """Matches of `X.(this|['a','b'])`: each object X, then those of its properties that exist."""
    assert isinstance(leaf, Property)
    groups: List[Tuple[DatumInContext, Dict[str, Any]]] = []
    for match in matches:
        if groups and match.context is groups[-1][0]:
            groups[-1][1][match.path.fields[0]] = match.value
        else:
            groups.append((match, {}))
    return [merged for parent, merged in groups if isinstance(parent.value, dict)]


class _JaywaySlice(NgSlice):  # type: ignore[misc]
    """ng's Slice on anything but a list wraps it in a one-item list first (and crashes on a
    Decimal); Jayway's index and slice select nothing there."""

    def find(self, datum: Any) -> List[DatumInContext]:
        datum = DatumInContext.wrap(datum)
        return super().find(datum) if isinstance(datum.value, list) else []


class _JaywayFilter(NgFilter):  # type: ignore[misc]
    """ng's own filter expressions, applied to the items Jayway filters.

    ng's Filter turns an object into the list of its values, by assigning it back into the document
    it reads; Jayway tests the object itself. Only which items get tested differs; ng decides.
    """

    def find(self, datum: Any) -> List[DatumInContext]:
        datum = DatumInContext.wrap(datum)
        if isinstance(datum.value, dict):
            candidates = [datum]
        elif isinstance(datum.value, list):
            candidates = [DatumInContext(v, path=Index(i), context=datum) for i, v in enumerate(datum.value)]
        else:
            return []
        return [c for c in candidates if all(e.find(c.value) for e in self.expressions)]


class _JaywayWildcard(JSONPath):  # type: ignore[misc]
    """Jayway's `*` and `[*]`: an object's values, or a list's items, and nothing from a scalar.

    ng's own `*` changed meaning between the releases pyproject admits (up to 1.10 an object's values
    only, from 1.11 a list's items too, as RFC 9535), so this node answers the same on all of them.
    An object's values come from ng's own `*` node, which gives them on every release.
    """

    def __init__(self, values: JSONPath) -> None:
        self.values = values

    def find(self, datum: Any) -> List[DatumInContext]:
        datum = DatumInContext.wrap(datum)
        if isinstance(datum.value, list):
            return [DatumInContext(v, path=Index(i), context=datum) for i, v in enumerate(datum.value)]
        return list(self.values.find(datum)) if isinstance(datum.value, dict) else []

    def __str__(self) -> str:
        return "*"

    def __repr__(self) -> str:
        return "JaywayWildcard()"


def _is_wildcard(node: JSONPath) -> bool:
    """ng's parse of a bare `*`: `Fields('*')` up to 1.15, a `Wildcard` node from 1.16."""
    if isinstance(node, Fields):
        return tuple(node.fields) == ("*",)
    return isinstance(node, _NG_WILDCARD)


def _jayway_nodes(tree: JSONPath) -> JSONPath:
    """The parsed tree with ng's wildcard, Slice and Filter nodes swapped for the ones above."""
    if _is_wildcard(tree):
        return _JaywayWildcard(tree)
    if isinstance(tree, NgSlice):
        return _JaywaySlice(tree.start, tree.end, tree.step)
    if isinstance(tree, NgFilter):
        return _JaywayFilter(tree.expressions)
    for side in ("left", "right"):
        child = getattr(tree, side, None)
        if isinstance(child, JSONPath):
            setattr(tree, side, _jayway_nodes(child))
    return tree
