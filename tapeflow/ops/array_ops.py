"""Shape, indexing and construction ops: forward and VJP side by side."""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend as B
from ..autodiff.tensor import Tensor, convert_to_tensor
from .registry import Variadic, bind, binary_args, const, defvjp, norm_axis, primitive

# -- dtype ----------------------------------------------------------------------------------
_cast = primitive("cast", lambda x, dtype: x.astype(dtype, copy=False))
defvjp(_cast, lambda g, ans, x, dtype: cast(g, x._value.dtype) if B.is_floating(x._value.dtype) else None)


def cast(x, dtype, name=None) -> Tensor:
    """Change dtype; float -> int truncates toward zero, as TF. Gradients flow float<->float.

    >>> import tapeflow as tf
    >>> tf.cast([1.7, -1.7], tf.int32).numpy().tolist()
    [1, -1]
    """
    x = convert_to_tensor(x)
    dtype = B.as_dtype(dtype)
    if x._value.dtype == dtype:
        return x
    if not B.is_floating(dtype) or not B.is_floating(x._value.dtype):
        return Tensor._wrap(x._value.astype(dtype))
    return bind(_cast, x, dtype=dtype)


# -- shape ----------------------------------------------------------------------------------
_reshape = primitive("reshape", lambda x, shape: np.reshape(x, shape))
defvjp(_reshape, lambda g, ans, x, shape: reshape(g, x._value.shape))


def reshape(tensor, shape, name=None) -> Tensor:
    """Reshape (one dimension may be -1).

    >>> import tapeflow as tf
    >>> tf.reshape(tf.range(6), (2, 3)).shape.as_list()
    [2, 3]
    """
    x = convert_to_tensor(tensor)
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    shape = tuple(-1 if s is None else int(s) for s in (shape if isinstance(shape, (list, tuple)) else (shape,)))
    n = x._value.size
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if (-1 not in shape and known != n) or (-1 in shape and (known == 0 or n % known)):
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x._value.shape} ({n} elements) to {shape}")
    if shape == x._value.shape:
        return x
    return bind(_reshape, x, shape=shape)


def _transpose_fwd(x, perm):
    return np.transpose(x, perm)


_transpose = primitive("transpose", _transpose_fwd)
defvjp(_transpose, lambda g, ans, x, perm: transpose(g, perm=tuple(np.argsort(perm))))


def transpose(a, perm=None, conjugate=False, name=None) -> Tensor:
    """Permute dimensions (default: reverse them)."""
    x = convert_to_tensor(a)
    nd = x._value.ndim
    perm = tuple(builtins.range(nd))[::-1] if perm is None else tuple(int(p) % builtins.max(nd, 1) for p in perm)
    if sorted(perm) != list(builtins.range(nd)):
        raise ValueError(f"transpose: perm {perm} is not a permutation of the {nd} axes of shape {x._value.shape}")
    return bind(_transpose, x, perm=perm)


def expand_dims(input, axis, name=None) -> Tensor:  # noqa: A002 - TF's name
    x = convert_to_tensor(input)
    return reshape(x, np.expand_dims(np.empty(x._value.shape, dtype=bool), axis).shape)


