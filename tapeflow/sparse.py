"""``tf.sparse`` and ``tf.SparseTensor``: COO sparse tensors (int64 ``indices`` (N, rank), ``values`` (N,),
int64 ``dense_shape``), row-major canonical order, as in TensorFlow.

Index bookkeeping is NumPy; values move through tapeflow's differentiable ops (gather, the ``getitem_vjp``
scatter-add, segment sums), so gradients flow to ``values`` and to dense operands. As in TensorFlow, duplicate
indices are summed by ``reduce_sum``, ``sparse_dense_matmul`` and sparse + dense, kept apart by ``reorder``,
paired one-to-one by sparse + sparse, and refused by ``to_dense(validate_indices=True)``.

>>> import tapeflow as tf
>>> sp = tf.SparseTensor(indices=[[0, 1], [2, 0]], values=[5.0, 7.0], dense_shape=[3, 2])
>>> tf.sparse.to_dense(sp).numpy().tolist()
[[0.0, 5.0], [0.0, 0.0], [7.0, 0.0]]
>>> tf.sparse.sparse_dense_matmul(sp, [[1.0], [2.0]]).numpy().tolist()
[[10.0], [0.0], [7.0]]
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, TensorShape, convert_to_tensor
from .errors import InvalidArgumentError
from .math_more import unsorted_segment_max, unsorted_segment_sum
from .ops import array_ops as A
from .ops import math_ops as M
from .ops.index_ops import tensor_scatter_nd_update

__all__ = ["SparseTensor", "from_dense", "to_dense", "reorder", "reshape", "add", "sparse_dense_matmul",
           "reduce_sum", "reduce_max", "retain", "slice", "concat", "expand_dims", "transpose", "fill_empty_rows",
           "softmax", "to_indicator", "segment_sum", "segment_mean", "segment_sqrt_n", "eye", "map_values"]


def _np(x) -> np.ndarray:
    return np.asarray(x._value if isinstance(x, Tensor) else x)


def _i64(x, what: str, ndim: int) -> np.ndarray:
    a = _np(x)
    if a.size == 0:
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {a.dtype}")
    if a.ndim != ndim and not (a.size == 0 and ndim == 2):
        raise ValueError(f"{what} must be {ndim}-D, got shape {a.shape}")
    return a.astype(np.int64)


def _wrap(a) -> Tensor:
    return Tensor._wrap(np.asarray(a))


class SparseTensor:
    """``tf.SparseTensor(indices, values, dense_shape)``; shapes are checked, bounds and order are not (as TF).

    >>> import tapeflow as tf
    >>> sp = tf.SparseTensor([[1, 2]], [3.0], [2, 4])
    >>> sp.shape, sp.dtype.name, sp.indices.dtype.name
    (TensorShape([2, 4]), 'float32', 'int64')
    """

    def __init__(self, indices, values, dense_shape):
        shape = _i64(dense_shape, "SparseTensor: dense_shape", 1)
        idx = _i64(indices, "SparseTensor: indices", 2)
        if idx.size and idx.shape[1] != shape.size:
            raise ValueError(f"SparseTensor: indices must have shape (N, {shape.size}) for dense_shape "
                             f"{shape.tolist()}, got {idx.shape}")
        idx = idx.reshape(-1, shape.size)
        vals = convert_to_tensor(values)
        if vals._value.ndim != 1 or vals._value.shape[0] != idx.shape[0]:
            raise ValueError(f"SparseTensor: values must be 1-D with one entry per row of indices "
                             f"({idx.shape[0]}), got shape {vals._value.shape}")
        self.indices, self.values, self.dense_shape = _wrap(idx), vals, _wrap(shape)

    @property
    def shape(self) -> TensorShape:
        return TensorShape([int(d) for d in self.dense_shape._value])

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def rank(self) -> int:
        return int(self.dense_shape._value.size)

    def with_values(self, new_values) -> "SparseTensor":
        """The same indices and dense_shape with ``new_values`` (same length)."""
        return SparseTensor(self.indices, new_values, self.dense_shape)

    def __mul__(self, other) -> "SparseTensor":
        """Element-wise product with a dense tensor broadcast to the dense shape (TF's sparse * dense)."""
        d = convert_to_tensor(other, dtype=self.values._value.dtype)
        full = A.broadcast_to(d, tuple(self.shape.as_list()))
        return self.with_values(M.multiply(self.values, A.getitem(full, tuple(self.indices._value.T))))

    def __truediv__(self, other) -> "SparseTensor":
        d = convert_to_tensor(other, dtype=self.values._value.dtype)
        full = A.broadcast_to(d, tuple(self.shape.as_list()))
        return self.with_values(M.divide(self.values, A.getitem(full, tuple(self.indices._value.T))))

    def __repr__(self) -> str:
        return f"SparseTensor(indices={self.indices!r}, values={self.values!r}, dense_shape={self.dense_shape!r})"


def _sp(x, what: str) -> SparseTensor:
    if not isinstance(x, SparseTensor):
        raise TypeError(f"{what} must be a tf.SparseTensor, got {type(x).__name__}")
    return x


def _parts(sp: SparseTensor):
    return sp.indices._value, sp.values, tuple(int(d) for d in sp.dense_shape._value)


def _linear(idx: np.ndarray, shape: tuple) -> np.ndarray:
    """Row-major linear position of each index row (no bounds check)."""
    strides = np.cumprod((shape[1:] + (1,))[::-1])[::-1].astype(np.int64) if shape else np.zeros(0, np.int64)
    return idx @ strides if idx.size else np.zeros(idx.shape[0], np.int64)


def _take(values: Tensor, order: np.ndarray) -> Tensor:
    return A.gather(values, order.astype(np.int64)) if order.size else A.getitem(values, order.astype(np.int64))


def _axes(axis, rank: int, what: str) -> list:
    axes = list(range(rank)) if axis is None else [int(a) for a in np.asarray(_np(axis)).reshape(-1)]
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"{what}: axis {a} is out of range for a rank-{rank} SparseTensor")
    return sorted({a % rank for a in axes})


