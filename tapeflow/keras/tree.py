"""``keras.tree``: nested structures as Keras 3 walks them (dict values by sorted key; lists, tuples,
namedtuples and dicts are nodes; ``None`` and everything else is a leaf). Built on ``tf.nest``.

Deviation: Keras (through optree) keeps an ``OrderedDict``'s insertion order; here every mapping is
walked by sorted key, as ``tf.nest`` does.

>>> from tapeflow.keras import tree
>>> tree.flatten_with_path({"b": [1, 2], "a": 3})
[(('a',), 3), (('b', 0), 1), (('b', 1), 2)]
>>> tree.traverse(lambda x: x * 10 if isinstance(x, int) else None, [1, (2, 3)])
[10, (20, 30)]
"""
from __future__ import annotations

from collections.abc import Mapping

from ..nest import _children, _rebuild, assert_same_structure, flatten, is_nested, map_structure
from ..nest import map_structure_up_to, pack_sequence_as


class MAP_TO_NONE:
    """Return this class from a ``traverse`` function to put ``None`` in the node's place."""


def _keys(s):
    return sorted(s) if isinstance(s, Mapping) else range(len(s))


def flatten_with_path(structure) -> list:
    """``(path, leaf)`` pairs in ``flatten``'s order; a path is the tuple of keys and indices down to the leaf."""
    out = []

    def walk(s, path):
        if not is_nested(s):
            out.append((path, s))
            return
        for k, child in zip(_keys(s), _children(s)):
            walk(child, path + (k,))
    walk(structure, ())
    return out


def assert_same_paths(a, b) -> None:
    """Raise ``ValueError`` naming the paths present in one structure and not the other."""
    pa, pb = {p for p, _ in flatten_with_path(a)}, {p for p, _ in flatten_with_path(b)}
    if pa != pb:
        raise ValueError(f"`a` and `b` don't have the same paths.\nPaths in `a` missing in `b`:\n{pa - pb}\n"
                         f"Paths in `b` missing in `a`:\n{pb - pa}")


def traverse(func, structure, top_down: bool = True):
    """Rebuild ``structure`` through ``func`` called on every node and leaf.

    Top down, ``func(node)`` returning ``None`` means "keep it and look inside"; any other value replaces
    the node (``MAP_TO_NONE`` replaces it with ``None``) and its inside is not visited. Bottom up, the
    children are processed first and ``func`` sees the rebuilt node; ``None`` keeps it.
    """
    def result(value, default):
        if value is None:
            return default
        return None if value is MAP_TO_NONE else value

    def down(s):
        r = func(s)
        if r is not None:
            return None if r is MAP_TO_NONE else r
        return _rebuild(s, [down(c) for c in _children(s)]) if is_nested(s) else s

    def up(s):
        if is_nested(s):
            s = _rebuild(s, [up(c) for c in _children(s)])
        return result(func(s), s)
    return down(structure) if top_down else up(structure)


def lists_to_tuples(structure):
    """Every list inside ``structure`` (and the structure itself) made a tuple."""
    if not is_nested(structure):
        return structure
    children = [lists_to_tuples(c) for c in _children(structure)]
    return tuple(children) if isinstance(structure, list) else _rebuild(structure, children)


def _is_shape(s) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def map_shape_structure(func, structure):
    """``func`` applied to every shape (a tuple or list of ints and ``None``) inside ``structure``."""
    if _is_shape(structure):
        return func(structure)
    if not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, c) for c in _children(structure)])


__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path", "is_nested",
           "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to", "pack_sequence_as",
           "traverse"]
