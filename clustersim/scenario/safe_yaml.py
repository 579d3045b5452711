"""Reading YAML that a careless or hostile hand wrote, with bounds checked before anything grows.

PyYAML's safe loader builds no objects of its own choosing, but it still accepts what a shared
machine should not: a file of any size, aliases that reference aliases (a "billion laughs" of
a few hundred bytes expands to gigabytes once anything walks it), and a mapping that gives one
key twice (the last silently wins). This module reads a document with those bounds:

* the text is at most :data:`MAX_FILE_BYTES` (checked before reading);
* at most :data:`MAX_ALIASES` aliases, and the document, with every alias expanded, has at most
  :data:`MAX_NODES` nodes (counted on the shared structure, without expanding it);
* no mapping repeats a key;
* a value that is a NaN or an infinity is refused: clustersim's inputs are finite numbers.

Every refusal is an :class:`~clustersim.errors.InputError` naming where it is (line and column,
or the dotted path of the value).
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from clustersim.errors import InputError

__all__ = ["MAX_ALIASES", "MAX_FILE_BYTES", "MAX_NODES", "check_finite", "load_yaml"]

MAX_FILE_BYTES = 1 << 20
"""A scenario file larger than 1 MiB is refused unread (the largest shipped one is ~3 kB)."""
MAX_ALIASES = 100
"""YAML aliases (``*name``) one document may use."""
MAX_NODES = 200_000
"""Nodes (scalars, list items, mapping entries) a document may hold with its aliases expanded."""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that counts aliases and refuses duplicate mapping keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise InputError(
                    f"line {mark.line + 1}, column {mark.column + 1}: more than {MAX_ALIASES} "
                    "YAML aliases; a scenario needs few or none (write the values out)"
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                mark = key_node.start_mark
                raise InputError(
                    f"line {mark.line + 1}, column {mark.column + 1}: a mapping key must be a "
                    "plain name, not a list or a mapping"
                )
            key = self.construct_object(key_node)
            if key in seen:
                first, mark = seen[key].start_mark, key_node.start_mark
                raise InputError(
                    f"line {mark.line + 1}, column {mark.column + 1}: key {key!r} is given "
                    f"twice in one mapping (first on line {first.line + 1}); expected each key "
                    "once"
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _expanded_size(value: Any, memo: dict[int, int]) -> int:
    """Nodes of ``value`` with shared (aliased) parts counted once per use, in linear time."""
    if not isinstance(value, (dict, list)):
        return 1
    key = id(value)
    known = memo.get(key)
    if known is not None:
        return known
    memo[key] = 1  # a self-referencing alias counts once instead of recursing forever
    items = value.values() if isinstance(value, dict) else value
    total = 1 + sum(_expanded_size(item, memo) for item in items)
    memo[key] = total
    return total


def check_finite(value: Any, path: str = "") -> None:
    """Refuse a NaN or an infinity anywhere in ``value``, naming its dotted path."""
    if isinstance(value, float) and not math.isfinite(value):
        where = path or "the document"
        raise InputError(
            f"{where}: {value!r} is not a finite number; expected a finite value (write null "
            "for 'none' where a field allows it)"
        )
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_finite(v, f"{path}.{i}" if path else str(i))


def load_yaml(text: str) -> Any:
    """Parse one YAML document within the bounds above; errors name the line or the path."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise InputError(f"the text is larger than {MAX_FILE_BYTES // 1024} KiB")
    loader = _BoundedLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}YAML syntax error: {problem}") from None
    except RecursionError:
        raise InputError("YAML nesting too deep; expected a scenario of a few levels") from None
    finally:
        loader.dispose()
    try:
        nodes = _expanded_size(data, {})
    except RecursionError:
        raise InputError("YAML nesting too deep; expected a scenario of a few levels") from None
    if nodes > MAX_NODES:
        raise InputError(
            f"the document expands to {nodes:,} values (aliases included), more than the "
            f"{MAX_NODES:,} a scenario may hold; write it without nested aliases"
        )
    check_finite(data)
    return data
