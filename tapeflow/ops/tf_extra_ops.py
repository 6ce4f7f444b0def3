"""TensorFlow 2's remaining top-level array ops: ``unique`` (first-occurrence order), ``meshgrid``,
``searchsorted``, ``unravel_index``, the fixed-width histograms, ``space_to_batch`` / ``batch_to_space``,
``bitcast``, ``tensor_scatter_nd_max`` / ``_min``, the broadcast-shape helpers, ``parallel_stack`` and ``tf.tuple``
(``tf.slice`` / ``tf.strided_slice`` are in ``tf_slice_ops.py``).

Index bookkeeping is NumPy; values move through differentiable tapeflow ops (``getitem``, ``reshape``,
``transpose``, ``pad``, ``broadcast_to``), so no new primitive is registered. ``tensor_scatter_nd_max`` / ``_min``
carry TensorFlow's registered gradient (ties share it) through ``custom_gradient``. Integer results (``unique``,
``searchsorted``, histograms, ``unravel_index``, ``bitcast``) are constants, as TensorFlow's have no gradient.

>>> import tapeflow as tf
>>> tf.unique([4, 1, 4, 2]).y.numpy().tolist()
[4, 1, 2]
"""
from __future__ import annotations

import builtins
import collections

import numpy as np

from .. import backend as B
from ..autodiff.custom import custom_gradient
from ..autodiff.tensor import Tensor, TensorShape, convert_to_tensor
from ..errors import InvalidArgumentError
from . import array_ops as A
from . import math_ops as M
from .index_ops import _nd_key, gather_nd, scatter_nd
from .registry import binary_args

# ``tuple`` is a TensorFlow name defined below: the builtins are reached through these aliases only.
_py_slice, _py_tuple = builtins.slice, builtins.tuple

Unique = collections.namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])


def _np(x) -> np.ndarray:
    return np.asarray(x._value if isinstance(x, Tensor) else x)


def _int_vector(x, what: str, hint: str = "") -> np.ndarray:
    a = _np(x)
    if a.size == 0:
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {a.dtype}{hint}")
    return a.astype(np.int64)


def _index_dtype(dtype, what: str) -> np.dtype:
    d = B.as_dtype(dtype)
    if d not in (np.dtype("int32"), np.dtype("int64")):
        raise TypeError(f"{what} must be tf.int32 or tf.int64, got {d.name}")
    return d


# -- unique ----------------------------------------------------------------------------------------------------
def _unique(x, out_idx, what: str):
    t = convert_to_tensor(x)
    v = t._value
    d = _index_dtype(out_idx, f"{what}: out_idx")
    if v.ndim != 1:
        raise InvalidArgumentError(message=f"{what}: x must be 1-D, got shape {v.shape}; flatten it with "
                                           f"tf.reshape(x, [-1]) first")
    kw = {"equal_nan": False} if v.dtype.kind in "fc" else {}   # TF hashes values: every NaN is its own entry
    _, first, inv, counts = np.unique(v, return_index=True, return_inverse=True, return_counts=True, **kw)
    order = np.argsort(first, kind="stable")                    # sorted uniques -> first-occurrence order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    y = Tensor._wrap(v[first[order]])
    return y, Tensor._wrap(rank[inv.reshape(-1)].astype(d)), Tensor._wrap(counts[order].astype(d))


def unique(x, out_idx="int32", name=None) -> Unique:
    """``(y, idx)``: the distinct entries of the 1-D ``x`` in order of first occurrence and, for each entry of
    ``x``, its position in ``y`` (dtype ``out_idx``). Not differentiable, as in TensorFlow.

    >>> import tapeflow as tf
    >>> y, idx = tf.unique([1, 1, 2, 4, 4, 4, 7, 8, 8])
    >>> y.numpy().tolist(), idx.numpy().tolist()
    ([1, 2, 4, 7, 8], [0, 0, 1, 2, 2, 2, 3, 4, 4])
    """
    y, idx, _ = _unique(x, out_idx, "unique")
    return Unique(y, idx)


