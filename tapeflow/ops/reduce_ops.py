"""Reductions (sum, mean, max, min, prod, logsumexp) with ``axis`` and ``keepdims``."""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from .array_ops import broadcast_to, reshape
from .math_ops import divide, exp, multiply, subtract
from .registry import bind, const, defvjp, norm_axis, primitive


def _kept_shape(x: Tensor, axis) -> tuple:
    return tuple(1 if i in axis else s for i, s in enumerate(x._value.shape))


def _expand_back(g: Tensor, x: Tensor, axis) -> Tensor:
    """Reshape a reduced gradient to keepdims form and broadcast it over ``x``."""
    return broadcast_to(reshape(g, _kept_shape(x, axis)), x._value.shape)


_sum = primitive("reduce_sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims))
defvjp(_sum, lambda g, ans, x, axis, keepdims: _expand_back(g, x, axis))

def _mean_fwd(x, axis, keepdims):
    if x.dtype.itemsize < 4:  # float16: np.mean accumulates in float32
        return np.mean(x, axis=axis, keepdims=keepdims)
    n = 1
    for a in axis:
        n *= x.shape[a]
    return np.add.reduce(x, axis=axis, keepdims=keepdims) / x.dtype.type(n)


_mean = primitive("reduce_mean", _mean_fwd)
defvjp(_mean, lambda g, ans, x, axis, keepdims:
       divide(_expand_back(g, x, axis), float(np.prod([x._value.shape[a] for a in axis], dtype=np.int64))))


def _extreme_vjp(g, ans, x, axis, keepdims):
    hit = x._value == ans._value.reshape(_kept_shape(x, axis))
    share = hit / np.sum(hit, axis=axis, keepdims=True)  # ties split the gradient, as TF
    return multiply(_expand_back(g, x, axis), const(share, g))


_max = primitive("reduce_max", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims))
defvjp(_max, _extreme_vjp)
_min = primitive("reduce_min", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims))
defvjp(_min, _extreme_vjp)


def _prod_except_fwd(x, axis):
    """Product over ``axis`` of every element but the one at each position (zeros handled)."""
    moved = np.moveaxis(x, axis, tuple(range(x.ndim - len(axis), x.ndim)))
    flat = moved.reshape(moved.shape[: x.ndim - len(axis)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.flip(np.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(x.ndim - len(axis), x.ndim)), axis)


_prod = primitive("reduce_prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims))
defvjp(_prod, lambda g, ans, x, axis, keepdims:
       multiply(_expand_back(g, x, axis), const(_prod_except_fwd(x._value, axis))))


def _lse_fwd(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


_lse = primitive("reduce_logsumexp", _lse_fwd)
defvjp(_lse, lambda g, ans, x, axis, keepdims:
       multiply(_expand_back(g, x, axis), exp(subtract(x, _expand_back(ans, x, axis)))))


def _reducer(prim, doc):
    def op(input_tensor, axis=None, keepdims=False, name=None):
        x = convert_to_tensor(input_tensor)
        ax = norm_axis(axis, x._value.ndim)
        if x._value.dtype == np.bool_ and prim is _sum:
            x = Tensor._wrap(x._value.astype(np.int32))
        if x._value.dtype.kind in "iub" and prim is not _sum and prim is not _max and prim is not _min:
            if prim is _mean:  # TF's integer mean divides as C does: truncated toward zero
                total = np.asarray(np.sum(x._value, axis=ax, keepdims=keepdims))
                count = max(1, int(np.prod([x._value.shape[a] for a in ax])))
                return Tensor._wrap((np.sign(total) * (np.abs(total) // count)).astype(x.dtype))
        if x._value.ndim == 0 and not x._is_variable:
            return x  # immutable: nothing to reduce, nothing to copy (a Variable must not leak out)
        return bind(prim, x, axis=ax, keepdims=bool(keepdims))
    op.__name__ = prim.name
    op.__doc__ = doc
    return op


reduce_sum = _reducer(_sum, """Sum over ``axis`` (all axes when None).

    >>> import tapeflow as tf
    >>> tf.reduce_sum([[1.0, 2.0], [3.0, 4.0]], axis=0).numpy().tolist()
    [4.0, 6.0]
    """)
reduce_mean = _reducer(_mean, "Mean over ``axis`` (integer tensors: truncated, as TF).")
reduce_max = _reducer(_max, "Max over ``axis``; tied maxima share the gradient.")
reduce_min = _reducer(_min, "Min over ``axis``; tied minima share the gradient.")
reduce_prod = _reducer(_prod, "Product over ``axis`` (gradient exact with zeros present).")
reduce_logsumexp = _reducer(_lse, "log(sum(exp(x))) over ``axis``, computed stably.")


def reduce_any(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return Tensor._wrap(np.any(x._value, axis=norm_axis(axis, x._value.ndim), keepdims=keepdims))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return Tensor._wrap(np.all(x._value, axis=norm_axis(axis, x._value.ndim), keepdims=keepdims))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    from .math_ops import square
    x = convert_to_tensor(input_tensor)
    m = reduce_mean(x, axis=axis, keepdims=True)
    return reduce_mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    from .math_ops import sqrt
    return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None) -> Tensor:  # noqa: A002
    """Euclidean (default), 1 or inf norm over ``axis`` (all entries when None)."""
    from .math_ops import abs as _abs, sqrt, square
    x = convert_to_tensor(tensor)
    if ord in ("euclidean", "fro", 2, 2.0):
        return sqrt(reduce_sum(square(x), axis=axis, keepdims=keepdims))
    if ord in (1, 1.0):
        return reduce_sum(_abs(x), axis=axis, keepdims=keepdims)
    if ord in (np.inf, "inf"):
        return reduce_max(_abs(x), axis=axis, keepdims=keepdims)
    raise ValueError(f"norm: ord must be 'euclidean', 1 or np.inf, got {ord!r}")
