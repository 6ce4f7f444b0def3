"""The rest of ``tf.math``: inverse and hyperbolic trigonometry, Bessel and gamma-family special functions,
``x*log(y)``-style safe products, segment reductions (sorted and unsorted, with TensorFlow's gradients) and a few
predicates. Differentiable where TensorFlow's are (``lgamma``/``digamma`` have hand-written VJPs here).

>>> import tapeflow as tf
>>> tf.math.unsorted_segment_sum([1.0, 2.0, 3.0, 4.0], [1, 0, 1, 3], num_segments=4).numpy().tolist()
[2.0, 4.0, 0.0, 4.0]
>>> round(float(tf.math.lgamma(5.0)), 6)
3.178054
"""
from __future__ import annotations

import math

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .ops import array_ops as A
from .ops import math_ops as M
from .ops import math_extra_ops as E
from .ops import reduce_ops as R
from .ops import special_ops as S

acos, acosh, asin, asinh, atan, atanh = E.arccos, E.arccosh, E.arcsin, E.arcsinh, E.arctan, E.arctanh
cosh, sinh, tan, erfc, erfinv = E.cosh, E.sinh, E.tan, E.erfc, E.erfinv
bessel_i0, bessel_i1 = E.i0, E.i1


def atan2(y, x, name=None) -> Tensor:
    """The angle of (x, y): ``atan2(y, x)``."""
    return E.arctan2(y, x)


def _f(x) -> Tensor:
    t = convert_to_tensor(x)
    return t if t._value.dtype.kind == "f" else A.cast(t, "float32")


def bessel_i0e(x, name=None) -> Tensor:
    x = _f(x)
    return M.multiply(M.exp(M.negative(M.abs(x))), E.i0(x))


def bessel_i1e(x, name=None) -> Tensor:
    x = _f(x)
    return M.multiply(M.exp(M.negative(M.abs(x))), E.i1(x))


def erfcinv(x, name=None) -> Tensor:
    return E.erfinv(M.subtract(1.0, _f(x)))


def ndtri(x, name=None) -> Tensor:
    """The inverse of the standard normal CDF."""
    return M.multiply(math.sqrt(2.0), E.erfinv(M.subtract(M.multiply(2.0, _f(x)), 1.0)))


# -- the gamma family (ops/special_ops.py) ------------------------------------------------------------
def lgamma(x, name=None) -> Tensor:
    """log |Gamma(x)|; VJP digamma(x)."""
    return S.lgamma(x)


def digamma(x, name=None) -> Tensor:
    """d/dx lgamma(x); VJP polygamma(1, x)."""
    return S.digamma(x)


def polygamma(a, x, name=None) -> Tensor:
    """The a-th derivative of digamma; differentiable in x."""
    return S.polygamma(int(np.asarray(getattr(a, "_value", a))), x)


def lbeta(x, name=None) -> Tensor:
    """log |Beta(x)| over the last axis: ``sum(lgamma(x)) - lgamma(sum(x))``."""
    x = _f(x)
    return M.subtract(R.reduce_sum(lgamma(x), axis=-1), lgamma(R.reduce_sum(x, axis=-1)))


# -- safe products -------------------------------------------------------------------------------------
def _zero_where(x: Tensor, value: Tensor) -> Tensor:
    """``value``, but 0 where ``x == 0`` (gradients too)."""
    return A.where(x._value == 0, Tensor._wrap(np.zeros((), value._value.dtype)), value)


def xlogy(x, y, name=None) -> Tensor:
    """``x * log(y)``, 0 where x is 0 (even when y is 0)."""
    x, y = _f(x), _f(y)
    safe_y = A.where(x._value == 0, Tensor._wrap(np.ones((), y._value.dtype)), y)
    return _zero_where(x, M.multiply(x, M.log(safe_y)))


def xlog1py(x, y, name=None) -> Tensor:
    """``x * log1p(y)``, 0 where x is 0."""
    x, y = _f(x), _f(y)
    safe_y = A.where(x._value == 0, Tensor._wrap(np.zeros((), y._value.dtype)), y)
    return _zero_where(x, M.multiply(x, M.log1p(safe_y)))


def xdivy(x, y, name=None) -> Tensor:
    """``x / y``, 0 where x is 0."""
    x, y = _f(x), _f(y)
    safe_y = A.where(x._value == 0, Tensor._wrap(np.ones((), y._value.dtype)), y)
    return _zero_where(x, M.divide(x, safe_y))


def multiply_no_nan(x, y, name=None) -> Tensor:
    """``x * y``, 0 where y is 0 (even when x is inf or nan)."""
    x, y = _f(x), _f(y)
    safe_x = A.where(y._value == 0, Tensor._wrap(np.zeros((), x._value.dtype)), x)
    return _zero_where(y, M.multiply(safe_x, y))


def reciprocal_no_nan(x, name=None) -> Tensor:
    """``1 / x``, 0 where x is 0."""
    x = _f(x)
    return _zero_where(x, M.reciprocal(A.where(x._value == 0, Tensor._wrap(np.ones((), x._value.dtype)), x)))