def from_dense(tensor) -> SparseTensor:
    """The non-zero (non-empty for strings) entries of a dense tensor.

    >>> import tapeflow as tf
    >>> sp = tf.sparse.from_dense([[0, 2], [3, 0]])
    >>> sp.indices.numpy().tolist(), sp.values.numpy().tolist()
    ([[0, 1], [1, 0]], [2, 3])
    """
    t = convert_to_tensor(tensor)
    v = t._value
    nz = np.nonzero(v != (b"" if v.dtype.kind in "SOU" else 0))
    idx = np.stack(nz, axis=1) if v.ndim else np.zeros((int(v != 0), 0), np.int64)
    return SparseTensor(idx, A.getitem(t, nz) if v.ndim else A.reshape(t, (-1,))[: len(idx)], v.shape)


def _validate(idx: np.ndarray, shape: tuple, what: str) -> None:
    bad = np.nonzero(((idx < 0) | (idx >= np.asarray(shape, np.int64))).any(axis=1))[0]
    if bad.size:
        raise InvalidArgumentError(None, None, f"{what}: indices[{bad[0]}] = {idx[bad[0]].tolist()} is out of "
                                               f"bounds: need 0 <= index < {list(shape)}")
    step = np.diff(_linear(idx, shape))
    for test, word in ((step < 0, "out of order; use tf.sparse.reorder first"), (step == 0, "repeated")):
        hit = np.nonzero(test)[0]
        if hit.size:
            raise InvalidArgumentError(None, None, f"{what}: indices[{hit[0] + 1}] = {idx[hit[0] + 1].tolist()} "
                                                   f"is {word}")


