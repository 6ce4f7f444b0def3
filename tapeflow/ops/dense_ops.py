"""The Dense hot path: ``relu?(x @ w + b)`` as one fused primitive with a closed-form VJP.

A Dense layer is three ops (matmul, bias add, activation) when composed; fused, its forward
adds the bias and applies relu in place on the fresh matmul result, and its backward masks the
upstream gradient once and reuses it for x, w and b. The Tensor VJPs below are written with
primitives (so higher-order gradients work); the ``fast`` twins do the same on arrays, sharing
the masked gradient between the three inputs through a one-entry cache.
"""
from __future__ import annotations

import threading

import numpy as np

from ..autodiff.tensor import Tensor
from . import math_ops as M
from . import reduce_ops as R
from .registry import bind, defvjp, primitive


def _dense_fwd(x, w, b, relu):
    y = x @ w
    if y.dtype != x.dtype:  # bfloat16 matmul gives float32 (ml_dtypes)
        y = y.astype(x.dtype)
    y += b
    if relu:
        np.maximum(y, 0, out=y)
    return y


def _masked(g: Tensor, ans: Tensor, relu: bool) -> Tensor:
    return M.multiply(g, Tensor._wrap((ans._value > 0).astype(g._value.dtype))) if relu else g


def _mT(t: Tensor) -> Tensor:
    from .array_ops import transpose
    return transpose(t, perm=(1, 0))


_dense = primitive("dense", _dense_fwd)
defvjp(_dense,
       lambda g, ans, x, w, b, relu: M.matmul(_masked(g, ans, relu), _mT(w)),
       lambda g, ans, x, w, b, relu: M.matmul(_mT(x), _masked(g, ans, relu)),
       lambda g, ans, x, w, b, relu: R.reduce_sum(_masked(g, ans, relu), axis=0))

_local = threading.local()  # per thread (fit's batch shards run VJPs concurrently): .cache = (g, masked g)


def _gz(g, ans, relu):
    if not relu:
        return g
    cache = getattr(_local, "cache", None)
    if cache is None or cache[0] is not g:
        cache = _local.cache = (g, g * (ans > 0))
    return cache[1]


_dense.fast = (lambda g, ans, x, w, b, relu: _gz(g, ans, relu) @ w.T,
               lambda g, ans, x, w, b, relu: x.T @ _gz(g, ans, relu),
               lambda g, ans, x, w, b, relu: _gz(g, ans, relu).sum(axis=0))


def dense(x, w, b, relu: bool = False) -> Tensor:
    """``relu?(x @ w + b)`` for a 2-D ``x`` of shape (batch, in), ``w`` (in, out), ``b`` (out,).

    >>> import tapeflow as tf
    >>> from tapeflow.ops.dense_ops import dense
    >>> dense(tf.ones((1, 2)), tf.ones((2, 3)), tf.constant([-5.0, 0.0, 1.0]), relu=True).numpy().tolist()
    [[0.0, 2.0, 3.0]]
    """
    return bind(_dense, x, w, b, relu=bool(relu))
