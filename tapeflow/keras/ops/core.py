"""``keras.ops`` core: conversion, shapes, dtypes, control flow and a few math helpers.

>>> from tapeflow import keras
>>> ops = keras.ops
>>> ops.shape(ops.zeros((2, 3))), ops.convert_to_numpy(ops.cast([1.7], "int32")).tolist()
((2, 3), [1])
>>> float(ops.fori_loop(0, 3, lambda i, acc: acc + 2.0, ops.convert_to_tensor(0.0)))
6.0
"""
from __future__ import annotations

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, Variable
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .numpy import _float, _t


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A Tensor from an array, list, number or Tensor (cast to ``dtype`` when given)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x._value.dtype == B.as_dtype(dtype) else A.cast(x, dtype)
    return _t(x, dtype)


def convert_to_numpy(x) -> np.ndarray:
    """The value of ``x`` as a NumPy array."""
    return np.array(x._value) if isinstance(x, Tensor) else np.asarray(x)


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def shape(x) -> tuple:
    """The static shape as a tuple of ints (Keras 3; ``tf.shape`` gives a Tensor); None for a KerasTensor's
    unknown dimensions."""
    if not hasattr(x, "_value") and hasattr(x, "_keras_history"):  # a KerasTensor
        return tuple(None if d is None else int(d) for d in x.shape)
    return tuple(int(d) for d in np.shape(getattr(x, "_value", x)))


def dtype(x) -> str:
    return np.asarray(getattr(x, "_value", x)).dtype.name


def cast(x, dtype):
    return A.cast(_t(x), dtype)


def stop_gradient(variable):
    return A.stop_gradient(_t(variable))


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (eager: only the chosen branch runs)."""
    return true_fn() if bool(np.asarray(getattr(pred, "_value", pred))) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in [lower, upper); differentiable through the body's ops."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; returns the final loop_vars."""
    single = not isinstance(loop_vars, (list, tuple))
    vars_ = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(np.asarray(getattr(c := cond(*vars_), "_value", c))):
        if maximum_iterations is not None and n >= maximum_iterations:
            break
        out = body(*vars_)
        vars_ = (out,) if single else tuple(out)
        n += 1
    return vars_[0] if single else type(loop_vars)(vars_)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the first axis of ``xs``; returns (carry, stacked ys). (``unroll``, a
    compiler hint in Keras, changes nothing in an eager loop.)"""
    n = length if xs is None else int(np.shape(getattr(xs, "_value", xs))[0])
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else _t(xs)[i])
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    return carry, (A.stack(ys) if ys and ys[0] is not None else None)


def map(f, xs):  # noqa: A001 - Keras's name
    return A.stack([f(_t(xs)[i]) for i in range(shape(xs)[0])])


def slice(inputs, start_indices, shape):  # noqa: A001
    """The block of ``shape`` starting at ``start_indices`` (differentiable)."""
    import builtins
    return _t(inputs)[tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))]


def slice_update(inputs, start_indices, updates):
    x = np.array(_t(inputs)._value)
    u = _t(updates)._value
    import builtins
    x[tuple(builtins.slice(int(s), int(s) + n) for s, n in zip(start_indices, u.shape))] = u
    return Tensor._wrap(x)


def scatter(indices, values, shape):
    out = np.zeros(shape, dtype=_t(values)._value.dtype)
    np.add.at(out, tuple(np.asarray(getattr(indices, "_value", indices)).T), _t(values)._value)
    return Tensor._wrap(out)


def unstack(x, num=None, axis=0):
    return A.unstack(_t(x), num=num, axis=axis)


def assign(variable: Variable, value):
    variable.assign(value)
    return variable


# -- math helpers (keras.ops.math) --------------------------------------------------------------
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed stably."""
    return R.reduce_logsumexp(_float(x), axis=axis, keepdims=keepdims)


def erf(x):
    return M.erf(_float(x))


def top_k(x, k, sorted=True):  # noqa: A002
    """(values, indices) of the ``k`` largest entries along the last axis; values are differentiable."""
    from .numpy import take_along_axis
    x = _t(x)
    idx = np.argsort(-x._value, axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, idx, axis=-1), Tensor._wrap(idx.astype(np.int32))


def in_top_k(targets, predictions, k):
    from ... import math as tfmath
    return tfmath.in_top_k(targets, predictions, k)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    d, ids = _t(data), np.asarray(getattr(segment_ids, "_value", segment_ids)).astype(np.int64)
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1
    onehot = Tensor._wrap((ids[None, :] == np.arange(n)[:, None]).astype(d._value.dtype))
    flat = A.reshape(d, (d._value.shape[0], -1))
    return A.reshape(M.matmul(onehot, flat), (n,) + d._value.shape[1:])


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector norm (2 by default; 1, inf), or the Frobenius norm of a matrix."""
    ord_ = "euclidean" if ord in (None, 2, "fro") else ord
    return R.norm(_float(x), ord=ord_, axis=axis, keepdims=keepdims)


def rsqrt(x):
    return M.rsqrt(_float(x))
