"""``tf.nest``: nested structures of lists, tuples, namedtuples and dicts, as TensorFlow walks them (dict values
in sorted key order; ``None`` and everything else is a leaf).

>>> import tapeflow as tf
>>> tf.nest.flatten({"b": [1, 2], "a": (3, None)})
[3, None, 1, 2]
>>> tf.nest.map_structure(lambda x, y: x + y, {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)})
{'a': 11, 'b': (22, 33)}
"""
from __future__ import annotations

from collections.abc import Mapping


def is_nested(seq) -> bool:
    """Whether ``seq`` is a list, tuple (namedtuples too) or mapping."""
    return isinstance(seq, (list, tuple, Mapping))


def _children(s) -> list:
    if isinstance(s, Mapping):
        return [s[k] for k in sorted(s)]
    return list(s)


def flatten(structure, expand_composites=False) -> list:
    """The leaves of ``structure`` in TensorFlow's order."""
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in flatten(child)]


def _rebuild(s, children):
    if isinstance(s, Mapping):
        by_key = dict(zip(sorted(s), children))
        return type(s)((k, by_key[k]) for k in s) if type(s) is not dict else {k: by_key[k] for k in s}
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return type(s)(*children)
    return type(s)(children)


def pack_sequence_as(structure, flat_sequence, expand_composites=False):
    """``structure``'s nesting around the leaves ``flat_sequence`` (their count must match)."""
    flat = list(flat_sequence)
    need = len(flatten(structure))
    if len(flat) != need:
        raise ValueError(f"pack_sequence_as: the structure has {need} leaves but flat_sequence has {len(flat)}")
    return _pack(structure, iter(flat))


def _pack(s, it):  # (not a self-calling closure: that reference cycle would hold the leaves until the GC ran)
    if not is_nested(s):
        return next(it)
    return _rebuild(s, [_pack(c, it) for c in _children(s)])


def assert_same_structure(nest1, nest2, check_types=True, expand_composites=False) -> None:
    """Raise ``ValueError`` (different nesting) or ``TypeError`` (same nesting, different sequence types)."""
    def walk(a, b, path):
        if is_nested(a) != is_nested(b):
            raise ValueError(f"The two structures don't have the same nested structure at {path or 'the top'}: "
                             f"{type(a).__name__} vs {type(b).__name__}")
        if not is_nested(a):
            return
        if check_types and type(a) is not type(b) and not (isinstance(a, Mapping) and isinstance(b, Mapping)):
            raise TypeError(f"The two structures don't have the same sequence type at {path or 'the top'}: "
                            f"{type(a).__name__} vs {type(b).__name__}")
        if isinstance(a, Mapping) and sorted(a) != sorted(b):
            raise ValueError(f"The two structures have different keys at {path or 'the top'}: {sorted(a)} vs "
                             f"{sorted(b)}")
        ca, cb = _children(a), _children(b)
        if len(ca) != len(cb):
            raise ValueError(f"The two structures don't have the same number of elements at {path or 'the top'}: "
                             f"{len(ca)} vs {len(cb)}")
        keys = sorted(a) if isinstance(a, Mapping) else range(len(ca))
        for k, x, y in zip(keys, ca, cb):
            walk(x, y, f"{path}[{k!r}]")
    walk(nest1, nest2, "")


def map_structure(func, *structure, check_types=True, expand_composites=False):
    """``func`` applied leaf by leaf across structures of one nesting, in the first structure's shape."""
    if not structure:
        raise ValueError("map_structure: at least one structure is required")
    for other in structure[1:]:
        assert_same_structure(structure[0], other, check_types=check_types)
    flats = [flatten(s) for s in structure]
    return pack_sequence_as(structure[0], [func(*leaves) for leaves in zip(*flats)])


def map_structure_up_to(shallow_structure, func, *inputs):
    """``func`` applied to the sub-structures of ``inputs`` at ``shallow_structure``'s leaves."""
    def split(shallow, value):
        if not is_nested(shallow):
            return [value]
        return [x for s, v in zip(_children(shallow), _children(value)) for x in split(s, v)]
    parts = [split(shallow_structure, x) for x in inputs]
    return pack_sequence_as(shallow_structure, [func(*args) for args in zip(*parts)])


__all__ = ["is_nested", "flatten", "pack_sequence_as", "assert_same_structure", "map_structure",
           "map_structure_up_to"]