def to_dense(sp_input, default_value=None, validate_indices=True, name=None) -> Tensor:
    """The dense tensor, ``default_value`` (0 / b'') where no entry is. With ``validate_indices`` (default)
    unordered or repeated indices raise ``InvalidArgumentError`` as in TF; without it the last duplicate wins.

    >>> import tapeflow as tf
    >>> tf.sparse.to_dense(tf.SparseTensor([[1]], [4], [3]), default_value=-1).numpy().tolist()
    [-1, 4, -1]
    """
    idx, vals, shape = _parts(_sp(sp_input, "to_dense: sp_input"))
    dt = vals._value.dtype
    if validate_indices:
        _validate(idx, shape, "to_dense")
    if default_value is None:
        default_value = b"" if dt.kind in "SOU" else 0
    base = np.full(shape, default_value, dtype=object if dt.kind in "SOU" else dt)
    if dt.kind not in "fc" or not idx.size:  # not differentiable: write in place, the last duplicate wins
        base[tuple(idx.T)] = vals._value
        return _wrap(base)
    return tensor_scatter_nd_update(_wrap(base), idx, vals)


def reorder(sp_input, name=None) -> SparseTensor:
    """Indices sorted in row-major order (a stable sort: duplicates keep their order)."""
    idx, vals, shape = _parts(_sp(sp_input, "reorder: sp_input"))
    order = np.argsort(_linear(idx, shape), kind="stable")
    return SparseTensor(idx[order], _take(vals, order), shape)


def reshape(sp_input, shape, name=None) -> SparseTensor:
    """The same entries in a new dense shape (one dimension may be -1), positions kept in row-major order."""
    idx, vals, old = _parts(_sp(sp_input, "reshape: sp_input"))
    new = [int(d) for d in _np(shape).reshape(-1)]
    total = int(np.prod(old))
    if new.count(-1) > 1:
        raise ValueError(f"sparse.reshape: at most one dimension of shape may be -1, got {new}")
    if -1 in new:
        rest = int(np.prod([d for d in new if d != -1]))
        new[new.index(-1)] = total // rest if rest else 0
    if int(np.prod(new)) != total:
        raise InvalidArgumentError(None, None, f"sparse.reshape: the input has {total} dense values ({list(old)}) "
                                               f"but shape {new} has {int(np.prod(new))}")
    lin = _linear(idx, old)
    out = np.stack(np.unravel_index(lin, new), axis=1) if idx.size else np.zeros((0, len(new)), np.int64)
    return SparseTensor(out, vals, new)


def _scatter(vals: Tensor, pos: np.ndarray, n: int) -> Tensor:
    """out[pos[i]] += vals[i], a length-n vector (differentiable)."""
    return A._scatter_getitem_op(vals, shape=(n,) + vals._value.shape[1:], key=(pos,))


def add(a, b, threshold=0, name=None):
    """``a + b``: sparse + dense (or dense + sparse) is dense, duplicates summed; sparse + sparse merges the
    row-major sorted entries, summing one entry of ``a`` with one of ``b`` at the same index, and drops a sum
    whose magnitude is below ``threshold`` (unpaired entries are kept), as TensorFlow's SparseAdd.

    >>> import tapeflow as tf
    >>> a = tf.SparseTensor([[0, 0]], [1.0], [2, 2])
    >>> s = tf.sparse.add(a, tf.SparseTensor([[0, 0], [1, 1]], [2.0, 3.0], [2, 2]))
    >>> s.indices.numpy().tolist(), s.values.numpy().tolist()
    ([[0, 0], [1, 1]], [3.0, 3.0])
    """
    if not isinstance(a, SparseTensor):
        a, b = b, a
    idx_a, va, shape = _parts(_sp(a, "sparse.add: a or b"))
    if not isinstance(b, SparseTensor):
        d = convert_to_tensor(b, dtype=va._value.dtype)
        if tuple(d._value.shape) != shape:
            raise ValueError(f"sparse.add: the dense operand must have shape {list(shape)}, got {d._value.shape}")
        flat = _scatter(va, _linear(idx_a, shape), int(np.prod(shape)))
        return M.add(d, A.reshape(flat, shape))
    idx_b, vb, shape_b = _parts(b)
    if shape_b != shape:
        raise InvalidArgumentError(None, None, f"sparse.add: operands' dense shapes differ: {list(shape)} vs "
                                               f"{list(shape_b)}")
    keys, ranks = [], []
    for idx in (idx_a, idx_b):
        lin = _linear(idx, shape)
        order = np.argsort(lin, kind="stable")
        sl = lin[order]
        first = np.searchsorted(sl, sl, side="left")
        rank = np.empty_like(lin)
        rank[order] = np.arange(len(lin)) - first
        keys.append(lin)
        ranks.append(rank)
    k, r = np.concatenate(keys), np.concatenate(ranks)
    uniq, inv = np.unique(np.stack([k, r], axis=1), axis=0, return_inverse=True) if k.size else (
        np.zeros((0, 2), np.int64), np.zeros(0, np.int64))
    inv, na, m = inv.reshape(-1), len(idx_a), len(uniq)
    summed = M.add(_scatter(va, inv[:na], m), _scatter(vb, inv[na:], m))
    paired = np.bincount(inv, minlength=m) == 2
    keep = np.nonzero(~paired | (np.abs(summed._value) >= threshold))[0]
    out_idx = np.concatenate([idx_a, idx_b])[np.unique(inv, return_index=True)[1]] if m else idx_a
    return SparseTensor(out_idx[keep], _take(summed, keep), shape)


