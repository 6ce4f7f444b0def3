"""TensorFlow's index ops (``tf.gather_nd``, ``tf.scatter_nd``, ``tf.tensor_scatter_nd_*``, ``tf.boolean_mask``,
``tf.repeat``, ``tf.roll``, ``tf.sort``, ``tf.dynamic_partition``...) as differentiable compositions.

Each one computes its integer index arrays with NumPy and then moves values with two primitives that already
carry their VJPs: ``getitem`` (an advanced-index read; its VJP scatter-adds) and ``getitem_vjp`` (that
scatter-add; its VJP reads back). So the gradient of ``gather_nd`` is a ``scatter_nd`` and the other way round,
duplicates summed, as in TensorFlow.

>>> import tapeflow as tf
>>> tf.gather_nd([[1.0, 2.0], [3.0, 4.0]], [[0, 1], [1, 0]]).numpy().tolist()
[2.0, 3.0]
>>> tf.scatter_nd([[1], [3], [1]], [5.0, 6.0, 7.0], [4]).numpy().tolist()
[0.0, 12.0, 0.0, 6.0]
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from . import array_ops as A
from . import math_ops as M


def _ints(x, what: str) -> np.ndarray:
    arr = np.asarray(x._value if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _nd_key(indices: np.ndarray, shape: tuple, batch_dims: int, op: str) -> tuple:
    """The advanced-index tuple that reads ``params[indices]`` in the ``gather_nd`` sense."""
    depth = indices.shape[-1]
    if depth > len(shape) - batch_dims:
        raise ValueError(f"{op}: the last axis of indices ({depth}) exceeds the rank of params past batch_dims "
                         f"({len(shape) - batch_dims}); params shape {shape}")
    lead = indices.shape[:-1]
    key = []
    for b in range(batch_dims):                   # batch position b of every index row
        key.append(np.arange(shape[b]).reshape((-1,) + (1,) * (len(lead) - b - 1)))
    for k in range(depth):
        n, col = shape[batch_dims + k], indices[..., k]
        if col.size and (col.min() < -n or col.max() >= n):
            raise IndexError(f"{op}: indices[..., {k}] must lie in [0, {n}) for params shape {shape}, got values in "
                             f"[{col.min()}, {col.max()}]")
        key.append(col)
    return tuple(key)


def gather_nd(params, indices, batch_dims=0, name=None) -> Tensor:
    """Slices of ``params`` addressed by the rows of ``indices``' last axis (``tf.gather_nd``).

    >>> import tapeflow as tf
    >>> tf.gather_nd([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[1], [0]]).numpy().tolist()
    [[[5, 6], [7, 8]], [[1, 2], [3, 4]]]
    """
    p = convert_to_tensor(params)
    idx = _ints(indices, "gather_nd: indices")
    return A.getitem(p, _nd_key(idx, p._value.shape, int(batch_dims), "gather_nd"))


def scatter_nd(indices, updates, shape, name=None) -> Tensor:
    """A zero tensor of ``shape`` with ``updates`` added at ``indices`` (duplicates summed), as ``tf.scatter_nd``."""
    u = convert_to_tensor(updates)
    idx = _ints(indices, "scatter_nd: indices")
    shape = tuple(int(d) for d in np.asarray(shape._value if isinstance(shape, Tensor) else shape).reshape(-1))
    key = _nd_key(idx, shape, 0, "scatter_nd")
    want = idx.shape[:-1] + shape[idx.shape[-1]:]
    if u._value.shape != want:
        raise ValueError(f"scatter_nd: updates must have shape {want} (indices.shape[:-1] + shape[depth:]), "
                         f"got {u._value.shape}")
    return A._scatter_getitem_op(u, shape=shape, key=key)


def _last_writes(idx: np.ndarray, shape: tuple) -> np.ndarray:
    """Rows of ``idx`` that are the last to address their position (assignment order: the last one wins)."""
    flat = np.ravel_multi_index(tuple(np.moveaxis(idx.reshape(-1, idx.shape[-1]), -1, 0)),
                                shape[:idx.shape[-1]], mode="wrap")
    _, first_from_end = np.unique(flat[::-1], return_index=True)
    return np.sort(flat.size - 1 - first_from_end)


def tensor_scatter_nd_update(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with the slices at ``indices`` replaced by ``updates`` (for a repeated index the last update
    wins). Gradients: to ``tensor`` everywhere but the replaced slices, to the winning ``updates``.

    >>> import tapeflow as tf
    >>> tf.tensor_scatter_nd_update([1.0, 2.0, 3.0], [[0], [2]], [9.0, 8.0]).numpy().tolist()
    [9.0, 2.0, 8.0]
    """
    t, u = convert_to_tensor(tensor), convert_to_tensor(updates)
    idx = _ints(indices, "tensor_scatter_nd_update: indices")
    shape = t._value.shape
    lead = idx.shape[:-1]
    rows = _last_writes(idx, shape)
    idx_flat = idx.reshape(-1, idx.shape[-1])[rows]
    u_flat = A.getitem(A.reshape(u, (-1,) + u._value.shape[len(lead):]), rows)
    placed = scatter_nd(idx_flat, u_flat, shape)
    written = np.zeros(shape, bool)
    written[_nd_key(idx_flat, shape, 0, "tensor_scatter_nd_update")] = True
    return A.where(written, placed, t)


