"""Tiny helpers for nested structures (lists, tuples, dicts) of arrays."""
from __future__ import annotations


def map_structure(fn, s):
    if isinstance(s, dict):
        return {k: map_structure(fn, v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return type(s)(map_structure(fn, v) for v in s) if isinstance(s, list) else tuple(map_structure(fn, v) for v in s)
    return fn(s)


def flatten(s) -> list:
    if isinstance(s, dict):
        return [x for k in s for x in flatten(s[k])]
    if isinstance(s, (list, tuple)):
        return [x for v in s for x in flatten(v)]
    return [s]


def first(s):
    while isinstance(s, (list, tuple, dict)):
        s = next(iter(s.values())) if isinstance(s, dict) else s[0]
    return s