def sparse_dense_matmul(sp_a, b, adjoint_a=False, adjoint_b=False, name=None) -> Tensor:
    """``op(sp_a) @ op(b)`` for a 2-D SparseTensor (duplicates summed, any index order); either operand may be
    the sparse one. Differentiable in the sparse values and the dense operand.

    >>> import tapeflow as tf
    >>> sp = tf.SparseTensor([[0, 1], [1, 0]], [2.0, 3.0], [2, 2])
    >>> tf.sparse.sparse_dense_matmul(sp, [[1.0, 0.0], [0.0, 1.0]], adjoint_a=True).numpy().tolist()
    [[0.0, 3.0], [2.0, 0.0]]
    """
    if not isinstance(sp_a, SparseTensor) and isinstance(b, SparseTensor):  # A @ B == (B^T A^T)^T
        return A.transpose(sparse_dense_matmul(b, sp_a, adjoint_a=not adjoint_b, adjoint_b=not adjoint_a))
    idx, vals, shape = _parts(_sp(sp_a, "sparse_dense_matmul: sp_a"))
    if len(shape) != 2:
        raise ValueError(f"sparse_dense_matmul: sp_a must be 2-D, got dense_shape {list(shape)}")
    d = convert_to_tensor(b)
    if d._value.dtype != vals._value.dtype:
        raise TypeError(f"sparse_dense_matmul: b has dtype {d._value.dtype}, expected sp_a's {vals._value.dtype}")
    if d._value.ndim != 2:
        raise ValueError(f"sparse_dense_matmul: b must be 2-D, got shape {d._value.shape}")
    rows, cols, (m, k) = idx[:, 0], idx[:, 1], shape
    if adjoint_a:
        rows, cols, m, k = cols, rows, k, m
    if adjoint_b:
        d = A.transpose(d)
    if d._value.shape[0] != k:
        raise ValueError(f"sparse_dense_matmul: inner dimensions differ: op(sp_a) is {[m, k]}, op(b) is "
                         f"{list(d._value.shape)}")
    picked = A.gather(d, cols) if cols.size else A.getitem(d, cols)
    contrib = M.multiply(A.expand_dims(vals, 1), picked)
    return A._scatter_getitem_op(contrib, shape=(m, d._value.shape[1]), key=(rows,))


def _groups(idx: np.ndarray, shape: tuple, axes: list):
    """Group the entries by their index with ``axes`` removed: (group id per entry, the groups' indices)."""
    keep_ax = [i for i in range(len(shape)) if i not in axes]
    sub = idx[:, keep_ax]
    lin = _linear(sub, tuple(shape[i] for i in keep_ax))
    uniq, first, inv = np.unique(lin, return_index=True, return_inverse=True)
    return inv.reshape(-1), sub[first], keep_ax


