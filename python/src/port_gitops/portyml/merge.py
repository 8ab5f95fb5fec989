"""Merge rendered entities into an existing port.yml with the smallest possible text change.

Rules: entities are matched by `identifier` and `blueprint`; only the keys the template sets are
changed (nested mappings merge, anything else is replaced); every other entity, key, comment and
blank line is kept byte for byte; an absent entity is appended; an object-form file stays one when
it holds only the entity. Edits are positional, so before returning, the new text is loaded back
and must mean exactly the old content with those changes: anything else is an error, never a file.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional, Sequence

import yaml

from port_gitops import yamlload
from port_gitops.errors import InvalidInputError, JobFailedError, UsageError
from port_gitops.portyml import document, emit, textedit
from port_gitops.portyml.document import AliasRef, Document
from port_gitops.portyml.textedit import Edit

MATCH_KEYS = ("identifier", "blueprint")
DEFAULT_STEP = 2


class MergeResult(NamedTuple):
    text: str  # the new file text; the existing text itself when nothing changed
    changed: bool
    changes: tuple[str, ...]  # one line per change, e.g. "service payments: properties.type a -> b"
    created: bool  # there was no existing file


def merge(
    existing: Optional[str], entities: Sequence[Mapping[str, Any]], *, source: str = "port.yml"
) -> MergeResult:
    """Merge `entities` into the `existing` text (None: no file yet); malformed text is InvalidInputError."""
    for entity in entities:
        if not all(isinstance(entity.get(key), str) for key in MATCH_KEYS):
            raise UsageError(
                f"template: every entity needs a string identifier and blueprint, not {entity!r}"
            )
    entities = _combined(entities)
    if existing is None:
        lines = [line for entity in entities for line in emit.list_item_lines(entity, 0, 2, DEFAULT_STEP)]
        added = tuple(f"{_label(entity)}: added" for entity in entities)
        return MergeResult("\n".join(lines) + "\n", bool(entities), added, created=True)

    doc = document.parse(existing, source)
    if isinstance(doc.root, yaml.MappingNode) and not all(_matches(doc.root, e) for e in entities):
        # Another entity joins an object-form file: it becomes a list, the object its first item.
        doc = _as_list(doc, doc.root, source)
    editor = _Editor(doc, source)
    # What the new text must load as: the old entities with the changes, then the appended ones.
    expected = list(doc.data) if isinstance(doc.root, yaml.SequenceNode) else [doc.data] if doc.items else []
    mappings = [(i, item) for i, item in enumerate(doc.items) if isinstance(item, yaml.MappingNode)]
    absent = []
    for entity in entities:
        found = [(i, item) for i, item in mappings if _matches(item, entity)]
        for i, item in found:
            editor.merge_entity(item, entity)
            expected[i] = _deep_merge(expected[i], _settable(entity))
        if not found:
            absent.append(entity)
    if absent:
        editor.append(absent)
        expected.extend(absent)
    if not editor.edits:
        return MergeResult(existing, False, (), created=False)
    text = textedit.apply(doc.text, editor.edits)
    _prove(text, expected[0] if isinstance(doc.root, yaml.MappingNode) else expected, source)
    return MergeResult(text, True, tuple(editor.changes), created=False)


def _as_list(doc: Document, root: yaml.MappingNode, source: str) -> Document:
    start, end = root.start_mark.index, root.end_mark.index
    if root.flow_style:
        edits = [Edit(start, start, "["), Edit(end, end, "]")]
    else:
        edits = textedit.as_list_item(doc.text, start, document.last_end(root))
    converted = document.parse(textedit.apply(doc.text, edits), source)
    _prove(converted.text, [doc.data], source)
    return converted


class _Editor:
    """Collects the text edits and the human-readable changes for one existing document."""

    def __init__(self, doc: Document, source: str) -> None:
        self.doc = doc
        self.source = source
        self.newline = textedit.newline_of(doc.text)
        self.step = _indent_step(doc.root)
        self.edits: list[Edit] = []
        self.changes: list[str] = []

    def merge_entity(self, node: yaml.MappingNode, entity: Mapping[str, Any]) -> None:
        for inner in document.walk(node):
            if isinstance(inner, AliasRef) or id(inner) in self.doc.anchored:
                raise InvalidInputError(
                    f"{self.source} line {document.line_of(inner)}: {_label(entity)} uses a YAML anchor or "
                    "alias (& or *), which cannot be changed safely; remove it or edit the entity by hand"
                )
        self._merge_mapping(node, _settable(entity), _label(entity), "")

    def _merge_mapping(
        self, node: yaml.MappingNode, wanted: Mapping[str, Any], label: str, path: str
    ) -> None:
        pairs = self._pairs(node)
        new = {}
        for key, value in wanted.items():
            name = f"{path}{key}"
            if key not in pairs:
                new[key] = value
                self._note(label, name, None, value)
                continue
            key_node, value_node = pairs[key]
            if isinstance(value, Mapping) and isinstance(value_node, yaml.MappingNode):
                self._merge_mapping(value_node, value, label, name + ".")
                continue
            old = document.construct(value_node)
            if not _same(old, value):
                self._note(label, name, old, value)
                self._replace(node, key_node, value_node, value)
        if new:
            self._add(node, new)

    def _note(self, label: str, name: str, old: Any, value: Any) -> None:
        if old is None and isinstance(value, Mapping) and value:
            for key, inner in value.items():
                self._note(label, f"{name}.{key}", None, inner)
        elif old is None:
            self.changes.append(f"{label}: {name} set to {emit.inline(value)}")
        else:
            self.changes.append(f"{label}: {name} {emit.inline(old)} -> {emit.inline(value)}")

    def _pairs(self, node: yaml.MappingNode) -> dict[str, document.Pair]:
        pairs: dict[str, document.Pair] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)  # a scalar: other keys cannot be loaded, aliases were refused
            if key in pairs:
                raise InvalidInputError(
                    f"{self.source} line {document.line_of(key_node)}: duplicate key {key!r}"
                )
            pairs[key] = (key_node, value_node)
        return pairs

    def _replace(self, parent: yaml.MappingNode, key_node: yaml.Node, old: yaml.Node, value: Any) -> None:
        text = self.doc.text
        end = _value_end(text, old)
        if isinstance(value, Mapping) and value and not parent.flow_style:
            # A block mapping goes on the lines after its key; the old value (and nothing else) goes.
            self.edits.append(Edit(self._after_colon(key_node), end, ""))
            lines = emit.block_lines(value, key_node.start_mark.column + self.step, self.step)
            at = textedit.insertion_point(text, document.last_end(old))
            self.edits.append(textedit.insert_lines(text, at, lines, self.newline))
            return
        written = emit.inline(value, flow=bool(parent.flow_style))
        if isinstance(old, yaml.CollectionNode) and not old.flow_style:
            # A block collection starts on the line after its key; the new value goes right after the colon.
            self.edits.append(Edit(self._after_colon(key_node), end, " " + written))
        else:
            start = old.start_mark.index
            self.edits.append(Edit(start, end, (" " if start == end else "") + written))

    def _add(self, node: yaml.MappingNode, new: Mapping[str, Any]) -> None:
        text = self.doc.text
        if node.flow_style:
            body = ", ".join(f"{emit.inline(k)}: {emit.inline(v)}" for k, v in new.items())
            if node.value:
                at = document.last_end(node.value[-1][1])
                self.edits.append(Edit(at, at, ", " + body))
            else:
                at = node.end_mark.index - 1  # before the closing brace
                self.edits.append(Edit(at, at, body))
            return
        lines = emit.block_lines(new, node.value[0][0].start_mark.column, self.step)
        at = textedit.insertion_point(text, document.last_end(node))
        self.edits.append(textedit.insert_lines(text, at, lines, self.newline))

    def append(self, entities: Sequence[Mapping[str, Any]]) -> None:
        self.changes.extend(f"{_label(entity)}: added" for entity in entities)
        text, root = self.doc.text, self.doc.root
        if isinstance(root, yaml.SequenceNode) and root.flow_style:
            body = ", ".join(emit.inline(dict(entity)) for entity in entities)
            if root.value:
                at = document.last_end(root.value[-1])
                self.edits.append(Edit(at, at, ", " + body))
            else:
                at = root.end_mark.index - 1
                self.edits.append(Edit(at, at, body))
            return
        dash, offset = 0, 2
        if isinstance(root, yaml.SequenceNode):
            dash = root.start_mark.column
            first = root.value[0]
            if first.start_mark.line == root.start_mark.line:
                offset = max(2, first.start_mark.column - dash)
        lines = [
            line for entity in entities for line in emit.list_item_lines(entity, dash, offset, self.step)
        ]
        if isinstance(root, yaml.ScalarNode) and root.start_mark.index < root.end_mark.index:
            # `null` or `~`: the empty document's own text is replaced by the list.
            self.edits.append(Edit(root.start_mark.index, root.end_mark.index, self.newline.join(lines)))
            return
        end = len(text) if root is None else document.last_end(root)
        at = textedit.insertion_point(text, end)
        self.edits.append(textedit.insert_lines(text, at, lines, self.newline))

    def _after_colon(self, key_node: yaml.Node) -> int:
        return self.doc.text.index(":", int(key_node.end_mark.index)) + 1


def _value_end(text: str, node: yaml.Node) -> int:
    """Where a replaced value ends: not past the line breaks a block scalar (maybe nested) runs on over."""
    start, end = node.start_mark.index, document.last_end(node)
    return start + len(text[start:end].rstrip())


def _indent_step(root: Optional[yaml.Node]) -> int:
    """The file's own indentation step, taken from its first nested block mapping."""
    if root is None:
        return DEFAULT_STEP
    for node in document.walk(root):
        if isinstance(node, yaml.MappingNode) and not node.flow_style:
            for key, value in node.value:
                if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
                    return max(1, int(value.value[0][0].start_mark.column - key.start_mark.column))
    return DEFAULT_STEP


