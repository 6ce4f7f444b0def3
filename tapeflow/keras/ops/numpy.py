"""``keras.ops`` NumPy-style ops (Keras 3's ``keras.ops.numpy``), on tapeflow's differentiable primitives.

Every op takes Tensors, Variables, NumPy arrays or Python numbers and returns a Tensor; the ones with
a gradient are differentiable under ``GradientTape``. Unlike ``tf.*``, two tensors of different dtypes
are promoted (as NumPy and Keras 3 do) instead of refused.

>>> from tapeflow import keras
>>> ops = keras.ops
>>> ops.sum(ops.square(ops.arange(4.0))).numpy().item()
14.0
"""
from __future__ import annotations

import builtins

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, convert_to_tensor as _tf_convert
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R


def _t(x, dtype=None) -> Tensor:
    if isinstance(x, Tensor):
        return x if dtype is None else A.cast(x, dtype)
    if dtype is not None:
        return _tf_convert(np.asarray(x), dtype=dtype)
    arr = np.asarray(x)
    if not isinstance(x, np.ndarray):  # Python numbers/lists: floatx and int32, as Keras
        if arr.dtype == np.float64:
            arr = arr.astype(B.floatx())
        elif arr.dtype == np.int64:
            arr = arr.astype(np.int32)
    return Tensor._wrap(arr)


def _pair(x, y):
    """Two operands, promoted to one dtype the NumPy way (a Python scalar never upcasts a tensor)."""
    xt, yt = isinstance(x, Tensor), isinstance(y, Tensor)
    if not xt and not yt:
        x = _t(x)
        xt = True
    if xt and yt:
        if x._value.dtype != y._value.dtype:
            d = np.result_type(x._value.dtype, y._value.dtype)
            return A.cast(x, d), A.cast(y, d)
        return x, y
    t, o = (x, y) if xt else (y, x)
    o_arr = np.asarray(o)
    if isinstance(o, (bool, int, float, np.generic)) or o_arr.ndim == 0:
        if t._value.dtype.kind in "iub" and o_arr.dtype.kind == "f":
            t = A.cast(t, B.floatx())
        o = Tensor._wrap(o_arr.astype(t._value.dtype))
    elif o_arr.dtype != t._value.dtype:
        d = np.result_type(o_arr.dtype, t._value.dtype)
        t, o = A.cast(t, d), Tensor._wrap(o_arr.astype(d))
    else:
        o = Tensor._wrap(o_arr)
    return (t, o) if xt else (o, t)


def _axis(axis):
    if isinstance(axis, list):
        return tuple(axis)
    return axis


# -- elementwise arithmetic -----------------------------------------------------------------
def add(x1, x2):
    """x1 + x2 with broadcasting."""
    return M.add(*_pair(x1, x2))


def subtract(x1, x2):
    return M.subtract(*_pair(x1, x2))


def multiply(x1, x2):
    return M.multiply(*_pair(x1, x2))


def divide(x1, x2):
    """True division (integers divide to floats)."""
    a, b = _pair(x1, x2)
    if a._value.dtype.kind in "iub":
        a, b = A.cast(a, B.floatx()), A.cast(b, B.floatx())
    return M.divide(a, b)


true_divide = divide


def floor_divide(x1, x2):
    return M.floordiv(*_pair(x1, x2))


def mod(x1, x2):
    return M.floormod(*_pair(x1, x2))


def power(x1, x2):
    return M.pow(*_pair(x1, x2))


def maximum(x1, x2):
    return M.maximum(*_pair(x1, x2))


def minimum(x1, x2):
    return M.minimum(*_pair(x1, x2))


def negative(x):
    return M.negative(_t(x))


def _float(x):
    x = _t(x)
    return x if x._value.dtype.kind == "f" else A.cast(x, B.floatx())


def exp(x):
    return M.exp(_float(x))


def log(x):
    return M.log(_float(x))


def log1p(x):
    return M.log1p(_float(x))


def expm1(x):
    return M.expm1(_float(x))


def sqrt(x):
    return M.sqrt(_float(x))


def rsqrt(x):
    return M.rsqrt(_float(x))


def square(x):
    return M.square(_t(x))


def abs(x):  # noqa: A001 - Keras's name
    return M.abs(_t(x))


absolute = abs


def sign(x):
    return M.sign(_t(x))


def sin(x):
    return M.sin(_float(x))


def cos(x):
    return M.cos(_float(x))


def tanh(x):
    return M.tanh(_float(x))


def reciprocal(x):
    return M.reciprocal(_float(x))


def floor(x):
    return M.floor(_t(x))