def _reduced(sp_input, axis, keepdims, output_is_sparse, what: str, combine):
    idx, vals, shape = _parts(_sp(sp_input, f"{what}: sp_input"))
    axes = _axes(axis, len(shape), what)
    gid, gidx, keep_ax = _groups(idx, shape, axes)
    per_group = combine(vals, gid, len(gidx))
    out_shape = tuple(1 if i in axes else shape[i] for i in range(len(shape))) if keepdims else tuple(
        shape[i] for i in keep_ax)
    if keepdims:
        full = np.zeros((len(gidx), len(shape)), np.int64)
        full[:, keep_ax] = gidx
        gidx = full
    if output_is_sparse:
        return SparseTensor(gidx, per_group, out_shape)
    flat = _scatter(per_group, _linear(gidx, out_shape), int(np.prod(out_shape)))
    return A.reshape(flat, out_shape)


def reduce_sum(sp_input, axis=None, keepdims=False, output_is_sparse=False, name=None):
    """Sum over ``axis`` (all axes if None); dense result, or a SparseTensor of the non-empty groups.

    >>> import tapeflow as tf
    >>> sp = tf.SparseTensor([[0, 0], [0, 2], [1, 1]], [1.0, 2.0, 3.0], [2, 3])
    >>> tf.sparse.reduce_sum(sp, axis=1).numpy().tolist()
    [3.0, 3.0]
    """
    return _reduced(sp_input, axis, keepdims, output_is_sparse, "sparse.reduce_sum",
                    lambda v, g, n: unsorted_segment_sum(v, g, n))


def reduce_max(sp_input, axis=None, keepdims=False, output_is_sparse=False, name=None):
    """Max over ``axis`` of the stored entries only (implicit zeros are ignored; an empty group gives 0), as TF.

    >>> import tapeflow as tf
    >>> sp = tf.SparseTensor([[0, 0], [0, 2]], [-1.0, -3.0], [2, 3])
    >>> tf.sparse.reduce_max(sp, axis=1).numpy().tolist()
    [-1.0, 0.0]
    """
    return _reduced(sp_input, axis, keepdims, output_is_sparse, "sparse.reduce_max",
                    lambda v, g, n: unsorted_segment_max(v, g, n))


def retain(sp_input, to_retain) -> SparseTensor:
    """The entries where the boolean vector ``to_retain`` is True."""
    idx, vals, shape = _parts(_sp(sp_input, "sparse.retain: sp_input"))
    mask = _np(to_retain).astype(bool).reshape(-1)
    if mask.shape[0] != idx.shape[0]:
        raise ValueError(f"sparse.retain: to_retain must have one entry per value ({idx.shape[0]}), "
                         f"got {mask.shape[0]}")
    keep = np.nonzero(mask)[0]
    return SparseTensor(idx[keep], _take(vals, keep), shape)


def slice(sp_input, start, size, name=None) -> SparseTensor:  # noqa: A001 - tf.sparse.slice
    """The entries inside the box ``[start, start + size)`` (clipped to the dense shape), re-based to ``start``."""
    idx, vals, shape = _parts(_sp(sp_input, "sparse.slice: sp_input"))
    st, sz = _i64(start, "sparse.slice: start", 1), _i64(size, "sparse.slice: size", 1)
    if st.size != len(shape) or sz.size != len(shape):
        raise ValueError(f"sparse.slice: start and size must have {len(shape)} entries, got {st.size} and {sz.size}")
    end = np.minimum(st + sz, np.asarray(shape, np.int64))
    keep = np.nonzero(((idx >= st) & (idx < end)).all(axis=1))[0]
    return SparseTensor(idx[keep] - st, _take(vals, keep), np.maximum(end - st, 0))


