"""Check VJPs against float64 central differences, the way the spec teaches.

``check_gradients(f, *inputs)`` projects ``f``'s output on a fixed random direction ``r``,
so one backward pass gives d<f(x), r>/dx, and compares it entry by entry with
(<f(x + h e_i), r> - <f(x - h e_i), r>) / 2h.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor


class GradientCheckError(AssertionError):
    """A VJP disagrees with central differences."""


def _scalarize(out, r):
    from ..ops import math_ops, reduce_ops
    return reduce_ops.reduce_sum(math_ops.multiply(out, r))


def numerical_gradient(f, arrays, r, eps=1e-6):
    """Central-difference gradient of <f(*arrays), r> for each float input array."""
    grads = []
    for k, a in enumerate(arrays):
        if a.dtype.kind != "f":
            grads.append(None)
            continue
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = float(np.sum(np.asarray(f(*[Tensor._wrap(x) for x in arrays])._value, np.float64) * r))
            flat[i] = old - eps
            minus = float(np.sum(np.asarray(f(*[Tensor._wrap(x) for x in arrays])._value, np.float64) * r))
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def check_gradients(f, *inputs, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0, verbose=False):
    """Compare ``f``'s tape gradients with central differences in float64.

    Inputs are copied to float64; non-float inputs are passed through undifferentiated.
    Returns a list of per-input max relative errors; raises ``GradientCheckError`` naming the
    input and the worst entry when a gradient disagrees.

    >>> import tapeflow as tf
    >>> errs = tf.debug.check_gradients(lambda x: tf.tanh(x) * x, [0.3, -1.2])
    >>> max(errs) < 1e-6
    True
    """
    arrays = []
    for x in inputs:
        a = np.array(x._value if isinstance(x, Tensor) else x, copy=True)
        if a.dtype.kind == "f" or a.dtype.kind not in "iub":
            a = a.astype(np.float64)
        arrays.append(a)
    tensors = [Tensor._wrap(a) for a in arrays]
    with GradientTape(persistent=False) as tape:
        for t in tensors:
            if t._value.dtype.kind == "f":
                tape.watch(t)
        out = f(*tensors)
        if not isinstance(out, Tensor):
            raise TypeError(f"check_gradients: f must return a Tensor, got {type(out).__name__}")
        r = np.random.default_rng(seed).standard_normal(out._value.shape)
        y = _scalarize(out, Tensor._wrap(r.astype(out._value.dtype)))
    analytic = tape.gradient(y, tensors)
    numeric = numerical_gradient(f, arrays, r, eps)
    errors = []
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        if n is None:
            errors.append(0.0)
            continue
        a = np.zeros_like(n) if a is None else np.asarray(a._value, dtype=np.float64)
        if a.shape != n.shape:
            raise GradientCheckError(f"input {k}: gradient has shape {a.shape}, input has shape {n.shape}")
        diff = np.abs(a - n)
        rel = diff / np.maximum(np.abs(a) + np.abs(n), 1e-12)
        bad = diff > atol + rtol * np.abs(n)
        errors.append(float(np.max(np.minimum(rel, diff), initial=0.0)))
        if verbose:
            print(f"input {k}: max abs err {diff.max(initial=0):.3e}, max rel err {rel.max(initial=0):.3e}")
        if np.any(bad):
            i = np.unravel_index(int(np.argmax(diff - rtol * np.abs(n))), n.shape)
            raise GradientCheckError(
                f"input {k} (shape {n.shape}): analytic gradient {a[i]:.8g} != numerical {n[i]:.8g} "
                f"at index {tuple(int(v) for v in i)} (abs err {diff[i]:.3g}, tolerance {atol + rtol * abs(n[i]):.3g})")
    return errors
