"""Load YAML into dicts and lists that remember the line of every key and item.

Validation messages must name the file, the line and the key. PyYAML records a
start mark on every node while composing; this loader keeps them: mappings load
as :class:`MarkedDict` (``.line`` of the mapping, ``.key_line(k)`` of each key)
and sequences as :class:`MarkedList` (``.line``, ``.item_line(i)``). Lines are
1-based. Duplicate keys, which plain ``yaml.safe_load`` silently overwrites,
raise an error naming both lines.

Aliases (``*name``) may only expand the document to :data:`MAX_NODES` nodes: a
few hundred bytes of nested aliases ("billion laughs") would otherwise build
billions of nodes. The expanded size is counted on the composed node graph,
each node once (memoised), before anything is constructed, so refusing costs
time and memory in proportion to the text, not to its expansion.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MarkedDict", "MarkedList", "load_marked", "line_of", "YAMLTooLarge", "MAX_NODES"]

#: Most nodes (scalars, lists, mappings; aliases counted as what they stand for) a document may expand to.
MAX_NODES = 100_000


class MarkedDict(dict):
    """A dict with the 1-based line of itself (``line``) and of each key."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}

    def key_line(self, key: Any) -> int:
        """Line of ``key`` (the mapping's own line when the key is absent)."""
        return self.lines.get(key, self.line)


class MarkedList(list):
    """A list with the 1-based line of itself (``line``) and of each item."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def item_line(self, index: int) -> int:
        """Line of item ``index``."""
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class YAMLTooLarge(yaml.MarkedYAMLError):
    """The document expands its aliases beyond :data:`MAX_NODES` nodes (or refers to itself)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences keep their marks, and which records where aliases are."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_marks: list[tuple[yaml.Mark, yaml.Node]] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            self.alias_marks.append((mark, node))
            return node
        return super().compose_node(parent, index)


def _expanded_size(root: yaml.Node, aliases: list[tuple[yaml.Mark, yaml.Node]]) -> None:
    """Raise :class:`YAMLTooLarge` when ``root`` expands to more than MAX_NODES nodes or contains itself."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise YAMLTooLarge(None, None, "an alias refers to the list or mapping that contains it",
                               node.start_mark)
        open_.add(key)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(size(c) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        open_.discard(key)
        sizes[key] = n = min(n, MAX_NODES + 1)  # capped, so the counts stay small integers
        return n

    if size(root) > MAX_NODES:
        mark, _ = max(aliases, key=lambda a: sizes.get(id(a[1]), 0), default=(root.start_mark, root))
        raise YAMLTooLarge(None, None, f"expands its aliases to more than {MAX_NODES:,} values; the largest "
                           "alias is here. Write the values out, or use fewer nested aliases", mark)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    out = MarkedDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise _DuplicateKey(f"while loading a mapping (line {out.line})", node.start_mark,
                                f"duplicate key {key!r} (first on line {out.lines[key]})", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> MarkedList:
    out = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_marked(text: str) -> Any:
    """Parse YAML text (safe subset) into MarkedDict / MarkedList / scalars.

    Raises
    ------
    yaml.YAMLError
        Syntax errors and duplicate keys; ``problem_mark`` holds the position.
    YAMLTooLarge
        Aliases expand the document beyond :data:`MAX_NODES` nodes, or an alias contains itself.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, loader.alias_marks)
        return loader.construct_document(node)
    except RecursionError:
        raise YAMLTooLarge(None, None, "is nested too deeply (lists or mappings inside one another)",
                           loader.peek_event().start_mark if loader.check_event() else None) from None
    finally:
        loader.dispose()


def line_of(container: Any, key: Any = None) -> int:
    """Line of ``container[key]`` (or of the container), 0 when unknown."""
    if isinstance(container, MarkedDict):
        return container.key_line(key) if key is not None else container.line
    if isinstance(container, MarkedList):
        return container.item_line(key) if isinstance(key, int) else container.line
    return 0