def _matches(node: yaml.MappingNode, entity: Mapping[str, Any]) -> bool:
    values = {document.scalar_value(k): document.scalar_value(v) for k, v in node.value}
    return all(values.get(key) == entity[key] for key in MATCH_KEYS)


def _combined(entities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One entity per identifier and blueprint: a template naming one twice means both parts."""
    by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entity in entities:
        key = (entity["identifier"], entity["blueprint"])
        by_key[key] = _deep_merge(dict(by_key[key]), entity) if key in by_key else entity
    return list(by_key.values())


def _settable(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entity.items() if key not in MATCH_KEYS}


def _label(entity: Mapping[str, Any]) -> str:
    return f"{entity.get('blueprint')} {entity.get('identifier')}"


def _deep_merge(old: Any, wanted: Any) -> Any:
    if isinstance(old, dict) and isinstance(wanted, Mapping):
        merged = dict(old)
        for key, value in wanted.items():
            merged[key] = _deep_merge(old[key], value) if key in old else value
        return merged
    return wanted


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (True == 1 and 1 == 1.0 are changes here).

    Iterative, and each pair of shared values (a YAML alias loads as one shared object) is compared
    once: an alias bomb costs what its text does, not what its expansion would, and cycles end."""
    pending = [(a, b)]
    seen: set[tuple[int, int]] = set()
    keep = []  # dict() copies compared below: alive until the end, so their ids stay unique
    while pending:
        x, y = pending.pop()
        if (id(x), id(y)) in seen:
            continue
        seen.add((id(x), id(y)))
        if type(x) is not type(y):
            if not (isinstance(x, Mapping) and isinstance(y, Mapping)):
                return False
            x, y = dict(x), dict(y)
            keep += [x, y]
        if isinstance(x, dict):
            if x.keys() != y.keys():
                return False
            pending.extend((x[key], y[key]) for key in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y))
        elif x != y:
            return False
    return True


def _prove(text: str, expected: Any, source: str) -> None:
    """The edited text must load as exactly the intended content, or nothing is written."""
    try:
        proven = _same(yamlload.safe_load(text), expected)
    except yaml.YAMLError:
        proven = False
    if not proven:
        raise JobFailedError(
            f"{source}: could not change the file without changing other content; nothing was written "
            "(please report this file's layout)"
        )