def ceil(x):
    return M.ceil(_t(x))


def round(x, decimals=0):  # noqa: A001
    if decimals:
        f = 10.0 ** decimals
        return M.divide(M.round(M.multiply(_float(x), f)), f)
    return M.round(_t(x))


def clip(x, x_min, x_max):
    """Values limited to [x_min, x_max]; gradient 1 inside, 0 outside."""
    return A.clip_by_value(_t(x), x_min, x_max)


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with neither, the indices of true entries."""
    c = _t(condition)
    if c._value.dtype != np.bool_:
        c = Tensor._wrap(c._value.astype(bool))
    if x1 is None and x2 is None:
        return tuple(Tensor._wrap(i.astype(np.int32)) for i in np.nonzero(c._value))
    return A.where(c, *_pair(x1, x2))


# -- comparisons ----------------------------------------------------------------------------
def equal(x1, x2):
    return M.equal(*_pair(x1, x2))


def not_equal(x1, x2):
    return M.not_equal(*_pair(x1, x2))


def greater(x1, x2):
    return M.greater(*_pair(x1, x2))


def greater_equal(x1, x2):
    return M.greater_equal(*_pair(x1, x2))


def less(x1, x2):
    return M.less(*_pair(x1, x2))


def less_equal(x1, x2):
    return M.less_equal(*_pair(x1, x2))


def logical_and(x1, x2):
    return Tensor._wrap(np.logical_and(_t(x1)._value, _t(x2)._value))


def logical_or(x1, x2):
    return Tensor._wrap(np.logical_or(_t(x1)._value, _t(x2)._value))


def logical_not(x):
    return Tensor._wrap(np.logical_not(_t(x)._value))


def isnan(x):
    return Tensor._wrap(np.isnan(_t(x)._value))


def isinf(x):
    return Tensor._wrap(np.isinf(_t(x)._value))


def isfinite(x):
    return Tensor._wrap(np.isfinite(_t(x)._value))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return Tensor._wrap(np.nan_to_num(_t(x)._value, nan=nan, posinf=posinf, neginf=neginf))


# -- reductions ------------------------------------------------------------------------------
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return R.reduce_sum(_t(x), axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return R.reduce_mean(_float(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    out = R.reduce_max(_t(x), axis=_axis(axis), keepdims=keepdims)
    return out if initial is None else maximum(out, initial)


amax = max


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    out = R.reduce_min(_t(x), axis=_axis(axis), keepdims=keepdims)
    return out if initial is None else minimum(out, initial)


amin = min


def prod(x, axis=None, keepdims=False, dtype=None):
    return R.reduce_prod(_t(x, dtype), axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """Population variance (ddof 0)."""
    return R.reduce_variance(_float(x), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return R.reduce_std(_float(x), axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return R.reduce_all(Tensor._wrap(_t(x)._value.astype(bool)), axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return R.reduce_any(Tensor._wrap(_t(x)._value.astype(bool)), axis=_axis(axis), keepdims=keepdims)


def average(x, axis=None, weights=None):
    if weights is None:
        return mean(x, axis=axis)
    x, w = _pair(_float(x), weights)
    if w._value.ndim == 1 and x._value.ndim > 1 and axis is not None:
        shape = [1] * x._value.ndim
        shape[axis] = -1
        w = A.reshape(w, shape)
    return M.divide(R.reduce_sum(M.multiply(x, w), axis=axis), R.reduce_sum(A.broadcast_to(w, x._value.shape), axis=axis))


def cumsum(x, axis=None, dtype=None):
    x = _t(x, dtype)
    if axis is None:
        x, axis = A.reshape(x, (-1,)), 0
    return A.cumsum(x, axis=axis)


def cumprod(x, axis=None, dtype=None):
    from ...math_more import running_product    # differentiable, zeros included
    x = _t(x, dtype)
    if axis is None:
        x, axis = A.reshape(x, (-1,)), 0
    return running_product(x, int(axis) % x._value.ndim)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest entry (int32), over the flattened array when ``axis`` is None."""
    return Tensor._wrap(np.argmax(_t(x)._value, axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False):
    return Tensor._wrap(np.argmin(_t(x)._value, axis=axis, keepdims=keepdims).astype(np.int32))


def argsort(x, axis=-1):
    return Tensor._wrap(np.argsort(_t(x)._value, axis=axis, kind="stable").astype(np.int32))


def sort(x, axis=-1):
    """Sorted along ``axis`` (differentiable: a gather by the sorting permutation)."""
    x = _t(x)
    return take_along_axis(x, np.argsort(x._value, axis=axis, kind="stable"), axis=axis)


# -- linear algebra ----------------------------------------------------------------------------
def matmul(x1, x2):
    return M.matmul(*_pair(x1, x2))


def dot(x1, x2):
    """NumPy's ``dot``: matmul for 2-D, a contraction over the last/second-last axes otherwise."""
    a, b = _pair(x1, x2)
    if a._value.ndim == 0 or b._value.ndim == 0:
        return M.multiply(a, b)
    if b._value.ndim == 1:
        return M.tensordot(a, b, [[a._value.ndim - 1], [0]])
    return M.tensordot(a, b, [[a._value.ndim - 1], [b._value.ndim - 2]])


def tensordot(x1, x2, axes=2):
    return M.tensordot(*_pair(x1, x2), axes)


def outer(x1, x2):
    a, b = _pair(x1, x2)
    return M.multiply(A.reshape(a, (-1, 1)), A.reshape(b, (1, -1)))


def inner(x1, x2):
    a, b = _pair(x1, x2)
    return M.tensordot(a, b, [[a._value.ndim - 1], [b._value.ndim - 1]])


def trace(x, offset=0, axis1=0, axis2=1):
    return Tensor._wrap(np.trace(_t(x)._value, offset, axis1, axis2))


# -- shape and layout ------------------------------------------------------------------------------
def reshape(x, newshape):
    return A.reshape(_t(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


def transpose(x, axes=None):
    return A.transpose(_t(x), perm=None if axes is None else list(axes))


def swapaxes(x, axis1, axis2):
    x = _t(x)
    perm = list(builtins.range(x._value.ndim))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return A.transpose(x, perm)


def moveaxis(x, source, destination):
    x = _t(x)
    nd = x._value.ndim
    src = [int(a) % nd for a in np.atleast_1d(source)]
    dst = [int(a) % nd for a in np.atleast_1d(destination)]
    perm = [a for a in range(nd) if a not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return A.transpose(x, perm)


def expand_dims(x, axis):
    x = _t(x)
    for a in sorted(axis if isinstance(axis, (list, tuple)) else [axis]):
        x = A.expand_dims(x, a)
    return x


def squeeze(x, axis=None):
    return A.squeeze(_t(x), axis=axis)


def ravel(x):
    return A.reshape(_t(x), (-1,))


def concatenate(xs, axis=0):
    """Join along ``axis`` (the operands are promoted to one dtype)."""
    xs = [_t(x) for x in xs]
    d = np.result_type(*[x._value.dtype for x in xs])
    return A.concat([x if x._value.dtype == d else A.cast(x, d) for x in xs], axis=axis)


def stack(x, axis=0):
    return A.stack([_t(v) for v in x], axis=axis)


def hstack(xs):
    xs = [_t(x) for x in xs]
    return concatenate(xs, axis=0 if xs[0]._value.ndim == 1 else 1)


def vstack(xs):
    return concatenate([atleast_2d(x) for x in xs], axis=0)


def atleast_2d(x):
    x = _t(x)
    return A.reshape(x, (1, -1)) if x._value.ndim < 2 else x


def split(x, indices_or_sections, axis=0):
    """NumPy's split: ``n`` equal parts, or cut at the given indices."""
    x = _t(x)
    n = x._value.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        return A.split(x, int(indices_or_sections), axis=axis)
    cuts = [0] + [int(i) for i in indices_or_sections] + [n]
    return A.split(x, [b - a for a, b in zip(cuts[:-1], cuts[1:])], axis=axis)


def tile(x, repeats):
    x = _t(x)
    reps = [int(repeats)] if isinstance(repeats, (int, np.integer)) else [int(r) for r in repeats]
    if len(reps) < x._value.ndim:
        reps = [1] * (x._value.ndim - len(reps)) + reps
    while x._value.ndim < len(reps):
        x = A.expand_dims(x, 0)
    return A.tile(x, reps)


def repeat(x, repeats, axis=None):
    """Each entry repeated ``repeats`` times along ``axis`` (differentiable: a gather)."""
    x = _t(x)
    if axis is None:
        x, axis = A.reshape(x, (-1,)), 0
    idx = np.repeat(np.arange(x._value.shape[axis]), repeats)
    return A.gather(x, idx, axis=axis)


def take(x, indices, axis=None):
    """Entries at integer ``indices`` along ``axis`` (of the flattened array when None)."""
    x = _t(x)
    if axis is None:
        x, axis = A.reshape(x, (-1,)), 0
    idx = np.asarray(getattr(indices, "_value", indices))
    if idx.dtype.kind not in "iu":
        idx = idx.astype(np.int64)
    return A.gather(x, np.where(idx < 0, idx + x._value.shape[axis], idx), axis=axis)


def take_along_axis(x, indices, axis=None):
    """NumPy's take_along_axis (differentiable in ``x``: a gather on the flattened array)."""
    x = _t(x)
    idx = np.asarray(getattr(indices, "_value", indices)).astype(np.int64)
    if axis is None:
        return take(x, idx.reshape(-1), axis=0)
    shape = x._value.shape
    axis = axis % len(shape)
    idx = np.where(idx < 0, idx + shape[axis], idx)
    out_shape = np.broadcast_shapes(idx.shape[:axis] + (1,) + idx.shape[axis + 1:],
                                    shape[:axis] + (1,) + shape[axis + 1:])
    out_shape = out_shape[:axis] + (idx.shape[axis],) + out_shape[axis + 1:]
    idx = np.broadcast_to(idx, out_shape)
    grids = np.indices(out_shape, sparse=True)
    flat = np.zeros(out_shape, dtype=np.int64)
    strides = np.cumprod((1,) + shape[::-1])[:-1][::-1]
    for k in builtins.range(len(shape)):
        flat = flat + (idx if k == axis else np.broadcast_to(grids[k], out_shape)) * int(strides[k])
    return A.reshape(A.gather(A.reshape(x, (-1,)), flat.reshape(-1), axis=0), out_shape)


def flip(x, axis=None):
    x = _t(x)
    return A.reverse(x, list(builtins.range(x._value.ndim)) if axis is None else axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    x = _t(x)
    pw = np.broadcast_to(np.asarray(pad_width), (x._value.ndim, 2))
    return A.pad(x, pw, mode=mode, constant_values=0 if constant_values is None else constant_values)


def broadcast_to(x, shape):
    return A.broadcast_to(_t(x), tuple(shape))


def ndim(x) -> int:
    return int(np.ndim(getattr(x, "_value", x)))


def size(x) -> int:
    return int(np.size(getattr(x, "_value", x)))


# -- creation --------------------------------------------------------------------------------
def _dt(dtype, default=None):
    return B.as_dtype(dtype or default or B.floatx())


def ones(shape, dtype=None):
    return Tensor._wrap(np.ones(shape, dtype=_dt(dtype)))


def zeros(shape, dtype=None):
    return Tensor._wrap(np.zeros(shape, dtype=_dt(dtype)))


def full(shape, fill_value, dtype=None):
    return Tensor._wrap(np.full(shape, fill_value, dtype=_dt(dtype)))


def ones_like(x, dtype=None):
    return Tensor._wrap(np.ones_like(_t(x)._value, dtype=None if dtype is None else B.as_dtype(dtype)))


def zeros_like(x, dtype=None):
    return Tensor._wrap(np.zeros_like(_t(x)._value, dtype=None if dtype is None else B.as_dtype(dtype)))


def full_like(x, fill_value, dtype=None):
    return Tensor._wrap(np.full_like(_t(x)._value, fill_value, dtype=None if dtype is None else B.as_dtype(dtype)))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    return Tensor._wrap(np.eye(N, M, k, dtype=_dt(dtype)))


identity = eye


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop); int32 for integer arguments, floatx for float ones."""
    vals = [v for v in (start, stop, step) if v is not None]
    if dtype is None:
        dtype = B.floatx() if builtins.any(isinstance(v, float) for v in vals) else "int32"
    if stop is None:
        start, stop = 0, start
    return Tensor._wrap(np.arange(start, stop, step, dtype=B.as_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    out = np.linspace(start, stop, int(num), endpoint=endpoint, retstep=retstep, axis=axis)
    if retstep:
        return Tensor._wrap(out[0].astype(_dt(dtype))), out[1]
    return Tensor._wrap(out.astype(_dt(dtype)))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return Tensor._wrap(np.tri(N, M, k, dtype=_dt(dtype)))


def tril(x, k=0):
    x = _t(x)
    return M.multiply(x, Tensor._wrap(np.tril(np.ones(x._value.shape[-2:], x._value.dtype), k)))


def triu(x, k=0):
    x = _t(x)
    return M.multiply(x, Tensor._wrap(np.triu(np.ones(x._value.shape[-2:], x._value.dtype), k)))


def diag(x, k=0):
    return Tensor._wrap(np.diag(_t(x)._value, k))


def count_nonzero(x, axis=None):
    return Tensor._wrap(np.asarray(np.count_nonzero(_t(x)._value, axis=axis), dtype=np.int32))