def concat(axis, sp_inputs, expand_nonconcat_dims=False, name=None) -> SparseTensor:
    """Concatenate SparseTensors along ``axis``; other dimensions must agree unless ``expand_nonconcat_dims``."""
    sps = [_sp(s, f"sparse.concat: sp_inputs[{i}]") for i, s in enumerate(sp_inputs)]
    shapes = [_parts(s)[2] for s in sps]
    ax = _axes(axis, len(shapes[0]), "sparse.concat")[0]
    out = list(np.max(shapes, axis=0)) if expand_nonconcat_dims else list(shapes[0])
    for i, s in enumerate(shapes):
        if len(s) != len(out) or (not expand_nonconcat_dims and any(
                a != b for j, (a, b) in enumerate(zip(s, out)) if j != ax)):
            raise ValueError(f"sparse.concat: sp_inputs[{i}] has dense_shape {list(s)}, expected {out} except "
                             f"along axis {ax}")
    offsets = np.concatenate([[0], np.cumsum([s[ax] for s in shapes])])
    out[ax] = int(offsets[-1])
    idx = []
    for s, off in zip(sps, offsets):
        moved = s.indices._value.copy()
        moved[:, ax] += off
        idx.append(moved)
    return reorder(SparseTensor(np.concatenate(idx), A.concat([s.values for s in sps], 0), out))


def expand_dims(sp_input, axis=None, name=None) -> SparseTensor:
    """Insert a dimension of size 1 at ``axis`` (negative counts from the end of the result)."""
    idx, vals, shape = _parts(_sp(sp_input, "sparse.expand_dims: sp_input"))
    rank = len(shape) + 1
    ax = int(axis if axis is not None else 0)
    if not -rank <= ax < rank:
        raise ValueError(f"sparse.expand_dims: axis {ax} is out of range for a result of rank {rank}")
    ax %= rank
    return SparseTensor(np.insert(idx, ax, 0, axis=1), vals, shape[:ax] + (1,) + shape[ax:])


def transpose(sp_input, perm=None, name=None) -> SparseTensor:
    """Permute the dimensions (reversed when ``perm`` is None); the result is reordered."""
    idx, vals, shape = _parts(_sp(sp_input, "sparse.transpose: sp_input"))
    p = list(range(len(shape)))[::-1] if perm is None else [int(a) for a in _np(perm).reshape(-1)]
    if sorted(p) != list(range(len(shape))):
        raise ValueError(f"sparse.transpose: perm must be a permutation of 0..{len(shape) - 1}, got {p}")
    return reorder(SparseTensor(idx[:, p], vals, [shape[a] for a in p]))


def fill_empty_rows(sp_input, default_value, name=None):
    """``(sp, empty_row_indicator)``: each empty row ``r`` gets one entry ``default_value`` at ``[r, 0, ...]``."""
    idx, vals, shape = _parts(_sp(sp_input, "sparse.fill_empty_rows: sp_input"))
    empty = np.ones(shape[0], bool)
    empty[idx[:, 0]] = False
    rows = np.nonzero(empty)[0]
    new_idx = np.zeros((rows.size, len(shape)), np.int64)
    new_idx[:, 0] = rows
    fill = A.fill([rows.size], convert_to_tensor(default_value, dtype=vals._value.dtype))
    out = reorder(SparseTensor(np.concatenate([idx, new_idx]), A.concat([vals, fill], 0), shape))
    return out, _wrap(empty)


def softmax(sp_input, name=None) -> SparseTensor:
    """Softmax of the stored entries over the last axis (implicit entries take no part), as ``tf.sparse.softmax``.

    >>> import tapeflow as tf
    >>> sp = tf.sparse.softmax(tf.SparseTensor([[0, 0], [0, 2], [1, 1]], [0.0, 0.0, 5.0], [2, 3]))
    >>> sp.values.numpy().tolist()
    [0.5, 0.5, 1.0]
    """
    idx, vals, shape = _parts(_sp(sp_input, "sparse.softmax: sp_input"))
    gid, gidx, _ = _groups(idx, shape, [len(shape) - 1])
    top = unsorted_segment_max(A.stop_gradient(vals), gid, len(gidx))
    e = M.exp(M.subtract(vals, A.gather(top, gid)))
    return SparseTensor(idx, M.divide(e, A.gather(unsorted_segment_sum(e, gid, len(gidx)), gid)), shape)