def rint(x, name=None) -> Tensor:
    """Round half to even (no gradient)."""
    return M.round(x)


def scalar_mul(scalar, x, name=None) -> Tensor:
    return M.multiply(scalar, x)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None) -> Tensor:
    return M.add_n(list(inputs))


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    return M.sqrt(R.reduce_sum(M.square(_f(input_tensor)), axis=axis, keepdims=keepdims))


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:
    """``log(cumsum(exp(x)))`` along ``axis``, computed stably."""
    x = _f(x)
    top = Tensor._wrap(np.max(x._value, axis=axis, keepdims=True))
    return M.add(M.log(A.cumsum(M.exp(M.subtract(x, top)), axis=axis, exclusive=exclusive, reverse=reverse)), top)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:
    """Running products along ``axis`` (``exclusive``: shifted by one, starting at 1; ``reverse``: from the end)."""
    x = _f(x)
    axis = int(axis) % x._value.ndim
    if reverse:
        x = A.reverse(x, [axis])
    if exclusive:
        pad = [[0, 0]] * x._value.ndim
        pad[axis] = [1, 0]
        x = A.getitem(A.pad(x, pad, constant_values=1), (slice(None),) * axis + (slice(0, -1),))
    out = running_product(x, axis)
    return A.reverse(out, [axis]) if reverse else out


def running_product(x: Tensor, axis: int) -> Tensor:
    """Differentiable cumulative product: one multiply per position along ``axis`` (exact with zeros, unlike a
    log-space sum)."""
    steps = A.unstack(x, axis=axis)
    out = [steps[0]]
    for s in steps[1:]:
        out.append(M.multiply(out[-1], s))
    return A.stack(out, axis=axis)


def polyval(coeffs, x, name=None) -> Tensor:
    """``coeffs[0] * x**(n-1) + ... + coeffs[-1]`` by Horner's rule."""
    x = _f(x)
    out = A.zeros_like(x)
    for c in coeffs:
        out = M.add(M.multiply(out, x), c)
    return out


def invert_permutation(x, name=None) -> Tensor:
    p = np.asarray(getattr(x, "_value", x)).astype(np.int64)
    if sorted(p.tolist()) != list(range(p.size)):
        raise ValueError(f"invert_permutation: {p.tolist()} is not a permutation of 0..{p.size - 1}")
    out = np.empty_like(p)
    out[p] = np.arange(p.size)
    return Tensor._wrap(out.astype(np.asarray(getattr(x, "_value", x)).dtype))


def is_non_decreasing(x, name=None) -> Tensor:
    v = np.asarray(getattr(x, "_value", x)).reshape(-1)
    return Tensor._wrap(np.asarray(bool(np.all(np.diff(v) >= 0))))


def is_strictly_increasing(x, name=None) -> Tensor:
    v = np.asarray(getattr(x, "_value", x)).reshape(-1)
    return Tensor._wrap(np.asarray(bool(np.all(np.diff(v) > 0))))


def approx_max_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True, name=None) -> tuple:
    """The exact top-k (values, indices) along the last axis."""
    from .ops.nn_extra import top_k
    return top_k(operand, k)


def approx_min_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True, name=None) -> tuple:
    from .ops.nn_extra import top_k
    values, idx = top_k(M.negative(operand), k)
    return M.negative(values), idx


# -- segment reductions -----------------------------------------------------------------------------
def _segments(data, segment_ids, num_segments, what):
    d = convert_to_tensor(data)
    ids = np.asarray(getattr(segment_ids, "_value", segment_ids)).astype(np.int64)
    if d._value.shape[:ids.ndim] != ids.shape:
        raise ValueError(f"{what}: segment_ids shape {ids.shape} must be a prefix of data shape {d._value.shape}")
    n = int(ids.max(initial=-1)) + 1 if num_segments is None else int(np.asarray(getattr(num_segments, "_value",
                                                                                          num_segments)))
    return d, ids, n, (n,) + d._value.shape[ids.ndim:]


def unsorted_segment_sum(data, segment_ids, num_segments, name=None) -> Tensor:
    """``out[s] = sum of data[i] with segment_ids[i] == s`` (ids outside [0, num_segments) are dropped)."""
    d, ids, n, shape = _segments(data, segment_ids, num_segments, "unsorted_segment_sum")
    keep = (ids >= 0) & (ids < n)
    if not keep.all():
        d, ids = A.getitem(d, np.nonzero(keep)), ids[keep]
    return A._scatter_getitem_op(d, shape=shape, key=(ids,))


def _counts(ids, n, shape, dtype):
    c = np.bincount(ids[(ids >= 0) & (ids < n)].reshape(-1), minlength=n).astype(dtype)
    return c.reshape((n,) + (1,) * (len(shape) - 1))


