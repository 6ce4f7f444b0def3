"""Per-replica values, reduce ops and the small tree helpers the strategies use."""
from __future__ import annotations

import enum

import numpy as np

from ..autodiff.tensor import Tensor


class ReduceOp(enum.Enum):
    """How ``Strategy.reduce`` / ``ReplicaContext.all_reduce`` combine replica values."""
    SUM = "SUM"
    MEAN = "MEAN"


def _reduce_op(op) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ("SUM", "MEAN"):
        return ReduceOp[op.upper()]
    raise ValueError(f"reduce: reduce_op must be tf.distribute.ReduceOp.SUM or .MEAN, got {op!r}")


class PerReplica:
    """One value per replica (what ``run`` returns and a distributed dataset yields when replicas > 1).

    >>> import tapeflow as tf
    >>> v = tf.distribute.PerReplica((tf.constant(1.0), tf.constant(3.0)))
    >>> len(v.values)
    2
    """

    def __init__(self, values):
        self.values = tuple(values)

    def __repr__(self) -> str:
        return f"PerReplica({{{', '.join(f'{i}: {v!r}' for i, v in enumerate(self.values))}}})"


def map_structure(fn, s):
    """Apply ``fn`` to every leaf of nested tuples/lists/dicts (PerReplica values are leaves)."""
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return type(s)(*[map_structure(fn, v) for v in s])
    if isinstance(s, (tuple, list)):
        return type(s)(map_structure(fn, v) for v in s)
    if isinstance(s, dict):
        return {k: map_structure(fn, v) for k, v in s.items()}
    return fn(s)


def select_replica(s, i: int):
    """Replica ``i``'s part of a structure that may hold PerReplica leaves."""
    return map_structure(lambda v: v.values[i] if isinstance(v, PerReplica) else v, s)


def regroup(results: list):
    """Turn a list of per-replica structures into one structure of PerReplica leaves."""
    first = results[0]
    if isinstance(first, (tuple, list)) and not hasattr(first, "_fields"):
        return type(first)(regroup([r[k] for r in results]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: regroup([r[k] for r in results]) for k in first}
    if first is None:
        return None
    return PerReplica(results)


def split_batch(s, n: int):
    """Split every array leaf of a batch structure into ``n`` parts along axis 0 (PerReplica leaves)."""
    def split(v):
        arr = v._value if isinstance(v, Tensor) else v
        if not isinstance(arr, np.ndarray) or arr.ndim == 0:
            return PerReplica([v] * n)
        parts = np.array_split(arr, n, axis=0)
        return PerReplica([Tensor._wrap(p) if isinstance(v, Tensor) else p for p in parts])
    return map_structure(split, s)


def as_array(v) -> np.ndarray:
    return v._value if isinstance(v, Tensor) else np.asarray(v)