def to_indicator(sp_input, vocab_size, name=None) -> Tensor:
    """A dense bool tensor ``shape[:-1] + [vocab_size]``, True at ``[index[:-1], value]`` for every entry."""
    idx, vals, shape = _parts(_sp(sp_input, "sparse.to_indicator: sp_input"))
    ids, n = _i64(vals, "sparse.to_indicator: sp_input.values", 1), int(vocab_size)
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise InvalidArgumentError(None, None, f"sparse.to_indicator: values must lie in [0, vocab_size={n}), "
                                               f"got values in [{ids.min()}, {ids.max()}]")
    out = np.zeros(shape[:-1] + (n,), bool)
    out[tuple(idx[:, :-1].T) + (ids,)] = True
    return _wrap(out)


def _segment(data, indices, segment_ids, num_segments, what):
    d = convert_to_tensor(data)
    i, s = _i64(indices, f"{what}: indices", 1), _i64(segment_ids, f"{what}: segment_ids", 1)
    if i.size != s.size:
        raise ValueError(f"{what}: indices and segment_ids must have the same length, got {i.size} and {s.size}")
    n = int(s.max(initial=-1)) + 1 if num_segments is None else int(_np(num_segments))
    rows = A.gather(d, i) if i.size else A.getitem(d, i)
    counts = np.bincount(s, minlength=n)[:n].astype(d._value.dtype).reshape((n,) + (1,) * (d._value.ndim - 1))
    return unsorted_segment_sum(rows, s, n), np.maximum(counts, 1)


def segment_sum(data, indices, segment_ids, num_segments=None, name=None) -> Tensor:
    """``out[segment_ids[j]] += data[indices[j]]`` (``tf.sparse.segment_sum``).

    >>> import tapeflow as tf
    >>> tf.sparse.segment_sum([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0, 1, 2], [0, 0, 2]).numpy().tolist()
    [[4.0, 6.0], [0.0, 0.0], [5.0, 6.0]]
    """
    return _segment(data, indices, segment_ids, num_segments, "sparse.segment_sum")[0]


def segment_mean(data, indices, segment_ids, num_segments=None, name=None) -> Tensor:
    """Like ``segment_sum`` divided by each segment's count (empty segments: 0)."""
    total, counts = _segment(data, indices, segment_ids, num_segments, "sparse.segment_mean")
    return M.divide(total, _wrap(counts))


def segment_sqrt_n(data, indices, segment_ids, num_segments=None, name=None) -> Tensor:
    """Like ``segment_sum`` divided by the square root of each segment's count."""
    total, counts = _segment(data, indices, segment_ids, num_segments, "sparse.segment_sqrt_n")
    return M.divide(total, _wrap(np.sqrt(counts)))


def eye(num_rows, num_columns=None, dtype="float32", name=None) -> SparseTensor:
    """A sparse identity matrix."""
    m = int(num_rows)
    n = m if num_columns is None else int(num_columns)
    k = np.arange(min(m, n), dtype=np.int64)
    return SparseTensor(np.stack([k, k], axis=1), np.ones(k.size, dtype=dtype), [m, n])


def map_values(op, *args, **kwargs):
    """Apply ``op`` to the values of the SparseTensor arguments (all with the same indices)."""
    sps = [a for a in list(args) + list(kwargs.values()) if isinstance(a, SparseTensor)]
    if not sps:
        raise ValueError("sparse.map_values: pass at least one SparseTensor argument")
    first = sps[0]
    for s in sps[1:]:
        if not np.array_equal(s.indices._value, first.indices._value):
            raise ValueError("sparse.map_values: all SparseTensor arguments must have the same indices")
    unwrap = (lambda a: a.values if isinstance(a, SparseTensor) else a)
    return first.with_values(op(*[unwrap(a) for a in args], **{k: unwrap(v) for k, v in kwargs.items()}))