def squeeze(input, axis=None, name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    if axis is not None:
        for a in np.atleast_1d(axis):
            if x._value.shape[int(a)] != 1:
                raise ValueError(f"squeeze: axis {int(a)} of shape {x._value.shape} is not 1")
    return reshape(x, np.squeeze(np.empty(x._value.shape, dtype=bool), axis=axis).shape)


_broadcast_to = primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
defvjp(_broadcast_to, lambda g, ans, x, shape: sum_to(g, shape=x._value.shape))


def broadcast_to(input, shape, name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    shape = tuple(int(s) for s in shape)
    if x._value.shape == shape:
        return x
    return bind(_broadcast_to, x, shape=shape)


def _sum_to_fwd(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(builtins.range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return out.reshape(shape)


_sum_to = primitive("sum_to", _sum_to_fwd)
defvjp(_sum_to, lambda g, ans, x, shape: broadcast_to(g, x._value.shape))


def sum_to(x: Tensor, shape) -> Tensor:
    """Sum a broadcast gradient back to ``shape`` (the engine's one unbroadcast)."""
    return bind(_sum_to, x, shape=tuple(shape))


# -- joining and splitting ------------------------------------------------------------------
_concat = primitive("concat", lambda *xs, axis: np.concatenate(xs, axis=axis))


def _concat_vjp(i):
    def vjp(g, ans, *xs, axis):
        start = builtins.sum(x._value.shape[axis] for x in xs[:i])
        idx = [slice(None)] * g._value.ndim
        idx[axis] = slice(start, start + xs[i]._value.shape[axis])
        return getitem(g, tuple(idx))
    return vjp


defvjp(_concat, Variadic(_concat_vjp))


def concat(values, axis, name=None) -> Tensor:
    """Join tensors along an existing axis.

    >>> import tapeflow as tf
    >>> tf.concat([[[1]], [[2]]], axis=0).shape.as_list()
    [2, 1]
    """
    xs = [convert_to_tensor(v) for v in values]
    if not xs:
        raise ValueError("concat: needs at least one tensor")
    nd = xs[0]._value.ndim
    axis = int(axis) % builtins.max(nd, 1)
    for t in xs[1:]:
        if t._value.ndim != nd or any(a != b for k, (a, b) in enumerate(zip(t._value.shape, xs[0]._value.shape)) if k != axis):
            raise ValueError(f"concat: shapes {[x._value.shape for x in xs]} differ outside axis {axis}")
        if t._value.dtype != xs[0]._value.dtype:
            raise TypeError(f"concat: dtypes differ: {[x.dtype.name for x in xs]}")
    if len(xs) == 1:
        return xs[0]
    return bind(_concat, *xs, axis=axis)


def stack(values, axis=0, name=None) -> Tensor:
    """Join same-shape tensors along a new axis."""
    xs = [convert_to_tensor(v) for v in values]
    if not xs:
        raise ValueError("stack: needs at least one tensor")
    shape = xs[0]._value.shape
    for t in xs:
        if t._value.shape != shape:
            raise ValueError(f"stack: all shapes must match, got {[x._value.shape for x in xs]}")
    axis = int(axis) % (len(shape) + 1)
    return concat([expand_dims(x, axis) for x in xs], axis=axis)


def unstack(value, num=None, axis=0, name=None) -> list:
    x = convert_to_tensor(value)
    axis = int(axis) % x._value.ndim
    idx = [slice(None)] * x._value.ndim
    out = []
    for i in builtins.range(x._value.shape[axis]):
        idx[axis] = i
        out.append(getitem(x, tuple(idx)))
    return out


def split(value, num_or_size_splits, axis=0, num=None, name=None) -> list:
    """Split into equal parts (an int) or parts of the given sizes (a list; one may be -1)."""
    x = convert_to_tensor(value)
    axis = int(axis) % x._value.ndim
    n = x._value.shape[axis]
    if isinstance(num_or_size_splits, (int, np.integer)):
        k = int(num_or_size_splits)
        if k <= 0 or n % k:
            raise ValueError(f"split: dimension {axis} of size {n} cannot be split into {k} equal parts")
        sizes = [n // k] * k
    else:
        sizes = [int(s) for s in num_or_size_splits]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = n - (builtins.sum(sizes) + 1)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to dimension {axis} of size {n}")
    out, start = [], 0
    idx = [slice(None)] * x._value.ndim
    for s in sizes:
        idx[axis] = slice(start, start + s)
        out.append(getitem(x, tuple(idx)))
        start += s
    return out


# -- indexing -------------------------------------------------------------------------------
def _is_basic(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)) for k in items)


_getitem = primitive("getitem", lambda x, key: x[key])
defvjp(_getitem, lambda g, ans, x, key: _scatter_getitem_op(g, shape=x._value.shape, key=key))


def _scatter_fwd(g, shape, key):
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(key):
        out[key] = g
    else:
        np.add.at(out, key, g)
    return out


_scatter_getitem = primitive("getitem_vjp", _scatter_fwd)
defvjp(_scatter_getitem, lambda g, ans, x, shape, key: getitem(g, key))


def _scatter_getitem_op(g, shape, key):
    return bind(_scatter_getitem, g, shape=shape, key=key)


def _norm_key(key):
    if isinstance(key, tuple):
        return tuple(_norm_key(k) for k in key)
    if isinstance(key, Tensor):
        return key._value if key._value.ndim else key._value.item()
    if isinstance(key, list):
        return np.asarray(key)
    return key


def getitem(x, key) -> Tensor:
    """``x[key]`` with NumPy semantics (slices, ints, None, Ellipsis, int/bool arrays)."""
    x = convert_to_tensor(x)
    key = _norm_key(key)
    try:
        x._value[key]
    except IndexError as e:
        raise IndexError(f"index {key!r} is out of range for a tensor of shape {x._value.shape}: {e}") from None
    return bind(_getitem, x, key=key)


def _gather_fwd(params, indices, axis):
    return np.take(params, indices, axis=axis)


def _gather_grad_fwd(g, indices, shape, axis):
    out = np.zeros(shape, dtype=g.dtype)
    moved = np.moveaxis(out, axis, 0)
    gm = g.reshape(g.shape[:axis] + (-1,) + g.shape[axis + indices.ndim:]) if indices.ndim != 1 else g
    gm = np.moveaxis(gm, axis, 0)
    np.add.at(moved, indices.reshape(-1), gm)
    return out


_gather = primitive("gather", _gather_fwd)
_gather_grad = primitive("gather_vjp", _gather_grad_fwd)
defvjp(_gather, lambda g, ans, p, i, axis: bind(_gather_grad, g, i, shape=p._value.shape, axis=axis), None)
defvjp(_gather_grad, lambda g, ans, gg, i, shape, axis: gather(g, i, axis=axis), None)


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None) -> Tensor:
    """Take slices of ``params`` along ``axis`` at integer ``indices``.

    >>> import tapeflow as tf
    >>> tf.gather([10.0, 20.0, 30.0], [2, 0]).numpy().tolist()
    [30.0, 10.0]
    """
    p = convert_to_tensor(params)
    i = convert_to_tensor(indices)
    if i._value.dtype.kind not in "iu":
        raise TypeError(f"gather: indices must be integers, got dtype {i.dtype.name}")
    if batch_dims:
        from .index_ops import batch_gather_key
        b = int(batch_dims) + (i._value.ndim if batch_dims < 0 else 0)
        axis = b if axis is None else int(axis) % p._value.ndim
        if not 0 <= b <= min(axis, i._value.ndim):
            raise ValueError(f"gather: batch_dims={batch_dims} must be in [0, min(axis={axis}, indices rank "
                             f"{i._value.ndim})]")
        return getitem(p, batch_gather_key(p._value.shape, i._value, axis, b))
    axis = 0 if axis is None else int(axis) % p._value.ndim
    n = p._value.shape[axis]
    if i._value.size and (i._value.min() < -n or i._value.max() >= n):
        raise IndexError(f"gather: indices must lie in [0, {n}) for axis {axis} of shape {p._value.shape}, "
                         f"got values in [{i._value.min()}, {i._value.max()}]")
    return bind(_gather, p, i, axis=axis)


def _where_fwd(cond, x, y):
    return np.where(cond, x, y)


_where = primitive("where", _where_fwd)
defvjp(_where, None,
       lambda g, ans, c, x, y: multiply_mask(g, c._value),
       lambda g, ans, c, x, y: multiply_mask(g, ~c._value))


def multiply_mask(g: Tensor, mask: np.ndarray) -> Tensor:
    from .math_ops import multiply
    return multiply(g, const(mask, g))


def where(condition, x=None, y=None, name=None) -> Tensor:
    """Pick from x where condition holds, else y; with no x/y, the indices of true entries."""
    c = convert_to_tensor(condition)
    if c._value.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool, got dtype {c.dtype.name}")
    if x is None and y is None:
        return Tensor._wrap(np.argwhere(c._value).astype(np.int64))
    x, y = binary_args(x, y, "where")
    return bind(_where, c, x, y)


def _pad_fwd(x, paddings, constant_values):
    return np.pad(x, paddings, constant_values=constant_values)


_pad = primitive("pad", _pad_fwd)
defvjp(_pad, lambda g, ans, x, paddings, constant_values:
       getitem(g, tuple(slice(lo, lo + n) for (lo, _), n in zip(paddings, x._value.shape))))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None) -> Tensor:
    """Pad with a constant (mode 'CONSTANT'), or mirror the edges: 'REFLECT' (without the edge row) or
    'SYMMETRIC' (with it); ``paddings`` is [[before, after], ...].

    >>> import tapeflow as tf
    >>> tf.pad([1, 2, 3], [[2, 1]], mode="REFLECT").numpy().tolist()
    [3, 2, 1, 2, 3, 2]
    """
    x = convert_to_tensor(tensor)
    mode = str(mode).upper()
    if mode not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad: mode must be 'CONSTANT', 'REFLECT' or 'SYMMETRIC', got {mode!r}")
    paddings = tuple((int(a), int(b)) for a, b in np.asarray(paddings).reshape(-1, 2))
    if len(paddings) != x._value.ndim:
        raise ValueError(f"pad: paddings has {len(paddings)} rows for a tensor of rank {x._value.ndim}")
    if mode == "CONSTANT":
        return bind(_pad, x, paddings=paddings, constant_values=constant_values)
    limit = 1 if mode == "REFLECT" else 0                   # how much shorter than the axis a pad must be
    for (lo, hi), n in zip(paddings, x._value.shape):
        if max(lo, hi) > n - limit:
            raise ValueError(f"pad: {mode} padding of ({lo}, {hi}) needs an axis longer than that, got length {n}")
    index = [np.pad(np.arange(n), (lo, hi), mode=mode.lower()) for (lo, hi), n in zip(paddings, x._value.shape)]
    return getitem(x, np.ix_(*index))      # a read at mirrored positions: its VJP folds the mirrors back


def tile(input, multiples, name=None) -> Tensor:  # noqa: A002
    """Repeat the tensor ``multiples[i]`` times along axis i (a broadcast + reshape)."""
    x = convert_to_tensor(input)
    m = [int(v) for v in np.asarray(multiples).reshape(-1)]
    if len(m) != x._value.ndim:
        raise ValueError(f"tile: multiples has {len(m)} entries for a tensor of rank {x._value.ndim}")
    shp = x._value.shape
    inter = []
    for k, s in zip(m, shp):
        inter += [1, s]
    y = reshape(x, tuple(inter))
    full = []
    for k, s in zip(m, shp):
        full += [k, s]
    y = broadcast_to(y, tuple(full))
    return reshape(y, tuple(k * s for k, s in zip(m, shp)))


_reverse = primitive("reverse", lambda x, axis: np.flip(x, axis))
defvjp(_reverse, lambda g, ans, x, axis: reverse(g, axis))


def reverse(tensor, axis, name=None) -> Tensor:
    x = convert_to_tensor(tensor)
    return bind(_reverse, x, axis=norm_axis(axis, x._value.ndim))


_cumsum = primitive("cumsum", lambda x, axis: np.cumsum(x, axis=axis))
defvjp(_cumsum, lambda g, ans, x, axis: reverse(cumsum(reverse(g, [axis]), axis), [axis]))


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:  # noqa: A002
    """Running sums along ``axis``; ``exclusive`` shifts them by one (starting at 0), ``reverse`` runs from the end.

    >>> import tapeflow as tf
    >>> tf.cumsum([1, 2, 3], exclusive=True, reverse=True).numpy().tolist()
    [5, 3, 0]
    """
    x = convert_to_tensor(x)
    axis = int(axis) % x._value.ndim
    if reverse:
        x = bind(_reverse, x, axis=(axis,))
    out = bind(_cumsum, x, axis=axis)
    if exclusive:
        pads = [[0, 0]] * x._value.ndim
        pads[axis] = [1, 0]
        out = getitem(pad(out, pads), (slice(None),) * axis + (slice(0, -1),))
    return bind(_reverse, out, axis=(axis,)) if reverse else out


_identity = primitive("identity", lambda x: x.copy())
defvjp(_identity, lambda g, ans, x: g)


def identity(input, name=None) -> Tensor:  # noqa: A002
    """A copy of ``input`` that gradients flow through unchanged."""
    return bind(_identity, convert_to_tensor(input))


def stop_gradient(input, name=None) -> Tensor:  # noqa: A002
    """The same value, with no gradient path back to ``input``."""
    return Tensor._wrap(convert_to_tensor(input)._value)


def clip_value_fwd(x, lo, hi):
    return np.clip(x, lo, hi).astype(x.dtype, copy=False)


_clip = primitive("clip_by_value", clip_value_fwd)
defvjp(_clip, lambda g, ans, x, lo, hi: multiply_mask(g, (x._value >= lo) & (x._value <= hi)))


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """Clamp into [min, max]; the gradient passes where the value was not clipped."""
    x = convert_to_tensor(t)
    lo = clip_value_min._value if isinstance(clip_value_min, Tensor) else clip_value_min
    hi = clip_value_max._value if isinstance(clip_value_max, Tensor) else clip_value_max
    return bind(_clip, x, lo=lo, hi=hi)


# -- construction (not differentiable) ------------------------------------------------------
def _shape_tuple(shape):
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def zeros(shape, dtype="float32", name=None) -> Tensor:
    return Tensor._wrap(np.zeros(_shape_tuple(shape), dtype=B.as_dtype(dtype)))


def ones(shape, dtype="float32", name=None) -> Tensor:
    return Tensor._wrap(np.ones(_shape_tuple(shape), dtype=B.as_dtype(dtype)))


def fill(dims, value, name=None) -> Tensor:
    v = convert_to_tensor(value)
    return Tensor._wrap(np.full(_shape_tuple(dims), v._value, dtype=v.dtype))


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    return Tensor._wrap(np.zeros(x._value.shape, dtype=x.dtype if dtype is None else B.as_dtype(dtype)))


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    return Tensor._wrap(np.ones(x._value.shape, dtype=x.dtype if dtype is None else B.as_dtype(dtype)))


def eye(num_rows, num_columns=None, dtype="float32", name=None) -> Tensor:
    return Tensor._wrap(np.eye(num_rows, num_columns, dtype=B.as_dtype(dtype)))


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:  # noqa: A001
    """``tf.range``: int32 for integer arguments, float32 for float ones."""
    if limit is None:
        start, limit = 0, start
    vals = [float(v) if isinstance(v, Tensor) and v.dtype.kind == "f" else v for v in (start, limit, delta)]
    if dtype is None:
        dtype = np.float32 if any(isinstance(v, float) for v in vals) else np.int32
    return Tensor._wrap(np.arange(*[v._value if isinstance(v, Tensor) else v for v in vals], dtype=B.as_dtype(dtype)))


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    return Tensor._wrap(np.linspace(float(start), float(stop), int(num), dtype=np.float32))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None) -> Tensor:
    """One-hot encode integer indices; an index outside [0, depth) gives an all-off row, as TF.

    >>> import tapeflow as tf
    >>> tf.one_hot([0, 2], 3).numpy().tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    i = convert_to_tensor(indices)._value
    if i.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {i.dtype}")
    if dtype is None:
        given = [v for v in (on_value, off_value) if v is not None]
        dtype = convert_to_tensor(given[0]).dtype if given else "float32"
    dt = B.as_dtype(dtype)
    on = 1 if on_value is None else np.asarray(on_value)
    off = 0 if off_value is None else np.asarray(off_value)
    hit = i[..., None] == np.arange(int(depth))
    out = np.where(hit, on, off).astype(dt)
    if axis is not None and axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor._wrap(out)


def argmax(input, axis=None, output_type="int64", name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    return Tensor._wrap(np.argmax(x._value, axis=0 if axis is None else int(axis)).astype(B.as_dtype(output_type)))


def argmin(input, axis=None, output_type="int64", name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    return Tensor._wrap(np.argmin(x._value, axis=0 if axis is None else int(axis)).astype(B.as_dtype(output_type)))


def shape(input, out_type="int32", name=None) -> Tensor:  # noqa: A002
    return Tensor._wrap(np.asarray(convert_to_tensor(input)._value.shape, dtype=B.as_dtype(out_type)))


def rank(input, name=None) -> Tensor:  # noqa: A002
    return Tensor._wrap(np.asarray(convert_to_tensor(input)._value.ndim, dtype=np.int32))


def size(input, out_type="int32", name=None) -> Tensor:  # noqa: A002
    return Tensor._wrap(np.asarray(convert_to_tensor(input)._value.size, dtype=B.as_dtype(out_type)))