def unsorted_segment_mean(data, segment_ids, num_segments, name=None) -> Tensor:
    d, ids, n, shape = _segments(data, segment_ids, num_segments, "unsorted_segment_mean")
    total = unsorted_segment_sum(d, ids, n)
    return M.divide(total, Tensor._wrap(np.maximum(_counts(ids, n, shape, d._value.dtype), 1)))


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None) -> Tensor:
    d, ids, n, shape = _segments(data, segment_ids, num_segments, "unsorted_segment_sqrt_n")
    total = unsorted_segment_sum(d, ids, n)
    return M.divide(total, Tensor._wrap(np.sqrt(np.maximum(_counts(ids, n, shape, d._value.dtype), 1))))


def _extreme(data, segment_ids, num_segments, largest: bool, what, empty_zero=False):
    """Segment max/min; empty segments hold the dtype's lowest/highest value (0 for the sorted ops), and the
    gradient is shared equally by the entries that attain the extreme (TensorFlow's rule)."""
    d, ids, n, shape = _segments(data, segment_ids, num_segments, what)
    v = d._value
    info = np.finfo(v.dtype) if v.dtype.kind == "f" else np.iinfo(v.dtype)
    out = np.full(shape, info.min if largest else info.max, v.dtype)
    keep = (ids >= 0) & (ids < n)
    (np.maximum if largest else np.minimum).at(out, ids[keep], v[keep])
    if empty_zero:
        hit = np.zeros(n, bool)
        hit[ids[keep]] = True
        out[~hit] = 0
    if v.dtype.kind != "f":
        return Tensor._wrap(out)
    chosen = np.zeros(v.shape, bool)
    chosen[keep] = v[keep] == out[ids[keep]]
    ties = np.zeros(shape, v.dtype)
    np.add.at(ties, ids[keep], chosen[keep].astype(v.dtype))
    weight = np.where(chosen, 1.0 / np.where(chosen, ties[np.clip(ids, 0, n - 1)], 1.0), 0.0).astype(v.dtype)
    summed = unsorted_segment_sum(M.multiply(d, Tensor._wrap(weight)), ids, n)
    empty = (ties == 0).reshape(shape) if ties.shape == shape else np.broadcast_to(ties == 0, shape)
    return A.where(empty, Tensor._wrap(out), summed)


def unsorted_segment_max(data, segment_ids, num_segments, name=None) -> Tensor:
    return _extreme(data, segment_ids, num_segments, True, "unsorted_segment_max")


def unsorted_segment_min(data, segment_ids, num_segments, name=None) -> Tensor:
    return _extreme(data, segment_ids, num_segments, False, "unsorted_segment_min")


def unsorted_segment_prod(data, segment_ids, num_segments, name=None) -> Tensor:
    """Segment products (empty segments: 1); not differentiable."""
    d, ids, n, shape = _segments(data, segment_ids, num_segments, "unsorted_segment_prod")
    out = np.ones(shape, d._value.dtype)
    keep = (ids >= 0) & (ids < n)
    np.multiply.at(out, ids[keep], d._value[keep])
    return Tensor._wrap(out)


def _sorted(fn, what):
    def op(data, segment_ids, name=None) -> Tensor:
        ids = np.asarray(getattr(segment_ids, "_value", segment_ids))
        if ids.size and np.any(np.diff(ids.reshape(-1)) < 0):
            raise ValueError(f"{what}: segment_ids must be sorted, got {ids.tolist()}")
        return fn(data, ids, None)
    op.__name__ = what
    op.__doc__ = f"``unsorted_{what}`` for sorted ``segment_ids`` (as many segments as the largest id + 1)."
    return op


segment_sum = _sorted(unsorted_segment_sum, "segment_sum")
segment_mean = _sorted(unsorted_segment_mean, "segment_mean")
segment_max = _sorted(lambda d, i, n: _extreme(d, i, n, True, "segment_max", empty_zero=True), "segment_max")
segment_min = _sorted(lambda d, i, n: _extreme(d, i, n, False, "segment_min", empty_zero=True), "segment_min")
segment_prod = _sorted(unsorted_segment_prod, "segment_prod")

__all__ = ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cosh", "sinh", "tan", "erfc", "erfinv",
           "erfcinv", "ndtri", "bessel_i0", "bessel_i0e", "bessel_i1", "bessel_i1e", "lgamma", "digamma",
           "polygamma", "lbeta", "xlogy", "xlog1py", "xdivy", "multiply_no_nan", "reciprocal_no_nan", "rint",
           "scalar_mul", "accumulate_n", "cumprod", "reduce_euclidean_norm", "cumulative_logsumexp", "polyval",
           "invert_permutation", "is_non_decreasing", "is_strictly_increasing", "approx_max_k", "approx_min_k",
           "unsorted_segment_sum", "unsorted_segment_mean", "unsorted_segment_sqrt_n", "unsorted_segment_max",
           "unsorted_segment_min", "unsorted_segment_prod", "segment_sum", "segment_mean", "segment_max",
           "segment_min", "segment_prod"]