def unique_with_counts(x, out_idx="int32", name=None) -> UniqueWithCounts:
    """``(y, idx, count)``: ``unique`` plus how often each entry of ``y`` occurs in ``x`` (dtype ``out_idx``).

    >>> import tapeflow as tf
    >>> tf.unique_with_counts([3, 1, 3]).count.numpy().tolist()
    [2, 1]
    """
    return UniqueWithCounts(*_unique(x, out_idx, "unique_with_counts"))


# -- grids and searches -----------------------------------------------------------------------------------------
def meshgrid(*args, **kwargs) -> list:
    """N-D coordinate grids from N 1-D tensors (``indexing="xy"``: Cartesian, the first two axes swapped;
    ``"ij"``: matrix indexing). Differentiable (gradients sum over the broadcast axes).

    >>> import tapeflow as tf
    >>> xs, ys = tf.meshgrid([1, 2, 3], [4, 5])
    >>> xs.numpy().tolist(), ys.numpy().tolist()
    ([[1, 2, 3], [1, 2, 3]], [[4, 4, 4], [5, 5, 5]])
    """
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"meshgrid: unexpected keyword arguments {sorted(kwargs)}; only indexing and name exist")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [A.reshape(convert_to_tensor(a), (-1,)) for a in args]
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"meshgrid: all inputs must share one dtype, got {[x.dtype.name for x in xs]}; "
                        f"cast them with tf.cast first")
    n = len(xs)
    sizes = [x._value.shape[0] for x in xs]
    axes = list(range(n))
    if indexing == "xy" and n > 1:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for x, ax in zip(xs, axes):
        shape = [1] * n
        shape[ax] = -1
        out.append(A.broadcast_to(A.reshape(x, _py_tuple(shape)), _py_tuple(sizes)))
    return out


