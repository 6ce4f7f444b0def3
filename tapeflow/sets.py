"""``tf.sets``: set operations along the last dimension (``size``, ``intersection``, ``union``, ``difference``).

Each row of the last dimension of a dense tensor, or each group of ``SparseTensor`` entries sharing all but the
last index, is a set. Results are ``tf.SparseTensor`` as TensorFlow returns them: per set, the elements sorted
ascending (strings by their UTF-8 bytes) at positions 0, 1, ...; row-major indices; ``dense_shape`` the sets'
shape plus the largest result set. Inputs need rank >= 2 and one of TF's set dtypes (int8, int16, int32, int64,
uint8, uint16, string); ``a`` and ``b`` have one dtype and the same sets' shape.

>>> import tapeflow as tf
>>> u = tf.sets.union([[1, 2, 2, 5], [3, 3, 3, 3]], [[2, 7, 1], [9, 3, 4]])
>>> u.indices.numpy().tolist()[:3], u.values.numpy().tolist(), u.dense_shape.numpy().tolist()
([[0, 0], [0, 1], [0, 2]], [1, 2, 5, 7, 3, 4, 9], [2, 4])
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .errors import InvalidArgumentError
from .sparse import SparseTensor, _validate

__all__ = ["size", "intersection", "union", "difference"]

_VALID = ("int8", "int16", "int32", "int64", "uint8", "uint16", "string")


def _dtype_name(dt: np.dtype) -> str:
    return "string" if dt.kind in "USO" else dt.name


def _convert(x, what: str):
    """A SparseTensor, or the dense NumPy array of ``x``."""
    if isinstance(x, SparseTensor):
        return x
    return convert_to_tensor(x)._value if not isinstance(x, Tensor) else x._value


def _values_dtype(x) -> np.dtype:
    return x.values._value.dtype if isinstance(x, SparseTensor) else x.dtype


def _check_dtype(x, what: str) -> str:
    name = _dtype_name(_values_dtype(x))
    if name not in _VALID:
        raise TypeError(f"tf.sets: {what} has invalid dtype {name}, not in the supported set dtypes {list(_VALID)}; "
                        "cast floats to integers or use strings")
    return name


def _groups(x, what: str, validate_indices: bool):
    """(sets' shape, int64 set id per element, element values) of a dense array or a SparseTensor."""
    if isinstance(x, SparseTensor):
        idx, shape = x.indices._value, tuple(int(d) for d in x.dense_shape._value)
        vals = x.values._value
        if len(shape) < 2:
            raise InvalidArgumentError(None, None, f"tf.sets: {what} has invalid rank {len(shape)}; sets need "
                                                   "rank >= 2 (the last dimension holds each set's elements)")
        if validate_indices:
            _validate(idx, shape, f"tf.sets: {what}")
        lead = shape[:-1]
        gid = np.ravel_multi_index(tuple(idx[:, :-1].T), lead) if idx.shape[0] else np.zeros(0, np.int64)
        return lead, np.asarray(gid, np.int64), vals
    if x.ndim < 2:
        raise InvalidArgumentError(None, None, f"tf.sets: {what} has shape {list(x.shape)} of rank {x.ndim} < 2; "
                                               "sets need rank >= 2 (add a leading axis for a single set)")
    lead = x.shape[:-1]
    gid = np.repeat(np.arange(int(np.prod(lead, dtype=np.int64)), dtype=np.int64), x.shape[-1])
    return lead, gid, x.reshape(-1)


def _as_common(va: np.ndarray, vb: np.ndarray):
    if va.dtype.kind in "USO" or vb.dtype.kind in "USO":
        def text(v):
            return [s.decode("utf-8", "surrogateescape") if isinstance(s, bytes) else str(s) for s in v.tolist()]
        return np.array(text(va) + text(vb), dtype=str)
    return np.concatenate([va, vb])


def _result(lead: tuple, keys: np.ndarray, uniq: np.ndarray) -> SparseTensor:
    u = max(len(uniq), 1)
    gid, code = keys // u, keys % u
    values = uniq[code]
    n = len(keys)
    starts = np.r_[0, np.nonzero(np.diff(gid))[0] + 1] if n else np.zeros(0, np.int64)
    pos = np.arange(n, dtype=np.int64) - np.repeat(starts, np.diff(np.r_[starts, n]))
    width = int(pos.max()) + 1 if n else 0
    lead_idx = np.stack(np.unravel_index(gid, lead), axis=1) if n else np.zeros((0, len(lead)), np.int64)
    indices = np.concatenate([lead_idx.astype(np.int64), pos[:, None]], axis=1)
    if values.dtype.kind in "SU":
        values = values.astype(str)
    return SparseTensor(indices, values, list(lead) + [width])


def _set_operation(a, b, op: str, validate_indices: bool) -> SparseTensor:
    a, b = _convert(a, "a"), _convert(b, "b")
    name_a = _check_dtype(a, "a")
    name_b = _dtype_name(_values_dtype(b))
    if name_a != name_b:
        raise TypeError(f"tf.sets: types don't match, a is {name_a} and b is {name_b}; cast one with tf.cast")
    lead_a, ga, va = _groups(a, "a", validate_indices)
    lead_b, gb, vb = _groups(b, "b", validate_indices)
    if lead_a != lead_b:
        raise InvalidArgumentError(None, None, f"tf.sets: mismatched shapes {list(lead_a)} vs {list(lead_b)}: a and "
                                               "b need the same shape in every dimension but the last")
    uniq, inv = np.unique(_as_common(va, vb), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    u = max(len(uniq), 1)
    ka = np.unique(ga * u + inv[:len(va)])
    kb = np.unique(gb * u + inv[len(va):])
    keys = {"intersection": lambda: np.intersect1d(ka, kb), "union": lambda: np.union1d(ka, kb),
            "a-b": lambda: np.setdiff1d(ka, kb), "b-a": lambda: np.setdiff1d(kb, ka)}[op]()
    if not len(uniq):
        uniq = va[:0]
    return _result(lead_a, keys.astype(np.int64), uniq)


def _flip(a, b):
    """TF computes dense-with-sparse only: a sparse ``a`` with a dense ``b`` is swapped (True when swapped)."""
    if isinstance(a, SparseTensor) and not isinstance(b, SparseTensor):
        return b, a, True
    return a, b, False


def size(a, validate_indices=True) -> Tensor:
    """The number of distinct elements of each set of the ``SparseTensor`` ``a`` (int32, shape
    ``dense_shape[:-1]``).

    >>> import tapeflow as tf
    >>> tf.sets.size(tf.SparseTensor([[0, 0], [0, 1], [1, 0]], [2, 2, 3], [2, 3])).numpy().tolist()
    [1, 1]
    """
    if not isinstance(a, SparseTensor):
        raise TypeError(f"tf.sets.size: expected a tf.SparseTensor, got {type(a).__name__}; convert a dense tensor "
                        "with tf.sparse.from_dense")
    _check_dtype(a, "a")
    lead, gid, vals = _groups(a, "a", validate_indices)
    counts = np.zeros(int(np.prod(lead, dtype=np.int64)), np.int32)
    if len(vals):
        uniq, inv = np.unique(_as_common(vals, vals[:0]), return_inverse=True)
        keys = np.unique(gid * len(uniq) + inv.reshape(-1))
        np.add.at(counts, keys // len(uniq), 1)
    return Tensor._wrap(counts.reshape(lead))


def intersection(a, b, validate_indices=True) -> SparseTensor:
    """The elements in both sets, for each aligned pair of sets of ``a`` and ``b``.

    >>> import tapeflow as tf
    >>> r = tf.sets.intersection([[1, 2, 2, 5], [3, 3, 3, 3]], [[2, 7, 1], [9, 3, 4]])
    >>> r.indices.numpy().tolist(), r.values.numpy().tolist(), r.dense_shape.numpy().tolist()
    ([[0, 0], [0, 1], [1, 0]], [1, 2, 3], [2, 2])
    """
    a, b, _ = _flip(a, b)
    return _set_operation(a, b, "intersection", validate_indices)


def union(a, b, validate_indices=True) -> SparseTensor:
    """The elements in either set, for each aligned pair of sets of ``a`` and ``b``.

    >>> import tapeflow as tf
    >>> tf.sets.union([["b", "a"]], [["c", "a"]]).values.numpy().tolist()
    ['a', 'b', 'c']
    """
    a, b, _ = _flip(a, b)
    return _set_operation(a, b, "union", validate_indices)


def difference(a, b, aminusb=True, validate_indices=True) -> SparseTensor:
    """The elements of ``a``'s set not in ``b``'s (``aminusb=False``: of ``b``'s not in ``a``'s).

    >>> import tapeflow as tf
    >>> tf.sets.difference([[1, 2, 2, 5], [3, 3, 3, 3]], [[2, 7, 1], [9, 3, 4]]).values.numpy().tolist()
    [5]
    """
    a, b, flipped = _flip(a, b)
    return _set_operation(a, b, "a-b" if aminusb != flipped else "b-a", validate_indices)
