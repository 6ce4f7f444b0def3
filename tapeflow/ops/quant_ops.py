"""Fake quantization (``keras.quantizers.fake_quant_with_min_max_vars``) as a primitive with its VJPs.

The forward clamps ``x`` to a "nudged" ``[min, max]`` (moved so that 0.0 is exactly representable), rounds it to
one of ``2**num_bits`` levels (``[1, 2**num_bits - 1]`` with ``narrow_range``) and maps it back to floats, in
Keras 3's arithmetic; a zero point exactly halfway between two integers rounds up, as TensorFlow's kernel (the
one Keras 3 calls on its TensorFlow backend) does. The gradient is the straight-through one Keras defines: ``x``
gets the upstream gradient where it lies inside the nudged range (ends included), ``min`` / ``max`` get the sum of
it where ``x`` is at or beyond that end (per channel along ``axis``, or over the whole tensor).
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor
from . import array_ops as A
from . import reduce_ops as R
from .registry import bind, const, defvjp, primitive


def _channel_shape(ndim: int, axis, size: int) -> tuple:
    """Shape that broadcasts a per-channel vector of ``size`` along ``axis`` of a rank-``ndim`` array."""
    if axis is None:
        return ()
    shape = [1] * ndim
    shape[axis] = size
    return tuple(shape)


def nudge(mn, mx, num_bits: int, narrow_range: bool, ndim: int, axis):
    """``(nudged_min, nudged_max, scale, inv_scale)`` in ``result_type(min, float32)``, shaped to broadcast
    against the inputs (Keras's ``adjust_and_nudge``)."""
    dtype = np.result_type(np.asarray(mn).dtype, np.float32)
    mn = np.asarray(mn, dtype)
    mx = np.asarray(mx, dtype)
    shape = _channel_shape(ndim, axis, mn.size)
    mn, mx = mn.reshape(shape), mx.reshape(shape)
    quant_max = float((1 << num_bits) - 1)
    quant_min = 1.0 if narrow_range else 0.0
    span = mx - mn
    levels = dtype.type(quant_max - quant_min)
    scale = span / levels
    inv_scale = levels / span
    zero_point = np.clip(dtype.type(quant_min) - mn / scale, quant_min, quant_max)
    nudged_zero = np.floor(zero_point + dtype.type(0.5))  # a tie rounds up, as TensorFlow's kernel (std::round)
    nudged_min = (dtype.type(quant_min) - nudged_zero) * scale
    nudged_max = (dtype.type(quant_max) - nudged_zero) * scale
    return nudged_min, nudged_max, scale, inv_scale


def _fake_quant_fwd(x, mn, mx, num_bits, narrow_range, axis):
    nudged_min, nudged_max, scale, inv_scale = nudge(mn, mx, num_bits, narrow_range, x.ndim, axis)
    quant_zero = np.floor(-nudged_min * inv_scale + 0.5)
    shifted = np.clip(x.astype(nudged_min.dtype), nudged_min, nudged_max) - nudged_min
    return (np.floor(shifted * inv_scale - quant_zero + 0.5) * scale).astype(x.dtype)


def _masks(x: Tensor, mn: Tensor, mx: Tensor, num_bits, narrow_range, axis):
    nudged_min, nudged_max, _, _ = nudge(mn._value, mx._value, num_bits, narrow_range, x._value.ndim, axis)
    v = x._value
    return v <= nudged_min, v >= nudged_max, (v >= nudged_min) & (v <= nudged_max)


def _sum_to_param(g: Tensor, param: Tensor, axis) -> Tensor:
    axes = tuple(i for i in range(g._value.ndim) if i != axis)
    total = R.reduce_sum(g, axis=axes) if axes else g
    return A.reshape(total, param._value.shape)


def _masked(g: Tensor, mask: np.ndarray, like: Tensor) -> Tensor:
    from .math_ops import multiply
    out = multiply(g, const(mask, g))
    return out if out._value.dtype == like._value.dtype else A.cast(out, like._value.dtype)


_fake_quant = primitive("fake_quant_with_min_max_vars", _fake_quant_fwd)
defvjp(_fake_quant,
       lambda g, ans, x, mn, mx, num_bits, narrow_range, axis:
           _masked(g, _masks(x, mn, mx, num_bits, narrow_range, axis)[2], x),
       lambda g, ans, x, mn, mx, num_bits, narrow_range, axis:
           _sum_to_param(_masked(g, _masks(x, mn, mx, num_bits, narrow_range, axis)[0], mn), mn, axis),
       lambda g, ans, x, mn, mx, num_bits, narrow_range, axis:
           _sum_to_param(_masked(g, _masks(x, mn, mx, num_bits, narrow_range, axis)[1], mx), mx, axis))


def fake_quant(x, mn, mx, num_bits: int = 8, narrow_range: bool = False, axis=None) -> Tensor:
    """Fake-quantize ``x`` into ``[mn, mx]`` (scalars, or vectors along ``axis``); ``axis`` is non-negative or None.

    >>> import tapeflow as tf
    >>> from tapeflow.ops.quant_ops import fake_quant
    >>> fake_quant(tf.constant([-2.0, 0.1, 0.5, 3.0]), tf.constant(-1.0), tf.constant(1.0), num_bits=2).numpy()
    array([-1.3333334,  0.       ,  0.6666667,  0.6666667], dtype=float32)
    """
    return bind(_fake_quant, x, mn, mx, num_bits=int(num_bits), narrow_range=bool(narrow_range), axis=axis)
