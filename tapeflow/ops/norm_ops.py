"""Fused normalization: batch moments, normalize, scale and shift in one primitive.

``fused_normalize(x, gamma, beta, axes, epsilon)`` computes

    y = (x - mean) / sqrt(var + epsilon) * gamma + beta,   mean, var = moments of x over ``axes``

(biased variance). BatchNormalization (``axes`` = every axis but the channel one),
LayerNormalization (``axes`` = the normalized axes) and GroupNormalization (on a grouped view)
are all this op with different axes; ``gamma``/``beta`` broadcast against ``x``.

The VJP is the closed form: with ``xhat = (x - mean) * inv`` and ``dxhat = g * gamma``,

    dx = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dgamma = g * xhat,  dbeta = g

(means over ``axes``; the engine sums dgamma/dbeta back to the parameters' shapes). The Tensor
VJP recomputes the moments with differentiable ops, so second derivatives work; the array twin
in ``FAST`` reuses the moments the forward pass kept and computes all three gradients at once.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from . import math_ops as M
from . import reduce_ops as R
from .registry import bind, defvjp, norm_axis, primitive

_STATS: dict = {}  # id(output) -> (weakref(output), mean, var, inv): moments kept for the VJP and the layer


def _remember(y: np.ndarray, mean, var, inv) -> None:
    key = id(y)
    _STATS[key] = (weakref.ref(y, lambda _r, k=key: _STATS.pop(k, None)), mean, var, inv)


def _recall(y: np.ndarray):
    rec = _STATS.get(id(y))
    if rec is not None and rec[0]() is y:
        return rec[1], rec[2], rec[3]
    return None


def _axis_sums(a: np.ndarray, axes, lead: bool) -> np.ndarray:
    """Sums over ``axes`` with kept dims. Over all leading axes (channels-last batch norm) this is
    one BLAS matrix-vector product, ~10x faster than ``np.sum`` over leading axes (measured)."""
    if lead:
        c = a.shape[-1]
        a2 = a.reshape(-1, c)
        return (np.ones(a2.shape[0], dtype=a.dtype) @ a2).reshape((1,) * (a.ndim - 1) + (c,))
    return np.sum(a, axis=axes, keepdims=True)


def _is_lead(x: np.ndarray, axes) -> bool:
    return x.ndim > 1 and tuple(axes) == tuple(range(x.ndim - 1))


def _moments(x: np.ndarray, axes, epsilon):
    lead = _is_lead(x, axes)
    n = x.size // max(1, int(np.prod([x.shape[a] for a in range(x.ndim) if a not in axes], dtype=np.int64)))
    mean = _axis_sums(x, axes, lead) / np.asarray(n, x.dtype)
    xc = x - mean
    sq = np.square(xc)
    var = _axis_sums(sq, axes, lead) / np.asarray(n, x.dtype)
    inv = 1.0 / np.sqrt(var + np.asarray(epsilon, x.dtype))
    return xc, mean, var, inv


def _fused_normalize_fwd(x, gamma, beta, axes, epsilon):
    xc, mean, var, inv = _moments(x, axes, epsilon)
    np.multiply(xc, inv * gamma, out=xc)
    xc += beta
    _remember(xc, mean, var, inv)
    return xc


def _mean_t(t: Tensor, axes) -> Tensor:
    return R.reduce_mean(t, axis=axes, keepdims=True)


def _xhat_t(x: Tensor, axes, epsilon):
    mean = _mean_t(x, axes)
    xc = M.subtract(x, mean)
    inv = M.rsqrt(M.add(_mean_t(M.square(xc), axes), epsilon))
    return M.multiply(xc, inv), inv


def _dx_vjp(g, ans, x, gamma, beta, axes, epsilon):
    xhat, inv = _xhat_t(x, axes, epsilon)
    dxhat = M.multiply(g, gamma)
    inner = M.subtract(M.subtract(dxhat, _mean_t(dxhat, axes)), M.multiply(xhat, _mean_t(M.multiply(dxhat, xhat), axes)))
    return M.multiply(inv, inner)


_fused = primitive("fused_normalize", _fused_normalize_fwd)
defvjp(_fused, _dx_vjp,
       lambda g, ans, x, gamma, beta, axes, epsilon: M.multiply(g, _xhat_t(x, axes, epsilon)[0]),
       lambda g, ans, x, gamma, beta, axes, epsilon: g)


# -- the array twin (first-order training path) ---------------------------------------------
_LAST = threading.local()  # per thread: .key = (g, ans) of the node being differentiated, .grads its three


def _all_grads(g, ans, x, gamma, beta, axes, epsilon):
    last = getattr(_LAST, "key", None)
    if last is not None and last[0] is g and last[1] is ans:
        return _LAST.grads
    rec = _recall(ans)
    if rec is None:
        _, mean, _, inv = _moments(x, axes, epsilon)
    else:
        mean, _, inv = rec
    xhat = x - mean
    xhat *= inv
    keep = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    lead = _is_lead(x, axes)
    gsum = _axis_sums(g, axes, lead)
    gx = g * xhat
    gxsum = _axis_sums(gx, axes, lead)
    if np.broadcast_shapes(np.shape(gamma), keep) == keep:
        # gamma is constant along the normalized axes (batch norm): factor it out of the means
        n = x.size // int(np.prod(keep))
        dx = xhat
        dx *= -(gxsum / n)
        dx += g
        dx -= gsum / n
        dx *= gamma * inv
        dgamma, dbeta = gxsum, gsum  # keepdims shapes: the engine reshapes them to the parameters'
    else:
        dxhat = g * gamma
        dx = dxhat - np.mean(dxhat, axis=axes, keepdims=True)
        dxhat *= xhat
        dx -= xhat * np.mean(dxhat, axis=axes, keepdims=True)
        dx *= inv
        dgamma, dbeta = gx, g
    grads = (dx, dgamma, dbeta)
    _LAST.key, _LAST.grads = (g, ans), grads
    return grads


_fused.fast = (lambda g, ans, x, gamma, beta, **a: _all_grads(g, ans, x, gamma, beta, **a)[0],
               lambda g, ans, x, gamma, beta, **a: _all_grads(g, ans, x, gamma, beta, **a)[1],
               lambda g, ans, x, gamma, beta, **a: _all_grads(g, ans, x, gamma, beta, **a)[2])


def fused_normalize(x, gamma, beta, axes, epsilon=1e-3):
    """Normalize ``x`` with its own moments over ``axes``, then scale by ``gamma`` and shift by ``beta``.

    Returns ``(y, mean, variance)``; ``mean``/``variance`` are NumPy arrays (keepdims shape), not
    differentiated, for a layer's moving statistics.

    >>> import tapeflow as tf
    >>> y, m, v = fused_normalize(tf.constant([[1.0], [3.0]]), 1.0, 0.0, axes=0, epsilon=0.0)
    >>> y.numpy().ravel().tolist(), m.ravel().tolist(), v.ravel().tolist()
    ([-1.0, 1.0], [2.0], [1.0])
    """
    x = x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint="float32")
    dt = x._value.dtype

    def as_param(p):
        if isinstance(p, Tensor):
            return p
        return Tensor._wrap(np.asarray(p, dtype=dt))
    ax = norm_axis(axes, x._value.ndim)
    y = bind(_fused, x, as_param(gamma), as_param(beta), axes=ax, epsilon=float(epsilon))
    rec = _recall(y._value)
    if rec is None:  # only if the forward's record was dropped (never in practice)
        _, mean, var, _ = _moments(x._value, ax, epsilon)
    else:
        mean, var = rec[0], rec[1]
    return y, mean, var
