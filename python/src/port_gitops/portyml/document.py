"""The existing port.yml as PyYAML nodes whose marks give every value's exact place in the text.

`yaml.compose` resolves an alias to its anchor's node, whose marks point at the anchor; the composer
here keeps each alias as its own leaf (`AliasRef`) at its own place, and remembers anchored nodes, so
that positions are always those of the text being edited.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple, Optional, Tuple

import yaml

from port_gitops import yamlload
from port_gitops.errors import InvalidInputError, LimitExceededError
from port_gitops.limits import MAX_PORTYML_BYTES, MAX_YAML_DEPTH, too_large

Pair = Tuple[yaml.Node, yaml.Node]


class AliasRef(yaml.Node):
    """An alias (`*name`) where it is written; `value` is the anchored node it stands for."""

    id = "alias"


class _PositionComposer(yaml.SafeLoader):
    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.anchored: set[int] = set()
        self.depth = 0

    def compose_node(self, parent: Optional[yaml.Node], index: int) -> Optional[yaml.Node]:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is None:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor}", event.start_mark
                )
            return AliasRef(target.tag, target, event.start_mark, event.end_mark)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        nested = isinstance(event, yaml.CollectionStartEvent)
        if nested:
            # The composer (and every walk after it) recurses: refuse the depth before the stack ends.
            self.depth += 1
            if self.depth > MAX_YAML_DEPTH:
                raise LimitExceededError(
                    f"{self.source} line {event.start_mark.line + 1}: collections nested deeper than "
                    f"{MAX_YAML_DEPTH} levels, over the limit"
                )
        node = super().compose_node(parent, index)
        if nested:
            self.depth -= 1
        if event.anchor is not None:
            self.anchored.add(id(node))
        return node


class Document(NamedTuple):
    text: str
    root: Optional[yaml.Node]  # None: no document at all (empty, or only comments)
    data: Any  # what yaml.safe_load makes of the text
    anchored: frozenset[int]  # id() of every node that carries an anchor

    @property
    def items(self) -> list[yaml.Node]:
        """The entity nodes (mappings, or aliases of mappings): the root object or the root list's items."""
        if isinstance(self.root, yaml.SequenceNode):
            return list(self.root.value)
        return [self.root] if isinstance(self.root, yaml.MappingNode) else []


def parse(text: str, source: str) -> Document:
    """Parse an existing port.yml; anything but an entity, a list of entities or nothing is invalid input.
    Past the size or nesting limit it is LimitExceededError (README, "Limits")."""
    if len(text) > MAX_PORTYML_BYTES:  # characters: the readers have bounded the bytes already
        raise too_large(source, len(text.encode("utf-8")), MAX_PORTYML_BYTES)
    try:
        composer = _PositionComposer(text, source)  # the reader rejects control characters right here
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
    except yaml.MarkedYAMLError as exc:
        raise InvalidInputError(
            f"{source}{_line(exc)}: not valid YAML: {exc.problem or exc.context}"
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise InvalidInputError(f"{source} line {line}: not valid YAML: {exc.reason}") from None
    try:
        data = yamlload.safe_load(text)  # the pure composer above has accepted the text
    except yaml.MarkedYAMLError as exc:
        raise InvalidInputError(
            f"{source}{_line(exc)}: cannot be loaded: {exc.problem or exc.context}"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a tagged scalar such as `!!int abc`
        line = next((line_of(node) for node in walk(root) if _unconstructible(node)), 0) if root else 0
        raise InvalidInputError(
            f"{source}{f' line {line}' if line else ''}: cannot be loaded: {exc}"
        ) from None
    if isinstance(root, yaml.ScalarNode) and data is not None:
        raise InvalidInputError(f"{source} line {line_of(root)}: expected an entity or a list of entities")
    if isinstance(root, yaml.SequenceNode):
        for item in root.value:
            if not isinstance(item.value if isinstance(item, AliasRef) else item, yaml.MappingNode):
                raise InvalidInputError(f"{source} line {line_of(item)}: expected an entity (a mapping)")
    return Document(text, root, data, frozenset(composer.anchored))


def _line(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f" line {mark.line + 1}" if mark else ""


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def last_end(node: yaml.Node) -> int:
    """Where the node's text ends: a block collection's own end mark lies past trailing comments."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        return last_end(last[1] if isinstance(node, yaml.MappingNode) else last)
    return int(node.end_mark.index)


def scalar_value(node: yaml.Node) -> Optional[str]:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def walk(node: yaml.Node) -> Iterator[yaml.Node]:
    """The node and every node below it (aliases are leaves)."""
    yield node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from walk(key)
            yield from walk(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from walk(item)


def _unconstructible(node: yaml.Node) -> bool:
    if not isinstance(node, yaml.ScalarNode):
        return False
    try:
        construct(node)
    except (yaml.YAMLError, ValueError, KeyError, TypeError, AttributeError):
        return True
    return False


def construct(node: yaml.Node) -> Any:
    """The Python value of an alias-free node, as yaml.safe_load would build it."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
