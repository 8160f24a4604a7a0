"""Load YAML into dicts and lists that remember the line of every key and item.

Validation messages must name the file, the line and the key. PyYAML records a
start mark on every node while composing; this loader keeps them: mappings load
as :class:`MarkedDict` (``.line`` of the mapping, ``.key_line(k)`` of each key)
and sequences as :class:`MarkedList` (``.line``, ``.item_line(i)``). Lines are
1-based. Duplicate keys, which plain ``yaml.safe_load`` silently overwrites,
raise an error naming both lines.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MarkedDict", "MarkedList", "load_marked", "line_of"]


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


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences keep their marks."""


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
    """
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader


def line_of(container: Any, key: Any = None) -> int:
    """Line of ``container[key]`` (or of the container), 0 when unknown."""
    if isinstance(container, MarkedDict):
        return container.key_line(key) if key is not None else container.line
    if isinstance(container, MarkedList):
        return container.item_line(key) if isinstance(key, int) else container.line
    return 0