def tensor_scatter_nd_add(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` plus ``updates`` scattered at ``indices`` (duplicates summed)."""
    t = convert_to_tensor(tensor)
    return M.add(t, scatter_nd(indices, updates, t._value.shape))


def tensor_scatter_nd_sub(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` minus ``updates`` scattered at ``indices`` (duplicates summed)."""
    t = convert_to_tensor(tensor)
    return M.subtract(t, scatter_nd(indices, updates, t._value.shape))


def boolean_mask(tensor, mask, axis=None, name=None) -> Tensor:
    """The entries (or slices) of ``tensor`` where ``mask`` is True; ``mask``'s k axes match ``tensor``'s axes
    ``axis .. axis+k-1``, which the result flattens into one.

    >>> import tapeflow as tf
    >>> tf.boolean_mask([[1, 2], [3, 4], [5, 6]], [True, False, True]).numpy().tolist()
    [[1, 2], [5, 6]]
    """
    t = convert_to_tensor(tensor)
    m = np.asarray(mask._value if isinstance(mask, Tensor) else mask)
    if m.dtype != bool:
        raise TypeError(f"boolean_mask: mask must be boolean, got dtype {m.dtype}")
    axis = 0 if axis is None else int(axis) % t._value.ndim
    k = m.ndim
    if t._value.shape[axis:axis + k] != m.shape:
        raise ValueError(f"boolean_mask: mask shape {m.shape} must equal tensor shape[{axis}:{axis + k}] = "
                         f"{t._value.shape[axis:axis + k]}")
    return A.getitem(t, (slice(None),) * axis + np.nonzero(m))


def sequence_mask(lengths, maxlen=None, dtype="bool", name=None) -> Tensor:
    """``mask[..., j] = j < lengths[...]`` (``maxlen`` defaults to the longest length).

    >>> import tapeflow as tf
    >>> tf.sequence_mask([1, 3], 4).numpy().tolist()
    [[True, False, False, False], [True, True, True, False]]
    """
    n = _ints(lengths, "sequence_mask: lengths")
    size = int(n.max(initial=0)) if maxlen is None else int(np.asarray(getattr(maxlen, "_value", maxlen)))
    out = np.arange(size) < n[..., None]
    return Tensor._wrap(out.astype(np.dtype(str(getattr(dtype, "name", dtype)))))


def _along(t: Tensor, positions: np.ndarray, axis: int) -> Tensor:
    """``t`` read at integer ``positions`` along ``axis`` (differentiable through gather)."""
    return A.gather(t, positions.astype(np.int64), axis=axis)


def repeat(input, repeats, axis=None, name=None) -> Tensor:  # noqa: A002
    """``np.repeat``: each element (``axis=None``: of the flattened input) or slice repeated ``repeats`` times."""
    t = convert_to_tensor(input)
    if axis is None:
        t, axis = A.reshape(t, (-1,)), 0
    axis = int(axis) % t._value.ndim
    reps = _ints(repeats, "repeat: repeats")
    return _along(t, np.repeat(np.arange(t._value.shape[axis]), reps), axis)


def roll(input, shift, axis, name=None) -> Tensor:  # noqa: A002
    """Entries shifted by ``shift`` positions along ``axis``, wrapping around (``tf.roll``).

    >>> import tapeflow as tf
    >>> tf.roll([1, 2, 3, 4], shift=1, axis=0).numpy().tolist()
    [4, 1, 2, 3]
    """
    t = convert_to_tensor(input)
    shifts, axes = np.atleast_1d(_ints(shift, "roll: shift")), np.atleast_1d(_ints(axis, "roll: axis"))
    if shifts.shape != axes.shape:
        raise ValueError(f"roll: shift and axis must have the same length, got {shifts.tolist()} and {axes.tolist()}")
    total = {}
    for s, a in zip(shifts.tolist(), axes.tolist()):
        a %= t._value.ndim
        total[a] = total.get(a, 0) + s
    for a, s in total.items():
        t = _along(t, np.roll(np.arange(t._value.shape[a]), s), a)
    return t


def _direction(direction: str, op: str) -> bool:
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{op}: direction must be 'ASCENDING' or 'DESCENDING', got {direction!r}")
    return direction == "DESCENDING"


def _order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    key = -x if descending and x.dtype.kind in "fi" else x
    order = np.argsort(key, axis=axis, kind="stable")
    return order if not descending or x.dtype.kind in "fi" else np.flip(order, axis)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None) -> Tensor:
    """int32 indices that sort ``values`` along ``axis`` (stable: equal values keep their order)."""
    x = convert_to_tensor(values)._value
    return Tensor._wrap(_order(x, int(axis), _direction(direction, "argsort")).astype(np.int32))


def sort(values, axis=-1, direction="ASCENDING", name=None) -> Tensor:
    """``values`` sorted along ``axis``; the gradient goes back to the entries' places.

    >>> import tapeflow as tf
    >>> tf.sort([3.0, 1.0, 2.0], direction="DESCENDING").numpy().tolist()
    [3.0, 2.0, 1.0]
    """
    t = convert_to_tensor(values)
    axis = int(axis) % t._value.ndim
    order = _order(t._value, axis, _direction(direction, "sort"))
    grid = list(np.indices(order.shape, sparse=True))
    grid[axis] = order
    return A.getitem(t, tuple(grid))


def dynamic_partition(data, partitions, num_partitions, name=None) -> list:
    """``num_partitions`` tensors: the slices of ``data`` whose ``partitions`` entry is 0, 1, ...

    >>> import tapeflow as tf
    >>> [p.numpy().tolist() for p in tf.dynamic_partition([10, 20, 30, 40], [1, 0, 1, 1], 2)]
    [[20], [10, 30, 40]]
    """
    t = convert_to_tensor(data)
    parts = _ints(partitions, "dynamic_partition: partitions")
    if t._value.shape[:parts.ndim] != parts.shape:
        raise ValueError(f"dynamic_partition: partitions shape {parts.shape} must be a prefix of data shape "
                         f"{t._value.shape}")
    if parts.size and (parts.min() < 0 or parts.max() >= num_partitions):
        raise ValueError(f"dynamic_partition: partitions must lie in [0, {num_partitions})")
    return [A.getitem(t, np.nonzero(parts == p)) for p in range(int(num_partitions))]


def dynamic_stitch(indices, data, name=None) -> Tensor:
    """Interleave ``data[i]`` into one tensor at positions ``indices[i]`` (a later position wins a repeat)."""
    idx = [_ints(i, "dynamic_stitch: indices") for i in indices]
    parts = [convert_to_tensor(d) for d in data]
    if len(idx) != len(parts):
        raise ValueError(f"dynamic_stitch: got {len(idx)} index tensors and {len(parts)} data tensors")
    tail = parts[0]._value.shape[idx[0].ndim:]
    flat_idx = np.concatenate([i.reshape(-1) for i in idx])
    flat = A.concat([A.reshape(d, (-1,) + tail) for d in parts], axis=0)
    size = int(flat_idx.max(initial=-1)) + 1
    return tensor_scatter_nd_update(A.zeros((size,) + tail, dtype=flat.dtype.name), flat_idx[:, None], flat)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=0, name=None) -> Tensor:  # noqa: A002
    """Reverse the first ``seq_lengths[b]`` entries along ``seq_axis`` of each batch entry ``b``."""
    t = convert_to_tensor(input)
    lens = _ints(seq_lengths, "reverse_sequence: seq_lengths")
    nd = t._value.ndim
    seq_axis, batch_axis = int(seq_axis) % nd, int(batch_axis) % nd
    steps = np.arange(t._value.shape[seq_axis])
    src = np.where(steps[None, :] < lens[:, None], lens[:, None] - 1 - steps[None, :], steps[None, :])  # (B, T)
    grid = list(np.indices(t._value.shape, sparse=True))
    shape = [1] * nd
    shape[batch_axis], shape[seq_axis] = src.shape[0], src.shape[1]
    grid[seq_axis] = (src if batch_axis < seq_axis else src.T).reshape(shape)
    return A.getitem(t, tuple(grid))


def batch_gather_key(p_shape: tuple, idx: np.ndarray, axis: int, batch_dims: int) -> tuple:
    """The advanced index of ``tf.gather(params, indices, axis=axis, batch_dims=batch_dims)``."""
    b = batch_dims
    if idx.shape[:b] != p_shape[:b]:
        raise ValueError(f"gather: with batch_dims={b} the first {b} axes of indices {idx.shape} and params "
                         f"{p_shape} must match")
    n_out = axis + (idx.ndim - b) + (len(p_shape) - axis - 1)   # rank of the result
    key = []
    for d in range(b):                                          # batch axes: aligned with idx's leading axes
        shape = [1] * n_out
        shape[d] = p_shape[d]
        key.append(np.arange(p_shape[d]).reshape(shape))
    for d in range(b, axis):                                    # axes between the batch axes and axis
        shape = [1] * n_out
        shape[d] = p_shape[d]
        key.append(np.arange(p_shape[d]).reshape(shape))
    shape = [1] * n_out
    shape[:b] = idx.shape[:b]
    shape[axis:axis + idx.ndim - b] = idx.shape[b:]
    key.append(idx.reshape(shape))
    for d in range(axis + 1, len(p_shape)):
        shape = [1] * n_out
        shape[axis + idx.ndim - b + d - axis - 1] = p_shape[d]
        key.append(np.arange(p_shape[d]).reshape(shape))
    return tuple(key)


__all__ = ["gather_nd", "scatter_nd", "tensor_scatter_nd_update", "tensor_scatter_nd_add", "tensor_scatter_nd_sub",
           "boolean_mask", "sequence_mask", "repeat", "roll", "argsort", "sort", "dynamic_partition",
           "dynamic_stitch", "reverse_sequence"]
