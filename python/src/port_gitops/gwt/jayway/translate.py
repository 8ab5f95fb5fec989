"""Jayway tokens written as a jsonpath-ng (`jsonpath_ng.ext`) expression with the same answer.

Every step is written so that jsonpath-ng cannot misread or crash on it; what it would still get
wrong is either fixed afterwards (query.py guards two ng node types and shapes the matches) or
refused here as Unsupported, with the reason:

- names are always bracket-quoted: ng reads `a+b`, `true`, `where`, `a:b` or `café` otherwise;
- an index `[n]` becomes the slice `[n:n+1]` (`[-1]` becomes `[-1:]`): ng's Index crashes on an
  object or a short list, its Slice does not; several indexes become a union, in Jayway's order;
- `[*]` / `.*` becomes `.*`, which query.py swaps for one node giving an object's values or a list's
  items: ng's own `*` changed meaning across the releases pyproject admits (up to 1.10 only an
  object's values, from 1.11 a list's items too), so no ng text answers the same on all of them;
- a slice is rewritten where Jayway's differs from Python's (a negative start wraps each index
  separately, a non-negative start with a negative end selects nothing);
- a leaf `['a','b']` becomes `` (`this`|['a','b']) ``: the object itself marks where each merged
  object starts, so objects with none of the names still give `{}`;
- a tail `.length()` is left out and applied to each match afterwards;
- in filters only `&&` of existence checks and equality with a string literal pass (see _filter):
  ng compares numbers, booleans and numeric strings with other coercions than Jayway's, and has no
  `||`, `!`, `!=`, `null` or path-to-path comparisons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Tuple

from port_gitops.gwt.jayway.errors import Unsupported
from port_gitops.gwt.jayway.tokens import (
    Filter,
    Indexes,
    Length,
    Path,
    Property,
    Root,
    Scan,
    Slice,
    Token,
    Wildcard,
)

if TYPE_CHECKING:
    from port_gitops.gwt.jayway.filters import Expression


def translate(tokens: Tuple[Token, ...], *, merge_leaf: bool = False) -> str:
    """The ng expression for `tokens` (which start with the root and have no tail `length()`).

    With `merge_leaf`, a final multi-property also yields its object, to group the matches by.
    """
    text = "$"
    after_scan = False
    for i, token in enumerate(tokens[1:], start=1):
        if isinstance(token, Scan):
            text += ".."
            after_scan = True
            continue
        if merge_leaf and i == len(tokens) - 1 and isinstance(token, Property):
            step = "(`this`|" + _names(token.names) + ")"
        else:
            step = _step(token)
        if step.startswith(("(", "*")) and not after_scan:
            text += "."
        text += step
        after_scan = False
    return text


def check_supported(path: Path) -> None:
    """Refuse what no translation reproduces; the scanner has refused the rest already."""
    tokens = path.tokens
    for i, token in enumerate(tokens):
        if i and isinstance(tokens[i - 1], Scan):
            if isinstance(token, Filter):
                raise Unsupported("a filter right after '..' (jsonpath-ng reports a match twice)")
            if isinstance(token, Property) and len(token.names) > 1:
                raise Unsupported("several properties right after '..'")
        if isinstance(token, Property) and "*" in token.names:
            raise Unsupported("a property named '*' (jsonpath-ng reads it as a wildcard)")


def _step(token: Token) -> str:
    if isinstance(token, Property):
        return _names(token.names)
    if isinstance(token, Indexes):
        slices = [_index(index) for index in token.indexes]
        return slices[0] if len(slices) == 1 else "(" + "|".join(slices) + ")"
    if isinstance(token, Slice):
        return _slice(token)
    if isinstance(token, Wildcard):
        return "*"
    if isinstance(token, Filter):
        return _filter(token.criteria)
    raise AssertionError(f"no jsonpath-ng step for {token}")  # Root, Scan and Length are handled above


def _quote(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _names(names: Tuple[str, ...]) -> str:
    return "[" + ",".join(_quote(name) for name in names) + "]"


def _index(index: int) -> str:
    if index == -1:
        return "[-1:]"
    return f"[{index}:{index + 1}]"


def _slice(token: Slice) -> str:
    start, stop = token.start, token.stop
    if start is None:
        return f"[:{stop}]"
    if stop is None:
        return f"[{start}:]"
    if start < 0 <= stop:  # Jayway walks start..stop-1 and wraps each negative index on its own
        return f"([{start}:]|[:{stop}])"
    if start >= 0 > stop:  # start < stop never holds: Jayway selects nothing
        return "[0:0]"
    return f"[{start}:{stop}]"


def _filter(criteria: Expression) -> str:
    """`[?(c1 && c2 && @.e1 && @.e2)]` as `[?(c1 & c2 & @.e1)][?(@.e2)]`.

    ng reads `@['a'] & ...` as an intersection of paths, so an existence check can only close an
    ng filter. Chaining is exact: an item that passed an existence check is an object, and a filter
    on an object tests that object, as in Jayway.
    """
    from port_gitops.gwt.jayway.filters import Exists  # loaded by the compiler for a filter already

    parts = _conjuncts(criteria)
    comparisons = [_condition(p) for p in parts if not isinstance(p, Exists)]
    checks = [_condition(p) for p in parts if isinstance(p, Exists)]
    first = " & ".join(comparisons + checks[:1])
    return "".join(f"[?({condition})]" for condition in [first, *checks[1:]])


def _conjuncts(criteria: Expression) -> List[Expression]:
    from port_gitops.gwt.jayway.filters import AllOf

    if isinstance(criteria, AllOf):
        return [leaf for part in criteria.parts for leaf in _conjuncts(part)]
    return [criteria]


def _condition(part: Expression) -> str:
    from port_gitops.gwt.jayway.filters import Compare, Exists, PathOperand, StringLiteral, is_number_text

    if isinstance(part, Exists):
        if not part.should_exist:
            raise Unsupported("a negated filter condition ('!')")
        if len(part.path.tokens) == 1:
            raise Unsupported(f"the filter condition {part.path.text}")
        return _item_path(part.path)
    if isinstance(part, Compare):
        if not isinstance(part.left, PathOperand) or not isinstance(part.right, StringLiteral):
            raise Unsupported("a filter comparison other than @.path == 'text'")
        literal = part.right.text
        if part.operator not in ("==", "==="):
            raise Unsupported(f"the filter operator {part.operator} (only == and === with a string)")
        if part.operator == "==" and is_number_text(literal):
            # Jayway finds the number 1 equal to '1'; jsonpath-ng does not
            raise Unsupported(f"== with the numeric string {_quote(literal)} (use ===)")
        return f"{_item_path(part.left.path)} == {_quote(literal)}"
    raise Unsupported("'||' or '!' in a filter (only && is reproduced)")


def _item_path(path: Path) -> str:
    """`@` and plain names: the only filter paths ng reads the item with exactly as Jayway does."""
    if path.tokens[0] != Root("@"):
        raise Unsupported(f"the filter path {path.text} (only paths from @ are reproduced)")
    body = path.tokens[1:]
    if not all(isinstance(t, Property) and len(t.names) == 1 and t.names != ("*",) for t in body):
        kind = "length()" if any(isinstance(t, Length) for t in body) else "anything but names"
        raise Unsupported(f"the filter path {path.text} ({kind} after @ is not reproduced)")
    return "@" + "".join(_names(t.names) for t in body if isinstance(t, Property))