def searchsorted(sorted_sequence, values, side="left", out_type="int32", name=None) -> Tensor:
    """For each entry of ``values[..., j]``, its insertion index into the matching row ``sorted_sequence[..., :]``
    (``side="left"``: before equal entries, ``"right"``: after). The leading axes must hold as many rows.

    >>> import tapeflow as tf
    >>> tf.searchsorted([[1, 3, 5], [2, 4, 6]], [[3, 0], [7, 4]], side="right").numpy().tolist()
    [[2, 0], [3, 2]]
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    d = _index_dtype(out_type, "searchsorted: out_type")
    s, v = binary_args(convert_to_tensor(sorted_sequence), values, "searchsorted")
    s, v = s._value, v._value
    if s.ndim == 0 or v.ndim == 0:
        raise ValueError(f"searchsorted: sorted_sequence and values must have rank >= 1, got shapes {s.shape} "
                         f"and {v.shape}")
    s2, v2 = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
    if s2.shape[0] != v2.shape[0]:
        raise InvalidArgumentError(message=f"searchsorted: sorted_sequence {s.shape} and values {v.shape} must "
                                           f"have the same number of rows (product of the leading axes)")
    out = np.empty(v2.shape, np.int64)
    for r in range(s2.shape[0]):          # one binary search per row (rows are batches, not elements)
        out[r] = np.searchsorted(s2[r], v2[r], side=side)
    if d == np.int32 and s.shape[-1] >= 2 ** 31 - 1:
        raise InvalidArgumentError(message="searchsorted: sorted_sequence's last axis is too long for int32 "
                                           "results; pass out_type=tf.int64")
    return Tensor._wrap(out.reshape(v.shape).astype(d))


def unravel_index(indices, dims, name=None) -> Tensor:
    """The coordinates of flat ``indices`` in an array of shape ``dims``: shape ``(len(dims),)`` for a scalar,
    ``(len(dims), N)`` for N indices; the dtype of ``indices``.

    >>> import tapeflow as tf
    >>> tf.unravel_index([5, 7], [3, 4]).numpy().tolist()
    [[1, 1], [1, 3]]
    """
    t = convert_to_tensor(indices)
    if t._value.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices must be integers, got dtype {t.dtype.name}")
    if t._value.ndim > 1:
        raise ValueError(f"unravel_index: indices must be a scalar or 1-D, got shape {t._value.shape}")
    d = _int_vector(dims, "unravel_index: dims").reshape(-1)
    if d.size and d.min() <= 0:
        raise InvalidArgumentError(message=f"unravel_index: dims must be positive, got {d.tolist()}")
    i = t._value.astype(np.int64)
    total = int(np.prod(d))
    if i.size and (i.min() < 0 or i.max() >= total):
        raise InvalidArgumentError(message=f"unravel_index: indices must lie in [0, {total}) for dims "
                                           f"{d.tolist()}, got values in [{i.min()}, {i.max()}]")
    out = np.stack(np.unravel_index(i, _py_tuple(int(k) for k in d))) if d.size else np.zeros((0,) + i.shape)
    return Tensor._wrap(out.astype(t._value.dtype))


# -- histograms -------------------------------------------------------------------------------------------------
def _range_of(values: Tensor, value_range, what: str) -> np.ndarray:
    r = value_range._value if isinstance(value_range, Tensor) else np.asarray(value_range, values._value.dtype)
    if r.dtype != values._value.dtype:
        raise TypeError(f"{what}: value_range has dtype {r.dtype}, values {values.dtype.name}; they must match "
                        f"(cast one with tf.cast)")
    if r.shape != (2,):
        raise ValueError(f"{what}: value_range must have shape (2,), got {r.shape}")
    if not r[0] < r[1]:
        raise InvalidArgumentError(message=f"{what}: value_range must satisfy value_range[0] < value_range[1], "
                                           f"got {r.tolist()}")
    return r


def _nbins(nbins, what: str) -> int:
    n = int(_np(nbins))
    if n <= 0:
        raise InvalidArgumentError(message=f"{what}: nbins must be > 0, got {n}")
    return n


def histogram_fixed_width(values, value_range, nbins=100, dtype="int32", name=None) -> Tensor:
    """Counts of ``values`` in ``nbins`` equal bins over ``value_range``; values below the range count in the
    first bin, values at or above its end in the last.

    >>> import tapeflow as tf
    >>> tf.histogram_fixed_width([-1.0, 0.0, 0.5, 1.0, 5.0], [0.0, 1.0], nbins=4).numpy().tolist()
    [2, 0, 1, 2]
    """
    v = convert_to_tensor(values)
    r = _range_of(v, value_range, "histogram_fixed_width")
    n = _nbins(nbins, "histogram_fixed_width")
    out_dtype = _index_dtype(dtype, "histogram_fixed_width: dtype")
    x = v._value.reshape(-1)
    step = np.float64(r[1] - r[0]) / n                          # TF's kernel: offsets in T, the division in double
    bins = np.minimum((np.maximum(x, r[0]) - r[0]).astype(np.float64) / step, n - 1).astype(np.int64)
    return Tensor._wrap(np.bincount(bins, minlength=n).astype(out_dtype))


def histogram_fixed_width_bins(values, value_range, nbins=100, dtype="int32", name=None) -> Tensor:
    """The bin (int32, ``values``' shape) each value falls in, with ``histogram_fixed_width``'s bins.

    >>> import tapeflow as tf
    >>> tf.histogram_fixed_width_bins([-1.0, 0.0, 1.5, 2.0, 5.0, 15.0], [0.0, 5.0], nbins=5).numpy().tolist()
    [0, 0, 1, 2, 4, 4]
    """
    v = convert_to_tensor(values)
    r = _range_of(v, value_range, "histogram_fixed_width_bins")
    n = _nbins(nbins, "histogram_fixed_width_bins")
    x, lo, hi = v._value, r[0], r[1]
    if x.dtype.kind != "f":                                     # TF's Python formula needs a float dtype
        x, lo, hi = x.astype(np.float64), np.float64(lo), np.float64(hi)
    nb = x.dtype.type(n)
    scaled = (x - lo) / (hi - lo)                               # the same float ops, in the same dtype, as TF
    idx = np.clip(np.floor(nb * scaled), 0, nb - 1)
    return Tensor._wrap(idx.astype(np.int32))


# -- space_to_batch / batch_to_space ----------------------------------------------------------------------------
def _block(block_shape, what: str, scalar_ok: bool = False) -> np.ndarray:
    b = _int_vector(block_shape, f"{what}: block_shape")
    if b.ndim == 0 and scalar_ok:                               # TF2's batch_to_space: an int for both axes
        b = np.array([int(b), int(b)])
    if b.ndim != 1 or b.size == 0 or b.min() < 1:
        raise InvalidArgumentError(message=f"{what}: block_shape must be a non-empty 1-D list of integers >= 1, "
                                           f"got {b.tolist()}")
    return b


def _pairs(p, m: int, what: str, arg: str) -> np.ndarray:
    p = _int_vector(p, f"{what}: {arg}")
    if p.shape != (m, 2) or (p.size and p.min() < 0):
        raise InvalidArgumentError(message=f"{what}: {arg} must be non-negative with shape ({m}, 2) (one "
                                           f"[start, end] pair per block axis), got {p.tolist()}")
    return p


def _check_rank(t: Tensor, m: int, what: str) -> None:
    if t._value.ndim < m + 1:
        raise InvalidArgumentError(message=f"{what}: input must have rank >= {m + 1} (batch + {m} block axes), "
                                           f"got shape {t._value.shape}")


def space_to_batch_nd(input, block_shape, paddings, name=None) -> Tensor:  # noqa: A002
    """Pad the M axes after the batch axis, cut them into ``block_shape`` blocks and move the block offsets into
    the batch axis: shape ``[batch * prod(block_shape)] + [padded / block] + rest``. Differentiable.

    >>> import tapeflow as tf
    >>> tf.space_to_batch_nd([[[[1], [2]], [[3], [4]]]], [2, 2], [[0, 0], [0, 0]]).numpy().reshape(-1).tolist()
    [1, 2, 3, 4]
    """
    t = convert_to_tensor(input)
    b = _block(block_shape, "space_to_batch_nd")
    m = b.size
    _check_rank(t, m, "space_to_batch_nd")
    p = _pairs(paddings, m, "space_to_batch_nd", "paddings")
    shape = t._value.shape
    rest = shape[m + 1:]
    padded = A.pad(t, [[0, 0]] + p.tolist() + [[0, 0]] * len(rest))
    full = padded._value.shape[1:m + 1]
    if any(f % k for f, k in zip(full, b)):
        raise InvalidArgumentError(message=f"space_to_batch_nd: the padded block axes {list(full)} must be "
                                           f"divisible by block_shape {b.tolist()}; adjust paddings (see "
                                           f"tf.required_space_to_batch_paddings)")
    split = [shape[0]]
    for f, k in zip(full, b):
        split += [f // int(k), int(k)]
    y = A.reshape(padded, _py_tuple(split) + rest)
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + list(range(2 * m + 1, y.ndim))
    y = A.transpose(y, perm)
    return A.reshape(y, (shape[0] * int(np.prod(b)),) + _py_tuple(f // int(k) for f, k in zip(full, b)) + rest)


def space_to_batch(input, block_shape, paddings, name=None) -> Tensor:  # noqa: A002
    """TF2's ``tf.space_to_batch``: the same op as ``space_to_batch_nd``.

    >>> import tapeflow as tf
    >>> tf.space_to_batch(tf.zeros((1, 4, 4, 3)), [2, 2], [[0, 0], [0, 0]]).shape.as_list()
    [4, 2, 2, 3]
    """
    return space_to_batch_nd(input, block_shape, paddings)


def batch_to_space(input, block_shape, crops, name=None) -> Tensor:  # noqa: A002
    """The inverse of ``space_to_batch_nd``: move ``prod(block_shape)`` batch slices back into the M axes after
    the batch axis, then crop ``crops[i] = [start, end]`` from each. Differentiable.

    >>> import tapeflow as tf
    >>> tf.batch_to_space([[[[1]]], [[[2]]], [[[3]]], [[[4]]]], [2, 2], [[0, 0], [0, 0]]).numpy()[0, :, :, 0].tolist()
    [[1, 2], [3, 4]]
    """
    t = convert_to_tensor(input)
    b = _block(block_shape, "batch_to_space", scalar_ok=True)
    m = b.size
    _check_rank(t, m, "batch_to_space")
    c = _pairs(crops, m, "batch_to_space", "crops")
    shape = t._value.shape
    prod = int(np.prod(b))
    if shape[0] % prod:
        raise InvalidArgumentError(message=f"batch_to_space: the batch axis ({shape[0]}) must be divisible by "
                                           f"prod(block_shape) = {prod}")
    n, rest = shape[0] // prod, shape[m + 1:]
    y = A.reshape(t, _py_tuple(int(k) for k in b) + (n,) + shape[1:])
    perm = [m] + [i for d in range(m) for i in (m + 1 + d, d)] + list(range(2 * m + 1, y.ndim))
    y = A.transpose(y, perm)
    full = [shape[1 + d] * int(b[d]) for d in range(m)]
    y = A.reshape(y, (n,) + _py_tuple(full) + rest)
    if any(s + e > f for (s, e), f in zip(c.tolist(), full)):
        raise InvalidArgumentError(message=f"batch_to_space: crops {c.tolist()} remove more than the block axes "
                                           f"{full} hold")
    key = (_py_slice(None),) + _py_tuple(_py_slice(int(s), f - int(e)) for (s, e), f in zip(c, full))
    return A.getitem(y, key) if c.any() else y


def required_space_to_batch_paddings(input_shape, block_shape, base_paddings=None, name=None) -> tuple:
    """``(paddings, crops)`` (int32) that make ``input_shape`` plus ``base_paddings`` divisible by
    ``block_shape``: the extra padding goes at the end, and ``crops`` removes it again.

    >>> import tapeflow as tf
    >>> p, c = tf.required_space_to_batch_paddings([5, 7], [2, 3])
    >>> p.numpy().tolist(), c.numpy().tolist()
    ([[0, 1], [0, 2]], [[0, 1], [0, 2]])
    """
    s = _int_vector(input_shape, "required_space_to_batch_paddings: input_shape").reshape(-1)
    b = _int_vector(block_shape, "required_space_to_batch_paddings: block_shape").reshape(-1)
    if s.shape != b.shape:
        raise ValueError(f"required_space_to_batch_paddings: input_shape {s.tolist()} and block_shape "
                         f"{b.tolist()} must have the same length")
    if b.size and b.min() < 1:
        raise InvalidArgumentError(message=f"required_space_to_batch_paddings: block_shape must be >= 1, got "
                                           f"{b.tolist()}")
    base = np.zeros((b.size, 2), np.int64) if base_paddings is None else _pairs(
        base_paddings, b.size, "required_space_to_batch_paddings", "base_paddings")
    full = s + base[:, 0] + base[:, 1]
    extra = (b - full % b) % b
    pads = np.stack([base[:, 0], base[:, 1] + extra], axis=1)
    crops = np.stack([np.zeros_like(extra), extra], axis=1)
    return Tensor._wrap(pads.astype(np.int32)), Tensor._wrap(crops.astype(np.int32))


# -- bitcast --------------------------------------------------------------------------------------------------
def bitcast(input, type, name=None) -> Tensor:  # noqa: A002
    """The same bytes read as dtype ``type``: a wider source gains a last axis of ``size ratio`` entries, a
    narrower one must end in such an axis, which goes. Not differentiable.

    >>> import tapeflow as tf
    >>> tf.bitcast(tf.constant([1.0, 2.0]), tf.int32).numpy().tolist()
    [1065353216, 1073741824]
    """
    t = convert_to_tensor(input)
    v, d = np.ascontiguousarray(t._value), B.as_dtype(type)
    for dt, arg in ((v.dtype, "input"), (d, "type")):
        if dt.kind in "OSUb":
            raise TypeError(f"bitcast: {arg} must have a numeric dtype, got {dt.name}")
    if v.dtype.itemsize == d.itemsize:
        return Tensor._wrap(v.view(d))
    if v.dtype.itemsize > d.itemsize:
        ratio = v.dtype.itemsize // d.itemsize
        return Tensor._wrap(v.reshape(v.shape + (1,)).view(d).reshape(v.shape + (ratio,)))
    ratio = d.itemsize // v.dtype.itemsize
    if v.ndim == 0 or v.shape[-1] != ratio:
        raise InvalidArgumentError(message=f"bitcast: casting {v.dtype.name} to the wider {d.name} needs a last "
                                           f"axis of size {ratio}, got shape {v.shape}")
    return Tensor._wrap(v.view(d).reshape(v.shape[:-1]))


# -- tensor_scatter_nd_max / _min -------------------------------------------------------------------------------
def _scatter_extreme(tensor, indices, updates, ufunc, what: str) -> Tensor:
    t = convert_to_tensor(tensor)
    t, u = binary_args(t, updates, what)
    idx = _int_vector(indices, f"{what}: indices")
    shape = t._value.shape
    if idx.ndim == 0:
        raise ValueError(f"{what}: indices must have rank >= 1 (its last axis indexes tensor), got a scalar")
    key = _nd_key(idx, shape, 0, what)
    want = idx.shape[:-1] + shape[idx.shape[-1]:]
    if u._value.shape != want:
        raise InvalidArgumentError(message=f"{what}: updates must have shape {want} (indices.shape[:-1] + "
                                           f"tensor.shape[depth:]), got {u._value.shape}")
    out = t._value.copy()
    ufunc.at(out, key, u._value)
    result = Tensor._wrap(out)

    def forward(x, y):
        def grad(g):                                            # TensorFlow's _TensorScatterMinOrMaxGrad
            x_ind = A.cast(M.equal(x, result), g.dtype)
            y_ind = A.cast(M.equal(y, gather_nd(result, idx)), g.dtype)
            ind = M.add(x_ind, scatter_nd(idx, y_ind, shape))   # >= 1 everywhere: ties share the gradient
            return M.divide(M.multiply(g, x_ind), ind), M.multiply(gather_nd(M.divide(g, ind), idx), y_ind)
        return result, grad

    forward.__name__ = what
    return custom_gradient(forward)(t, u)


def tensor_scatter_nd_max(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with ``max(tensor[i], updates)`` at each index row (repeated rows: the max of all). The gradient
    goes to whichever of ``tensor`` and ``updates`` holds the result, split evenly between ties (TF's rule).

    >>> import tapeflow as tf
    >>> tf.tensor_scatter_nd_max([1.0, 5.0, 3.0], [[0], [1], [0]], [4.0, 2.0, 6.0]).numpy().tolist()
    [6.0, 5.0, 3.0]
    """
    return _scatter_extreme(tensor, indices, updates, np.maximum, "tensor_scatter_nd_max")


def tensor_scatter_nd_min(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with ``min(tensor[i], updates)`` at each index row; gradients as ``tensor_scatter_nd_max``.

    >>> import tapeflow as tf
    >>> tf.tensor_scatter_nd_min([1.0, 5.0, 3.0], [[0], [1]], [4.0, 2.0]).numpy().tolist()
    [1.0, 2.0, 3.0]
    """
    return _scatter_extreme(tensor, indices, updates, np.minimum, "tensor_scatter_nd_min")


# -- shapes, stacking, grouping ---------------------------------------------------------------------------------
def parallel_stack(values, name="parallel_stack") -> Tensor:
    """``tf.stack(values, axis=0)`` for same-shape, same-dtype tensors.

    TensorFlow runs this op only inside ``tf.function`` (eagerly it raises RuntimeError) and registers no gradient
    for it; tapeflow runs every function eagerly, so it computes the stack here and lets gradients through.

    >>> import tapeflow as tf
    >>> tf.parallel_stack([[1, 4], [2, 5], [3, 6]]).numpy().tolist()
    [[1, 4], [2, 5], [3, 6]]
    """
    xs = [convert_to_tensor(v) for v in values]
    if not xs:
        raise ValueError("parallel_stack: values must hold at least one tensor")
    if len({(x._value.shape, x.dtype) for x in xs}) > 1:
        raise ValueError(f"parallel_stack: all values must have one shape and dtype, got "
                         f"{[(x._value.shape, x.dtype.name) for x in xs]}")
    return A.stack(xs, axis=0)


def _broadcast_dims(x: list, y: list, incompatible):
    n = max(len(x), len(y))
    x, y = [1] * (n - len(x)) + list(x), [1] * (n - len(y)) + list(y)
    out = []
    for a, b in zip(x, y):
        if a is None or b is None:                              # unknown: known if the other side is > 1
            out.append(a if a is not None and a > 1 else b if b is not None and b > 1 else None)
        elif a == 1 or a == b:
            out.append(b)
        elif b == 1:
            out.append(a)
        else:
            raise incompatible()
    return out


def broadcast_static_shape(shape_x, shape_y) -> TensorShape:
    """The broadcast of two static shapes (``None`` dims allowed) as a ``TensorShape``; ValueError if they
    cannot broadcast.

    >>> import tapeflow as tf
    >>> tf.broadcast_static_shape(tf.TensorShape([2, 1]), tf.TensorShape([3]))
    TensorShape([2, 3])
    """
    xs, ys = [None if d is None else int(d) for d in shape_x], [None if d is None else int(d) for d in shape_y]

    def bad():
        return ValueError(f"Incompatible shapes for broadcasting. Two shapes are compatible if for each dimension "
                          f"pair they are either equal or one of them is 1. Received: {_py_tuple(xs)} and "
                          f"{_py_tuple(ys)}.")
    return TensorShape(_broadcast_dims(xs, ys, bad))


def broadcast_dynamic_shape(shape_x, shape_y) -> Tensor:
    """The broadcast of two 1-D integer shape tensors, in their dtype (InvalidArgumentError if incompatible).

    >>> import tapeflow as tf
    >>> tf.broadcast_dynamic_shape([2, 1], [3]).numpy().tolist()
    [2, 3]
    """
    x, y = binary_args(convert_to_tensor(shape_x), shape_y, "broadcast_dynamic_shape")
    for t, arg in ((x, "shape_x"), (y, "shape_y")):
        if t._value.ndim != 1 or t._value.dtype.kind not in "iu":
            raise ValueError(f"broadcast_dynamic_shape: {arg} must be a 1-D integer tensor, got shape "
                             f"{t._value.shape} and dtype {t.dtype.name}")
    xs, ys = x._value.tolist(), y._value.tolist()

    def bad():
        return InvalidArgumentError(message=f"Incompatible shapes: {xs} vs. {ys}")
    return Tensor._wrap(np.asarray(_broadcast_dims(xs, ys, bad), dtype=x._value.dtype))


def _tuple(tensors, control_inputs=None, name=None):
    """``tf.tuple``: groups tensors behind a barrier in a graph; eagerly it returns ``tensors`` unchanged.

    >>> import tapeflow as tf
    >>> len(tf.tuple([tf.constant(1.0), tf.constant([2, 3])]))
    2
    """
    return tensors


tuple = _tuple  # noqa: A001 - TensorFlow's name

__all__ = ["unique", "unique_with_counts", "meshgrid", "searchsorted", "unravel_index", "histogram_fixed_width",
           "histogram_fixed_width_bins", "space_to_batch_nd", "space_to_batch", "batch_to_space",
           "required_space_to_batch_paddings", "bitcast", "tensor_scatter_nd_max", "tensor_scatter_nd_min",
           "parallel_stack", "broadcast_static_shape", "broadcast_dynamic_shape", "tuple"]
